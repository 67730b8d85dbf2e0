/* SPDX-License-Identifier: MIT */
/* bench_memory.c - costack's memory per suspended task, 100 000 tasks alive: the same run with and
 * without the preload. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench.h"

#define STACK_SIZE (16 * 1024)
#define DEPTH 8
#define TARGET_BYTES 256

static ucontext_t main_ctx;
static ucontext_t *contexts;
static volatile int sink;

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

__attribute__((noinline)) static void descend(int depth, ucontext_t *self)
{
	if (depth > 0) {
		descend(depth - 1, self);
		sink++;
		return;
	}
	swapcontext(self, &main_ctx); /* suspended here, for good */
}

static void task_entry(int i)
{
	descend(DEPTH, &contexts[i]);
}

/* Make n tasks, run each until it suspends; print the RSS growth in KiB, and under costack how
 * many tasks it knows unfinished and the frames of the last one's stack. */
static int child(long n)
{
	struct costack_api api;
	void *frames[COSTACK_MAX_FRAMES];
	char *stacks = mmap(NULL, (size_t)n * STACK_SIZE, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long before;

	contexts = calloc((size_t)n, sizeof(*contexts));
	if (stacks == MAP_FAILED || !contexts)
		return 2;
	before = rss_kib();
	for (long i = 0; i < n; i++) {
		getcontext(&contexts[i]);
		contexts[i].uc_stack.ss_sp = stacks + i * STACK_SIZE;
		contexts[i].uc_stack.ss_size = STACK_SIZE;
		contexts[i].uc_link = &main_ctx;
		makecontext(&contexts[i], (void (*)(void))task_entry, 1, (int)i);
		swapcontext(&main_ctx, &contexts[i]);
	}
	printf("%ld\n", rss_kib() - before);
	if (costack_api_load(&api))
		printf("%zu %d\n", api.all_tasks(NULL, 0),
		       api.get_stack(api.task_at(stacks + (n - 1) * STACK_SIZE + STACK_SIZE / 2),
		                     frames, COSTACK_MAX_FRAMES, 0));
	return 0;
}

/* The RSS growth of a child run (-1: it failed); under costack, *tasks and *frames: what it
 * saw (the tasks unfinished, the frames of the last task's stack). */
static long run_child(const char *self, long n, const char *preload, const char *ring, long *tasks,
                      long *frames)
{
	char arg[32], out[128] = "";
	int pipefd[2], status;
	ssize_t len;
	pid_t pid;

	snprintf(arg, sizeof(arg), "%ld", n);
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		if (ring)
			setenv("COSTACK_RING", ring, 1);
		execl(self, self, "--child", arg, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	len = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (len <= 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	*tasks = *frames = 0;
	sscanf(out, "%*s %ld %ld", tasks, frames);
	return atol(out);
}

int main(int argc, char **argv)
{
	static const char *const rings[] = {"1", "4", "8", "16", "64"};
	long n = 100000, with, without, tasks, frames;
	const char *preload = getenv("LD_PRELOAD");
	double bytes[sizeof(rings) / sizeof(*rings)];
	bool failed = false;

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(atol(argv[2]));
	if (argc > 1)
		n = atol(argv[1]);
	if (!preload || !strstr(preload, "libcostack")) {
		fprintf(stderr, "bench_memory: run it under libcostack.so\n");
		return 2;
	}
	unsetenv("COSTACK_RING");
	without = run_child("/proc/self/exe", n, NULL, NULL, &tasks, &frames);
	if (without < 0) {
		fprintf(stderr, "bench_memory: a child run failed\n");
		return 1;
	}
	printf("%ld tasks suspended %d frames deep (all at one place: one distinct stack)\n", n,
	       DEPTH + 2);
	printf("%-13s %14s %14s\n", "COSTACK_RING", "RSS growth", "per task");
	printf("%-13s %11ld KiB\n", "(no costack)", without);
	for (size_t i = 0; i < sizeof(rings) / sizeof(*rings); i++) {
		with = run_child("/proc/self/exe", n, preload, rings[i], &tasks, &frames);
		/* Every task known, suspended where it is: the figure is of what costack keeps. */
		if (with < 0 || tasks < n || frames < DEPTH) {
			printf("%-13s no figure: costack knew %ld tasks of %ld, and %ld frames of "
			       "the "
			       "last one's %d\n",
			       rings[i], tasks, n, frames, DEPTH + 2);
			failed = true;
			continue;
		}
		bytes[i] = (double)(with - without) * 1024.0 / (double)n;
		printf("%-13s %11ld KiB %10.0f bytes%s\n", rings[i], with, bytes[i],
		       strcmp(rings[i], "8") ? "" : "  (the default)");
		if (!strcmp(rings[i], "8") && bytes[i] > TARGET_BYTES) {
			printf("FAILED: %.0f bytes per task with the default ring, over the target "
			       "%d\n",
			       bytes[i], TARGET_BYTES);
			failed = true;
		}
	}
	if (!failed)
		printf("target: <= %d bytes per task with the default ring; every task known, its "
		       "stack captured\n",
		       TARGET_BYTES);
	return failed ? 1 : 0;
}
