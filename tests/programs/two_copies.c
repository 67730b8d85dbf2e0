/* SPDX-License-Identifier: MIT */
/* two_copies.c - with two copies of libcostack.so loaded, one keeps the tasks, the other stands
 * down. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

/*
 * Usage: two_copies SECOND, run with LD_PRELOAD=FIRST:SECOND (two copies of libcostack.so).
 * The program's calls reach FIRST; a call that reaches SECOND's hooks anyway (an older FIRST
 * passing its calls on with RTLD_NEXT, or a program that looks them up in SECOND, as here)
 * must be a plain call: no task made, no trampoline, no registry of its own.
 */

#define STACK_SIZE (64 * 1024)

static ucontext_t main_context, task_context;
static int task_ran;

static void task_entry(void)
{
	task_ran++;
	swapcontext(&task_context, &main_context);
	task_ran++;
}

typedef void (*make_fn)(ucontext_t *, void (*)(void), int, ...);
typedef int (*swap_fn)(ucontext_t *, const ucontext_t *);

/* A task on stack made with make and run to its end with swap; true when it ran through. */
static bool run_through(make_fn make, swap_fn swap, char *stack)
{
	task_ran = 0;
	getcontext(&task_context);
	task_context.uc_stack.ss_sp = stack;
	task_context.uc_stack.ss_size = STACK_SIZE;
	task_context.uc_link = &main_context;
	make(&task_context, task_entry, 0);
	swap(&main_context, &task_context); /* it suspends */
	swap(&main_context, &task_context); /* it ends */
	return task_ran == 2;
}

/* The live registries of this process: memfds named costack-live. */
static int registries(void)
{
	char link[PATH_MAX], path[300];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && (e = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0 && (link[len] = '\0', strstr(link, "memfd:costack-live")))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	make_fn second_makecontext;
	swap_fn second_swapcontext;
	char *stack;
	void *second;
	size_t before;

	if (!check_init("two_copies", argc, argv) || argc < 2)
		return check_finish();
	second = dlopen(argv[1], RTLD_LAZY | RTLD_NOLOAD);
	if (!check(second != NULL, "%s is loaded", argv[1]))
		return check_finish();
	second_makecontext = (make_fn)dlsym(second, "makecontext");
	second_swapcontext = (swap_fn)dlsym(second, "swapcontext");

	/* A task through the first copy, as the program's calls go. */
	stack = coroutine_stack_new(STACK_SIZE);
	check(run_through(makecontext, swapcontext, stack),
	      "a task made through the first copy ran to its end");
	before = costack_all_tasks(NULL, 0);

	/* The same through the second copy's hooks: plain calls. */
	check(second_makecontext && second_swapcontext &&
	              run_through(second_makecontext, second_swapcontext, stack),
	      "a task made through the second copy ran to its end");
	check(costack_all_tasks(NULL, 0) == before,
	      "the second copy made no task the first sees (%zu unfinished, %zu before)",
	      costack_all_tasks(NULL, 0), before);
	check(registries() == 1, "one live registry in the process (%d)", registries());
	coroutine_stack_free(stack);
	return check_finish();
}
