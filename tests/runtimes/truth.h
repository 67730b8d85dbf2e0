/* SPDX-License-Identifier: MIT */
/* truth.h - what the runtime test programs know of their tasks, written to a side channel with
 * costack's in-process view of each (test_runtimes.py compares). */
#ifndef COSTACK_TESTS_TRUTH_H
#define COSTACK_TESTS_TRUTH_H

#define COSTACK_OPTIONAL
#include <costack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A function whose frame a check expects by name: never inlined, cloned or folded. */
#define TRUTH_FN __attribute__((noinline, noipa, used))
/* After a call in tail position, so that -O2 keeps the caller's frame. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

/* One task as the program knows it. */
struct truth {
	const char *role;
	costack_task_t id; /* costack's id (0 without the preload) */
	const char *state; /* "created", "running", "suspended", "done", "failed", "cancelled" */
	const char *name;  /* the name its runtime gave it; NULL: none */
	const char *entry; /* the user's function it runs, as a symbolizer names it (without its
	                    * parameters) */
	const char *where; /* the program's own function it waits in (suspended); NULL: none */
};

/*
 * Append one phase to the file named by the environment's COSTACK_TRUTH (nothing when unset):
 * a JSON line {"phase", "time" (CLOCK_REALTIME, "<s>.<9 digits>"), "pid", "tasks": [{"role",
 * "id", "state", "name", "entry", "where", "api": {"state", "print_stack"}}]}, "api" being
 * costack's answer in the process (costack_task_state, costack_print_stack; null without the
 * preload). Then, unless the input is not a pipe or a terminal (a recorded or bare run), print
 * "READY <phase>" on stderr and wait for a line or the end of standard input.
 */
void truth_phase(const char *phase, const struct truth *tasks, int n);

/* The running task's id; 0 without the preload, or when no truth is written (COSTACK_TRUTH
 * unset: the program asks costack nothing). */
costack_task_t truth_self(void);

/* Print the number the program's next open() gets: costack keeps none of the low ones. */
void truth_next_descriptor(void);

#ifdef __cplusplus
}
#endif

#endif
