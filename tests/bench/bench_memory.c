/* SPDX-License-Identifier: MIT */
/* bench_memory.c - costack's memory per suspended task, 100 000 tasks alive: the same run with and without the preload. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define STACK_SIZE (16 * 1024)
#define DEPTH 8

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

/* Make n tasks, run each until it suspends; print the RSS growth in KiB. */
static int child(long n)
{
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
	return 0;
}

static long run_child(const char *self, long n, const char *preload)
{
	char arg[32], out[64] = "";
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
		execl(self, self, "--child", arg, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	len = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (len <= 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return atol(out);
}

int main(int argc, char **argv)
{
	long n = 100000, with, without;
	const char *preload = getenv("LD_PRELOAD");

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(atol(argv[2]));
	if (argc > 1)
		n = atol(argv[1]);
	if (!preload || !strstr(preload, "libcostack")) {
		fprintf(stderr, "bench_memory: run it under libcostack.so\n");
		return 2;
	}
	with = run_child("/proc/self/exe", n, preload);
	without = run_child("/proc/self/exe", n, NULL);
	if (with < 0 || without < 0) {
		fprintf(stderr, "bench_memory: a child run failed\n");
		return 1;
	}
	printf("%ld tasks suspended %d frames deep (all at one place: one distinct stack)\n", n,
	       DEPTH + 2);
	printf("RSS growth: %ld KiB with costack, %ld KiB without\n", with, without);
	printf("costack per task: %.0f bytes (target <= 1024)\n",
	       (double)(with - without) * 1024.0 / (double)n);
	return 0;
}
