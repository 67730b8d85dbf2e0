/* SPDX-License-Identifier: MIT */
/* offline_cli.h - what the verbs reading a TRACE share: the read, its messages, exit statuses. */
#ifndef COSTACK_OFFLINE_CLI_H
#define COSTACK_OFFLINE_CLI_H

#include <stdint.h>

#include "selection.h"
#include "trace_model.h"
#include "trace_read.h"

/*
 * Read the trace directory dir into m, up to at, for verb ("stacks",
 * "report"): a progress line on stderr when that is a terminal and the
 * read is long. Returns COSTACK_EXIT_OK with *at_ns the time m stands at;
 * else prints "costack VERB: why" and returns COSTACK_EXIT_INPUT (no trace,
 * an unreadable one) or COSTACK_EXIT_USAGE (at outside the trace). Lost
 * events are told on stderr.
 */
int offline_cli_read(const char *verb, const char *dir, const struct trace_at *at,
                     struct tm_model *m, uint64_t *at_ns);

/* The options that select tasks and time (flame's, timeline's), in this order. */
enum offline_cli_select { SELECT_PID, SELECT_TASK, SELECT_FROM, SELECT_TO };

/* What --pid PID, --task ID, --from TIME or --to TIME (which) says, into s: 0, or verb's usage
 * error (exit status 2). */
int offline_cli_select(const char *verb, enum offline_cli_select which, const char *value,
                       struct selection *s);

/* 0 when s's window makes sense (--from before --to), else verb's usage error. */
int offline_cli_select_check(const char *verb, const struct selection *s);

#endif
