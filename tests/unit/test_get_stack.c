/* SPDX-License-Identifier: MIT */
/* test_get_stack.c - unit test of costack_get_stack()/costack_print_stack(): asyncio's semantics on
 * real captured stacks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "reference.h"
#include "config.h"
#include "core.h"
#include "costack.h"
#include "task.h"
#include "utask.h"

/* The functions whose frames are looked for are exported (the test is linked
 * with -rdynamic) so that dladdr() names them; noinline and a store after
 * each call keep every one a frame of its own. */
#define NOINLINE __attribute__((noinline, noclone))
#define STACK_SIZE (256 * 1024)
#define MAXF CONFIG_DEPTH_MAX

volatile int sink;
int line_suspend_inner, line_raise_inner; /* lines of the core calls, for print_stack */

/* A reference for the frames (reference.h), taken by suspend_inner just
 * before it yields, when asked. */
static bool want_reference;
static void *reference[MAXF];
static int reference_n;
/* --- frames to names -------------------------------------------------------------- */

/* The exported function holding pc; a return address is looked up at pc - 1
 * (the call), an entry function at pc. */
static const char *name_at(void *pc, bool is_return)
{
	Dl_info info;

	if (pc && dladdr((char *)pc - (is_return ? 1 : 0), &info) && info.dli_sname)
		return info.dli_sname;
	return "?";
}

static void dump(const char *what, void **frames, int n)
{
	fprintf(stderr, "  %s: %d frame(s), oldest first:\n", what, n);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "    [%d] %p %s\n", i, frames[i], name_at(frames[i], true));
}

/*
 * frames (oldest first, from get_stack) are the reference backtrace (newest
 * first) taken in the same function just before: equal but for the newest
 * frame, where the pc differs (another call in that function).
 */
static void check_same_as_reference(const char *what, void **frames, int n, void **ref, int ref_n)
{
	bool same = n == ref_n && n > 0;

	for (int i = 0; same && i < n - 1; i++)
		same = frames[i] == ref[ref_n - 1 - i];
	if (same)
		same = !strcmp(name_at(frames[n - 1], true), name_at(ref[0], true));
	CHECK(same, "%s: the frames differ from libgcc's backtrace taken just before", what);
	if (!same) {
		dump(what, frames, n);
		fprintf(stderr, "  libgcc's backtrace, newest first: %d frame(s):\n", ref_n);
		for (int i = 0; i < ref_n; i++)
			fprintf(stderr, "    [%d] %p %s\n", i, ref[i], name_at(ref[i], true));
	}
}

/* The newest (last) frames are exactly `names`, oldest first. */
static bool ends_with(void **frames, int n, const char *const *names, int k)
{
	if (n < k)
		return false;
	for (int i = 0; i < k; i++)
		if (strcmp(name_at(frames[n - k + i], true), names[i]))
			return false;
	return true;
}

#define CHECK_ENDS_WITH(what, frames, n, ...)                                                      \
	do {                                                                                       \
		static const char *const want_[] = {__VA_ARGS__};                                  \
		int k_ = (int)(sizeof(want_) / sizeof(*want_));                                    \
		bool ok_ = ends_with(frames, n, want_, k_);                                        \
		CHECK(ok_, "%s: the newest frames are not %s", what, #__VA_ARGS__);                \
		if (!ok_)                                                                          \
			dump(what, frames, n);                                                     \
	} while (0)

/* --- a task suspended in nested functions -------------------------------------------- */

void suspend_inner(struct utask *t);
void suspend_middle(struct utask *t);
void suspend_outer(struct utask *t);
void suspend_other(struct utask *t);
void suspend_recurse(struct utask *t, int depth);
void suspend_entry(struct utask *t);
void path_entry(struct utask *t);

NOINLINE void suspend_inner(struct utask *t)
{
	if (want_reference)
		reference_n = reference_backtrace(reference, MAXF);
	/* One line, so that __LINE__ is the line of the call. */
	/* clang-format off */
	line_suspend_inner = __LINE__; UTASK_YIELD(t);
	/* clang-format on */
	sink++;
}

NOINLINE void suspend_middle(struct utask *t)
{
	suspend_inner(t);
	sink++;
}

NOINLINE void suspend_outer(struct utask *t)
{
	suspend_middle(t);
	sink++;
}

NOINLINE void suspend_other(struct utask *t)
{
	suspend_inner(t);
	sink++;
}

NOINLINE void suspend_recurse(struct utask *t, int depth)
{
	if (depth > 0)
		suspend_recurse(t, depth - 1);
	else
		suspend_inner(t);
	sink++;
}

NOINLINE void suspend_entry(struct utask *t)
{
	suspend_outer(t);
	sink++;
}

static void test_suspended(void)
{
	void *full[MAXF], *cut[MAXF + 8];
	struct utask t;
	uint64_t id;
	int n, k;

	utask_make(&t, suspend_entry, NULL, STACK_SIZE);
	id = utask_id(&t);
	want_reference = true;
	utask_resume(&t);
	want_reference = false;
	CHECK_EQ(costack_task_state(id), COSTACK_SUSPENDED);

	/* Oldest first, down to where it waits; the core's own frames (the switch
	 * and the capture) absent: the function that switched is the newest. */
	n = costack_get_stack(id, full, sizeof(full) / sizeof(*full), MAXF);
	CHECK(n >= 4, "suspended: %d frames", n);
	CHECK_ENDS_WITH("suspended in suspend_entry > outer > middle > inner", full, n,
	                "suspend_entry", "suspend_outer", "suspend_middle", "suspend_inner");
	/* Every frame of the task, the outermost one once, as another unwinder sees them. */
	check_same_as_reference("suspended", full, n, reference, reference_n);
	/* Nothing of the core's between them either. */
	for (int i = 0; i < n; i++) {
		const char *name = name_at(full[i], true);
		CHECK(strncmp(name, "core_", 5) && strncmp(name, "costack_", 8) &&
		              strncmp(name, "unw", 3) && strncmp(name, "stackstore", 10),
		      "frame %d is costack's own %s", i, name);
	}

	/* size <= 0: no limit. */
	CHECK_EQ(costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), 0), n);
	CHECK_EQ(costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), -1), n);
	CHECK(!memcmp(cut, full, (size_t)(n > 0 ? n : 0) * sizeof(*full)),
	      "no limit: other frames than with size %d", MAXF);

	/* size keeps the newest frames of a stack. */
	for (k = 1; k <= n + 2; k++) {
		int want = k < n ? k : n;
		int got;

		memset(cut, 0, sizeof(cut));
		got = costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), k);
		CHECK(got == want, "size %d of %d frames: got %d", k, n, got);
		CHECK(got == want && !memcmp(cut, full + (n - want), (size_t)want * sizeof(*cut)),
		      "size %d: not the newest %d frames", k, want);
		CHECK(cut[want] == NULL, "size %d: a frame written past the %d kept", k, want);
	}
	CHECK_ENDS_WITH("size 1", cut, costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), 1),
	                "suspend_inner");
	CHECK_ENDS_WITH("size 2", cut, costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), 2),
	                "suspend_middle", "suspend_inner");

	/* No limit, and a buffer smaller than the stack: the capacity cuts as a limit would (the
	 * newest frames), and nothing is written past it. */
	for (k = 1; k < n; k++) {
		memset(cut, 0, sizeof(cut));
		CHECK_EQ(costack_get_stack(id, cut, (size_t)k, 0), k);
		CHECK(!memcmp(cut, full + (n - k), (size_t)k * sizeof(*cut)) && cut[k] == NULL,
		      "capacity %d, no limit: not the newest %d frames, or one written past them",
		      k, k);
	}
	CHECK_EQ(costack_get_stack(id, cut, 0, 0), 0);

	/* Asking does not change it. */
	CHECK_EQ(costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), MAXF), n);
	CHECK(!memcmp(cut, full, (size_t)(n > 0 ? n : 0) * sizeof(*full)),
	      "a second get_stack differs");

	utask_resume(&t);
	CHECK_EQ(costack_task_state(id), COSTACK_DONE);
	CHECK_EQ(costack_get_stack(id, full, sizeof(full) / sizeof(*full), MAXF), 0);
	utask_free(&t);
}

/* The same task suspends at the same place through other paths: each stack is its own. */
NOINLINE void path_entry(struct utask *t)
{
	suspend_outer(t);
	suspend_middle(t);
	suspend_other(t);
	suspend_recurse(t, 3);
	suspend_recurse(t, 5);
	suspend_recurse(t, 3);
	suspend_outer(t);
	sink++;
}

static void test_changing_paths(void)
{
	void *frames[MAXF];
	struct utask t;
	uint64_t id;
	int n;

	utask_make(&t, path_entry, NULL, STACK_SIZE);
	id = utask_id(&t);

	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 1", frames, n, "path_entry", "suspend_outer", "suspend_middle",
	                "suspend_inner");
	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 2", frames, n, "path_entry", "suspend_middle", "suspend_inner");
	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 3", frames, n, "path_entry", "suspend_other", "suspend_inner");
	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 4 (recursion 3)", frames, n, "path_entry", "suspend_recurse",
	                "suspend_recurse", "suspend_recurse", "suspend_recurse", "suspend_inner");
	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 5 (recursion 5)", frames, n, "path_entry", "suspend_recurse",
	                "suspend_recurse", "suspend_recurse", "suspend_recurse", "suspend_recurse",
	                "suspend_recurse", "suspend_inner");
	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 6 (recursion 3 again)", frames, n, "path_entry", "suspend_recurse",
	                "suspend_recurse", "suspend_recurse", "suspend_recurse", "suspend_inner");
	utask_resume(&t);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("path 7 (path 1 again)", frames, n, "path_entry", "suspend_outer",
	                "suspend_middle", "suspend_inner");
	utask_resume(&t);
	CHECK(t.ended, "path task did not end");
	utask_free(&t);
}

/*
 * A task that suspends at a few places in turn, each with its own stack but the same innermost
 * frame at the same depth (the thread's table of stacks by place keys on those two): each
 * suspension shows its own stack, whether the table holds it, another, or none. The root task
 * is the one suspending, resumed as a hook would resume a task (from its caller's frame), so
 * that its switches take the path of a hook's.
 */
void resume_as_hook(struct utask *t);
void place_common(struct utask *t);
void place_mid(struct utask *t);
void place_a(struct utask *t);
void place_b(struct utask *t);
void place_c(struct utask *t);
void places_entry(struct utask *t);

NOINLINE UNWIND_FRAME_POINTER void resume_as_hook(struct utask *t)
{
	struct thread_state *ts = core_enter();
	struct task *self = ts->current;
	struct unwind_start caller;

	UNWIND_CALLER(caller);
	t->resumer = self;
	core_switch(ts, t->task, &caller);
	core_leave(ts);
	swapcontext(&t->caller, &t->uc);
	core_resumed(core_thread_state(), self);
}

NOINLINE void place_common(struct utask *t)
{
	resume_as_hook(t);
	sink++;
}

NOINLINE void place_mid(struct utask *t)
{
	place_common(t);
	sink++;
}

/* Alike but for the constant: one frame size, so place_common runs at one depth; the stacks
 * part two frames out. */
NOINLINE void place_a(struct utask *t)
{
	place_mid(t);
	sink += 1;
}

NOINLINE void place_b(struct utask *t)
{
	place_mid(t);
	sink += 2;
}

NOINLINE void place_c(struct utask *t)
{
	place_mid(t);
	sink += 3;
}

static const char places_order[] = "ababcacbccab";
static uint64_t places_root;
static int places_seen;

NOINLINE void places_entry(struct utask *t)
{
	void *frames[MAXF];
	char what[32];

	for (int i = 0; places_order[i]; i++) {
		const char *place = places_order[i] == 'a'   ? "place_a"
		                    : places_order[i] == 'b' ? "place_b"
		                                             : "place_c";
		int n = costack_get_stack(places_root, frames, sizeof(frames) / sizeof(*frames), 0);

		snprintf(what, sizeof(what), "places, turn %d", i);
		CHECK(n >= 3 && !strcmp(name_at(frames[n - 1], true), "place_common") &&
		              !strcmp(name_at(frames[n - 2], true), "place_mid") &&
		              !strcmp(name_at(frames[n - 3], true), place),
		      "%s: the root suspended in %s, shows %s", what, place,
		      n >= 3 ? name_at(frames[n - 3], true) : "(none)");
		places_seen++;
		UTASK_YIELD(t);
	}
}

static void test_places(void)
{
	static void (*const place[])(struct utask *) = {place_a, place_b, place_c};
	struct utask t;

	places_root = costack_current_task();
	utask_make(&t, places_entry, NULL, STACK_SIZE);
	for (int i = 0; places_order[i]; i++)
		place[places_order[i] - 'a'](&t);
	CHECK_EQ(places_seen, (int)strlen(places_order));
	utask_resume(&t);
	CHECK(t.ended, "places task did not end");
	utask_free(&t);
}

/* Deeper than COSTACK_DEPTH: the newest frames are kept. */
void deep_entry(struct utask *t);
NOINLINE void deep_entry(struct utask *t)
{
	suspend_recurse(t, 2 * config.depth);
	sink++;
}

static void test_deep(void)
{
	void *frames[MAXF];
	struct task_record r;
	struct utask t;
	int n;

	utask_make(&t, deep_entry, NULL, STACK_SIZE);
	utask_resume(&t);
	n = costack_get_stack(utask_id(&t), frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK(n == config.depth, "suspended %d frames deep: %d frames, COSTACK_DEPTH %d",
	      2 * config.depth, n, config.depth);
	CHECK_ENDS_WITH("deep", frames, n, "suspend_recurse", "suspend_recurse", "suspend_inner");
	CHECK(n > 0 && !strcmp(name_at(frames[0], true), "suspend_recurse"),
	      "deep: the oldest frame kept is %s, not one of the newest",
	      n > 0 ? name_at(frames[0], true) : "none");
	/* ... and the record says so (costack-live.h: the dumps and outside readers show it). */
	CHECK(registry_copy_task(utask_id(&t), &r) && r.has_suspend &&
	              (r.suspend.what & COSTACK_LIVE_WHAT_TRUNCATED),
	      "deep: the suspension is not marked truncated");
	utask_resume(&t);
	utask_free(&t);

	/* Not deeper: not marked. */
	utask_make(&t, path_entry, NULL, STACK_SIZE);
	utask_resume(&t);
	CHECK(registry_copy_task(utask_id(&t), &r) && r.has_suspend &&
	              !(r.suspend.what & COSTACK_LIVE_WHAT_TRUNCATED),
	      "a stack within COSTACK_DEPTH marked truncated");
	while (!t.ended)
		utask_resume(&t);
	utask_free(&t);
}

/* --- created, done, cancelled, unknown --------------------------------------------- */

void created_entry(struct utask *t);
NOINLINE void created_entry(struct utask *t)
{
	sink++;
}

static void test_no_stack_states(void)
{
	void *frames[MAXF];
	struct utask c, d, x;
	int n;

	/* created: one frame, its entry function. */
	utask_make(&c, created_entry, NULL, STACK_SIZE);
	memset(frames, 0, sizeof(frames));
	n = costack_get_stack(utask_id(&c), frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_EQ(n, 1);
	CHECK(frames[0] == (void *)created_entry, "created: frame %p, entry %p", frames[0],
	      (void *)created_entry);
	CHECK(frames[1] == NULL, "created: a second frame %p written", frames[1]);
	CHECK_EQ(costack_get_stack(utask_id(&c), frames, sizeof(frames) / sizeof(*frames), 1), 1);
	CHECK(frames[0] == (void *)created_entry, "created, size 1: frame %p", frames[0]);
	CHECK_EQ(costack_get_stack(utask_id(&c), frames, sizeof(frames) / sizeof(*frames), 0), 1);

	/* done: none. */
	utask_make(&d, created_entry, NULL, STACK_SIZE);
	utask_resume(&d);
	CHECK_EQ(costack_task_state(utask_id(&d)), COSTACK_DONE);
	frames[0] = (void *)&sink;
	CHECK_EQ(costack_get_stack(utask_id(&d), frames, sizeof(frames) / sizeof(*frames), MAXF),
	         0);
	CHECK_EQ(costack_get_stack(utask_id(&d), frames, sizeof(frames) / sizeof(*frames), 0), 0);

	/* cancelled (its stack reused while it was suspended): none. */
	utask_make(&x, suspend_entry, NULL, STACK_SIZE);
	utask_resume(&x);
	CHECK(costack_get_stack(utask_id(&x), frames, sizeof(frames) / sizeof(*frames), MAXF) > 0,
	      "suspended: no frames");
	utask_report_made((uintptr_t)x.stack, (uintptr_t)x.stack + STACK_SIZE, 0);
	CHECK_EQ(costack_task_state(utask_id(&x)), COSTACK_CANCELLED);
	CHECK_EQ(costack_get_stack(utask_id(&x), frames, sizeof(frames) / sizeof(*frames), MAXF),
	         0);

	/* unknown: -1, ESRCH. */
	errno = 0;
	CHECK_EQ(costack_get_stack(0, frames, sizeof(frames) / sizeof(*frames), MAXF), -1);
	CHECK_EQ(errno, ESRCH);
	errno = 0;
	CHECK_EQ(costack_get_stack(UINT64_MAX / 2, frames, sizeof(frames) / sizeof(*frames), MAXF),
	         -1);
	CHECK_EQ(errno, ESRCH);

	/* errno is kept on success. */
	errno = EAGAIN;
	costack_get_stack(utask_id(&c), frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_EQ(errno, EAGAIN);
	/* c and x stay as they are; their stacks stay mapped (a reported task lives on x's). */
	utask_free(&d);
}

/* --- running ------------------------------------------------------------------------ */

int running_probe(void **frames, int size);
void test_running_self(void);
void running_entry(struct utask *t);

NOINLINE int running_probe(void **frames, int size)
{
	int n;

	reference_n = reference_backtrace(reference, MAXF);
	n = costack_get_stack(costack_current_task(), frames, MAXF,
	                      size); /* frames: room for MAXF */

	sink++;
	return n;
}

NOINLINE void test_running_self(void)
{
	void *frames[MAXF];
	int n;

	/* The root task asks about itself: its live stack, the caller newest. */
	n = running_probe(frames, MAXF);
	CHECK(n >= 2, "running root: %d frames", n);
	CHECK_ENDS_WITH("running root, asked by itself", frames, n, "test_running_self",
	                "running_probe");
	check_same_as_reference("running root", frames, n, reference, reference_n);
	n = running_probe(frames, 1);
	CHECK_EQ(n, 1);
	CHECK_ENDS_WITH("running root, size 1", frames, n, "running_probe");
	n = running_probe(frames, 2);
	CHECK_EQ(n, 2);
	CHECK_ENDS_WITH("running root, size 2", frames, n, "test_running_self", "running_probe");
	sink++;
}

struct running_seen {
	void *frames[MAXF];
	int n;
};

NOINLINE void running_entry(struct utask *t)
{
	struct running_seen *seen = t->arg;

	seen->n = running_probe(seen->frames, MAXF);
	sink++;
}

static void test_running_task_self(void)
{
	struct running_seen seen = {.n = -2};
	struct utask t;

	utask_make(&t, running_entry, &seen, STACK_SIZE);
	utask_resume(&t);
	CHECK_ENDS_WITH("running task, asked by itself", seen.frames, seen.n, "running_entry",
	                "running_probe");
	check_same_as_reference("running task", seen.frames, seen.n, reference, reference_n);
	utask_free(&t);
}

/* A task running on another thread, asked from here: where it was last resumed. */
void remote_outer(struct utask *t);
void remote_spin(void);
void remote_entry(struct utask *t);

static atomic_int remote_running, remote_go;

NOINLINE void remote_spin(void)
{
	atomic_store(&remote_running, 1);
	while (!atomic_load(&remote_go))
		usleep(100);
	sink++;
}

NOINLINE void remote_outer(struct utask *t)
{
	suspend_inner(t); /* suspends once, in suspend_inner */
	remote_spin();    /* and then runs here, while the main thread looks */
	sink++;
}

NOINLINE void remote_entry(struct utask *t)
{
	remote_outer(t);
	sink++;
}

static void *remote_thread(void *arg)
{
	struct utask *t = arg;

	utask_resume(t);
	utask_resume(t);
	return NULL;
}

static void test_running_other(void)
{
	void *frames[MAXF];
	struct utask t;
	pthread_t thread;
	int n;

	utask_make(&t, remote_entry, NULL, STACK_SIZE);
	if (pthread_create(&thread, NULL, remote_thread, &t) != 0) {
		CHECK(0, "pthread_create failed");
		return;
	}
	while (!atomic_load(&remote_running))
		usleep(100);
	CHECK_EQ(costack_task_state(utask_id(&t)), COSTACK_RUNNING);
	n = costack_get_stack(utask_id(&t), frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("running on another thread", frames, n, "remote_entry", "remote_outer",
	                "suspend_inner");
	n = costack_get_stack(utask_id(&t), frames, sizeof(frames) / sizeof(*frames), 1);
	CHECK_ENDS_WITH("running on another thread, size 1", frames, n, "suspend_inner");
	atomic_store(&remote_go, 1);
	pthread_join(thread, NULL);
	CHECK(t.ended, "the remote task did not end");
	utask_free(&t);
}

/* A task running on another thread that never suspended, asked from here: it was last resumed
 * at its entry, which is the one frame it shows. */
void first_run_entry(struct utask *t);

NOINLINE void first_run_entry(struct utask *t)
{
	(void)t;
	remote_spin(); /* runs here, never suspended, while the main thread looks */
	sink++;
}

static void *first_run_thread(void *arg)
{
	utask_resume(arg);
	return NULL;
}

static void test_running_never_suspended(void)
{
	void *frames[MAXF];
	struct utask t;
	pthread_t thread;
	int n;

	atomic_store(&remote_running, 0);
	atomic_store(&remote_go, 0);
	utask_make(&t, first_run_entry, NULL, STACK_SIZE);
	if (pthread_create(&thread, NULL, first_run_thread, &t) != 0) {
		CHECK(0, "pthread_create failed");
		return;
	}
	while (!atomic_load(&remote_running))
		usleep(100);
	CHECK_EQ(costack_task_state(utask_id(&t)), COSTACK_RUNNING);
	n = costack_get_stack(utask_id(&t), frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK(n == 1 && frames[0] == (void *)first_run_entry,
	      "running, never suspended: %d frames, the first %p, its entry %p", n,
	      n > 0 ? frames[0] : NULL, (void *)first_run_entry);
	atomic_store(&remote_go, 1);
	pthread_join(thread, NULL);
	CHECK(t.ended, "the task running first did not end");
	utask_free(&t);
}

/* --- failed: the traceback ------------------------------------------------------------ */

void raise_inner(struct utask *t);
void raise_middle(struct utask *t);
void raise_outer(struct utask *t);
void fail_entry(struct utask *t);
void raise_and_catch(void);
void caught_entry(struct utask *t);

NOINLINE void raise_inner(struct utask *t)
{
	struct thread_state *ts = core_enter();

	static int thrown; /* stands for the thrown object */
	struct exception_info info = {.object = &thrown, .type = "test_error", .what = "boom"};

	/* One line, so that __LINE__ is the line of the call. */
	/* clang-format off */
	line_raise_inner = __LINE__; core_raise(ts, &info);
	/* clang-format on */
	/* The runtime keeps it to rethrow elsewhere: it escaped the body. */
	core_exception_kept(ts, &thrown);
	core_leave(ts);
	utask_exit(t, COSTACK_FAILED); /* the exception ends the task */
}

NOINLINE void raise_middle(struct utask *t)
{
	raise_inner(t);
	sink++;
}

NOINLINE void raise_outer(struct utask *t)
{
	raise_middle(t);
	sink++;
}

NOINLINE void fail_entry(struct utask *t)
{
	raise_outer(t);
	sink++;
}

static void test_failed(void)
{
	void *full[MAXF], *cut[MAXF + 8];
	struct utask t;
	uint64_t id;
	int n;

	utask_make(&t, fail_entry, NULL, STACK_SIZE);
	id = utask_id(&t);
	utask_resume(&t);
	CHECK(t.ended, "the failing task did not end");
	CHECK_EQ(costack_task_state(id), COSTACK_FAILED);
	CHECK_EQ(costack_current_task(), 1);

	/* The exception it died of. */
	struct costack_task_info info = {.size = sizeof(info)};
	CHECK_EQ(costack_task_info(id, &info), 0);
	CHECK_EQ(info.raises, 1);
	CHECK_EQ(info.exception_origin, id);
	CHECK_STR_EQ(info.exception_type, "test_error");
	CHECK_STR_EQ(info.exception_what, "boom");

	/* From the task's outermost frame to the raise site, oldest first. */
	n = costack_get_stack(id, full, sizeof(full) / sizeof(*full), MAXF);
	CHECK(n >= 4, "failed: %d frames", n);
	CHECK_ENDS_WITH("traceback", full, n, "fail_entry", "raise_outer", "raise_middle",
	                "raise_inner");
	CHECK_EQ(costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), 0), n);

	/* size keeps the oldest frames of a traceback. */
	for (int k = 1; k <= n + 2; k++) {
		int want = k < n ? k : n;
		int got;

		memset(cut, 0, sizeof(cut));
		got = costack_get_stack(id, cut, sizeof(cut) / sizeof(*cut), k);
		CHECK(got == want, "traceback, size %d of %d frames: got %d", k, n, got);
		CHECK(got == want && !memcmp(cut, full, (size_t)want * sizeof(*cut)),
		      "traceback, size %d: not the oldest %d frames", k, want);
		CHECK(cut[want] == NULL, "traceback, size %d: a frame written past the %d kept", k,
		      want);
	}
	/* A capacity smaller than the traceback, no limit: its oldest frames. */
	memset(cut, 0, sizeof(cut));
	CHECK_EQ(costack_get_stack(id, cut, 2, 0), 2);
	CHECK(!memcmp(cut, full, 2 * sizeof(*cut)) && cut[2] == NULL,
	      "traceback, capacity 2: not the oldest 2 frames, or one written past them");
	utask_free(&t);
}

/*
 * An adapter that knows only what DESIGN.md asks of every adapter ("raise in
 * A", "task ended how"), with nothing like std::current_exception to tell
 * which raise escaped (a Lua error, say): the raise, then the task ended
 * failed. The traceback is that raise's stack.
 */
void plain_raise_inner(struct utask *t);
void plain_raise_outer(struct utask *t);
void plain_fail_entry(struct utask *t);

NOINLINE void plain_raise_inner(struct utask *t)
{
	struct thread_state *ts = core_enter();
	struct exception_info info = {.type = "lua_error", .what = "attempt to call a nil value"};

	core_raise(ts, &info);
	core_leave(ts);
	utask_exit(t, COSTACK_FAILED);
}

NOINLINE void plain_raise_outer(struct utask *t)
{
	plain_raise_inner(t);
	sink++;
}

NOINLINE void plain_fail_entry(struct utask *t)
{
	plain_raise_outer(t);
	sink++;
}

static void test_failed_plain_adapter(void)
{
	void *frames[MAXF];
	struct costack_task_info info;
	struct utask t;
	uint64_t id;
	int n;

	utask_make(&t, plain_fail_entry, NULL, STACK_SIZE);
	id = utask_id(&t);
	utask_resume(&t);
	CHECK_EQ(costack_task_state(id), COSTACK_FAILED);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK(n >= 3, "failed after a raise, no exception kept: %d frames (the traceback expected)",
	      n);
	CHECK_ENDS_WITH("traceback of a plain adapter's task", frames, n, "plain_fail_entry",
	                "plain_raise_outer", "plain_raise_inner");
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	CHECK_EQ(costack_task_info(id, &info), 0);
	CHECK_EQ(info.raises, 1);
	CHECK_STR_EQ(info.exception_type, "lua_error");
	CHECK_STR_EQ(info.exception_what, "attempt to call a nil value");
	utask_free(&t);
}

/* A raise that is caught leaves no traceback: the task's stack is where it waits. */
NOINLINE void raise_and_catch(void)
{
	struct thread_state *ts = core_enter();
	struct exception_info info = {.type = "test_error", .what = "caught"};

	core_raise(ts, &info);
	core_leave(ts);
	sink++;
}

NOINLINE void caught_entry(struct utask *t)
{
	raise_and_catch();
	suspend_outer(t);
	raise_and_catch();
	sink++;
}

static void test_caught(void)
{
	void *frames[MAXF];
	struct utask t;
	uint64_t id;
	int n;

	utask_make(&t, caught_entry, NULL, STACK_SIZE);
	id = utask_id(&t);
	utask_resume(&t);
	CHECK_EQ(costack_task_state(id), COSTACK_SUSPENDED);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
	CHECK_ENDS_WITH("suspended after a caught raise", frames, n, "caught_entry",
	                "suspend_outer", "suspend_middle", "suspend_inner");
	utask_resume(&t);
	CHECK_EQ(costack_task_state(id), COSTACK_DONE);
	CHECK_EQ(costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF), 0);
	utask_free(&t);
}

/* --- print_stack -------------------------------------------------------------------- */

struct printed {
	char *text;
	size_t len;
	int rc;
	int nlines;
	char *lines[MAXF * 4];
};

NOINLINE static void print_to(struct printed *p, uint64_t id, int limit)
{
	FILE *out;

	memset(p, 0, sizeof(*p));
	out = open_memstream(&p->text, &p->len);
	p->rc = costack_print_stack(id, limit, out);
	fclose(out);
	for (char *s = p->text, *nl; s && *s && p->nlines < MAXF * 4; s = nl + 1) {
		nl = strchr(s, '\n');
		p->lines[p->nlines++] = s;
		if (!nl)
			break;
		*nl = '\0';
	}
}

static void printed_free(struct printed *p)
{
	free(p->text);
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static bool ends_with_text(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* `  File "<...>/test_get_stack.c", line N, in FUNC` (N checked when line > 0). */
static bool is_frame_line(const char *s, const char *func, int line)
{
	char want_tail[128], want_line[64];

	if (!starts_with(s, "  File \""))
		return false;
	snprintf(want_tail, sizeof(want_tail), ", in %s", func);
	if (!ends_with_text(s, want_tail))
		return false;
	if (line > 0) {
		snprintf(want_line, sizeof(want_line), "test_get_stack.c\", line %d, in ", line);
		return strstr(s, want_line) != NULL;
	}
	return true;
}

static int count_frame_lines(const struct printed *p)
{
	int n = 0;

	for (int i = 0; i < p->nlines; i++)
		n += starts_with(p->lines[i], "  File ");
	return n;
}

static void show(const char *what, const struct printed *p)
{
	fprintf(stderr, "  %s printed (rc %d):\n", what, p->rc);
	for (int i = 0; i < p->nlines; i++)
		fprintf(stderr, "    %s\n", p->lines[i]);
}

NOINLINE static void test_print_stack(void)
{
	struct utask s, c, d, f, x;
	struct printed p;
	char head[256];
	int tid = gettid();

	/* suspended */
	utask_make(&s, suspend_entry, NULL, STACK_SIZE);
	costack_set_task_name(utask_id(&s), "sleeper");
	utask_resume(&s);
	print_to(&p, utask_id(&s), 0);
	CHECK_EQ(p.rc, 0);
	snprintf(head, sizeof(head), "Stack for <Task suspended id=%llu name='sleeper'",
	         (unsigned long long)utask_id(&s));
	CHECK(starts_with(p.lines[0], head), "suspended: header \"%s\", expected \"%s...\"",
	      p.lines[0] ? p.lines[0] : "", head);
	CHECK(ends_with_text(p.lines[0], "> (most recent call last):"), "suspended: header \"%s\"",
	      p.lines[0] ? p.lines[0] : "");
	snprintf(head, sizeof(head), " entry=suspend_entry() runtime=ucontext thread=%d>", tid);
	CHECK(p.lines[0] && strstr(p.lines[0], head), "suspended: header \"%s\" lacks \"%s\"",
	      p.lines[0] ? p.lines[0] : "", head);
	CHECK(p.nlines >= 5 &&
	              is_frame_line(p.lines[p.nlines - 1], "suspend_inner", line_suspend_inner),
	      "suspended: the last line is not suspend_inner's at line %d", line_suspend_inner);
	CHECK(p.nlines >= 5 && is_frame_line(p.lines[p.nlines - 2], "suspend_middle", 0) &&
	              is_frame_line(p.lines[p.nlines - 3], "suspend_outer", 0) &&
	              is_frame_line(p.lines[p.nlines - 4], "suspend_entry", 0),
	      "suspended: the frames before suspend_inner are not middle, outer, entry");
	for (int i = 1; i < p.nlines; i++)
		CHECK(starts_with(p.lines[i], "  File \""), "suspended: line %d \"%s\"", i,
		      p.lines[i]);
	if (p.nlines < 5)
		show("suspended", &p);
	printed_free(&p);

	/* limit keeps the newest frames */
	print_to(&p, utask_id(&s), 1);
	CHECK_EQ(count_frame_lines(&p), 1);
	CHECK(p.nlines == 2 && is_frame_line(p.lines[1], "suspend_inner", line_suspend_inner),
	      "suspended, limit 1: not suspend_inner's line");
	if (p.nlines != 2)
		show("suspended, limit 1", &p);
	printed_free(&p);

	/* created: its entry function */
	utask_make(&c, created_entry, NULL, STACK_SIZE);
	print_to(&p, utask_id(&c), 0);
	snprintf(
	        head, sizeof(head),
	        "Stack for <Task created id=%llu entry=created_entry() runtime=ucontext thread=%d> "
	        "(most recent call last):",
	        (unsigned long long)utask_id(&c), tid);
	CHECK(p.nlines == 2 && !strcmp(p.lines[0], head) &&
	              is_frame_line(p.lines[1], "created_entry", 0),
	      "created: expected \"%s\" and created_entry's line", head);
	if (p.nlines != 2)
		show("created", &p);
	printed_free(&p);

	/* done: no stack */
	utask_make(&d, created_entry, NULL, STACK_SIZE);
	utask_resume(&d);
	print_to(&p, utask_id(&d), 0);
	snprintf(
	        head, sizeof(head),
	        "No stack for <Task done id=%llu entry=created_entry() runtime=ucontext thread=%d>",
	        (unsigned long long)utask_id(&d), tid);
	CHECK(p.rc == 0 && p.nlines == 1 && !strcmp(p.lines[0], head) &&
	              p.text[p.len - 1] == '\0' && p.len == strlen(head) + 1,
	      "done: expected exactly \"%s\\n\", got \"%s\"", head, p.text ? p.text : "");
	printed_free(&p);

	/* cancelled: no stack */
	utask_make(&x, suspend_entry, NULL, STACK_SIZE);
	utask_resume(&x);
	utask_report_made((uintptr_t)x.stack, (uintptr_t)x.stack + STACK_SIZE, 0);
	print_to(&p, utask_id(&x), 0);
	snprintf(head, sizeof(head), "No stack for <Task cancelled id=%llu entry=suspend_entry()",
	         (unsigned long long)utask_id(&x));
	CHECK(p.nlines == 1 && starts_with(p.lines[0], head), "cancelled: expected \"%s...\"",
	      head);
	if (p.nlines != 1)
		show("cancelled", &p);
	printed_free(&p);

	/* failed: the traceback, limit keeping the oldest frames */
	utask_make(&f, fail_entry, NULL, STACK_SIZE);
	utask_resume(&f);
	print_to(&p, utask_id(&f), 0);
	snprintf(head, sizeof(head), "Traceback for <Task failed id=%llu entry=fail_entry()",
	         (unsigned long long)utask_id(&f));
	CHECK(starts_with(p.lines[0], head) &&
	              ends_with_text(p.lines[0], "> (most recent call last):"),
	      "failed: header \"%s\", expected \"%s ... (most recent call last):\"",
	      p.lines[0] ? p.lines[0] : "", head);
	/* Python's traceback ends with the exception: "type: what". */
	CHECK(p.nlines >= 6 && !strcmp(p.lines[p.nlines - 1], "test_error: boom"),
	      "failed: the last line is \"%s\", expected \"test_error: boom\"",
	      p.nlines ? p.lines[p.nlines - 1] : "");
	CHECK(p.nlines >= 6 &&
	              is_frame_line(p.lines[p.nlines - 2], "raise_inner", line_raise_inner) &&
	              is_frame_line(p.lines[p.nlines - 3], "raise_middle", 0) &&
	              is_frame_line(p.lines[p.nlines - 4], "raise_outer", 0) &&
	              is_frame_line(p.lines[p.nlines - 5], "fail_entry", 0),
	      "failed: the last frames are not fail_entry, raise_outer, raise_middle, "
	      "raise_inner (line %d)",
	      line_raise_inner);
	if (p.nlines < 6)
		show("failed", &p);
	int all_lines = p.nlines;
	char *oldest = p.nlines > 1 ? strdup(p.lines[1]) : NULL;
	printed_free(&p);
	print_to(&p, utask_id(&f), 1);
	CHECK(p.nlines == 3 && oldest && !strcmp(p.lines[1], oldest),
	      "failed, limit 1: \"%s\", expected the oldest frame \"%s\"",
	      p.nlines > 1 ? p.lines[1] : "", oldest ? oldest : "");
	CHECK(all_lines <= 2 || !is_frame_line(p.lines[1], "raise_inner", 0),
	      "failed, limit 1: the raise site was kept, not the oldest frame");
	free(oldest);
	printed_free(&p);

	/* running, asked by itself */
	print_to(&p, 1, 0);
	snprintf(head, sizeof(head), "Stack for <Task running id=1 runtime=thread thread=%d>", tid);
	CHECK(p.nlines >= 2 && starts_with(p.lines[0], head), "running root: \"%s\"",
	      p.lines[0] ? p.lines[0] : "");
	CHECK(p.nlines >= 3 && is_frame_line(p.lines[p.nlines - 1], "print_to", 0) &&
	              is_frame_line(p.lines[p.nlines - 2], "test_print_stack", 0),
	      "running root: the newest frames are not test_print_stack, print_to: \"%s\"",
	      p.nlines ? p.lines[p.nlines - 1] : "");
	printed_free(&p);

	/* unknown: -1, ESRCH, nothing printed */
	errno = 0;
	print_to(&p, UINT64_MAX, 0);
	CHECK(p.rc == -1 && errno == ESRCH && p.len == 0,
	      "unknown: rc %d, errno %d, %zu bytes printed", p.rc, errno, p.len);
	printed_free(&p);

	utask_resume(&s);
	utask_free(&s);
	utask_free(&d);
	utask_free(&f);
}

int main(void)
{
	test_suspended();
	test_changing_paths();
	test_places();
	test_deep();
	test_no_stack_states();
	test_running_self();
	test_running_task_self();
	test_running_other();
	test_running_never_suspended();
	test_failed();
	test_failed_plain_adapter();
	test_caught();
	test_print_stack();
	return check_finish("test_get_stack");
}
