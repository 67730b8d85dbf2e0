/* SPDX-License-Identifier: MIT */
/* runtime_tasks.h - what the adapters do with the runtimes' knowledge: which runtime made a task, the user's entry behind its start code, its name, its end. */
#ifndef COSTACK_RUNTIME_TASKS_H
#define COSTACK_RUNTIME_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

/* A task was made with this entry function (its runtime's start code, or the program's own):
 * which runtime made it, and so what is to be learned of it at its switches. */
void runtime_task_made(struct task *t, uintptr_t entry);

/*
 * self switched away to next (core_switch captured frames of it; lingering tasks too).
 * last: its adapter knows this was self's last switch (Boost.Context's ontop_fcontext from the
 * entry, a switch tail-called by the entry). Here a task ends when its runtime's knowledge says
 * its body ended, learns the user's entry from its stack, and a SimGrid actor switched to gets
 * its name. Called inside the hook (core_enter), errno saved by the caller.
 */
void runtime_task_switched(struct task *self, struct task *next, int frames, bool last);

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
