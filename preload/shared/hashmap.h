/* SPDX-License-Identifier: MIT */
/* hashmap.h - an open-addressing map from a pair of 64-bit keys to a pointer, for the trace model.
 */
#ifndef COSTACK_HASHMAP_H
#define COSTACK_HASHMAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct hmap_slot {
	uint64_t a, b;
	void *value; /* NULL: empty */
};

/* Zero-initialised is an empty map. No removal: the model only grows. */
struct hmap {
	struct hmap_slot *slots;
	size_t cap, n; /* cap: a power of two, or 0 */
};

static inline uint64_t hmap_hash(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return x;
}

static inline void *hmap_get(const struct hmap *h, uint64_t a, uint64_t b)
{
	size_t i;

	if (!h->cap)
		return NULL;
	i = hmap_hash(a, b) & (h->cap - 1);
	while (h->slots[i].value) {
		if (h->slots[i].a == a && h->slots[i].b == b)
			return h->slots[i].value;
		i = (i + 1) & (h->cap - 1);
	}
	return NULL;
}

static inline int hmap_grow(struct hmap *h)
{
	size_t cap = h->cap ? 2 * h->cap : 64;
	struct hmap_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < h->cap; i++) {
		size_t j;

		if (!h->slots[i].value)
			continue;
		j = hmap_hash(h->slots[i].a, h->slots[i].b) & (cap - 1);
		while (slots[j].value)
			j = (j + 1) & (cap - 1);
		slots[j] = h->slots[i];
	}
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

/* Set (a, b) to value (not NULL), replacing any. 0, or -1 when out of memory. */
static inline int hmap_put(struct hmap *h, uint64_t a, uint64_t b, void *value)
{
	size_t i;

	if ((h->n + 1) * 4 > h->cap * 3 && hmap_grow(h))
		return -1;
	i = hmap_hash(a, b) & (h->cap - 1);
	while (h->slots[i].value) {
		if (h->slots[i].a == a && h->slots[i].b == b) {
			h->slots[i].value = value;
			return 0;
		}
		i = (i + 1) & (h->cap - 1);
	}
	h->slots[i] = (struct hmap_slot){a, b, value};
	h->n++;
	return 0;
}

static inline void hmap_free(struct hmap *h)
{
	free(h->slots);
	*h = (struct hmap){0};
}

#endif
