/* SPDX-License-Identifier: MIT */
/* live_target.h - live_target's C++ side: a task failed by an exception, a Boost.Context fiber. */
#ifndef COSTACK_LIVE_TARGET_H
#define COSTACK_LIVE_TARGET_H

#define COSTACK_OPTIONAL
#include <costack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A ucontext entry whose body throws std::runtime_error("boom at depth 0")
 * three calls deep, catches it and keeps it (std::current_exception), and
 * returns: the task ends failed. */
void live_thrower_entry(void);

/* Start a Boost.Context fiber that suspends in fiber_wait; its task id. */
costack_task_t live_fiber_start(void);
/* Let it finish. */
void live_fiber_finish(void);

#ifdef __cplusplus
}
#endif
#endif
