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
 * equal and even, the copy is consistent; otherwise it retries. Stacks,
 * exceptions, raises and names are records of the store (struct
 * costack_live_stack), immutable once a task refers to them, never freed,
 * and referred to by number: record number n lies at offset n * 16 of the
 * memfd (COSTACK_LIVE_RECORD_ALIGN), and says so in its `number` field.
 */
#ifndef COSTACK_LIVE_H
#define COSTACK_LIVE_H

#include <stdint.h>

#define COSTACK_LIVE_NAME "costack-live"
#define COSTACK_LIVE_MAGIC "COSTACKL" /* 8 bytes, no terminator */
#define COSTACK_LIVE_VERSION 3
#define COSTACK_LIVE_MAX_CHUNKS 64
#define COSTACK_LIVE_MAX_SLABS 4096
#define COSTACK_LIVE_NAME_MAX 64
#define COSTACK_LIVE_TYPE_MAX 128
#define COSTACK_LIVE_WHAT_MAX 256
#define COSTACK_LIVE_MAX_FRAMES 512
#define COSTACK_LIVE_RECORD_ALIGN 16   /* record number n: memfd offset n * 16 */
#define COSTACK_LIVE_WRITER_OWN_MAX 64 /* a task record's bytes past its ring, at most */

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
	char magic[8];        /* COSTACK_LIVE_MAGIC */
	uint32_t version;     /* COSTACK_LIVE_VERSION */
	uint32_t header_size; /* sizeof(struct costack_live_header) */
	uint64_t size;        /* bytes of the memfd the chunks take; 0: the header is being made */
	uint64_t used;        /* every byte handed out lies below this offset of the memfd */
	int32_t pid;          /* the process it belongs to (a fork child makes its own) */
	uint32_t task_size;   /* bytes per task record, its ring included */
	uint32_t ring_offset; /* where in a record its ring begins */
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

/*
 * A snapshot in a task's ring, 8 bytes: `what` is a record number (bits 0-29)
 * and two flags. A suspension's record is its stack; a raise's (RAISE set) is
 * a raise record. 0 in bits 0-29: no record (lost: the store was full).
 */
#define COSTACK_LIVE_WHAT_NUMBER 0x3fffffffu
#define COSTACK_LIVE_WHAT_TRUNCATED 0x40000000u /* the stack was deeper than header.depth */
#define COSTACK_LIVE_WHAT_RAISE 0x80000000u
struct costack_live_snapshot {
	uint32_t what;
	uint32_t at; /* ticks since the task was made, over 2^20 (COSTACK_LIVE_AT_SHIFT);
	              * UINT32_MAX: that long or longer */
};
#define COSTACK_LIVE_AT_SHIFT 20

/*
 * A record of the store, immutable, at a memfd offset that is a multiple of
 * COSTACK_LIVE_RECORD_ALIGN; its words (`frames`) hold, by what refers to it:
 * - a stack: return addresses, innermost first (a stack is shown oldest
 *   first: reverse them);
 * - an exception: a struct costack_live_exception;
 * - a raise: 2 words, the number of its stack (low 32 bits) and of its
 *   exception (high 32 bits; 0: none known), then the thrown object (an
 *   address, not to follow);
 * - a task's name: NUL-terminated within its words (check it).
 */
struct costack_live_stack {
	uint32_t hash;
	uint32_t number;     /* its own number: offset / COSTACK_LIVE_RECORD_ALIGN */
	uint32_t nframes;    /* words */
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
/* An exception escaped its body and was kept by its runtime: `kept` is the raise that failed it
 * (number `kept_raise` of its raises). */
#define COSTACK_LIVE_TASK_HAS_KEPT 0x02

/*
 * A task record; its ring of header.ring snapshots follows at ring_offset,
 * ring_used of them in use, the newest in slot ring_newest, older ones
 * before it (wrapping). state and runtime: costack.h's enum costack_state
 * and enum costack_runtime. Bytes past the ring, up to header.task_size
 * (at most COSTACK_LIVE_WRITER_OWN_MAX), are the writer's own.
 */
struct costack_live_task {
	uint32_t seq;
	uint8_t state;
	uint8_t runtime;
	uint8_t reserved0; /* the writer's own */
	uint8_t flags;     /* COSTACK_LIVE_TASK_* */
	uint64_t id;       /* never reused; 0: a free record */
	uint64_t parent;
	uint64_t entry;
	uint64_t stack_lo, stack_hi; /* both 0 when unknown */
	int32_t tid;                 /* the thread that last ran it */
	uint32_t kept_raise;         /* HAS_KEPT: which of its raises (1, 2, ...; mod 2^32) */
	uint64_t switches;
	uint64_t cpu_ticks;
	uint64_t created;
	uint64_t since; /* entry into its state (running: its run's start) */
	uint64_t raises;
	uint32_t name;                     /* the number of its name's record, 0: no name */
	uint32_t exception;                /* the number of the newest raise's exception, 0: none */
	struct costack_live_snapshot kept; /* the raise that failed it, if HAS_KEPT */
	uint16_t ring_used;
	uint16_t ring_newest;
	uint16_t forced_raises;
	uint16_t reserved1; /* the writer's own */
};

#endif
