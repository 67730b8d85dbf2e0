/* SPDX-License-Identifier: MIT */
/* offline_target.c - tasks in every state, recorded; their own view written for test_offline.py. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "targets.h"

/*
 * offline_target states FILE: main makes a task in every state, then, at a
 * quiet moment (no event for QUIET_MS before and after), writes to FILE one
 * JSON line: the CLOCK_REALTIME of that moment and, for every task, what
 * the API says of it (costack_task_info, costack_get_stack with no limit
 * and with 2). Then it changes every state it can, and writes a second line
 * the same way just before it exits: the trace's end must agree with it.
 *   created    `fresh`, never run (then: run, done)
 *   suspended  `deep`, in deep_entry -> deep_a -> deep_b -> task_yield (then: done);
 *              `shallow`, in shallow_entry -> task_yield (then: failed by a C++
 *              exception); the helper thread's root task, in run_on_thread
 *              (then: done, at the thread's exit); a Boost.Context fiber in
 *              fiber_wait (then: done)
 *   running    `runner`, on the helper thread, blocked in read() after it was
 *              suspended once (then: done); main itself
 *   done       `finisher`
 *   failed     `thrower`, whose C++ body threw three calls deep and kept the
 *              exception, then threw and caught another (tests/targets/targets_cxx.cpp):
 *              its traceback is the kept raise's, not the newest one's
 *   cancelled  `victim`, whose stack was reused by `heir` (created; then: done)
 *
 * offline_target flood FILE ROUNDS: eight tasks switched round-robin from
 * main ROUNDS times, as fast as can be (a trace with small buffers loses
 * events); during it task 7 ends done, task 6 failed; then tasks 3-5 wait
 * in flood_final while 0-2 go on ROUNDS times more (so that events are
 * lost after the last switch of 3-5). Then, at a quiet moment, a line of
 * their states as above; then tasks 0-2 run once more, waiting in
 * flood_final again; then a last line.
 *
 * offline_target pingpong ROUNDS: two tasks switching to one another
 * ROUNDS times each (the benchmark's trace).
 *
 * No sleep synchronises anything: the quiet moments only keep events away
 * from the moment written (the trace's clock is CLOCK_MONOTONIC plus an
 * offset LTTng measured once).
 */

#define QUIET_MS 50

static ucontext_t main_ctx;

static void quiet(void)
{
	struct timespec ts = {0, QUIET_MS * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- the API's view, as JSON ----------------------------------------------- */

struct role {
	const char *name;
	costack_task_t id;
};

/* One line: {"label", "pid", "time": "<s>.<ns>", "tasks": [...]}, at a quiet moment. */
static void write_view(FILE *out, const char *label, const struct role *roles, size_t n)
{
	struct timespec now;

	quiet();
	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(out, "{\"label\":\"%s\",\"pid\":%d,\"time\":\"%lld.%09ld\",\"tasks\":[", label,
	        (int)getpid(), (long long)now.tv_sec, now.tv_nsec);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc(',', out);
		json_task(out, roles[i].name, roles[i].id);
	}
	fputs("]}\n", out);
	fflush(out);
	quiet();
}

/* --- states ------------------------------------------------------------------ */

static struct task fresh, deep, shallow, finisher, thrower, victim, heir;
static struct runner runner;

STACK_FN void deep_b(struct task *t)
{
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void deep_a(struct task *t)
{
	deep_b(t);
	KEEP_FRAME();
}

STACK_FN void deep_entry(void)
{
	deep_a(&deep);
	KEEP_FRAME();
}

STACK_FN void shallow_entry(void)
{
	task_yield(&shallow);
	target_throw_and_keep(); /* it ends failed */
	KEEP_FRAME();
}

static int states(FILE *out)
{
	costack_task_t fiber;

	make_task(&fresh, fresh_entry, NULL, &main_ctx);
	costack_set_task_name(fresh.id, "fresh");
	make_task(&deep, deep_entry, NULL, &main_ctx);
	costack_set_task_name(deep.id, "deep");
	run_task(&deep);
	make_task(&shallow, shallow_entry, NULL, &main_ctx);
	run_task(&shallow);
	make_task(&finisher, finisher_entry, NULL, &main_ctx);
	run_task(&finisher);
	make_task(&thrower, target_thrower_entry, NULL, &main_ctx);
	run_task(&thrower);
	make_victim_and_heir(&victim, &heir, &main_ctx); /* the victim is cancelled */
	costack_set_task_name(heir.id, "heir");
	fiber = target_fiber_start();
	runner_start(&runner);

	struct role roles[] = {
	        {"self", costack_current_task()},
	        {"fresh", fresh.id},
	        {"deep", deep.id},
	        {"shallow", shallow.id},
	        {"finisher", finisher.id},
	        {"thrower", thrower.id},
	        {"victim", victim.id},
	        {"heir", heir.id},
	        {"runner", runner.task.id},
	        {"thread_root", runner.thread_root},
	        {"fiber", fiber},
	};
	write_view(out, "mid", roles, sizeof(roles) / sizeof(*roles));

	run_task(&deep);    /* returns: done */
	run_task(&shallow); /* throws and keeps it: failed */
	run_task(&fresh);   /* done */
	run_task(&heir);    /* done */
	target_fiber_finish();
	runner_finish(&runner); /* runner done, then the thread's root */
	write_view(out, "end", roles, sizeof(roles) / sizeof(*roles));
	return 0;
}

/* --- flood ------------------------------------------------------------------- */

#define FLOOD_TASKS 8

static struct task flood_tasks[FLOOD_TASKS];
static long flood_rounds;

STACK_FN void flood_final(struct task *t)
{
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void flood_loop(struct task *t, long rounds)
{
	for (long r = 0; r < rounds; r++)
		task_yield(t);
	KEEP_FRAME();
}

static struct task *flood_self(void)
{
	costack_task_t id = costack_current_task();

	for (int i = 0; i < FLOOD_TASKS; i++)
		if (flood_tasks[i].id == id)
			return &flood_tasks[i];
	abort();
}

STACK_FN void flood_entry(void)
{
	struct task *t = flood_self();
	int i = (int)(t - flood_tasks);

	if (i == 7) {
		flood_loop(t, flood_rounds / 3); /* then done */
		return;
	}
	if (i == 6) {
		flood_loop(t, flood_rounds / 2);
		target_throw_and_keep(); /* then failed */
		return;
	}
	flood_loop(t, i < 3 ? 2 * flood_rounds : flood_rounds);
	for (;;)
		flood_final(t);
}

/* Whether task i is still in its flood_loop at round r (flood_entry's rounds). */
static bool flooding(int i, long r, long rounds)
{
	long last = i == 7 ? rounds / 3 : i == 6 ? rounds / 2 : i < 3 ? 2 * rounds : rounds;

	return r <= last;
}

static int flood(FILE *out, long rounds)
{
	struct role roles[FLOOD_TASKS + 1] = {{"self", costack_current_task()}};
	static const char *const names[FLOOD_TASKS] = {"t0", "t1", "t2", "t3",
	                                               "t4", "t5", "t6", "t7"};

	flood_rounds = rounds;
	for (int i = 0; i < FLOOD_TASKS; i++) {
		make_task(&flood_tasks[i], flood_entry, NULL, &main_ctx);
		roles[i + 1] = (struct role){names[i], flood_tasks[i].id};
	}
	for (long r = 0; r <= 2 * rounds; r++)
		for (int i = 0; i < FLOOD_TASKS; i++)
			if (flooding(i, r, rounds))
				run_task(&flood_tasks[i]);
	write_view(out, "mid", roles, FLOOD_TASKS + 1);
	for (int i = 0; i < 3; i++)
		run_task(&flood_tasks[i]);
	write_view(out, "end", roles, FLOOD_TASKS + 1);
	return 0;
}

/* --- pingpong ---------------------------------------------------------------- */

static ucontext_t ping_ctx, pong_ctx;
static long pingpong_rounds;

STACK_FN void ping_leaf(void)
{
	if (swapcontext(&ping_ctx, &pong_ctx) != 0)
		abort();
	KEEP_FRAME();
}

STACK_FN void ping_entry(void)
{
	for (long r = 0; r < pingpong_rounds; r++)
		ping_leaf();
}

STACK_FN void pong_entry(void)
{
	for (;;)
		if (swapcontext(&pong_ctx, &ping_ctx) != 0)
			abort();
}

static int pingpong(long rounds)
{
	char *a = malloc(STACK_SIZE), *b = malloc(STACK_SIZE);

	if (!a || !b || getcontext(&ping_ctx) || getcontext(&pong_ctx))
		abort();
	pingpong_rounds = rounds;
	ping_ctx.uc_stack.ss_sp = a;
	ping_ctx.uc_stack.ss_size = STACK_SIZE;
	ping_ctx.uc_link = &main_ctx;
	makecontext(&ping_ctx, ping_entry, 0);
	pong_ctx.uc_stack.ss_sp = b;
	pong_ctx.uc_stack.ss_size = STACK_SIZE;
	pong_ctx.uc_link = &main_ctx;
	makecontext(&pong_ctx, pong_entry, 0);
	if (swapcontext(&main_ctx, &ping_ctx) != 0)
		abort();
	return 0;
}

int main(int argc, char **argv)
{
	FILE *out = argc > 2 ? fopen(argv[2], "w") : NULL;

	if (!costack_available()) {
		fputs("offline_target: run it under libcostack.so\n", stderr);
		return 2;
	}
	if (argc == 3 && !strcmp(argv[1], "states") && out)
		return states(out);
	if (argc == 4 && !strcmp(argv[1], "flood") && out)
		return flood(out, atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "pingpong"))
		return pingpong(atol(argv[2]));
	fputs("usage: offline_target states FILE | flood FILE ROUNDS | pingpong ROUNDS\n", stderr);
	return 2;
}
