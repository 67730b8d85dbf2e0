/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the events of a traced run (COSTACK_TRACE=1): the core reports
 * here, and trace.c fires them through libcostack-lttng.so (costack-trace-ops.h),
 * dlopened at load. Tracing off, each report is one untaken branch.
 */
#ifndef COSTACK_TRACE_H
#define COSTACK_TRACE_H

#include <stdbool.h>
#include <stddef.h>
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

/* The stack id of rec for an event of this thread, rec defined in the trace
 * first if this thread has not defined it lately; 0 for no stack. */
uint64_t trace_stack_id(struct thread_state *ts, const struct stack_rec *rec);

void trace_task_create(const struct task *t);

/* In a fork child, from the core's atfork handler, no lock held, one thread
 * alive (ts its state, NULL if it had none): the stacks this thread defined
 * are the parent's, and so are the task_create events of the tasks it
 * inherited, tasks[0..n) (unfinished ones). They are defined and announced
 * anew in the child's first event: in the handler, its lttng-ust is not yet
 * registered (liblttng-ust-fork does that once fork returns). */
void trace_fork_child(struct thread_state *ts, struct task *const *tasks, size_t n);
void trace_switch(struct thread_state *ts, const struct task *prev, const struct task *next,
		  const struct snapshot *s);
void trace_raise(struct thread_state *ts, const struct task *t, const struct snapshot *s);

#endif
