/* SPDX-License-Identifier: MIT */
/* stats.c - the statistics of `costack diff`: Mann-Whitney U, medians, a bootstrap interval. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ranked {
	double value;
	bool of_x;
};

static int compare_ranked(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->value, y = ((const struct ranked *)b)->value;

	return x < y ? -1 : x > y;
}

/* The number of ways, of C(m + n, m), that U of the first sample is u, for u in [0, m n]:
 * the coefficients of the Gaussian binomial [m + n, m]_q, prod (1 - q^(n+i)) / (1 - q^i). */
static double *u_distribution(size_t m, size_t n)
{
	size_t top = m * n;
	double *c = calloc(top + 1, sizeof(*c));

	if (!c)
		return NULL;
	c[0] = 1;
	for (size_t i = 1; i <= m; i++) {
		/* times (1 - q^(n+i)), from the top down so each term is used once */
		for (size_t u = top; u >= n + i && u <= top; u--)
			c[u] -= c[u - (n + i)];
		/* divided by (1 - q^i): a running sum with stride i */
		for (size_t u = i; u <= top; u++)
			c[u] += c[u - i];
	}
	return c;
}

double stats_mann_whitney_min_p(size_t nx, size_t ny)
{
	double ways = 1;

	/* C(nx + ny, nx), as a product that stays exact while small */
	for (size_t i = 1; i <= nx; i++)
		ways = ways * (double)(ny + i) / (double)i;
	return ways > 0 ? fmin(1.0, 2.0 / ways) : 1.0;
}

static int mann_whitney(const double *x, size_t nx, const double *y, size_t ny, bool asymptotic,
                        struct mann_whitney *out)
{
	size_t n = nx + ny;
	struct ranked *r;
	double rank_sum_x = 0, tie_term = 0, u_max;
	bool ties = false;

	if (!nx || !ny || !(r = malloc(n * sizeof(*r))))
		return -1;
	for (size_t i = 0; i < nx; i++)
		r[i] = (struct ranked){x[i], true};
	for (size_t i = 0; i < ny; i++)
		r[nx + i] = (struct ranked){y[i], false};
	qsort(r, n, sizeof(*r), compare_ranked);
	/* ranks 1..n, tied values sharing their mean rank */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double mean_rank, t;

		while (j < n && r[j].value == r[i].value)
			j++;
		mean_rank = (double)(i + 1 + j) / 2.0;
		for (size_t k = i; k < j; k++)
			if (r[k].of_x)
				rank_sum_x += mean_rank;
		t = (double)(j - i);
		if (j - i > 1)
			ties = true;
		tie_term += t * t * t - t;
		i = j;
	}
	free(r);
	out->u = rank_sum_x - (double)nx * (double)(nx + 1) / 2.0;
	u_max = fmax(out->u, (double)nx * (double)ny - out->u);
	out->exact = !asymptotic && (nx <= 8 || ny <= 8) && !ties;
	if (out->exact) {
		size_t m = nx < ny ? nx : ny, other = nx < ny ? ny : nx;
		double *c = u_distribution(m, other), total = 0, tail = 0;

		if (!c)
			return -1;
		for (size_t u = 0; u <= m * other; u++) {
			total += c[u];
			if ((double)u >= u_max - 1e-9)
				tail += c[u];
		}
		free(c);
		out->p = fmin(1.0, 2.0 * tail / total);
	} else {
		double mu = (double)nx * (double)ny / 2.0;
		double var = (double)nx * (double)ny / 12.0 *
		             ((double)(n + 1) - tie_term / ((double)n * (double)(n - 1)));
		double z;

		if (var <= 0) {
			out->p = 1.0;
			return 0;
		}
		z = (u_max - mu - 0.5) / sqrt(var);
		out->p = fmin(1.0, erfc(z / sqrt(2.0)));
	}
	return 0;
}

int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
                       struct mann_whitney *out)
{
	return mann_whitney(x, nx, y, ny, false, out);
}

int stats_mann_whitney_asymptotic(const double *x, size_t nx, const double *y, size_t ny,
                                  struct mann_whitney *out)
{
	return mann_whitney(x, nx, y, ny, true, out);
}

static void swap(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (Hoare's selection); v is reordered around it. */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				swap(&v[i], &v[j]);
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

double stats_median(double *v, size_t n)
{
	double upper = select_kth(v, n, n / 2), lower;

	if (n % 2)
		return upper;
	lower = v[0];
	for (size_t i = 1; i < n / 2; i++) /* the largest of the lower half */
		if (v[i] > lower)
			lower = v[i];
	return (lower + upper) / 2.0;
}

/* splitmix64: a small generator, the same sequence for the same seed. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double resampled_median(const double *v, size_t n, double *scratch, uint64_t *state)
{
	for (size_t i = 0; i < n; i++)
		scratch[i] = v[next_random(state) % n];
	return stats_median(scratch, n);
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int stats_bootstrap_median_change(const double *x, size_t nx, const double *y, size_t ny,
                                  double level, unsigned iters, uint64_t seed, double *lo,
                                  double *hi)
{
	double *scratch = NULL, *changes = NULL;
	uint64_t state = seed;
	int status = -1;

	*lo = *hi = NAN;
	if (!nx || !ny || !iters)
		return -1;
	scratch = malloc((nx > ny ? nx : ny) * sizeof(*scratch));
	changes = malloc(iters * sizeof(*changes));
	if (!scratch || !changes)
		goto end;
	for (unsigned i = 0; i < iters; i++) {
		double mx = resampled_median(x, nx, scratch, &state);
		double my = resampled_median(y, ny, scratch, &state);

		changes[i] = mx != 0 ? my / mx - 1.0 : (my > 0 ? INFINITY : my < 0 ? -INFINITY : 0);
	}
	qsort(changes, iters, sizeof(*changes), compare_double);
	{
		double tail = (1.0 - level) / 2.0;
		size_t a = (size_t)floor(tail * (iters - 1)),
		       b = (size_t)ceil((1.0 - tail) * (iters - 1));

		*lo = changes[a];
		*hi = changes[b < iters ? b : iters - 1];
	}
	status = 0;
end:
	free(scratch);
	free(changes);
	return status;
}
