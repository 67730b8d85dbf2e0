/* SPDX-License-Identifier: MIT */
/* thread_state.h - the core's state of one OS thread: its own, and the unit tests' (white-box). */
#ifndef COSTACK_THREAD_STATE_H
#define COSTACK_THREAD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "stackstore.h"
#include "task.h"
#include "unwind.h"

#define THREAD_CACHE_SIZE 64
/* The stacks tasks suspended with lately on this thread, by place (place_slot): 2 ways a set. */
#define PLACE_SETS 256
#define PLACE_WAYS 2

/* One per OS thread, reached through a single initial-exec TLS pointer. */
struct thread_state {
	struct task *current; /* the task running on this thread */
	struct task *root;    /* this thread's original stack */
	int32_t tid;
	int in_hook; /* recursion guard: a hook entered from our own code falls through */
	/* The program's errno when the hook was entered (core_enter), given back by core_leave;
	 * errno_at is this thread's errno, found once: no call into the C library per switch. */
	int saved_errno;
	int *errno_at;
	/* Set by core_switch: the hook's caller, where the outgoing task's frames begin; used
	 * once. */
	struct unwind_start caller;
	struct stack_arena arena;
	struct {
		uintptr_t key; /* the runtime's handle of a context (ucontext_t *) */
		struct task *task;
		uint64_t id;
	} cache[THREAD_CACHE_SIZE]; /* tasks of known stacks only */
	/* Interned stacks (never freed: a stale one is only a shape that does not hold). */
	const struct stack_rec *places[PLACE_SETS][PLACE_WAYS];
	uintptr_t scratch[]; /* capture buffer */
};

#endif
