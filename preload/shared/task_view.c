/* SPDX-License-Identifier: MIT */
/* task_view.c - asyncio's get_stack() rule and the consistent copy of a task record, once for every
 * reader. */
#define _GNU_SOURCE
#include "task_view.h"

#include <sched.h>
#include <string.h>
#include <time.h>

static const char *const state_names[] = {"created", "running",   "suspended", "done",
                                          "failed",  "cancelled", "unknown"};
static const char *const runtime_names[] = {"thread", "ucontext", "fcontext"};

_Static_assert(sizeof(state_names) / sizeof(*state_names) == COSTACK_STATE_UNKNOWN + 1,
               "a name for every state");
_Static_assert(sizeof(runtime_names) / sizeof(*runtime_names) == COSTACK_RUNTIME_FCONTEXT + 1,
               "a name for every runtime");

const char *task_state_name(int state)
{
	return state >= 0 && state <= COSTACK_STATE_UNKNOWN ? state_names[state] : NULL;
}

const char *task_runtime_name(int runtime)
{
	return runtime >= 0 && runtime <= COSTACK_RUNTIME_FCONTEXT ? runtime_names[runtime] : NULL;
}

enum task_frames task_frames_of(int state, bool asked_by_itself, uint64_t switches)
{
	switch (state) {
	case COSTACK_CREATED:
		return TASK_FRAMES_ENTRY;
	case COSTACK_RUNNING:
		if (asked_by_itself)
			return TASK_FRAMES_LIVE;
		return switches <= 1 ? TASK_FRAMES_ENTRY : TASK_FRAMES_SUSPENSION;
	case COSTACK_SUSPENDED:
		return TASK_FRAMES_SUSPENSION;
	case COSTACK_FAILED:
		return TASK_FRAMES_TRACEBACK;
	default: /* done, cancelled, unknown, and what this costack does not know */
		return TASK_FRAMES_NONE;
	}
}

uint32_t task_frames_limit(enum task_frames source, uint32_t n, int limit, uint32_t *first)
{
	uint32_t keep = limit > 0 && (uint32_t)limit < n ? (uint32_t)limit : n;

	/* A stack drops its oldest frames, a traceback its newest. */
	*first = source == TASK_FRAMES_TRACEBACK ? 0 : n - keep;
	return keep;
}

uint64_t task_fatal_raise_number(bool has_kept, uint64_t kept_raise, uint64_t raises)
{
	return has_kept ? kept_raise : raises;
}

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* One try: the record and the newest snapshot of each kind, from the copy; false if torn. */
static bool try_copy(const char *record, const struct task_ring_layout *layout,
                     struct task_record *out)
{
	const struct costack_live_task *live = (const struct costack_live_task *)record;
	uint32_t before = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);
	uint32_t ring = layout->slots, newest, used;

	if (before & 1)
		return false;
	memcpy(&out->task, record, sizeof(out->task));
	out->has_suspend = out->has_raise = false;
	newest = out->task.ring_newest;
	used = newest < ring && out->task.ring_used <= ring ? out->task.ring_used : 0;
	for (uint32_t i = 0; i < used && !(out->has_suspend && out->has_raise); i++) {
		uint32_t slot = newest >= i ? newest - i : newest + ring - i;
		struct costack_live_snapshot s;

		memcpy(&s, record + layout->offset + (size_t)slot * layout->snapshot_size,
		       sizeof(s));
		if (!(s.what & COSTACK_LIVE_WHAT_RAISE) && !out->has_suspend) {
			out->suspend = s;
			out->has_suspend = true;
		} else if ((s.what & COSTACK_LIVE_WHAT_RAISE) && !out->has_raise) {
			out->raise = s;
			out->has_raise = true;
		}
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&live->seq, __ATOMIC_RELAXED) == before;
}

#define SPINS 16

bool task_record_copy(const void *record, const struct task_ring_layout *ring,
                      struct task_record *out, uint64_t deadline_ns)
{
	for (unsigned tries = 0;; tries++) {
		if (try_copy(record, ring, out))
			return true;
		if (tries < SPINS)
			continue;
		if (tries == SPINS && !deadline_ns)
			deadline_ns = monotonic_ns() + TASK_COPY_PATIENCE_NS;
		else if (monotonic_ns() > deadline_ns)
			return false;
		/* A preempted writer gets the CPU back sooner if we give ours up. */
		sched_yield();
	}
}

const struct costack_live_snapshot *task_record_fatal_raise(const struct task_record *r)
{
	bool has_kept = (r->task.flags & COSTACK_LIVE_TASK_HAS_KEPT) != 0;
	uint64_t number = task_fatal_raise_number(has_kept, r->task.kept_raise, r->task.raises);

	if (has_kept && number == r->task.kept_raise)
		return &r->task.kept;
	if (r->has_raise && number == r->task.raises)
		return &r->raise;
	return NULL;
}

const struct costack_live_stack *task_view_record(const struct costack_live_header *h,
                                                  uint32_t number)
{
	uint64_t off;
	uint32_t n;

	number &= COSTACK_LIVE_WHAT_NUMBER; /* a snapshot's `what` too */
	off = (uint64_t)number * COSTACK_LIVE_RECORD_ALIGN;
	if (!h || !off || off >= __atomic_load_n(&h->used, __ATOMIC_ACQUIRE))
		return NULL;
	n = __atomic_load_n(&h->nchunks, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n && i < COSTACK_LIVE_MAX_CHUNKS; i++) {
		const struct costack_live_chunk *c = &h->chunks[i];

		if (off >= c->offset && off - c->offset < c->size) {
			const struct costack_live_stack *rec =
			        (const struct costack_live_stack *)(uintptr_t)(c->address + off -
			                                                       c->offset);

			return rec->number == number ? rec : NULL;
		}
	}
	return NULL;
}

void task_view_snapshot(const struct costack_live_header *h, const struct costack_live_snapshot *s,
                        struct task_view_parts *out)
{
	const struct costack_live_stack *rec =
	        task_view_record(h, s->what & COSTACK_LIVE_WHAT_NUMBER);

	*out = (struct task_view_parts){
	        .truncated = (s->what & COSTACK_LIVE_WHAT_TRUNCATED) != 0,
	        .raise = (s->what & COSTACK_LIVE_WHAT_RAISE) != 0,
	};
	if (!out->raise) {
		out->stack = rec;
	} else if (rec && rec->nframes >= 2) {
		out->stack = task_view_record(h, (uint32_t)rec->frames[0]);
		out->exception = task_view_exception(h, (uint32_t)(rec->frames[0] >> 32));
		out->object = rec->frames[1];
	}
}

const struct costack_live_exception *task_view_exception(const struct costack_live_header *h,
                                                         uint32_t number)
{
	const struct costack_live_stack *rec = task_view_record(h, number);

	return rec && rec->nframes * sizeof(uint64_t) >= sizeof(struct costack_live_exception)
	               ? (const struct costack_live_exception *)rec->frames
	               : NULL;
}

const char *task_view_name(const struct costack_live_header *h, uint32_t number)
{
	const struct costack_live_stack *rec = task_view_record(h, number);

	return rec && rec->nframes * sizeof(uint64_t) <= COSTACK_LIVE_NAME_MAX &&
	                       memchr(rec->frames, '\0', rec->nframes * sizeof(uint64_t))
	               ? (const char *)rec->frames
	               : "";
}

const struct costack_live_snapshot *task_record_frames(const struct task_record *r,
                                                       enum task_frames source)
{
	switch (source) {
	case TASK_FRAMES_SUSPENSION:
		return r->has_suspend ? &r->suspend : NULL;
	case TASK_FRAMES_TRACEBACK:
		return task_record_fatal_raise(r);
	default:
		return NULL;
	}
}
