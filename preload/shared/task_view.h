/* SPDX-License-Identifier: MIT */
/*
 * task_view.h - asyncio's get_stack() rule, written once: what a task shows in each state, the
 * limit rule, the raise a failed task died of, and a consistent copy of a task's record.
 *
 * Every reader of tasks calls it: the API in the process (api/), the dumps (dump/), the outside
 * reader (analysis/live/) and the replay of a recording (analysis/lib/model/). Pure: no
 * allocation, no lock, async-signal-safe (a dump runs it in a signal handler).
 */
#ifndef COSTACK_TASK_VIEW_H
#define COSTACK_TASK_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "costack-live.h"
#include "costack.h"

/* A recording's state of a task whose stack it cannot tell (events were lost): after the last
 * of enum costack_state, which a process never gives. */
#define COSTACK_STATE_UNKNOWN (COSTACK_CANCELLED + 1)

/* "created", "running", "suspended", "done", "failed", "cancelled", and "unknown" for
 * COSTACK_STATE_UNKNOWN; NULL for a value no state of this costack has (an image or a trace
 * of a newer one): callers show it as unknown. */
const char *task_state_name(int state);
/* "thread", "ucontext", "fcontext"; NULL for a value this costack does not know. */
const char *task_runtime_name(int runtime);
/* done, failed or cancelled. */
static inline bool task_state_ended(int state)
{
	return state == COSTACK_DONE || state == COSTACK_FAILED || state == COSTACK_CANCELLED;
}

/* Where the frames get_stack() shows for a task come from. */
enum task_frames {
	TASK_FRAMES_NONE,       /* done, cancelled, unknown: none */
	TASK_FRAMES_ENTRY,      /* created; running, asked by another, never suspended yet: its
	                         * entry function, one frame (where it was resumed) */
	TASK_FRAMES_LIVE,       /* running, asked by itself: its stack now */
	TASK_FRAMES_SUSPENSION, /* suspended; running, asked by another: where it was suspended
	                         * last (the stack it was resumed from) */
	TASK_FRAMES_TRACEBACK,  /* failed: the stack of the raise it died of */
};

/* The frames of a task in state (asked_by_itself: the running task asks about itself),
 * switched in `switches` times: a running task switched in once never suspended, and was last
 * resumed at its entry. */
enum task_frames task_frames_of(int state, bool asked_by_itself, uint64_t switches);

/*
 * get_stack(limit) on n frames of that source, oldest first: a stack keeps its newest limit
 * frames, a traceback its oldest (asyncio and the traceback module do so); limit <= 0 keeps
 * all. Returns how many are kept, from frame *first on.
 */
uint32_t task_frames_limit(enum task_frames source, uint32_t n, int limit, uint32_t *first);

/* The number (1, 2, ... in the task) of the raise a failed task died of: the one its runtime
 * kept (std::current_exception) when it kept one, else its newest. */
uint64_t task_fatal_raise_number(bool has_kept, uint64_t kept_raise, uint64_t raises);

/* --- records laid out as costack-live.h says (the API, the dumps, the outside reader) --- */

/* How a task record's ring is laid out (costack-live.h's header fields). */
struct task_ring_layout {
	uint32_t slots;         /* ring */
	uint32_t offset;        /* ring_offset */
	uint32_t snapshot_size; /* at least sizeof(struct costack_live_snapshot) */
};

/* A consistent copy of a record and of the snapshots a view needs. */
struct task_record {
	struct costack_live_task task;
	struct costack_live_snapshot suspend; /* the newest suspension, if has_suspend */
	struct costack_live_snapshot raise;   /* the newest raise, if has_raise */
	bool has_suspend, has_raise;
};

/* How long a copy waits for a record its writer is changing: a writer preempted inside its
 * write section (a few stores) is back within a scheduler tick or two; one the reader
 * interrupted (a signal handler on the writer's own thread) never comes back. */
#define TASK_COPY_PATIENCE_NS 100000000u

/*
 * Copy the record at `record` (costack-live.h's task, its ring after it) consistently: its
 * seqlock even and the same before and after, or tried again. Every value is taken from the
 * copy, and the ring walked within its bounds: a torn copy is retried, never followed. The one
 * retry policy: a few tries, then the CPU yielded between tries, until deadline_ns
 * (CLOCK_MONOTONIC; 0: TASK_COPY_PATIENCE_NS from the first wait). False when the record
 * never held still (busy).
 */
bool task_record_copy(const void *record, const struct task_ring_layout *ring,
                      struct task_record *out, uint64_t deadline_ns);

/* The snapshot of the raise a failed task died of (task_fatal_raise_number), NULL when it is
 * no longer known (neither kept nor its newest). */
const struct costack_live_snapshot *task_record_fatal_raise(const struct task_record *r);

/*
 * The records of the region whose header is h as this process maps it (the writer's own region:
 * the API and the dumps; async-signal-safe): record number n, NULL for 0 or one not handed out
 * (costack-live.h); an exception record's exception; a name record's name ("" for none).
 */
const struct costack_live_stack *task_view_record(const struct costack_live_header *h,
                                                  uint32_t number);
const struct costack_live_exception *task_view_exception(const struct costack_live_header *h,
                                                         uint32_t number);
const char *task_view_name(const struct costack_live_header *h, uint32_t number);

/* What a snapshot refers to, its records found in h (task_view_record). */
struct task_view_parts {
	const struct costack_live_stack *stack;         /* NULL: none (lost) */
	const struct costack_live_exception *exception; /* a raise's, NULL if none known */
	uint64_t object;                                /* a raise's thrown object */
	bool raise, truncated;
};
void task_view_snapshot(const struct costack_live_header *h, const struct costack_live_snapshot *s,
                        struct task_view_parts *out);

/* The snapshot whose stack holds the frames of source (task_frames_of), NULL when there are
 * none (a task that never suspended, no known raise) or they are not a snapshot's (entry, live,
 * none). */
const struct costack_live_snapshot *task_record_frames(const struct task_record *r,
                                                       enum task_frames source);

#endif
