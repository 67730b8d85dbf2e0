/* SPDX-License-Identifier: MIT */
/* live_target.c - tasks kept in known states while costack ps/stacks read them (test_live.py). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "targets.h"

/*
 * live_target states: main makes a task in every state, prints its own
 * view of them (costack_task_info, costack_get_stack with no limit and
 * with 2, costack_print_stack) as one JSON line, then "READY", and waits
 * for a line or the end of its standard input: the test reads it from
 * outside meanwhile and compares. The states:
 *   created    `fresh`, never run
 *   suspended  `sleeper`, in sleeper_entry -> sleeper_a -> sleeper_b -> task_yield;
 *              the helper thread's root task, in run_on_thread
 *   running    `runner`, on the helper thread, blocked in read() (it was
 *              suspended once before: from outside, a running task shows
 *              where it was last resumed); main itself
 *   done       `finisher`, its entry returned
 *   failed     `thrower`, whose C++ body threw and kept the exception
 *              (tests/targets/targets_cxx.cpp)
 *   cancelled  `victim`, whose stack was reused by `heir` (created; its
 *              name has a tab and a byte that is not UTF-8)
 *   and a Boost.Context fiber, suspended in fiber_wait (fcontext).
 *
 * live_target load: on a thread, tasks A and B switch to one another
 * directly, for ever: A suspends in a_entry -> a1 -> a2 -> a_leaf_odd
 * (when its switch count is odd) or a_leaf_even, B in b_entry -> b1 ->
 * b_leaf. "READY", then at a line or the end of input: "switches N
 * seconds S" and exit.
 *
 * live_target fork: main makes `parent_task` (suspended in parent_wait),
 * forks; the child makes `child_task` (suspended in child_wait) and prints
 * "child PID ID"; then the parent "parent PID ID" and "READY". Both wait
 * for the end of input; the parent reaps the child (status 0).
 *
 * No sleep anywhere: every wait is a read of a pipe.
 */

static ucontext_t main_ctx;

/* Wait for a line or the end of standard input. */
static void wait_for_input(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin) && ferror(stdin))
		perror("live_target: stdin");
}

/* --- states -------------------------------------------------------------- */

static struct task fresh, sleeper, finisher, thrower, victim, heir;
static struct runner runner;

STACK_FN void sleeper_b(struct task *t)
{
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void sleeper_a(struct task *t)
{
	sleeper_b(t);
	KEEP_FRAME();
}

STACK_FN void sleeper_entry(void)
{
	sleeper_a(&sleeper);
	KEEP_FRAME();
}

static int states(void)
{
	costack_task_t self = costack_current_task();
	costack_task_t fiber;

	make_task(&fresh, fresh_entry, NULL, &main_ctx);
	costack_set_task_name(fresh.id, "fresh \"q\" \\ \xc3\xa9");
	make_task(&sleeper, sleeper_entry, NULL, &main_ctx);
	costack_set_task_name(sleeper.id, "sleeper");
	run_task(&sleeper);
	make_task(&finisher, finisher_entry, NULL, &main_ctx);
	run_task(&finisher);
	make_task(&thrower, target_thrower_entry, NULL, &main_ctx);
	run_task(&thrower);
	make_victim_and_heir(&victim, &heir, &main_ctx); /* the victim is cancelled */
	costack_set_task_name(heir.id, "heir\t\xff");    /* a control character, not UTF-8 */
	fiber = target_fiber_start();
	runner_start(&runner);

	printf("{\"pid\":%d,\"tasks\":[", (int)getpid());
	json_task(stdout, "self", self);
	putchar(',');
	json_task(stdout, "fresh", fresh.id);
	putchar(',');
	json_task(stdout, "sleeper", sleeper.id);
	putchar(',');
	json_task(stdout, "finisher", finisher.id);
	putchar(',');
	json_task(stdout, "thrower", thrower.id);
	putchar(',');
	json_task(stdout, "victim", victim.id);
	putchar(',');
	json_task(stdout, "heir", heir.id);
	putchar(',');
	json_task(stdout, "runner", runner.task.id);
	putchar(',');
	json_task(stdout, "thread_root", runner.thread_root);
	putchar(',');
	json_task(stdout, "fiber", fiber);
	puts("]}\nREADY");
	fflush(stdout);

	wait_for_input();
	runner_finish(&runner);
	target_fiber_finish();
	return 0;
}

/* --- load ------------------------------------------------------------------ */

static ucontext_t a_ctx, b_ctx, load_home;
static volatile bool stop;
static uint64_t a_loops;

STACK_FN void a_leaf_odd(void)
{
	if (swapcontext(&a_ctx, &b_ctx) != 0)
		abort();
	KEEP_FRAME();
}

STACK_FN void a_leaf_even(void)
{
	if (swapcontext(&a_ctx, &b_ctx) != 0)
		abort();
	KEEP_FRAME();
}

STACK_FN void a2(void)
{
	/* The n-th time A runs (its switch count is n) it suspends in
	 * a_leaf_odd when n is odd: a consistent read shows the two agree. */
	if (++a_loops % 2)
		a_leaf_odd();
	else
		a_leaf_even();
	KEEP_FRAME();
}

STACK_FN void a1(void)
{
	while (!stop)
		a2();
	KEEP_FRAME();
}

STACK_FN void a_entry(void)
{
	a1();
	KEEP_FRAME();
}

STACK_FN void b_leaf(void)
{
	if (swapcontext(&b_ctx, &a_ctx) != 0)
		abort();
	KEEP_FRAME();
}

STACK_FN void b1(void)
{
	while (!stop)
		b_leaf();
	KEEP_FRAME();
}

STACK_FN void b_entry(void)
{
	b1();
	/* A saw stop first and returned to load_home; B is left suspended. */
	KEEP_FRAME();
}

static void make_raw(ucontext_t *ctx, void (*entry)(void), ucontext_t *link)
{
	char *stack = malloc(STACK_SIZE);

	if (!stack || getcontext(ctx))
		abort();
	ctx->uc_stack.ss_sp = stack;
	ctx->uc_stack.ss_size = STACK_SIZE;
	ctx->uc_link = link;
	makecontext(ctx, entry, 0);
}

STACK_FN void *pingpong_thread(void *arg)
{
	(void)arg;
	make_raw(&a_ctx, a_entry, &load_home);
	make_raw(&b_ctx, b_entry, &load_home);
	if (swapcontext(&load_home, &a_ctx) != 0)
		abort();
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(void)
{
	pthread_t thread;
	double start = now_s();

	if (pthread_create(&thread, NULL, pingpong_thread, NULL))
		abort();
	puts("READY");
	fflush(stdout);
	wait_for_input();
	stop = true;
	pthread_join(thread, NULL);
	/* A's loops count its switch-outs; B's as many: two switches a loop. */
	printf("switches %" PRIu64 " seconds %.3f\n", 2 * a_loops, now_s() - start);
	return 0;
}

/* --- fork ------------------------------------------------------------------ */

static struct task parent_task, child_task;

STACK_FN void parent_wait(struct task *t)
{
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void parent_entry(void)
{
	parent_wait(&parent_task);
	KEEP_FRAME();
}

STACK_FN void child_wait(struct task *t)
{
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void child_entry(void)
{
	child_wait(&child_task);
	KEEP_FRAME();
}

static int fork_mode(void)
{
	int ready[2];
	pid_t child;
	int status;

	if (pipe(ready))
		abort();
	make_task(&parent_task, parent_entry, NULL, &main_ctx);
	run_task(&parent_task);
	fflush(stdout);
	child = fork();
	if (child < 0)
		abort();
	if (!child) {
		make_task(&child_task, child_entry, NULL, &main_ctx);
		run_task(&child_task);
		printf("child %d %" PRIu64 "\n", (int)getpid(), child_task.id);
		fflush(stdout);
		write_byte(ready[1]);
		wait_for_input();
		_exit(0);
	}
	read_byte(ready[0]);
	printf("parent %d %" PRIu64 "\nREADY\n", (int)getpid(), parent_task.id);
	fflush(stdout);
	wait_for_input();
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!costack_available()) {
		fputs("live_target: run me under libcostack.so\n", stderr);
		return 2;
	}
	if (!strcmp(mode, "states"))
		return states();
	if (!strcmp(mode, "load"))
		return load();
	if (!strcmp(mode, "fork"))
		return fork_mode();
	fputs("usage: live_target states|load|fork\n", stderr);
	return 2;
}
