/* SPDX-License-Identifier: MIT */
/* trace_graph.h - a trace directory read by babeltrace2 in a child process (src.ctf.fs ->
 * flt.utils.muxer -> ours), its items sent to the model down a pipe, under a watchdog. */
#ifndef COSTACK_TRACE_GRAPH_H
#define COSTACK_TRACE_GRAPH_H

#include <stddef.h>

#include "trace_read.h"

enum trace_graph_status {
	TRACE_GRAPH_OK = 0,
	TRACE_GRAPH_UNREADABLE, /* no such directory, no trace in it, a corrupt trace (babeltrace2
	                         * refusing it, crashing or hanging on it) */
	TRACE_GRAPH_READER,     /* the reader failed: r->error */
};

/*
 * Feed every message of the trace(s) under dir (trace_dir.h finds them), in
 * time order, to r, until r has what it needs (its at passed). babeltrace2,
 * with the system's ctf and utils plugins, runs in a child process that
 * ends with the read: a crash there, or nothing from it for 10 s, is an
 * unreadable trace. On failure, message holds "cannot read trace DIR: why",
 * one line.
 */
enum trace_graph_status trace_graph_read(const char *dir, struct trace_reader *r, char *message,
                                         size_t size);

#endif
