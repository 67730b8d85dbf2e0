/* SPDX-License-Identifier: MIT */
/* bench_switch.c - hooked vs bare swapcontext per switch, both sides N frames deep, in one run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "bench.h"

#define ROUNDS 9
#define STACK_SIZE (256 * 1024)

typedef int (*swap_fn)(ucontext_t *, const ucontext_t *);

/* One pair of contexts for the bare rounds and one for the hooked rounds: a
 * coroutine that a bare swapcontext suspended is resumed by the next bare
 * one only, so that costack never sees a switch it was not told of (which
 * would make it take the wrong task as running and skip captures). */
enum { BARE, HOOKED };
static ucontext_t main_ctx[2], coro_ctx[2];
static swap_fn swap;
static long switches;
static volatile int sink;

/* Both sides call through here `depth` frames deep, then switch in a loop. */
__attribute__((noinline)) static void descend(int depth, ucontext_t *from, ucontext_t *to)
{
	if (depth > 0) {
		descend(depth - 1, from, to);
		sink++; /* not a tail call: the frame stays */
		return;
	}
	for (long i = 0; i < switches; i++)
		swap(from, to);
}

static int coro_depth;

static void coro_entry(int which)
{
	for (;;)
		descend(coro_depth, &coro_ctx[which], &main_ctx[which]);
}

/* ns per switch: `switches` round trips make 2 * switches switches. */
static double measure(swap_fn fn, int which, int depth)
{
	double t0, t1;

	swap = fn;
	t0 = bench_now_ns();
	descend(depth, &main_ctx[which], &coro_ctx[which]);
	t1 = bench_now_ns();
	return (t1 - t0) / (2.0 * switches);
}

int main(int argc, char **argv)
{
	static const int depths[] = {8, 32, 64};
	static double target; /* static: main calls getcontext, which returns twice */
	struct costack_api api;
	static bool failed; /* static: main calls getcontext, which returns twice */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	swap_fn bare = libc ? (swap_fn)dlsym(libc, "swapcontext") : NULL;
	swap_fn hooked = swapcontext; /* the preload's, when it is loaded */
	char *stack = malloc(2 * STACK_SIZE);

	target = bench_target();
	switches = argc > 1 ? atol(argv[1]) : 200000;
	if (!bare || !stack) {
		fprintf(stderr, "bench_switch: cannot find glibc's swapcontext\n");
		return 2;
	}
	if (bare == hooked || !costack_api_load(&api)) {
		fprintf(stderr,
		        "bench_switch: swapcontext is not hooked (run under libcostack.so)\n");
		return 2;
	}
	printf("%-6s %12s %12s %8s   (median of %d interleaved rounds, %ld round trips each)\n",
	       "depth", "bare ns", "hooked ns", "ratio", ROUNDS, switches);
	for (size_t d = 0; d < sizeof(depths) / sizeof(*depths); d++) {
		double bare_ns[ROUNDS], hooked_ns[ROUNDS], ratio[ROUNDS];
		uint64_t before, after;
		int frames;

		/* One coroutine per depth, so that its stack is depth frames deep too. */
		coro_depth = depths[d];
		for (int which = BARE; which <= HOOKED; which++) {
			getcontext(&coro_ctx[which]);
			coro_ctx[which].uc_stack.ss_sp = stack + (size_t)which * STACK_SIZE;
			coro_ctx[which].uc_stack.ss_size = STACK_SIZE;
			coro_ctx[which].uc_link = NULL;
			makecontext(&coro_ctx[which], (void (*)(void))coro_entry, 1, which);
		}
		/* warm: first switches, caches */
		measure(bare, BARE, depths[d]);
		measure(hooked, HOOKED, depths[d]);
		before = bench_seen_switches(&api, stack + STACK_SIZE, &frames);
		for (int r = 0; r < ROUNDS; r++) {
			bare_ns[r] = measure(bare, BARE, depths[d]);
			hooked_ns[r] = measure(hooked, HOOKED, depths[d]);
			ratio[r] = hooked_ns[r] / bare_ns[r];
		}
		after = bench_seen_switches(&api, stack + STACK_SIZE, &frames);
		if (!bench_row(depths[d], bare_ns, hooked_ns, ratio, ROUNDS, after - before,
		               (uint64_t)ROUNDS * (uint64_t)switches, frames, target))
			failed = true;
	}
	if (!failed)
		bench_summary(target);
	return failed ? 1 : 0;
}
