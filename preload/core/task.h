/* SPDX-License-Identifier: MIT */
/* task.h - the task registry: tasks, states, rings of snapshots. Knows nothing of any runtime's
 * hooks. */
#ifndef COSTACK_TASK_H
#define COSTACK_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "costack.h"
#include "stackstore.h"
#include "task_view.h"

enum snapshot_kind { SNAP_SUSPEND = 0, SNAP_RAISE = 1 };

/* An exception as costack keeps it: made once per raise, immutable. */
struct exception_rec {
	uint64_t origin; /* the task that first threw it */
	bool forced;     /* a forced unwind (a coroutine destroyed while suspended) */
	char type[COSTACK_EXCEPTION_TYPE_MAX];
	char what[COSTACK_EXCEPTION_WHAT_MAX];
};
_Static_assert(sizeof(struct exception_rec) % sizeof(uintptr_t) == 0,
               "exception records are interned as words");

/*
 * A snapshot, as a task's ring keeps it (costack-live.h: 8 bytes): what (a record of the
 * stack store by number, COSTACK_LIVE_WHAT_*: a suspension's stack, or a raise's record of its
 * stack, exception and object) and when.
 */
struct snapshot {
	uint32_t what;
	uint32_t at; /* ticks since the task was made, >> COSTACK_LIVE_AT_SHIFT, saturated */
};

/* A snapshot's parts, its records found (snapshot_parts). */
struct snapshot_parts {
	const struct stack_rec *stack;         /* NULL: none or lost */
	const struct exception_rec *exception; /* a raise's, NULL if none known */
	const void *object;                    /* a raise's thrown object */
	bool raise;
	bool truncated; /* the stack was deeper than COSTACK_DEPTH */
};

/*
 * A task: costack-live.h's struct costack_live_task field for field, then its ring of
 * config.ring snapshots, then the writer's own fields (struct task_private, task_private()).
 */
struct task {
	/* Seqlock: odd while the record changes. Readers copy and retry. */
	atomic_uint seq;
	uint8_t state;          /* enum costack_state */
	uint8_t runtime;        /* enum costack_runtime */
	uint8_t registry_flags; /* TASK_* below: the registry's own */
	uint8_t flags;          /* COSTACK_LIVE_TASK_* (costack-live.h) */
	uint64_t id;
	uint64_t parent;
	uintptr_t entry;
	uintptr_t stack_lo, stack_hi; /* [lo, hi); both 0 when unknown */
	int32_t tid;
	uint32_t kept_raise; /* task_has_kept: which of its raises (1, 2, ...; mod 2^32) is kept */
	uint64_t switches;
	/* Times in clock ticks (clock.h). */
	uint64_t cpu_ticks; /* spent running, its current run not counted */
	uint64_t created;
	uint64_t since; /* entry into the current state: a running task's run's start */
	uint64_t raises;
	uint32_t name;      /* its name's record number, 0: none */
	uint32_t exception; /* the latest raise's exception record number, 0: none */
	/* The raise of an exception that escaped the body and was kept by the
	 * runtime (std::current_exception): the traceback, should the task end. */
	struct snapshot kept;
	uint16_t ring_used;     /* snapshots in the ring, at most config.ring */
	uint16_t ring_newest;   /* the newest one's slot (task_snapshot) */
	uint16_t forced_raises; /* forced unwinds raised or rethrown in it */
	/* The runtimes' own word (core_task_knowledge): which runtime made the task, what its
	 * adapter learned of it. Not read from outside (the layout's reserved1). */
	uint16_t knowledge;
	struct snapshot ring[]; /* config.ring entries, then struct task_private */
};

#define TASK_IN_RANGE_INDEX 1u   /* in the index of stack ranges */
#define TASK_IN_UNKNOWN_INDEX 2u /* on no known stack: in the index of context keys */
#define TASK_LINGERING 4u        /* ended, its runtime still holds the stack (core_body_ended) */

/* Whether an exception escaped t's body and its runtime kept it: t->kept is the raise that
 * failed it (COSTACK_LIVE_TASK_HAS_KEPT). */
static inline bool task_has_kept(const struct task *t)
{
	return (t->flags & COSTACK_LIVE_TASK_HAS_KEPT) != 0;
}

/* What a task record keeps for the registry alone, past its ring. */
struct task_private {
	/* The adapter's own word (ucontext: uc_link), or for a task on no known stack
	 * (TASK_IN_UNKNOWN_INDEX) the context handle it was found by. */
	uintptr_t aux;
	struct task *ended_next; /* FIFO of ended tasks, oldest evicted first; then free records */
	struct task *id_next;    /* the id index's chain */
	struct task *range_left, *range_right; /* the range index: a treap by stack_lo */
};

/* Where struct task_private lies in a record (set once, when costack becomes active). */
extern size_t task_private_offset;

static inline struct task_private *task_private(const struct task *t)
{
	return (struct task_private *)((char *)(uintptr_t)t + task_private_offset);
}

/* The slot of the snapshot `back` places before the newest one, in slot
 * `newest` (0: the newest), of a ring of `ring` slots; back < ring_used.
 * No division on the switch path. */
static inline uint32_t task_ring_slot(uint32_t newest, uint32_t back, uint32_t ring)
{
	return newest >= back ? newest - back : newest + ring - back;
}

static inline const struct snapshot *task_snapshot(const struct task *t, uint32_t back,
                                                   uint32_t ring)
{
	return &t->ring[task_ring_slot(t->ring_newest, back, ring)];
}

/* The record of the stack store numbered n (costack-live.h), NULL for 0 or none. */
const struct stack_rec *task_record(uint32_t number);
/* What snapshot s refers to: its stack, and for a raise its exception and object. */
void snapshot_parts(const struct snapshot *s, struct snapshot_parts *out);
/* t's name (NUL-terminated, at most COSTACK_NAME_MAX bytes with it), "" if none. */
const char *task_name(const struct task *t);

/* Copy task `id` under the registry lock (task_view.h); false with errno ESRCH if unknown,
 * EAGAIN if its record never held still (its writer is what called us: a signal handler). */
bool registry_copy_task(uint64_t id, struct task_record *out);
/* Ids of the unfinished tasks, at most cap; returns how many exist. */
size_t registry_unfinished(uint64_t *ids, size_t cap);
/* The id of the task whose stack holds addr, 0 if none. */
uint64_t registry_task_at(uintptr_t addr);
int registry_set_name(uint64_t id, const char *name);

#endif
