/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the events of a traced run (COSTACK_TRACE=1): the core reports
 * here, and trace.c fires them through libcostack-lttng.so (costack-trace-ops.h),
 * dlopened at load. Tracing off, each report is one untaken branch.
 */
#ifndef COSTACK_TRACE_H
#define COSTACK_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "costack-trace-ops.h"
#include "task.h"

struct thread_state;

/* NULL unless tracing is on and libcostack-lttng.so was loaded. */
extern const struct costack_trace_ops *trace_ops;

static inline bool trace_on(void)
{
	return __builtin_expect(trace_ops != NULL, 0);
}

/* At load: with COSTACK_TRACE=1, load the provider; if it cannot be, say
 * why in one line and go on untraced. */
void trace_init(void);

void trace_task_create(const struct task *t);
/* ts: the calling thread's state, NULL for a thread costack does not know. */
void trace_switch(struct thread_state *ts, const struct task *prev, const struct task *next,
		  const struct snapshot *s);
void trace_raise(struct thread_state *ts, const struct task *t, const struct snapshot *s);

#endif
