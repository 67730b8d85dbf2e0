/* SPDX-License-Identifier: MIT */
/* costack.h - asyncio's Task.get_stack() for the coroutines of a native program. */
#ifndef COSTACK_H
#define COSTACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Using the API without requiring the preload
 * -------------------------------------------
 * Define COSTACK_OPTIONAL before including this header and link nothing:
 * every function is then a weak reference, NULL when libcostack.so is not
 * loaded. Test with costack_available() before calling:
 *
 *     #define COSTACK_OPTIONAL
 *     #include <costack.h>
 *     if (costack_available())
 *             costack_print_stack(costack_current_task(), 0, stderr);
 *
 * Linking with `pkg-config --libs costack` instead makes the preload a hard
 * dependency.
 */
#ifdef COSTACK_OPTIONAL
#define COSTACK_DECL __attribute__((weak))
#else
#define COSTACK_DECL
#endif

typedef uint64_t costack_task_t; /* 0: none */

enum costack_state {
	COSTACK_CREATED = 0,   /* made, never run */
	COSTACK_RUNNING = 1,   /* running on some thread now */
	COSTACK_SUSPENDED = 2, /* switched away from, can be resumed */
	COSTACK_DONE = 3,      /* its entry function returned */
	COSTACK_FAILED = 4,    /* ended by an exception */
	COSTACK_CANCELLED = 5, /* forced unwind, or its stack reused while suspended */
};

enum costack_runtime {
	COSTACK_RUNTIME_THREAD = 0,   /* an OS thread's original stack (root task) */
	COSTACK_RUNTIME_UCONTEXT = 1, /* glibc makecontext/swapcontext */
	COSTACK_RUNTIME_FCONTEXT = 2, /* Boost.Context make_fcontext/jump_fcontext */
};

#define COSTACK_NAME_MAX 64
#define COSTACK_EXCEPTION_TYPE_MAX 128
#define COSTACK_EXCEPTION_WHAT_MAX 256
#define COSTACK_MAX_FRAMES 512 /* the most frames a stack holds (COSTACK_DEPTH's maximum) */

struct costack_task_info {
	size_t size;             /* set by the caller to sizeof(struct costack_task_info) */
	costack_task_t id;
	costack_task_t parent;   /* the task that made it; 0 for a root task */
	int state;               /* enum costack_state */
	int runtime;             /* enum costack_runtime */
	const void *entry;       /* entry function (NULL for a root task) */
	const void *stack_lo;    /* stack range [stack_lo, stack_hi) */
	const void *stack_hi;
	int32_t thread;          /* kernel thread id that last ran it */
	uint64_t switches;       /* times it was switched in */
	uint64_t cpu_ns;         /* time spent running (wall clock while switched in) */
	uint64_t created_ns;     /* CLOCK_REALTIME, ns since the epoch */
	uint64_t state_since_ns; /* CLOCK_REALTIME when it entered its state */
	char name[COSTACK_NAME_MAX];
	/* Exceptions (C++ throws and rethrows, and raw _Unwind_RaiseException). */
	uint64_t raises;                 /* raises seen in this task */
	costack_task_t exception_origin; /* the task that first threw its latest exception:
	                                  * itself, or the one it was rethrown from; 0: none */
	char exception_type[COSTACK_EXCEPTION_TYPE_MAX]; /* latest exception, demangled; "" if none */
	char exception_what[COSTACK_EXCEPTION_WHAT_MAX]; /* its what(), for a std::exception */
};

COSTACK_DECL costack_task_t costack_current_task(void);
/* The task whose stack holds this address (0 if none). */
COSTACK_DECL costack_task_t costack_task_at(const void *stack_addr);
/* Ids of unfinished tasks (created, running, suspended), at most cap of them;
 * returns how many exist. */
COSTACK_DECL size_t costack_all_tasks(costack_task_t *ids, size_t cap);
/* enum costack_state, or -1 and errno = ESRCH for an unknown task. */
COSTACK_DECL int costack_task_state(costack_task_t task);
/* "created", "running", "suspended", "done", "failed", "cancelled"; "?" otherwise. */
COSTACK_DECL const char *costack_state_name(int state);
/*
 * asyncio's Task.get_stack(limit=size): return addresses, oldest frame first.
 * suspended: where it waits; created: its entry function alone; running: the
 * live stack when asked by itself, else where it was last resumed; done and
 * cancelled: none; failed: the traceback. A stack keeps its newest frames
 * when cut to size, a traceback its oldest. size <= 0 means no limit: frames
 * must then have room for COSTACK_MAX_FRAMES. Returns the number of frames
 * written, or -1 and errno = ESRCH for an unknown task.
 */
COSTACK_DECL int costack_get_stack(costack_task_t task, void **frames, int size);
/* asyncio's Task.print_stack(limit, file): for a failed task the traceback,
 * then "type: what" as Python's traceback ends. limit <= 0: all. 0 or -1 (ESRCH). */
COSTACK_DECL int costack_print_stack(costack_task_t task, int limit, FILE *out);
/* Name a task (truncated to COSTACK_NAME_MAX - 1 bytes). 0 or -1 (ESRCH). */
COSTACK_DECL int costack_set_task_name(costack_task_t task, const char *name);
/* Fill *info (info->size must be set). 0 or -1 (ESRCH, or EINVAL for a bad size). */
COSTACK_DECL int costack_task_info(costack_task_t task, struct costack_task_info *info);

#ifdef COSTACK_OPTIONAL
static inline int costack_available(void)
{
	return costack_get_stack != NULL;
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* COSTACK_H */
