/* SPDX-License-Identifier: MIT */
/* core.h - the core's verbs: what a runtime adapter reports (task made, switch, resumed, ended),
 * what consumers observe. */
#ifndef COSTACK_CORE_H
#define COSTACK_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "costack.h"
#include "stackstore.h"
#include "unwind.h"

/* Adapters hold these as handles only: what they know of a task, they ask the core. */
struct task;
struct thread_state;   /* one per OS thread (thread_state.h, the core's own) */
struct snapshot_parts; /* task.h */

/*
 * Enter a hook: the calling thread's state, with its root task registered.
 * NULL means "fall through to the real function": costack is disabled or not
 * active yet (no task was ever made), the hook was entered from costack's own
 * code, or the state could not be made. Every non-NULL return is paired
 * with core_leave(), which gives errno back the value it had here: whatever
 * costack does in between (a system call of a slow path, LTTng's) never
 * changes the program's errno, and a hook needs no errno code of its own.
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

/* Whether costack is active in this process: a task was made (or the API asked), and its
 * registry exists. */
bool core_active(void);

/* What an adapter may know of a task it holds. */
int core_task_runtime(const struct task *t);            /* enum costack_runtime */
int core_task_state(const struct task *t);              /* enum costack_state */
uint64_t core_task_switches(const struct task *t);      /* times switched in */
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
 * raise snapshot, with the exception. Returns that stack (NULL: none kept). */
const struct stack_rec *core_raise(struct thread_state *ts, const struct exception_info *info);

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

/* A task whose body ended (outcome as below), while its runtime keeps the
 * stack and may still switch into it to clean up (Boost.Coroutine2 keeps a
 * finished coroutine's context until the coroutine object dies), or, when it
 * is the running task, is about to switch away from it for the last time
 * (GNU Pth's pth_exit): it reads ended from now on, switches into and out of
 * it change nothing, and core_end_task releases its stack. */
void core_body_ended(struct task *t, int outcome);

/* The stack t was suspended with last, if its newest snapshot is one. */
const struct stack_rec *core_suspended_stack(const struct task *t);

/* The current task ended (outcome: COSTACK_DONE, _FAILED, _CANCELLED); next
 * (may be NULL) runs on this thread after it. */
void core_task_ended(struct thread_state *ts, int outcome, struct task *next);

/* --- what a runtime knows of its tasks (runtimes/knowledge/) ------------------------------ */

/* The runtimes' own word of a task, 0 when it is made: which runtime made it, what its adapter
 * learned of it. The core never reads it; it is not in the live layout. */
uint16_t core_task_knowledge(const struct task *t);
void core_task_set_knowledge(struct task *t, uint16_t knowledge);
/* Both words at a switch, in one call: prev's in the low half, next's (0 for NULL) above. */
uint32_t core_tasks_knowledge(const struct task *prev, const struct task *next);

/* A task's entry as its runtime knows it: the function the user gave the runtime (Pth's
 * pth_spawn), or an address in the user's function that the runtime's own start code called
 * (found on its stack). Observers are told (task_entry). */
uintptr_t core_task_entry(const struct task *t);
void core_task_set_entry(struct task *t, uintptr_t entry);

/* A task's name as its runtime knows it (a Pth thread's, a SimGrid actor's), as
 * costack_set_task_name() sets it. Observers are told (task_named). */
void core_task_set_name(struct task *t, const char *name);
bool core_task_has_name(const struct task *t);

/* The task whose stack holds addr, NULL if none. */
struct task *core_task_at(uintptr_t addr);

/* The type of the exception raised last in t (demangled); NULL when none was. */
const char *core_task_exception_type(const struct task *t);

/*
 * The memory [lo, hi) was unmapped: the tasks whose stacks lay there and are not running end,
 * as they do when a new task reuses their stack: one whose entry frame made its last switch (it
 * suspended from its entry function itself, or from a tail call of it: one frame, or none)
 * ended as its raises say (core_task_fate: done, or failed); one that waited anywhere else was
 * abandoned: cancelled. Any thread may call it, one costack does not know too.
 */
void core_stack_freed(uintptr_t lo, uintptr_t hi);

/* Whether sp, an address on the calling thread's stack, lies on the stack of a task costack
 * knows, or where it cannot tell (its running task's stack is unknown, a signal stack). */
bool core_on_known_stack(struct thread_state *ts, uintptr_t sp);

/* The thread of ts ran code on a stack costack knows of no task (a coroutine switched to by
 * code costack does not hook): its root task says so (COSTACK_LIVE_TASK_UNTRACKED_STACK). */
void core_untracked_stack(struct thread_state *ts);

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
	void (*task_created)(const struct task *t); /* locked */
	void (*task_named)(const struct task *t);   /* locked */
	void (*task_entry)(const struct task *t);   /* locked; its runtime told its entry */
	void (*task_ended)(const struct task *t);   /* locked; state: how */
	/* prev stopped running (suspension: its stack then; prev may have ended already) */
	void (*task_switched)(const struct task *prev, const struct task *next,
	                      const struct snapshot_parts *suspension);
	void (*task_resumed)(const struct task *t);
	void (*task_raised)(const struct task *t, const struct snapshot_parts *raise);
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
