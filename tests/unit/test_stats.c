/* SPDX-License-Identifier: MIT */
/* test_stats.c - costack diff's statistics (analysis/lib/views/stats.c) against published values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stats.h"

#define CHECK_NEAR(a, b, tol)                                                                      \
	CHECK(fabs((a) - (b)) <= (tol), "%s = %.17g, %s = %.17g", #a, (double)(a), #b, (double)(b))

/* scipy.stats.mannwhitneyu's documented example (SciPy 1.7+ reference, "Examples"): the ages of
 * males and females, U1 = 17, p = 0.1111111111111111 exact, 0.11134688653314041 asymptotic. */
static void test_scipy_example(void)
{
	const double males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
	struct mann_whitney r;

	CHECK_EQ(stats_mann_whitney(males, 5, females, 4, &r), 0);
	CHECK_NEAR(r.u, 17.0, 1e-12);
	CHECK(r.exact, "5 and 4 values, no tie: exact");
	CHECK_NEAR(r.p, 0.1111111111111111, 1e-12);
	CHECK_EQ(stats_mann_whitney_asymptotic(males, 5, females, 4, &r), 0);
	CHECK_NEAR(r.u, 17.0, 1e-12);
	CHECK(!r.exact, "asymptotic asked");
	CHECK_NEAR(r.p, 0.11134688653314041, 1e-12);
	/* The other way round: U of the other sample, the same p. */
	CHECK_EQ(stats_mann_whitney(females, 4, males, 5, &r), 0);
	CHECK_NEAR(r.u, 3.0, 1e-12);
	CHECK_NEAR(r.p, 0.1111111111111111, 1e-12);
}

/* Exact p of 4 against 7 values with U = 5: 36 of the C(11, 4) = 330 orderings are as far from
 * the middle (counted by enumerating them all). */
static void test_exact_enumerated(void)
{
	const double x[] = {3.1, 0.5, 7.2, 4.4}, y[] = {5.0, 9.1, 8.3, 6.6, 10.2, 2.2, 11.7};
	struct mann_whitney r;

	CHECK_EQ(stats_mann_whitney(x, 4, y, 7, &r), 0);
	CHECK(r.exact, "exact");
	CHECK_NEAR(r.u, 5.0, 1e-12);
	CHECK_NEAR(r.p, 36.0 / 330.0, 1e-12);
	/* All of one below all of the other: the smallest p there is, 2 / C(10, 5). */
	{
		const double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};

		CHECK_EQ(stats_mann_whitney(a, 5, b, 5, &r), 0);
		CHECK_NEAR(r.p, 2.0 / 252.0, 1e-12);
		CHECK_NEAR(stats_mann_whitney_min_p(5, 5), 2.0 / 252.0, 1e-12);
		CHECK_NEAR(stats_mann_whitney_min_p(3, 3), 0.1, 1e-12);
		CHECK_NEAR(stats_mann_whitney_min_p(1, 1), 1.0, 1e-12);
	}
	/* The same samples: p = 1. */
	CHECK_EQ(stats_mann_whitney(x, 4, x, 4, &r), 0);
	CHECK_NEAR(r.p, 1.0, 1e-12);
}

/* Ties: the normal approximation with the tie and continuity corrections (U = 22,
 * p = 0.02128835741078694, as scipy's formula gives it). */
static void test_ties(void)
{
	const double x[] = {1, 2, 2, 3, 5, 9, 9, 4, 4, 1};
	const double y[] = {2, 4, 4, 6, 7, 8, 9, 12, 13, 10, 11};
	struct mann_whitney r;

	CHECK_EQ(stats_mann_whitney(x, 10, y, 11, &r), 0);
	CHECK(!r.exact, "ties: asymptotic");
	CHECK_NEAR(r.u, 22.0, 1e-12);
	CHECK_NEAR(r.p, 0.02128835741078694, 1e-12);
	CHECK_EQ(stats_mann_whitney(x, 0, y, 11, &r), -1);
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median by selection, against the sorted array's, on odd and even sizes with repeats. */
static void test_median(void)
{
	double v[101], sorted[101];
	uint64_t s = 12345;

	for (size_t n = 1; n <= 101; n++) {
		double want;

		for (size_t i = 0; i < n; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			v[i] = (double)((s >> 33) % 17);
		}
		memcpy(sorted, v, n * sizeof(*v));
		qsort(sorted, n, sizeof(*sorted), compare_double);
		want = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
		CHECK_NEAR(stats_median(v, n), want, 0);
	}
}

/* The bootstrap interval holds the change of the medians, is the same for the same seed, and
 * is narrow for a clear doubling. */
static void test_bootstrap(void)
{
	double x[200], y[200], lo, hi, lo2, hi2;

	for (int i = 0; i < 200; i++) {
		x[i] = 2000 + (i * 37) % 100; /* 2000..2099 */
		y[i] = 2 * x[i];
	}
	CHECK_EQ(stats_bootstrap_median_change(x, 200, y, 200, 0.99, 1000, 1, &lo, &hi), 0);
	CHECK(lo <= 1.0 && hi >= 1.0 && lo > 0.9 && hi < 1.1, "a doubling: [%g, %g]", lo, hi);
	CHECK_EQ(stats_bootstrap_median_change(x, 200, y, 200, 0.99, 1000, 1, &lo2, &hi2), 0);
	CHECK(lo == lo2 && hi == hi2, "the same seed, the same interval");
	CHECK_EQ(stats_bootstrap_median_change(x, 200, x, 200, 0.99, 1000, 1, &lo, &hi), 0);
	CHECK(lo <= 0 && hi >= 0 && lo > -0.05 && hi < 0.05, "no change: [%g, %g]", lo, hi);
	CHECK_EQ(stats_bootstrap_median_change(x, 0, y, 200, 0.99, 1000, 1, &lo, &hi), -1);
}

int main(void)
{
	test_scipy_example();
	test_exact_enumerated();
	test_ties();
	test_median();
	test_bootstrap();
	return check_finish("test_stats");
}
