/* SPDX-License-Identifier: MIT */
/* diff_target.c - tasks waiting known times at known sites, in variants, for costack diff's test.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

/*
 * diff_target VARIANT [ROUNDS [PERIOD_US]]: a ucontext scheduler runs WORKERS tasks of entry
 * worker_main and one of entry ticker_main in rounds of PERIOD_US (default 2000), each due
 * PERIOD_US after the one before was due (neither the time a round runs nor a wake-up late by
 * the same time each round lengthens a wait), a round more than a round late restarting the
 * count (no rounds back to back to catch up). Each wait function sets the round its task wakes in
 * and switches to the scheduler itself, so that it is the innermost frame of the suspension stack:
 * a wait site of its own. Every worker does ROUNDS (default 20) times: wait_for_io (1 round),
 * wait_for_lock (1 round); the ticker waits 1 round in tick_wait, 2 ROUNDS times. Variants: base as
 * above; slow     wait_for_lock waits 2 rounds: twice as long; newsite  every 5th time, a worker
 * also waits 1 round in wait_for_disk: a new site; switch   each worker waits once more in
 * wait_for_io at its end: one switch more per task. The scheduler sleeps between rounds: that sleep
 * is what the waits measure.
 */

#define WORKERS 4
#define STACK_SIZE (64 * 1024)

enum variant { BASE, SLOW, NEWSITE, SWITCH };

struct task {
	ucontext_t ctx;
	long wake_round;
	int site; /* where it waits: each site's code differs, so none is folded into another */
	bool done;
};

static ucontext_t scheduler;
static struct task tasks[WORKERS + 1];
static struct task *current;
static long round_now;
static enum variant variant;
static int rounds = 20;

/* Suspend the current task for n rounds. Each site below switches itself (not through a
 * common helper), so that the site is the innermost frame of the program's own. */
#define WAIT_ROUNDS(n, where)                                                                      \
	do {                                                                                       \
		current->wake_round = round_now + (n);                                             \
		current->site = (where);                                                           \
		swapcontext(&current->ctx, &scheduler);                                            \
		__asm__ volatile("" ::: "memory"); /* no tail call: the site keeps its frame */    \
	} while (0)

__attribute__((noinline)) static void wait_for_io(void)
{
	WAIT_ROUNDS(1, 1);
}

__attribute__((noinline)) static void wait_for_lock(void)
{
	WAIT_ROUNDS(variant == SLOW ? 2 : 1, 2);
}

__attribute__((noinline)) static void wait_for_disk(void)
{
	WAIT_ROUNDS(1, 3);
}

__attribute__((noinline)) static void tick_wait(void)
{
	WAIT_ROUNDS(1, 4);
}

static void worker_main(void)
{
	for (int i = 0; i < rounds; i++) {
		wait_for_io();
		wait_for_lock();
		if (variant == NEWSITE && i % 5 == 0)
			wait_for_disk();
	}
	if (variant == SWITCH)
		wait_for_io();
	current->done = true;
}

static void ticker_main(void)
{
	for (int i = 0; i < 2 * rounds; i++)
		tick_wait();
	current->done = true;
}

int main(int argc, char **argv)
{
	/* static: main calls getcontext, which returns twice */
	static const char *const names[] = {"base", "slow", "newsite", "switch"};
	static long period_ns = 2000000;
	static struct timespec next;
	static bool busy = true;
	static int v = -1, i;

	for (i = 0; argc > 1 && i < 4; i++)
		if (!strcmp(argv[1], names[i]))
			v = i;
	if (v < 0 || (argc > 2 && (rounds = atoi(argv[2])) <= 0) ||
	    (argc > 3 && (period_ns = 1000L * atol(argv[3])) <= 0)) {
		fprintf(stderr,
		        "usage: diff_target base|slow|newsite|switch [ROUNDS [PERIOD_US]]\n");
		return 2;
	}
	variant = (enum variant)v;
	for (i = 0; i <= WORKERS; i++) {
		struct task *t = &tasks[i];

		getcontext(&t->ctx);
		t->ctx.uc_stack.ss_sp = malloc(STACK_SIZE);
		t->ctx.uc_stack.ss_size = STACK_SIZE;
		t->ctx.uc_link = &scheduler;
		if (!t->ctx.uc_stack.ss_sp)
			return 1;
		makecontext(&t->ctx, i < WORKERS ? worker_main : ticker_main, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (round_now = 0; busy; round_now++) {
		struct timespec now;

		busy = false;
		for (int k = 0; k <= WORKERS; k++) {
			struct task *t = &tasks[k];

			if (t->done)
				continue;
			busy = true;
			if (t->wake_round > round_now)
				continue;
			current = t;
			swapcontext(&scheduler, &t->ctx);
		}
		/* The next round is due PERIOD after this one was: a wake-up late by the same
		 * time each round (a busy machine) leaves every wait a round long. Only a round
		 * that came more than a round late starts the count afresh, rather than running
		 * the next ones back to back to catch up. */
		next.tv_nsec += period_ns;
		next.tv_sec += next.tv_nsec / 1000000000;
		next.tv_nsec %= 1000000000;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) {
			next = now;
			next.tv_nsec += period_ns;
			next.tv_sec += next.tv_nsec / 1000000000;
			next.tv_nsec %= 1000000000;
		}
		while (busy && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL))
			;
	}
	for (i = 0; i <= WORKERS; i++)
		free(tasks[i].ctx.uc_stack.ss_sp);
	printf("%s: %ld rounds\n", names[v], round_now);
	return 0;
}
