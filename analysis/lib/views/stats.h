/* SPDX-License-Identifier: MIT */
/* stats.h - the statistics of `costack diff`: Mann-Whitney U, medians, a bootstrap interval. */
#ifndef COSTACK_STATS_H
#define COSTACK_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The two-sided Mann-Whitney U test of x against y, as scipy.stats.mannwhitneyu does it by
 * default (method "auto", use_continuity): the exact distribution of U when either sample has
 * at most 8 values and no value is tied, else the normal approximation with the tie correction
 * and a continuity correction. u is U of x (its rank sum less nx(nx+1)/2); p is in [0, 1].
 * -1 when a sample is empty or memory ran out.
 */
struct mann_whitney {
	double u;
	double p;
	bool exact;
};
int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
                       struct mann_whitney *out);
/* The same with the normal approximation whatever the sizes (scipy's method="asymptotic"). */
int stats_mann_whitney_asymptotic(const double *x, size_t nx, const double *y, size_t ny,
                                  struct mann_whitney *out);

/* The smallest two-sided p the exact test can give samples of nx and ny values (all of one
 * below all of the other): 2 / C(nx + ny, nx). */
double stats_mann_whitney_min_p(size_t nx, size_t ny);

/* The median of v[0..n) (n > 0); v is reordered. */
double stats_median(double *v, size_t n);

/*
 * A percentile bootstrap interval, at level (0.99: 99%), of median(y) / median(x) - 1: iters
 * resamples of both with replacement, drawn from a generator seeded with seed (the same
 * samples give the same interval). -1 when a sample is empty, or memory ran out; *lo and *hi
 * are then NAN. A median of x of 0 gives infinities.
 */
int stats_bootstrap_median_change(const double *x, size_t nx, const double *y, size_t ny,
                                  double level, unsigned iters, uint64_t seed, double *lo,
                                  double *hi);

#endif
