/* SPDX-License-Identifier: MIT */
/* core.h - the core's verbs: what a runtime adapter reports (task made, switch, resumed, ended), what consumers observe. */
#ifndef COSTACK_CORE_H
#define COSTACK_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "costack.h"
#include "stackstore.h"
#include "unwind.h"

/* Adapters hold these as handles only: what they know of a task, they ask the core. */
struct task;
struct thread_state; /* one per OS thread (thread_state.h, the core's own) */
struct snapshot;

/*
 * Enter a hook: the calling thread's state, with its root task registered.
 * NULL means "fall through to the real function": costack is disabled or not
 * active yet (no task was ever made), the hook was entered from costack's own
 * code, or the state could not be made. errno is preserved. Every non-NULL
 * return is paired with core_leave().
 */
struct thread_state *core_enter(void);
/* The same for a hook that makes a task (or the API): costack becomes active
 * at the first one, making its registry. */
struct thread_state *core_enter_activating(void);
void core_leave(struct thread_state *ts);

/* The state of the calling thread, re-read: after a switch returns, the
 * code may run on another thread than before. */
struct thread_state *core_thread_state(void);

/* The task running on the calling thread, NULL for a thread costack does not know.
 * Async-signal-safe: a read of the thread's own state. */
const struct task *core_current(void);

/* A task made by a runtime on the stack [lo, hi). Suspended tasks whose
 * stack it reuses become cancelled. NULL when out of memory. */
struct task *core_task_made(struct thread_state *ts, int runtime, uintptr_t lo, uintptr_t hi,
			    uintptr_t entry, uintptr_t adapter_data);

/* The task running on the thread of ts. */
struct task *core_running(struct thread_state *ts);

/* What an adapter may know of a task it holds. */
int core_task_runtime(const struct task *t);          /* enum costack_runtime */
uint64_t core_task_switches(const struct task *t);     /* times switched in */
unsigned core_task_forced_raises(const struct task *t); /* forced unwinds raised in it */
uintptr_t core_task_adapter_data(const struct task *t); /* core_task_made's adapter_data */

/* The task a context belongs to, found by its stack pointer sp; key is the
 * runtime's handle for that context, cached per thread. A context on no
 * known stack gets a task of its own (stack unknown), found again by key. */
struct task *core_task_of_context(struct thread_state *ts, int runtime, uintptr_t key,
				  uintptr_t sp);

/* The current task of this thread stops running: its stack is captured
 * (costack's own frames left out; caller, when not NULL, is the hook's caller,
 * where its frames begin) and it becomes suspended; next runs. Returns the
 * number of frames captured. */
int core_switch(struct thread_state *ts, struct task *next, const struct unwind_start *caller);

/* Called in a task's own frame when a switch into it returned: it runs on
 * this thread, whoever switched to it. errno is preserved. */
void core_resumed(struct thread_state *ts, struct task *self);

/* What a raise adapter knows of an exception. */
struct exception_info {
	const void *object; /* the thrown object, NULL if unknown */
	const char *type;   /* demangled type, or a description */
	const char *what;   /* what(), or NULL */
	bool forced;        /* a forced unwind */
	bool rethrow;       /* the same object raised again: its origin is kept */
};

/* An exception is raised in the current task: its stack now is kept as a
 * raise snapshot, with the exception. */
void core_raise(struct thread_state *ts, const struct exception_info *info);

/* The runtime keeps the exception being handled in the current task
 * (std::current_exception): if the task threw it, it escaped the task's
 * body, and the task fails should it end now. */
void core_exception_kept(struct thread_state *ts, const void *object);

/* How the task's body ended, from what was raised in it: failed if an
 * exception it threw was kept, cancelled after a forced unwind, else done. */
int core_task_fate(const struct task *t);

/* A task that is no longer running ended (its runtime switched away from
 * it for the last time). */
void core_end_task(struct task *t, int outcome);

/* A task not running now whose body ended (outcome as below), while its
 * runtime keeps the stack and may still switch into it to clean up
 * (Boost.Coroutine2 keeps a finished coroutine's context until the
 * coroutine object dies): it reads ended from now on, switches into and
 * out of it change nothing, and core_end_task releases its stack. */
void core_body_ended(struct task *t, int outcome);

/* The stack t was suspended with last, if its newest snapshot is one. */
const struct stack_rec *core_suspended_stack(const struct task *t);

/* The current task ended (outcome: COSTACK_DONE, _FAILED, _CANCELLED); next
 * (may be NULL) runs on this thread after it. */
void core_task_ended(struct thread_state *ts, int outcome, struct task *next);

/*
 * What the core tells the consumers of its tasks (the API, the dumps, the trace), which
 * register once, when libcostack.so attaches them (costack_attach); the core knows none of
 * them. Any callback may be NULL. Task events come in the order they happened, on the thread
 * that made them; those marked "locked" come with the registry lock held, and may walk the
 * tasks (core_for_each_task) but call nothing else of the core's that takes it.
 */
struct core_observer {
	void (*thread_start)(void); /* a thread costack now knows, on it */
	void (*thread_stop)(void);  /* that thread exits, on it */
	void (*fork_child)(void);   /* in a fork child, on its one thread, before any hook */
	void (*task_created)(const struct task *t);                 /* locked */
	void (*task_named)(const struct task *t);                   /* locked */
	void (*task_ended)(const struct task *t);                   /* locked; state: how */
	/* prev stopped running (suspension: its stack then; prev may have ended already) */
	void (*task_switched)(const struct task *prev, const struct task *next,
			      const struct snapshot *suspension);
	void (*task_resumed)(const struct task *t);
	void (*task_raised)(const struct task *t, const struct snapshot *raise);
};

/* Register o (kept: it must live for ever). Up to 8. */
void core_observe(const struct core_observer *o);

/* Defined by libcostack.so (preload/attach.c), absent from a core linked alone: attaches
 * the consumers, once the settings are read. */
void costack_attach(void) __attribute__((weak));

/* fn on every task the registry knows, ended ones kept included. */
void core_for_each_task(void (*fn)(const struct task *t, void *arg), void *arg);

/* The id the next task made will get: tasks made from now on have it or more. */
uint64_t core_next_task_id(void);

#endif
