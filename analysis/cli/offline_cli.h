/* SPDX-License-Identifier: MIT */
/* offline_cli.h - what the verbs reading a TRACE share: the read, its messages, exit statuses. */
#ifndef COSTACK_OFFLINE_CLI_H
#define COSTACK_OFFLINE_CLI_H

#include <stdint.h>

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

#endif
