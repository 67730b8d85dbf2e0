/* SPDX-License-Identifier: MIT */
/* test_task_view.c - unit test of the one get_stack() rule (preload/shared/task_view.h) every
 * reader calls. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "task_view.h"

/* A record as costack-live.h lays it out: the task, then its ring. */
#define RING 4
struct record {
	struct costack_live_task task;
	struct costack_live_snapshot ring[RING];
};

static const struct task_ring_layout layout = {RING, offsetof(struct record, ring),
                                               sizeof(struct costack_live_snapshot)};

enum { SUSPEND, RAISE };

/* The record number a snapshot refers to. */
#define NUMBER(s) ((s).what & COSTACK_LIVE_WHAT_NUMBER)

/* Push a snapshot of kind referring to record number `record` as the newest. */
static void push(struct record *r, int kind, uint32_t record)
{
	r->task.ring_newest = r->task.ring_used ? (r->task.ring_newest + 1) % RING : 0;
	if (r->task.ring_used < RING)
		r->task.ring_used++;
	memset(&r->ring[r->task.ring_newest], 0, sizeof(r->ring[0]));
	r->ring[r->task.ring_newest].what = record | (kind == RAISE ? COSTACK_LIVE_WHAT_RAISE : 0);
	if (kind == RAISE)
		r->task.raises++;
}

static void test_names(void)
{
	static const char *const states[] = {"created", "running",   "suspended", "done",
	                                     "failed",  "cancelled", "unknown"};

	for (int s = 0; s <= COSTACK_STATE_UNKNOWN; s++)
		CHECK_STR_EQ(task_state_name(s), states[s]);
	CHECK(task_state_name(-1) == NULL && task_state_name(COSTACK_STATE_UNKNOWN + 1) == NULL &&
	              task_state_name(42) == NULL,
	      "a state no costack has must have no name");
	CHECK_STR_EQ(task_runtime_name(COSTACK_RUNTIME_THREAD), "thread");
	CHECK_STR_EQ(task_runtime_name(COSTACK_RUNTIME_UCONTEXT), "ucontext");
	CHECK_STR_EQ(task_runtime_name(COSTACK_RUNTIME_FCONTEXT), "fcontext");
	CHECK(task_runtime_name(3) == NULL && task_runtime_name(-1) == NULL,
	      "a runtime no costack knows must have no name");
	for (int s = 0; s <= COSTACK_STATE_UNKNOWN + 1; s++)
		CHECK_EQ(task_state_ended(s),
		         s == COSTACK_DONE || s == COSTACK_FAILED || s == COSTACK_CANCELLED);
}

/* asyncio's table: what get_stack() shows in each state, asked by the task or another. */
static void test_frames_of(void)
{
	static const struct {
		int state;
		enum task_frames other, self;
	} table[] = {
	        {COSTACK_CREATED, TASK_FRAMES_ENTRY, TASK_FRAMES_ENTRY},
	        {COSTACK_RUNNING, TASK_FRAMES_SUSPENSION, TASK_FRAMES_LIVE},
	        {COSTACK_SUSPENDED, TASK_FRAMES_SUSPENSION, TASK_FRAMES_SUSPENSION},
	        {COSTACK_DONE, TASK_FRAMES_NONE, TASK_FRAMES_NONE},
	        {COSTACK_FAILED, TASK_FRAMES_TRACEBACK, TASK_FRAMES_TRACEBACK},
	        {COSTACK_CANCELLED, TASK_FRAMES_NONE, TASK_FRAMES_NONE},
	        {COSTACK_STATE_UNKNOWN, TASK_FRAMES_NONE, TASK_FRAMES_NONE},
	        {99, TASK_FRAMES_NONE, TASK_FRAMES_NONE},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		CHECK_EQ(task_frames_of(table[i].state, false, 2), table[i].other);
		CHECK_EQ(task_frames_of(table[i].state, true, 2), table[i].self);
	}
	/* Running and never suspended (switched in once): it was last resumed at its entry. */
	CHECK_EQ(task_frames_of(COSTACK_RUNNING, false, 1), TASK_FRAMES_ENTRY);
	CHECK_EQ(task_frames_of(COSTACK_RUNNING, true, 1), TASK_FRAMES_LIVE);
	CHECK_EQ(task_frames_of(COSTACK_SUSPENDED, false, 1), TASK_FRAMES_SUSPENSION);
}

/* A stack keeps its newest limit frames, a traceback its oldest; limit <= 0 keeps all. */
static void test_limit(void)
{
	uint32_t first;

	for (int limit = -1; limit <= 7; limit++) {
		uint32_t want = limit > 0 && limit < 5 ? (uint32_t)limit : 5;

		CHECK_EQ(task_frames_limit(TASK_FRAMES_SUSPENSION, 5, limit, &first), want);
		CHECK_EQ(first, 5 - want);
		CHECK_EQ(task_frames_limit(TASK_FRAMES_LIVE, 5, limit, &first), want);
		CHECK_EQ(first, 5 - want);
		CHECK_EQ(task_frames_limit(TASK_FRAMES_TRACEBACK, 5, limit, &first), want);
		CHECK_EQ(first, 0);
	}
	CHECK_EQ(task_frames_limit(TASK_FRAMES_SUSPENSION, 0, 3, &first), 0);
	CHECK_EQ(first, 0);
}

/* The raise a failed task died of: the kept one, else the newest; gone when neither is known. */
static void test_fatal_raise(void)
{
	struct record rec;
	struct task_record r;

	CHECK_EQ(task_fatal_raise_number(true, 2, 5), 2);
	CHECK_EQ(task_fatal_raise_number(false, 2, 5), 5);

	/* Raise 1 kept, raise 2 caught at once after it, then the task suspended. */
	memset(&rec, 0, sizeof(rec));
	rec.task.id = 7;
	rec.task.state = COSTACK_FAILED;
	push(&rec, RAISE, 0x1000);
	rec.task.kept = rec.ring[rec.task.ring_newest];
	rec.task.flags |= COSTACK_LIVE_TASK_HAS_KEPT;
	rec.task.kept_raise = 1;
	push(&rec, RAISE, 0x2000);
	push(&rec, SUSPEND, 0x3000);
	CHECK(task_record_copy(&rec, &layout, &r, 0), "copy of a quiet record");
	CHECK(r.has_raise && NUMBER(r.raise) == 0x2000, "the newest raise: %#x", NUMBER(r.raise));
	CHECK(r.has_suspend && NUMBER(r.suspend) == 0x3000, "the newest suspension");
	CHECK(task_record_fatal_raise(&r) && NUMBER(*task_record_fatal_raise(&r)) == 0x1000,
	      "a failed task's traceback is its kept raise's, not its newest raise's");
	CHECK(task_record_frames(&r, TASK_FRAMES_TRACEBACK) == task_record_fatal_raise(&r),
	      "a traceback's frames are the fatal raise's");
	CHECK(task_record_frames(&r, TASK_FRAMES_SUSPENSION) &&
	              NUMBER(*task_record_frames(&r, TASK_FRAMES_SUSPENSION)) == 0x3000,
	      "a stack's frames are the newest suspension's");
	CHECK(!task_record_frames(&r, TASK_FRAMES_NONE) &&
	              !task_record_frames(&r, TASK_FRAMES_ENTRY),
	      "no snapshot for none or an entry");

	/* Nothing kept (a runtime that reports no keeping): the newest raise. */
	rec.task.flags &= (uint8_t)~COSTACK_LIVE_TASK_HAS_KEPT;
	CHECK(task_record_copy(&rec, &layout, &r, 0), "copy");
	CHECK(task_record_fatal_raise(&r) && NUMBER(*task_record_fatal_raise(&r)) == 0x2000,
	      "nothing kept: the newest raise");

	/* The newest raise pushed out of the ring by suspensions, nothing kept: not known. */
	for (int i = 0; i < RING; i++)
		push(&rec, SUSPEND, 0x4000 + (uint64_t)i);
	CHECK(task_record_copy(&rec, &layout, &r, 0), "copy");
	CHECK(!r.has_raise && !task_record_fatal_raise(&r), "a raise out of the ring is not known");

	/* A task that never suspended shows no suspension. */
	memset(&rec, 0, sizeof(rec));
	rec.task.state = COSTACK_RUNNING;
	CHECK(task_record_copy(&rec, &layout, &r, 0), "copy");
	CHECK(!task_record_frames(&r, TASK_FRAMES_SUSPENSION), "never suspended: no stack");
}

/* A copy takes every value from itself: ring counts that lie are not followed. */
static void test_copy_bounds(void)
{
	struct record rec[2];
	struct task_record r;

	memset(rec, 0, sizeof(rec));
	rec[1].task.id = 0xdead; /* what lies past the ring: must not be read as snapshots */
	rec[0].task.ring_used = 1000;
	rec[0].task.ring_newest = 2;
	CHECK(task_record_copy(&rec[0], &layout, &r, 0), "copy");
	CHECK(!r.has_suspend && !r.has_raise, "ring_used past the ring: no snapshot taken");
	rec[0].task.ring_used = 2;
	rec[0].task.ring_newest = RING + 3;
	CHECK(task_record_copy(&rec[0], &layout, &r, 0), "copy");
	CHECK(!r.has_suspend && !r.has_raise, "ring_newest past the ring: no snapshot taken");
}

/* A record whose writer never finishes (odd seqlock) is busy once the deadline passed. */
static void test_copy_busy(void)
{
	struct record rec;
	struct task_record r;

	memset(&rec, 0, sizeof(rec));
	rec.task.seq = 1;
	CHECK(!task_record_copy(&rec, &layout, &r, 1), "a record being written is never copied");
}

/* A writer changes the record without end, keeping switches == cpu_ticks == the suspension's
 * stack in each write section; every copy must show them equal. A copy that did not check the
 * seqlock again after copying would show torn records. */
#define WRITES 2000000

static atomic_bool stop_writer;

static void *writer_main(void *arg)
{
	struct record *rec = arg;

	for (uint64_t v = 1; !atomic_load_explicit(&stop_writer, memory_order_relaxed); v++) {
		uint32_t seq = __atomic_load_n(&rec->task.seq, __ATOMIC_RELAXED);

		__atomic_store_n(&rec->task.seq, seq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&rec->task.switches, v, __ATOMIC_RELAXED);
		__atomic_store_n(&rec->ring[0].what, (uint32_t)v & COSTACK_LIVE_WHAT_NUMBER,
		                 __ATOMIC_RELAXED);
		__atomic_store_n(&rec->task.cpu_ticks, v, __ATOMIC_RELAXED);
		__atomic_store_n(&rec->task.seq, seq + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_copy_concurrent(void)
{
	static struct record rec;
	struct task_record r;
	pthread_t writer;
	unsigned torn = 0, copies = 0;

	memset(&rec, 0, sizeof(rec));
	push(&rec, SUSPEND, 0);
	if (pthread_create(&writer, NULL, writer_main, &rec) != 0) {
		CHECK(false, "cannot start the writer");
		return;
	}
	for (int i = 0; i < (RUNNING_ON_VALGRIND ? 2000 : WRITES / 10); i++) {
		if (!task_record_copy(&rec, &layout, &r, 0))
			continue;
		copies++;
		if (r.task.switches != r.task.cpu_ticks || !r.has_suspend ||
		    NUMBER(r.suspend) != (r.task.switches & COSTACK_LIVE_WHAT_NUMBER))
			torn++;
	}
	atomic_store(&stop_writer, true);
	pthread_join(writer, NULL);
	CHECK(copies > 0, "no copy succeeded");
	CHECK(torn == 0, "%u of %u copies were torn", torn, copies);
}

int main(void)
{
	test_names();
	test_frames_of();
	test_limit();
	test_fatal_raise();
	test_copy_bounds();
	test_copy_busy();
	test_copy_concurrent();
	return check_finish("test_task_view");
}
