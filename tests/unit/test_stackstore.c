/* SPDX-License-Identifier: MIT */
/* test_stackstore.c - unit test of stack interning: sharing, exact copies, volume, and concurrent
 * interning. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stackstore.h"

#define MANY 200000u
#define THREADS 4
#define PER_THREAD                                                                                 \
	60000u    /* thread i interns [i * PER_THREAD / 2, + PER_THREAD): halves overlap           \
	           */
#define HOT 2000u /* stacks every thread interns at once, after a barrier */

/* splitmix64: distinct, well spread values from a counter. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Stack number k of family `family`: 1 to 24 plausible return addresses. */
static uint32_t make_stack(uint64_t family, uint64_t k, uintptr_t *frames)
{
	uint32_t n = 1 + (uint32_t)(mix(family * 0x100000000ull + k) % 24);

	for (uint32_t i = 0; i < n; i++)
		frames[i] =
		        0x400000 + (uintptr_t)(mix((family << 40) ^ (k << 8) ^ i) & 0xffffffffu);
	frames[0] = 0x7f0000000000 + (uintptr_t)k; /* makes stack k of a family unique */
	return n;
}

/* Most stacks carry no extra data. */
static const struct stack_rec *intern(struct stack_arena *arena, const uintptr_t *frames,
                                      uint32_t n)
{
	return stackstore_intern(arena, frames, n, NULL, 0);
}

static bool rec_equals(const struct stack_rec *rec, const uintptr_t *frames, uint32_t n)
{
	return rec && rec->nframes == n && !memcmp(rec->frames, frames, n * sizeof(*frames));
}

static void test_equal_and_different(void)
{
	struct stack_arena arena = {0}, other = {0};
	uintptr_t a[] = {0x401010, 0x402020, 0x403030, 0x404040};
	uintptr_t copy[4], longer[5], shorter[3], swapped[4], changed[4];
	const struct stack_rec *ra, *rb, *rc;
	uint64_t bytes;

	ra = intern(&arena, a, 4);
	CHECK(ra != NULL, "intern returned NULL");
	if (!ra)
		return;
	bytes = stackstore_bytes();
	CHECK(bytes > 0, "stackstore_bytes() = %llu after an intern", (unsigned long long)bytes);

	/* Stored innermost first, exactly as given, and copied. */
	CHECK_EQ(ra->nframes, 4);
	for (int i = 0; i < 4; i++)
		CHECK(ra->frames[i] == a[i], "frames[%d] = %#lx, expected %#lx", i,
		      (unsigned long)ra->frames[i], (unsigned long)a[i]);
	memcpy(copy, a, sizeof(a));
	a[2] = 0xdead;
	CHECK(ra->frames[2] == copy[2], "the record follows the caller's buffer: frames[2] = %#lx",
	      (unsigned long)ra->frames[2]);
	memcpy(a, copy, sizeof(a));

	/* Equal stacks, from any buffer or arena, share one record. */
	rb = intern(&arena, copy, 4);
	CHECK(rb == ra, "equal stack: %p, first record %p", (const void *)rb, (const void *)ra);
	rb = intern(&other, copy, 4);
	CHECK(rb == ra, "equal stack from another arena: %p, first record %p", (const void *)rb,
	      (const void *)ra);

	/* Different stacks get different records. */
	memcpy(longer, a, sizeof(a));
	longer[4] = 0x405050;
	memcpy(shorter, a, sizeof(shorter));
	memcpy(swapped, a, sizeof(a));
	swapped[1] = a[2];
	swapped[2] = a[1];
	memcpy(changed, a, sizeof(a));
	changed[3] ^= 1;
	const uintptr_t *variants[] = {longer, shorter, swapped, changed};
	uint32_t lengths[] = {5, 3, 4, 4};
	const struct stack_rec *recs[4];
	for (int v = 0; v < 4; v++) {
		recs[v] = intern(&arena, variants[v], lengths[v]);
		CHECK(recs[v] && recs[v] != ra, "variant %d: %p, base %p", v, (const void *)recs[v],
		      (const void *)ra);
		CHECK(rec_equals(recs[v], variants[v], lengths[v]), "variant %d stored wrong", v);
		for (int w = 0; w < v; w++)
			CHECK(recs[v] != recs[w], "variants %d and %d share %p", v, w,
			      (const void *)recs[v]);
	}
	/* ... and each is found again. */
	for (int v = 0; v < 4; v++)
		CHECK(intern(&other, variants[v], lengths[v]) == recs[v],
		      "variant %d not found again", v);

	/* The empty stack is a stack too. */
	rc = intern(&arena, a, 0);
	CHECK(rc && rc->nframes == 0, "empty stack: %p", (const void *)rc);
	CHECK(intern(&other, copy, 0) == rc, "empty stack not shared");
	CHECK(rc != ra, "empty stack shares the 4-frame record");
}

static void test_deep(void)
{
	struct stack_arena arena = {0};
	/* Deeper than COSTACK_DEPTH can be, and a record larger than an arena chunk. */
	static const uint32_t depths[] = {512 + 32, 200000};

	for (int d = 0; d < 2; d++) {
		uint32_t n = depths[d];
		uintptr_t *frames = malloc(n * sizeof(*frames));
		const struct stack_rec *rec;

		for (uint32_t i = 0; i < n; i++)
			frames[i] = 0x500000 + (uintptr_t)i * 16 + d;
		rec = intern(&arena, frames, n);
		CHECK(rec_equals(rec, frames, n), "deep stack of %u frames stored wrong (%p)", n,
		      (const void *)rec);
		CHECK(intern(&arena, frames, n) == rec, "deep stack of %u not shared", n);
		/* A small stack still fits after the big record. */
		uintptr_t small[2] = {0x600000 + d, 0x600010};
		CHECK(rec_equals(intern(&arena, small, 2), small, 2),
		      "small stack after a %u-frame one", n);
		free(frames);
	}
}

static void test_extra(void)
{
	struct stack_arena arena = {0};
	uintptr_t frames[3] = {0x410000, 0x420000, 0x430000};
	char extra[40], other[40];
	const struct stack_rec *rec, *again;

	for (int i = 0; i < (int)sizeof(extra); i++) {
		extra[i] = (char)(i * 7 + 1);
		other[i] = (char)(i * 3 + 2);
	}
	rec = stackstore_intern(&arena, frames, 3, extra, sizeof(extra));
	CHECK(rec_equals(rec, frames, 3), "stack with extra stored wrong");
	if (!rec)
		return;
	CHECK_EQ(rec->extra_size, sizeof(extra));
	CHECK(rec->extra && rec->extra != extra && !memcmp(rec->extra, extra, sizeof(extra)),
	      "extra not copied into the record: %p (caller's %p)", rec->extra, (void *)extra);
	CHECK(((uintptr_t)rec & 15) == 0, "record %p not 16-byte aligned", (const void *)rec);
	memset(extra, 0, sizeof(extra));
	CHECK(((const char *)rec->extra)[5] == (char)(5 * 7 + 1),
	      "the record's extra follows the caller's buffer");

	/* An equal stack shares the record, and the first copy's extra with it. */
	again = stackstore_intern(&arena, frames, 3, other, sizeof(other));
	CHECK(again == rec, "equal stack with another extra: %p, first %p", (const void *)again,
	      (const void *)rec);

	/* A record after one with an odd-sized extra is still aligned. */
	frames[0]++;
	rec = stackstore_intern(&arena, frames, 3, other, 13);
	frames[0]++;
	again = stackstore_intern(&arena, frames, 3, NULL, 0);
	CHECK(rec && rec->extra_size == 13 && !memcmp(rec->extra, other, 13),
	      "13-byte extra stored wrong");
	CHECK(again && again->extra_size == 0 && again->extra == NULL,
	      "no extra: extra_size %u, extra %p", again ? again->extra_size : 0,
	      again ? again->extra : NULL);
	CHECK(((uintptr_t)again & 15) == 0, "record %p after a 13-byte extra not aligned",
	      (const void *)again);
}

static int compare_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void test_many(void)
{
	struct stack_arena arena = {0}, again = {0};
	const struct stack_rec **recs = calloc(MANY, sizeof(*recs));
	uintptr_t *sorted = calloc(MANY, sizeof(*sorted));
	uintptr_t frames[32];
	unsigned null = 0, wrong = 0, not_shared = 0, wrong_later = 0, dup = 0;
	uint64_t bytes_before = stackstore_bytes();

	for (uint64_t k = 0; k < MANY; k++) {
		uint32_t n = make_stack(1, k, frames);

		recs[k] = intern(&arena, frames, n);
		if (!recs[k])
			null++;
		else if (!rec_equals(recs[k], frames, n))
			wrong++;
	}
	CHECK(null == 0, "%u of %u interns returned NULL", null, MANY);
	CHECK(wrong == 0, "%u of %u records differ from their input", wrong, MANY);

	/* Every one retrievable: interning it again gives the same record, unchanged. */
	for (uint64_t k = 0; k < MANY; k++) {
		uint32_t n = make_stack(1, k, frames);
		const struct stack_rec *rec = intern(&again, frames, n);

		if (rec != recs[k])
			not_shared++;
		if (!rec_equals(recs[k], frames, n))
			wrong_later++;
		sorted[k] = (uintptr_t)recs[k];
	}
	CHECK(not_shared == 0, "%u of %u stacks got another record the second time", not_shared,
	      MANY);
	CHECK(wrong_later == 0, "%u of %u records changed after later interns", wrong_later, MANY);

	qsort(sorted, MANY, sizeof(*sorted), compare_ptr);
	for (uint32_t k = 1; k < MANY; k++)
		dup += sorted[k] == sorted[k - 1];
	CHECK(dup == 0, "%u distinct stacks share a record with another", dup);
	CHECK(stackstore_bytes() > bytes_before, "stackstore_bytes() did not grow: %llu -> %llu",
	      (unsigned long long)bytes_before, (unsigned long long)stackstore_bytes());
	free(recs);
	free(sorted);
}

struct worker {
	pthread_t thread;
	int index;
	pthread_barrier_t *barrier;
	unsigned null, wrong, changed_own;
};

static void *intern_worker(void *arg)
{
	struct worker *w = arg;
	struct stack_arena arena = {0};
	uint64_t first = (uint64_t)w->index * PER_THREAD / 2;
	const struct stack_rec **mine = calloc(PER_THREAD, sizeof(*mine));
	uintptr_t frames[32];

	/* Everyone at once on the same few stacks: the most lost races. */
	pthread_barrier_wait(w->barrier);
	for (uint64_t k = 0; k < HOT; k++) {
		uint64_t kk = (k * 7 + (uint64_t)w->index * 13) % HOT;
		uint32_t n = make_stack(3, kk, frames);
		const struct stack_rec *rec = intern(&arena, frames, n);

		w->null += !rec;
		w->wrong += rec && !rec_equals(rec, frames, n);
	}

	/* Overlapping ranges, forwards then backwards. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < PER_THREAD; i++) {
			uint64_t j = pass ? PER_THREAD - 1 - i : i;
			uint32_t n = make_stack(2, first + j, frames);
			const struct stack_rec *rec = intern(&arena, frames, n);

			if (!rec) {
				w->null++;
				continue;
			}
			if (!rec_equals(rec, frames, n))
				w->wrong++;
			if (!pass)
				mine[j] = rec;
			else if (rec != mine[j])
				w->changed_own++; /* interned before by this very thread */
		}
	}
	free(mine);
	return NULL;
}

static void test_concurrent(void)
{
	struct worker w[THREADS];
	pthread_barrier_t barrier;
	uintptr_t frames[32];
	unsigned wrong = 0;

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.index = i, .barrier = &barrier};
		if (pthread_create(&w[i].thread, NULL, intern_worker, &w[i]) != 0) {
			CHECK(0, "pthread_create %d failed", i);
			return;
		}
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		CHECK(w[i].null == 0, "thread %d: %u interns returned NULL", i, w[i].null);
		CHECK(w[i].wrong == 0, "thread %d: %u records differ from their input", i,
		      w[i].wrong);
		CHECK(w[i].changed_own == 0,
		      "thread %d: %u stacks it had interned came back as another record", i,
		      w[i].changed_own);
	}
	pthread_barrier_destroy(&barrier);

	/* Afterwards, every stack of the union is there, intact. */
	struct stack_arena arena = {0};
	uint64_t total = (uint64_t)(THREADS + 1) * PER_THREAD / 2;
	for (uint64_t k = 0; k < total; k++) {
		uint32_t n = make_stack(2, k, frames);
		const struct stack_rec *rec = intern(&arena, frames, n);

		wrong += !rec_equals(rec, frames, n) || intern(&arena, frames, n) != rec;
	}
	CHECK(wrong == 0, "%u of %llu stacks wrong after the threads joined", wrong,
	      (unsigned long long)total);
}

int main(void)
{
	test_equal_and_different();
	test_deep();
	test_extra();
	test_many();
	test_concurrent();
	return check_finish("test_stackstore");
}
