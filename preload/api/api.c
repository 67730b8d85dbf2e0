/* SPDX-License-Identifier: MIT */
/* api.c - the public costack.h API: asyncio's get_stack()/print_stack() over the task registry. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "core.h"
#include "live.h"
#include "task.h"
#include "costack.h"
#include "knowledge.h"
#include "own_symbols.h"
#include "symbolize.h"
#include "task_view.h"
#include "unwind.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_INLINE 16

EXPORT costack_task_t costack_current_task(void)
{
	struct thread_state *ts = core_enter_activating(); /* registers the thread */
	const struct task *current = core_current();

	if (ts)
		core_leave(ts);
	return current ? current->id : 0;
}

EXPORT costack_task_t costack_task_at(const void *stack_addr)
{
	return registry_task_at((uintptr_t)stack_addr);
}

EXPORT size_t costack_all_tasks(costack_task_t *ids, size_t cap)
{
	return registry_unfinished(ids, cap);
}

EXPORT int costack_task_state(costack_task_t task)
{
	struct task_record r;

	return registry_copy_task(task, &r) ? r.task.state : -1;
}

EXPORT const char *costack_state_name(int state)
{
	const char *name = state != COSTACK_STATE_UNKNOWN ? task_state_name(state) : NULL;

	return name ? name : "?";
}

/* frames[0..n) innermost first, cut by get_stack's limit rule (and the caller's capacity, as
 * a limit), oldest first into out. */
static int emit_frames(const uintptr_t *innermost_first, uint32_t n, enum task_frames source,
                       void **out, size_t capacity, int limit)
{
	uint32_t first, keep;

	if (capacity < INT_MAX && (limit <= 0 || (size_t)limit > capacity))
		limit = (int)capacity;
	keep = task_frames_limit(source, n, limit, &first);
	for (uint32_t i = 0; i < keep; i++)
		out[i] = (void *)innermost_first[n - 1 - first - i];
	return (int)keep;
}

/* What get_stack() shows for the task copied in r: oldest first into out (room for capacity);
 * *source tells where the frames come from (an entry function is no return address). */
static int task_frames(const struct task_record *r, void **out, size_t capacity, int limit,
                       enum task_frames *source)
{
	const struct task *current = core_current();
	bool asked_by_itself = current && current->id == r->task.id;
	const struct costack_live_snapshot *s;
	struct task_view_parts parts;
	const struct stack_rec *stack;

	*source = task_frames_of(r->task.state, asked_by_itself, r->task.switches);
	if (!capacity)
		return 0;
	switch (*source) {
	case TASK_FRAMES_ENTRY:
		if (!r->task.entry)
			return 0;
		out[0] = (void *)(uintptr_t)r->task.entry;
		return 1;
	case TASK_FRAMES_LIVE: {
		uintptr_t scratch[UNWIND_SCRATCH_WORDS(config.depth)];
		struct capture now;

		unwind_capture(scratch, config.depth, current->stack_lo, current->stack_hi, NULL,
		               NULL, &now);
		return emit_frames(now.frames, (uint32_t)now.n, *source, out, capacity, limit);
	}
	case TASK_FRAMES_SUSPENSION:
	case TASK_FRAMES_TRACEBACK:
		s = task_record_frames(r, *source);
		if (s)
			task_view_snapshot(live_header(), s, &parts);
		stack = s ? (const struct stack_rec *)parts.stack : NULL;
		if (!stack)
			return 0;
		return emit_frames(stack->frames, stack->nframes, *source, out, capacity, limit);
	default:
		return 0;
	}
}

EXPORT int costack_get_stack(costack_task_t task, void **frames, size_t capacity, int limit)
{
	struct task_record r;
	enum task_frames source;
	int saved_errno = errno;
	int n;

	if (!registry_copy_task(task, &r))
		return -1;
	n = task_frames(&r, frames, capacity, limit, &source);
	errno = saved_errno;
	return n;
}

/* --- print_stack ------------------------------------------------------------ */

/* One print at a time, in the process, on the symbolizer's own stack (own_symbols.h): a print
 * takes the symbolizer for its whole length. */

static void print_task_repr(const struct task_record *r, struct symbolizer *s, FILE *out)
{
	const struct costack_live_task *t = &r->task;
	const char *runtime = task_runtime_name(t->runtime);
	const char *name = task_view_name(live_header(), t->name);
	struct sym_frame entry[MAX_INLINE];
	int n = t->entry && s ? symbolizer_lookup(s, t->entry, false, entry, MAX_INLINE) : 0;
	/* Named by the outermost function there that is the program's own: the user's function
	 * behind a runtime's start code (knowledge.h). */
	int k = n > 0 ? program_frame_outermost(entry, n) : -1;

	fprintf(out, "<Task %s id=%llu", costack_state_name(t->state), (unsigned long long)t->id);
	if (name[0])
		fprintf(out, " name='%.*s'", COSTACK_LIVE_NAME_MAX, name);
	if (n > 0 && entry[k < 0 ? 0 : k].function)
		fprintf(out, " entry=%s()", entry[k < 0 ? 0 : k].function);
	else if (t->entry)
		fprintf(out, " entry=%#lx", (unsigned long)t->entry);
	fprintf(out, " runtime=%s thread=%d>", runtime ? runtime : "?", t->tid);
}

static void print_frame(struct symbolizer *s, uintptr_t pc, bool is_return, FILE *out)
{
	struct sym_frame f[MAX_INLINE];
	int n = s ? symbolizer_lookup(s, pc, is_return, f, MAX_INLINE) : 0;

	if (n <= 0) {
		fprintf(out, "  File \"?\", address %#lx, in ??\n", (unsigned long)pc);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *fn = f[i].function ? f[i].function : "??";

		if (f[i].file && f[i].line > 0)
			fprintf(out, "  File \"%s\", line %d, in %s%s\n", f[i].file, f[i].line, fn,
			        f[i].inlined ? " (inlined)" : "");
		else
			fprintf(out, "  File \"%s\", offset %#llx, in %s%s\n",
			        f[i].module ? f[i].module : "?", (unsigned long long)f[i].offset,
			        fn, f[i].inlined ? " (inlined)" : "");
	}
}

struct print_job {
	const struct task_record *r;
	void **frames;
	int n;
	enum task_frames source;
	FILE *out;
};

static void print_job_run(struct symbolizer *symbolizer, void *arg)
{
	const struct print_job *job = arg;
	const struct task_record *r = job->r;
	const struct costack_live_snapshot *fatal =
	        job->source == TASK_FRAMES_TRACEBACK ? task_record_fatal_raise(r) : NULL;
	struct task_view_parts parts = {0};
	FILE *out = job->out;

	flockfile(out);
	if (!job->n)
		fputs("No stack for ", out);
	else if (job->source == TASK_FRAMES_TRACEBACK)
		fputs("Traceback for ", out);
	else
		fputs("Stack for ", out);
	print_task_repr(r, symbolizer, out);
	fputs(job->n ? " (most recent call last):\n" : "\n", out);
	for (int i = 0; i < job->n; i++)
		print_frame(symbolizer, (uintptr_t)job->frames[i], job->source != TASK_FRAMES_ENTRY,
		            out);
	/* Python's traceback ends with the exception: "ValueError: boom". */
	if (fatal)
		task_view_snapshot(live_header(), fatal, &parts);
	if (parts.exception) {
		const struct costack_live_exception *e = parts.exception;

		fprintf(out, "%s%s%s\n", e->type[0] ? e->type : "exception", e->what[0] ? ": " : "",
		        e->what);
	}
	funlockfile(out);
}

EXPORT int costack_print_stack(costack_task_t task, int limit, FILE *out)
{
	void *frames[CONFIG_DEPTH_MAX];
	struct task_record r;
	struct print_job job = {.r = &r, .frames = frames, .out = out};
	int saved_errno = errno;

	if (!registry_copy_task(task, &r))
		return -1;
	job.n = task_frames(&r, frames, CONFIG_DEPTH_MAX, limit, &job.source);
	own_symbols_run(print_job_run, &job);
	errno = saved_errno;
	return 0;
}

EXPORT int costack_set_task_name(costack_task_t task, const char *name)
{
	return registry_set_name(task, name);
}

/* The size of struct costack_task_info before the exception fields: a
 * program built with that header passes it. */
#define TASK_INFO_FIRST_SIZE offsetof(struct costack_task_info, raises)

EXPORT int costack_task_info(costack_task_t task, struct costack_task_info *info)
{
	struct costack_task_info full;
	struct task_record r;
	const struct costack_live_task *t = &r.task;
	const struct costack_live_snapshot *raise;
	const struct costack_live_exception *e;
	size_t size;

	if (!info || info->size < TASK_INFO_FIRST_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (!registry_copy_task(task, &r))
		return -1;
	size = info->size < sizeof(full) ? info->size : sizeof(full);
	memset(&full, 0, sizeof(full));
	full.size = info->size;
	full.id = t->id;
	full.parent = t->parent;
	full.state = t->state;
	full.runtime = t->runtime;
	full.entry = (const void *)t->entry;
	full.stack_lo = (const void *)t->stack_lo;
	full.stack_hi = (const void *)t->stack_hi;
	full.thread = t->tid;
	full.switches = t->switches;
	/* The current run by the clock that will end it: a running task's cpu_ns never exceeds
	 * the one it has once suspended. */
	full.cpu_ns = clock_ticks_to_ns(t->cpu_ticks +
	                                (t->state == COSTACK_RUNNING ? clock_now() - t->since : 0));
	full.created_ns = clock_to_realtime_ns(t->created);
	full.state_since_ns = clock_to_realtime_ns(t->since);
	strncpy(full.name, task_view_name(live_header(), t->name), sizeof(full.name) - 1);
	full.raises = t->raises;
	/* A failed task is described by the exception it died of. */
	raise = t->state == COSTACK_FAILED ? task_record_fatal_raise(&r) : NULL;
	if (raise) {
		struct task_view_parts parts;

		task_view_snapshot(live_header(), raise, &parts);
		e = parts.exception;
	} else {
		e = task_view_exception(live_header(), t->exception);
	}
	if (e) {
		full.exception_origin = e->origin;
		memcpy(full.exception_type, e->type, sizeof(full.exception_type));
		memcpy(full.exception_what, e->what, sizeof(full.exception_what));
	}
	memcpy(info, &full, size);
	return 0;
}
