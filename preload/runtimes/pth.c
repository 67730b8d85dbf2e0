/* SPDX-License-Identifier: MIT */
/* pth.c - the GNU Pth adapter: pth_spawn (the user's function and the thread's name), pth_exit,
 * pth_abort and pth_cancel (its end). Pth switches with makecontext/swapcontext (ucontext.c). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "real.h"
#include "runtime_tasks.h"

#define EXPORT __attribute__((visibility("default")))

/* Pth's C interface (pth.h of GNU Pth 2.0), as much of it as costack asks. */
typedef struct pth_st *pth_t;
typedef struct pth_attr_st *pth_attr_t;
enum { PTH_ATTR_NAME = 1, PTH_ATTR_CANCEL_STATE = 3, PTH_ATTR_STACK_ADDR = 5 };
#define PTH_CANCEL_ENABLE (1 << 0)
#define PTH_CANCEL_ASYNCHRONOUS (1 << 2)
#define PTH_CANCELED ((void *)-1)

EXPORT pth_t pth_spawn(pth_attr_t attr, void *(*func)(void *), void *arg);
EXPORT void pth_exit(void *value) __attribute__((noreturn));
EXPORT int pth_abort(pth_t thread);
EXPORT int pth_cancel(pth_t thread);

static pth_t (*real_spawn)(pth_attr_t, void *(*)(void *), void *);
static void (*real_exit)(void *);
static int (*real_abort)(pth_t);
static int (*real_cancel)(pth_t);

/* What costack asks of a thread, from the libpth that defines the first hook's real function. */
static struct {
	bool resolved;
	pth_attr_t (*attr_of)(pth_t);
	int (*attr_get)(pth_attr_t, int, ...);
	int (*attr_destroy)(pth_attr_t);
} pth;

static void resolve_pth(const void *real)
{
	if (pth.resolved || !real)
		return;
	pth.attr_of = real_companion(real, "pth_attr_of");
	pth.attr_get = real_companion(real, "pth_attr_get");
	pth.attr_destroy = real_companion(real, "pth_attr_destroy");
	pth.resolved = true;
}

/* A thread's stack, name and cancellation state, as Pth answers them (name: valid while the
 * thread lives). False when Pth cannot tell. */
struct thread_facts {
	char *stack;
	char *name;
	unsigned cancel_state;
};

static bool facts_of(pth_t thread, struct thread_facts *facts)
{
	pth_attr_t attr;
	bool ok;

	if (!thread || !pth.attr_of || !pth.attr_get || !pth.attr_destroy)
		return false;
	attr = pth.attr_of(thread);
	if (!attr)
		return false;
	ok = pth.attr_get(attr, PTH_ATTR_STACK_ADDR, &facts->stack) &&
	     pth.attr_get(attr, PTH_ATTR_NAME, &facts->name) &&
	     pth.attr_get(attr, PTH_ATTR_CANCEL_STATE, &facts->cancel_state);
	pth.attr_destroy(attr);
	return ok;
}

/* The task Pth runs thread on: its stack's. */
static struct task *task_of(pth_t thread, struct thread_facts *facts)
{
	return facts_of(thread, facts) && facts->stack ? core_task_at((uintptr_t)facts->stack)
	                                               : NULL;
}

/* Pth made the thread's context with makecontext (a task whose entry is Pth's trampoline): its
 * entry is the function given here, its name Pth's. */
EXPORT pth_t pth_spawn(pth_attr_t attr, void *(*func)(void *), void *arg)
{
	struct thread_state *ts;
	struct thread_facts facts;
	struct task *t;
	pth_t thread;

	if (!REAL_FUNCTION(real_spawn, "pth_spawn"))
		real_missing("pth_spawn");
	resolve_pth(real_spawn);
	thread = real_spawn(attr, func, arg);
	if (thread && (ts = core_enter())) {
		t = task_of(thread, &facts);
		if (t)
			runtime_task_given(t, (uintptr_t)func, facts.name);
		core_leave(ts);
	}
	return thread;
}

/* The running thread ends here (its function returned into Pth's trampoline, which calls it,
 * or it called it): its next switch is its last. Cancelled at a cancellation point, it exits
 * with PTH_CANCELED. The main thread's pth_exit waits for the others, then ends the process. */
EXPORT void pth_exit(void *value)
{
	struct thread_state *ts;
	struct task *self;

	if (!REAL_FUNCTION(real_exit, "pth_exit"))
		real_missing("pth_exit");
	ts = core_enter();
	if (ts) {
		self = core_running(ts);
		if (core_task_runtime(self) != COSTACK_RUNTIME_THREAD)
			core_body_ended(self, value == PTH_CANCELED ? COSTACK_CANCELLED
			                                            : core_task_fate(self));
		core_leave(ts);
	}
	real_exit(value);
	__builtin_unreachable();
}

/* A thread killed by another, which never runs again: cancelled. */
static void killed(struct task *victim, struct thread_state *ts)
{
	if (victim == core_running(ts))
		core_body_ended(victim, COSTACK_CANCELLED);
	else
		core_end_task(victim, COSTACK_CANCELLED);
}

/* thread's task, and the facts Pth keeps of it; asked before the kill, for the thread may be
 * freed by the time it returns. NULL when costack knows no task of it. */
static struct task *victim_of(pth_t thread, struct thread_facts *facts)
{
	struct thread_state *ts = core_enter();
	struct task *victim = NULL;

	if (ts) {
		victim = task_of(thread, facts);
		core_leave(ts);
	}
	return victim;
}

/* The kill of victim (may be NULL) returned ret: a success ends it cancelled. errno kept. */
static int after_kill(struct task *victim, int ret)
{
	struct thread_state *ts;

	if (ret && victim && (ts = core_enter())) {
		killed(victim, ts);
		core_leave(ts);
	}
	return ret;
}

EXPORT int pth_abort(pth_t thread)
{
	struct thread_facts facts;
	struct task *victim;

	if (!REAL_FUNCTION(real_abort, "pth_abort"))
		real_missing("pth_abort");
	resolve_pth(real_abort);
	victim = victim_of(thread, &facts);
	return after_kill(victim, real_abort(thread));
}

/* With asynchronous cancellation enabled, Pth kills the thread at once, as pth_abort; deferred,
 * the thread exits at its next cancellation point (pth_exit with PTH_CANCELED). */
EXPORT int pth_cancel(pth_t thread)
{
	const int async = PTH_CANCEL_ENABLE | PTH_CANCEL_ASYNCHRONOUS;
	struct thread_facts facts;
	struct task *victim;

	if (!REAL_FUNCTION(real_cancel, "pth_cancel"))
		real_missing("pth_cancel");
	resolve_pth(real_cancel);
	victim = victim_of(thread, &facts);
	if (victim && (facts.cancel_state & async) != async)
		victim = NULL; /* deferred: it exits at a cancellation point, if ever */
	return after_kill(victim, real_cancel(thread));
}
