/* SPDX-License-Identifier: MIT */
/* live.c - the live registry's region: a memfd mapped in chunks as it grows, carved by a bump
 * allocator. */
#define _GNU_SOURCE
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "fd_place.h"
#include "log.h"

#define PAGE 4096u
/* Chunks double from the first, which holds the header, up to the largest: address space
 * grows with what the region holds (a program's own mmap under `ulimit -v` is not refused
 * for costack's sake), and 64 chunks reach 4 GiB. */
#define FIRST_CHUNK ((uint64_t)256 << 10)
#define LARGEST_CHUNK ((uint64_t)64 << 20)
static struct costack_live_header *header; /* the first chunk's start; NULL: no region */
static int region_fd = -1;                 /* -1: chunks are anonymous memory */
/* The chunk handed out from: (address, offset, size) of one entry of the header's table. */
static _Atomic(const struct costack_live_chunk *) current;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static void *map_anonymous(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * The program's own descriptors keep the numbers they would have had: the memfd moves to the
 * top of its range (fd_place.h). Where none is free high enough, it is closed, and the region is
 * anonymous memory that no outside reader sees.
 */
static int out_of_the_way(int fd)
{
	int moved = fd_out_of_the_way(fd);

	if (moved < 0)
		log_info("no free descriptor near the top of the range (below %d) for the live "
		         "registry: costack ps and costack stacks cannot read this process",
		         FD_CEILING);
	return moved;
}

/* Map bytes [offset, offset + size) of the region, next to the last chunk if that place is
 * free; NULL when out of address space. */
static void *map_chunk(uint64_t offset, uint64_t size, void *hint)
{
	int flags = hint ? MAP_FIXED_NOREPLACE : 0;
	void *p;

	if (region_fd < 0)
		return map_anonymous(size);
	if (ftruncate(region_fd, (off_t)(offset + size)) != 0)
		return NULL;
	p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_SHARED | flags, region_fd, (off_t)offset);
	if (p == MAP_FAILED && hint)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, region_fd, (off_t)offset);
	return p == MAP_FAILED ? NULL : p;
}

bool live_init(uint32_t task_size, uint32_t ring_offset)
{
	int saved_errno = errno;
	int fd = memfd_create(COSTACK_LIVE_NAME, MFD_CLOEXEC);
	struct costack_live_chunk *first;

	if (fd < 0)
		log_info("no memfd (%s): costack ps and costack stacks cannot read this process",
		         strerror(errno));
	else
		region_fd = out_of_the_way(fd);
	header = map_chunk(0, FIRST_CHUNK, NULL);
	if (!header) {
		if (region_fd >= 0)
			close(region_fd);
		region_fd = -1;
		errno = saved_errno;
		return false;
	}
	memcpy(header->magic, COSTACK_LIVE_MAGIC, sizeof(header->magic));
	header->version = COSTACK_LIVE_VERSION;
	header->header_size = sizeof(*header);
	header->pid = getpid();
	header->task_size = task_size;
	header->ring_offset = ring_offset;
	header->snapshot_size = sizeof(struct costack_live_snapshot);
	header->ring = (uint32_t)config.ring;
	header->depth = (uint32_t)config.depth;
	clock_origin(&header->clock_is_tsc, &header->tsc_at_load, &header->monotonic_at_load,
	             &header->realtime_minus_monotonic);
	first = &header->chunks[0];
	*first = (struct costack_live_chunk){(uintptr_t)header, 0, FIRST_CHUNK};
	header->nchunks = 1;
	__atomic_store_n(&header->used, (sizeof(*header) + PAGE - 1) & ~(uint64_t)(PAGE - 1),
	                 __ATOMIC_RELEASE);
	atomic_store_explicit(&current, first, memory_order_release);
	/* Last: a reader takes a size of 0 for a registry still being made. */
	__atomic_store_n(&header->size, FIRST_CHUNK, __ATOMIC_RELEASE);
	errno = saved_errno;
	return true;
}

/* rounded bytes from the current chunk; NULL when they do not fit in it. used only grows,
 * and a new chunk starts it past every older chunk: a CAS that succeeds inside chunk c was
 * made while c was current. */
static void *take(uint64_t rounded)
{
	const struct costack_live_chunk *c = atomic_load_explicit(&current, memory_order_acquire);
	uint64_t at = __atomic_load_n(&header->used, __ATOMIC_RELAXED);

	while (at >= c->offset && at + rounded <= c->offset + c->size)
		if (__atomic_compare_exchange_n(&header->used, &at, at + rounded, true,
		                                __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return (char *)(uintptr_t)c->address + (at - c->offset);
	return NULL;
}

/* Called with grow_lock held: a new chunk of at least rounded bytes, current from now on. */
static bool grow(uint64_t rounded)
{
	uint32_t n = header->nchunks;
	const struct costack_live_chunk *last = &header->chunks[n - 1];
	uint64_t size = last->size * 2 < LARGEST_CHUNK ? last->size * 2 : LARGEST_CHUNK;
	struct costack_live_chunk *c;
	void *p;

	if (n == COSTACK_LIVE_MAX_CHUNKS)
		return false;
	if (size < rounded)
		size = rounded;
	p = map_chunk(header->size, size, (char *)(uintptr_t)last->address + last->size);
	if (!p)
		return false;
	c = &header->chunks[n];
	*c = (struct costack_live_chunk){(uintptr_t)p, header->size, size};
	__atomic_store_n(&header->nchunks, n + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&header->size, c->offset + size, __ATOMIC_RELEASE);
	atomic_store_explicit(&current, c, memory_order_release);
	/* What the last chunk had left is skipped: used moves into the new one. */
	__atomic_store_n(&header->used, c->offset, __ATOMIC_RELEASE);
	return true;
}

void *live_alloc(size_t size)
{
	uint64_t rounded = (size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	void *p;

	if (!header)
		return map_anonymous(rounded);
	p = take(rounded);
	if (p)
		return p;
	pthread_mutex_lock(&grow_lock);
	while (!(p = take(rounded)) && grow(rounded))
		;
	pthread_mutex_unlock(&grow_lock);
	/* No room for another chunk: what comes now is invisible from outside, but works. */
	return p ? p : map_anonymous(rounded);
}

void live_add_slab(void *slab, uint32_t slots)
{
	uint32_t n;

	if (!header)
		return;
	n = header->nslabs;
	if (n >= COSTACK_LIVE_MAX_SLABS)
		return;
	header->slabs[n].address = (uintptr_t)slab;
	header->slabs[n].slots = slots;
	__atomic_store_n(&header->nslabs, n + 1, __ATOMIC_RELEASE);
}

uint32_t live_number(const void *p)
{
	uint32_t n = header ? __atomic_load_n(&header->nchunks, __ATOMIC_ACQUIRE) : 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct costack_live_chunk *c = &header->chunks[i];
		uint64_t at = (uintptr_t)p - c->address;

		if ((uintptr_t)p >= c->address && at < c->size) {
			uint64_t number = (c->offset + at) / COSTACK_LIVE_RECORD_ALIGN;

			return number <= COSTACK_LIVE_WHAT_NUMBER ? (uint32_t)number : 0;
		}
	}
	return 0;
}

const struct costack_live_header *live_header(void)
{
	return header;
}

uint64_t live_bytes(void)
{
	return header ? __atomic_load_n(&header->used, __ATOMIC_RELAXED) : 0;
}

/* Copy the parent's chunks into fd, then put fd's pages in their place, at the same
 * addresses: every pointer in the region stays valid. */
static bool take_over(int fd)
{
	uint32_t n = header->nchunks;

	if (ftruncate(fd, (off_t)header->size) != 0)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const struct costack_live_chunk *c = &header->chunks[i];
		uint64_t done = 0;

		while (done < c->size) {
			ssize_t k = pwrite(fd, (char *)(uintptr_t)c->address + done, c->size - done,
			                   (off_t)(c->offset + done));

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return false;
			done += (uint64_t)k;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct costack_live_chunk *c = &header->chunks[i];

		if (mmap((void *)(uintptr_t)c->address, c->size, PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_FIXED, fd, (off_t)c->offset) == MAP_FAILED)
			return false;
	}
	return true;
}

/* No memfd for the child: each chunk becomes private memory with the same bytes, seen by no
 * outside reader. */
static void take_private(void)
{
	for (uint32_t i = 0; i < header->nchunks; i++) {
		const struct costack_live_chunk *c = &header->chunks[i];
		void *copy = map_anonymous(c->size);

		if (!copy)
			continue; /* the parent's bytes stay shared: its reader sees our writes */
		memcpy(copy, (void *)(uintptr_t)c->address, c->size);
		if (mremap(copy, c->size, c->size, MREMAP_MAYMOVE | MREMAP_FIXED,
		           (void *)(uintptr_t)c->address) == MAP_FAILED)
			munmap(copy, c->size);
	}
}

void live_after_fork(void)
{
	int saved_errno = errno;
	int fd;

	if (!header)
		return;
	pthread_mutex_init(&grow_lock, NULL);
	if (region_fd < 0) {
		header->pid = getpid(); /* private memory: the child has its own copy already */
		return;
	}
	fd = memfd_create(COSTACK_LIVE_NAME, MFD_CLOEXEC);
	if (fd >= 0 && take_over(fd)) {
		/* Same fd number as before, so the program's fds are as they were. */
		if (dup3(fd, region_fd, O_CLOEXEC) >= 0)
			close(fd);
		else
			region_fd = fd;
		header->pid = getpid();
		errno = saved_errno;
		return;
	}
	if (fd >= 0)
		close(fd);
	take_private();
	close(region_fd);
	region_fd = -1;
	header->pid = getpid();
	errno = saved_errno;
}
