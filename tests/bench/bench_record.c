/* SPDX-License-Identifier: MIT */
/* bench_record.c - what bench_record.py runs under costack record: a ping-pong, a few places. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "bench.h"
#include "costack-trace-ops.h"

/*
 * bench_record pingpong ROUND_TRIPS
 *   Per-switch time of a swapcontext ping-pong, both sides DEPTH frames deep:
 *   glibc's own swapcontext (bare: no hook, no event) against the one
 *   LD_PRELOAD puts first (hooked: costack's, which fires a costack:switch
 *   when traced), ROUNDS interleaved rounds of each, medians printed.
 *   Each kind switches with a coroutine of its own, made by its own
 *   makecontext: a hooked switch never follows a bare one, which costack
 *   would not have seen (it would then take the switching task for the one
 *   it last knew running, and capture no stack when that is the target).
 *   Under costack record, a third kind: glibc's swapcontext after one
 *   costack:switch event of the same fields, fired straight into the
 *   provider costack loaded (libcostack-lttng.so): what LTTng alone costs a
 *   switch, costack's capture and bookkeeping left out (printed as "event
 *   only" with its ratio to bare, and "event switches: N").
 * bench_record places SWITCHES
 *   Tasks that suspend at the same few places (TASKS tasks, each waiting at
 *   one of PLACES call sites in turn), SWITCHES hooked switches in all: the
 *   trace's size per switch.
 * Both print "hooked switches: N", every switch made with the hooked
 * swapcontext (the events a traced run records).
 */

#define DEPTH 32
#define ROUNDS 9
#define TASKS 4
#define PLACES 3
#define STACK_SIZE (256 * 1024)

typedef int (*swap_fn)(ucontext_t *, const ucontext_t *);
typedef int (*get_fn)(ucontext_t *);
typedef void (*make_fn)(ucontext_t *, void (*)(void), int, ...);

/* glibc's own ucontext functions (bare) and the ones LD_PRELOAD put first (hooked). */
struct ucontext_api {
	get_fn get;
	make_fn make;
	swap_fn swap;
};

struct side {
	ucontext_t context;
	swap_fn swap;
	char *stack;
};

static ucontext_t main_context;
static long round_trips;
static long hooked_switches, event_switches;
static volatile int sink;
static const struct costack_trace_ops *ops; /* the provider's, when traced */
static swap_fn bare_swap;

/* A bare switch with costack's event before it: prev 1 to next 2, suspended, stack 0. */
static int event_swap(ucontext_t *from, const ucontext_t *to)
{
	ops->switch_(1, 2, 1, 0, 0);
	return bare_swap(from, to);
}

/* Both sides call through here `depth` frames deep, then switch n times. */
__attribute__((noinline)) static void descend(int depth, ucontext_t *from, ucontext_t *to,
                                              swap_fn swap, long n)
{
	if (depth > 0) {
		descend(depth - 1, from, to, swap, n);
		sink++; /* not a tail call: the frame stays */
		return;
	}
	for (long i = 0; i < n; i++)
		swap(from, to);
}

static struct side sides[3]; /* [0] bare, [1] hooked, [2] bare after an event */

static void side_entry(int which)
{
	for (;;)
		descend(DEPTH, &sides[which].context, &main_context, sides[which].swap,
		        round_trips);
}

/* ns per switch: round_trips round trips make 2 * round_trips switches. */
static double measure(struct side *side)
{
	double t0 = bench_now_ns();

	descend(DEPTH, &main_context, &side->context, side->swap, round_trips);
	return (bench_now_ns() - t0) / (2.0 * round_trips);
}

static int pingpong(const struct ucontext_api *bare, const struct ucontext_api *hooked)
{
	double bare_ns[ROUNDS], hooked_ns[ROUNDS], ratio[ROUNDS];
	double event_ns[ROUNDS], event_ratio[ROUNDS];
	void *provider = dlopen("libcostack-lttng.so", RTLD_NOW | RTLD_NOLOAD);
	int kinds;

	ops = provider ? dlsym(provider, COSTACK_TRACE_OPS_SYMBOL) : NULL;
	kinds = ops && ops->version == COSTACK_TRACE_OPS_VERSION ? 3 : 2;
	bare_swap = bare->swap;
	for (int i = 0; i < kinds; i++) {
		const struct ucontext_api *api = i == 1 ? hooked : bare;

		sides[i].swap = i == 2 ? event_swap : api->swap;
		sides[i].stack = malloc(STACK_SIZE);
		if (!sides[i].stack || api->get(&sides[i].context) != 0)
			return 1;
		sides[i].context.uc_stack.ss_sp = sides[i].stack;
		sides[i].context.uc_stack.ss_size = STACK_SIZE;
		sides[i].context.uc_link = NULL;
		api->make(&sides[i].context, (void (*)(void))side_entry, 1, i);
	}
	for (int i = kinds - 1; i >= 0; i--)
		measure(&sides[i]); /* warm: first switches, caches, the stacks defined */
	for (int r = 0; r < ROUNDS; r++) {
		bare_ns[r] = measure(&sides[0]);
		hooked_ns[r] = measure(&sides[1]);
		ratio[r] = hooked_ns[r] / bare_ns[r];
		if (kinds == 3) {
			event_ns[r] = measure(&sides[2]);
			event_ratio[r] = event_ns[r] / bare_ns[r];
		}
	}
	hooked_switches = 2 * round_trips * (ROUNDS + 1);
	printf("%-6s %12s %12s %8s   (median of %d interleaved rounds, %ld round trips each)\n",
	       "depth", "bare ns", "hooked ns", "ratio", ROUNDS, round_trips);
	printf("%-6d %12.1f %12.1f %7.2fx\n", DEPTH, bench_median(bare_ns, ROUNDS),
	       bench_median(hooked_ns, ROUNDS), bench_median(ratio, ROUNDS));
	if (kinds == 3) {
		event_switches = 2 * round_trips * (ROUNDS + 1);
		printf("event only %18.1f %7.2fx\n", bench_median(event_ns, ROUNDS),
		       bench_median(event_ratio, ROUNDS));
		printf("event switches: %ld\n", event_switches);
	}
	return 0;
}

/* --- places --- */

struct task {
	ucontext_t context;
	char *stack;
	int turn;
};

static struct task tasks[TASKS];
static struct task *running;

__attribute__((noinline)) static void wait_at(int place, int depth)
{
	if (depth > 0) {
		wait_at(place, depth - 1);
		sink++;
		return;
	}
	hooked_switches++;
	swapcontext(&running->context, &main_context);
	sink += place;
}

__attribute__((noinline)) static void place_a(void)
{
	wait_at(0, 8);
	sink++;
}

__attribute__((noinline)) static void place_b(void)
{
	wait_at(1, 12);
	sink++;
}

__attribute__((noinline)) static void place_c(void)
{
	wait_at(2, 16);
	sink++;
}

static void task_entry(void)
{
	static void (*const places[PLACES])(void) = {place_a, place_b, place_c};

	for (;;)
		places[running->turn++ % PLACES]();
}

__attribute__((noinline)) static int make_task(struct task *t)
{
	t->stack = malloc(STACK_SIZE);
	if (!t->stack || getcontext(&t->context) != 0)
		return -1;
	t->context.uc_stack.ss_sp = t->stack;
	t->context.uc_stack.ss_size = STACK_SIZE;
	t->context.uc_link = NULL;
	makecontext(&t->context, task_entry, 0);
	return 0;
}

static int places(long switches)
{
	for (int i = 0; i < TASKS; i++) {
		if (make_task(&tasks[i]) < 0)
			return 1;
	}
	for (int i = 0; hooked_switches < switches; i = (i + 1) % TASKS) {
		running = &tasks[i];
		hooked_switches++;
		swapcontext(&main_context, &running->context);
	}
	return 0;
}

int main(int argc, char **argv)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	struct ucontext_api bare = {
	        libc ? (get_fn)dlsym(libc, "getcontext") : NULL,
	        libc ? (make_fn)dlsym(libc, "makecontext") : NULL,
	        libc ? (swap_fn)dlsym(libc, "swapcontext") : NULL,
	};
	struct ucontext_api hooked = {getcontext, makecontext, swapcontext};
	long n = argc > 2 ? atol(argv[2]) : 0;
	int status;

	if (!bare.get || !bare.make || !bare.swap) {
		fprintf(stderr, "bench_record: cannot find glibc's ucontext functions\n");
		return 2;
	}
	if (bare.swap == hooked.swap)
		printf("warning: swapcontext is not hooked (run under libcostack.so)\n");
	if (argc == 3 && !strcmp(argv[1], "pingpong") && n > 0) {
		round_trips = n;
		status = pingpong(&bare, &hooked);
	} else if (argc == 3 && !strcmp(argv[1], "places") && n > 0) {
		status = places(n);
	} else {
		fprintf(stderr, "usage: bench_record pingpong ROUND_TRIPS | places SWITCHES\n");
		return 2;
	}
	printf("hooked switches: %ld\n", hooked_switches);
	return status;
}
