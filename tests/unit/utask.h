/* SPDX-License-Identifier: MIT */
/* utask.h - real ucontext tasks (glibc makecontext/swapcontext) reported to the core as a runtime
 * adapter would. */
#ifndef COSTACK_TEST_UTASK_H
#define COSTACK_TEST_UTASK_H

/*
 * No preload runs in the unit tests, so makecontext and swapcontext are
 * glibc's own; these helpers tell the core what hook_ucontext.c would:
 * "task made" when a task is made, "switch" before each swapcontext,
 * "resumed" when a swapcontext returns, "task ended" when an entry returns.
 *
 * A task runs when some task resumes it (utask_resume) and runs until it
 * yields back (UTASK_YIELD) or ends. UTASK_YIELD is a macro, so that the
 * core is called from the very function that yields: that function is the
 * innermost frame of the task's stack.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "core.h"
#include "thread_state.h" /* white-box: the tests look into the core */

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef VALGRIND_STACK_REGISTER
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

struct utask {
	ucontext_t uc;        /* the task's context while it does not run */
	ucontext_t caller;    /* the context of whoever resumed it last */
	struct task *task;    /* the core's record */
	struct task *resumer; /* the core's record of whoever resumed it last */
	char *stack;          /* [stack, stack + stack_size) */
	size_t stack_size;
	bool owns_stack;         /* mapped by utask_make, unmapped by utask_free */
	unsigned valgrind_stack; /* so that valgrind tells a switch from a stack growing */
	void (*fn)(struct utask *);
	void *arg; /* the test's own */
	volatile bool ended;
};

static void utask_start(unsigned hi, unsigned lo);

static inline struct task *utask_report_made(uintptr_t lo, uintptr_t hi, uintptr_t entry)
{
	struct thread_state *ts = core_enter_activating(); /* as an adapter's "task made" does */
	struct task *task;

	if (!ts)
		return NULL;
	task = core_task_made(ts, COSTACK_RUNTIME_UCONTEXT, lo, hi, entry, 0);
	core_leave(ts);
	return task;
}

/* Make a task that will run fn(t) on [stack, stack + stack_size), made by the calling task. */
static inline bool utask_make_on(struct utask *t, void (*fn)(struct utask *), void *arg,
                                 char *stack, size_t stack_size)
{
	uintptr_t self = (uintptr_t)t;

	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->stack = stack;
	t->stack_size = stack_size;
	getcontext(&t->uc);
	t->uc.uc_stack.ss_sp = stack;
	t->uc.uc_stack.ss_size = stack_size;
	t->uc.uc_link = NULL;
	makecontext(&t->uc, (void (*)(void))utask_start, 2, (unsigned)(self >> 32), (unsigned)self);
	t->valgrind_stack = VALGRIND_STACK_REGISTER(stack, stack + stack_size);
	t->task = utask_report_made((uintptr_t)stack, (uintptr_t)stack + stack_size, (uintptr_t)fn);
	return t->task != NULL;
}

/* The same on a stack of its own, freed by utask_free. */
static inline bool utask_make(struct utask *t, void (*fn)(struct utask *), void *arg,
                              size_t stack_size)
{
	char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED) {
		memset(t, 0, sizeof(*t));
		return false;
	}
	if (!utask_make_on(t, fn, arg, stack, stack_size)) {
		munmap(stack, stack_size);
		return false;
	}
	t->owns_stack = true;
	return true;
}

static inline void utask_free(struct utask *t)
{
	VALGRIND_STACK_DEREGISTER(t->valgrind_stack);
	if (t->owns_stack)
		munmap(t->stack, t->stack_size);
	t->owns_stack = false;
}

static inline uint64_t utask_id(const struct utask *t)
{
	return t->task ? t->task->id : 0;
}

/* Run t until it yields or ends; the calling task is suspended meanwhile.
 * Any thread may resume a task that is not running. */
static inline void utask_resume(struct utask *t)
{
	struct thread_state *ts = core_enter();
	struct task *self = ts->current;

	t->resumer = self;
	core_switch(ts, t->task, NULL);
	core_leave(ts);
	swapcontext(&t->caller, &t->uc);
	/* Back in our own frame: we run again, on the thread we left from. */
	core_resumed(core_thread_state(), self);
}

/* From inside task t: back to whoever resumed it; returns when resumed again,
 * maybe on another thread. */
#define UTASK_YIELD(t)                                                                             \
	do {                                                                                       \
		struct utask *utask_ = (t);                                                        \
		struct thread_state *uts_ = core_enter();                                          \
		core_switch(uts_, utask_->resumer, NULL);                                          \
		core_leave(uts_);                                                                  \
		swapcontext(&utask_->uc, &utask_->caller);                                         \
		core_resumed(core_thread_state(), utask_->task);                                   \
	} while (0)

/* From inside task t: end it with outcome (COSTACK_DONE, _FAILED, _CANCELLED);
 * whoever resumed it last runs next. */
__attribute__((noreturn)) static inline void utask_exit(struct utask *t, int outcome)
{
	struct thread_state *ts = core_enter();

	core_task_ended(ts, outcome, t->resumer);
	core_leave(ts);
	t->ended = true;
	setcontext(&t->caller);
	abort();
}

static void utask_start(unsigned hi, unsigned lo)
{
	struct utask *t = (struct utask *)(((uintptr_t)hi << 32) | lo);

	core_resumed(core_thread_state(), t->task);
	t->fn(t);
	utask_exit(t, COSTACK_DONE);
}

#endif
