/* SPDX-License-Identifier: MIT */
/* stacks_out.h - costack stacks' writers (text, costack.stacks/1 JSON), live and offline. */
#ifndef COSTACK_STACKS_OUT_H
#define COSTACK_STACKS_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "symbolize.h"
#include "task_view.h"

struct stacks_task;

/* Describe pc, a frame of task t (a return address unless is_return is false), as
 * symbolizer_lookup() does: up to cap frames, outermost first; 0: unknown. */
typedef int (*stacks_symbolize_fn)(void *ctx, const struct stacks_task *t, uint64_t pc,
                                   bool is_return, struct sym_frame *out, int cap);

/* The state of a task whose stack a recording cannot tell (events were lost): task_view.h's. */
#define STACKS_STATE_UNKNOWN COSTACK_STATE_UNKNOWN

/* One task as the writers show it: get_stack() already cut to its limit. */
struct stacks_task {
	int32_t pid;          /* its process (a recording): shown when not 0 */
	const char *procname; /* its process' name, for by_process; NULL: unknown */
	uint64_t id;
	const char *name; /* NULL or "": none */
	int state;        /* enum costack_state, or STACKS_STATE_UNKNOWN */
	int runtime;      /* enum costack_runtime */
	int32_t thread;
	uint64_t entry;    /* 0: none (a thread's root task) */
	uint64_t since_ns; /* CLOCK_REALTIME it entered its state */
	/* A failed task's exception (NULL type: none known). */
	const char *exception_type;
	const char *exception_what;
	const uint64_t *frames; /* oldest first */
	uint32_t nframes;
	bool frames_are_entry; /* the one frame is the entry function, not a return address */
	uint64_t frames_ns;    /* when the frames were the task's (a recording's symbolizer) */
};

struct stacks_report {
	uint64_t at_ns; /* CLOCK_REALTIME the stacks are of */
	const struct stacks_task *tasks;
	size_t ntasks;
	/* Fold tasks showing the same (state, frames, exception) into one
	 * entry with their count and ids, the largest first (Go's debug=1);
	 * frames up to the innermost one of the program's own, where they wait:
	 * the runtime's frames inside it split no group. */
	bool group;
	/* Tasks come by process (pid): text shows a "Process PID (NAME):" line
	 * before each process' tasks; groups never mix processes. */
	bool by_process;
	stacks_symbolize_fn symbolize; /* NULL: addresses only */
	void *ctx;
	/* A recording: the events lost before at_ns, said before the tasks (a task whose every
	 * event was lost is missing, one they may have touched is unknown). */
	bool recording;
	uint64_t lost_events, lost_packets;
	size_t lost_gaps;
};

/*
 * Text: for each task (or group), a block as costack_print_stack() prints
 * it, blocks separated by an empty line:
 *
 *   Stack for <Task suspended id=3 entry=worker() runtime=ucontext thread=812> (most recent call
 * last): File "server.c", line 42, in worker File "server.c", line 17, in wait_reply
 *
 * "Traceback for" a failed task, ending with "type: what"; "No stack for"
 * a task without frames; "Unknown stack for" a task in STACKS_STATE_UNKNOWN. A group's block starts
 * with "N tasks (ids a, b):" and shows its first task. A recording that lost events before at_ns
 * starts with a line saying how many. Returns 0, or -1 when out could not be written.
 */
int stacks_write_text(FILE *out, const struct stacks_report *r);

/*
 * JSON, schema costack.stacks/1 (DESIGN.md): {"schema", "at", "tasks": [{"id",
 * "name", "state", "runtime", "thread", "since", "exception": {"type", "what"}
 * | null, "frames": [{"address", "function", "module", "offset", "file",
 * "line", "inlined"}]}]}, frames oldest first, "pid" after "id" when not 0, a frame per
 * source-level function (inlined ones with the address of the frame they are in). Unknown values
 * are null; name is null when unset; "at" and "since" are
 * "<seconds>.<9 digits>" since the epoch; address and offset "0x…" strings.
 * Grouped, each entry is the group's first task plus "count" and "ids". A
 * recording's has "lost": {"events", "packets", "gaps"} after "at": what was
 * lost before it.
 * Returns 0, or -1 when out could not be written.
 */
int stacks_write_json(FILE *out, const struct stacks_report *r);

/* One frame of costack.stacks/1 JSON: {"address" (when given), "function", "module", "offset",
 * "file", "line", "inlined"}. */
void stacks_write_json_frame(FILE *out, const struct sym_frame *f, const uint64_t *address);

/* t's frames alone, as the writers above show them, for other writers (a report): text,
 * each line starting with indent; JSON, the "frames" array. r gives the symbolizer. */
void stacks_write_text_frames(FILE *out, const struct stacks_report *r, const struct stacks_task *t,
                              const char *indent);
void stacks_write_json_frames(FILE *out, const struct stacks_report *r,
                              const struct stacks_task *t);

#endif
