/* SPDX-License-Identifier: MIT */
/* test_trace_items.c - trace items written as bytes and read back the same, however the bytes
 * arrive. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "trace_items.h"

#define ITEMS 20000

/* Values at the edges of each width an integer may be sent in. */
static const uint64_t edges[] = {
        0, 1, 255, 256, 65535, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, UINT64_MAX, 42};

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static char strings[ITEMS][3][40];
static uint64_t arrays[ITEMS][70];

/* Item i, made from the random state (times going forward mostly, backward and far at times;
 * the same pid and tid mostly; strings NULL, empty or not). */
static void make(struct trace_item *it, int i, uint64_t *rnd, uint64_t *ts)
{
	uint64_t r = next_random(rnd);
	const struct trace_item_shape *shape;

	memset(it, 0, sizeof(*it));
	it->kind = (enum trace_item_kind)(r % TRACE_ITEM_KINDS);
	shape = &trace_item_shapes[it->kind];
	it->timed = (r >> 8) % 8 != 0;
	switch ((r >> 12) % 8) {
	case 0:
		*ts -= (r >> 20) % 1000; /* backward */
		break;
	case 1:
		*ts += 0x100000000ull + (r >> 20); /* more than 32 bits ahead */
		break;
	default:
		*ts += (r >> 20) % 100000;
		break;
	}
	it->ts = it->timed ? *ts : 0;
	if (it->kind != TRACE_ITEM_TIME && it->kind != TRACE_ITEM_LOST) {
		it->no_vpid = (r >> 16) % 16 == 0;
		it->pid = (r >> 24) % 4 ? 4242 : (int32_t)(r >> 32);
		it->tid = (r >> 28) % 4 ? 4243 : -(int32_t)(r >> 40);
		if ((r >> 34) % 8) {
			snprintf(strings[i][2], sizeof(strings[i][2]), "proc%d",
			         (int)((r >> 36) % 3));
			it->procname = strings[i][2];
		}
	}
	for (int k = 0; k < shape->ints; k++)
		it->ints[k] =
		        (next_random(rnd) % 3) ? edges[next_random(rnd) % 10] : next_random(rnd);
	for (int k = 0; k < shape->strings; k++) {
		uint64_t s = next_random(rnd) % 4;

		if (s) {
			snprintf(strings[i][k], sizeof(strings[i][k]), "%.*s", (int)(s * 12 - 12),
			         "a string of the item, as long as it needs to be");
			it->strings[k] = strings[i][k];
		}
	}
	if (shape->array) {
		it->narray = (uint32_t)(next_random(rnd) % 70);
		for (uint32_t k = 0; k < it->narray; k++)
			arrays[i][k] = edges[next_random(rnd) % 10];
		it->array = arrays[i];
	}
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_item(const struct trace_item *a, const struct trace_item *b)
{
	const struct trace_item_shape *shape = &trace_item_shapes[a->kind];
	bool event = a->kind != TRACE_ITEM_TIME && a->kind != TRACE_ITEM_LOST;

	if (a->kind != b->kind || a->timed != b->timed || (a->timed && a->ts != b->ts))
		return false;
	if (event && (a->no_vpid != b->no_vpid || a->pid != b->pid || a->tid != b->tid ||
	              !same_string(a->procname, b->procname)))
		return false;
	for (int k = 0; k < shape->ints; k++)
		if (a->ints[k] != b->ints[k])
			return false;
	for (int k = 0; k < shape->strings; k++)
		if (!same_string(a->strings[k], b->strings[k]))
			return false;
	if (shape->array &&
	    (a->narray != b->narray || (a->narray && memcmp(a->array, b->array, a->narray * 8))))
		return false;
	return true;
}

int main(void)
{
	int fd = memfd_create("test_trace_items", MFD_CLOEXEC);
	struct item_writer w;
	struct item_reader r;
	struct trace_item it, back;
	uint64_t rnd = 0x9e3779b97f4a7c15ull, ts = 1795542309000000000ull, rnd_read;
	off_t at = 0;
	int n = 0, bad = 0;
	enum item_next next = ITEM_MORE;

	CHECK(fd >= 0 && !item_writer_init(&w, fd) && !item_reader_init(&r), "set up");
	for (int i = 0; i < ITEMS; i++) {
		make(&it, i, &rnd, &ts);
		CHECK(!item_writer_put(&w, &it), "item %d written", i);
	}
	CHECK(!item_writer_error(&w, "cannot read trace T: why"), "an error after the items");
	item_writer_free(&w);

	/* Read back in pieces of 1 to 4096 bytes: records split anywhere come whole. */
	rnd = 0x9e3779b97f4a7c15ull;
	ts = 1795542309000000000ull;
	rnd_read = 7;
	for (;;) {
		size_t space, piece = 1 + next_random(&rnd_read) % 4096;
		unsigned char *to = item_reader_space(&r, &space);
		ssize_t got;

		CHECK(to != NULL, "room to read into");
		got = pread(fd, to, piece < space ? piece : space, at);
		if (got <= 0)
			break;
		at += got;
		item_reader_added(&r, (size_t)got);
		while ((next = item_reader_next(&r, &back)) == ITEM_ITEM) {
			make(&it, n, &rnd, &ts);
			if (!same_item(&it, &back) && bad++ < 5)
				CHECK(false, "item %d read back the same (kind %d)", n, it.kind);
			n++;
		}
		if (next != ITEM_MORE)
			break;
	}
	CHECK_EQ(n, ITEMS);
	CHECK_EQ(bad, 0);
	CHECK(next == ITEM_ERROR && r.message && !strcmp(r.message, "cannot read trace T: why"),
	      "the error record after them: %d", next);
	item_reader_free(&r);
	close(fd);
	return check_finish("test_trace_items");
}
