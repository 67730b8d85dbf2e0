/* SPDX-License-Identifier: MIT */
/* live_read.h - a process's live registry (costack-live.h) read from outside, trusting none. */
#ifndef COSTACK_LIVE_READ_H
#define COSTACK_LIVE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "costack-live.h"

/* Why a registry could not be read; every one is exit status 3 in the CLI. */
enum live_status {
	LIVE_OK = 0,
	LIVE_NO_PROCESS,  /* no such process */
	LIVE_EXITED,      /* a zombie: it ended, its parent has not reaped it */
	LIVE_PERMISSION,  /* the reader may not debug it (ptrace access mode read) */
	LIVE_NO_REGISTRY, /* not running under libcostack.so (no costack-live memfd) */
	LIVE_NOT_MEMFD,   /* a costack-live fd that is no memfd (a fifo, a device, a file) */
	LIVE_BAD_MAGIC,   /* a costack-live memfd that is no registry */
	LIVE_BAD_VERSION, /* a registry of another layout version */
	LIVE_BAD_LAYOUT,  /* its header's sizes, offsets or pid make no sense */
	LIVE_CHANGED,     /* its memfd shrank while it was read */
	LIVE_SYSTEM,      /* the reader's own failure: out of memory, mmap */
};

struct live_error {
	enum live_status status;
	char message[512]; /* a sentence a user can act on, no trailing newline */
};

/*
 * One task, as costack_task_info() and costack_get_stack() describe it in
 * the process. Times are CLOCK_REALTIME nanoseconds, in the target's terms.
 */
struct live_task {
	uint64_t id;
	uint64_t parent;
	uint64_t entry;
	int state;   /* enum costack_state */
	int runtime; /* enum costack_runtime */
	int32_t tid; /* the thread that last ran it */
	uint64_t switches;
	uint64_t cpu_ns; /* time switched in, the current run included */
	uint64_t created_ns;
	uint64_t since_ns;    /* when it entered its state */
	uint64_t in_state_ns; /* how long it has been in it when read */
	char name[COSTACK_LIVE_NAME_MAX];
	uint64_t raises;
	/* costack_task_info()'s exception: for a failed task the one it died
	 * of, else the latest raised in it. */
	bool has_exception;
	uint64_t exception_origin;
	char exception_type[COSTACK_LIVE_TYPE_MAX];
	char exception_what[COSTACK_LIVE_WHAT_MAX];
	/* A failed task's exception is that of the raise its traceback shows
	 * (print_stack ends with it); false for any other task. */
	bool died_of_exception;
	/* costack_get_stack(task, frames, 0), oldest first: return addresses,
	 * or for a created task its entry function alone (frames_are_entry). */
	const uint64_t *frames;
	uint32_t nframes;
	bool frames_are_entry;
	bool traceback; /* a failed task's: a limit keeps its oldest frames */
	bool truncated; /* the stack was deeper than COSTACK_DEPTH */
	/* A thread's root task: code on that thread ran on a stack costack knows of no task
	 * (COSTACK_LIVE_TASK_UNTRACKED_STACK): coroutines there are not tracked. */
	bool untracked_stack;
};

/* What one read saw. */
struct live_snapshot {
	int32_t pid;
	uint64_t at_ns; /* CLOCK_REALTIME of the read, in the same terms as the tasks' */
	uint32_t depth; /* the target's COSTACK_DEPTH */
	uint32_t ring;  /* and COSTACK_RING */
	size_t ntasks;
	struct live_task *tasks; /* by id */
	size_t busy;             /* tasks changing at every try of a consistent copy: left out */
	size_t bad;              /* tasks whose record or stacks failed validation: left out */
	void *store;             /* the copied stacks the tasks' frames point into */
};

/* Where live_parse reads an image from, and how. */
struct live_parse_options {
	int32_t pid;    /* the header's pid must be this; 0: any */
	unsigned tries; /* consistent-copy tries of a task before it counts busy (0: 1) */
	/* Time budget of the retries of a whole read (ns, CLOCK_MONOTONIC); 0:
	 * none. Past it, a task changing gets one try. */
	uint64_t busy_budget_ns;
	/* Whether [offset, offset + size) of the image holds data (not a hole
	 * of the memfd, which reads as zeroes but costs the target a page when
	 * touched). NULL: all of it. */
	bool (*has_data)(void *ctx, uint64_t offset, uint64_t size);
	void *ctx;
	/* The file is process pid's registry, read while it runs: ticks are
	 * converted with a TSC rate measured now against CLOCK_MONOTONIC, "now"
	 * is the read's, and a record that changes is copied from the process'
	 * memory (process_vm_readv) before pread tries. Otherwise (a fuzzed or
	 * saved image) a tick is a nanosecond and now is the newest time seen. */
	bool running;
};

/*
 * Parse a registry image of len bytes at image (8-byte aligned), which may
 * change while it is read (shared memory). Every offset, count
 * and string is checked before use, against len and the header; records
 * are copied under their seqlock and only the copies are looked at; a task
 * that fails a check is counted in bad, one never consistent in busy.
 * Returns 0 and fills *out (free it with live_snapshot_free), or -1 and
 * fills *err.
 */
int live_parse(const void *image, size_t len, const struct live_parse_options *opt,
               struct live_snapshot *out, struct live_error *err);

/*
 * live_parse() of the first len bytes of the file fd, read with pread(2),
 * never mapped: a file that shrinks while it is read is LIVE_CHANGED (a
 * mapping would be SIGBUS). A region that grows while it is read (its
 * header's size) is read as far as the file holds it.
 */
int live_parse_file(int fd, size_t len, const struct live_parse_options *opt,
                    struct live_snapshot *out, struct live_error *err);

/*
 * Open the registry at path, a /proc/PID/fd or /proc/PID/map_files entry
 * of process pid, if it is a memfd of libcostack.so's kind (a regular file
 * of shared memory, linked nowhere) and nothing else:
 * a fifo, a device, a directory, a socket is not opened, and is
 * LIVE_NOT_MEMFD. The descriptor, or -1 with err filled.
 */
int live_open_registry(pid_t pid, const char *path, struct live_error *err);

/* Read the registry memfd fd of pid (0: any) with live_parse_file, as long as its header and
 * its size say. 0, or -1 with err filled. */
int live_read_registry(pid_t pid, int fd, struct live_snapshot *out, struct live_error *err);

/*
 * Read process pid's registry: find its costack-live memfd among
 * /proc/PID/fd (else, for root, through /proc/PID/map_files), check that
 * it is a memfd (a regular file of shared memory, linked nowhere) before
 * anything is read of it, and parse it (live_parse_file). Nothing in the
 * target stops or runs.
 */
int live_read_pid(pid_t pid, struct live_snapshot *out, struct live_error *err);

void live_snapshot_free(struct live_snapshot *s);

/* asyncio's limit on a task's frames: the newest limit frames of a stack,
 * the oldest of a traceback; limit <= 0 keeps all. Returns how many are
 * kept, from t->frames[*first]. */
uint32_t live_task_limit(const struct live_task *t, int limit, uint32_t *first);

/* "created", "running", ... as costack_state_name(); "?" otherwise. */
const char *live_state_name(int state);
/* "thread", "ucontext", "fcontext"; "?" otherwise. */
const char *live_runtime_name(int runtime);

#endif
