/* SPDX-License-Identifier: MIT */
/* test_live_read.c - unit test of the outside reader (analysis/live/live_read.c) on a registry
 * the core made in this very process: a region of several chunks, read as it grows. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "live.h"
#include "live_read.h"
#include "task.h"
#include "utask.h"

/* Exported, so that dladdr() names them. */
void waits_here(struct utask *t);
void task_body(struct utask *t);

/* The task's suspension point: the innermost frame of its stack. */
__attribute__((noinline)) void waits_here(struct utask *t)
{
	UTASK_YIELD(t);
}

void task_body(struct utask *t)
{
	waits_here(t);
}

/* Whether address lies in the region's chunk i. */
static bool in_chunk(const struct costack_live_header *h, uint32_t i, uint64_t address)
{
	return address >= h->chunks[i].address &&
	       address - h->chunks[i].address < h->chunks[i].size;
}

static const struct live_task *find(const struct live_snapshot *s, uint64_t id)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].id == id)
			return &s->tasks[i];
	return NULL;
}

/* A read of this very process: t among the tasks read, none bad or busy, t suspended in
 * waits_here. */
static void check_read(struct utask *t)
{
	struct live_snapshot snap;
	struct live_error err;
	const struct live_task *seen;
	Dl_info info;

	CHECK(live_read_pid(getpid(), &snap, &err) == 0, "read: %s", err.message);
	if (err.status != LIVE_OK)
		return;
	CHECK_EQ(snap.bad, 0);
	CHECK_EQ(snap.busy, 0);
	seen = find(&snap, utask_id(t));
	CHECK(seen != NULL, "the task (id %llu) is among the %zu read",
	      (unsigned long long)utask_id(t), snap.ntasks);
	if (seen) {
		CHECK_EQ(seen->state, COSTACK_SUSPENDED);
		CHECK(seen->nframes >= 1 &&
		              dladdr((void *)(uintptr_t)seen->frames[seen->nframes - 1], &info) &&
		              info.dli_sname && !strcmp(info.dli_sname, "waits_here"),
		      "suspended in waits_here (%u frames)", seen->nframes);
	}
	live_snapshot_free(&snap);
}

/* The reader starts from the region's first chunk, which holds the header, as it was when the
 * read began; tasks and stacks made later lie in chunks mapped since (the first slab of task
 * records already does: it is larger than what the first chunk has left). A read that took
 * the region's size once, before its tasks, reported "slab 0 ... is not inside the region"
 * or took later records for holes. */
static void test_region_grown(void)
{
	const struct costack_live_header *h;
	struct utask t;

	CHECK(utask_make(&t, task_body, NULL, 64 << 10), "a task made");
	utask_resume(&t); /* it suspends in waits_here */
	h = live_header();
	CHECK(h != NULL, "the core made a live registry");
	if (!h)
		return;
	CHECK(h->nchunks >= 2 && h->nslabs >= 1 && !in_chunk(h, 0, h->slabs[0].address),
	      "the first slab lies past the first chunk (%u chunks, %u slabs): the case tested",
	      h->nchunks, h->nslabs);
	check_read(&t);
	utask_resume(&t); /* it ends */
	utask_free(&t);
}

/* Linked with --wrap=pread64 (the reader's pread, with 64-bit offsets): every pread of the
 * reader first rewrites this task's record, as a task that switches a million times a second
 * does between any two system calls of a reader. */
static struct task *rewritten;
static unsigned long rewrites;
ssize_t __real_pread64(int fd, void *buf, size_t count, off64_t offset);
ssize_t __wrap_pread64(int fd, void *buf, size_t count, off64_t offset);

ssize_t __wrap_pread64(int fd, void *buf, size_t count, off64_t offset)
{
	if (rewritten) {
		atomic_fetch_add(&rewritten->seq, 2); /* a whole write section, between two calls */
		rewrites++;
	}
	return __real_pread64(fd, buf, count, offset);
}

/* Such a record is never the same in two of the reader's preads: copied between two copies of
 * its seqlock, it is busy until the read's budget is spent (200 ms), then left out. Copied in
 * one process_vm_readv (seqlock, record, seqlock, back to back), it is read at once, and the
 * target loses no more cache lines to the reader than one copy's. */
static void test_record_rewritten(void)
{
	struct utask t;

	CHECK(utask_make(&t, task_body, NULL, 64 << 10), "a task made");
	utask_resume(&t); /* it suspends in waits_here */
	rewritten = t.task;
	check_read(&t);
	rewritten = NULL;
	CHECK(rewrites > 0, "the reader's preads were not seen (--wrap=pread64)");
	utask_resume(&t); /* it ends */
	utask_free(&t);
}

int main(void)
{
	test_region_grown();
	test_record_rewritten();
	return check_finish("test_live_read");
}
