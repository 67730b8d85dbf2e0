/* SPDX-License-Identifier: MIT */
/* bench_switch.c - hooked vs bare swapcontext per switch, both sides N frames deep, in one run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "bench.h"

#define ROUNDS 9
#define STACK_SIZE (256 * 1024)

typedef int (*swap_fn)(ucontext_t *, const ucontext_t *);

static ucontext_t main_ctx, coro_ctx;
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

static void coro_entry(void)
{
	for (;;)
		descend(coro_depth, &coro_ctx, &main_ctx);
}

/* ns per switch: `switches` round trips make 2 * switches switches. */
static double measure(swap_fn fn, int depth)
{
	double t0, t1;

	swap = fn;
	t0 = bench_now_ns();
	descend(depth, &main_ctx, &coro_ctx);
	t1 = bench_now_ns();
	return (t1 - t0) / (2.0 * switches);
}

int main(int argc, char **argv)
{
	static const int depths[] = { 8, 32, 64 };
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	swap_fn bare = libc ? (swap_fn)dlsym(libc, "swapcontext") : NULL;
	swap_fn hooked = swapcontext; /* the preload's, when it is loaded */
	char *stack = malloc(STACK_SIZE);

	switches = argc > 1 ? atol(argv[1]) : 200000;
	if (!bare || !stack) {
		fprintf(stderr, "bench_switch: cannot find glibc's swapcontext\n");
		return 2;
	}
	if (bare == hooked)
		printf("warning: swapcontext is not hooked (run under libcostack.so)\n");
	printf("%-6s %12s %12s %8s   (median of %d interleaved rounds, %ld round trips each)\n",
	       "depth", "bare ns", "hooked ns", "ratio", ROUNDS, switches);
	for (size_t d = 0; d < sizeof(depths) / sizeof(*depths); d++) {
		double bare_ns[ROUNDS], hooked_ns[ROUNDS], ratio[ROUNDS];

		/* One coroutine per depth, so that its stack is depth frames deep too. */
		coro_depth = depths[d];
		getcontext(&coro_ctx);
		coro_ctx.uc_stack.ss_sp = stack;
		coro_ctx.uc_stack.ss_size = STACK_SIZE;
		coro_ctx.uc_link = NULL;
		makecontext(&coro_ctx, coro_entry, 0);
		measure(hooked, depths[d]); /* warm: first switches, caches */
		for (int r = 0; r < ROUNDS; r++) {
			bare_ns[r] = measure(bare, depths[d]);
			hooked_ns[r] = measure(hooked, depths[d]);
			ratio[r] = hooked_ns[r] / bare_ns[r];
		}
		printf("%-6d %12.1f %12.1f %7.2fx\n", depths[d], bench_median(bare_ns, ROUNDS),
		       bench_median(hooked_ns, ROUNDS), bench_median(ratio, ROUNDS));
	}
	printf("target: <= 1.5x at depth 32 (COSTACK_UNWIND=%s)\n",
	       getenv("COSTACK_UNWIND") ? getenv("COSTACK_UNWIND") : "default");
	return 0;
}
