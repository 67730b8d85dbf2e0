/* SPDX-License-Identifier: MIT */
/* record_target.c - what tests/lttng records: known tasks and switches, then a way to end. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/*
 * record_target MODE [ARG]
 *
 *   passthrough END  copy stdin to stdout, write "fd 3\n" to fd 3 (if open) and
 *                    "stderr\n" to stderr, switch tasks, then END: an exit
 *                    status, or "signal" (raise SIGUSR1, which kills it).
 *   block HOW        make TASKS tasks and switch SWITCHES times, print
 *                    "READY pid=P tasks=T switches=S" and wait for SIGINT.
 *                    HOW "handler": its handler lets main print "interrupted"
 *                    and exit 5; "default": SIGINT kills it.
 *   maps             one task switched, then "READY pid=P", then wait for a
 *                    line on stdin and exit 0 (the test reads /proc/P/maps).
 *   fork             tasks and switches in the parent, a fork child that makes
 *                    tasks and switches of its own (its pid printed as
 *                    "child pid=C"), then the parent's again; exit 0.
 *
 * Every task is a coroutine that yields back to main at yield_point(), which
 * is called from two places, so that its stacks differ; tasks end (return)
 * before the program does, but when SIGINT kills it.
 */

#define STACK_SIZE (64 * 1024)
#define MAX_TASKS 8
#define TASKS 5
#define SWITCHES 40

struct task {
	ucontext_t context;
	char *stack;
	int yields;
};

static ucontext_t main_context;
static struct task tasks[MAX_TASKS];
static struct task *running;
static int ntasks;
static long switches; /* swapcontext calls, main's and the tasks' */
static volatile sig_atomic_t got_sigint;
static int stopping; /* the tasks return instead of yielding again */

__attribute__((noinline)) static void yield_point(void)
{
	switches++;
	swapcontext(&running->context, &main_context);
	__asm__ volatile(""); /* not a tail call: the frame stays */
}

__attribute__((noinline)) static void wait_here(void)
{
	yield_point();
	__asm__ volatile("");
}

__attribute__((noinline)) static void wait_there(void)
{
	yield_point();
	__asm__ volatile("");
}

static void task_entry(void)
{
	while (!stopping) {
		if (running->yields++ % 2)
			wait_here();
		else
			wait_there();
	}
}

static void make_task(void)
{
	struct task *t = &tasks[ntasks++];

	t->stack = malloc(STACK_SIZE);
	if (!t->stack || getcontext(&t->context) != 0)
		abort();
	t->context.uc_stack.ss_sp = t->stack;
	t->context.uc_stack.ss_size = STACK_SIZE;
	t->context.uc_link = &main_context;
	makecontext(&t->context, task_entry, 0);
}

/* Resume the tasks round robin until n switches more have been made. */
static void run_tasks(long n)
{
	long until = switches + n;

	for (int i = 0; switches < until; i = (i + 1) % ntasks) {
		running = &tasks[i];
		switches++;
		swapcontext(&main_context, &running->context);
	}
}

/* Let every task return (a task_end each): one switch into each. */
static void finish_tasks(void)
{
	stopping = 1;
	for (int i = 0; i < ntasks; i++) {
		running = &tasks[i];
		switches++;
		swapcontext(&main_context, &running->context);
	}
	ntasks = 0;
}

static void make_and_run(int count, long n)
{
	for (int i = 0; i < count && ntasks < MAX_TASKS; i++)
		make_task();
	run_tasks(n);
}

static int passthrough(const char *end)
{
	char buf[4096];
	ssize_t n;

	make_and_run(2, 10);
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) != n)
			return 100;
	}
	if (write(3, "fd 3\n", 5) < 0 && errno != EBADF)
		return 101;
	fputs("stderr\n", stderr);
	run_tasks(10);
	finish_tasks();
	if (!strcmp(end, "signal")) {
		raise(SIGUSR1);
		return 102;
	}
	return atoi(end);
}

static void on_sigint(int sig)
{
	(void)sig;
	got_sigint = 1;
}

static int block(const char *how)
{
	sigset_t none;

	if (!strcmp(how, "handler")) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL);
	} else {
		signal(SIGINT, SIG_DFL);
	}
	make_and_run(TASKS, SWITCHES);
	printf("READY pid=%d tasks=%d switches=%ld\n", (int)getpid(), ntasks, switches);
	fflush(stdout);
	sigemptyset(&none);
	while (!got_sigint)
		sigsuspend(&none);
	finish_tasks();
	printf("interrupted\n");
	return 5;
}

static int maps(void)
{
	char line[64];

	make_and_run(1, 2);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	return 0;
}

static int fork_mode(void)
{
	pid_t child;
	int status;

	make_and_run(2, 6);
	fflush(stdout);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		/* The tasks made before the fork go on in the child, and a new one. */
		make_and_run(1, 9);
		finish_tasks();
		return 0;
	}
	printf("child pid=%d\n", (int)child);
	fflush(stdout);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 1;
	run_tasks(4);
	finish_tasks();
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "passthrough") && argc > 2)
		return passthrough(argv[2]);
	if (!strcmp(mode, "block") && argc > 2)
		return block(argv[2]);
	if (!strcmp(mode, "maps"))
		return maps();
	if (!strcmp(mode, "fork"))
		return fork_mode();
	fprintf(stderr, "usage: record_target passthrough END | block handler|default | maps | "
	                "fork\n");
	return 2;
}
