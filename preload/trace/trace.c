/* SPDX-License-Identifier: MIT */
/* trace.c - load libcostack-lttng.so when tracing is asked for, and fire its events. */
#define _GNU_SOURCE
#include "trace.h"

#include <dlfcn.h>
#include <limits.h>
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
	trace_ops = ops;
}

/* The stack id of rec for an event of this thread (ts; NULL: one costack
 * does not know), rec defined in the trace first if this thread has not
 * defined it lately; 0 for no stack. */
static uint64_t trace_stack_id(struct thread_state *ts, const struct stack_rec *rec)
{
	unsigned slot;

	if (!rec)
		return 0;
	if (!ts) {
		trace_ops->stack((uintptr_t)rec, (const uint64_t *)rec->frames, rec->nframes);
		return (uintptr_t)rec;
	}
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
