/* SPDX-License-Identifier: MIT */
/* trace_graph.h - a CTF trace directory read in-process: src.ctf.fs -> flt.utils.muxer -> ours. */
#ifndef COSTACK_TRACE_GRAPH_H
#define COSTACK_TRACE_GRAPH_H

#include <stddef.h>

#include "trace_read.h"

enum trace_graph_status {
	TRACE_GRAPH_OK = 0,
	TRACE_GRAPH_UNREADABLE, /* no such directory, no trace in it, a corrupt trace */
	TRACE_GRAPH_READER,     /* the reader failed: r->error */
};

/*
 * Feed every message of the trace(s) under dir, in time order, to r, until
 * r has what it needs (its at passed). Loads the system's ctf and utils
 * plugins. On failure, message holds "cannot read trace DIR: why".
 */
enum trace_graph_status trace_graph_read(const char *dir, struct trace_reader *r, char *message,
                                         size_t size);

#endif
