/* SPDX-License-Identifier: MIT */
/* stackstore.h - interned call stacks: each distinct stack is stored once and never moves. */
#ifndef COSTACK_STACKSTORE_H
#define COSTACK_STACKSTORE_H

#include <stddef.h>
#include <stdint.h>

/* Frames are return addresses, innermost first, as captured (or the words of another record:
 * costack-live.h's struct costack_live_stack). Immutable once published, so any thread may read
 * one without a lock. */
struct stack_rec {
	uint32_t hash;
	uint32_t number; /* its place in the live region (costack-live.h); 0: outside it */
	uint32_t nframes;
	uint32_t extra_size;
	const void *
	        extra; /* what the capturer attached to the first copy (unwind: the walk's shape) */
	uintptr_t frames[];
};

/* Per-thread bump arena, owned by the thread that interns through it. */
struct stack_arena {
	char *next;
	char *end;
	size_t chunk; /* the size of its last chunk: the next one is twice as large */
};

/* The stored copy of frames[0..n), shared with any equal stack interned
 * before. A new record also keeps a copy of extra[0..extra_size). Lock-free:
 * a lost race stores a duplicate, never a wrong stack. NULL when the store
 * is full (its size is capped) or memory ran out. */
const struct stack_rec *stackstore_intern(struct stack_arena *arena, const uintptr_t *frames,
                                          uint32_t n, const void *extra, uint32_t extra_size);

/* The arena's thread exits: what its chunk has left goes to the next arena that needs room. */
void stackstore_arena_release(struct stack_arena *arena);
/* In a fork child: the lock of the spare rests is made anew. */
void stackstore_after_fork(void);

/* Bytes mapped for stacks and their index, for the benchmark's memory figure. */
uint64_t stackstore_bytes(void);

#endif
