/* SPDX-License-Identifier: MIT */
/* make_seeds.c - the fuzz seeds: written (--write DIR), or compared and parsed (--check DIR). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "live_read.h"
#include "task_view.h"

/*
 * Small images of a live registry, laid out as costack-live.h says but
 * compact: the header's slab table holds only nslabs entries and the
 * records follow it (the reader needs no more). Each seed walks other
 * paths of the reader; --check makes each one again, compares it with the
 * committed file (a layout change must regenerate them: --write), and
 * parses it, checking what live_parse must find.
 */

#define BASE 0x7f1200000000ull
#define PID 4242
#define RING 4
#define DEPTH 8
#define IMAGE_MAX 65536
#define HEADER_FIXED offsetof(struct costack_live_header, slabs)
#define TASK_SIZE                                                                                  \
	((sizeof(struct costack_live_task) + RING * sizeof(struct costack_live_snapshot) + 15) &   \
	 ~(size_t)15)

struct image {
	_Alignas(16) unsigned char buf[IMAGE_MAX];
	size_t len;
	uint32_t nslabs;
};

/* n bytes at the end, 16-byte aligned; their offset. */
static uint64_t put(struct image *im, const void *p, size_t n)
{
	uint64_t off = (im->len + 15) & ~(size_t)15;

	if (off + n > IMAGE_MAX)
		abort();
	if (p)
		memcpy(im->buf + off, p, n);
	im->len = off + n;
	return off;
}

static void begin(struct image *im, uint32_t nslabs)
{
	memset(im, 0, sizeof(*im));
	im->nslabs = nslabs;
	im->len = HEADER_FIXED + nslabs * sizeof(struct costack_live_slab);
}

static uint64_t add_slab(struct image *im, uint32_t index, uint32_t slots)
{
	uint64_t off = put(im, NULL, (size_t)slots * TASK_SIZE);
	struct costack_live_slab slab = {.address = BASE + off, .slots = slots};

	memcpy(im->buf + HEADER_FIXED + index * sizeof(slab), &slab, sizeof(slab));
	return off;
}

/* A record of the store holding n words: its number (costack-live.h). */
static uint32_t add_record(struct image *im, const void *words, uint32_t n)
{
	unsigned char rec[sizeof(struct costack_live_stack) + 64 * sizeof(uint64_t)];
	uint64_t off = (im->len + 15) & ~(size_t)15;
	struct costack_live_stack head = {
	        .hash = 1, .number = (uint32_t)(off / COSTACK_LIVE_RECORD_ALIGN), .nframes = n};

	memcpy(rec, &head, sizeof(head));
	memcpy(rec + sizeof(head), words, n * sizeof(uint64_t));
	return (uint32_t)(put(im, rec, sizeof(head) + n * sizeof(uint64_t)) /
	                  COSTACK_LIVE_RECORD_ALIGN);
}

/* A stack of n frames, innermost first as the target stores them. Frames are
 * 0x401000 + 0x10 * (first + i). */
static uint32_t add_stack(struct image *im, uint32_t n, uint32_t first)
{
	uint64_t frames[64];

	for (uint32_t i = 0; i < n; i++)
		frames[i] = 0x401000 + 0x10 * (first + i);
	return add_record(im, frames, n);
}

static uint32_t add_exception(struct image *im, const char *type, const char *what, bool terminated)
{
	struct costack_live_exception e = {.origin = 5};

	strncpy(e.type, type, sizeof(e.type) - 1);
	strncpy(e.what, what, sizeof(e.what) - 1);
	if (!terminated)
		memset(e.what, 'x', sizeof(e.what));
	return add_record(im, &e, sizeof(e) / sizeof(uint64_t));
}

static uint32_t add_name(struct image *im, const char *name)
{
	char words[COSTACK_LIVE_NAME_MAX];

	memset(words, 0, sizeof(words));
	strncpy(words, name, sizeof(words) - 1);
	return add_record(im, words, sizeof(words) / sizeof(uint64_t));
}

struct record {
	struct costack_live_task task;
	struct costack_live_snapshot ring[RING];
};

static void set_record(struct image *im, uint64_t slab, uint32_t slot, const struct record *r)
{
	unsigned char *at = im->buf + slab + (size_t)slot * TASK_SIZE;

	memcpy(at, &r->task, sizeof(r->task));
	memcpy(at + sizeof(r->task), r->ring, sizeof(r->ring));
}

enum { SUSPEND, RAISE };

/* A snapshot of stack; a raise's refers to a raise record of its stack and exception. */
static struct costack_live_snapshot snap(struct image *im, int kind, uint32_t stack,
                                         uint32_t exception)
{
	uint64_t raise[2] = {stack | (uint64_t)exception << 32, 0x5000};

	if (kind == SUSPEND)
		return (struct costack_live_snapshot){.what = stack, .at = 1};
	return (struct costack_live_snapshot){
	        .what = add_record(im, raise, 2) | COSTACK_LIVE_WHAT_RAISE, .at = 1};
}

static void finish(struct image *im)
{
	struct costack_live_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, COSTACK_LIVE_MAGIC, sizeof(h.magic));
	h.version = COSTACK_LIVE_VERSION;
	h.header_size = sizeof(struct costack_live_header);
	im->len = (im->len + 15) & ~(size_t)15;
	/* One chunk: the image, mapped at BASE. */
	h.nchunks = 1;
	h.chunks[0] = (struct costack_live_chunk){.address = BASE, .offset = 0, .size = im->len};
	h.size = im->len;
	h.used = im->len;
	h.pid = PID;
	h.task_size = TASK_SIZE;
	h.ring_offset = sizeof(struct costack_live_task);
	h.snapshot_size = sizeof(struct costack_live_snapshot);
	h.ring = RING;
	h.depth = DEPTH;
	h.monotonic_at_load = 1000000000;
	h.realtime_minus_monotonic = 1700000000000000000;
	h.nslabs = im->nslabs;
	memcpy(im->buf, &h, HEADER_FIXED);
}

static struct record task(uint64_t id, int state, int runtime)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.task.id = id;
	r.task.state = (uint8_t)state;
	r.task.runtime = (uint8_t)runtime;
	r.task.tid = PID;
	r.task.created = 500;
	r.task.since = 900;
	return r;
}

/* Push a snapshot as the newest of r's ring. */
static void push(struct record *r, struct costack_live_snapshot s)
{
	r->task.ring_newest = r->task.ring_used ? (r->task.ring_newest + 1) % RING : 0;
	r->ring[r->task.ring_newest] = s;
	if (r->task.ring_used < RING)
		r->task.ring_used++;
}

/* --- the seeds, and what the reader must find in each -------------------------- */

struct expect_task {
	uint64_t id;
	int state;
	uint32_t nframes;
	uint64_t oldest; /* frames[0], if any */
	const char *exception_type;
	bool truncated;   /* its stack is marked deeper than the depth */
	const char *name; /* NULL: none */
};

struct seed {
	const char *name;
	void (*make)(struct image *im);
	size_t busy, bad;
	size_t ntasks;
	struct expect_task tasks[8];
};

/* Every state, with api.c's choice of snapshot for each. */
static void make_states(struct image *im)
{
	uint64_t slab;
	uint32_t s_main, s_sleep, s_raise, s_fatal, e_caught, e_fatal;
	struct record r;

	begin(im, 1);
	slab = add_slab(im, 0, 8);
	s_main = add_stack(im, 3, 0);
	s_sleep = add_stack(im, 4, 10);
	s_raise = add_stack(im, 6, 20);
	s_fatal = add_stack(im, 5, 30);
	e_caught = add_exception(im, "std::logic_error", "caught", true);
	e_fatal = add_exception(im, "std::runtime_error", "boom", true);

	r = task(1, COSTACK_RUNNING, COSTACK_RUNTIME_THREAD); /* a root: its last suspension */
	push(&r, snap(im, SUSPEND, s_main, 0));
	r.task.switches = 2;
	set_record(im, slab, 0, &r);
	r = task(2, COSTACK_CREATED, COSTACK_RUNTIME_UCONTEXT); /* its entry alone */
	r.task.entry = 0x402000;
	r.task.parent = 1;
	set_record(im, slab, 1, &r);
	r = task(3, COSTACK_SUSPENDED,
	         COSTACK_RUNTIME_UCONTEXT); /* the newest suspend, not the raise */
	push(&r, snap(im, SUSPEND, s_sleep, 0));
	push(&r, snap(im, RAISE, s_raise, e_caught));
	r.task.exception = e_caught;
	r.task.name = add_name(im, "sleeper");
	set_record(im, slab, 2, &r);
	r = task(4, COSTACK_DONE, COSTACK_RUNTIME_UCONTEXT); /* no frames */
	push(&r, snap(im, SUSPEND, s_sleep, 0));
	set_record(im, slab, 3, &r);
	r = task(5, COSTACK_FAILED, COSTACK_RUNTIME_FCONTEXT); /* the kept raise, not the newest */
	push(&r, snap(im, RAISE, s_raise, e_caught));
	r.task.kept = snap(im, RAISE, s_fatal, e_fatal);
	r.task.flags |= COSTACK_LIVE_TASK_HAS_KEPT;
	r.task.exception = e_caught;
	set_record(im, slab, 4, &r);
	r = task(6, COSTACK_CANCELLED, COSTACK_RUNTIME_FCONTEXT);
	set_record(im, slab, 5, &r);
	/* slot 6: free (zeroes) */
	r = task(8, COSTACK_SUSPENDED, COSTACK_RUNTIME_UCONTEXT); /* being written: busy */
	r.task.seq = 3;
	set_record(im, slab, 7, &r);
	finish(im);
}

/* A wrapped ring, a truncated stack, a failed task without a kept raise. */
static void make_wrap(struct image *im)
{
	uint64_t slab;
	uint32_t s_old, s_deep, s_raise, e;
	struct record r;

	begin(im, 1);
	slab = add_slab(im, 0, 2);
	s_old = add_stack(im, 2, 40);
	s_deep = add_stack(im, DEPTH, 50);
	s_raise = add_stack(im, 3, 60);
	e = add_exception(im, "int", "", true);

	r = task(10, COSTACK_SUSPENDED, COSTACK_RUNTIME_UCONTEXT);
	push(&r, snap(im, SUSPEND, s_old, 0));
	push(&r, snap(im, SUSPEND, s_deep, 0));
	r.ring[r.task.ring_newest].what |= COSTACK_LIVE_WHAT_TRUNCATED;
	push(&r, snap(im, RAISE, s_raise, e));
	push(&r, snap(im, RAISE, s_raise, e));
	push(&r, snap(im, RAISE, s_raise, e)); /* wraps: the oldest suspend is gone */
	set_record(im, slab, 0, &r);
	r = task(11, COSTACK_FAILED, COSTACK_RUNTIME_UCONTEXT);
	push(&r, snap(im, SUSPEND, s_old, 0));
	push(&r, snap(im, RAISE, s_raise, e));
	r.task.exception = e;
	set_record(im, slab, 1, &r);
	finish(im);
}

/* Two slabs; two tasks sharing one stack; a lost stack (number 0). */
static void make_two_slabs(struct image *im)
{
	uint64_t slab0, slab1;
	uint32_t shared;
	struct record r;

	begin(im, 2);
	slab0 = add_slab(im, 0, 1);
	slab1 = add_slab(im, 1, 2);
	shared = add_stack(im, 4, 70);
	r = task(20, COSTACK_SUSPENDED, COSTACK_RUNTIME_FCONTEXT);
	push(&r, snap(im, SUSPEND, shared, 0));
	set_record(im, slab0, 0, &r);
	r = task(21, COSTACK_SUSPENDED, COSTACK_RUNTIME_FCONTEXT);
	push(&r, snap(im, SUSPEND, shared, 0));
	set_record(im, slab1, 0, &r);
	r = task(22, COSTACK_SUSPENDED, COSTACK_RUNTIME_FCONTEXT);
	push(&r, snap(im, SUSPEND, 0, 0));
	set_record(im, slab1, 1, &r);
	finish(im);
}

/* Lies the reader must catch, each in one task; one honest task. */
static void make_lies(struct image *im)
{
	uint64_t slab;
	uint32_t good, deep, e_open;
	struct record r;

	begin(im, 1);
	slab = add_slab(im, 0, 6);
	good = add_stack(im, 2, 80);
	deep = add_stack(im, DEPTH + 1, 90);                     /* more frames than depth */
	e_open = add_exception(im, "std::bad_alloc", "", false); /* what has no NUL */

	r = task(30, COSTACK_SUSPENDED, COSTACK_RUNTIME_UCONTEXT); /* outside the region */
	push(&r, snap(im, SUSPEND, IMAGE_MAX * 4 / COSTACK_LIVE_RECORD_ALIGN, 0));
	set_record(im, slab, 0, &r);
	r = task(31, COSTACK_SUSPENDED, COSTACK_RUNTIME_UCONTEXT); /* no record's start */
	push(&r, snap(im, SUSPEND, good + 1, 0));
	set_record(im, slab, 1, &r);
	r = task(32, COSTACK_SUSPENDED, COSTACK_RUNTIME_UCONTEXT);
	push(&r, snap(im, SUSPEND, deep, 0));
	set_record(im, slab, 2, &r);
	r = task(33, COSTACK_FAILED, COSTACK_RUNTIME_UCONTEXT);
	push(&r, snap(im, RAISE, good, e_open));
	set_record(im, slab, 3, &r);
	r = task(34, 9, COSTACK_RUNTIME_UCONTEXT); /* no such state */
	set_record(im, slab, 4, &r);
	r = task(35, COSTACK_SUSPENDED, COSTACK_RUNTIME_UCONTEXT);
	push(&r, snap(im, SUSPEND, good, 0));
	set_record(im, slab, 5, &r);
	finish(im);
}

static void make_empty(struct image *im)
{
	begin(im, 0);
	finish(im);
}

static const struct seed seeds[] = {
        {"states",
         make_states,
         1,
         0,
         6,
         {{1, COSTACK_RUNNING, 3, 0x401020, NULL, false, NULL},
          {2, COSTACK_CREATED, 1, 0x402000, NULL, false, NULL},
          {3, COSTACK_SUSPENDED, 4, 0x4010d0, NULL, false, "sleeper"},
          {4, COSTACK_DONE, 0, 0, NULL, false, NULL},
          {5, COSTACK_FAILED, 5, 0x401220, "std::runtime_error", false, NULL},
          {6, COSTACK_CANCELLED, 0, 0, NULL, false, NULL}}},
        {"wrap",
         make_wrap,
         0,
         0,
         2,
         {{10, COSTACK_SUSPENDED, DEPTH, 0x401000 + 0x10 * (50 + DEPTH - 1), NULL, true, NULL},
          {11, COSTACK_FAILED, 3, 0x401000 + 0x10 * 62, "int", false, NULL}}},
        {"two_slabs",
         make_two_slabs,
         0,
         0,
         3,
         {{20, COSTACK_SUSPENDED, 4, 0x401000 + 0x10 * 73, NULL, false, NULL},
          {21, COSTACK_SUSPENDED, 4, 0x401000 + 0x10 * 73, NULL, false, NULL},
          {22, COSTACK_SUSPENDED, 0, 0, NULL, false, NULL}}},
        /* A state no costack has (a newer one's) is shown as unknown, with no frames; the
         * other lies leave their task out as bad. */
        {"lies",
         make_lies,
         0,
         4,
         2,
         {{34, COSTACK_STATE_UNKNOWN, 0, 0, NULL, false, NULL},
          {35, COSTACK_SUSPENDED, 2, 0x401000 + 0x10 * 81, NULL, false, NULL}}},
        {"empty", make_empty, 0, 0, 0, {{0}}},
};

/* --- driver -------------------------------------------------------------------- */

static int passed, failed;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	failed++;
	fputs("FAILED: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void check_parse(const struct seed *s, const struct image *im)
{
	struct live_parse_options opt = {.tries = 1};
	struct live_snapshot snap;
	struct live_error err;

	if (live_parse(im->buf, im->len, &opt, &snap, &err)) {
		check(false, "%s: parses (%s)", s->name, err.message);
		return;
	}
	check(snap.pid == PID && snap.busy == s->busy && snap.bad == s->bad &&
	              snap.ntasks == s->ntasks,
	      "%s: pid %d, %zu tasks, %zu busy, %zu bad (found %" PRId32 ", %zu, %zu, %zu)",
	      s->name, PID, s->ntasks, s->busy, s->bad, snap.pid, snap.ntasks, snap.busy, snap.bad);
	for (size_t i = 0; i < s->ntasks && i < snap.ntasks; i++) {
		const struct expect_task *e = &s->tasks[i];
		const struct live_task *t = &snap.tasks[i];

		check(t->id == e->id && t->state == e->state && t->nframes == e->nframes &&
		              (!e->nframes || t->frames[0] == e->oldest),
		      "%s: task %" PRIu64 " %s with %" PRIu32 " frames, the oldest %#" PRIx64
		      " (found %" PRIu64 " %s, %" PRIu32 ", %#" PRIx64 ")",
		      s->name, e->id, live_state_name(e->state), e->nframes, e->oldest, t->id,
		      live_state_name(t->state), t->nframes, t->nframes ? t->frames[0] : 0);
		check(e->exception_type
		              ? t->has_exception && !strcmp(t->exception_type, e->exception_type)
		              : t->state != COSTACK_FAILED || !t->has_exception,
		      "%s: task %" PRIu64 "'s exception %s (found %s)", s->name, e->id,
		      e->exception_type ? e->exception_type : "(none)",
		      t->has_exception ? t->exception_type : "(none)");
		check(t->truncated == e->truncated && !strcmp(t->name, e->name ? e->name : ""),
		      "%s: task %" PRIu64 " %s, named '%s' (found %s, '%s')", s->name, e->id,
		      e->truncated ? "truncated" : "whole", e->name ? e->name : "",
		      t->truncated ? "truncated" : "whole", t->name);
	}
	live_snapshot_free(&snap);
}

int main(int argc, char **argv)
{
	static struct image im;
	bool write = argc == 3 && !strcmp(argv[1], "--write");
	char path[4096];

	if (argc != 3 || (!write && strcmp(argv[1], "--check"))) {
		fputs("usage: make_seeds --write|--check DIR\n", stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(*seeds); i++) {
		const struct seed *s = &seeds[i];
		static unsigned char file[IMAGE_MAX + 1];
		FILE *f;
		size_t n;

		s->make(&im);
		snprintf(path, sizeof(path), "%s/seed_%s", argv[2], s->name);
		f = fopen(path, write ? "wb" : "rb");
		if (!f) {
			fprintf(stderr, "make_seeds: %s: %s\n", path, strerror(errno));
			return 2;
		}
		if (write) {
			if (fwrite(im.buf, 1, im.len, f) != im.len || fclose(f)) {
				fprintf(stderr, "make_seeds: cannot write %s\n", path);
				return 2;
			}
			continue;
		}
		n = fread(file, 1, sizeof(file), f);
		fclose(f);
		check(n == im.len && !memcmp(file, im.buf, n),
		      "%s: the committed seed is what make_seeds makes (regenerate with --write)",
		      s->name);
		check_parse(s, &im);
	}
	if (!write)
		printf("make_seeds: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
