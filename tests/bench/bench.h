/* SPDX-License-Identifier: MIT */
/* bench.h - what every benchmark here shares: a monotonic clock in ns and the median of rounds. */
#ifndef COSTACK_BENCH_H
#define COSTACK_BENCH_H

#include <stdint.h>
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

#endif
