/* SPDX-License-Identifier: MIT */
/* stackstore.c - lock-free interning of stacks: per-thread arenas, one global open-addressed index.
 */
#include "stackstore.h"

#include "live.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#define INDEX_BITS 20
#define INDEX_SIZE (1u << INDEX_BITS)
#define PROBE_LIMIT 64
/* A thread's arena grows by chunks that double from the first to the largest: a thread that
 * interns a few stacks takes a few KiB of the region, not a megabyte. */
#define FIRST_CHUNK ((size_t)16 << 10)
#define LARGEST_CHUNK ((size_t)1 << 20)
#define STORE_CAP ((uint64_t)512 << 20)
/* What exited threads' arenas had left, for new chunks to use first. */
#define SPARE_MAX 256
#define SPARE_MIN 1024 /* a smaller rest is not worth keeping */

static _Atomic(const struct stack_rec *) *index_slots;
static atomic_uint_fast64_t bytes_mapped;
static atomic_flag index_init_lock = ATOMIC_FLAG_INIT;
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *next, *end;
} spares[SPARE_MAX];
static int nspares;
static atomic_bool full_said;

static uint64_t hash_frames(const uintptr_t *frames, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	for (uint32_t i = 0; i < n; i++) {
		h ^= frames[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h ? h : 1;
}

static void *map_anonymous(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	atomic_fetch_add(&bytes_mapped, size);
	return p;
}

/* The index is mapped on first use; untouched pages cost nothing. */
static bool index_ready(void)
{
	if (atomic_load_explicit(&index_slots, memory_order_acquire))
		return true;
	while (atomic_flag_test_and_set_explicit(&index_init_lock, memory_order_acquire))
		;
	if (!index_slots) {
		void *p = map_anonymous(INDEX_SIZE * sizeof(*index_slots));
		atomic_store_explicit(&index_slots, p, memory_order_release);
	}
	atomic_flag_clear_explicit(&index_init_lock, memory_order_release);
	return index_slots != NULL;
}

/* A record keeps the hash's high half, whose top bits are its index slot. */
static bool equal(const struct stack_rec *rec, uint64_t hash, const uintptr_t *frames, uint32_t n)
{
	return rec->hash == (uint32_t)(hash >> 32) && rec->nframes == n &&
	       !memcmp(rec->frames, frames, n * sizeof(*frames));
}

/* A spare rest of at least size bytes, into arena; false if there is none. */
static bool take_spare(struct stack_arena *arena, size_t size)
{
	bool found = false;

	pthread_mutex_lock(&spare_lock);
	for (int i = 0; i < nspares && !found; i++) {
		if ((size_t)(spares[i].end - spares[i].next) < size)
			continue;
		arena->next = spares[i].next;
		arena->end = spares[i].end;
		spares[i] = spares[--nspares];
		found = true;
	}
	pthread_mutex_unlock(&spare_lock);
	return found;
}

static bool new_chunk(struct stack_arena *arena, size_t size)
{
	size_t chunk = arena->chunk ? arena->chunk * 2 : FIRST_CHUNK;
	char *p;

	if (chunk > LARGEST_CHUNK)
		chunk = LARGEST_CHUNK;
	if (chunk < size)
		chunk = size;
	if (take_spare(arena, size))
		return true;
	if (atomic_load(&bytes_mapped) + chunk > STORE_CAP) {
		if (!atomic_exchange(&full_said, true))
			log_warn(
			        "the stack store is full (%llu MiB): stacks first seen from now on "
			        "are not kept",
			        (unsigned long long)(STORE_CAP >> 20));
		return false;
	}
	p = live_alloc(chunk); /* outside readers follow snapshots to stacks */
	if (!p)
		return false;
	atomic_fetch_add(&bytes_mapped, chunk);
	arena->next = p;
	arena->end = p + chunk;
	arena->chunk = chunk;
	return true;
}

void stackstore_arena_release(struct stack_arena *arena)
{
	if ((size_t)(arena->end - arena->next) >= SPARE_MIN) {
		pthread_mutex_lock(&spare_lock);
		if (nspares < SPARE_MAX) {
			spares[nspares].next = arena->next;
			spares[nspares].end = arena->end;
			nspares++;
		}
		pthread_mutex_unlock(&spare_lock);
	}
	arena->next = arena->end = NULL;
}

void stackstore_after_fork(void)
{
	pthread_mutex_init(&spare_lock, NULL);
}

static struct stack_rec *arena_alloc(struct stack_arena *arena, size_t size)
{
	char *p;

	size = (size + 15) & ~(size_t)15; /* records stay 16-byte aligned */
	if ((size_t)(arena->end - arena->next) < size && !new_chunk(arena, size))
		return NULL;
	p = arena->next;
	arena->next += size;
	return (struct stack_rec *)p;
}

static struct stack_rec *new_rec(struct stack_arena *arena, uint64_t hash, const uintptr_t *frames,
                                 uint32_t n, const void *extra, uint32_t extra_size)
{
	size_t size = sizeof(struct stack_rec) + n * sizeof(*frames);
	struct stack_rec *rec = arena_alloc(arena, size + extra_size);

	if (rec) {
		rec->hash = (uint32_t)(hash >> 32);
		rec->number = live_number(rec);
		rec->nframes = n;
		rec->extra_size = extra_size;
		rec->extra = extra_size ? (char *)rec + size : NULL;
		memcpy(rec->frames, frames, n * sizeof(*frames));
		if (extra_size)
			memcpy((char *)rec + size, extra, extra_size);
	}
	return rec;
}

const struct stack_rec *stackstore_intern(struct stack_arena *arena, const uintptr_t *frames,
                                          uint32_t n, const void *extra, uint32_t extra_size)
{
	uint64_t hash = hash_frames(frames, n);
	struct stack_rec *rec = NULL;
	uint32_t slot = (uint32_t)(hash >> (64 - INDEX_BITS));

	if (!index_ready())
		return NULL;
	for (int probe = 0; probe < PROBE_LIMIT; probe++, slot = (slot + 1) & (INDEX_SIZE - 1)) {
		const struct stack_rec *cur =
		        atomic_load_explicit(&index_slots[slot], memory_order_acquire);

		if (cur) {
			if (equal(cur, hash, frames, n))
				return cur;
			continue;
		}
		if (!rec && !(rec = new_rec(arena, hash, frames, n, extra, extra_size)))
			return NULL;
		if (atomic_compare_exchange_strong_explicit(&index_slots[slot], &cur, rec,
		                                            memory_order_release,
		                                            memory_order_acquire))
			return rec;
		/* Another thread took the slot: it may hold this very stack. */
		if (equal(cur, hash, frames, n))
			return cur; /* rec stays in the arena unused: a few bytes lost */
	}
	/* The probe window is full: keep the stack, unshared. */
	return rec ? rec : new_rec(arena, hash, frames, n, extra, extra_size);
}

uint64_t stackstore_bytes(void)
{
	return atomic_load(&bytes_mapped);
}
