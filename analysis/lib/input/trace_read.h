/* SPDX-License-Identifier: MIT */
/* trace_read.h - babeltrace2 messages of a costack trace fed to the model, up to a time. */
#ifndef COSTACK_TRACE_READ_H
#define COSTACK_TRACE_READ_H

#include <babeltrace2/babeltrace.h>
#include <stdbool.h>
#include <stdint.h>

#include "hashmap.h"
#include "trace_model.h"

/*
 * Two steps, so that babeltrace2 may run in another process than the model
 * (trace_graph.c): trace_decode() turns a message into a trace_item, what
 * the model reads of it, its fields checked against the schema
 * (tracepoints/costack-tp.h and lttng-ust's statedump and dl events);
 * trace_reader_feed() feeds an item to the model, up to a time.
 */

/* A TIME argument: the end of the trace, seconds since the epoch, or an offset from the
 * trace's start. */
struct trace_at {
	enum { TRACE_AT_END, TRACE_AT_EPOCH, TRACE_AT_OFFSET } kind;
	uint64_t ns;
};

/*
 * Parse TIME: "1795542309.164005327" (seconds since the epoch, as `date +%s.%N`
 * prints: digits, then optionally a dot and up to 9 more, exact) or "+1.5s",
 * "+250ms", "+10us", "+7ns" (from the trace's start; "+2" is seconds). 0, or -1
 * when it is none of these.
 */
int trace_parse_time(const char *arg, struct trace_at *at);

/* --- items ------------------------------------------------------------------------- */

enum trace_item_kind {
	TRACE_ITEM_TIME, /* a timed message the model reads nothing else of */
	TRACE_ITEM_STACK,
	TRACE_ITEM_TASK_CREATE,
	TRACE_ITEM_TASK_NAME,
	TRACE_ITEM_TASK_ENTRY,
	TRACE_ITEM_SWITCH,
	TRACE_ITEM_RESUME,
	TRACE_ITEM_RAISE,
	TRACE_ITEM_TASK_END,
	TRACE_ITEM_BIN_INFO,
	TRACE_ITEM_DLOPEN,
	TRACE_ITEM_BUILD_ID,
	TRACE_ITEM_DEBUG_LINK,
	TRACE_ITEM_DLCLOSE,
	TRACE_ITEM_LOST, /* ints: count, end (ns), whether end is known, packets (not events) */
	TRACE_ITEM_KINDS
};

#define TRACE_ITEM_INTS 8
#define TRACE_ITEM_STRINGS 2

/* The shape of an item of a kind: how many of ints, strings and array it uses. */
struct trace_item_shape {
	uint8_t ints, strings;
	bool array;
};
extern const struct trace_item_shape trace_item_shapes[TRACE_ITEM_KINDS];

/* What the model reads of one message. Pointers are the decoder's (or the
 * transport's) until the next item. */
struct trace_item {
	enum trace_item_kind kind;
	bool timed;
	uint64_t ts;  /* when timed */
	bool no_vpid; /* an event without the vpid context (pid then 0) */
	int32_t pid;  /* an event's vpid and vtid contexts */
	int32_t tid;
	const char *procname; /* an event's procname context; NULL: none */
	uint64_t ints[TRACE_ITEM_INTS];
	const char *strings[TRACE_ITEM_STRINGS]; /* NULL: none */
	const uint64_t *array;                   /* frames, or the bytes of a build id */
	uint32_t narray;
};

struct trace_class;

/* Turns messages into items: the event classes seen, their fields looked up and checked once. */
struct trace_decoder {
	struct hmap classes;
	const void *last_class;
	struct trace_class *last;
	uint64_t *frames;
	uint32_t frames_cap;
	char error[512];
};

void trace_decoder_init(struct trace_decoder *d);
void trace_decoder_free(struct trace_decoder *d);

/*
 * The item of msg. 1: *item is it; 0: the model reads nothing of msg; -1:
 * an event class the model reads does not have the schema's fields (a field
 * missing, or of another type: the trace is not one of costack's schema, or
 * its metadata is corrupt), or out of memory: d->error says which.
 */
int trace_decode(struct trace_decoder *d, const bt_message *msg, struct trace_item *item);

/* --- the reader -------------------------------------------------------------------- */

/* Feeds a model from items or babeltrace2 messages, up to a time (its own; see trace_read.c). */
struct trace_reader;

/* NULL when out of memory. progress: print a progress line on stderr when reading takes long
 * (caller: stderr is a tty). */
struct trace_reader *trace_reader_new(struct tm_model *m, const struct trace_at *at, bool progress);
void trace_reader_free(struct trace_reader *r);

/* Why the reader failed (trace_reader_feed, _consume or _end said so). */
const char *trace_reader_error(const struct trace_reader *r);
/* Whether trace_reader_consume failed of the reader's own error (not its input's). */
bool trace_reader_failed(const struct trace_reader *r);
/* Whether costack events came without the vpid context (all taken as one process). */
bool trace_reader_no_vpid(const struct trace_reader *r);

/* Feed one item. 0: go on; 1: at was passed, the rest is not needed; -1: error
 * (trace_reader_error). */
int trace_reader_feed(struct trace_reader *r, const struct trace_item *item);

/* Decode and feed one message: trace_reader_feed's returns. */
int trace_reader_message(struct trace_reader *r, const bt_message *msg);

/* The next messages of it, and the consume status of a sink: OK when messages came (*count of
 * them in *msgs, each a reference of the caller's), else END, AGAIN or an error to return. */
bt_component_class_sink_consume_method_status
trace_next_messages(bt_message_iterator *it, bt_message_array_const *msgs, uint64_t *count);

/* A sink's consume method: the next messages of it fed to r. END once the input ended or r
 * needs no more; ERROR with trace_reader_failed when r failed (trace_reader_error); else the
 * input's status. */
bt_component_class_sink_consume_method_status trace_reader_consume(struct trace_reader *r,
                                                                   bt_message_iterator *it);

/* After the last message: 0 and the time the model stands at (at, or the trace's end); 1 when
 * at lies outside the trace (a usage error), -1 when the trace had no timed message
 * (trace_reader_error says which). On success the model's listeners are told of the intervals
 * still open then (tm_model_tell_open). */
int trace_reader_end(struct trace_reader *r, uint64_t *at_ns);

#endif
