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
 * Weak references are bound by the dynamic loader in a position-independent
 * executable (the default of Debian's gcc) or a shared library only: in a
 * static executable, or one built with -no-pie, the linker sets them to NULL
 * for good. There, define COSTACK_DLSYM instead and look the functions up at
 * run time (heaptrack's heaptrack_api.h does the same):
 *
 *     #define COSTACK_DLSYM
 *     #include <costack.h>
 *     struct costack_api api;
 *     if (costack_api_load(&api))
 *             api.print_stack(api.current_task(), 0, stderr);
 *
 * (Needs -ldl on glibc older than 2.34.) Linking with `pkg-config --libs
 * costack` instead makes the preload a hard dependency.
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
	size_t size; /* set by the caller to sizeof(struct costack_task_info) */
	costack_task_t id;
	costack_task_t parent; /* the task that made it; 0 for a root task */
	int state;             /* enum costack_state */
	int runtime;           /* enum costack_runtime */
	const void *entry;     /* entry function (NULL for a root task) */
	const void *stack_lo;  /* stack range [stack_lo, stack_hi) */
	const void *stack_hi;
	int32_t thread;    /* kernel thread id that last ran it */
	uint64_t switches; /* times it was switched in */
	/* Times, to the resolution of the clock COSTACK_CLOCK names (by default the kernel's
	 * tick: a moment up to a tick early, a run's time up to a tick off). */
	uint64_t cpu_ns;         /* time spent running (wall clock while switched in) */
	uint64_t created_ns;     /* CLOCK_REALTIME, ns since the epoch */
	uint64_t state_since_ns; /* CLOCK_REALTIME when it entered its state */
	char name[COSTACK_NAME_MAX];
	/* Exceptions (C++ throws and rethrows, and raw _Unwind_RaiseException). */
	uint64_t raises;                 /* raises seen in this task */
	costack_task_t exception_origin; /* the task that first threw its latest exception:
	                                  * itself, or the one it was rethrown from; 0: none */
	char exception_type[COSTACK_EXCEPTION_TYPE_MAX]; /* latest exception, demangled; "" if none
	                                                  */
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
 * asyncio's Task.get_stack(limit=limit): return addresses, oldest frame
 * first, into frames, which has room for capacity of them. suspended: where
 * it waits; created: its entry function alone; running: the live stack when
 * asked by itself, else where it was last resumed; done and cancelled: none;
 * failed: the traceback. limit <= 0: no limit. A stack cut to limit (or to
 * capacity) keeps its newest frames, a traceback its oldest. Returns the
 * number of frames written, or -1 and errno = ESRCH for an unknown task
 * (EAGAIN: its record was being changed all along, as when the caller is a
 * signal handler that interrupted costack).
 */
COSTACK_DECL int costack_get_stack(costack_task_t task, void **frames, size_t capacity, int limit);
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

#ifdef COSTACK_DLSYM
#include <dlfcn.h>

/* The API looked up at run time: every member NULL when libcostack.so is not loaded. */
struct costack_api {
	costack_task_t (*current_task)(void);
	costack_task_t (*task_at)(const void *);
	size_t (*all_tasks)(costack_task_t *, size_t);
	int (*task_state)(costack_task_t);
	const char *(*state_name)(int);
	int (*get_stack)(costack_task_t, void **, size_t, int);
	int (*print_stack)(costack_task_t, int, FILE *);
	int (*set_task_name)(costack_task_t, const char *);
	int (*task_info)(costack_task_t, struct costack_task_info *);
};

/* Fill api from the costack loaded in the process; nonzero when there is one. */
static inline int costack_api_load(struct costack_api *api)
{
#define COSTACK_API_LOOKUP(member, name) *(void **)&api->member = dlsym(RTLD_DEFAULT, name)
	COSTACK_API_LOOKUP(current_task, "costack_current_task");
	COSTACK_API_LOOKUP(task_at, "costack_task_at");
	COSTACK_API_LOOKUP(all_tasks, "costack_all_tasks");
	COSTACK_API_LOOKUP(task_state, "costack_task_state");
	COSTACK_API_LOOKUP(state_name, "costack_state_name");
	COSTACK_API_LOOKUP(get_stack, "costack_get_stack");
	COSTACK_API_LOOKUP(print_stack, "costack_print_stack");
	COSTACK_API_LOOKUP(set_task_name, "costack_set_task_name");
	COSTACK_API_LOOKUP(task_info, "costack_task_info");
#undef COSTACK_API_LOOKUP
	return api->current_task && api->get_stack && api->print_stack && api->task_info;
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* COSTACK_H */
