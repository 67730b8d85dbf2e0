/* SPDX-License-Identifier: MIT */
/* trace.c - load libcostack-lttng.so when tracing is asked for, and fire its events. */
#define _GNU_SOURCE
#include "trace.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "config.h"
#include "core.h"
#include "log.h"

#define PROVIDER_NAME "libcostack-lttng.so"

const struct costack_trace_ops *trace_ops;

/* COSTACK_LTTNG_LIBRARY (`costack record` sets it; ignored in a setuid
 * program), else libcostack-lttng.so next to this library. */
static const char *provider_path(char *buf, size_t size)
{
	const char *env = getenv("COSTACK_LTTNG_LIBRARY");
	Dl_info info;
	const char *slash;

	if (env && *env && !getauxval(AT_SECURE))
		return env;
	if (!dladdr((void *)trace_init, &info) || !info.dli_fname ||
	    !(slash = strrchr(info.dli_fname, '/')))
		return PROVIDER_NAME;
	if ((size_t)snprintf(buf, size, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname,
			     PROVIDER_NAME) >= size)
		return PROVIDER_NAME;
	return buf;
}

/* The tasks a fork child inherited, announced (task_create in their state at
 * the fork, task_name) by its first event: trace_ops is inherit_ops until
 * then, so that the hot path checks nothing more. */
struct inherited_task {
	uint64_t id, parent, entry, stack_lo, stack_hi;
	uint8_t runtime, state;
	char name[COSTACK_NAME_MAX];
};
static struct inherited {
	size_t n;
	struct inherited_task tasks[];
} *_Atomic inherited;
static const struct costack_trace_ops *provider_ops;

static void announce_inherited(void)
{
	struct inherited *list = atomic_exchange(&inherited, NULL);

	trace_ops = provider_ops;
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++) {
		const struct inherited_task *t = &list->tasks[i];

		provider_ops->task_create(t->id, t->parent, t->runtime, t->state, t->entry,
					  t->stack_lo, t->stack_hi);
		if (t->name[0])
			provider_ops->task_name(t->id, t->name);
	}
	free(list);
}

static int inherit_stack(uint64_t id, const uint64_t *frames, uint32_t nframes)
{
	announce_inherited();
	return provider_ops->stack(id, frames, nframes);
}

static void inherit_task_create(uint64_t task, uint64_t parent, uint8_t runtime, uint8_t state,
				uint64_t entry, uint64_t stack_lo, uint64_t stack_hi)
{
	announce_inherited();
	provider_ops->task_create(task, parent, runtime, state, entry, stack_lo, stack_hi);
}

static void inherit_task_name(uint64_t task, const char *name)
{
	announce_inherited();
	provider_ops->task_name(task, name);
}

static void inherit_switch(uint64_t prev, uint64_t next, uint8_t prev_state, uint64_t stack,
			   uint8_t truncated)
{
	announce_inherited();
	provider_ops->switch_(prev, next, prev_state, stack, truncated);
}

static void inherit_resume(uint64_t task)
{
	announce_inherited();
	provider_ops->resume(task);
}

static void inherit_raise(uint64_t task, uint64_t raise, uint64_t origin, uint8_t forced,
			  uint64_t stack, uint8_t truncated, const char *type, const char *what)
{
	announce_inherited();
	provider_ops->raise(task, raise, origin, forced, stack, truncated, type, what);
}

static void inherit_task_end(uint64_t task, uint8_t outcome, uint64_t kept_raise)
{
	announce_inherited();
	provider_ops->task_end(task, outcome, kept_raise);
}

static const struct costack_trace_ops inherit_ops = {
	.version = COSTACK_TRACE_OPS_VERSION,
	.size = sizeof(struct costack_trace_ops),
	.stack = inherit_stack,
	.task_create = inherit_task_create,
	.task_name = inherit_task_name,
	.switch_ = inherit_switch,
	.resume = inherit_resume,
	.raise = inherit_raise,
	.task_end = inherit_task_end,
};

void trace_fork_child(struct thread_state *ts, struct task *const *tasks, size_t n)
{
	struct inherited *list = malloc(sizeof(*list) + n * sizeof(list->tasks[0]));

	if (ts)
		memset(ts->trace_defined, 0, sizeof(ts->trace_defined));
	free(atomic_exchange(&inherited, NULL)); /* a fork before the first event */
	if (!list) {
		log_error("out of memory: a fork child's trace misses the tasks it inherited");
		return;
	}
	list->n = n;
	for (size_t i = 0; i < n; i++) {
		list->tasks[i] = (struct inherited_task){
			.id = tasks[i]->id,
			.parent = tasks[i]->parent,
			.entry = tasks[i]->entry,
			.stack_lo = tasks[i]->stack_lo,
			.stack_hi = tasks[i]->stack_hi,
			.runtime = tasks[i]->runtime,
			.state = tasks[i]->state,
		};
		memcpy(list->tasks[i].name, tasks[i]->name, sizeof(list->tasks[i].name));
		list->tasks[i].name[sizeof(list->tasks[i].name) - 1] = '\0';
	}
	atomic_store(&inherited, list);
	trace_ops = &inherit_ops;
}

void trace_init(void)
{
	char buf[PATH_MAX];
	const char *path;
	void *handle;
	const struct costack_trace_ops *ops;

	if (!config.trace || !config.enabled)
		return;
	path = provider_path(buf, sizeof(buf));
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		log_error("COSTACK_TRACE=1 but %s cannot be loaded (%s); this run is not traced",
			  path, dlerror());
		return;
	}
	ops = dlsym(handle, COSTACK_TRACE_OPS_SYMBOL);
	if (!ops || ops->version != COSTACK_TRACE_OPS_VERSION ||
	    ops->size < sizeof(struct costack_trace_ops)) {
		log_error("%s is not this costack's provider (no %s version %d); this run is not traced",
			  path, COSTACK_TRACE_OPS_SYMBOL, COSTACK_TRACE_OPS_VERSION);
		dlclose(handle);
		return;
	}
	provider_ops = ops;
	trace_ops = ops;
}

uint64_t trace_stack_id(struct thread_state *ts, const struct stack_rec *rec)
{
	unsigned slot;

	if (!rec)
		return 0;
	/* Defined stacks are forgotten now and then, so that a definition
	 * lost with a full buffer is made good again. */
	if ((++ts->trace_events & (TRACE_REDEFINE_EVERY - 1)) == 0)
		memset(ts->trace_defined, 0, sizeof(ts->trace_defined));
	slot = (unsigned)(rec->hash ^ (rec->hash >> 17)) & (TRACE_DEFINED_SLOTS - 1);
	if (ts->trace_defined[slot] != rec &&
	    trace_ops->stack((uintptr_t)rec, (const uint64_t *)rec->frames, rec->nframes))
		ts->trace_defined[slot] = rec;
	return (uintptr_t)rec;
}

void trace_task_create(const struct task *t)
{
	trace_ops->task_create(t->id, t->parent, t->runtime, t->state, t->entry, t->stack_lo,
			       t->stack_hi);
}

void trace_switch(struct thread_state *ts, const struct task *prev, const struct task *next,
		  const struct snapshot *s)
{
	uint64_t stack = task_state_ended(prev->state) ? 0 : trace_stack_id(ts, s->stack);

	trace_ops->switch_(prev->id, next ? next->id : 0, prev->state, stack, s->truncated);
}

void trace_raise(struct thread_state *ts, const struct task *t, const struct snapshot *s)
{
	const struct exception_rec *e = s->exception;

	trace_ops->raise(t->id, t->raises, e ? e->origin : t->id, e && e->forced,
			 trace_stack_id(ts, s->stack), s->truncated, e ? e->type : "",
			 e ? e->what : "");
}
