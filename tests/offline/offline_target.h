/* SPDX-License-Identifier: MIT */
/* offline_target.h - offline_target's C++ side: exceptions kept, a Boost.Context fiber. */
#ifndef COSTACK_OFFLINE_TARGET_H
#define COSTACK_OFFLINE_TARGET_H

#define COSTACK_OPTIONAL
#include <costack.h>

/* Functions whose frames the tests look for: visible to the symbolizer, never inlined. */
#define STACK_FN __attribute__((noinline, noipa, used, visibility("default")))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

#ifdef __cplusplus
extern "C" {
#endif

/* A ucontext entry: throws std::runtime_error("boom at depth 0") three calls
 * deep in offline_target::throw_deep(int), catches and keeps it
 * (std::current_exception), returns: the task ends failed. */
void offline_thrower_entry(void);
/* The same from inside a task's body: it ends failed when its entry returns. */
void offline_throw_and_keep(void);

/* Start a Boost.Context fiber that suspends in fiber_wait; its task id. */
costack_task_t offline_fiber_start(void);
/* Let it finish. */
void offline_fiber_finish(void);

#ifdef __cplusplus
}
#endif
#endif
