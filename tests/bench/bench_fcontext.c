/* SPDX-License-Identifier: MIT */
/* bench_fcontext.c - hooked vs bare Boost.Context jump_fcontext per switch, both sides N frames
 * deep, in one run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "bench.h"

#define ROUNDS 9
#define STACK_SIZE (256 * 1024)
#define BOOST_CONTEXT_SONAME "libboost_context.so.1.74.0"

/* Boost.Context's raw C API, as boost/context/detail/fcontext.hpp declares it (extern "C"). */
typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
transfer_t ontop_fcontext(fcontext_t const to, void *vp, transfer_t (*fn)(transfer_t));

typedef transfer_t (*jump_fn)(fcontext_t, void *);
typedef fcontext_t (*make_fn)(void *, size_t, void (*)(transfer_t));

/*
 * One ping-pong: the main stack and one coroutine, switching with one jump function only.
 * Bare and hooked rounds each have their own coroutine, so that the preload sees every
 * switch of the contexts it knows of (and none of the others'), however rounds interleave.
 */
struct pingpong {
	jump_fn jump;
	fcontext_t coro; /* where the main side jumps to */
	fcontext_t main; /* where the coroutine jumps back to */
	int depth;
};

static long round_trips;
static volatile int sink;

/* Both sides call through here `depth` frames deep, then switch in a loop. */
__attribute__((noinline)) static void descend(int depth, struct pingpong *pp, fcontext_t *peer)
{
	if (depth > 0) {
		descend(depth - 1, pp, peer);
		sink++; /* not a tail call: the frame stays */
		return;
	}
	for (long i = 0; i < round_trips; i++)
		*peer = pp->jump(*peer, pp).fctx;
}

/* The coroutine: the first jump into it brings its ping-pong; it never returns. */
static void coro_entry(transfer_t t)
{
	struct pingpong *pp = t.data;

	pp->main = t.fctx;
	for (;;)
		descend(pp->depth, pp, &pp->main);
}

/* ns per switch: `round_trips` round trips make 2 * round_trips switches. */
static double measure(struct pingpong *pp)
{
	double t0, t1;

	t0 = bench_now_ns();
	descend(pp->depth, pp, &pp->coro);
	t1 = bench_now_ns();
	return (t1 - t0) / (2.0 * round_trips);
}

/* A clock's cost per reading: the bench's timer (CLOCK_MONOTONIC), no part of the figures,
 * and what costack's moments may be read from (COSTACK_CLOCK: coarse by default, precise the
 * TSC or CLOCK_MONOTONIC). */
static double reading_ns(clockid_t id)
{
	struct timespec ts;
	double t0 = bench_now_ns(), t1;

	for (int i = 0; i < 99999; i++)
		clock_gettime(id, &ts);
	t1 = bench_now_ns();
	return (t1 - t0) / 100000.0;
}

static double rdtsc_ns(void)
{
	volatile uint64_t sink_tsc;
	double t0 = bench_now_ns(), t1;

	for (int i = 0; i < 100000; i++)
		sink_tsc = __rdtsc();
	t1 = bench_now_ns();
	(void)sink_tsc;
	return (t1 - t0) / 100000.0;
}

/*
 * `--only bare|hooked DEPTH ROUND_TRIPS`: one ping-pong with one jump function, nothing timed,
 * for a profiler to count what a switch costs (profile_switch.py runs it under callgrind at two
 * lengths: the difference is the switches'). A hooked one must be seen whole by costack.
 */
static int only(jump_fn jump, make_fn make, int depth, const struct costack_api *api, bool hooked)
{
	char *stack = malloc(STACK_SIZE);
	struct pingpong pp = {.jump = jump, .depth = depth};
	uint64_t switches;
	int frames;

	if (!stack)
		return 2;
	pp.coro = make(stack + STACK_SIZE, STACK_SIZE, coro_entry);
	measure(&pp);
	switches = hooked ? bench_seen_switches(api, stack + STACK_SIZE / 2, &frames) : 0;
	if (hooked && (switches != (uint64_t)round_trips || frames < depth)) {
		printf("no figure: costack saw %llu switches of %ld into the hooked coroutine, and "
		       "%d frames of its %d\n",
		       (unsigned long long)switches, round_trips, frames, depth);
		return 1;
	}
	printf("%s switches: %ld\n", hooked ? "hooked" : "bare", 2 * round_trips);
	/* where each switch begins, for a tracer that splits a run into switches */
	printf("jump function at %p\n", (void *)jump);
	return 0;
}

int main(int argc, char **argv)
{
	static const int depths[] = {8, 32, 64};
	void *lib = dlopen(BOOST_CONTEXT_SONAME, RTLD_NOLOAD | RTLD_NOW);
	jump_fn bare_jump = lib ? (jump_fn)dlsym(lib, "jump_fcontext") : NULL;
	make_fn bare_make = lib ? (make_fn)dlsym(lib, "make_fcontext") : NULL;
	jump_fn hooked_jump = jump_fcontext; /* the preload's, when it is loaded */
	make_fn hooked_make = make_fcontext;
	const char *unwind = getenv("COSTACK_UNWIND");
	double target = bench_target();
	struct costack_api api;
	bool failed = false;

	bool only_one = argc == 5 && !strcmp(argv[1], "--only");

	round_trips = only_one ? atol(argv[4]) : argc > 1 ? atol(argv[1]) : 2000000;
	if (!bare_jump || !bare_make || round_trips <= 0) {
		fprintf(stderr,
		        "bench_fcontext: cannot find %s's jump_fcontext and make_fcontext\n",
		        BOOST_CONTEXT_SONAME);
		return 2;
	}
	if (bare_jump == hooked_jump || !costack_api_load(&api)) {
		fprintf(stderr, "bench_fcontext: jump_fcontext is not hooked (run under "
		                "libcostack.so)\n");
		return 2;
	}
	if (only_one)
		return only(strcmp(argv[2], "bare") ? hooked_jump : bare_jump,
		            strcmp(argv[2], "bare") ? hooked_make : bare_make, atoi(argv[3]), &api,
		            strcmp(argv[2], "bare") != 0);
	printf("%-6s %12s %12s %8s   (median of %d interleaved rounds, %ld round trips each)\n",
	       "depth", "bare ns", "hooked ns", "ratio", ROUNDS, round_trips);
	for (size_t d = 0; d < sizeof(depths) / sizeof(*depths); d++) {
		double bare_ns[ROUNDS], hooked_ns[ROUNDS], ratio[ROUNDS];
		uint64_t before, after;
		int frames;
		/* Fresh coroutines per depth, so that their stacks are depth frames deep too. */
		char *bare_stack = malloc(STACK_SIZE), *hooked_stack = malloc(STACK_SIZE);
		struct pingpong bare = {.jump = bare_jump, .depth = depths[d]};
		struct pingpong hooked = {.jump = hooked_jump, .depth = depths[d]};

		if (!bare_stack || !hooked_stack)
			return 2;
		/* The stacks grow down: make_fcontext takes their top. */
		bare.coro = bare_make(bare_stack + STACK_SIZE, STACK_SIZE, coro_entry);
		hooked.coro = hooked_make(hooked_stack + STACK_SIZE, STACK_SIZE, coro_entry);
		measure(&bare); /* warm: first switches, caches */
		measure(&hooked);
		before = bench_seen_switches(&api, hooked_stack + STACK_SIZE / 2, &frames);
		for (int r = 0; r < ROUNDS; r++) {
			bare_ns[r] = measure(&bare);
			hooked_ns[r] = measure(&hooked);
			ratio[r] = hooked_ns[r] / bare_ns[r];
		}
		after = bench_seen_switches(&api, hooked_stack + STACK_SIZE / 2, &frames);
		if (!bench_row(depths[d], bare_ns, hooked_ns, ratio, ROUNDS, after - before,
		               (uint64_t)ROUNDS * (uint64_t)round_trips, frames, target))
			failed = true;
		/* The coroutines stay suspended, never finished: their stacks stay too. */
	}
	printf("clock readings: CLOCK_MONOTONIC %.1f ns (the timer, 2 per round), "
	       "CLOCK_MONOTONIC_COARSE %.1f ns, rdtsc %.1f ns\n",
	       reading_ns(CLOCK_MONOTONIC), reading_ns(CLOCK_MONOTONIC_COARSE), rdtsc_ns());
	if (!failed)
		bench_summary(target);
	printf("this run: COSTACK_UNWIND=%s, %s\n", unwind ? unwind : "default",
#ifdef BENCH_FRAME_POINTERS
	       "built with frame pointers"
#else
	       "built with the default flags"
#endif
	);
	return failed ? 1 : 0;
}
