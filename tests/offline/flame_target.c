/* SPDX-License-Identifier: MIT */
/* flame_target.c - tasks that wait at two known places for known real time, for costack flame
 * and costack timeline (test_flame.py); what they measured written as JSON. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#define COSTACK_OPTIONAL
#include <costack.h>

/*
 * flame_target FILE ROUND_MS CYCLES: a ucontext scheduler in main runs WORKERS tasks in rounds;
 * each round it sleeps ROUND_MS of real time (clock_nanosleep: the thing measured, not a
 * synchronisation), then resumes every task whose wake-up round has come. Each worker, CYCLES
 * times, waits one round in wait_one_round() and three rounds in wait_three_rounds(), then
 * waits one more round in wait_before_raise() (not measured), throws and catches one
 * std::runtime_error (flame_target_cxx.cpp) and returns (done). Each wait is timed by the worker
 * itself around its swapcontext (CLOCK_MONOTONIC), and FILE gets one JSON object: when the rounds
 * began and ended (CLOCK_REALTIME, the trace's clock), the round, each
 * site's total measured wait and count, and each worker's id, name and resumes (times it was
 * switched in), and the main task's id.
 */

#define WORKERS 2
#define STACK_SIZE (256 * 1024)

struct worker {
	ucontext_t ctx;
	costack_task_t id;
	char name[24];
	long wake_round;
	long resumes;
	int done;
	char stack[STACK_SIZE];
};

static ucontext_t scheduler;
static struct worker workers[WORKERS];
static struct worker *current;
static long round_now, cycles;
static uint64_t one_ns, three_ns;
static long one_waits, three_waits;

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Suspend the current worker for rounds; the time it was away. A macro, so that the site's own
 * function is the innermost frame of the program where the worker waits. */
#define WAIT_ROUNDS(rounds)                                                                        \
	__extension__({                                                                            \
		uint64_t t0 = clock_ns(CLOCK_MONOTONIC);                                           \
		current->wake_round = round_now + (rounds);                                        \
		swapcontext(&current->ctx, &scheduler);                                            \
		clock_ns(CLOCK_MONOTONIC) - t0;                                                    \
	})

__attribute__((noinline)) void wait_one_round(void)
{
	one_ns += WAIT_ROUNDS(1);
	one_waits++;
	__asm__ volatile("" ::: "memory"); /* not a tail call: the frame stays on the stack */
}

__attribute__((noinline)) void wait_three_rounds(void)
{
	three_ns += WAIT_ROUNDS(3);
	three_waits++;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void wait_before_raise(void)
{
	(void)WAIT_ROUNDS(1);
	__asm__ volatile("" ::: "memory");
}

int flame_target_raise(int worker);

static void worker_entry(int index)
{
	struct worker *w = &workers[index];

	w->id = costack_current_task();
	costack_set_task_name(w->id, w->name);
	for (long i = 0; i < cycles; i++) {
		wait_one_round();
		wait_three_rounds();
	}
	/* The first throw of a process is slow (the unwinder's first steps): after a last wait
	 * that is not measured, so that it makes no measured wait longer. */
	wait_before_raise();
	flame_target_raise(index);
	w->done = 1;
}

int main(int argc, char **argv)
{
	FILE *out;
	long round_ms;
	volatile int alive = WORKERS; /* across swapcontext */
	uint64_t begin_ns, end_ns;
	struct timespec round;

	if (argc != 4 || (round_ms = atol(argv[2])) <= 0 || (cycles = atol(argv[3])) <= 0) {
		fputs("usage: flame_target FILE ROUND_MS CYCLES\n", stderr);
		return 2;
	}
	if (!costack_available()) {
		fputs("flame_target: run it under libcostack.so\n", stderr);
		return 2;
	}
	if (!(out = fopen(argv[1], "w"))) {
		perror(argv[1]);
		return 1;
	}
	round.tv_sec = round_ms / 1000;
	round.tv_nsec = (round_ms % 1000) * 1000000;
	for (int i = 0; i < WORKERS; i++) {
		struct worker *w = &workers[i];

		snprintf(w->name, sizeof(w->name), "worker%d", i);
		getcontext(&w->ctx);
		w->ctx.uc_stack.ss_sp = w->stack;
		w->ctx.uc_stack.ss_size = sizeof(w->stack);
		w->ctx.uc_link = &scheduler;
		makecontext(&w->ctx, (void (*)(void))worker_entry, 1, i);
	}
	/* Round 0 starts every worker; each later round first sleeps its real time. */
	begin_ns = clock_ns(CLOCK_REALTIME);
	for (round_now = 0; alive; round_now++) {
		if (round_now)
			while (clock_nanosleep(CLOCK_MONOTONIC, 0, &round, &round) == EINTR)
				;
		for (int i = 0; i < WORKERS; i++) {
			struct worker *w = &workers[i];

			if (w->done || w->wake_round > round_now)
				continue;
			current = w;
			w->resumes++;
			swapcontext(&scheduler, &w->ctx);
			alive -= w->done;
		}
	}
	end_ns = clock_ns(CLOCK_REALTIME);
	fprintf(out,
	        "{\"begin_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
	        ",\"round_ns\":%ld,\"cycles\":%ld,\"main\":%" PRIu64 ",\"sites\":{"
	        "\"wait_one_round\":{\"ns\":%" PRIu64 ",\"waits\":%ld},"
	        "\"wait_three_rounds\":{\"ns\":%" PRIu64 ",\"waits\":%ld}},\"workers\":[",
	        begin_ns, end_ns, round_ms * 1000000, cycles, (uint64_t)costack_current_task(),
	        one_ns, one_waits, three_ns, three_waits);
	for (int i = 0; i < WORKERS; i++)
		fprintf(out, "%s{\"id\":%" PRIu64 ",\"name\":\"%s\",\"resumes\":%ld}", i ? "," : "",
		        (uint64_t)workers[i].id, workers[i].name, workers[i].resumes);
	fputs("]}\n", out);
	return fclose(out) ? 1 : 0;
}
