/* SPDX-License-Identifier: MIT */
/* trace_items.h - trace items as bytes: what the process running babeltrace2 sends the process
 * feeding the model. */
#ifndef COSTACK_TRACE_ITEMS_H
#define COSTACK_TRACE_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_read.h"

/*
 * A record is a byte (an item's kind, or END, or ERROR), then for an item a
 * byte of flags and its values in the machine's own layout (both ends are
 * one program): 2 bits a width (0, 1, 4 or 8 bytes) of each integer of its
 * kind (trace_item_shapes), its time (32 bits past the previous one, or
 * 64), its pid and tid unless they are the previous event's, the integers
 * in their widths, its procname only when it changed, the strings (a
 * 32-bit length + 1, 0 for none, then the bytes) and its array. A switch
 * takes some 20 bytes, each field a copy: no loop over bytes as varints
 * have, which cost more than the bytes saved.
 */

struct item_writer {
	int fd;
	unsigned char *buf;
	size_t len, cap;
	uint64_t last_ts;
	bool has_event;
	int32_t last_pid, last_tid;
	char *procname; /* the last one sent; NULL: none yet */
	size_t procname_cap;
	uint64_t flushed_ns; /* CLOCK_MONOTONIC of the last flush */
	uint32_t since_clock;
};

/* Records written to fd, a buffer at a time (and at least every 100 ms while items come).
 * Each returns 0, or -1 when out of memory or fd cannot be written. */
int item_writer_init(struct item_writer *w, int fd);
void item_writer_free(struct item_writer *w);
int item_writer_put(struct item_writer *w, const struct trace_item *it);
/* The end of the items (the trace read to its end), and a flush. */
int item_writer_end(struct item_writer *w);
/* An error that ended the read ("cannot read trace DIR: why"), and a flush. */
int item_writer_error(struct item_writer *w, const char *message);

struct item_reader {
	unsigned char *buf;
	size_t start, len, cap; /* the bytes not parsed yet: [start, len) */
	uint64_t last_ts;
	int32_t last_pid, last_tid;
	char *procname;
	size_t procname_cap;
	bool has_procname;
	uint64_t *array;
	size_t array_cap;
	char *message; /* an ERROR record's */
};

enum item_next {
	ITEM_MORE = 0,  /* a record is not whole yet: read more */
	ITEM_ITEM = 1,  /* *it is the next item (its pointers valid until the next call) */
	ITEM_END = 2,   /* the end: the trace was read to its end */
	ITEM_ERROR = 3, /* the reading failed: r->message says why */
	ITEM_BAD = -1,  /* not records (or out of memory) */
};

int item_reader_init(struct item_reader *r);
void item_reader_free(struct item_reader *r);
/* Where to read more bytes into, at least 64 KiB: *space bytes at the pointer returned; NULL
 * when out of memory. Then item_reader_added(r, n) with what was read. */
unsigned char *item_reader_space(struct item_reader *r, size_t *space);
void item_reader_added(struct item_reader *r, size_t n);
enum item_next item_reader_next(struct item_reader *r, struct trace_item *it);

#endif
