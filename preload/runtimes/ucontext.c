/* SPDX-License-Identifier: MIT */
/* ucontext.c - the ucontext adapter: glibc's makecontext, swapcontext, setcontext, getcontext. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ucontext.h>

#include "core.h"
#include "real.h"
#include "runtime_tasks.h"
#include "unwind.h"

#define EXPORT __attribute__((visibility("default")))

/* Used by ucontext_stubs.S, hence not static. */
void (*costack_real_makecontext)(ucontext_t *, void (*)(void), int, ...);
void costack_ucontext_trampoline(void);
void *costack_makecontext_prepare(ucontext_t *ucp, void (*func)(void), int argc);
void costack_ucontext_returned(struct task *self);
void *costack_getcontext_prepare(void);

SWITCH_DATA static int (*real_swapcontext)(ucontext_t *, const ucontext_t *);
SWITCH_DATA static int (*real_setcontext)(const ucontext_t *);
static int (*real_getcontext)(ucontext_t *);

/* glibc's, always in the global scope; a program without ucontext calls never looks. */
static void resolve(void)
{
	costack_real_makecontext = real_function("makecontext", NULL);
	real_swapcontext = real_function("swapcontext", NULL);
	real_setcontext = real_function("setcontext", NULL);
	real_getcontext = real_function("getcontext", NULL);
	if (!costack_real_makecontext || !real_swapcontext || !real_setcontext || !real_getcontext)
		real_missing("glibc's ucontext functions");
}

static uintptr_t context_sp(const ucontext_t *ucp)
{
	return (uintptr_t)ucp->uc_mcontext.gregs[REG_RSP];
}

SWITCH_PATH static struct task *task_of(struct thread_state *ts, const ucontext_t *ucp)
{
	return core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)ucp, context_sp(ucp));
}

/*
 * Called by the makecontext stub before glibc's makecontext: the task is
 * registered, and started through costack_ucontext_trampoline so that the
 * end of its entry function is seen (glibc's start code then jumps to
 * uc_link with an internal setcontext that no hook sees).
 */
void *costack_makecontext_prepare(ucontext_t *ucp, void (*func)(void), int argc)
{
	struct thread_state *ts;
	struct task *task = NULL;
	uintptr_t lo, hi;

	if (!costack_real_makecontext)
		resolve();
	ts = core_enter_activating();
	if (!ts)
		return (void *)func;
	lo = (uintptr_t)ucp->uc_stack.ss_sp;
	hi = lo + ucp->uc_stack.ss_size;
	task = core_task_made(ts, COSTACK_RUNTIME_UCONTEXT, lo, hi, (uintptr_t)func,
	                      (uintptr_t)ucp->uc_link);
	if (task)
		runtime_task_made(task, (uintptr_t)func);
	core_leave(ts);
	if (!task)
		return (void *)func;
	/* glibc's makecontext sets rip, rsp, rbx and the argument registers
	 * only; the trampoline finds its entry and task in r12 and r13. */
	ucp->uc_mcontext.gregs[REG_R12] = (greg_t)func;
	ucp->uc_mcontext.gregs[REG_R13] = (greg_t)task;
	return (void *)costack_ucontext_trampoline;
}

/* Called by the trampoline when a task's entry function has returned. */
void costack_ucontext_returned(struct task *self)
{
	struct thread_state *ts = core_enter();
	const ucontext_t *link;

	if (!ts)
		return;
	link = (const ucontext_t *)core_task_adapter_data(self);
	if (core_running(ts) == self)
		core_task_ended(ts, core_task_fate(self), link ? task_of(ts, link) : NULL);
	core_leave(ts);
}

/* Bookkeeping before a switch to ucp: returns the task switching out, or
 * NULL when costack is not to be involved. caller: the hook's caller,
 * where the outgoing task's frames begin. */
SWITCH_PATH static struct task *switch_out(const ucontext_t *ucp, const struct unwind_start *caller)
{
	struct thread_state *ts = core_enter();
	struct task *self, *next;
	int frames;

	if (!ts)
		return NULL;
	self = core_running(ts);
	next = task_of(ts, ucp);
	frames = next ? core_switch(ts, next, caller) : -1;
	if (frames >= 0)
		runtime_task_switched(self, next, false);
	core_leave(ts);
	return self;
}

SWITCH_PATH EXPORT UNWIND_FRAME_POINTER int swapcontext(ucontext_t *oucp, const ucontext_t *ucp)
{
	struct unwind_start caller;
	struct task *self;
	int ret;

	if (!real_swapcontext)
		resolve();
	UNWIND_CALLER(caller);
	self = switch_out(ucp, &caller);
	ret = real_swapcontext(oucp, ucp);
	/* Back in self's frame: self runs now, on whichever thread this is. */
	if (self)
		core_resumed(core_thread_state(), self);
	return ret;
}

SWITCH_PATH EXPORT UNWIND_FRAME_POINTER int setcontext(const ucontext_t *ucp)
{
	struct unwind_start caller;

	if (!real_setcontext)
		resolve();
	UNWIND_CALLER(caller);
	switch_out(ucp, &caller);
	return real_setcontext(ucp);
}

/* Called by the getcontext stub, which then jumps to the function returned
 * with the caller's frame untouched (getcontext returns twice). */
void *costack_getcontext_prepare(void)
{
	struct thread_state *ts;

	if (!real_getcontext)
		resolve();
	ts = core_enter(); /* registers the thread's root task, if costack is active */
	if (ts)
		core_leave(ts);
	return (void *)real_getcontext;
}
