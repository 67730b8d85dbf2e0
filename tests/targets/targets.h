/* SPDX-License-Identifier: MIT */
/* targets.h - what the test programs read from outside (tests/live) and recorded (tests/offline)
 * share: ucontext tasks, pipes to wait on, the API's view of a task as JSON, and C++ tasks
 * (an exception kept, a Boost.Context fiber). */
#ifndef COSTACK_TEST_TARGETS_H
#define COSTACK_TEST_TARGETS_H

#include <pthread.h>
#include <stdio.h>
#include <ucontext.h>

#define COSTACK_OPTIONAL
#include <costack.h>

/* Functions whose frames the tests look for: visible to the symbolizer, never inlined. */
#define STACK_FN __attribute__((noinline, noipa, used, visibility("default")))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

#define STACK_SIZE (256 * 1024)
#define FRAMES_MAX 512

#ifdef __cplusplus
extern "C" {
#endif

struct task {
	ucontext_t ctx;
	char *stack;
	costack_task_t id;
	ucontext_t *home; /* where task_yield returns to */
};

/* A task running entry on stack (NULL: a new one), returning to home; its id when costack is
 * there. */
void make_task(struct task *t, void (*entry)(void), char *stack, ucontext_t *home);
/* Inside t: back to its home. */
void task_yield(struct task *t);
/* From t's home: run t until it yields or ends. */
void run_task(struct task *t);

/* Entries of tasks the programs keep created (fresh) or let finish (finisher). */
void fresh_entry(void);
void finisher_entry(void);
/* victim runs once and suspends; heir is then made on its stack: the victim is cancelled. */
void make_victim_and_heir(struct task *victim, struct task *heir, ucontext_t *home);

/* One byte through a pipe, EINTR retried: how the programs wait (no sleep). */
void read_byte(int fd);
void write_byte(int fd);

/* s as a JSON string (NULL: null). */
void json_string(FILE *out, const char *s);
/* The API's view of task id, as a JSON object {"role", "id", "state", "runtime", "thread",
 * "name", "since_ns", "switches", "exception_type", "exception_what", "frames" (get_stack,
 * no limit), "frames_limit2" (limit 2), "print_stack"}; aborts when the API does not know
 * the task. */
void json_task(FILE *out, const char *role, costack_task_t id);

/* A task running on a helper thread, blocked in read() there; it suspended once before (in
 * runner_wait): from outside, a running task shows where it was last resumed. */
struct runner {
	struct task task;
	costack_task_t thread_root; /* the helper thread's root task */
};
/* Start it; returns once the task blocks. */
void runner_start(struct runner *r);
/* Release it and join the thread (the task done, then the thread's root). */
void runner_finish(struct runner *r);

/* C++ (targets_cxx.cpp). A ucontext entry: throws std::runtime_error("boom at depth 0") three
 * calls deep in target::throw_deep(int), catches and keeps it (std::current_exception), then
 * raises and catches another; returns: the task ends failed of the first. */
void target_thrower_entry(void);
/* The same from inside a task's body: it ends failed when its entry returns. */
void target_throw_and_keep(void);
/* Start a Boost.Context fiber that suspends in target::fiber_wait; its task id. Let it finish. */
costack_task_t target_fiber_start(void);
void target_fiber_finish(void);

#ifdef __cplusplus
}
#endif
#endif
