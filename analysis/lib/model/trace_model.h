/* SPDX-License-Identifier: MIT */
/* trace_model.h - a recorded trace's tasks: costack-tp.h's state machine replayed per process. */
#ifndef COSTACK_TRACE_MODEL_H
#define COSTACK_TRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "task_view.h"

/*
 * The model is fed the events of a trace in time order (tm_on_*), and
 * answers for the moment of the last event fed: each task's state and what
 * costack_get_stack() gave for it in the process then (tm_task_view), and
 * the totals a report needs. It knows nothing of babeltrace2.
 *
 * Lost events (DESIGN.md: "correct when events are lost"). Events sit in
 * per-CPU buffers shared by the processes of a user, and threads migrate:
 * a gap in one buffer may hold any task's events. So after a gap
 * (tm_on_lost) every task not yet ended is *unknown* until an event after
 * the gap's end determines what get_stack() shows for it again:
 *   - a switch away from it (suspended, with its suspension stack);
 *   - its task_create;
 *   - its task_end (done and cancelled: no frames; failed: the traceback of
 *     raise number kept_raise, which must be in the trace);
 *   - a switch to it or a resume, only if it was known just before (it
 *     then shows the suspension stack it was known to have).
 * A stack id referred to but never defined (its costack:stack event was
 * lost, or came before the recording started) is an unknown stack: a task
 * suspended there, or failed with that traceback, is unknown too. So is a
 * task first named by an event other than its task_create (the recording
 * started after it was made), until a switch away from it. An ended task
 * stays ended: no event can undo that. Unknown is never a guess.
 */

/* The state of a task get_stack() cannot be told of (lost events): task_view.h's. */
#define TM_STATE_UNKNOWN COSTACK_STATE_UNKNOWN

struct tm_stack {
	struct tm_stack *next_same_hash;
	uint64_t hash;
	uint32_t serial; /* its process' */
	uint32_t nframes;
	uint64_t frames[]; /* innermost first, as recorded */
};

struct tm_raise {
	uint64_t number; /* the task's raise number: 1, 2, ... */
	uint64_t ts;
	uint64_t origin;
	const struct tm_stack *stack; /* NULL: no stack, or an unknown one */
	bool stack_unknown;
	bool truncated;
	bool forced;
	int32_t tid;
	const char *type; /* interned */
	const char *what;
};

/* Raises of a task with the same type, message and stack (report). */
struct tm_exception_kind {
	const char *type, *what;
	const struct tm_stack *stack;
	uint64_t count;
	uint64_t first_ns, last_ns;
	uint64_t origin; /* of the first */
	bool forced;
};

#define TM_RAISES_KEPT 256 /* a task's newest raises kept for its traceback */
#define TM_EXCEPTION_KINDS 8

/* What a task raised. */
struct tm_raises {
	/* a ring of the newest TM_RAISES_KEPT; next: the oldest, once full */
	struct tm_raise *ring;
	uint32_t n, cap, next;
	struct tm_exception_kind kinds[TM_EXCEPTION_KINDS];
	uint32_t nkinds;
	uint64_t other_kinds;  /* raises of kinds beyond those */
	struct tm_raise fatal; /* a failed task's (has_fatal) */
};

struct tm_task {
	struct tm_process *process;
	uint64_t id, parent;
	int runtime; /* enum costack_runtime; -1: unknown (its task_create not seen, or a value
	              * costack does not know) */
	int state;   /* enum costack_state, TM_STATE_UNKNOWN (a value costack does not know);
	              * -1: none seen yet */
	uint64_t entry, stack_lo, stack_hi;
	const char *name; /* interned; NULL: none */
	int32_t tid;      /* the thread that last ran it (or made it) */
	bool created_seen;
	uint64_t created_ns; /* its task_create's, else when first named */
	uint64_t since_ns;   /* when it entered its state */
	bool ended;          /* its end seen (its state may be unknown) */
	uint64_t ended_ns;   /* 0: not ended */
	uint64_t switches;
	/* its last suspension (while it runs: where it was resumed) */
	struct tm_stack *suspend_stack;
	bool has_suspend, suspend_unknown, suspend_truncated;
	uint64_t suspend_ns;
	/* What get_stack shows is unknown (see above): unknown, or a gap
	 * came since it was last determined (gap_seen < the model's). */
	bool unknown;
	uint64_t gap_seen;
	/* its raises: NULL until the first (most tasks never raise) */
	struct tm_raises *raises;
	uint64_t raises_total;
	/* a failed task's: the raise it died of (raises->fatal), set at its end */
	uint64_t kept_raise;
	bool has_fatal, fatal_unknown;
};

/* A loaded ELF object of a process (statedump or dlopen), for symbolization. */
struct tm_module {
	uint64_t baddr, memsz;
	const char *path; /* interned */
	const char *debug_link;
	uint8_t build_id[64];
	uint32_t build_id_len;
	bool is_pic;
	uint64_t loaded_ns, unloaded_ns; /* unloaded_ns: UINT64_MAX while loaded */
	int sym_file;                    /* the symbolizer's file; -2: not tried, -1: none */
	uint64_t load_vaddr;
};

/* One process (one vpid; an exec or a reused pid starts another). */
struct tm_process {
	int32_t pid;
	uint32_t serial; /* keys its tasks and stacks */
	const char *procname;
	bool procname_of_main; /* from the main thread (vtid == vpid) */
	uint64_t first_ns, last_ns;
	struct tm_task **tasks; /* in the order first named */
	size_t ntasks, taskcap;
};

/* Per pid: modules outlive an exec, and are looked up by time. */
struct tm_address_space {
	int32_t pid;
	struct tm_module *modules;
	size_t nmodules, cap;
};

/* A discarded-events (or discarded-packets) message: a gap in one buffer. */
struct tm_gap {
	uint64_t begin_ns, end_ns;
	uint64_t count; /* events (or packets) lost; 0: unknown */
	bool packets;
	const char *stream; /* interned; NULL: unknown */
};

struct tm_string;
struct tm_model;

/*
 * An interval a task spent running or suspended, told to the model's listeners when it closes
 * (its task changes state), or still open at the end of the reading (tm_model_tell_open).
 * Views (report, flame, timeline, diff) are listeners: the model only replays.
 */
struct tm_interval {
	const struct tm_task *task; /* its process: task->process */
	int state;                  /* COSTACK_RUNNING or COSTACK_SUSPENDED */
	uint64_t begin_ns, end_ns;
	/* suspended: where it waited; running: where it was resumed from. NULL: its entry (a
	 * first run), or not known (unknown below) */
	const struct tm_stack *stack;
	bool stack_truncated;
	/* lost events may hide part of it (a gap came during it, or before it and nothing said
	 * its state again), or its stack is unknown: a view leaves it out and counts it */
	bool unknown;
	bool open;   /* still going on at the model's last time: end_ns is that */
	int32_t tid; /* the thread that ran it (suspended: the one it last ran on) */
};

/* What a view is told as the model is fed; each callback NULL when not wanted. Told after the
 * model took the event in (the task's state is the new one), and after the intervals it closed. */
struct tm_listener {
	void (*interval)(void *ctx, const struct tm_model *m, const struct tm_interval *iv);
	/* A switch on thread tid at ts: prev (NULL: not known) left running, next (NULL: none
	 * named, or not known) runs; a resume (the first switch to a task on a thread) has no
	 * prev. Who resumed whom: a timeline's flow arrows. */
	void (*switched)(void *ctx, const struct tm_model *m, uint64_t ts, int32_t tid,
	                 const struct tm_task *prev, const struct tm_task *next);
	/* t raised r (r->stack NULL: none, or an unknown one). */
	void (*raised)(void *ctx, const struct tm_model *m, const struct tm_task *t,
	               const struct tm_raise *r);
	/* t ended at t->ended_ns: its fate is t->state (done, failed, cancelled, or
	 * TM_STATE_UNKNOWN); a failed one's exception is t->raises->fatal when t->has_fatal. */
	void (*ended)(void *ctx, const struct tm_model *m, const struct tm_task *t);
	/* A gap (lost events) was fed: g is the model's. */
	void (*lost)(void *ctx, const struct tm_model *m, const struct tm_gap *g);
	void *ctx;
};

#define TM_LISTENERS_MAX 4

struct tm_model {
	struct tm_listener listeners[TM_LISTENERS_MAX];
	unsigned nlisteners;
	struct hmap tasks;      /* (serial, id) -> task */
	struct hmap stack_refs; /* (serial, stack id) -> stack */
	struct hmap stacks;     /* (serial, content hash) -> stack (chained) */
	struct hmap processes;  /* (pid, 0) -> latest process of that pid */
	struct hmap spaces;     /* (pid, 0) -> address space */
	struct hmap strings;    /* (hash, 0) -> string (chained) */
	struct tm_process **procs;
	size_t nprocs, proccap;
	struct tm_address_space **spaces_list;
	size_t nspaces, spacecap;
	struct tm_gap *gaps;
	size_t ngaps, gapcap;
	uint64_t lost_events, lost_packets;
	uint64_t gap_count, gap_until;
	bool has_time;
	uint64_t first_ns, last_ns; /* of every timed message fed */
	uint64_t events;            /* costack events fed (the reader counts them) */
	uint64_t undefined_stack_refs;
	bool out_of_memory;
	uint32_t next_serial;
};

void tm_model_init(struct tm_model *m);
void tm_model_free(struct tm_model *m);

/* Tell l of every interval closed from now on; -1 when TM_LISTENERS_MAX listen already. */
int tm_model_listen(struct tm_model *m, const struct tm_listener *l);

/* Tell the listeners of every interval still open at the model's last time (open: true);
 * the model is unchanged. */
void tm_model_tell_open(const struct tm_model *m);

/* A string owned by the model (NULL for NULL or when out of memory). */
const char *tm_intern(struct tm_model *m, const char *s);

/* The time of a timed message, in order: first/last. */
void tm_on_time(struct tm_model *m, uint64_t ts);

/* The process an event of (pid, tid, procname) belongs to; NULL when out of memory. */
struct tm_process *tm_process_of(struct tm_model *m, int32_t pid, int32_t tid,
                                 const char *procname);

/* qsort order of struct tm_process pointers: by pid, then as they came (a pid reused). */
int tm_process_order(const void *a, const void *b);

/* costack-tp.h's events. frames are innermost first. Enumerations (runtime, state, prev_state,
 * outcome) are taken as the trace has them: a value costack does not know (a corrupt trace, or
 * one of a newer costack) makes the task's runtime or state unknown, never an index. */
void tm_on_stack(struct tm_model *m, struct tm_process *p, uint64_t id, const uint64_t *frames,
                 uint32_t nframes);
void tm_on_task_create(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid,
                       uint64_t task, uint64_t parent, uint64_t runtime, uint64_t state,
                       uint64_t entry, uint64_t stack_lo, uint64_t stack_hi);
void tm_on_task_name(struct tm_model *m, struct tm_process *p, uint64_t ts, uint64_t task,
                     const char *name);
/* The task's runtime told its entry (the user's function): it replaces task_create's. */
void tm_on_task_entry(struct tm_model *m, struct tm_process *p, uint64_t ts, uint64_t task,
                      uint64_t entry);
void tm_on_switch(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid, uint64_t prev,
                  uint64_t next, uint64_t prev_state, uint64_t stack, bool truncated);
void tm_on_resume(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid,
                  uint64_t task);
void tm_on_raise(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid, uint64_t task,
                 uint64_t number, uint64_t origin, bool forced, uint64_t stack, bool truncated,
                 const char *type, const char *what);
void tm_on_task_end(struct tm_model *m, struct tm_process *p, uint64_t ts, uint64_t task,
                    uint64_t outcome, uint64_t kept_raise);

/* lttng_ust_statedump:bin_info and lttng_ust_dl:dlopen (is_pic: dlopen'd objects are). */
void tm_on_module(struct tm_model *m, int32_t pid, uint64_t ts, uint64_t baddr, uint64_t memsz,
                  const char *path, bool is_pic);
void tm_on_build_id(struct tm_model *m, int32_t pid, uint64_t baddr, const uint8_t *id,
                    uint32_t len);
void tm_on_debug_link(struct tm_model *m, int32_t pid, uint64_t baddr, const char *name);
void tm_on_dlclose(struct tm_model *m, int32_t pid, uint64_t ts, uint64_t baddr);

/* A gap: count events (or packets) lost in one buffer between begin and end. */
void tm_on_lost(struct tm_model *m, uint64_t begin_ns, uint64_t end_ns, uint64_t count,
                bool packets, const char *stream);

bool tm_task_ended(const struct tm_task *t);
/* Whether what get_stack() shows for t is unknown now (lost events). */
bool tm_task_unknown(const struct tm_model *m, const struct tm_task *t);

/* What costack_get_stack(t, frames, limit) gave in the process at the
 * model's time, as the writers take it. */
struct tm_view {
	int state;             /* enum costack_state, or TM_STATE_UNKNOWN */
	const uint64_t *inner; /* the stack, innermost first (NULL: no frames) */
	uint32_t n;
	enum task_frames source;      /* where the frames come from (task_view.h): a traceback's
	                               * limit keeps its oldest frames; an entry's one frame is
	                               * the entry function */
	uint64_t frames_ns;           /* when those frames were the task's (for symbolization) */
	const struct tm_raise *fatal; /* a failed task's exception, if known */
};
void tm_task_view(const struct tm_model *m, const struct tm_task *t, struct tm_view *v);

/* v's frames cut to limit (<= 0: all), oldest first, into out (room for v->n). */
uint32_t tm_view_frames(const struct tm_view *v, int limit, uint64_t *out);

/* The module of pid holding pc at time ts (NULL: none known). */
struct tm_module *tm_module_at(const struct tm_model *m, int32_t pid, uint64_t pc, uint64_t ts);

/* Time in the task's current state up to now. */
static inline uint64_t tm_open_ns(const struct tm_task *t, uint64_t now)
{
	return now > t->since_ns ? now - t->since_ns : 0;
}

#endif
