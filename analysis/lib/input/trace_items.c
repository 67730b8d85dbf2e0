/* SPDX-License-Identifier: MIT */
/* trace_items.c - trace items as bytes: what the process running babeltrace2 sends the process
 * feeding the model. */
#include "trace_items.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITE_BUFFER (512 * 1024)
#define READ_SPACE (64 * 1024)
#define FLUSH_EVERY_NS 100000000u /* while items come slowly, the reader still hears */

enum record {
	RECORD_END = 0xf0,
	RECORD_ERROR = 0xf1,
};

enum flags {
	F_TIMED = 1,
	F_TS_DELTA = 2, /* the time as 32 bits past the previous one's */
	F_NO_VPID = 4,
	F_PROCNAME_NEW = 8,   /* a procname follows */
	F_PROCNAME_SAME = 16, /* the previous procname */
	F_SAME_PID = 32,      /* the previous event's pid */
	F_SAME_TID = 64,      /* the previous event's tid */
};

/* An integer's width, 2 bits of a record's widths: 0 (the value 0), 1, 4 or 8 bytes. */
static unsigned width_of(uint64_t v)
{
	return !v ? 0 : v <= UINT8_MAX ? 1 : v <= UINT32_MAX ? 2 : 3;
}

static const uint8_t width_bytes[4] = {0, 1, 4, 8};

static bool is_event(enum trace_item_kind kind)
{
	return kind != TRACE_ITEM_TIME && kind != TRACE_ITEM_LOST;
}

/* --- writing ------------------------------------------------------------------------- */

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int item_writer_init(struct item_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cap = WRITE_BUFFER;
	w->buf = malloc(w->cap);
	w->flushed_ns = monotonic_ns();
	return w->buf ? 0 : -1;
}

void item_writer_free(struct item_writer *w)
{
	free(w->buf);
	free(w->procname);
	memset(w, 0, sizeof(*w));
}

static int flush(struct item_writer *w)
{
	size_t done = 0;

	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	w->len = 0;
	w->flushed_ns = monotonic_ns();
	return 0;
}

/* Room for need more bytes; -1 when out of memory. */
static int room(struct item_writer *w, size_t need)
{
	unsigned char *buf;
	size_t cap = w->cap;

	if (w->len + need <= w->cap)
		return 0;
	while (cap < w->len + need)
		cap *= 2;
	buf = realloc(w->buf, cap);
	if (!buf)
		return -1;
	w->buf = buf;
	w->cap = cap;
	return 0;
}

static void put(struct item_writer *w, const void *v, size_t n)
{
	memcpy(w->buf + w->len, v, n);
	w->len += n;
}

/* An integer in its width (width_of): copies of a known size, which the compiler makes
 * single stores. */
static inline void put_int(struct item_writer *w, uint64_t v, unsigned width)
{
	unsigned char *to = w->buf + w->len;
	uint32_t v32 = (uint32_t)v;

	switch (width) {
	case 0:
		return;
	case 1:
		*to = (unsigned char)v;
		break;
	case 2:
		memcpy(to, &v32, sizeof(v32));
		break;
	default:
		memcpy(to, &v, sizeof(v));
		break;
	}
	w->len += width_bytes[width];
}

/* A string: its length + 1 (0: NULL), then its bytes. */
static int put_string(struct item_writer *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint32_t len = s ? (uint32_t)n + 1 : 0;

	if (n >= UINT32_MAX || room(w, n + sizeof(len)))
		return -1;
	put(w, &len, sizeof(len));
	if (n)
		put(w, s, n);
	return 0;
}

/* The procname flag of it, remembering a new one. */
static int procname_flag(struct item_writer *w, const char *procname, unsigned *flags)
{
	size_t n;

	if (!procname)
		return 0;
	if (w->procname && !strcmp(w->procname, procname)) {
		*flags |= F_PROCNAME_SAME;
		return 0;
	}
	n = strlen(procname) + 1;
	if (n > w->procname_cap) {
		char *copy = realloc(w->procname, n);

		if (!copy)
			return -1;
		w->procname = copy;
		w->procname_cap = n;
	}
	memcpy(w->procname, procname, n);
	*flags |= F_PROCNAME_NEW;
	return 0;
}

int item_writer_put(struct item_writer *w, const struct trace_item *it)
{
	const struct trace_item_shape *shape = &trace_item_shapes[it->kind];
	unsigned flags = it->timed ? F_TIMED : 0;
	uint16_t widths = 0;

	if (room(w, 4 + sizeof(uint64_t) * (3 + TRACE_ITEM_INTS)))
		return -1;
	if (it->timed && it->ts >= w->last_ts && it->ts - w->last_ts <= UINT32_MAX)
		flags |= F_TS_DELTA;
	if (is_event(it->kind)) {
		flags |= it->no_vpid ? F_NO_VPID : 0;
		flags |= w->has_event && it->pid == w->last_pid ? F_SAME_PID : 0;
		flags |= w->has_event && it->tid == w->last_tid ? F_SAME_TID : 0;
		if (procname_flag(w, it->procname, &flags))
			return -1;
	}
	for (int i = 0; i < shape->ints; i++)
		widths |= (uint16_t)(width_of(it->ints[i]) << (2 * i));
	w->buf[w->len++] = (unsigned char)it->kind;
	w->buf[w->len++] = (unsigned char)flags;
	if (shape->ints)
		put(w, &widths, sizeof(widths));
	if (flags & F_TS_DELTA) {
		uint32_t delta = (uint32_t)(it->ts - w->last_ts);

		put(w, &delta, sizeof(delta));
	} else if (it->timed) {
		put(w, &it->ts, sizeof(it->ts));
	}
	if (it->timed)
		w->last_ts = it->ts;
	if (is_event(it->kind)) {
		if (!(flags & F_SAME_PID))
			put(w, &it->pid, sizeof(it->pid));
		if (!(flags & F_SAME_TID))
			put(w, &it->tid, sizeof(it->tid));
		w->has_event = true;
		w->last_pid = it->pid;
		w->last_tid = it->tid;
	}
	for (int i = 0; i < shape->ints; i++)
		put_int(w, it->ints[i], (widths >> (2 * i)) & 3);
	if ((flags & F_PROCNAME_NEW) && put_string(w, it->procname))
		return -1;
	for (int i = 0; i < shape->strings; i++)
		if (put_string(w, it->strings[i]))
			return -1;
	if (shape->array) {
		if (room(w, sizeof(it->narray) + (size_t)it->narray * sizeof(*it->array)))
			return -1;
		put(w, &it->narray, sizeof(it->narray));
		if (it->narray)
			put(w, it->array, it->narray * sizeof(*it->array));
	}
	if (w->len >= WRITE_BUFFER)
		return flush(w);
	/* Slow items (a slow disk, a long trace of other events): the reader hears of
	 * progress anyway. */
	if (++w->since_clock >= 1024) {
		w->since_clock = 0;
		if (monotonic_ns() - w->flushed_ns >= FLUSH_EVERY_NS)
			return flush(w);
	}
	return 0;
}

int item_writer_end(struct item_writer *w)
{
	if (room(w, 1))
		return -1;
	w->buf[w->len++] = RECORD_END;
	return flush(w);
}

int item_writer_error(struct item_writer *w, const char *message)
{
	if (room(w, 1))
		return -1;
	w->buf[w->len++] = RECORD_ERROR;
	if (put_string(w, message))
		return -1;
	return flush(w);
}

/* --- reading ------------------------------------------------------------------------- */

int item_reader_init(struct item_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->cap = 4 * READ_SPACE;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -1;
}

void item_reader_free(struct item_reader *r)
{
	free(r->buf);
	free(r->procname);
	free(r->array);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

unsigned char *item_reader_space(struct item_reader *r, size_t *space)
{
	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->cap - r->len < READ_SPACE) {
		/* A record longer than the buffer (a long string): it grows. */
		unsigned char *buf = realloc(r->buf, 2 * r->cap);

		if (!buf)
			return NULL;
		r->buf = buf;
		r->cap *= 2;
	}
	*space = r->cap - r->len;
	return r->buf + r->len;
}

void item_reader_added(struct item_reader *r, size_t n)
{
	r->len += n;
}

/* A cursor over the bytes of one record. */
struct cursor {
	const unsigned char *p, *end;
	bool short_; /* ran past the end: the record is not whole yet */
};

/* n bytes into v; zeroes and short_ past the end. */
static void get(struct cursor *c, void *v, size_t n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->short_ = true;
		c->p = c->end;
		memset(v, 0, n);
		return;
	}
	memcpy(v, c->p, n);
	c->p += n;
}

/* An integer of width (width_of); 0 and short_ past the end. */
static inline uint64_t get_int(struct cursor *c, unsigned width)
{
	uint64_t v = 0;
	uint32_t v32;

	if ((size_t)(c->end - c->p) < width_bytes[width]) {
		c->short_ = true;
		c->p = c->end;
		return 0;
	}
	switch (width) {
	case 0:
		return 0;
	case 1:
		v = *c->p;
		break;
	case 2:
		memcpy(&v32, c->p, sizeof(v32));
		v = v32;
		break;
	default:
		memcpy(&v, c->p, sizeof(v));
		break;
	}
	c->p += width_bytes[width];
	return v;
}

/* A string in place (not NUL-terminated yet), its length in *n; NULL for NULL. */
static const char *get_string(struct cursor *c, size_t *n)
{
	uint32_t len;

	get(c, &len, sizeof(len));
	*n = 0;
	if (c->short_ || !len)
		return NULL;
	if (len - 1 > (size_t)(c->end - c->p)) {
		c->short_ = true;
		return NULL;
	}
	*n = len - 1;
	c->p += len - 1;
	return (const char *)c->p - (len - 1);
}

/* s (of n bytes, at a string's place in the buffer) NUL-terminated: it moves back over the last
 * byte of its length. */
static const char *terminate(const char *s, size_t n)
{
	char *to;

	if (!s)
		return NULL;
	to = (char *)s - 1;
	memmove(to, s, n);
	to[n] = '\0';
	return to;
}

enum item_next item_reader_next(struct item_reader *r, struct trace_item *it)
{
	struct cursor c = {r->buf + r->start, r->buf + r->len, false};
	const struct trace_item_shape *shape;
	const char *strings[TRACE_ITEM_STRINGS + 1];
	size_t lengths[TRACE_ITEM_STRINGS + 1];
	uint16_t widths = 0;
	unsigned kind, flags;
	int nstrings = 0;

	if (c.p >= c.end)
		return ITEM_MORE;
	kind = *c.p++;
	if (kind == RECORD_END) {
		r->start++;
		return ITEM_END;
	}
	if (kind == RECORD_ERROR) {
		strings[0] = get_string(&c, &lengths[0]);
		if (c.short_)
			return ITEM_MORE;
		free(r->message);
		r->message = strndup(strings[0] ? strings[0] : "", lengths[0]);
		if (!r->message)
			return ITEM_BAD;
		r->start = (size_t)(c.p - r->buf);
		return ITEM_ERROR;
	}
	if (kind >= TRACE_ITEM_KINDS)
		return ITEM_BAD;
	if (c.p >= c.end)
		return ITEM_MORE;
	flags = *c.p++;
	shape = &trace_item_shapes[kind];
	if (shape->ints)
		get(&c, &widths, sizeof(widths));
	/* Only what the shape does not set: an item is some 150 bytes, most of them unused. */
	it->kind = (enum trace_item_kind)kind;
	it->timed = flags & F_TIMED;
	it->ts = 0;
	it->no_vpid = flags & F_NO_VPID;
	it->procname = NULL;
	it->strings[0] = it->strings[1] = NULL;
	it->array = NULL;
	it->narray = 0;
	if (flags & F_TS_DELTA) {
		uint32_t delta;

		get(&c, &delta, sizeof(delta));
		it->ts = r->last_ts + delta;
	} else if (it->timed) {
		get(&c, &it->ts, sizeof(it->ts));
	}
	it->pid = r->last_pid;
	it->tid = r->last_tid;
	if (is_event(it->kind)) {
		if (!(flags & F_SAME_PID))
			get(&c, &it->pid, sizeof(it->pid));
		if (!(flags & F_SAME_TID))
			get(&c, &it->tid, sizeof(it->tid));
	}
	for (int i = 0; i < shape->ints; i++)
		it->ints[i] = get_int(&c, (widths >> (2 * i)) & 3);
	if (flags & F_PROCNAME_NEW)
		nstrings++;
	nstrings += shape->strings;
	for (int i = 0; i < nstrings; i++)
		strings[i] = get_string(&c, &lengths[i]);
	if (shape->array) {
		uint32_t n;

		get(&c, &n, sizeof(n));
		if (!c.short_ && (size_t)(c.end - c.p) / sizeof(uint64_t) < n)
			c.short_ = true;
		if (!c.short_ && n > r->array_cap) {
			uint64_t *a = realloc(r->array, n * sizeof(*a));

			if (!a)
				return ITEM_BAD;
			r->array = a;
			r->array_cap = n;
		}
		if (!c.short_ && n) {
			get(&c, r->array, n * sizeof(*r->array));
			it->array = r->array;
			it->narray = n;
		}
	}
	if (c.short_)
		return ITEM_MORE;
	for (int i = 0; i < nstrings; i++)
		strings[i] = terminate(strings[i], lengths[i]);
	if (flags & F_PROCNAME_NEW) {
		size_t len = lengths[0] + 1;

		if (!strings[0])
			return ITEM_BAD;
		if (len > r->procname_cap) {
			char *copy = realloc(r->procname, len);

			if (!copy)
				return ITEM_BAD;
			r->procname = copy;
			r->procname_cap = len;
		}
		memcpy(r->procname, strings[0], len);
		r->has_procname = true;
	}
	if (flags & (F_PROCNAME_NEW | F_PROCNAME_SAME))
		it->procname = r->has_procname ? r->procname : NULL;
	for (int i = 0; i < shape->strings; i++)
		it->strings[i] = strings[i + !!(flags & F_PROCNAME_NEW)];
	if (it->timed)
		r->last_ts = it->ts;
	if (is_event(it->kind)) {
		r->last_pid = it->pid;
		r->last_tid = it->tid;
	}
	r->start = (size_t)(c.p - r->buf);
	return ITEM_ITEM;
}
