/* SPDX-License-Identifier: MIT */
/* api.c - the public costack.h API: asyncio's get_stack()/print_stack() over the task registry. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif

#include "clock.h"
#include "config.h"
#include "core.h"
#include "costack.h"
#include "symbolize.h"
#include "unwind.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_INLINE 16

static const char *const state_names[] = { "created", "running", "suspended",
					   "done",    "failed",  "cancelled" };
static const char *const runtime_names[] = { "thread", "ucontext", "fcontext" };

EXPORT costack_task_t costack_current_task(void)
{
	struct thread_state *ts = core_enter_activating();
	costack_task_t id;

	if (!ts) {
		ts = core_thread_state();
		return ts ? ts->current->id : 0;
	}
	id = ts->current->id;
	core_leave(ts);
	return id;
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
	struct task_copy c;

	return registry_copy_task(task, &c) ? c.task.state : -1;
}

EXPORT const char *costack_state_name(int state)
{
	return state >= 0 && state < (int)(sizeof(state_names) / sizeof(*state_names))
		       ? state_names[state]
		       : "?";
}

/* Frames of a stack record, oldest first: a stack keeps its newest `limit`
 * frames, a traceback its oldest (asyncio and the traceback module do so). */
static int emit_frames(const uintptr_t *innermost_first, int n, bool traceback, void **out,
		       int limit)
{
	int keep = limit > 0 && limit < n ? limit : n;
	int skip_outer = traceback ? 0 : n - keep; /* oldest frames dropped */

	for (int i = 0; i < keep; i++)
		out[i] = (void *)innermost_first[n - 1 - skip_outer - i];
	return keep;
}

/* The raise a failed task died of. */
static const struct snapshot *fatal_raise(const struct task_copy *c)
{
	if (c->task.has_kept)
		return &c->task.kept;
	return c->has_raise ? &c->last_raise : NULL;
}

/* Frames of a task, oldest first, into out (room for cap); *is_entry tells
 * that the single frame is an entry function, not a return address. */
static int task_frames(const struct task_copy *c, void **out, int cap, int limit, bool *is_entry)
{
	const struct stack_rec *rec = NULL;
	struct thread_state *ts;

	*is_entry = false;
	if (cap <= 0)
		return 0;
	switch (c->task.state) {
	case COSTACK_CREATED:
		if (!c->task.entry)
			return 0;
		out[0] = (void *)c->task.entry;
		*is_entry = true;
		return 1;
	case COSTACK_RUNNING:
		ts = core_thread_state();
		if (ts && ts->current && ts->current->id == c->task.id) {
			uintptr_t scratch[UNWIND_SCRATCH_WORDS(CONFIG_DEPTH_MAX)];
			struct capture now;

			unwind_capture(scratch, config.depth, ts->current->stack_lo,
				       ts->current->stack_hi, NULL, NULL, &now);
			return emit_frames(now.frames, now.n, false, out,
					   limit > 0 && limit < cap ? limit : cap);
		}
		/* the stack at which it was last resumed */
		__attribute__((fallthrough));
	case COSTACK_SUSPENDED:
		if (c->has_suspend)
			rec = c->last_suspend.stack;
		break;
	case COSTACK_FAILED: {
		/* The raise the runtime kept, else (an adapter that reports no
		 * keeping) the newest raise. */
		const struct snapshot *raise = fatal_raise(c);

		if (raise && raise->stack)
			return emit_frames(raise->stack->frames, (int)raise->stack->nframes, true,
					   out, limit > 0 && limit < cap ? limit : cap);
		return 0;
	}
	default:
		return 0;
	}
	if (!rec)
		return 0;
	return emit_frames(rec->frames, (int)rec->nframes, false, out,
			   limit > 0 && limit < cap ? limit : cap);
}

EXPORT int costack_get_stack(costack_task_t task, void **frames, int size)
{
	struct task_copy c;
	bool is_entry;
	int saved_errno = errno;
	int n;

	if (!registry_copy_task(task, &c))
		return -1;
	n = task_frames(&c, frames, size > 0 ? size : CONFIG_DEPTH_MAX, size, &is_entry);
	errno = saved_errno;
	return n;
}

/* --- print_stack ------------------------------------------------------------ */

static pthread_mutex_t symbolizer_lock = PTHREAD_MUTEX_INITIALIZER;
static struct symbolizer *symbolizer;

void api_after_fork(void)
{
	pthread_mutex_init(&symbolizer_lock, NULL);
}

static struct symbolizer *get_symbolizer(void)
{
	pthread_mutex_lock(&symbolizer_lock);
	if (!symbolizer)
		symbolizer = symbolizer_new_self();
	pthread_mutex_unlock(&symbolizer_lock);
	return symbolizer;
}

static void print_task_repr(const struct task_copy *c, struct symbolizer *s, FILE *out)
{
	const struct task *t = &c->task;
	struct sym_frame entry;

	fprintf(out, "<Task %s id=%llu", costack_state_name(t->state), (unsigned long long)t->id);
	if (t->name[0])
		fprintf(out, " name='%s'", t->name);
	if (t->entry && s && symbolizer_lookup(s, t->entry, false, &entry, 1) >= 1 &&
	    entry.function)
		fprintf(out, " entry=%s()", entry.function);
	else if (t->entry)
		fprintf(out, " entry=%#lx", (unsigned long)t->entry);
	fprintf(out, " runtime=%s thread=%d>",
		t->runtime < sizeof(runtime_names) / sizeof(*runtime_names)
			? runtime_names[t->runtime]
			: "?",
		t->tid);
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

/* --- a stack for the symbolizer ----------------------------------------------- */

/* libdw's line-table reader alone has a 150 KB frame: more than many
 * coroutines' whole stack (Boost's default is 128 KB). Printing runs on a
 * stack of its own, entered with glibc's own context switch, which
 * costack's hooks do not see. */
#define PRINT_STACK_SIZE ((size_t)4 << 20)

struct print_job {
	const struct task_copy *c;
	void **frames;
	int n;
	bool is_entry;
	FILE *out;
};

static __thread struct print_job *current_job __attribute__((tls_model("initial-exec")));
static __thread void *print_stack_base __attribute__((tls_model("initial-exec")));
static __thread ucontext_t print_caller __attribute__((tls_model("initial-exec")));

static void print_job_run(struct print_job *job)
{
	const struct task_copy *c = job->c;
	struct symbolizer *s = get_symbolizer();
	bool failed = c->task.state == COSTACK_FAILED;
	FILE *out = job->out;

	flockfile(out);
	if (!job->n)
		fputs("No stack for ", out);
	else if (failed)
		fputs("Traceback for ", out);
	else
		fputs("Stack for ", out);
	print_task_repr(c, s, out);
	fputs(job->n ? " (most recent call last):\n" : "\n", out);
	for (int i = 0; i < job->n; i++)
		print_frame(s, (uintptr_t)job->frames[i], !job->is_entry, out);
	/* Python's traceback ends with the exception: "ValueError: boom". */
	if (failed && fatal_raise(c) && fatal_raise(c)->exception) {
		const struct exception_rec *e = fatal_raise(c)->exception;

		fprintf(out, "%s%s%s\n", e->type[0] ? e->type : "exception", e->what[0] ? ": " : "",
			e->what);
	}
	funlockfile(out);
}

static void print_job_entry(void)
{
	print_job_run(current_job);
}

/* Run job on this thread's print stack; where that cannot be had, here. */
static void run_print_job(struct print_job *job)
{
	static int (*real_getcontext)(ucontext_t *);
	static void (*real_makecontext)(ucontext_t *, void (*)(void), int, ...);
	static int (*real_swapcontext)(ucontext_t *, const ucontext_t *);
	ucontext_t context;

	if (!real_swapcontext) {
		real_getcontext = dlsym(RTLD_NEXT, "getcontext");
		real_makecontext = dlsym(RTLD_NEXT, "makecontext");
		real_swapcontext = dlsym(RTLD_NEXT, "swapcontext");
	}
	if (!print_stack_base) {
		void *p = mmap(NULL, PRINT_STACK_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

		if (p != MAP_FAILED) {
			print_stack_base = p;
#ifdef HAVE_VALGRIND_H
			VALGRIND_STACK_REGISTER(p, (char *)p + PRINT_STACK_SIZE);
#endif
		}
	}
	if (!print_stack_base || !real_getcontext || !real_makecontext || !real_swapcontext ||
	    real_getcontext(&context) != 0) {
		print_job_run(job);
		return;
	}
	context.uc_stack.ss_sp = print_stack_base;
	context.uc_stack.ss_size = PRINT_STACK_SIZE;
	context.uc_link = &print_caller;
	real_makecontext(&context, print_job_entry, 0);
	current_job = job;
	real_swapcontext(&print_caller, &context);
}

EXPORT int costack_print_stack(costack_task_t task, int limit, FILE *out)
{
	void *frames[CONFIG_DEPTH_MAX];
	struct task_copy c;
	struct print_job job = { .c = &c, .frames = frames, .out = out };
	int saved_errno = errno;

	if (!registry_copy_task(task, &c))
		return -1;
	job.n = task_frames(&c, frames, CONFIG_DEPTH_MAX, limit, &job.is_entry);
	run_print_job(&job);
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
	struct task_copy c;
	const struct task *t = &c.task;
	const struct snapshot *raise;
	const struct exception_rec *e;
	size_t size;

	if (!info || info->size < TASK_INFO_FIRST_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (!registry_copy_task(task, &c))
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
	full.cpu_ns = clock_ticks_to_ns(
		t->cpu_ticks + (t->state == COSTACK_RUNNING ? clock_now() - t->run_start : 0));
	full.created_ns = clock_to_realtime_ns(t->created);
	full.state_since_ns = clock_to_realtime_ns(t->since);
	memcpy(full.name, t->name, sizeof(full.name));
	full.raises = t->raises;
	/* A failed task is described by the exception it died of. */
	raise = t->state == COSTACK_FAILED ? fatal_raise(&c) : NULL;
	e = raise ? raise->exception : t->exception;
	if (e) {
		full.exception_origin = e->origin;
		memcpy(full.exception_type, e->type, sizeof(full.exception_type));
		memcpy(full.exception_what, e->what, sizeof(full.exception_what));
	}
	memcpy(info, &full, size);
	return 0;
}
