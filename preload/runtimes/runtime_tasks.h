/* SPDX-License-Identifier: MIT */
/* runtime_tasks.h - what the adapters do with the runtimes' knowledge: which runtime made a task,
 * the user's entry behind its start code, its name, its end. */
#ifndef COSTACK_RUNTIME_TASKS_H
#define COSTACK_RUNTIME_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

/* A task was made with this entry function (its runtime's start code, or the program's own):
 * which runtime made it, and so what is to be learned of it at its switches. */
void runtime_task_made(struct task *t, uintptr_t entry);

/* What a task's knowledge word (core_task_knowledge) still waits for at its switches: as the
 * switching task, its user's entry or its end (RUNTIME_AT_SWITCH_OUT); as the one switched
 * to, its name (RUNTIME_AT_SWITCH_IN). */
#define RUNTIME_AT_SWITCH_OUT 0x0030
#define RUNTIME_AT_SWITCH_IN 0x0040

void runtime_task_switched_slow(struct task *self, struct task *next, bool last);

/*
 * self switched away to next (core_switch returned; lingering tasks too). last: its adapter
 * knows this was self's last switch (Boost.Context's ontop_fcontext from the entry, a switch
 * tail-called by the entry). Here a task ends when its runtime's knowledge says its body ended,
 * learns the user's entry from its stack, and a SimGrid actor switched to gets its name; a
 * switch of tasks with nothing left to learn costs one call. Called inside the hook
 * (core_enter), whose core_leave gives errno back.
 */
static inline void runtime_task_switched(struct task *self, struct task *next, bool last)
{
	uint32_t knowledge = core_tasks_knowledge(self, next);

	if (__builtin_expect(last || (knowledge & RUNTIME_AT_SWITCH_OUT) ||
	                             ((knowledge >> 16) & RUNTIME_AT_SWITCH_IN),
	                     0))
		runtime_task_switched_slow(self, next, last);
}

/* An exception of this type (demangled) was raised in t, which had this stack then. */
void runtime_task_raised(struct task *t, const char *type, const struct stack_rec *stack);

/* The user's entry and name of t, as its runtime gave them (GNU Pth's pth_spawn): nothing is
 * to be learned of its entry any more. name may be NULL. */
void runtime_task_given(struct task *t, uintptr_t entry, const char *name);

/*
 * Enter a hook that is no switch (a raise, a Pth call): core_enter(), where the hook's code runs
 * at sp, on the calling thread's stack. On a stack costack knows of no task (a coroutine that
 * code costack does not hook switched to), the thread's root task says so and NULL is returned:
 * what runs there is no task's. Before costack is active, only the thread's own stack is known:
 * leaving it makes costack active, to say so.
 */
struct thread_state *runtime_enter_checked(uintptr_t sp);

#endif
