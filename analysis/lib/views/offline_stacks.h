/* SPDX-License-Identifier: MIT */
/* offline_stacks.h - `costack stacks TRACE`'s output: every task's get_stack() at a time. */
#ifndef COSTACK_OFFLINE_STACKS_H
#define COSTACK_OFFLINE_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_model.h"

struct offline_stacks_options {
	const uint64_t *task_ids; /* only these (in any process); none: all */
	size_t ntask_ids;
	const int32_t *pids; /* only these processes; none: all */
	size_t npids;
	int limit; /* <= 0: all frames */
	bool group;
	bool json;
};

enum offline_stacks_status {
	OFFLINE_STACKS_OK = 0,
	OFFLINE_STACKS_NO_TASK, /* a task id or pid asked for is not in the trace at that time */
	OFFLINE_STACKS_WRITE,   /* out could not be written (errno) */
	OFFLINE_STACKS_MEMORY,  /* out of memory */
};

/*
 * Write the tasks of the model (fed up to at_ns) as `costack stacks PID`
 * writes a live process' (stacks_out.h), each with its "pid"; text comes
 * by process when there are several. On NO_TASK, message says which.
 */
enum offline_stacks_status offline_stacks_write(FILE *out, struct tm_model *m, uint64_t at_ns,
                                                const struct offline_stacks_options *o,
                                                char *message, size_t size);

#endif
