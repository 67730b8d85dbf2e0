/* SPDX-License-Identifier: MIT */
/* own_symbols.c - the process' own symbolizer and the one stack its lookups run on. */
#define _GNU_SOURCE
#include "own_symbols.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>
#include <ucontext.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif

#define OWN_STACK_SIZE ((size_t)4 << 20)

static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static struct symbolizer *symbolizer;
static void *stack_base;

/* Set under own_lock, for job_run, which takes no argument. */
static struct {
	void (*fn)(struct symbolizer *s, void *arg);
	void *arg;
} job;
static ucontext_t caller;

/* Made at the first call, on the big stack too: it reads /proc/self/maps and modules. */
static void job_run(void)
{
	if (!symbolizer)
		symbolizer = symbolizer_new_self();
	job.fn(symbolizer, job.arg);
}

void own_symbols_run(void (*fn)(struct symbolizer *s, void *arg), void *arg)
{
	static int (*real_getcontext)(ucontext_t *);
	static void (*real_makecontext)(ucontext_t *, void (*)(void), int, ...);
	static int (*real_swapcontext)(ucontext_t *, const ucontext_t *);
	ucontext_t context;

	pthread_mutex_lock(&own_lock);
	if (!real_swapcontext) {
		real_getcontext = dlsym(RTLD_NEXT, "getcontext");
		real_makecontext = dlsym(RTLD_NEXT, "makecontext");
		real_swapcontext = dlsym(RTLD_NEXT, "swapcontext");
	}
	if (!stack_base) {
		void *p = mmap(NULL, OWN_STACK_SIZE, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

		if (p != MAP_FAILED) {
			stack_base = p;
#ifdef HAVE_VALGRIND_H
			VALGRIND_STACK_REGISTER(p, (char *)p + OWN_STACK_SIZE);
#endif
		}
	}
	job.fn = fn;
	job.arg = arg;
	if (!stack_base || !real_getcontext || !real_makecontext || !real_swapcontext ||
	    real_getcontext(&context) != 0) {
		job_run();
		pthread_mutex_unlock(&own_lock);
		return;
	}
	context.uc_stack.ss_sp = stack_base;
	context.uc_stack.ss_size = OWN_STACK_SIZE;
	context.uc_link = &caller;
	real_makecontext(&context, job_run, 0);
	real_swapcontext(&caller, &context);
	pthread_mutex_unlock(&own_lock);
}

void own_symbols_after_fork(void)
{
	pthread_mutex_init(&own_lock, NULL);
}
