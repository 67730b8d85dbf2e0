/* SPDX-License-Identifier: MIT */
/* live.h - the live registry's region: memory outside readers can map (costack-live.h). */
#ifndef COSTACK_LIVE_REGION_H
#define COSTACK_LIVE_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "costack-live.h"

/* Make the region (a memfd, shared, mapped in chunks as it grows; its descriptor high among
 * the program's) and fill in its header; task records are `task_size` bytes with their ring
 * at `ring_offset`. Without a memfd (an old kernel, a seccomp filter, no free descriptor),
 * the chunks are anonymous memory that no outside reader sees: nothing else changes. False
 * when there is no region at all (out of memory). */
bool live_init(uint32_t task_size, uint32_t ring_offset);

/* size bytes, page-aligned and zeroed, from the region (else anonymous
 * memory); never freed. NULL when out of memory. Thread-safe, lock-free
 * but when the region needs another chunk. */
void *live_alloc(size_t size);

/* A slab of `slots` task records allocated by live_alloc: outside readers
 * see its records from now on. Called under the registry lock. */
void live_add_slab(void *slab, uint32_t slots);

/* The number of the region's record at p (costack-live.h: its offset over
 * COSTACK_LIVE_RECORD_ALIGN), 0 when p is not in the region. */
uint32_t live_number(const void *p);

/* The region's header, NULL if there is none (for the in-process dumps). */
const struct costack_live_header *live_header(void);

/* In a fork child: the region is still the parent's (MAP_SHARED); copy it
 * into a memfd of the child's own, at the same address. */
void live_after_fork(void);

/* Bytes of the region handed out, for the memory benchmark. */
uint64_t live_bytes(void);

#endif
