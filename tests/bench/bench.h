/* SPDX-License-Identifier: MIT */
/* bench.h - what every benchmark here shares: a monotonic clock in ns and the median of rounds. */
#ifndef COSTACK_BENCH_H
#define COSTACK_BENCH_H

#include <stdlib.h>
#include <time.h>

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

#endif
