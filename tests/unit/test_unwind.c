/* SPDX-License-Identifier: MIT */
/* test_unwind.c - unit test of stack capture: frames as another unwinder sees them, depth, stack
 * bounds, and the shape fast path. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "reference.h"
#include "config.h"
#include "costack.h"
#include "stackstore.h"
#include "unwind.h"
#include "utask.h"

#define NOINLINE __attribute__((noinline, noclone))
#define MAXF CONFIG_DEPTH_MAX
#define STACK_SIZE (256 * 1024)

volatile int sink;

static uintptr_t scratch[UNWIND_SCRATCH_WORDS(MAXF)];
static uintptr_t stack_lo, stack_hi; /* the stack being captured */

/* What one capture saw, copied out of the scratch buffer. */
struct seen {
	uintptr_t frames[MAXF];
	int n;
	bool truncated;
	const struct stack_rec *same;
	const void *shape;
	uint32_t shape_size;
	void *reference[MAXF]; /* glibc's backtrace() just before, newest first */
	int reference_n;
};

static const char *name_at(uintptr_t pc)
{
	Dl_info info;

	if (pc && dladdr((void *)(pc - 1), &info) && info.dli_sname)
		return info.dli_sname;
	return "?";
}

static void dump(const char *what, const uintptr_t *frames, int n)
{
	fprintf(stderr, "  %s: %d frame(s), innermost first:\n", what, n);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "    [%d] %#lx %s\n", i, (unsigned long)frames[i],
		        name_at(frames[i]));
}

/* The capture is the reference but for the innermost frame (another call in
 * the same function). */
static void check_reference(const char *what, const struct seen *s)
{
	bool same = s->n == s->reference_n && s->n > 0;

	for (int i = 1; same && i < s->n; i++)
		same = s->frames[i] == (uintptr_t)s->reference[i];
	if (same)
		same = !strcmp(name_at(s->frames[0]), name_at((uintptr_t)s->reference[0]));
	CHECK(same, "%s: the capture differs from glibc's backtrace() taken just before", what);
	if (!same) {
		dump(what, s->frames, s->n);
		dump("glibc's backtrace()", (const uintptr_t *)s->reference, s->reference_n);
	}
}

/* Capture from here (this function is the innermost frame). */
static void copy_capture(struct seen *s, const struct capture *c)
{
	s->n = c->n;
	s->truncated = c->truncated;
	s->same = c->same;
	s->shape = c->shape;
	s->shape_size = c->shape_size;
	if (c->n > 0 && c->n <= MAXF)
		memcpy(s->frames, c->frames, (size_t)c->n * sizeof(*c->frames));
}

/* Capture from here (this function is the innermost frame). */
void capture_here(struct seen *s, int max, const struct stack_rec *hint);
NOINLINE void capture_here(struct seen *s, int max, const struct stack_rec *hint)
{
	struct capture c;

	s->reference_n = reference_backtrace(s->reference, MAXF);
	unwind_capture(scratch, max, stack_lo, stack_hi, hint, NULL, &c);
	copy_capture(s, &c);
	sink++;
}

/* Capture from this function's caller on, as a hook does (UNWIND_CALLER):
 * this function's own frame is not one of the frames. */
void capture_from_caller(struct seen *s);
NOINLINE UNWIND_FRAME_POINTER void capture_from_caller(struct seen *s)
{
	struct unwind_start start;
	struct capture c;

	UNWIND_CALLER(start);
	unwind_capture(scratch, MAXF, stack_lo, stack_hi, NULL, &start, &c);
	copy_capture(s, &c);
	sink++;
}

void nest_inner(struct seen *s, int max, const struct stack_rec *hint);
void nest_middle(struct seen *s, int max, const struct stack_rec *hint);
void nest_outer(struct seen *s, int max, const struct stack_rec *hint);
void nest_other(struct seen *s, int max, const struct stack_rec *hint);
void nest_recurse(struct seen *s, int depth);
void nest_start_inner(struct seen *s);
void nest_start_outer(struct seen *s);

NOINLINE void nest_start_inner(struct seen *s)
{
	capture_from_caller(s);
	sink++;
}

NOINLINE void nest_start_outer(struct seen *s)
{
	nest_start_inner(s);
	sink++;
}

NOINLINE void nest_inner(struct seen *s, int max, const struct stack_rec *hint)
{
	capture_here(s, max, hint);
	sink++;
}

NOINLINE void nest_middle(struct seen *s, int max, const struct stack_rec *hint)
{
	nest_inner(s, max, hint);
	sink++;
}

NOINLINE void nest_outer(struct seen *s, int max, const struct stack_rec *hint)
{
	nest_middle(s, max, hint);
	sink++;
}

NOINLINE void nest_other(struct seen *s, int max, const struct stack_rec *hint)
{
	nest_inner(s, max, hint);
	sink++;
}

NOINLINE void nest_recurse(struct seen *s, int depth)
{
	if (depth > 0)
		nest_recurse(s, depth - 1);
	else
		capture_here(s, MAXF, NULL);
	sink++;
}

static bool names_are(const struct seen *s, const char *const *names, int k)
{
	if (s->n < k)
		return false;
	for (int i = 0; i < k; i++)
		if (strcmp(name_at(s->frames[i]), names[i]))
			return false;
	return true;
}

#define CHECK_INNERMOST(what, s, ...)                                                              \
	do {                                                                                       \
		static const char *const want_[] = {__VA_ARGS__};                                  \
		bool ok_ = names_are(s, want_, (int)(sizeof(want_) / sizeof(*want_)));             \
		CHECK(ok_, "%s: the innermost frames are not %s", what, #__VA_ARGS__);             \
		if (!ok_)                                                                          \
			dump(what, (s)->frames, (s)->n);                                           \
	} while (0)

static struct stack_arena arena;

/* A new record of what s captured, as the core interns it. */
static const struct stack_rec *intern(const struct seen *s)
{
	return stackstore_intern(&arena, s->frames, (uint32_t)s->n, s->shape, s->shape_size);
}

/* --- on this thread's own stack ---------------------------------------------------- */

static void test_frames(const char *where, bool check_shape)
{
	struct seen *s = calloc(1, sizeof(*s)), *again = calloc(1, sizeof(*again));
	const struct stack_rec *rec = NULL;
	char what[128];

	/* Exactly the frames, from the caller of the capture outwards; none of costack's. */
	nest_outer(s, MAXF, NULL);
	snprintf(what, sizeof(what), "%s: nested", where);
	CHECK_INNERMOST(what, s, "capture_here", "nest_inner", "nest_middle", "nest_outer");
	check_reference(what, s);
	CHECK(!s->truncated, "%s: truncated, %d frames", what, s->n);
	CHECK(s->same == NULL, "%s: same without a hint", what);

	/* Started from a hook's caller: the same frames but the hook's. */
	nest_start_outer(again);
	snprintf(what, sizeof(what), "%s: from the caller", where);
	CHECK_INNERMOST(what, again, "nest_start_inner", "nest_start_outer");
	CHECK(again->n == s->n - 2,
	      "%s: %d frames, expected %d: the nested capture's 4 innermost frames "
	      "replaced by these 2",
	      what, again->n, s->n - 2);

	/* Deeper than max: the innermost max frames, and truncated says so. */
	nest_outer(again, 3, NULL);
	snprintf(what, sizeof(what), "%s: max 3", where);
	CHECK_EQ(again->n, 3);
	CHECK(again->truncated, "%s: not truncated", what);
	CHECK_INNERMOST(what, again, "capture_here", "nest_inner", "nest_middle");
	nest_outer(again, s->n, NULL);
	snprintf(what, sizeof(what), "%s: max = its depth", where);
	CHECK_EQ(again->n, s->n);
	CHECK(!again->truncated, "%s: truncated", what);
	nest_outer(again, s->n - 1, NULL);
	snprintf(what, sizeof(what), "%s: max = its depth - 1", where);
	CHECK_EQ(again->n, s->n - 1);
	CHECK(again->truncated, "%s: not truncated", what);

	/* Recursion: repeated return addresses are frames, each one. */
	nest_recurse(again, 10);
	snprintf(what, sizeof(what), "%s: recursion", where);
	check_reference(what, again);
	CHECK_INNERMOST(what, again, "capture_here", "nest_recurse", "nest_recurse", "nest_recurse",
	                "nest_recurse", "nest_recurse", "nest_recurse", "nest_recurse",
	                "nest_recurse", "nest_recurse", "nest_recurse", "nest_recurse");

	/* The shape fast path: the same place again, with the first capture's
	 * record as the hint, is recognised without a walk. (Only where the
	 * stack's bottom is what the preload walks to: a thread's start code.
	 * A ucontext task's is costack's trampoline, which the unit tests lack.) */
	if (check_shape) {
		snprintf(what, sizeof(what), "%s: shape", where);
		CHECK(s->shape != NULL && s->shape_size > 0,
		      "%s: a full walk gave no shape to keep (shape %p, %u bytes)", what, s->shape,
		      s->shape_size);
		/* One call site for every round: volatile keeps the loop as it is. */
		const struct stack_rec *volatile hint = NULL;
		volatile int rounds = 3;
		struct seen *results[3] = {s, again, again};
		for (int round = 0; round < rounds; round++) {
			nest_outer(results[round], MAXF, hint);
			if (round == 0)
				hint = rec = intern(s);
		}
		CHECK(rec && again->same == rec, "%s: the same place again: same %p, hint %p", what,
		      (const void *)again->same, (const void *)rec);
		CHECK(rec && again->n == (int)rec->nframes &&
		              !memcmp(again->frames, rec->frames, rec->nframes * sizeof(uintptr_t)),
		      "%s: the frames given for the hint are not the hint's", what);
	}
	/* ... and another path to the same place is not mistaken for it. */
	nest_other(again, MAXF, rec);
	snprintf(what, sizeof(what), "%s: another path, with a hint", where);
	CHECK(again->same == NULL, "%s: taken for the hint's stack", what);
	CHECK_INNERMOST(what, again, "capture_here", "nest_inner", "nest_other");
	check_reference(what, again);
	free(s);
	free(again);
}

/* --- on a task's stack --------------------------------------------------------------- */

struct task_arg {
	const char *where;
};

void task_entry(struct utask *t);
NOINLINE void task_entry(struct utask *t)
{
	struct task_arg *a = t->arg;

	test_frames(a->where, false);
	sink++;
}

static void test_on_task_stack(void)
{
	struct task_arg a = {"ucontext task"};
	uintptr_t saved_lo = stack_lo, saved_hi = stack_hi;
	struct utask t;

	utask_make(&t, task_entry, &a, STACK_SIZE);
	stack_lo = (uintptr_t)t.stack;
	stack_hi = (uintptr_t)t.stack + STACK_SIZE;
	utask_resume(&t);
	CHECK(t.ended, "the task did not end");
	stack_lo = saved_lo;
	stack_hi = saved_hi;
	utask_free(&t);
}

/* --- on another thread's stack ------------------------------------------------------ */

static void *thread_main(void *arg)
{
	struct costack_task_info info = {.size = sizeof(info)};

	/* This thread's root task has the thread's stack. */
	if (costack_task_info(costack_current_task(), &info) == 0) {
		stack_lo = (uintptr_t)info.stack_lo;
		stack_hi = (uintptr_t)info.stack_hi;
		test_frames("pthread", true);
	} else {
		CHECK(0, "no root task for a new thread");
	}
	return NULL;
}

static void test_thread(void)
{
	uintptr_t saved_lo = stack_lo, saved_hi = stack_hi;
	pthread_t thread;

	pthread_create(&thread, NULL, thread_main, NULL);
	pthread_join(thread, NULL);
	stack_lo = saved_lo;
	stack_hi = saved_hi;
}

/* --- reads stay in the stack's range -------------------------------------------------- */

void bounded_outer(struct seen *s);
NOINLINE void bounded_outer(struct seen *s)
{
	/* The range ends right above this frame: the walk must stop there. */
	uintptr_t saved_hi = stack_hi;

	stack_hi = (uintptr_t)__builtin_frame_address(0);
	nest_outer(s, MAXF, NULL);
	stack_hi = saved_hi;
	sink++;
}

static void test_bounds(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	bounded_outer(s);
	CHECK(s->n >= 4 && s->n <= 6, "a range ending above bounded_outer: %d frames", s->n);
	CHECK_INNERMOST("bounded", s, "capture_here", "nest_inner", "nest_middle", "nest_outer");
	for (int i = 0; i < s->n; i++)
		CHECK(strcmp(name_at(s->frames[i]), "test_bounds") &&
		              strcmp(name_at(s->frames[i]), "main"),
		      "bounded: frame %d (%s) lies beyond the range", i, name_at(s->frames[i]));
	free(s);
}

/* --- the shape: every word the walk read is checked ----------------------------------- */

void deep_chain(struct seen *s, int depth, const struct stack_rec *hint);
void deep_from_a(struct seen *s, const struct stack_rec *hint);
void deep_from_b(struct seen *s, const struct stack_rec *hint);

NOINLINE void deep_chain(struct seen *s, int depth, const struct stack_rec *hint)
{
	if (depth > 0)
		deep_chain(s, depth - 1, hint);
	else
		capture_here(s, MAXF, hint);
	sink++;
}

NOINLINE void deep_from_a(struct seen *s, const struct stack_rec *hint)
{
	deep_chain(s, 12, hint);
	sink += 1;
}

NOINLINE void deep_from_b(struct seen *s, const struct stack_rec *hint)
{
	deep_chain(s, 12, hint);
	sink += 2;
}

/* Two paths to one place that part 14 frames out: the shape checks the far frames too. */
static void test_shape_far_frames(void)
{
	struct seen *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	void (*volatile path)(struct seen *, const struct stack_rec *) = deep_from_a;
	const struct stack_rec *volatile hint = NULL;
	const struct stack_rec *rec = NULL;

	/* One call site for every round: the frames outside it are the same. */
	for (volatile int round = 0; round < 3; round++) {
		path(round == 0 ? a : b, hint);
		if (round == 0)
			hint = rec = intern(a);
		if (round == 1) {
			CHECK(rec && b->same == rec,
			      "far frames: the same path again is not the hint's");
			path = deep_from_b;
		}
	}
	CHECK(b->same == NULL, "far frames: a path parting 14 frames out taken for the hint's");
	CHECK_INNERMOST("far frames", b, "capture_here", "deep_chain", "deep_chain", "deep_chain",
	                "deep_chain", "deep_chain", "deep_chain", "deep_chain", "deep_chain",
	                "deep_chain", "deep_chain", "deep_chain", "deep_chain", "deep_chain",
	                "deep_from_b");
	check_reference("far frames", b);
	free(a);
	free(b);
}

/*
 * COSTACK_UNWIND=fp on a stack laid out by hand: frame-pointer frames (saved rbp, return
 * address) in a buffer, the chain ending at a return address 0. Changing a saved rbp so that the
 * chain skips a frame, every return address staying where it was, must not be taken for the
 * hint: the walk relied on that rbp.
 */
static void test_shape_frame_pointers(void)
{
	uintptr_t stack[32] __attribute__((aligned(16)));
	/* Return addresses of this program (not costack's, not a runtime's start). */
	const uintptr_t ra[4] = {(uintptr_t)nest_inner + 1, (uintptr_t)nest_middle + 1,
	                         (uintptr_t)nest_outer + 1, (uintptr_t)nest_other + 1};
	const uintptr_t lo = (uintptr_t)stack, hi = (uintptr_t)(stack + 32);
	struct unwind_start start = {.sp = lo, .bp = (uintptr_t)&stack[2], .ra = ra[0]};
	const struct stack_rec *rec;
	struct capture c;
	int saved = config.unwind;
	bool truncated = true;

	memset(stack, 0, sizeof(stack));
	/* Frame k: its saved rbp at stack[2k] points to frame k+1's; its caller's return
	 * address at stack[2k + 1]. */
	for (int k = 1; k <= 3; k++) {
		stack[2 * k] = (uintptr_t)&stack[2 * k + 2];
		stack[2 * k + 1] = ra[k];
	}
	stack[9] = 0; /* frame 4: no caller */
	config.unwind = UNWIND_FP;
	unwind_capture(scratch, MAXF, lo, hi, NULL, &start, &c);
	CHECK(c.n == 4 && c.frames[0] == ra[0] && c.frames[3] == ra[3] && c.shape,
	      "frame pointers: %d frames, a shape %p", c.n, c.shape);
	rec = c.shape ? stackstore_intern(&arena, c.frames, (uint32_t)c.n, c.shape, c.shape_size)
	              : NULL;
	if (rec) {
		CHECK(unwind_still(rec, &start, lo, hi, &truncated) && !truncated,
		      "frame pointers: the same stack is not the hint's");
		stack[4] = (uintptr_t)&stack[8]; /* frame 2's caller is frame 4 now */
		CHECK(!unwind_still(rec, &start, lo, hi, &truncated),
		      "frame pointers: a changed saved rbp taken for the hint's stack");
		unwind_capture(scratch, MAXF, lo, hi, rec, &start, &c);
		CHECK(c.same == NULL && c.n == 3,
		      "frame pointers: %d frames after the change (same %p)", c.n,
		      (const void *)c.same);
		stack[4] = (uintptr_t)&stack[6];
		stack[5] ^= 1; /* a return address the walk read */
		CHECK(!unwind_still(rec, &start, lo, hi, &truncated),
		      "frame pointers: a changed return address taken for the hint's stack");
		stack[5] ^= 1;
		stack[9] = ra[1]; /* the last word read: the chain goes on */
		CHECK(!unwind_still(rec, &start, lo, hi, &truncated),
		      "frame pointers: a chain going on further taken for the hint's stack");
		stack[9] = 0;
		start.bp += 16; /* the frame pointer register itself */
		CHECK(!unwind_still(rec, &start, lo, hi, &truncated),
		      "frame pointers: a changed rbp register taken for the hint's stack");
	}
	config.unwind = saved;
}

/*
 * The same on a chain of 15 frame-pointer frames: shape_holds checks (saved rbp, return
 * address) pairs four at a time, then the rest one by one. Every word of every pair the walk
 * read, changed alone, must not be taken for the hint's stack, wherever it falls in the
 * groups.
 */
static void test_shape_frame_pointer_chain(void)
{
	enum { FRAMES = 15, WORDS = 2 * FRAMES + 4 };
	uintptr_t stack[WORDS] __attribute__((aligned(16)));
	const uintptr_t ras[3] = {(uintptr_t)nest_inner + 1, (uintptr_t)nest_middle + 1,
	                          (uintptr_t)nest_outer + 1};
	const uintptr_t lo = (uintptr_t)stack, hi = (uintptr_t)(stack + WORDS);
	struct unwind_start start = {.sp = lo, .bp = (uintptr_t)&stack[2], .ra = ras[0]};
	const struct stack_rec *rec;
	struct capture c;
	int saved = config.unwind, missed = 0;
	bool truncated = true;

	memset(stack, 0, sizeof(stack));
	for (int k = 1; k < FRAMES; k++) {
		stack[2 * k] = (uintptr_t)&stack[2 * k + 2];
		stack[2 * k + 1] = ras[k % 3];
	}
	config.unwind = UNWIND_FP;
	unwind_capture(scratch, MAXF, lo, hi, NULL, &start, &c);
	CHECK(c.n == FRAMES && c.shape, "frame-pointer chain: %d frames, a shape %p", c.n, c.shape);
	rec = c.shape ? stackstore_intern(&arena, c.frames, (uint32_t)c.n, c.shape, c.shape_size)
	              : NULL;
	if (rec) {
		CHECK(unwind_still(rec, &start, lo, hi, &truncated) && !truncated,
		      "frame-pointer chain: the same stack is not the hint's");
		/* The last frame's saved rbp is read but not relied on: its return address, 0,
		 * ends the walk (and is checked: changed, the chain would go on). */
		for (int i = 2; i <= 2 * FRAMES + 1; i++) {
			if (i == 2 * FRAMES)
				continue;
			stack[i] ^= 8;
			if (unwind_still(rec, &start, lo, hi, &truncated)) {
				printf("# frame-pointer chain: word %d changed, taken for the "
				       "hint's\n",
				       i);
				missed++;
			}
			stack[i] ^= 8;
		}
		CHECK(missed == 0,
		      "frame-pointer chain: %d changed words taken for the hint's stack", missed);
		CHECK(unwind_still(rec, &start, lo, hi, &truncated),
		      "frame-pointer chain: the stack restored is not the hint's");
	}
	config.unwind = saved;
}

/* --- COSTACK_UNWIND=libunwind ---------------------------------------------------------- */

static void test_libunwind_mode(void)
{
	struct seen *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int saved = config.unwind;

	nest_outer(a, MAXF, NULL);
	config.unwind = UNWIND_LIBUNWIND;
	nest_outer(b, MAXF, NULL);
	config.unwind = saved;
	check_reference("COSTACK_UNWIND=libunwind", b);
	CHECK_INNERMOST("COSTACK_UNWIND=libunwind", b, "capture_here", "nest_inner", "nest_middle",
	                "nest_outer");
	CHECK(a->n == b->n, "default walk %d frames, libunwind %d", a->n, b->n);
	free(a);
	free(b);
}

int main(void)
{
	struct costack_task_info info = {.size = sizeof(info)};

	/* The main thread's stack, as the core knows it (its root task, registered by the
	 * API's first call). */
	if (costack_task_info(costack_current_task(), &info) == 0) {
		stack_lo = (uintptr_t)info.stack_lo;
		stack_hi = (uintptr_t)info.stack_hi;
	}
	CHECK(stack_lo < stack_hi && stack_lo <= (uintptr_t)&info && (uintptr_t)&info < stack_hi,
	      "the main thread's stack [%#lx, %#lx) does not hold %p", (unsigned long)stack_lo,
	      (unsigned long)stack_hi, (void *)&info);
	test_frames("main thread", true);
	test_thread();
	test_on_task_stack();
	test_bounds();
	test_shape_far_frames();
	test_shape_frame_pointers();
	test_shape_frame_pointer_chain();
	test_libunwind_mode();
	return check_finish("test_unwind");
}
