/* SPDX-License-Identifier: MIT */
/* bench.h - what every benchmark here shares: a monotonic clock in ns and the median of rounds. */
#ifndef COSTACK_BENCH_H
#define COSTACK_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COSTACK_DLSYM
#include <costack.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n); v is sorted in place. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_compare_double);
	return v[n / 2];
}

/*
 * What costack saw of the hooked coroutine whose stack holds `inside`: its switches in (0 when
 * costack does not know it), and its stack's frames into *frames. A figure counts only when
 * costack saw every switch and captured the coroutine's whole stack at each: else the hooked
 * switch did less than it does in a program.
 */
static inline uint64_t bench_seen_switches(const struct costack_api *api, const void *inside,
                                           int *frames)
{
	struct costack_task_info info;
	void *pcs[COSTACK_MAX_FRAMES];
	costack_task_t task = api->task_at(inside);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	*frames = 0;
	if (!task || api->task_info(task, &info) != 0)
		return 0;
	*frames = api->get_stack(task, pcs, COSTACK_MAX_FRAMES, 0);
	return info.switches;
}

/* The target a run enforces (COSTACK_BENCH_TARGET, a ratio at depth 32); 0: a comparison. */
static inline double bench_target(void)
{
	const char *text = getenv("COSTACK_BENCH_TARGET");

	return text ? atof(text) : 0;
}

/*
 * One depth's row of a hooked-vs-bare ping-pong: the medians of rounds of bare and hooked ns
 * per switch and of their ratios, printed, if costack saw each of the `made` switches into the
 * hooked coroutine (`seen`) and captured its `frames` of depth; else why there is no figure.
 * False when the row fails: no figure, or over the target at depth 32.
 */
static inline bool bench_row(int depth, double *bare_ns, double *hooked_ns, double *ratio,
                             int rounds, uint64_t seen, uint64_t made, int frames, double target)
{
	double median;

	if (seen != made || frames < depth) {
		printf("%-6d no figure: costack saw %llu switches of %llu into the hooked "
		       "coroutine, and %d frames of its %d\n",
		       depth, (unsigned long long)seen, (unsigned long long)made, frames, depth);
		return false;
	}
	median = bench_median(ratio, rounds);
	printf("%-6d %12.1f %12.1f %7.2fx\n", depth, bench_median(bare_ns, rounds),
	       bench_median(hooked_ns, rounds), median);
	if (target && depth == 32 && median > target) {
		printf("FAILED: %.2fx at depth 32, over the target %.2fx\n", median, target);
		return false;
	}
	return true;
}

/* The last line of a run whose rows all passed. */
static inline void bench_summary(double target)
{
	const char *unwind = getenv("COSTACK_UNWIND");

	if (target)
		printf("target: <= %.2fx at depth 32", target);
	else
		printf("no target: a comparison");
	printf(" (COSTACK_UNWIND=%s); every switch seen, every stack captured\n",
	       unwind ? unwind : "default");
}

#endif
