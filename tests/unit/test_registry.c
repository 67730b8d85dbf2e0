/* SPDX-License-Identifier: MIT */
/* test_registry.c - unit test of the task registry through the adapter interface and the costack.h
 * API. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "config.h"
#include "core.h"
#include "costack.h"
#include "utask.h"

#define STACK_SIZE (64 * 1024)
#define MS 1000000ull
/* Task times are monotonic ones shifted by an offset sampled once: allow for
 * the offset's own error against CLOCK_REALTIME read here. */
#define SLACK_NS (1 * MS)

static uint64_t last_id; /* the highest task id seen so far */
static int some_global;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * Task times are read from the clock COSTACK_CLOCK names (the kernel's coarse one by default, up
 * to a tick behind the monotonic one, more when ticks are late), shown as CLOCK_REALTIME by an
 * offset sampled once. The moments the checks compare them with are read from the same clock,
 * shown the same way: one read before an event is no later than the event's, one after it no
 * earlier, whatever the clock's resolution.
 */
static clockid_t task_clock = CLOCK_MONOTONIC_COARSE;
static uint64_t realtime_minus_monotonic;

static uint64_t realtime_ns(void)
{
	return clock_ns(task_clock) + realtime_minus_monotonic;
}

static void thread_cpu_spin(uint64_t ns)
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC);

	while (clock_ns(CLOCK_MONOTONIC) - start < ns)
		;
}

static int info_of(costack_task_t id, struct costack_task_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return costack_task_info(id, info);
}

/* A new id: unique and greater than every id before it. */
static void check_new_id(uint64_t id, const char *what)
{
	CHECK(id > last_id, "%s: id %llu not above the last id %llu", what, (unsigned long long)id,
	      (unsigned long long)last_id);
	if (id > last_id)
		last_id = id;
}

/* An unknown task: -1 and ESRCH from every function that takes one. */
static void check_unknown(uint64_t id, const char *what)
{
	struct costack_task_info info;
	void *frames[8];
	char buf[64];
	FILE *out = fmemopen(buf, sizeof(buf), "w");
	int rc;

	errno = 0;
	rc = costack_task_state(id);
	CHECK(rc == -1 && errno == ESRCH, "%s (id %llu): costack_task_state = %d, errno %d", what,
	      (unsigned long long)id, rc, errno);
	errno = 0;
	rc = info_of(id, &info);
	CHECK(rc == -1 && errno == ESRCH, "%s (id %llu): costack_task_info = %d, errno %d", what,
	      (unsigned long long)id, rc, errno);
	errno = 0;
	rc = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), 8);
	CHECK(rc == -1 && errno == ESRCH, "%s (id %llu): costack_get_stack = %d, errno %d", what,
	      (unsigned long long)id, rc, errno);
	errno = 0;
	rc = costack_set_task_name(id, "x");
	CHECK(rc == -1 && errno == ESRCH, "%s (id %llu): costack_set_task_name = %d, errno %d",
	      what, (unsigned long long)id, rc, errno);
	errno = 0;
	rc = out ? costack_print_stack(id, 0, out) : -1;
	CHECK(rc == -1 && errno == ESRCH, "%s (id %llu): costack_print_stack = %d, errno %d", what,
	      (unsigned long long)id, rc, errno);
	if (out) {
		CHECK(ftell(out) == 0, "%s: costack_print_stack of an unknown task wrote %ld bytes",
		      what, ftell(out));
		fclose(out);
	}
}

static bool is_unfinished(uint64_t id)
{
	costack_task_t ids[4096];
	size_t n = costack_all_tasks(ids, 4096);

	for (size_t i = 0; i < n && i < 4096; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* --- the main thread's root task -------------------------------------------------- */

static void test_root(void)
{
	struct costack_task_info info;
	int local = 0;
	uint64_t first_call = realtime_ns(), now;

	/* Nothing is registered before costack is first needed: no task, not even a root. */
	CHECK_EQ(costack_all_tasks(NULL, 0), 0);
	CHECK_EQ(costack_task_state(1), -1);
	/* The API's first call makes the registry and registers the main thread: task 1. */
	CHECK_EQ(costack_current_task(), 1);
	now = realtime_ns();
	last_id = 1;
	CHECK_EQ(costack_task_state(1), COSTACK_RUNNING);
	CHECK_EQ(info_of(1, &info), 0);
	CHECK_EQ(info.id, 1);
	CHECK_EQ(info.parent, 0);
	CHECK_EQ(info.state, COSTACK_RUNNING);
	CHECK_EQ(info.runtime, COSTACK_RUNTIME_THREAD);
	CHECK(info.entry == NULL, "root entry %p", info.entry);
	CHECK(info.stack_lo <= (void *)&local && (void *)&local < info.stack_hi,
	      "root stack [%p, %p) does not hold a local at %p", info.stack_lo, info.stack_hi,
	      (void *)&local);
	CHECK_EQ(info.thread, gettid());
	CHECK(info.switches >= 1, "root switches %llu", (unsigned long long)info.switches);
	CHECK(info.created_ns + SLACK_NS >= first_call && info.created_ns <= now + SLACK_NS,
	      "root created_ns %llu, now %llu", (unsigned long long)info.created_ns,
	      (unsigned long long)now);
	CHECK(info.state_since_ns >= info.created_ns && info.state_since_ns <= now + SLACK_NS,
	      "root state_since_ns %llu, created %llu, now %llu",
	      (unsigned long long)info.state_since_ns, (unsigned long long)info.created_ns,
	      (unsigned long long)now);
	CHECK_STR_EQ(info.name, "");
	CHECK_EQ(costack_task_at(&local), 1);

	/* A running task's cpu_ns counts the current run too: at least the time between the
	 * two questions (2 ms with a precise clock). */
	uint64_t before = info.cpu_ns, asked = realtime_ns();
	thread_cpu_spin(2 * MS);
	uint64_t asking = realtime_ns();
	CHECK_EQ(info_of(1, &info), 0);
	CHECK(info.cpu_ns >= before + (asking - asked),
	      "root cpu_ns %llu -> %llu over a 2 ms spin (%llu ns on the task clock)",
	      (unsigned long long)before, (unsigned long long)info.cpu_ns,
	      (unsigned long long)(asking - asked));
}

/* --- created -> running -> suspended -> done --------------------------------------- */

struct lifecycle {
	int rounds;
	uint64_t self_seen[8];
	int state_seen[8];
	int root_state_seen[8];
	struct costack_task_info info_seen[8];
	uint64_t run_started[8]; /* realtime just before each resume */
	uint64_t entered_at[8];  /* realtime in the task, as each resume returned */
	uint64_t asked_at[8];    /* realtime just before each info_seen */
	uint64_t yielded_at[8];  /* realtime just before each yield */
};

void lifecycle_entry(struct utask *t);
void lifecycle_entry(struct utask *t)
{
	struct lifecycle *l = t->arg;

	for (int r = 0; r < l->rounds; r++) {
		l->entered_at[r] = realtime_ns();
		l->self_seen[r] = costack_current_task();
		l->state_seen[r] = costack_task_state(utask_id(t));
		l->root_state_seen[r] = costack_task_state(1);
		thread_cpu_spin(2 * MS);
		l->asked_at[r] = realtime_ns();
		info_of(utask_id(t), &l->info_seen[r]);
		l->yielded_at[r] = realtime_ns();
		UTASK_YIELD(t);
	}
}

static void test_lifecycle(void)
{
	struct lifecycle l = {.rounds = 5};
	struct costack_task_info info, root_before, root_after;
	struct utask t;
	uint64_t before, after, id;

	before = realtime_ns();
	CHECK(utask_make(&t, lifecycle_entry, &l, STACK_SIZE), "utask_make failed");
	after = realtime_ns();
	id = utask_id(&t);
	check_new_id(id, "first task made");

	/* created */
	CHECK_EQ(costack_task_state(id), COSTACK_CREATED);
	CHECK_EQ(info_of(id, &info), 0);
	CHECK_EQ(info.id, id);
	CHECK_EQ(info.parent, 1);
	CHECK_EQ(info.state, COSTACK_CREATED);
	CHECK_EQ(info.runtime, COSTACK_RUNTIME_UCONTEXT);
	CHECK(info.entry == (void *)lifecycle_entry, "entry %p, expected %p", info.entry,
	      (void *)lifecycle_entry);
	CHECK(info.stack_lo == t.stack && info.stack_hi == t.stack + STACK_SIZE,
	      "stack [%p, %p), expected [%p, %p)", info.stack_lo, info.stack_hi, (void *)t.stack,
	      (void *)(t.stack + STACK_SIZE));
	CHECK_EQ(info.thread, gettid());
	CHECK_EQ(info.switches, 0);
	CHECK_EQ(info.cpu_ns, 0);
	CHECK(info.created_ns + SLACK_NS >= before && info.created_ns <= after + SLACK_NS,
	      "created_ns %llu not in [%llu, %llu]", (unsigned long long)info.created_ns,
	      (unsigned long long)before, (unsigned long long)after);
	CHECK_EQ(info.state_since_ns, info.created_ns);
	CHECK_STR_EQ(info.name, "");
	CHECK(is_unfinished(id), "a created task is missing from costack_all_tasks");

	/* The task's stack, and only it, is the task's. */
	CHECK_EQ(costack_task_at(t.stack), id);
	CHECK_EQ(costack_task_at(t.stack + STACK_SIZE / 2), id);
	CHECK_EQ(costack_task_at(t.stack + STACK_SIZE - 1), id);
	CHECK(costack_task_at(t.stack + STACK_SIZE) != id, "one past the stack's end is task %llu",
	      (unsigned long long)costack_task_at(t.stack + STACK_SIZE));
	CHECK(costack_task_at(t.stack - 1) != id, "one before the stack is task %llu",
	      (unsigned long long)costack_task_at(t.stack - 1));

	for (int r = 0; r < l.rounds; r++) {
		info_of(1, &root_before);
		l.run_started[r] = realtime_ns();
		utask_resume(&t);
		after = realtime_ns();
		info_of(1, &root_after);

		/* What the task saw while it ran. */
		CHECK_EQ(l.self_seen[r], id);
		CHECK_EQ(l.state_seen[r], COSTACK_RUNNING);
		CHECK_EQ(l.root_state_seen[r], COSTACK_SUSPENDED);
		CHECK_EQ(l.info_seen[r].state, COSTACK_RUNNING);
		CHECK_EQ(l.info_seen[r].switches, r + 1);
		CHECK_EQ(l.info_seen[r].thread, gettid());
		CHECK(l.info_seen[r].state_since_ns + SLACK_NS >= l.run_started[r] &&
		              l.info_seen[r].state_since_ns <= l.yielded_at[r] + SLACK_NS,
		      "round %d: running since %llu, not in [%llu, %llu]", r,
		      (unsigned long long)l.info_seen[r].state_since_ns,
		      (unsigned long long)l.run_started[r], (unsigned long long)l.yielded_at[r]);
		/* At least the time it was seen running (2 ms a round with a precise clock). */
		uint64_t seen_running = l.asked_at[r] - l.entered_at[r];
		for (int k = 0; k < r; k++)
			seen_running += l.yielded_at[k] - l.entered_at[k];
		CHECK(l.info_seen[r].cpu_ns >= seen_running,
		      "round %d: cpu_ns %llu while running, seen running %llu ns in %d spins of 2 "
		      "ms",
		      r, (unsigned long long)l.info_seen[r].cpu_ns,
		      (unsigned long long)seen_running, r + 1);

		/* suspended, back in the root */
		CHECK_EQ(costack_task_state(id), COSTACK_SUSPENDED);
		CHECK_EQ(costack_task_state(1), COSTACK_RUNNING);
		CHECK_EQ(costack_current_task(), 1);
		CHECK_EQ(info_of(id, &info), 0);
		CHECK_EQ(info.state, COSTACK_SUSPENDED);
		CHECK_EQ(info.switches, r + 1);
		CHECK_EQ(info.thread, gettid());
		CHECK(info.state_since_ns + SLACK_NS >= l.yielded_at[r] &&
		              info.state_since_ns <= after + SLACK_NS,
		      "round %d: suspended since %llu, not in [%llu, %llu]", r,
		      (unsigned long long)info.state_since_ns, (unsigned long long)l.yielded_at[r],
		      (unsigned long long)after);
		CHECK(info.cpu_ns >= l.info_seen[r].cpu_ns,
		      "round %d: cpu_ns went back %llu -> %llu", r,
		      (unsigned long long)l.info_seen[r].cpu_ns, (unsigned long long)info.cpu_ns);
		CHECK(info.cpu_ns <= after - before,
		      "round %d: cpu_ns %llu exceeds the task's lifetime %llu", r,
		      (unsigned long long)info.cpu_ns, (unsigned long long)(after - before));
		CHECK_EQ(root_after.switches, root_before.switches + 1);
		CHECK(is_unfinished(id), "a suspended task is missing from costack_all_tasks");

		/* Suspended, a task's cpu_ns stays still. */
		uint64_t cpu = info.cpu_ns;
		thread_cpu_spin(MS);
		info_of(id, &info);
		CHECK(info.cpu_ns == cpu, "round %d: suspended task's cpu_ns moved %llu -> %llu", r,
		      (unsigned long long)cpu, (unsigned long long)info.cpu_ns);
	}

	/* done: its entry returns */
	before = realtime_ns();
	utask_resume(&t);
	after = realtime_ns();
	CHECK(t.ended, "the task did not end");
	CHECK_EQ(costack_task_state(id), COSTACK_DONE);
	CHECK_EQ(costack_current_task(), 1);
	CHECK_EQ(costack_task_state(1), COSTACK_RUNNING);
	CHECK_EQ(info_of(id, &info), 0);
	CHECK_EQ(info.state, COSTACK_DONE);
	CHECK_EQ(info.switches, l.rounds + 1);
	CHECK(info.state_since_ns + SLACK_NS >= before && info.state_since_ns <= after + SLACK_NS,
	      "done since %llu, not in [%llu, %llu]", (unsigned long long)info.state_since_ns,
	      (unsigned long long)before, (unsigned long long)after);
	CHECK(!is_unfinished(id), "a done task is still in costack_all_tasks");
	CHECK_EQ(costack_task_at(t.stack + STACK_SIZE / 2), 0);
	utask_free(&t);
}

/* --- parents ------------------------------------------------------------------------ */

struct family {
	struct utask child;
	uint64_t child_parent;
	int parent_state_in_child, root_state_in_child;
};

void child_entry(struct utask *t);
void child_entry(struct utask *t)
{
	struct family *f = t->arg;

	f->parent_state_in_child = costack_task_state(f->child.resumer->id);
	f->root_state_in_child = costack_task_state(1);
	UTASK_YIELD(t);
}

void parent_entry(struct utask *t);
void parent_entry(struct utask *t)
{
	struct family *f = t->arg;
	struct costack_task_info info;

	utask_make(&f->child, child_entry, f, STACK_SIZE);
	info_of(utask_id(&f->child), &info);
	f->child_parent = info.parent;
	utask_resume(&f->child); /* it yields back here */
	utask_resume(&f->child); /* it ends */
}

static void test_parents(void)
{
	struct family f;
	struct utask parent;

	memset(&f, 0, sizeof(f));
	utask_make(&parent, parent_entry, &f, STACK_SIZE);
	check_new_id(utask_id(&parent), "parent task");
	utask_resume(&parent);
	check_new_id(utask_id(&f.child), "child task");
	CHECK_EQ(f.child_parent, utask_id(&parent));
	CHECK_EQ(f.parent_state_in_child, COSTACK_SUSPENDED);
	CHECK_EQ(f.root_state_in_child, COSTACK_SUSPENDED);
	CHECK_EQ(costack_task_state(utask_id(&f.child)), COSTACK_DONE);
	CHECK_EQ(costack_task_state(utask_id(&parent)), COSTACK_DONE);
	utask_free(&f.child);
	utask_free(&parent);
}

/* --- names and states ------------------------------------------------------------ */

static void test_state_names(void)
{
	static const char *const names[] = {"created", "running", "suspended",
	                                    "done",    "failed",  "cancelled"};

	CHECK_STR_EQ(costack_state_name(COSTACK_CREATED), "created");
	CHECK_STR_EQ(costack_state_name(COSTACK_RUNNING), "running");
	CHECK_STR_EQ(costack_state_name(COSTACK_SUSPENDED), "suspended");
	CHECK_STR_EQ(costack_state_name(COSTACK_DONE), "done");
	CHECK_STR_EQ(costack_state_name(COSTACK_FAILED), "failed");
	CHECK_STR_EQ(costack_state_name(COSTACK_CANCELLED), "cancelled");
	for (int s = 0; s < 6; s++)
		CHECK_STR_EQ(costack_state_name(s), names[s]);
	CHECK_STR_EQ(costack_state_name(-1), "?");
	CHECK_STR_EQ(costack_state_name(6), "?");
	CHECK_STR_EQ(costack_state_name(1000), "?");

	check_unknown(0, "id 0");
	check_unknown(last_id + 1000000, "an id never given");
	check_unknown(UINT64_MAX, "UINT64_MAX");
}

static void test_task_names(void)
{
	struct costack_task_info info;
	struct utask t;
	char long_name[200], expected[COSTACK_NAME_MAX];
	uint64_t id;

	utask_make(&t, lifecycle_entry, NULL, STACK_SIZE);
	id = utask_id(&t);
	check_new_id(id, "named task");

	CHECK_EQ(costack_set_task_name(id, "worker-1"), 0);
	info_of(id, &info);
	CHECK_STR_EQ(info.name, "worker-1");

	/* COSTACK_NAME_MAX - 1 bytes fit; longer names are cut there. */
	for (int i = 0; i < (int)sizeof(long_name) - 1; i++)
		long_name[i] = (char)('a' + i % 26);
	long_name[sizeof(long_name) - 1] = '\0';
	memcpy(expected, long_name, COSTACK_NAME_MAX - 1);
	expected[COSTACK_NAME_MAX - 1] = '\0';
	CHECK_EQ(costack_set_task_name(id, long_name), 0);
	info_of(id, &info);
	CHECK_EQ(strnlen(info.name, sizeof(info.name)), COSTACK_NAME_MAX - 1);
	CHECK_STR_EQ(info.name, expected);

	long_name[COSTACK_NAME_MAX - 1] = '\0'; /* exactly COSTACK_NAME_MAX - 1 */
	CHECK_EQ(costack_set_task_name(id, long_name), 0);
	info_of(id, &info);
	CHECK_STR_EQ(info.name, long_name);

	long_name[COSTACK_NAME_MAX - 1] = 'X'; /* COSTACK_NAME_MAX */
	long_name[COSTACK_NAME_MAX] = '\0';
	CHECK_EQ(costack_set_task_name(id, long_name), 0);
	info_of(id, &info);
	CHECK_STR_EQ(info.name, expected);

	/* A shorter name replaces a longer one entirely. */
	CHECK_EQ(costack_set_task_name(id, "ab"), 0);
	info_of(id, &info);
	CHECK_STR_EQ(info.name, "ab");
	CHECK_EQ(costack_set_task_name(id, ""), 0);
	info_of(id, &info);
	CHECK_STR_EQ(info.name, "");

	/* The root task can be named too. */
	CHECK_EQ(costack_set_task_name(1, "main"), 0);
	info_of(1, &info);
	CHECK_STR_EQ(info.name, "main");
	CHECK_EQ(costack_set_task_name(1, ""), 0);
	/* t stays created: no need to run it */
}

static void test_info_size(void)
{
	struct costack_task_info info;
	struct {
		struct costack_task_info info;
		unsigned char more[32];
	} bigger;
	unsigned char pristine[sizeof(info)];
	int rc;

	/* Smaller than the first version of the struct: EINVAL, nothing written. */
	memset(&info, 0xab, sizeof(info));
	info.size = offsetof(struct costack_task_info, raises) - 1;
	memcpy(pristine, &info, sizeof(info));
	errno = 0;
	rc = costack_task_info(1, &info);
	CHECK(rc == -1 && errno == EINVAL, "size %zu: rc %d, errno %d", (size_t)info.size, rc,
	      errno);
	CHECK(!memcmp(pristine, &info, sizeof(info)), "a refused info was written to");

	/* The first version's struct (before the exception fields): filled as
	 * far as it goes, nothing beyond. */
	memset(&info, 0xab, sizeof(info));
	info.size = offsetof(struct costack_task_info, raises);
	memcpy(pristine, &info, sizeof(info));
	rc = costack_task_info(1, &info);
	CHECK(rc == 0 && info.id == 1 && info.size == offsetof(struct costack_task_info, raises),
	      "first-version size: rc %d, id %llu", rc, (unsigned long long)info.id);
	CHECK(!memcmp((char *)pristine + info.size, (char *)&info + info.size,
	              sizeof(info) - info.size),
	      "a first-version info was written beyond its size");

	info.size = 0;
	errno = 0;
	rc = costack_task_info(1, &info);
	CHECK(rc == -1 && errno == EINVAL, "size 0: rc %d, errno %d", rc, errno);

	errno = 0;
	rc = costack_task_info(1, NULL);
	CHECK(rc == -1 && errno == EINVAL, "NULL info: rc %d, errno %d", rc, errno);

	/* A bad size is EINVAL even for an unknown task. */
	info.size = 8;
	errno = 0;
	rc = costack_task_info(UINT64_MAX, &info);
	CHECK(rc == -1 && errno == EINVAL, "size 8, unknown task: rc %d, errno %d", rc, errno);

	/* A larger struct (a newer caller): filled up to what this version knows. */
	memset(&bigger, 0xcd, sizeof(bigger));
	bigger.info.size = sizeof(bigger);
	CHECK_EQ(costack_task_info(1, &bigger.info), 0);
	CHECK_EQ(bigger.info.id, 1);
	CHECK_EQ(bigger.info.size, sizeof(bigger));
	bool untouched = true;
	for (size_t i = 0; i < sizeof(bigger.more); i++)
		untouched &= bigger.more[i] == 0xcd;
	CHECK(untouched, "costack_task_info wrote past its own struct");
}

/* --- all tasks, task at ---------------------------------------------------------- */

void short_entry(struct utask *t);
void short_entry(struct utask *t)
{
	UTASK_YIELD(t);
}

static bool contains(const costack_task_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void test_all_tasks(void)
{
	costack_task_t ids[4096], small[4];
	struct utask t[5];
	size_t base, n;

	base = costack_all_tasks(NULL, 0);
	CHECK(base >= 1, "costack_all_tasks counts %zu tasks, the root at least", base);
	n = costack_all_tasks(ids, 4096);
	CHECK_EQ(n, base);
	CHECK(contains(ids, n, 1), "the running root task is not listed");
	for (size_t i = 0; i < n && i < 4096; i++) {
		int s = costack_task_state(ids[i]);
		CHECK(s == COSTACK_CREATED || s == COSTACK_RUNNING || s == COSTACK_SUSPENDED,
		      "listed task %llu is %s", (unsigned long long)ids[i], costack_state_name(s));
	}

	for (int i = 0; i < 5; i++) {
		utask_make(&t[i], short_entry, NULL, STACK_SIZE);
		check_new_id(utask_id(&t[i]), "all_tasks task");
	}
	n = costack_all_tasks(ids, 4096);
	CHECK_EQ(n, base + 5);
	for (int i = 0; i < 5; i++)
		CHECK(contains(ids, n, utask_id(&t[i])), "created task %llu not listed",
		      (unsigned long long)utask_id(&t[i]));

	/* A short array: the total is still returned, and only cap ids written. */
	for (int i = 0; i < 4; i++)
		small[i] = 0xdeadbeef;
	n = costack_all_tasks(small, 2);
	CHECK_EQ(n, base + 5);
	CHECK(small[2] == 0xdeadbeef && small[3] == 0xdeadbeef,
	      "cap 2, but ids[2] = %#llx, ids[3] = %#llx written", (unsigned long long)small[2],
	      (unsigned long long)small[3]);
	for (int i = 0; i < 2; i++)
		CHECK(costack_task_state(small[i]) >= 0 && costack_task_state(small[i]) <= 2,
		      "short array: id %llu is not an unfinished task",
		      (unsigned long long)small[i]);
	CHECK_EQ(costack_all_tasks(small, 0), base + 5);

	/* suspended still counts, done no longer */
	utask_resume(&t[0]);
	utask_resume(&t[1]);
	utask_resume(&t[1]);
	CHECK_EQ(costack_task_state(utask_id(&t[0])), COSTACK_SUSPENDED);
	CHECK_EQ(costack_task_state(utask_id(&t[1])), COSTACK_DONE);
	n = costack_all_tasks(ids, 4096);
	CHECK_EQ(n, base + 4);
	CHECK(contains(ids, n, utask_id(&t[0])), "suspended task not listed");
	CHECK(!contains(ids, n, utask_id(&t[1])), "done task listed");

	/* task at: an address in a task's stack, or in none */
	CHECK_EQ(costack_task_at(t[0].stack + 100), utask_id(&t[0]));
	CHECK_EQ(costack_task_at(t[4].stack + STACK_SIZE - 8), utask_id(&t[4]));
	CHECK_EQ(costack_task_at(t[1].stack + 100), 0); /* done: its stack is no one's */
	CHECK_EQ(costack_task_at(&some_global), 0);
	CHECK_EQ(costack_task_at(NULL), 0);
	void *heap = malloc(64);
	CHECK_EQ(costack_task_at(heap), 0);
	free(heap);

	for (int i = 0; i < 5; i++) {
		while (!t[i].ended)
			utask_resume(&t[i]);
		utask_free(&t[i]);
	}
	CHECK_EQ(costack_all_tasks(NULL, 0), base);
}

/* --- stack reuse cancels ------------------------------------------------------------ */

static void test_cancelled(void)
{
	struct costack_task_info info;
	struct utask s, c, d, two[2];
	struct task *reuse;
	uint64_t before, after;
	/* Stacks placed by hand in one mapping, so that overlaps touch nothing else. */
	char *area = mmap(NULL, 16 * STACK_SIZE, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	CHECK(area != MAP_FAILED, "mmap failed");
	if (area == MAP_FAILED)
		return;

	/* A suspended task whose stack a new task takes is cancelled. */
	utask_make_on(&s, short_entry, NULL, area + STACK_SIZE, 4 * STACK_SIZE);
	check_new_id(utask_id(&s), "task to cancel");
	utask_resume(&s);
	CHECK_EQ(costack_task_state(utask_id(&s)), COSTACK_SUSPENDED);
	before = realtime_ns();
	/* Overlapping only in part: [lo + 4096, hi + 4096). */
	reuse = utask_report_made((uintptr_t)s.stack + 4096,
	                          (uintptr_t)s.stack + 4 * STACK_SIZE + 4096,
	                          (uintptr_t)short_entry);
	after = realtime_ns();
	CHECK(reuse != NULL, "core_task_made on a reused stack failed");
	if (reuse)
		check_new_id(reuse->id, "task on a reused stack");
	CHECK_EQ(costack_task_state(utask_id(&s)), COSTACK_CANCELLED);
	CHECK_EQ(info_of(utask_id(&s), &info), 0);
	CHECK_EQ(info.state, COSTACK_CANCELLED);
	CHECK(info.state_since_ns + SLACK_NS >= before && info.state_since_ns <= after + SLACK_NS,
	      "cancelled since %llu, not in [%llu, %llu]", (unsigned long long)info.state_since_ns,
	      (unsigned long long)before, (unsigned long long)after);
	CHECK(!is_unfinished(utask_id(&s)), "a cancelled task is still listed");
	CHECK_EQ(costack_task_at(s.stack + 100), 0);
	if (reuse) {
		CHECK_EQ(costack_task_at(s.stack + 8192), reuse->id);
		CHECK_EQ(costack_task_at(s.stack + 4 * STACK_SIZE + 100), reuse->id);
		CHECK_EQ(costack_task_state(reuse->id), COSTACK_CREATED);
	}

	/* A created task too: it can never run. */
	utask_make_on(&c, short_entry, NULL, area + 6 * STACK_SIZE, STACK_SIZE);
	check_new_id(utask_id(&c), "created task to cancel");
	reuse = utask_report_made((uintptr_t)c.stack, (uintptr_t)c.stack + STACK_SIZE, 0);
	if (reuse)
		check_new_id(reuse->id, "task on a created task's stack");
	CHECK_EQ(costack_task_state(utask_id(&c)), COSTACK_CANCELLED);

	/* A done task stays done. */
	utask_make_on(&d, short_entry, NULL, area + 8 * STACK_SIZE, STACK_SIZE);
	check_new_id(utask_id(&d), "task to finish");
	utask_resume(&d);
	utask_resume(&d);
	CHECK_EQ(costack_task_state(utask_id(&d)), COSTACK_DONE);
	reuse = utask_report_made((uintptr_t)d.stack, (uintptr_t)d.stack + STACK_SIZE, 0);
	if (reuse)
		check_new_id(reuse->id, "task on a done task's stack");
	CHECK_EQ(costack_task_state(utask_id(&d)), COSTACK_DONE);

	/* One new stack over two suspended tasks' stacks cancels both. */
	for (int i = 0; i < 2; i++) {
		utask_make_on(&two[i], short_entry, NULL, area + (10 + i) * STACK_SIZE, STACK_SIZE);
		check_new_id(utask_id(&two[i]), "side-by-side task");
		utask_resume(&two[i]);
		CHECK_EQ(costack_task_state(utask_id(&two[i])), COSTACK_SUSPENDED);
	}
	reuse = utask_report_made((uintptr_t)area + 10 * STACK_SIZE + STACK_SIZE / 2,
	                          (uintptr_t)area + 11 * STACK_SIZE + STACK_SIZE / 2, 0);
	if (reuse)
		check_new_id(reuse->id, "task over two stacks");
	for (int i = 0; i < 2; i++)
		CHECK_EQ(costack_task_state(utask_id(&two[i])), COSTACK_CANCELLED);
	if (reuse) {
		CHECK_EQ(costack_task_at(area + 11 * STACK_SIZE), reuse->id);
		CHECK_EQ(costack_task_at(area + 10 * STACK_SIZE + 100), 0);
		CHECK_EQ(costack_task_at(area + 11 * STACK_SIZE + STACK_SIZE - 100), 0);
	}
	/* The area stays mapped: tasks reported on it live on as created. */
}

/* --- a stack freed or reused: done after the entry frame's last switch ------------------- */

/* A task whose entry function switches away from its own frame, as a scheduler's entry ends
 * with a last switch back (MTasker's pattern): its suspension shows its entry alone. */
static void entry_alone_start(unsigned hi, unsigned lo)
{
	struct utask *t = (struct utask *)(((uintptr_t)hi << 32) | lo);

	core_resumed(core_thread_state(), t->task);
	UTASK_YIELD(t);
	abort(); /* never resumed: its stack is freed */
}

static void make_entry_alone(struct utask *t, char *stack)
{
	uintptr_t self = (uintptr_t)t;

	memset(t, 0, sizeof(*t));
	t->stack = stack;
	t->stack_size = STACK_SIZE;
	getcontext(&t->uc);
	t->uc.uc_stack.ss_sp = stack;
	t->uc.uc_stack.ss_size = STACK_SIZE;
	makecontext(&t->uc, (void (*)(void))entry_alone_start, 2, (unsigned)(self >> 32),
	            (unsigned)self);
	t->task = utask_report_made((uintptr_t)stack, (uintptr_t)stack + STACK_SIZE,
	                            (uintptr_t)entry_alone_start);
}

static void test_stack_gone(void)
{
	struct utask alone, deep, fresh, reused;
	void *frames[8];
	char *area = mmap(NULL, 8 * STACK_SIZE, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	CHECK(area != MAP_FAILED, "mmap failed");
	if (area == MAP_FAILED)
		return;
	/* The unit tests start tasks with glibc's start code, not costack's trampoline: the walk
	 * ends at it as at a runtime's start code (unwind_add_bottom), as the adapters' tasks'. */
	make_entry_alone(&alone, area);
	utask_resume(&alone);
	if (costack_get_stack(utask_id(&alone), frames, 8, 0) == 2)
		unwind_add_bottom((uintptr_t)frames[0] - 1, (uintptr_t)frames[0] + 1);
	make_entry_alone(&alone, area);
	utask_make_on(&deep, short_entry, NULL, area + STACK_SIZE, STACK_SIZE);
	utask_make_on(&fresh, short_entry, NULL, area + 2 * STACK_SIZE, STACK_SIZE);
	utask_resume(&alone);
	utask_resume(&deep);
	CHECK_EQ(costack_get_stack(utask_id(&alone), frames, 8, 0), 1);
	CHECK_EQ(costack_task_state(utask_id(&alone)), COSTACK_SUSPENDED);

	/* Freed after its entry frame's last switch: done; elsewhere: abandoned. */
	core_stack_freed((uintptr_t)area, (uintptr_t)area + 3 * STACK_SIZE);
	CHECK_EQ(costack_task_state(utask_id(&alone)), COSTACK_DONE);
	CHECK_EQ(costack_task_state(utask_id(&deep)), COSTACK_CANCELLED);
	CHECK_EQ(costack_task_state(utask_id(&fresh)), COSTACK_CANCELLED);
	CHECK_EQ(costack_task_at(area + 100), 0);

	/* Reused by a new task: the same rule. */
	make_entry_alone(&reused, area + 4 * STACK_SIZE);
	utask_resume(&reused);
	CHECK_EQ(costack_task_state(utask_id(&reused)), COSTACK_SUSPENDED);
	utask_make_on(&fresh, short_entry, NULL, area + 4 * STACK_SIZE, STACK_SIZE);
	CHECK_EQ(costack_task_state(utask_id(&reused)), COSTACK_DONE);
	CHECK_EQ(costack_task_at(area + 4 * STACK_SIZE + 100), utask_id(&fresh));

	/* Memory that holds no task's stack: nothing happens. */
	core_stack_freed((uintptr_t)area + 6 * STACK_SIZE, (uintptr_t)area + 8 * STACK_SIZE);
	CHECK_EQ(costack_task_state(utask_id(&fresh)), COSTACK_CREATED);
}

/* --- what a runtime tells of its tasks -------------------------------------------------- */

static void test_runtime_facts(void)
{
	struct costack_task_info info;
	struct task_record record;
	struct thread_state *ts;
	struct utask t;
	char *elsewhere =
	        mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int local;

	utask_make(&t, short_entry, NULL, STACK_SIZE);
	core_task_set_entry(t.task, (uintptr_t)test_runtime_facts);
	core_task_set_name(t.task, "from its runtime");
	CHECK_EQ(info_of(utask_id(&t), &info), 0);
	CHECK(info.entry == (const void *)test_runtime_facts, "the entry its runtime told");
	CHECK_STR_EQ(info.name, "from its runtime");
	CHECK(core_task_has_name(t.task), "it has a name");
	CHECK(core_task_at((uintptr_t)t.stack + 100) == t.task, "the task at its stack");

	ts = core_enter();
	CHECK(ts != NULL, "core_enter");
	if (ts) {
		CHECK(core_on_known_stack(ts, (uintptr_t)&local), "main's stack is known");
		CHECK(core_on_known_stack(ts, (uintptr_t)t.stack + 100), "a task's stack is known");
		CHECK(!core_on_known_stack(ts, (uintptr_t)elsewhere + 100),
		      "memory no task owns is no known stack");
		CHECK(registry_copy_task(ts->root->id, &record) &&
		              !(record.task.flags & COSTACK_LIVE_TASK_UNTRACKED_STACK),
		      "no untracked stack said before one is seen");
		core_untracked_stack(ts);
		CHECK(registry_copy_task(ts->root->id, &record) &&
		              (record.task.flags & COSTACK_LIVE_TASK_UNTRACKED_STACK),
		      "the root task says its thread ran on an untracked stack");
		core_leave(ts);
	}
	utask_resume(&t);
	utask_resume(&t);
	utask_free(&t);
	munmap(elsewhere, STACK_SIZE);
}

/* --- ended tasks kept, then forgotten ------------------------------------------------ */

static void run_to_end(struct utask *t)
{
	while (!t->ended)
		utask_resume(t);
}

static void test_ended_kept(void)
{
	int saved = config.ended;
	struct utask t[6], more[3], fresh;
	struct costack_task_info info;
	uint64_t id[6], more_id[3]; /* records are recycled: keep the ids */

	config.ended = 3;
	for (int i = 0; i < 6; i++) {
		utask_make(&t[i], short_entry, NULL, STACK_SIZE);
		id[i] = utask_id(&t[i]);
		check_new_id(id[i], "task to end");
		costack_set_task_name(id[i], "old name");
	}
	for (int i = 0; i < 6; i++) {
		run_to_end(&t[i]);
		CHECK_EQ(costack_task_state(id[i]), COSTACK_DONE);
	}
	/* The 3 most recent ended tasks stay; older ones are unknown. */
	for (int i = 0; i < 3; i++)
		check_unknown(id[i], "an evicted task");
	for (int i = 3; i < 6; i++) {
		CHECK_EQ(costack_task_state(id[i]), COSTACK_DONE);
		CHECK_EQ(info_of(id[i], &info), 0);
		CHECK_EQ(info.id, id[i]);
	}

	/* Records are recycled, ids never: a new task is new in every field. */
	utask_make(&fresh, short_entry, NULL, STACK_SIZE);
	uint64_t fresh_id = utask_id(&fresh);
	check_new_id(fresh_id, "task made after evictions");
	CHECK_EQ(info_of(fresh_id, &info), 0);
	CHECK_EQ(info.state, COSTACK_CREATED);
	CHECK_EQ(info.switches, 0);
	CHECK_EQ(info.cpu_ns, 0);
	CHECK_STR_EQ(info.name, "");
	for (int i = 0; i < 3; i++)
		check_unknown(id[i], "an evicted task, after its record was reused");

	/* Failed and cancelled tasks take their places in the same queue. */
	for (int i = 0; i < 3; i++) {
		utask_make(&more[i], short_entry, NULL, STACK_SIZE);
		more_id[i] = utask_id(&more[i]);
		check_new_id(more_id[i], "task to fail or cancel");
	}
	utask_resume(&more[0]);
	utask_resume(&more[1]);
	{
		/* more[1] fails: end it from the root as an adapter would on a lost exception. */
		struct thread_state *ts = core_enter();
		core_switch(ts, more[1].task, NULL);
		core_task_ended(ts, COSTACK_FAILED, ts->root);
		core_leave(ts);
	}
	CHECK_EQ(costack_task_state(more_id[1]), COSTACK_FAILED);
	CHECK_EQ(costack_current_task(), 1);
	CHECK_EQ(costack_task_state(1), COSTACK_RUNNING);
	struct task *reuse = utask_report_made((uintptr_t)more[0].stack,
	                                       (uintptr_t)more[0].stack + STACK_SIZE, 0);
	if (reuse)
		check_new_id(reuse->id, "task on a reused stack");
	CHECK_EQ(costack_task_state(more_id[0]), COSTACK_CANCELLED);
	run_to_end(&more[2]);
	for (int i = 3; i < 6; i++)
		check_unknown(id[i], "a task evicted by failed and cancelled ones");
	CHECK_EQ(costack_task_state(more_id[0]), COSTACK_CANCELLED);
	CHECK_EQ(costack_task_state(more_id[1]), COSTACK_FAILED);
	CHECK_EQ(costack_task_state(more_id[2]), COSTACK_DONE);

	/* COSTACK_ENDED=0: an ended task is forgotten at once. */
	config.ended = 0;
	struct utask gone;
	utask_make(&gone, short_entry, NULL, STACK_SIZE);
	uint64_t gone_id = utask_id(&gone);
	check_new_id(gone_id, "task kept for no time");
	run_to_end(&gone);
	check_unknown(gone_id, "an ended task with COSTACK_ENDED=0");
	CHECK_EQ(costack_current_task(), 1);

	/* Unfinished tasks are never evicted. */
	CHECK_EQ(costack_task_state(fresh_id), COSTACK_CREATED);
	CHECK_EQ(costack_task_state(1), COSTACK_RUNNING);

	config.ended = saved;
	run_to_end(&fresh);
	utask_free(&fresh);
	utask_free(&gone);
	for (int i = 0; i < 6; i++)
		utask_free(&t[i]);
	utask_free(&more[1]);
	utask_free(&more[2]);
	/* more[0]'s stack stays mapped: a reported task lives on it */
}

/* --- contexts on no known stack ---------------------------------------------------- */

static void test_unknown_stack(void)
{
	struct thread_state *ts;
	struct costack_task_info info;
	ucontext_t key_a, key_b;
	struct utask u;
	char *elsewhere = malloc(4096);
	struct task *x, *y;

	utask_make(&u, short_entry, NULL, STACK_SIZE);
	check_new_id(utask_id(&u), "task for contexts");
	/* In a hook from here on, as an adapter calls core_task_of_context. */
	ts = core_enter();
	CHECK(ts != NULL, "core_enter() = NULL");
	if (!ts)
		return;

	/* A context on no known stack gets a task of its own, suspended. */
	x = core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)&key_a,
	                         (uintptr_t)elsewhere + 2048);
	CHECK(x != NULL, "no task for a context on no known stack");
	if (x) {
		check_new_id(x->id, "task of a context on no known stack");
		CHECK_EQ(x->state, COSTACK_SUSPENDED);
		CHECK_EQ(costack_task_state(x->id), COSTACK_SUSPENDED);
		info_of(x->id, &info);
		CHECK(info.stack_lo == NULL && info.stack_hi == NULL,
		      "unknown stack shown as [%p, %p)", info.stack_lo, info.stack_hi);
		CHECK_EQ(info.parent, 1);
		CHECK_EQ(info.runtime, COSTACK_RUNTIME_UCONTEXT);
		/* The same context again: the same task. */
		y = core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)&key_a,
		                         (uintptr_t)elsewhere + 2048);
		CHECK(y == x, "the same context gave tasks %llu and %llu",
		      (unsigned long long)x->id, y ? (unsigned long long)y->id : 0ull);
	}

	/* A context whose sp is in a task's stack is that task, whatever its key. */
	y = core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)&key_b,
	                         (uintptr_t)u.stack + STACK_SIZE - 256);
	CHECK(y == u.task, "sp in task %llu's stack gave task %llu",
	      (unsigned long long)utask_id(&u), y ? (unsigned long long)y->id : 0ull);
	y = core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)&key_b,
	                         (uintptr_t)u.stack + STACK_SIZE - 256);
	CHECK(y == u.task, "sp in task %llu's stack gave task %llu the second time",
	      (unsigned long long)utask_id(&u), y ? (unsigned long long)y->id : 0ull);

	/* The handle of a context is reused for a context on a known stack (a
	 * ucontext_t made again with makecontext): found by its sp, not by the
	 * handle cached for the old one. */
	y = core_task_of_context(ts, COSTACK_RUNTIME_UCONTEXT, (uintptr_t)&key_a,
	                         (uintptr_t)u.stack + STACK_SIZE - 256);
	CHECK(y == u.task,
	      "handle once used on no known stack, now with sp in task %llu's stack: got task "
	      "%llu (stack [%#lx, %#lx))",
	      (unsigned long long)utask_id(&u), y ? (unsigned long long)y->id : 0ull,
	      y ? (unsigned long)y->stack_lo : 0ul, y ? (unsigned long)y->stack_hi : 0ul);
	core_leave(ts);

	run_to_end(&u);
	utask_free(&u);
	free(elsewhere);
}

/* --- a task ended while not running; the task at a stack address ------------------- */

static void test_end_and_running_at(void)
{
	struct costack_task_info info;
	struct thread_state *ts;
	struct utask t;
	uint64_t id;

	utask_make(&t, short_entry, NULL, STACK_SIZE);
	id = utask_id(&t);
	check_new_id(id, "task to end from outside");
	utask_resume(&t);
	CHECK_EQ(costack_task_state(id), COSTACK_SUSPENDED);

	ts = core_enter();
	CHECK(ts != NULL, "core_enter() = NULL");
	if (!ts)
		return;
	/* Ended from outside (its runtime let go of it for the last time). */
	core_end_task(t.task, COSTACK_CANCELLED);
	CHECK_EQ(costack_task_state(id), COSTACK_CANCELLED);
	core_end_task(t.task, COSTACK_DONE); /* once ended, it stays as it ended */
	CHECK_EQ(costack_task_state(id), COSTACK_CANCELLED);
	core_leave(ts);
	CHECK_EQ(costack_task_at(t.stack + 128), 0);
	CHECK(!is_unfinished(id), "an ended task is listed");
	CHECK_EQ(info_of(id, &info), 0);
	CHECK_EQ(info.state, COSTACK_CANCELLED);
	CHECK_EQ(costack_current_task(), 1);
	/* its stack stays mapped: its context is abandoned, not reused */
}

/* --- errno -------------------------------------------------------------------------- */

#define CHECK_ERRNO_KEPT(call)                                                                     \
	do {                                                                                       \
		errno = 4242;                                                                      \
		call;                                                                              \
		CHECK(errno == 4242, "%s changed errno to %d", #call, errno);                      \
	} while (0)

static void test_errno(void)
{
	struct costack_task_info info = {.size = sizeof(info)};
	costack_task_t ids[16];
	void *frames[64];
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct utask t;
	struct thread_state *ts;
	int rc = 0;

	utask_make(&t, short_entry, NULL, STACK_SIZE);
	check_new_id(utask_id(&t), "errno task");
	utask_resume(&t);

	CHECK_ERRNO_KEPT(costack_current_task());
	CHECK_ERRNO_KEPT(costack_task_at(t.stack + 64));
	CHECK_ERRNO_KEPT(costack_all_tasks(ids, 16));
	CHECK_ERRNO_KEPT(costack_task_state(utask_id(&t)));
	CHECK_ERRNO_KEPT(costack_state_name(2));
	CHECK_ERRNO_KEPT(
	        rc = costack_get_stack(utask_id(&t), frames, sizeof(frames) / sizeof(*frames), 64));
	CHECK(rc >= 1, "costack_get_stack of a suspended task: %d", rc);
	CHECK_ERRNO_KEPT(rc = costack_get_stack(1, frames, sizeof(frames) / sizeof(*frames), 64));
	CHECK_ERRNO_KEPT(rc = costack_print_stack(utask_id(&t), 0, out));
	CHECK_EQ(rc, 0);
	CHECK_ERRNO_KEPT(rc = costack_print_stack(1, 0, out));
	CHECK_EQ(rc, 0);
	CHECK_ERRNO_KEPT(rc = costack_set_task_name(utask_id(&t), "errno"));
	CHECK_EQ(rc, 0);
	CHECK_ERRNO_KEPT(rc = costack_task_info(utask_id(&t), &info));
	CHECK_EQ(rc, 0);
	CHECK_ERRNO_KEPT(ts = core_enter(); if (ts) core_leave(ts));
	/* What costack's own system calls leave in errno between the two is not the program's. */
	CHECK_ERRNO_KEPT(ts = core_enter(); errno = EBADF; if (ts) core_leave(ts));
	CHECK(ts != NULL, "core_enter on a registered thread");
	CHECK_ERRNO_KEPT(utask_resume(&t)); /* a whole switch and task end */
	CHECK(t.ended, "errno task did not end");
	fclose(out);
	free(text);
	utask_free(&t);
}

/* The switch path reads the kernel's clock through the vDSO itself, and gets its time. */
static void test_vdso_clock(void)
{
	uint64_t before, now, after;

	if (!getauxval(AT_SYSINFO_EHDR)) {
		CHECK(clock_gettime_fn == clock_gettime, "no vDSO, yet not the C library's clock");
		return;
	}
	CHECK(clock_gettime_fn != clock_gettime, "the vDSO's clock_gettime was not found");
	before = clock_ns(CLOCK_MONOTONIC);
	now = clock_read_ns(CLOCK_MONOTONIC);
	after = clock_ns(CLOCK_MONOTONIC);
	CHECK(before <= now && now <= after, "vDSO clock %llu not within [%llu, %llu]",
	      (unsigned long long)now, (unsigned long long)before, (unsigned long long)after);
}

int main(void)
{
	const char *clock = getenv("COSTACK_CLOCK");

	if (clock && !strcmp(clock, "precise"))
		task_clock = CLOCK_MONOTONIC;
	realtime_minus_monotonic = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	test_root();
	test_lifecycle();
	test_parents();
	test_state_names();
	test_task_names();
	test_info_size();
	test_all_tasks();
	test_cancelled();
	test_stack_gone();
	test_runtime_facts();
	test_ended_kept();
	test_unknown_stack();
	test_end_and_running_at();
	test_errno();
	test_vdso_clock();
	return check_finish("test_registry");
}
