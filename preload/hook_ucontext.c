/* SPDX-License-Identifier: MIT */
/* hook_ucontext.c - the ucontext adapter: glibc's makecontext, swapcontext, setcontext, getcontext. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <ucontext.h>

#include "core.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_WRAPPED_ARGS 5 /* the sixth register carries the task */
#define MAX_ARGS 16

typedef void (*entry_fn)(long, long, long, long, long);

static void (*real_makecontext)(ucontext_t *, void (*)(void), int, ...);
static int (*real_swapcontext)(ucontext_t *, const ucontext_t *);
static int (*real_setcontext)(const ucontext_t *);
static int (*real_getcontext)(ucontext_t *);

static void resolve(void)
{
	int saved_errno = errno;

	real_makecontext = dlsym(RTLD_NEXT, "makecontext");
	real_swapcontext = dlsym(RTLD_NEXT, "swapcontext");
	real_setcontext = dlsym(RTLD_NEXT, "setcontext");
	real_getcontext = dlsym(RTLD_NEXT, "getcontext");
	errno = saved_errno;
}

static uintptr_t context_sp(const ucontext_t *ucp)
{
	return (uintptr_t)ucp->uc_mcontext.gregs[REG_RSP];
}

static struct task *task_of(struct thread_state *ts, const ucontext_t *ucp)
{
	return core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)ucp, context_sp(ucp));
}

/*
 * Every task made with at most five arguments starts here, so that the end
 * of its entry function is seen: glibc's start code then jumps to uc_link
 * with an internal setcontext that no hook sees.
 */
static void trampoline(long a0, long a1, long a2, long a3, long a4, struct task *self)
{
	struct thread_state *ts = core_thread_state();
	const ucontext_t *link;

	core_resumed(ts, self);
	((entry_fn)self->entry)(a0, a1, a2, a3, a4);

	ts = core_enter();
	if (!ts)
		return;
	link = (const ucontext_t *)self->adapter_data;
	if (ts->current == self)
		core_task_ended(ts, COSTACK_DONE, link ? task_of(ts, link) : NULL);
	core_leave(ts);
}

EXPORT void makecontext(ucontext_t *ucp, void (*func)(void), int argc, ...)
{
	long a[MAX_ARGS] = { 0 };
	struct thread_state *ts;
	struct task *task = NULL;
	uintptr_t lo, hi;
	va_list ap;

	/* glibc reads each argument as a 64-bit register value; so do we. */
	va_start(ap, argc);
	for (int i = 0; i < argc && i < MAX_ARGS; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real_makecontext)
		resolve();

	ts = core_enter();
	if (ts) {
		lo = (uintptr_t)ucp->uc_stack.ss_sp;
		hi = lo + ucp->uc_stack.ss_size;
		task = core_task_made(ts, COSTACK_RUNTIME_UCONTEXT, lo, hi, (uintptr_t)func,
				      (uintptr_t)ucp->uc_link);
		core_leave(ts);
	}
	if (task && argc >= 0 && argc <= MAX_WRAPPED_ARGS) {
		real_makecontext(ucp, (void (*)(void))trampoline, 6, a[0], a[1], a[2], a[3], a[4],
				 task);
		return;
	}
	/* Not wrapped: the task's end will not be seen, only its stack's reuse. */
	real_makecontext(ucp, func, argc, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
			 a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
}

EXPORT int swapcontext(ucontext_t *oucp, const ucontext_t *ucp)
{
	struct thread_state *ts;
	struct task *self, *next;
	int saved_errno, ret;

	if (!real_swapcontext)
		resolve();
	ts = core_enter();
	if (!ts)
		return real_swapcontext(oucp, ucp);
	saved_errno = errno;
	self = ts->current;
	next = task_of(ts, ucp);
	if (next)
		core_switch(ts, next);
	core_leave(ts);
	errno = saved_errno;

	ret = real_swapcontext(oucp, ucp);

	/* Back in self's frame: self runs now, on whichever thread this is. */
	saved_errno = errno;
	core_resumed(core_thread_state(), self);
	errno = saved_errno;
	return ret;
}

EXPORT int setcontext(const ucontext_t *ucp)
{
	struct thread_state *ts;
	struct task *next;
	int saved_errno;

	if (!real_setcontext)
		resolve();
	ts = core_enter();
	if (ts) {
		saved_errno = errno;
		next = task_of(ts, ucp);
		if (next)
			core_switch(ts, next);
		core_leave(ts);
		errno = saved_errno;
	}
	return real_setcontext(ucp);
}

/* Called by the getcontext stub, which then jumps to the function returned
 * with the caller's frame untouched (getcontext returns twice). */
__attribute__((used)) void *costack_getcontext_prepare(void);
__attribute__((used)) void *costack_getcontext_prepare(void)
{
	struct thread_state *ts;

	if (!real_getcontext)
		resolve();
	ts = core_enter(); /* registers the thread's root task */
	if (ts)
		core_leave(ts);
	return (void *)real_getcontext;
}
