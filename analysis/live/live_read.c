/* SPDX-License-Identifier: MIT */
/* live_read.c - a live registry read from outside: found in /proc, copied, distrusted. */
#define _GNU_SOURCE
#include "live_read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "costack.h"
#include "task_view.h"
#include "ticks.h"

/*
 * How the reader trusts nothing. The target may be hostile (a root reader
 * may be pointed at anyone's process) and changes the region while it is
 * read. So:
 * - every value is read once, into the reader's own memory, and only that
 *   copy is checked and used: nothing is validated and then read again;
 * - every offset is a target pointer translated by the header's chunk
 *   table (the chunk holding all of the object, its address minus the
 *   chunk's plus the chunk's offset), checked for alignment and, without
 *   overflow, against the region's used size and the image's length
 *   before anything is copied from it;
 * - every count is bounded by the layout's maxima before it sizes a copy,
 *   and the work of a read by the region's size (slabs may not add up to
 *   more than it);
 * - a record is copied between two reads of its seqlock and used only when
 *   both saw the same even value; a torn record is retried, a stack it
 *   points to is then copied from the copy's pointer (stacks are immutable
 *   in an honest target; a dishonest one can only make us show its lies).
 */

#define HEADER_FIXED offsetof(struct costack_live_header, slabs)
#define RING_MAX 1024u /* COSTACK_RING's maximum */
#define STACK_HEAD sizeof(struct costack_live_stack)
/* A TSC rate is measured over at least this much time, as the target's is. */
#define RATE_MEASURED_OVER_NS 10000000u
#define SPIN_TRIES 64u         /* tries before yielding the CPU to a preempted writer */
#define REMOTE_TRIES 16u       /* tries of one process_vm_readv copy of a record that changes */
#define REGISTRY_MAKING_MS 100 /* how long a registry being made is waited for */

const char *live_state_name(int state)
{
	const char *name = task_state_name(state);

	return name ? name : "?";
}

const char *live_runtime_name(int runtime)
{
	const char *name = task_runtime_name(runtime);

	return name ? name : "?";
}

static int fail(struct live_error *err, enum live_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(struct live_error *err, enum live_status status, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- copied stacks --------------------------------------------------------- */

/*
 * Each distinct stack pointer is followed and copied once per read, and its
 * frames shared by every task that points to it: the copies' total is then
 * bounded by the region's size, however many tasks point to one stack.
 */
struct stack_copy {
	uint64_t pointer; /* 0: an empty slot */
	bool valid;
	uint32_t nframes;
	uint64_t *frames; /* oldest first */
};

struct stack_store {
	struct stack_copy *slots;
	size_t n, cap;
};

static void store_free(struct stack_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].frames);
	free(s->slots);
	free(s);
}

static size_t store_hash(uint64_t pointer, size_t cap)
{
	pointer ^= pointer >> 29;
	pointer *= 0xbf58476d1ce4e5b9ull;
	pointer ^= pointer >> 32;
	return (size_t)pointer & (cap - 1);
}

static struct stack_copy *store_find(struct stack_store *s, uint64_t pointer)
{
	size_t i;

	if (!s->cap)
		return NULL;
	for (i = store_hash(pointer, s->cap); s->slots[i].pointer; i = (i + 1) & (s->cap - 1))
		if (s->slots[i].pointer == pointer)
			return &s->slots[i];
	return NULL;
}

/* A new slot for pointer; NULL when out of memory. */
static struct stack_copy *store_add(struct stack_store *s, uint64_t pointer)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct stack_copy *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->slots[j].pointer)
				continue;
			for (i = store_hash(s->slots[j].pointer, cap); slots[i].pointer;
			     i = (i + 1) & (cap - 1))
				;
			slots[i] = s->slots[j];
		}
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
	}
	for (i = store_hash(pointer, s->cap); s->slots[i].pointer; i = (i + 1) & (s->cap - 1))
		;
	s->slots[i].pointer = pointer;
	s->n++;
	return &s->slots[i];
}

/* --- the parse ------------------------------------------------------------- */

struct parser {
	const unsigned char *image; /* a memory image, or NULL: fd */
	int fd;                     /* a file read with pread(2), never mapped */
	bool shrank;                /* fd ended before len: its bytes are gone */
	unsigned char *record;      /* a file's record, task_size bytes, copied one at a time */
	size_t len;
	const struct live_parse_options *opt;
	struct costack_live_header h; /* the fixed part, copied once */
	uint64_t used;                /* h.used, re-read when it grew */
	uint32_t nchunks;             /* chunks of h.chunks copied, re-read when they grew */
	uint32_t max_frames;          /* min(depth, COSTACK_LIVE_MAX_FRAMES) */
	struct stack_store *store;
	bool out_of_memory;
	uint64_t busy_deadline; /* CLOCK_MONOTONIC; 0: no budget */
	bool budget_spent;
	bool no_remote; /* process_vm_readv refused (permission, no such call): pread only */
};

/*
 * The image's bytes. A registry is read from its memfd with pread(2), never
 * mapped: a target that shrinks its memfd while it is read (nothing of
 * libcostack.so does) would have a mapping's reader killed by SIGBUS, where
 * pread returns less. Each copy is a system call, a full barrier.
 */

/* Copy size bytes at off (inside len, checked before) into dst; false when the file ended
 * first (p->shrank). */
static bool image_copy(struct parser *p, uint64_t off, void *dst, size_t size)
{
	size_t done = 0;

	if (p->image) {
		memcpy(dst, p->image + off, size);
		return true;
	}
	while (done < size) {
		ssize_t n = pread(p->fd, (char *)dst + done, size - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->shrank = true;
			memset((char *)dst + done, 0, size - done);
			return false;
		}
		done += (size_t)n;
	}
	return true;
}

static uint32_t image_u32(struct parser *p, uint64_t off)
{
	uint32_t v = 0;

	if (p->image)
		return __atomic_load_n((const uint32_t *)(p->image + off), __ATOMIC_ACQUIRE);
	image_copy(p, off, &v, sizeof(v));
	return v;
}

static uint64_t image_u64(struct parser *p, uint64_t off)
{
	uint64_t v = 0;

	if (p->image)
		return __atomic_load_n((const uint64_t *)(p->image + off), __ATOMIC_ACQUIRE);
	image_copy(p, off, &v, sizeof(v));
	return v;
}

/* Whether [off, off + size) lies in what the target handed out, within the
 * image, and (for a memfd) over data rather than holes. */
/* A file read while its target grows it: take in what the region its header claims now holds,
 * no more than the file has. Read after used, which a new chunk's size precedes. */
static void take_growth(struct parser *p)
{
	uint64_t size = image_u64(p, offsetof(struct costack_live_header, size));
	struct stat st;

	if (p->image || size <= p->len || fstat(p->fd, &st) || st.st_size < 0)
		return;
	if ((uint64_t)st.st_size < size)
		size = (uint64_t)st.st_size;
	if (size > p->len && size <= SIZE_MAX)
		p->len = (size_t)size;
}

/* Whether [off, off + size) lies in what the target has allocated and the read can reach. The
 * target allocates and grows its region as it runs: bounds read earlier are refreshed before
 * a no. */
static bool in_bounds(struct parser *p, uint64_t off, uint64_t size)
{
	uint64_t limit = p->used < p->len ? p->used : p->len;

	if (off <= limit && size <= limit - off)
		return true;
	uint64_t used = image_u64(p, offsetof(struct costack_live_header, used));
	uint64_t grown = image_u64(p, offsetof(struct costack_live_header, size));

	if (used > p->used && used <= grown)
		p->used = used;
	take_growth(p);
	limit = p->used < p->len ? p->used : p->len;
	return off <= limit && size <= limit - off;
}

/* in_bounds, and data there (not a hole of the memfd). */
static bool in_region(struct parser *p, uint64_t off, uint64_t size)
{
	return in_bounds(p, off, size) &&
	       (!p->opt->has_data || p->opt->has_data(p->opt->ctx, off, size));
}

/* Copy the chunks the target counts now (each filled in before it is counted). */
static void read_chunks(struct parser *p)
{
	uint32_t n = image_u32(p, offsetof(struct costack_live_header, nchunks));

	if (n > COSTACK_LIVE_MAX_CHUNKS)
		n = COSTACK_LIVE_MAX_CHUNKS;
	if (n <= p->nchunks)
		return;
	if (image_copy(p, offsetof(struct costack_live_header, chunks), p->h.chunks,
	               n * sizeof(struct costack_live_chunk)))
		p->nchunks = n;
}

/* The chunk holding all of [pointer, pointer + size); NULL if none of those copied does. */
static const struct costack_live_chunk *chunk_of(const struct parser *p, uint64_t pointer,
                                                 uint64_t size)
{
	for (uint32_t i = 0; i < p->nchunks; i++) {
		const struct costack_live_chunk *c = &p->h.chunks[i];

		if (pointer >= c->address && pointer - c->address <= c->size &&
		    size <= c->size - (pointer - c->address))
			return c;
	}
	return NULL;
}

/* The offset in the memfd of [pointer, pointer + size), all in one chunk; false if no chunk
 * holds it. */
static bool chunk_offset(struct parser *p, uint64_t pointer, uint64_t size, uint64_t *off)
{
	const struct costack_live_chunk *c = chunk_of(p, pointer, size);

	if (!c) {
		/* The target may have mapped another chunk since. */
		read_chunks(p);
		c = chunk_of(p, pointer, size);
	}
	if (!c || c->offset > UINT64_MAX - (pointer - c->address))
		return false;
	*off = c->offset + (pointer - c->address);
	return true;
}

/* The offset in the image of a target pointer to an object of size bytes
 * aligned to align; false if it is not a pointer into the region. */
static bool pointer_offset(struct parser *p, uint64_t pointer, uint64_t size, uint64_t align,
                           uint64_t *off)
{
	return chunk_offset(p, pointer, size, off) && *off % align == 0 && in_region(p, *off, size);
}

/* The stack at pointer, record number `number` (costack-live.h: it says so), copied (once per
 * read); NULL when it is no valid stack. pointer is not 0. */
static const struct stack_copy *follow_stack(struct parser *p, uint64_t pointer, uint32_t number)
{
	struct stack_copy *c = store_find(p->store, pointer);
	struct costack_live_stack head;
	uint64_t off, *innermost_first;

	if (c)
		return c->valid ? c : NULL;
	c = store_add(p->store, pointer);
	if (!c) {
		p->out_of_memory = true;
		return NULL;
	}
	if (!pointer_offset(p, pointer, STACK_HEAD, 8, &off))
		return NULL;
	if (!image_copy(p, off, &head, STACK_HEAD))
		return NULL;
	if (head.number != number || head.nframes > p->max_frames ||
	    !in_region(p, off + STACK_HEAD, (uint64_t)head.nframes * sizeof(uint64_t)))
		return NULL;
	innermost_first = malloc((head.nframes ? head.nframes : 1) * sizeof(uint64_t));
	c->frames = malloc((head.nframes ? head.nframes : 1) * sizeof(uint64_t));
	if (!innermost_first || !c->frames) {
		free(innermost_first);
		p->out_of_memory = true;
		return NULL;
	}
	/* One copy of the target's bytes; the reversal reads only ours. */
	if (!image_copy(p, off + STACK_HEAD, innermost_first, head.nframes * sizeof(uint64_t))) {
		free(innermost_first);
		return NULL;
	}
	for (uint32_t i = 0; i < head.nframes; i++)
		c->frames[i] = innermost_first[head.nframes - 1 - i];
	free(innermost_first);
	c->nframes = head.nframes;
	c->valid = true;
	return c;
}

/* Copy the exception at pointer into t; false when it is no valid one. */
static bool follow_exception(struct parser *p, uint64_t pointer, struct live_task *t)
{
	struct costack_live_exception e;
	uint64_t off;

	if (!pointer_offset(p, pointer, sizeof(e), 8, &off))
		return false;
	if (!image_copy(p, off, &e, sizeof(e)))
		return false;
	if (!memchr(e.type, '\0', sizeof(e.type)) || !memchr(e.what, '\0', sizeof(e.what)))
		return false;
	t->has_exception = true;
	t->exception_origin = e.origin;
	memcpy(t->exception_type, e.type, sizeof(t->exception_type));
	memcpy(t->exception_what, e.what, sizeof(t->exception_what));
	return true;
}

/* The target's address of the store's record number n (costack-live.h: at memfd offset
 * n * COSTACK_LIVE_RECORD_ALIGN), for follow_stack and follow_exception; 0 when no chunk
 * holds it. */
static uint64_t record_pointer(struct parser *p, uint32_t number)
{
	uint64_t off = (uint64_t)(number & COSTACK_LIVE_WHAT_NUMBER) * COSTACK_LIVE_RECORD_ALIGN;

	for (int pass = 0; off && pass < 2; pass++) {
		for (uint32_t i = 0; i < p->nchunks; i++) {
			const struct costack_live_chunk *c = &p->h.chunks[i];

			if (off >= c->offset && off - c->offset < c->size &&
			    c->address <= UINT64_MAX - (off - c->offset))
				return c->address + (off - c->offset);
		}
		read_chunks(p); /* the target may have mapped another chunk since */
	}
	return 0;
}

/* The words of record number n (costack-live.h), at least `words` of them, into out (NULL: none
 * copied); false when it is no such record. */
static bool record_words(struct parser *p, uint32_t number, uint64_t *out, uint32_t words)
{
	uint64_t off = (uint64_t)(number & COSTACK_LIVE_WHAT_NUMBER) * COSTACK_LIVE_RECORD_ALIGN;
	struct costack_live_stack head;

	if (!off || !in_region(p, off, STACK_HEAD))
		return false;
	if (!image_copy(p, off, &head, STACK_HEAD))
		return false;
	if (head.number != (number & COSTACK_LIVE_WHAT_NUMBER) || head.nframes < words ||
	    !in_region(p, off + STACK_HEAD, (uint64_t)words * sizeof(uint64_t)))
		return false;
	return !out || image_copy(p, off + STACK_HEAD, out, (size_t)words * sizeof(uint64_t));
}

/* A snapshot's stack and exception numbers: a suspension's is its record; a raise's record
 * holds both (costack-live.h). False for a raise record that is no such record. */
static bool snapshot_numbers(struct parser *p, const struct costack_live_snapshot *s,
                             uint32_t *stack, uint32_t *exception)
{
	uint64_t words[2];

	*stack = s->what & COSTACK_LIVE_WHAT_NUMBER;
	*exception = 0;
	if (!(s->what & COSTACK_LIVE_WHAT_RAISE) || !*stack)
		return true;
	if (!record_words(p, *stack, words, 2))
		return false;
	*stack = (uint32_t)words[0] & COSTACK_LIVE_WHAT_NUMBER;
	*exception = (uint32_t)(words[0] >> 32) & COSTACK_LIVE_WHAT_NUMBER;
	return true;
}

/* The exception record number n into t, as follow_exception does; true for 0 (none). */
static bool follow_exception_record(struct parser *p, uint32_t number, struct live_task *t)
{
	uint64_t pointer = number ? record_pointer(p, number) : 0;

	return !number || (pointer && pointer <= UINT64_MAX - STACK_HEAD &&
	                   record_words(p, number, NULL,
	                                sizeof(struct costack_live_exception) / sizeof(uint64_t)) &&
	                   follow_exception(p, pointer + STACK_HEAD, t));
}

/*
 * A file's records are copied a run at a time, twice, with two system
 * calls, the second after the first: a record whose two copies are the
 * same, with an even seqlock, was not being written at any time between
 * them (a write makes the seqlock odd first, and even again only one
 * higher), so its first copy is consistent. Others are copied one at a time
 * (copy_record). Two system calls a run of records instead of three a
 * record; runs of RUN_BYTES, so that the buffers stay the same few pages.
 */
#define RUN_BYTES (64 * 1024)

struct run_copies {
	unsigned char *first, *second;
	size_t cap;
	bool have; /* the current run's copies are made */
};

/* Copy [off, off + bytes) twice into c; false when out of memory or the file shrank. */
static bool copy_run(struct parser *p, uint64_t off, uint64_t bytes, struct run_copies *c)
{
	c->have = false;
	if (bytes > c->cap) {
		unsigned char *a = realloc(c->first, bytes), *b;

		if (!a)
			return false;
		c->first = a;
		b = realloc(c->second, bytes);
		if (!b)
			return false;
		c->second = b;
		c->cap = bytes;
	}
	c->have = image_copy(p, off, c->first, bytes) && image_copy(p, off, c->second, bytes);
	return c->have;
}

/* Record i of a run copied twice into out (task_view.h's reading of a copy that holds still),
 * if its copies show it consistent. */
static bool record_of_run(const struct parser *p, const struct run_copies *c, uint32_t i,
                          struct task_record *out)
{
	struct task_ring_layout ring = {p->h.ring, p->h.ring_offset, p->h.snapshot_size};
	size_t at = (size_t)i * p->h.task_size;

	return c->have && !memcmp(c->first + at, c->second + at, p->h.task_size) &&
	       task_record_copy(c->first + at, &ring, out, 1);
}

/*
 * One try of a consistent copy of the record at address in a running target: its seqlock, the
 * record and its seqlock again, in one process_vm_readv, which copies them back to back. A
 * record its task rewrites at every switch (a million times a second) changes within the three
 * system calls of a pread try, which then succeeds only when the writer is preempted; each
 * failed try costs the target the record's cache lines, taken from its core and given back.
 * 1: copied consistently into p->record; 0: it changed meanwhile; -1: no remote copy (not
 * permitted, as under Yama's ptrace_scope, or the memory is not there: the pread path decides).
 */
static int copy_record_remote(struct parser *p, uint64_t address)
{
	uint32_t before, after;
	struct iovec local[3] = {
	        {&before, sizeof(before)}, {p->record, p->h.task_size}, {&after, sizeof(after)}};
	struct iovec remote[3] = {{(void *)(uintptr_t)address, sizeof(before)},
	                          {(void *)(uintptr_t)address, p->h.task_size},
	                          {(void *)(uintptr_t)address, sizeof(after)}};
	ssize_t want = (ssize_t)(sizeof(before) + p->h.task_size + sizeof(after));

	if (process_vm_readv(p->opt->pid, local, 3, remote, 3, 0) != want)
		return -1;
	return before == after && !(before & 1);
}

/* Copy the record at off (address in the target) consistently (task_view.h's one policy):
 * until the read's budget for records that change is spent (a running target), else a few
 * tries (an image). A file's record is copied between two copies of its seqlock, with the same
 * patience; first, in a running target, with a remote copy a few times. */
static bool copy_record(struct parser *p, uint64_t off, uint64_t address, struct task_record *out)
{
	struct task_ring_layout ring = {p->h.ring, p->h.ring_offset, p->h.snapshot_size};
	uint64_t deadline = p->busy_deadline && !p->budget_spent ? p->busy_deadline : 1;

	for (unsigned tries = 0; !p->image && p->opt->running && p->opt->pid > 0 && !p->no_remote &&
	                         tries < REMOTE_TRIES;
	     tries++) {
		int copied = copy_record_remote(p, address);

		if (copied < 0)
			p->no_remote = true;
		else if (copied && task_record_copy(p->record, &ring, out, 1))
			return true;
	}
	if (p->image) {
		if (task_record_copy(p->image + off, &ring, out, deadline))
			return true;
	} else {
		for (unsigned tries = 0;; tries++) {
			uint32_t before = image_u32(p, off), after;

			image_copy(p, off, p->record, p->h.task_size);
			after = image_u32(p, off);
			if (p->shrank)
				return false;
			if (before == after && !(before & 1))
				return task_record_copy(p->record, &ring, out, 1);
			if (tries >= SPIN_TRIES && monotonic_ns() > deadline)
				break;
			if (tries >= SPIN_TRIES)
				sched_yield(); /* a writer preempted in its few stores runs sooner
				                */
		}
	}
	if (p->busy_deadline && monotonic_ns() > p->busy_deadline)
		p->budget_spent = true;
	return false;
}

/* Set t's frames to those of a snapshot's stack; false if it is invalid. */
static bool frames_of(struct parser *p, const struct costack_live_snapshot *s, struct live_task *t)
{
	const struct stack_copy *c;
	uint32_t stack, exception;
	uint64_t pointer;

	t->truncated = (s->what & COSTACK_LIVE_WHAT_TRUNCATED) != 0;
	if (!snapshot_numbers(p, s, &stack, &exception))
		return false;
	if (!stack)
		return true; /* lost: no frames, as in the process */
	pointer = record_pointer(p, stack);
	if (!pointer)
		return false;
	c = follow_stack(p, pointer, stack);
	if (!c)
		return false;
	t->frames = c->frames;
	t->nframes = c->nframes;
	return true;
}

/* Ticks kept until the clock is read, after every record was copied. */
struct raw_times {
	uint64_t cpu_ticks, created, since; /* since: a running task's run's start */
};

/*
 * Fill t from the record copied in rec: its fields, and get_stack()'s
 * frames with api.c's rules (task_frames, costack_task_info). False when
 * something it points to is invalid.
 */
static bool task_from_record(struct parser *p, const struct task_record *r, struct live_task *t,
                             struct raw_times *raw)
{
	const struct costack_live_task *task = &r->task;
	const struct costack_live_snapshot *fatal = task_record_fatal_raise(r), *s;
	enum task_frames source;

	memset(t, 0, sizeof(*t));
	t->id = task->id;
	t->parent = task->parent;
	t->entry = task->entry;
	/* A state this costack does not know (a newer one's): shown as unknown, with no frames. */
	t->state = task_state_name(task->state) && task->state != COSTACK_STATE_UNKNOWN
	                   ? task->state
	                   : COSTACK_STATE_UNKNOWN;
	t->runtime = task->runtime;
	t->tid = task->tid;
	t->switches = task->switches;
	t->raises = task->raises;
	t->untracked_stack = (task->flags & COSTACK_LIVE_TASK_UNTRACKED_STACK) != 0;
	/* A name is a record whose words hold it, NUL-terminated (costack-live.h). */
	if (task->name && !record_words(p, task->name, (uint64_t *)(void *)t->name,
	                                COSTACK_LIVE_NAME_MAX / sizeof(uint64_t)))
		return false;
	t->name[sizeof(t->name) - 1] = '\0';
	raw->cpu_ticks = task->cpu_ticks;
	raw->created = task->created;
	raw->since = task->since;

	/* costack_task_info(): a failed task is described by what killed it. */
	if (t->state == COSTACK_FAILED && fatal) {
		uint32_t stack, exception;

		if (!snapshot_numbers(p, fatal, &stack, &exception) ||
		    !follow_exception_record(p, exception, t))
			return false;
		t->died_of_exception = t->has_exception;
	} else if (!follow_exception_record(p, task->exception, t)) {
		return false;
	}

	/* What get_stack() shows (task_view.h); from outside, a task never asks about itself. */
	source = task_frames_of(t->state, false, task->switches);
	t->traceback = source == TASK_FRAMES_TRACEBACK;
	if (source == TASK_FRAMES_ENTRY) {
		if (task->entry) {
			t->nframes = 1; /* frames point at t->entry once the array stops moving */
			t->frames_are_entry = true;
		}
		return true;
	}
	s = task_record_frames(r, source);
	return !s || frames_of(p, s, t);
}

static int compare_task_id(const void *a, const void *b)
{
	uint64_t x = ((const struct live_task *)a)->id, y = ((const struct live_task *)b)->id;

	return x < y ? -1 : x > y;
}

/* The clock that turns the target's ticks into nanoseconds (clock.c's). */
struct tick_clock {
	const struct costack_live_header *h;
	double ns_per_tick;
	uint64_t now; /* ticks */
};

static void clock_measure(struct tick_clock *c, const struct costack_live_header *h, bool live,
                          uint64_t newest_seen)
{
	c->h = h;
	c->ns_per_tick = 1.0;
	if (!live) {
		c->now = newest_seen;
		return;
	}
	if (!h->clock_is_tsc) {
		c->now = monotonic_ns();
		return;
	}
	/* ns = (ticks - tsc_at_load) * rate + monotonic_at_load: the rate
	 * over the target's life, as long as 10 ms (a fresh target is waited
	 * for); nonsense values leave 1 ns per tick. */
	for (;;) {
		uint64_t mono = monotonic_ns();
		uint64_t tsc = __rdtsc();

		c->now = tsc;
		if (mono < h->monotonic_at_load || tsc <= h->tsc_at_load)
			return;
		if (mono - h->monotonic_at_load >= RATE_MEASURED_OVER_NS) {
			c->ns_per_tick = (double)(mono - h->monotonic_at_load) /
			                 (double)(tsc - h->tsc_at_load);
			return;
		}
	}
}

/* The target's ticks in nanoseconds (ticks.h: clock.c's formula, with the rate measured here). */
static uint64_t ticks_to_ns(const struct tick_clock *c, uint64_t ticks)
{
	struct tick_origin o = {c->h->clock_is_tsc != 0, c->h->tsc_at_load, c->h->monotonic_at_load,
	                        c->h->realtime_minus_monotonic};

	return ticks_duration_ns(&o, c->ns_per_tick, ticks);
}

static uint64_t ticks_to_realtime(const struct tick_clock *c, uint64_t ticks)
{
	struct tick_origin o = {c->h->clock_is_tsc != 0, c->h->tsc_at_load, c->h->monotonic_at_load,
	                        c->h->realtime_minus_monotonic};

	return ticks_realtime_ns(&o, c->ns_per_tick, ticks);
}

static int check_header(const struct costack_live_header *h, size_t len, int32_t pid,
                        struct live_error *err)
{
	if (memcmp(h->magic, COSTACK_LIVE_MAGIC, sizeof(h->magic)))
		return fail(err, LIVE_BAD_MAGIC,
		            "its costack-live memfd holds no costack live registry (bad magic)");
	if (h->version != COSTACK_LIVE_VERSION)
		return fail(err, LIVE_BAD_VERSION,
		            "its live registry has layout version %" PRIu32
		            ", this costack reads version %d: use the costack of the same "
		            "release as its libcostack.so",
		            h->version, COSTACK_LIVE_VERSION);
	if (h->header_size != sizeof(struct costack_live_header) ||
	    h->snapshot_size != sizeof(struct costack_live_snapshot))
		return fail(err, LIVE_BAD_LAYOUT,
		            "bad live registry: header_size %" PRIu32 " and snapshot_size %" PRIu32
		            " are not %zu and %zu",
		            h->header_size, h->snapshot_size, sizeof(struct costack_live_header),
		            sizeof(struct costack_live_snapshot));
	if (pid && h->pid != pid)
		return fail(err, LIVE_BAD_LAYOUT,
		            "bad live registry: it belongs to process %" PRId32 ", not %" PRId32,
		            h->pid, pid);
	/* The region grows: it may be larger now than what was mapped, which bounds every
	 * read anyway. */
	if (h->used > h->size)
		return fail(err, LIVE_BAD_LAYOUT,
		            "bad live registry: used %" PRIu64 " is past its size %" PRIu64,
		            h->used, h->size);
	if (h->ring < 1 || h->ring > RING_MAX || h->depth < 1 ||
	    h->depth > COSTACK_LIVE_MAX_FRAMES ||
	    h->ring_offset < sizeof(struct costack_live_task) || h->ring_offset % 8 ||
	    h->task_size % 8 ||
	    (uint64_t)h->ring_offset + (uint64_t)h->ring * h->snapshot_size > h->task_size ||
	    h->task_size > sizeof(struct costack_live_task) + RING_MAX * h->snapshot_size +
	                           COSTACK_LIVE_WRITER_OWN_MAX)
		return fail(err, LIVE_BAD_LAYOUT,
		            "bad live registry: ring %" PRIu32 ", depth %" PRIu32
		            ", task_size %" PRIu32 " and ring_offset %" PRIu32 " do not agree",
		            h->ring, h->depth, h->task_size, h->ring_offset);
	if (h->nslabs > COSTACK_LIVE_MAX_SLABS ||
	    HEADER_FIXED + (uint64_t)h->nslabs * sizeof(struct costack_live_slab) > len)
		return fail(err, LIVE_BAD_LAYOUT, "bad live registry: %" PRIu32 " slabs",
		            h->nslabs);
	return 0;
}

/* Add a task; false when out of memory. */
static bool push_task(struct live_snapshot *out, size_t *cap, const struct live_task *t,
                      struct raw_times **raw, const struct raw_times *r)
{
	if (out->ntasks == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct live_task *tasks = realloc(out->tasks, ncap * sizeof(*tasks));
		struct raw_times *times;

		if (!tasks)
			return false;
		out->tasks = tasks;
		times = realloc(*raw, ncap * sizeof(**raw));
		if (!times)
			return false;
		*raw = times;
		*cap = ncap;
	}
	(*raw)[out->ntasks] = *r;
	out->tasks[out->ntasks++] = *t;
	return true;
}

/* live_parse's and live_parse_file's: pp has its image or file, len and options. */
static int parse(const struct parser *pp, struct live_snapshot *out, struct live_error *err)
{
	struct parser p = *pp;
	size_t len = p.len;
	struct costack_live_slab *slabs = NULL;
	struct run_copies copies = {0};
	uint32_t run_records;
	struct task_record rec;
	struct raw_times *raw = NULL;
	struct tick_clock clock;
	uint64_t slab_bytes = 0, newest_seen = 0;
	size_t cap = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	err->status = LIVE_OK;
	err->message[0] = '\0';
	if ((uintptr_t)p.image % 8) {
		fail(err, LIVE_SYSTEM, "a registry image must be 8-byte aligned");
		goto end;
	}
	if (len < HEADER_FIXED) {
		fail(err, LIVE_BAD_LAYOUT, "bad live registry: %zu bytes, less than its header",
		     len);
		goto end;
	}
	/* The header, once. nslabs first, used next: a slab counted in nslabs
	 * was allocated (used grown) before, so it lies below the used read. */
	image_copy(&p, 0, &p.h, offsetof(struct costack_live_header, chunks));
	p.h.nslabs = image_u32(&p, offsetof(struct costack_live_header, nslabs));
	p.h.used = image_u64(&p, offsetof(struct costack_live_header, used));
	if (p.shrank)
		goto shrank;
	if (check_header(&p.h, len, p.opt->pid, err))
		goto end;
	p.used = p.h.used;
	read_chunks(&p);
	p.max_frames = p.h.depth < COSTACK_LIVE_MAX_FRAMES ? p.h.depth : COSTACK_LIVE_MAX_FRAMES;
	out->pid = p.h.pid;
	out->depth = p.h.depth;
	out->ring = p.h.ring;
	if (p.opt->busy_budget_ns)
		p.busy_deadline = monotonic_ns() + p.opt->busy_budget_ns;

	p.store = calloc(1, sizeof(*p.store));
	slabs = malloc((p.h.nslabs ? p.h.nslabs : 1) * sizeof(*slabs));
	p.record = malloc(p.h.task_size);
	if (!p.store || !slabs || !p.record)
		goto out_of_memory;
	if (!image_copy(&p, HEADER_FIXED, slabs, p.h.nslabs * sizeof(*slabs)))
		goto shrank;
	run_records = RUN_BYTES / p.h.task_size ? RUN_BYTES / p.h.task_size : 1;

	for (uint32_t s = 0; s < p.h.nslabs; s++) {
		uint64_t bytes, slab_off;

		/* Slabs are carved from the region: together no larger than it,
		 * which bounds the work of a read however the header lies. */
		if (slabs[s].slots > (p.used - slab_bytes) / p.h.task_size) {
			fail(err, LIVE_BAD_LAYOUT,
			     "bad live registry: slab %" PRIu32 " has %" PRIu32
			     " slots, more than the region holds",
			     s, slabs[s].slots);
			goto end;
		}
		bytes = (uint64_t)slabs[s].slots * p.h.task_size;
		/* Untouched records are holes (free): the slab need not be data. */
		if (!chunk_offset(&p, slabs[s].address, bytes, &slab_off) || slab_off % 8 ||
		    !in_bounds(&p, slab_off, bytes)) {
			fail(err, LIVE_BAD_LAYOUT,
			     "bad live registry: slab %" PRIu32 " at %#" PRIx64
			     " is not inside the region",
			     s, (uint64_t)slabs[s].address);
			goto end;
		}
		slab_bytes += bytes;
		for (uint32_t i = 0; i < slabs[s].slots; i++) {
			uint64_t off = slab_off + (uint64_t)i * p.h.task_size;
			struct live_task t;
			struct raw_times r;

			if (!p.image && i % run_records == 0) {
				uint32_t n = slabs[s].slots - i < run_records ? slabs[s].slots - i
				                                              : run_records;

				if (!copy_run(&p, off, (uint64_t)n * p.h.task_size, &copies)) {
					if (p.shrank)
						goto shrank;
					goto out_of_memory;
				}
			}
			/* A record never written is a hole of zeroes: free. */
			if (p.opt->has_data && !p.opt->has_data(p.opt->ctx, off, p.h.task_size))
				continue;
			if (!record_of_run(&p, &copies, i % run_records, &rec) &&
			    !copy_record(&p, off, slabs[s].address + (uint64_t)i * p.h.task_size,
			                 &rec)) {
				if (p.shrank)
					goto shrank;
				out->busy++;
				continue;
			}
			if (!rec.task.id)
				continue; /* a free record */
			if (!task_from_record(&p, &rec, &t, &r)) {
				if (p.out_of_memory)
					goto out_of_memory;
				if (p.shrank)
					goto shrank;
				out->bad++;
				continue;
			}
			if (!push_task(out, &cap, &t, &raw, &r))
				goto out_of_memory;
		}
	}

	/* Times last, so that "now" is no earlier than any time copied. */
	for (size_t i = 0; i < out->ntasks; i++) {
		if (raw[i].since > newest_seen)
			newest_seen = raw[i].since;
	}
	clock_measure(&clock, &p.h, p.opt->running, newest_seen);
	out->at_ns = ticks_to_realtime(&clock, clock.now);
	for (size_t i = 0; i < out->ntasks; i++) {
		struct live_task *t = &out->tasks[i];
		uint64_t cpu = raw[i].cpu_ticks;

		if (t->state == COSTACK_RUNNING && clock.now > raw[i].since)
			cpu += clock.now - raw[i].since;
		t->cpu_ns = ticks_to_ns(&clock, cpu);
		t->created_ns = ticks_to_realtime(&clock, raw[i].created);
		t->since_ns = ticks_to_realtime(&clock, raw[i].since);
		t->in_state_ns = clock.now > raw[i].since
		                         ? ticks_to_ns(&clock, clock.now - raw[i].since)
		                         : 0;
	}
	if (out->ntasks)
		qsort(out->tasks, out->ntasks, sizeof(*out->tasks), compare_task_id);
	/* The array stops moving: a created task's one frame is its entry. */
	for (size_t i = 0; i < out->ntasks; i++)
		if (out->tasks[i].frames_are_entry)
			out->tasks[i].frames = &out->tasks[i].entry;
	out->store = p.store;
	p.store = NULL;
	ret = 0;
	goto end;

shrank:
	fail(err, LIVE_CHANGED,
	     "its live registry shrank while it was read (libcostack.so never shrinks it: is "
	     "the process pretending to run under it?)");
	goto end;
out_of_memory:
	fail(err, LIVE_SYSTEM, "out of memory reading the live registry");
end:
	if (ret) {
		free(out->tasks);
		out->tasks = NULL;
		out->ntasks = 0;
	}
	store_free(p.store);
	free(copies.first);
	free(copies.second);
	free(p.record);
	free(raw);
	free(slabs);
	return ret;
}

int live_parse(const void *image, size_t len, const struct live_parse_options *opt,
               struct live_snapshot *out, struct live_error *err)
{
	static const struct live_parse_options defaults;
	struct parser p = {.image = image, .fd = -1, .len = len, .opt = opt ? opt : &defaults};

	return parse(&p, out, err);
}

int live_parse_file(int fd, size_t len, const struct live_parse_options *opt,
                    struct live_snapshot *out, struct live_error *err)
{
	static const struct live_parse_options defaults;
	struct parser p = {.fd = fd, .len = len, .opt = opt ? opt : &defaults};

	return parse(&p, out, err);
}

void live_snapshot_free(struct live_snapshot *s)
{
	if (!s)
		return;
	store_free(s->store);
	free(s->tasks);
	memset(s, 0, sizeof(*s));
}

uint32_t live_task_limit(const struct live_task *t, int limit, uint32_t *first)
{
	/* task_view.h's limit rule: a stack drops its oldest frames, a traceback its newest. */
	return task_frames_limit(t->traceback ? TASK_FRAMES_TRACEBACK : TASK_FRAMES_SUSPENSION,
	                         t->nframes, limit, first);
}

/* --- a process's registry -------------------------------------------------- */

#define MEMFD_LINK "/memfd:" COSTACK_LIVE_NAME " (deleted)"

/* Where a memfd has data: its holes were never written, read as zeroes,
 * and would cost the target a page each if the reader touched them. */
struct extents {
	int fd;
	uint64_t limit;
	struct {
		uint64_t lo, hi;
	} * v;
	size_t n, cap;
	int rescans;
	bool all_data; /* SEEK_DATA unsupported: take everything as data */
};

static void extents_scan(struct extents *e)
{
	off_t at = 0;

	e->n = 0;
	while ((uint64_t)at < e->limit) {
		off_t data = lseek(e->fd, at, SEEK_DATA), hole;

		if (data < 0) {
			/* ENXIO: no data past at; anything else: no SEEK_DATA. */
			if (errno != ENXIO)
				e->all_data = true;
			return;
		}
		if ((uint64_t)data >= e->limit)
			return;
		hole = lseek(e->fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > e->limit)
			hole = (off_t)e->limit;
		if (e->n == e->cap) {
			size_t cap = e->cap ? e->cap * 2 : 16;
			void *v = realloc(e->v, cap * sizeof(*e->v));

			if (!v) {
				e->all_data = true;
				return;
			}
			e->v = v;
			e->cap = cap;
		}
		e->v[e->n].lo = (uint64_t)data;
		e->v[e->n].hi = (uint64_t)hole;
		e->n++;
		at = hole;
	}
}

static bool extents_cover(const struct extents *e, uint64_t off, uint64_t size)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->v[mid].hi <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Zero bytes need no data, but must not start past the region. */
	if (!size)
		return true;
	return lo < e->n && e->v[lo].lo <= off && size <= e->v[lo].hi - off;
}

static bool memfd_has_data(void *ctx, uint64_t off, uint64_t size)
{
	struct extents *e = ctx;

	if (e->all_data || extents_cover(e, off, size))
		return true;
	/* Written since the scan (a new stack, a new record)? A few rescans
	 * a read: pointers into holes from a hostile target cost no more. */
	if (e->rescans >= 8)
		return false;
	e->rescans++;
	/* The parser bounds every range it asks: past the limit, the region grew since. */
	if (size > e->limit || off > e->limit - size) {
		struct stat st;

		if (!fstat(e->fd, &st) && st.st_size > 0 && (uint64_t)st.st_size > e->limit)
			e->limit = (uint64_t)st.st_size;
	}
	extents_scan(e);
	return e->all_data || extents_cover(e, off, size);
}

/* Read /proc/PID/stat's state letter and /proc/PID/status's Tgid. */
static void process_facts(pid_t pid, char *state, pid_t *tgid)
{
	char path[64], buf[1024];
	FILE *f;

	*state = '?';
	*tgid = pid;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		char *paren;

		buf[n] = '\0';
		/* The command name may hold anything: the state follows the last ')'. */
		paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && paren[2])
			*state = paren[2];
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (!strncmp(buf, "Tgid:", 5)) {
				*tgid = (pid_t)strtol(buf + 5, NULL, 10);
				break;
			}
		fclose(f);
	}
}

static int permission_error(pid_t pid, struct live_error *err)
{
	return fail(err, LIVE_PERMISSION,
	            "permission denied reading process %d: the reader must be allowed to debug "
	            "it (ptrace): run as the same user, with /proc/sys/kernel/yama/ptrace_scope "
	            "at 0 (or as its parent when it is 1), or as root",
	            (int)pid);
}

/* What a file that is no memfd is, for a message. */
static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "a fifo";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	case S_IFSOCK:
		return "a socket";
	default:
		return "a file";
	}
}

/*
 * A hostile process can name anything so (a fifo at /memfd:costack-live in
 * its root blocked open() for ever): the file is looked at through an
 * O_PATH descriptor, which opens nothing, and opened only if it is what
 * libcostack.so makes: a regular file of shared memory (tmpfs), linked
 * nowhere.
 */
int live_open_registry(pid_t pid, const char *path, struct live_error *err)
{
	int where = open(path, O_PATH | O_CLOEXEC), fd = -1;
	char self[64];
	struct statfs fs;
	struct stat st;

	if (where < 0) {
		if (errno == EACCES || errno == EPERM)
			permission_error(pid, err);
		else if (errno == ENOENT)
			fail(err, LIVE_NO_PROCESS, "no such process: %d", (int)pid);
		else
			fail(err, LIVE_SYSTEM, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(where, &st) || fstatfs(where, &fs)) {
		fail(err, LIVE_SYSTEM, "cannot look at %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || st.st_nlink ||
	           ((unsigned long)fs.f_type != TMPFS_MAGIC &&
	            (unsigned long)fs.f_type != HUGETLBFS_MAGIC)) {
		fail(err, LIVE_NOT_MEMFD,
		     "its costack-live descriptor is %s, not the memfd of libcostack.so's registry",
		     !S_ISREG(st.st_mode) ? file_kind(st.st_mode)
		     : st.st_nlink        ? "a file linked in a directory"
		                          : "a file not of shared memory");
	} else {
		/* The descriptor held pins the file: this opens the one just looked at. */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", where);
		fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			fail(err, LIVE_SYSTEM, "cannot open %s: %s", path, strerror(errno));
	}
	close(where);
	return fd;
}

int live_read_registry(pid_t pid, int fd, struct live_snapshot *out, struct live_error *err)
{
	struct costack_live_header h;
	struct extents e = {.fd = fd};
	struct stat st;
	size_t len;
	int ret;

	/* A target making its registry right now (its first task) has the memfd before its
	 * header: given a moment (its making takes microseconds), not taken for a bad one. */
	for (int waited_ms = 0;; waited_ms++) {
		bool made = !fstat(fd, &st) &&
		            pread(fd, &h, HEADER_FIXED, 0) == (ssize_t)HEADER_FIXED && h.size;

		if (made)
			break;
		if (waited_ms == REGISTRY_MAKING_MS)
			return fail(err, LIVE_BAD_LAYOUT,
			            "its costack-live memfd is too short for a live registry");
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	/* The first chunk, which holds the header, no more than the file has: the rest is taken
	 * in as the read meets it (take_growth), since the target may grow its region meanwhile. */
	len = (uint64_t)st.st_size < h.chunks[0].size ? (size_t)st.st_size
	                                              : (size_t)h.chunks[0].size;
	if (len < HEADER_FIXED)
		return fail(err, LIVE_BAD_LAYOUT,
		            "bad live registry: its first chunk has %" PRIu64
		            " bytes, in a file of %jd",
		            h.chunks[0].size, (intmax_t)st.st_size);
	e.limit = len;
	extents_scan(&e);
	ret = live_parse_file(fd, len,
	                      &(struct live_parse_options){
	                              .pid = (int32_t)pid, /* 0: any */
	                              .tries = 100000,
	                              .busy_budget_ns = 200000000, /* 200 ms */
	                              .has_data = memfd_has_data,
	                              .ctx = &e,
	                              .running = true,
	                      },
	                      out, err);
	free(e.v);
	return ret;
}

/* The registry's fds among /proc/PID/fd: try each (a fork child may hold a
 * stale one briefly). 1: read; 0: none there; -1: error (err filled). */
static int read_from_fds(pid_t pid, struct live_snapshot *out, struct live_error *err)
{
	char dir_path[64], path[64 + sizeof(((struct dirent *)0)->d_name)], link[256];
	struct dirent *d;
	DIR *dir;
	int found = 0;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", (int)pid);
	dir = opendir(dir_path);
	if (!dir) {
		if (errno == EACCES || errno == EPERM)
			return permission_error(pid, err);
		if (errno == ENOENT)
			return fail(err, LIVE_NO_PROCESS, "no such process: %d", (int)pid);
		return fail(err, LIVE_SYSTEM, "cannot read %s: %s", dir_path, strerror(errno));
	}
	while (found <= 0 && (d = readdir(dir))) {
		ssize_t n;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0) {
			if (errno == EACCES || errno == EPERM) {
				found = permission_error(pid, err);
				break;
			}
			continue; /* closed meanwhile */
		}
		link[n] = '\0';
		if (strcmp(link, MEMFD_LINK))
			continue;
		fd = live_open_registry(pid, path, err);
		if (fd < 0) {
			found = -1;
			if (err->status != LIVE_NO_PROCESS)
				break;
			continue;
		}
		found = live_read_registry(pid, fd, out, err) ? -1 : 1;
		close(fd);
	}
	closedir(dir);
	return found;
}

/* The registry mapped by pid with its fd closed (a daemon closing every
 * fd): /proc/PID/map_files, which only root may open. Same returns. */
static int read_from_maps(pid_t pid, struct live_snapshot *out, struct live_error *err)
{
	char path[128], line[512];
	FILE *maps;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	if (!maps)
		return 0;
	while (found <= 0 && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi, offset;
		int name_at = 0, fd;
		size_t n;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &offset, &name_at) < 3 ||
		    !name_at || offset)
			continue;
		n = strlen(line + name_at);
		if (n && line[name_at + n - 1] == '\n')
			line[name_at + n - 1] = '\0';
		if (strcmp(line + name_at, MEMFD_LINK))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
		fd = live_open_registry(pid, path, err);
		if (fd < 0) {
			found = -1;
			if (err->status == LIVE_PERMISSION)
				fail(err, LIVE_PERMISSION,
				     "process %d maps a live registry but closed its fd: reading "
				     "it "
				     "through /proc/%d/map_files needs root",
				     (int)pid, (int)pid);
			break;
		}
		found = live_read_registry(pid, fd, out, err) ? -1 : 1;
		close(fd);
	}
	fclose(maps);
	return found;
}

int live_read_pid(pid_t pid, struct live_snapshot *out, struct live_error *err)
{
	char path[64], state;
	struct stat st;
	pid_t tgid;
	int found;

	memset(out, 0, sizeof(*out));
	err->status = LIVE_OK;
	err->message[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(path, &st))
		return fail(err, LIVE_NO_PROCESS, "no such process: %d", (int)pid);
	process_facts(pid, &state, &tgid);
	if (state == 'Z' || state == 'X')
		return fail(err, LIVE_EXITED,
		            "process %d has exited (a zombie its parent has not reaped)", (int)pid);
	if (tgid != pid)
		return fail(err, LIVE_NO_PROCESS,
		            "%d is a thread of process %d, not a process: use %d", (int)pid,
		            (int)tgid, (int)tgid);
	found = read_from_fds(pid, out, err);
	if (!found)
		found = read_from_maps(pid, out, err);
	if (found > 0)
		return 0;
	if (found < 0) {
		/* Name the process in a layout complaint found deep down. */
		if (err->status == LIVE_BAD_MAGIC || err->status == LIVE_BAD_VERSION ||
		    err->status == LIVE_BAD_LAYOUT || err->status == LIVE_NOT_MEMFD ||
		    err->status == LIVE_CHANGED) {
			char message[sizeof(err->message) + 32];

			snprintf(message, sizeof(message), "process %d: %s", (int)pid,
			         err->message);
			message[sizeof(err->message) - 1] = '\0';
			memcpy(err->message, message, sizeof(err->message));
		}
		return -1;
	}
	/* Gone between the checks, or never ours. */
	if (stat(path, &st))
		return fail(err, LIVE_NO_PROCESS, "no such process: %d", (int)pid);
	return fail(err, LIVE_NO_REGISTRY,
	            "process %d has no live registry: it is not running under libcostack.so "
	            "(start it with `costack run`), or has made no coroutine yet",
	            (int)pid);
}
