/* SPDX-License-Identifier: MIT */
/* live_cli.h - what costack ps and stacks share: the PID argument, the read, the symbolizer. */
#ifndef COSTACK_LIVE_CLI_H
#define COSTACK_LIVE_CLI_H

#include <stdbool.h>
#include <sys/types.h>

#include "live_read.h"
#include "stacks_out.h"
#include "symbolize.h"

/* The help's paragraph on who may read a PID (ps and stacks). */
#define LIVE_CLI_HELP_PERMISSIONS                                                                  \
	"Permissions: reading PID needs the right to debug it (ptrace access mode\n"               \
	"read): the same user with /proc/sys/kernel/yama/ptrace_scope at 0 (1: only\n"             \
	"its ancestors), or root. A task's record that changes while it is read is\n"              \
	"copied with process_vm_readv(2), which needs access mode attach (Yama 1:\n"               \
	"ancestors only); without it, a task that switches faster than the reader's\n"             \
	"system calls may be left out as changing (exit status 0, said on stderr).\n"

/* Whether arg is a PID: all digits, no sign, in range. */
bool live_cli_parse_pid(const char *arg, pid_t *pid);

/*
 * Read pid's registry for verb ("ps", "stacks"). On failure, prints
 * "costack VERB: MESSAGE" on stderr and returns COSTACK_EXIT_INPUT; tasks
 * left out (changing at every try, or invalid) are reported on stderr
 * after a successful read, which returns COSTACK_EXIT_OK.
 */
int live_cli_read(const char *verb, pid_t pid, struct live_snapshot *snap);

/* A stacks_symbolize_fn over a struct symbolizer (ctx). */
int live_cli_symbolize(void *ctx, const struct stacks_task *t, uint64_t pc, bool is_return,
                       struct sym_frame *out, int cap);

/* t as the writers show it, its frames cut to limit (<= 0: all). */
void live_cli_stacks_task(const struct live_task *t, int limit, struct stacks_task *out);

#endif
