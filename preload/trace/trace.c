/* SPDX-License-Identifier: MIT */
/* trace.c - load libcostack-lttng.so when tracing is asked for, and fire its events as the core
 * reports tasks. */
#define _GNU_SOURCE
#include "trace.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "config.h"
#include "core.h"
#include "task.h"
#include "log.h"
#include "task_view.h"

#define PROVIDER_NAME "libcostack-lttng.so"

/* The stacks a thread defined in the trace lately, direct-mapped, and forgotten every
 * REDEFINE_EVERY stack events: a definition lost with a full buffer is made good again. */
#define DEFINED_SLOTS 256
#define REDEFINE_EVERY 65536

struct trace_thread {
	uint32_t events;
	const struct stack_rec *defined[DEFINED_SLOTS];
};

static const struct costack_trace_ops *ops;
/* Made at a thread's first event, unmapped at its exit. */
static __thread struct trace_thread *thread_trace __attribute__((tls_model("initial-exec")));
/* In a fork child: the tasks it inherited are told with its first event, since LTTng-UST
 * runs in it only once fork has returned; those made in it since have ids from here on. */
static atomic_bool inherited_untold;
static uint64_t first_child_task;

/* COSTACK_LTTNG_LIBRARY (`costack record` sets it; ignored in a setuid
 * program), else libcostack-lttng.so next to this library. */
static const char *provider_path(char *buf, size_t size)
{
	const char *env = getenv("COSTACK_LTTNG_LIBRARY");
	Dl_info info;
	const char *slash;

	if (env && *env && !getauxval(AT_SECURE))
		return env;
	if (!dladdr((void *)provider_path, &info) || !info.dli_fname ||
	    !(slash = strrchr(info.dli_fname, '/')))
		return PROVIDER_NAME;
	if ((size_t)snprintf(buf, size, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname,
	                     PROVIDER_NAME) >= size)
		return PROVIDER_NAME;
	return buf;
}

/* This thread's state; NULL when it cannot be made (the event goes without interning). */
static struct trace_thread *this_thread(void)
{
	struct trace_thread *tt = thread_trace;

	if (__builtin_expect(tt != NULL, 1))
		return tt;
	tt = mmap(NULL, sizeof(*tt), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return thread_trace = tt == MAP_FAILED ? NULL : tt;
}

/* A stack without a number (outside the live region): an id never defined, which a reader
 * takes as a stack unknown. */
#define STACK_ID_UNKNOWN UINT32_MAX

/* The stack id of rec (its record's number: 32 bits, never reused in the process), rec defined
 * in the trace first if this thread has not defined it lately; 0 for no stack. */
SWITCH_PATH static uint32_t stack_id(const struct stack_rec *rec)
{
	struct trace_thread *tt = this_thread();
	unsigned slot;

	if (!rec)
		return 0;
	if (!rec->number)
		return STACK_ID_UNKNOWN;
	if (!tt) {
		ops->stack(rec->number, (const uint64_t *)rec->frames, rec->nframes);
		return rec->number;
	}
	if ((++tt->events & (REDEFINE_EVERY - 1)) == 0)
		memset(tt->defined, 0, sizeof(tt->defined));
	slot = (unsigned)(rec->hash ^ (rec->hash >> 17)) & (DEFINED_SLOTS - 1);
	if (tt->defined[slot] != rec &&
	    ops->stack(rec->number, (const uint64_t *)rec->frames, rec->nframes))
		tt->defined[slot] = rec;
	return rec->number;
}

static void fire_create(const struct task *t)
{
	ops->task_create(t->id, t->parent, t->runtime, t->state, t->entry, t->stack_lo,
	                 t->stack_hi);
}

SWITCH_PATH static void fire_switch(const struct task *prev, const struct task *next,
                                    const struct snapshot_parts *s)
{
	uint32_t stack = task_state_ended(prev->state) ? 0 : stack_id(s->stack);

	ops->switch_(prev->id, next ? next->id : 0, prev->state, stack, s->truncated);
}

/* A task a fork child inherited, told as it was: made, named, suspended where it was. */
static void tell_inherited_task(const struct task *t, void *arg)
{
	struct snapshot_parts last = {0};

	(void)arg;
	if (t->id >= first_child_task || task_state_ended(t->state))
		return;
	fire_create(t);
	if (task_name(t)[0])
		ops->task_name(t->id, task_name(t));
	if (t->ring_used)
		snapshot_parts(task_snapshot(t, 0, (uint32_t)config.ring), &last);
	if (t->state == COSTACK_SUSPENDED && t->ring_used && !last.raise)
		fire_switch(t, NULL, &last);
}

/* Before any event of a fork child: what it inherited. */
static inline void tell_inherited(void)
{
	if (__builtin_expect(atomic_load_explicit(&inherited_untold, memory_order_relaxed), 0) &&
	    atomic_exchange(&inherited_untold, false))
		core_for_each_task(tell_inherited_task, NULL);
}

static void on_task_created(const struct task *t)
{
	tell_inherited();
	fire_create(t);
}

static void on_task_named(const struct task *t)
{
	tell_inherited();
	ops->task_name(t->id, task_name(t));
}

static void on_task_entry(const struct task *t)
{
	tell_inherited();
	ops->task_entry(t->id, t->entry);
}

static void on_task_ended(const struct task *t)
{
	tell_inherited();
	ops->task_end(t->id, t->state,
	              t->state == COSTACK_FAILED && task_has_kept(t) ? t->kept_raise : 0);
}

SWITCH_PATH static void on_task_switched(const struct task *prev, const struct task *next,
                                         const struct snapshot_parts *s)
{
	tell_inherited();
	fire_switch(prev, next, s);
}

static void on_task_resumed(const struct task *t)
{
	tell_inherited();
	ops->resume(t->id);
}

static void on_task_raised(const struct task *t, const struct snapshot_parts *s)
{
	const struct exception_rec *e = s->exception;

	tell_inherited();
	ops->raise(t->id, t->raises, e ? e->origin : t->id, e && e->forced, stack_id(s->stack),
	           s->truncated, e ? e->type : "", e ? e->what : "");
}

static void on_thread_stop(void)
{
	if (thread_trace)
		munmap(thread_trace, sizeof(*thread_trace));
	thread_trace = NULL;
}

/* The child's trace is its own (another vpid): its stacks are defined anew, and what it
 * inherited is told before its first event. */
static void on_fork_child(void)
{
	if (thread_trace)
		memset(thread_trace->defined, 0, sizeof(thread_trace->defined));
	first_child_task = core_next_task_id();
	atomic_store(&inherited_untold, true);
}

static const struct core_observer trace_observer = {
        .thread_stop = on_thread_stop,
        .fork_child = on_fork_child,
        .task_created = on_task_created,
        .task_named = on_task_named,
        .task_entry = on_task_entry,
        .task_ended = on_task_ended,
        .task_switched = on_task_switched,
        .task_resumed = on_task_resumed,
        .task_raised = on_task_raised,
};

void trace_attach(void)
{
	char buf[PATH_MAX];
	const char *path;
	void *handle;
	const struct costack_trace_ops *found;

	if (!config.trace)
		return;
	path = provider_path(buf, sizeof(buf));
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		log_error("COSTACK_TRACE=1 but %s cannot be loaded (%s); this run is not traced",
		          path, dlerror());
		return;
	}
	found = dlsym(handle, COSTACK_TRACE_OPS_SYMBOL);
	if (!found || found->version != COSTACK_TRACE_OPS_VERSION ||
	    found->size < sizeof(struct costack_trace_ops)) {
		log_error(
		        "COSTACK_TRACE=1 but %s is not this costack's provider (no %s version %d); "
		        "this run is not traced",
		        path, COSTACK_TRACE_OPS_SYMBOL, COSTACK_TRACE_OPS_VERSION);
		dlclose(handle);
		return;
	}
	ops = found;
	core_observe(&trace_observer);
}
