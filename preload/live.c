/* SPDX-License-Identifier: MIT */
/* live.c - the live registry's region: a memfd mapped shared, carved by a lock-free bump allocator. */
#define _GNU_SOURCE
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"

/* Reserved address space; tmpfs pages exist only once touched. */
#define REGION_SIZE ((uint64_t)1 << 30)
#define PAGE 4096u

static struct costack_live_header *header; /* the region's start; NULL: no region */
static int region_fd = -1;

static void *map_anonymous(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The program's own fds keep the numbers they would have had: ours moves
 * out of the low range the program counts on. */
static int out_of_the_way(int fd)
{
	static const int wanted[] = { 1000, 500, 200, 100 };

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		int moved = fcntl(fd, F_DUPFD_CLOEXEC, wanted[i]);

		if (moved >= 0) {
			close(fd);
			return moved;
		}
	}
	return fd;
}

/* A memfd of REGION_SIZE; -1 if none. */
static int region_file(void)
{
	int fd = memfd_create(COSTACK_LIVE_NAME, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)REGION_SIZE) != 0) {
		close(fd);
		return -1;
	}
	return out_of_the_way(fd);
}

void live_init(uint32_t task_size, uint32_t ring_offset)
{
	int saved_errno = errno;
	int fd = region_file();
	void *p;

	if (fd < 0) {
		log_info("no memfd (%s): the live registry is off, costack ps/stacks cannot read "
			 "this process", strerror(errno));
		errno = saved_errno;
		return;
	}
	p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		errno = saved_errno;
		return;
	}
	region_fd = fd;
	header = p;
	memcpy(header->magic, COSTACK_LIVE_MAGIC, sizeof(header->magic));
	header->version = COSTACK_LIVE_VERSION;
	header->header_size = sizeof(*header);
	header->base = (uint64_t)(uintptr_t)p;
	header->size = REGION_SIZE;
	header->pid = getpid();
	header->task_size = task_size;
	header->ring_offset = ring_offset;
	header->snapshot_size = sizeof(struct costack_live_snapshot);
	header->ring = (uint32_t)config.ring;
	header->depth = (uint32_t)config.depth;
	clock_origin(&header->clock_is_tsc, &header->tsc_at_load, &header->monotonic_at_load,
		     &header->realtime_minus_monotonic);
	__atomic_store_n(&header->used, (sizeof(*header) + PAGE - 1) & ~(uint64_t)(PAGE - 1),
			 __ATOMIC_RELEASE);
	errno = saved_errno;
}

void *live_alloc(size_t size)
{
	uint64_t rounded = (size + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	if (header) {
		uint64_t at = __atomic_load_n(&header->used, __ATOMIC_RELAXED);

		while (at + rounded <= header->size)
			if (__atomic_compare_exchange_n(&header->used, &at, at + rounded, true,
							__ATOMIC_RELEASE, __ATOMIC_RELAXED))
				return (char *)header + at;
		/* Full: what comes now is invisible from outside, but works. */
	}
	return map_anonymous(rounded);
}

void live_add_slab(void *slab, uint32_t slots)
{
	uintptr_t at = (uintptr_t)slab, base = (uintptr_t)header;
	uint32_t n;

	if (!header || at < base || at >= base + header->size)
		return;
	n = header->nslabs;
	if (n >= COSTACK_LIVE_MAX_SLABS)
		return;
	header->slabs[n].offset = at - base;
	header->slabs[n].slots = slots;
	__atomic_store_n(&header->nslabs, n + 1, __ATOMIC_RELEASE);
}

const struct costack_live_header *live_header(void)
{
	return header;
}

uint64_t live_bytes(void)
{
	return header ? __atomic_load_n(&header->used, __ATOMIC_RELAXED) : 0;
}

/* Copy the parent's region into fd, then put fd's pages in its place. */
static bool take_over(int fd, uint64_t used)
{
	uint64_t done = 0;

	if (ftruncate(fd, (off_t)REGION_SIZE) != 0)
		return false;
	while (done < used) {
		ssize_t n = pwrite(fd, (char *)header + done, used - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (uint64_t)n;
	}
	return mmap(header, REGION_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0) != MAP_FAILED;
}

void live_after_fork(void)
{
	int saved_errno = errno;
	uint64_t used;
	int fd;
	void *copy;

	if (!header)
		return;
	used = __atomic_load_n(&header->used, __ATOMIC_ACQUIRE);
	fd = memfd_create(COSTACK_LIVE_NAME, MFD_CLOEXEC);
	if (fd >= 0 && take_over(fd, used)) {
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
	/* No memfd: private memory at the same address, seen by no reader. */
	copy = map_anonymous(used);
	if (copy) {
		memcpy(copy, header, used);
		if (mmap(header, REGION_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) != MAP_FAILED) {
			memcpy(header, copy, used);
			memset(header->magic, 0, sizeof(header->magic));
			close(region_fd);
			region_fd = -1;
			header = NULL; /* from now on live_alloc maps anonymous memory */
		}
		munmap(copy, used);
	}
	errno = saved_errno;
}
