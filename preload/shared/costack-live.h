/* SPDX-License-Identifier: MIT */
/*
 * costack-live.h - the live registry's layout: what `costack ps PID` and
 * `costack stacks PID` read from a running process, and nothing else.
 *
 * A process running under libcostack.so keeps its tasks, their rings and
 * the stacks they refer to in one region of shared memory backed by a memfd
 * named COSTACK_LIVE_NAME: /proc/PID/fd/N links to "/memfd:costack-live
 * (deleted)". Opening that link takes the kernel's ptrace read check (the
 * reader must be allowed to debug the target); the reader maps it read-only,
 * so no read stops, signals or runs code in the target. The memfd has no
 * name in any file system: it is gone when the process is.
 *
 * Every value is little-endian x86-64, in the target's terms. A "pointer"
 * below is an address in the target. The target maps the memfd in chunks, as
 * it grows (address space in proportion to what it holds): the header's
 * chunk table says at which address each range of the memfd is, so that a
 * pointer into a chunk is an offset in the memfd. A reader must trust
 * nothing: every pointer, offset, length and count is bounds-checked against
 * the chunks and what it mapped, and the target may change any byte while it
 * is read.
 *
 * Consistency: a task record (with its ring) has a seqlock, `seq`, odd while
 * its one writer changes it. A reader copies the record, then re-reads seq:
 * equal and even, the copy is consistent; otherwise it retries. Stacks and
 * exceptions are immutable once a record points to them, and never freed.
 */
#ifndef COSTACK_LIVE_H
#define COSTACK_LIVE_H

#include <stdint.h>

#define COSTACK_LIVE_NAME "costack-live"
#define COSTACK_LIVE_MAGIC "COSTACKL" /* 8 bytes, no terminator */
#define COSTACK_LIVE_VERSION 2
#define COSTACK_LIVE_MAX_CHUNKS 64
#define COSTACK_LIVE_MAX_SLABS 4096
#define COSTACK_LIVE_NAME_MAX 64
#define COSTACK_LIVE_TYPE_MAX 128
#define COSTACK_LIVE_WHAT_MAX 256
#define COSTACK_LIVE_MAX_FRAMES 512

/* Bytes [offset, offset + size) of the memfd, mapped at `address` in the target. The
 * first chunk holds the header at its start (offset 0). Chunks never overlap, in the memfd
 * or in the target, and are never unmapped. */
struct costack_live_chunk {
	uint64_t address;
	uint64_t offset;
	uint64_t size;
};

/* Task records are carved from slabs: runs of `slots` records of
 * header.task_size bytes at the pointer `address`. A record whose id is 0
 * is free. */
struct costack_live_slab {
	uint64_t address;
	uint32_t slots;
	uint32_t reserved;
};

/* At offset 0 of the memfd. Written once at start, but for `size`, `used`,
 * `nchunks` and `nslabs`, which only grow (a chunk or a slab is filled in
 * before its count counts it; a chunk counts before anything in it is
 * handed out). */
struct costack_live_header {
	char magic[8];          /* COSTACK_LIVE_MAGIC */
	uint32_t version;       /* COSTACK_LIVE_VERSION */
	uint32_t header_size;   /* sizeof(struct costack_live_header) */
	uint64_t size;          /* bytes of the memfd the chunks take; 0: the header is being made */
	uint64_t used;          /* every byte handed out lies below this offset of the memfd */
	int32_t pid;            /* the process it belongs to (a fork child makes its own) */
	uint32_t task_size;     /* bytes per task record, its ring included */
	uint32_t ring_offset;   /* where in a record its ring begins */
	uint32_t snapshot_size; /* sizeof(struct costack_live_snapshot) */
	uint32_t ring;          /* snapshots per ring (COSTACK_RING) */
	uint32_t depth;         /* frames per stack at most (COSTACK_DEPTH) */
	/* Times are ticks. clock_is_tsc: ticks are the TSC (the kernel's
	 * clocksource is tsc); ns = (ticks - tsc_at_load) * rate +
	 * monotonic_at_load, the rate measured by the reader against its own
	 * CLOCK_MONOTONIC. Otherwise ticks are CLOCK_MONOTONIC nanoseconds (read
	 * from CLOCK_MONOTONIC_COARSE unless COSTACK_CLOCK=precise: a tick early).
	 * CLOCK_REALTIME = CLOCK_MONOTONIC + realtime_minus_monotonic. */
	uint32_t clock_is_tsc;
	uint32_t reserved;
	uint64_t tsc_at_load;
	uint64_t monotonic_at_load;
	int64_t realtime_minus_monotonic;
	uint32_t nchunks;
	uint32_t nslabs;
	struct costack_live_chunk chunks[COSTACK_LIVE_MAX_CHUNKS];
	struct costack_live_slab slabs[COSTACK_LIVE_MAX_SLABS];
};

/* enum costack_live_kind */
#define COSTACK_LIVE_SUSPEND 0
#define COSTACK_LIVE_RAISE 1

struct costack_live_snapshot {
	uint64_t at;        /* ticks */
	uint64_t stack;     /* pointer to a struct costack_live_stack, 0: none (lost) */
	uint64_t exception; /* a raise's: pointer to a struct costack_live_exception */
	uint64_t object;    /* a raise's thrown object (an address, not to follow) */
	int32_t tid;
	uint8_t kind;       /* COSTACK_LIVE_SUSPEND or _RAISE */
	uint8_t truncated;  /* the stack was deeper than header.depth */
	uint16_t reserved;
};

/* Immutable. frames: return addresses, innermost first (a stack is shown
 * oldest first: reverse them). */
struct costack_live_stack {
	uint64_t hash;
	uint32_t nframes;
	uint32_t extra_size; /* the writer's own bytes at `extra`: not to read */
	uint64_t extra;
	uint64_t frames[];
};

/* Immutable. Strings are NUL-terminated within their arrays (check it). */
struct costack_live_exception {
	uint64_t origin; /* the task that first threw it */
	uint8_t forced;  /* a forced unwind */
	char type[COSTACK_LIVE_TYPE_MAX];
	char what[COSTACK_LIVE_WHAT_MAX];
	uint8_t reserved[7];
};

/* A thread's root task: code on that thread ran, at a call costack hooks, on a stack costack
 * knows of no task (a coroutine switched to by code it does not hook: SimGrid's raw contexts,
 * setjmp/longjmp, assembly). What runs there is not tracked. */
#define COSTACK_LIVE_TASK_UNTRACKED_STACK 0x01

/*
 * A task record; its ring of header.ring snapshots follows at ring_offset,
 * ring_used of them in use, the newest in slot ring_newest, older ones
 * before it (wrapping). state and runtime: costack.h's enum costack_state
 * and enum costack_runtime.
 */
struct costack_live_task {
	uint32_t seq;
	uint8_t state;
	uint8_t runtime;
	uint8_t reserved0;
	uint8_t flags; /* COSTACK_LIVE_TASK_* */
	uint64_t id;   /* never reused; 0: a free record */
	uint64_t parent;
	uint64_t entry;
	uint64_t stack_lo, stack_hi; /* both 0 when unknown */
	uint64_t reserved1[2];
	int32_t tid;  /* the thread that last ran it */
	uint32_t kept_raise; /* has_kept: which of its raises (1, 2, ...; mod 2^32) */
	uint64_t switches;
	uint64_t cpu_ticks;
	uint64_t created;
	uint64_t since;     /* entry into its state */
	uint64_t run_start; /* last switch in */
	uint32_t ring_used;
	uint32_t ring_newest;
	char name[COSTACK_LIVE_NAME_MAX];
	uint64_t raises;
	uint16_t forced_raises;
	uint8_t reserved3[6];
	uint64_t exception;                  /* the newest raise's exception */
	struct costack_live_snapshot kept;   /* the raise that failed it, if has_kept */
	uint8_t has_kept;
	uint8_t reserved4[7];
	uint64_t reserved5;
};

#endif
