/* SPDX-License-Identifier: MIT */
/* task.h - the task registry: tasks, states, rings of snapshots. Knows nothing of any runtime's hooks. */
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
	uint64_t origin;    /* the task that first threw it */
	bool forced;        /* a forced unwind (a coroutine destroyed while suspended) */
	char type[COSTACK_EXCEPTION_TYPE_MAX];
	char what[COSTACK_EXCEPTION_WHAT_MAX];
};
_Static_assert(sizeof(struct exception_rec) % sizeof(uintptr_t) == 0,
	       "exception records are interned as words");

struct snapshot {
	uint64_t at;                   /* clock ticks (clock.h) */
	const struct stack_rec *stack; /* innermost frame first; NULL: none or lost */
	const struct exception_rec *exception; /* a raise's exception */
	const void *object;            /* a raise's thrown object */
	int32_t tid;
	uint8_t kind;                  /* enum snapshot_kind */
	uint8_t truncated;             /* the stack was deeper than COSTACK_DEPTH */
	uint16_t reserved;
};

struct task {
	/* Seqlock: odd while the record changes. Readers copy and retry. */
	atomic_uint seq;
	uint8_t state;   /* enum costack_state */
	uint8_t runtime; /* enum costack_runtime */
	bool in_range_index;
	uint8_t flags; /* COSTACK_LIVE_TASK_* (costack-live.h) */
	uint64_t id;
	uint64_t parent;
	uintptr_t entry;
	uintptr_t stack_lo, stack_hi; /* [lo, hi); both 0 when unknown */
	uintptr_t adapter_data;       /* the adapter's own word (ucontext: uc_link) */
	uintptr_t context_key;        /* stack unknown: the context handle it was found by */
	int32_t tid;
	uint32_t kept_raise; /* has_kept: which of its raises (1, 2, ...; mod 2^32) is kept */
	uint64_t switches;
	/* Times in clock ticks (clock.h). */
	uint64_t cpu_ticks; /* spent running */
	uint64_t created;
	uint64_t since;     /* entry into the current state */
	uint64_t run_start; /* last switch in */
	uint32_t ring_used;   /* snapshots in the ring, at most config.ring */
	uint32_t ring_newest; /* the newest one's slot (task_snapshot) */
	char name[COSTACK_NAME_MAX];
	uint64_t raises;
	uint16_t forced_raises; /* forced unwinds raised or rethrown in it */
	const struct exception_rec *exception; /* the latest raise's */
	/* The raise of an exception that escaped the body and was kept by the
	 * runtime (std::current_exception): the traceback, should the task end. */
	struct snapshot kept;
	bool has_kept;
	/* Ended, but its runtime still holds the stack and may switch into it
	 * to clean up: kept in the range index until core_end_task. */
	bool lingering;
	/* The runtimes' own word (core_task_knowledge): which runtime made the task, what its
	 * adapter learned of it. Not in the live layout. */
	uint16_t knowledge;
	struct task *ended_next; /* FIFO of ended tasks, oldest evicted first */
	struct snapshot ring[];  /* config.ring entries */
};

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

/* Copy task `id` under the registry lock (task_view.h); false with errno ESRCH if unknown,
 * EAGAIN if its record never held still (its writer is what called us: a signal handler). */
bool registry_copy_task(uint64_t id, struct task_record *out);
/* Ids of the unfinished tasks, at most cap; returns how many exist. */
size_t registry_unfinished(uint64_t *ids, size_t cap);
/* The id of the task whose stack holds addr, 0 if none. */
uint64_t registry_task_at(uintptr_t addr);
int registry_set_name(uint64_t id, const char *name);

#endif
