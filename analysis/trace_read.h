/* SPDX-License-Identifier: MIT */
/* trace_read.h - babeltrace2 messages of a costack trace fed to the model, up to a time. */
#ifndef COSTACK_TRACE_READ_H
#define COSTACK_TRACE_READ_H

#include <babeltrace2/babeltrace.h>
#include <stdbool.h>
#include <stdint.h>

#include "hashmap.h"
#include "trace_model.h"

/* A TIME argument: the end of the trace, seconds since the epoch, or an offset from the
 * trace's start. */
struct trace_at {
	enum { TRACE_AT_END, TRACE_AT_EPOCH, TRACE_AT_OFFSET } kind;
	uint64_t ns;
};

/*
 * Parse TIME: "1795542309.164005327" (seconds since the epoch, as `date +%s.%N`
 * prints; up to 9 decimals, exact) or "+1.5s", "+250ms", "+10us", "+7ns" (from
 * the trace's start; "+2" is seconds). 0, or -1 when it is none of these.
 */
int trace_parse_time(const char *arg, struct trace_at *at);

struct trace_class;

struct trace_reader {
	struct tm_model *model;
	struct trace_at at;
	bool at_known;  /* at_ns resolved (an offset: once the start is seen) */
	uint64_t at_ns; /* UINT64_MAX: the end */
	bool passed;    /* a message after at came: the rest is not needed */
	bool has_time;
	uint64_t first_ns, last_ns; /* of the timed messages seen */
	bool no_vpid;               /* costack events without the vpid context */
	/* event classes seen: their kind and cached member indices */
	struct hmap classes;
	const void *last_class;
	struct trace_class *last;
	uint64_t *frames;
	uint32_t frames_cap;
	/* progress on stderr (a terminal, a long trace) */
	bool progress;
	uint64_t messages;
	uint64_t started_ns;
	bool progress_shown;
	bool failed; /* trace_reader_consume met an error of the reader's own (error) */
	char error[512];
};

/* progress: print a progress line on stderr when reading takes long (caller: stderr is a tty). */
void trace_reader_init(struct trace_reader *r, struct tm_model *m, const struct trace_at *at,
                       bool progress);
void trace_reader_free(struct trace_reader *r);

/* Feed one message. 0: go on; 1: at was passed, the rest is not needed; -1: error (r->error). */
int trace_reader_message(struct trace_reader *r, const bt_message *msg);

/* A sink's consume method: the next messages of it fed to r. END once the input ended or r
 * needs no more; ERROR with r->failed set when r failed (r->error); else the input's status. */
bt_component_class_sink_consume_method_status trace_reader_consume(struct trace_reader *r,
                                                                   bt_message_iterator *it);

/* After the last message: the time the model stands at (at, or the trace's end), or -1 when
 * at lies outside the trace or the trace had no timed message (r->error). */
int trace_reader_end(struct trace_reader *r, uint64_t *at_ns);

#endif
