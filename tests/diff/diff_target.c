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
 * straggler  as base, and one more task, of entry straggler_main, waits in wait_for_reply from
 *            the first round and is never woken: it is still suspended when the program ends
 *            (a wait with no end yet, to be counted as open, never as a long wait);
 * burst, burstslow  as base, and each worker first waits BURST_WAITS times in wait_for_cache, a
 *            short wait: the scheduler spins 40us and resumes it at once, so that the site has
 *            3 x 4096 intervals, more than costack diff keeps a side (DIFF_SAMPLE_CAP). In
 *            burstslow the scheduler spins 200us for workers 1 to 3: the later three quarters
 *            of the intervals are slower, so that a sample of only the first 4096 would miss it.
 */

#define WORKERS 4
#define STACK_SIZE (64 * 1024)

#define BURST_WAITS 3072

enum variant { BASE, SLOW, NEWSITE, SWITCH, STRAGGLER, BURST, BURSTSLOW };

struct task {
	ucontext_t ctx;
	long wake_round;
	int site; /* where it waits: each site's code differs, so none is folded into another */
	bool done;
	bool short_wait; /* wait_for_cache: resumed once the scheduler has spun */
};

static ucontext_t scheduler;
static struct task tasks[WORKERS + 2]; /* the workers, the ticker, the straggler */
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

__attribute__((noinline)) static void wait_for_reply(void)
{
	WAIT_ROUNDS(1L << 40, 5); /* no reply comes */
}

__attribute__((noinline)) static void wait_for_cache(void)
{
	current->short_wait = true;
	WAIT_ROUNDS(0, 6);
}

__attribute__((noinline)) static void tick_wait(void)
{
	WAIT_ROUNDS(1, 4);
}

static void worker_main(void)
{
	for (int i = 0; (variant == BURST || variant == BURSTSLOW) && i < BURST_WAITS; i++)
		wait_for_cache();
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

static void straggler_main(void)
{
	wait_for_reply();
	current->done = true;
}

/* Busy for us microseconds (a short wait's length: a sleep would be the timer's slack). */
static void spin(long us)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while ((now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000 < us);
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
	static const char *const names[] = {"base",      "slow",  "newsite",  "switch",
	                                    "straggler", "burst", "burstslow"};
	static long period_ns = 2000000;
	static struct timespec next;
	static bool busy = true;
	static int v = -1, i, ntasks;

	for (i = 0; argc > 1 && i < 7; i++)
		if (!strcmp(argv[1], names[i]))
			v = i;
	if (v < 0 || (argc > 2 && (rounds = atoi(argv[2])) <= 0) ||
	    (argc > 3 && (period_ns = 1000L * atol(argv[3])) <= 0)) {
		fprintf(stderr,
		        "usage: diff_target base|slow|newsite|switch|straggler|burst|burstslow "
		        "[ROUNDS [PERIOD_US]]\n");
		return 2;
	}
	variant = (enum variant)v;
	ntasks = WORKERS + 1 + (variant == STRAGGLER);
	for (i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];

		getcontext(&t->ctx);
		t->ctx.uc_stack.ss_sp = malloc(STACK_SIZE);
		t->ctx.uc_stack.ss_size = STACK_SIZE;
		t->ctx.uc_link = &scheduler;
		if (!t->ctx.uc_stack.ss_sp)
			return 1;
		makecontext(&t->ctx,
		            i < WORKERS    ? worker_main
		            : i == WORKERS ? ticker_main
		                           : straggler_main,
		            0);
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (round_now = 0; busy; round_now++) {
		struct timespec now;

		busy = false;
		for (int k = 0; k < ntasks; k++) {
			struct task *t = &tasks[k];

			if (t->done)
				continue;
			busy |= k <= WORKERS; /* the straggler keeps nobody waiting */
			if (t->wake_round > round_now)
				continue;
			current = t;
			swapcontext(&scheduler, &t->ctx);
			while (t->short_wait && !t->done) {
				t->short_wait = false;
				spin(variant == BURSTSLOW && k > 0 ? 200 : 40);
				current = t;
				swapcontext(&scheduler, &t->ctx);
			}
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
	for (i = 0; i <= WORKERS; i++) /* not the straggler's: it is still suspended on it */
		free(tasks[i].ctx.uc_stack.ss_sp);
	printf("%s: %ld rounds\n", names[v], round_now);
	return 0;
}
