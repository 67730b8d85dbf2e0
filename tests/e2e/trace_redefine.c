/* SPDX-License-Identifier: MIT */
/*
 * trace_redefine.c - a stack is defined in the trace again now and then, so that a definition
 * lost with a full LTTng buffer is made good (preload/trace/trace.c, REDEFINE_EVERY).
 *
 * trace_redefine PROVIDER, run with LD_PRELOAD=libcostack.so COSTACK_TRACE=1
 * COSTACK_LTTNG_LIBRARY=PROVIDER (trace_counter.c): one task suspends at the same place
 * SWITCHES times; the provider counts how often its stack was defined.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#define SWITCHES 200000
#define REDEFINE_EVERY 65536 /* trace.c's */
#define STACK_SIZE (64 * 1024)

static ucontext_t main_ctx, task_ctx;
static int failed;

static void check(int ok, const char *what, unsigned long long value)
{
	printf("%s: %s (%llu)\n", ok ? "ok" : "FAILED", what, value);
	failed += !ok;
}

static __attribute__((noinline)) void wait_here(void)
{
	if (swapcontext(&task_ctx, &main_ctx))
		abort();
}

static void task_entry(void)
{
	for (;;)
		wait_here();
}

int main(int argc, char **argv)
{
	void *provider;
	uint64_t (*most)(void), (*switches)(void);

	if (argc != 2) {
		fputs("usage: trace_redefine PROVIDER\n", stderr);
		return 2;
	}
	if (getcontext(&task_ctx))
		abort();
	task_ctx.uc_stack.ss_sp = malloc(STACK_SIZE);
	task_ctx.uc_stack.ss_size = STACK_SIZE;
	task_ctx.uc_link = &main_ctx;
	makecontext(&task_ctx, task_entry, 0);
	for (int i = 0; i < SWITCHES; i++)
		if (swapcontext(&main_ctx, &task_ctx))
			abort();
	/* The preload loaded the provider (RTLD_LOCAL): the same object, found by its path. */
	provider = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
	most = provider ? (uint64_t(*)(void))dlsym(provider, "counter_most_definitions") : NULL;
	switches = provider ? (uint64_t(*)(void))dlsym(provider, "counter_switches") : NULL;
	check(provider && most && switches, "the preload loaded the counting provider", 0);
	if (failed)
		return 1;
	check(switches() >= 2 * (uint64_t)SWITCHES, "every switch was told", switches());
	/* 2 * SWITCHES stack events on this thread (the task's and main's): each stack defined
	 * once, then again every REDEFINE_EVERY events. */
	check(most() >= 2 * (uint64_t)SWITCHES / REDEFINE_EVERY,
	      "the task's stack is defined again now and then", most());
	check(most() <= 2 * (uint64_t)SWITCHES / REDEFINE_EVERY + 1, "and not at every switch",
	      most());
	printf("trace_redefine: %s\n", failed ? "failed" : "passed");
	return failed != 0;
}
