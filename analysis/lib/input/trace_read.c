/* SPDX-License-Identifier: MIT */
/* trace_read.c - babeltrace2 messages of a costack trace fed to the model, up to a time. */
#define _GNU_SOURCE
#include "trace_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

/* --- TIME ------------------------------------------------------------------------ */

/* DIGITS[.DIGITS] into ns, with unit_ns nanoseconds to the unit; exact, or -1. Digits on both
 * sides of a dot: ".5" and "5." are refused, as README's grammar has them. */
static int parse_decimal(const char *s, const char *end, uint64_t unit_ns, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, frac_unit = unit_ns;
	const char *p = s, *dot;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -1;
	if (p < end && *p == '.') {
		dot = p;
		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			/* A digit below a nanosecond must be 0: exact, or refused. */
			if (frac_unit % 10) {
				if (*p != '0')
					return -1;
				continue;
			}
			frac_unit /= 10;
			frac += (uint64_t)(*p - '0') * frac_unit;
		}
		if (p == dot + 1)
			return -1;
	}
	if (p != end)
		return -1;
	if (whole && unit_ns > UINT64_MAX / whole)
		return -1;
	whole *= unit_ns;
	if (whole > UINT64_MAX - frac)
		return -1;
	*ns = whole + frac;
	return 0;
}

int trace_parse_time(const char *arg, struct trace_at *at)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
	size_t len;

	if (!arg || !*arg)
		return -1;
	len = strlen(arg);
	if (arg[0] != '+') {
		at->kind = TRACE_AT_EPOCH;
		return parse_decimal(arg, arg + len, 1000000000, &at->ns);
	}
	at->kind = TRACE_AT_OFFSET;
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		size_t n = strlen(units[i].suffix);

		char before = len > n + 1 ? arg[len - n - 1] : 0;

		if (len > n + 1 && !strcmp(arg + len - n, units[i].suffix) && before >= '0' &&
		    before <= '9')
			return parse_decimal(arg + 1, arg + len - n, units[i].ns, &at->ns);
	}
	return parse_decimal(arg + 1, arg + len, 1000000000, &at->ns);
}

/* --- the reader ------------------------------------------------------------------- */

struct trace_reader {
	struct tm_model *model;
	struct trace_at at;
	bool at_known;  /* at_ns resolved (an offset: once the start is seen) */
	uint64_t at_ns; /* UINT64_MAX: the end */
	bool passed;    /* a message after at came: the rest is not needed */
	bool has_time;
	uint64_t first_ns, last_ns;   /* of the timed messages seen */
	bool no_vpid;                 /* costack events without the vpid context */
	struct trace_decoder decoder; /* trace_reader_message's */
	/* progress on stderr (a terminal, a long trace) */
	bool progress;
	uint64_t messages;
	uint64_t started_ns;
	bool progress_shown;
	bool failed; /* trace_reader_consume met an error of the reader's own (error) */
	char error[512];
};

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* After a second of reading, a line on stderr every quarter of a second. */
static void show_progress(struct trace_reader *r)
{
	uint64_t now = monotonic_ns();
	char offset[32];

	if (now - r->started_ns < 1000000000u)
		return;
	r->progress_shown = true;
	format_duration(r->last_ns - r->first_ns, offset, sizeof(offset));
	fprintf(stderr, "\r\033[Kcostack: reading the trace: %.1fM events, %s into it",
	        (double)r->messages / 1e6, offset);
	r->started_ns = now - 750000000u; /* next in 0.25 s */
}

struct trace_reader *trace_reader_new(struct tm_model *m, const struct trace_at *at, bool progress)
{
	struct trace_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->model = m;
	r->at = *at;
	r->at_known = at->kind != TRACE_AT_OFFSET;
	r->at_ns = at->kind == TRACE_AT_END ? UINT64_MAX : at->ns;
	r->progress = progress;
	r->started_ns = monotonic_ns();
	trace_decoder_init(&r->decoder);
	return r;
}

void trace_reader_free(struct trace_reader *r)
{
	if (!r)
		return;
	trace_decoder_free(&r->decoder);
	if (r->progress_shown)
		fputs("\r\033[K", stderr);
	free(r);
}

const char *trace_reader_error(const struct trace_reader *r)
{
	return r->error;
}

bool trace_reader_failed(const struct trace_reader *r)
{
	return r->failed;
}

bool trace_reader_no_vpid(const struct trace_reader *r)
{
	return r->no_vpid;
}

/* An event of the costack provider or a module event, to the model at ts. */
static void event(struct trace_reader *r, const struct trace_item *it, uint64_t ts)
{
	struct tm_model *m = r->model;
	const uint64_t *v = it->ints;
	struct tm_process *p;

	switch (it->kind) {
	case TRACE_ITEM_BIN_INFO:
		tm_on_module(m, it->pid, ts, v[0], v[1], it->strings[0], v[2] != 0);
		return;
	case TRACE_ITEM_DLOPEN:
		tm_on_module(m, it->pid, ts, v[0], v[1], it->strings[0], true);
		return;
	case TRACE_ITEM_BUILD_ID:
		if (it->narray > 0 && it->narray <= 64) {
			uint8_t id[64];

			for (uint32_t k = 0; k < it->narray; k++)
				id[k] = (uint8_t)it->array[k];
			tm_on_build_id(m, it->pid, v[0], id, it->narray);
		}
		return;
	case TRACE_ITEM_DEBUG_LINK:
		tm_on_debug_link(m, it->pid, v[0], it->strings[0]);
		return;
	case TRACE_ITEM_DLCLOSE:
		tm_on_dlclose(m, it->pid, ts, v[0]);
		return;
	default:
		break;
	}
	r->no_vpid |= it->no_vpid;
	m->events++; /* a costack event */
	p = tm_process_of(m, it->pid, it->tid, it->procname);
	if (!p)
		return;
	switch (it->kind) {
	case TRACE_ITEM_STACK:
		tm_on_stack(m, p, v[0], it->array, it->narray);
		break;
	case TRACE_ITEM_TASK_CREATE:
		tm_on_task_create(m, p, ts, it->tid, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
		break;
	case TRACE_ITEM_TASK_NAME:
		tm_on_task_name(m, p, ts, v[0], it->strings[0]);
		break;
	case TRACE_ITEM_TASK_ENTRY:
		tm_on_task_entry(m, p, ts, v[0], v[1]);
		break;
	case TRACE_ITEM_SWITCH:
		tm_on_switch(m, p, ts, it->tid, v[0], v[1], v[2], v[3], v[4] != 0);
		break;
	case TRACE_ITEM_RESUME:
		tm_on_resume(m, p, ts, it->tid, v[0]);
		break;
	case TRACE_ITEM_RAISE:
		tm_on_raise(m, p, ts, it->tid, v[0], v[1], v[2], v[3] != 0, v[4], v[5] != 0,
		            it->strings[0], it->strings[1]);
		break;
	case TRACE_ITEM_TASK_END:
		tm_on_task_end(m, p, ts, v[0], v[1], v[2]);
		break;
	default:
		break;
	}
}

int trace_reader_feed(struct trace_reader *r, const struct trace_item *it)
{
	uint64_t ts = it->ts;

	if (r->passed)
		return 1;
	r->messages++;
	if (r->progress && !(r->messages & 0xffff))
		show_progress(r);
	if (it->timed) {
		if (!r->has_time) {
			r->has_time = true;
			r->first_ns = ts;
			if (!r->at_known) {
				r->at_known = true;
				r->at_ns = ts + r->at.ns < ts ? UINT64_MAX - 1 : ts + r->at.ns;
			}
		}
		if (ts > r->at_ns) {
			r->passed = true;
			return 1;
		}
		if (ts > r->last_ns)
			r->last_ns = ts;
		tm_on_time(r->model, ts);
	} else {
		ts = r->last_ns;
	}
	if (it->kind == TRACE_ITEM_LOST)
		tm_on_lost(r->model, ts, it->ints[2] ? it->ints[1] : ts, it->ints[0],
		           it->ints[3] != 0, it->strings[0]);
	else if (it->kind != TRACE_ITEM_TIME)
		event(r, it, ts);
	if (r->model->out_of_memory) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -1;
	}
	return 0;
}

int trace_reader_message(struct trace_reader *r, const bt_message *msg)
{
	struct trace_item item;

	switch (trace_decode(&r->decoder, msg, &item)) {
	case 1:
		return trace_reader_feed(r, &item);
	case 0:
		return r->passed;
	default:
		snprintf(r->error, sizeof(r->error), "%s", r->decoder.error);
		return -1;
	}
}

bt_component_class_sink_consume_method_status
trace_next_messages(bt_message_iterator *it, bt_message_array_const *msgs, uint64_t *count)
{
	*count = 0;
	switch (bt_message_iterator_next(it, msgs, count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
}

bt_component_class_sink_consume_method_status trace_reader_consume(struct trace_reader *r,
                                                                   bt_message_iterator *it)
{
	bt_message_array_const msgs;
	uint64_t count;
	int rc = 0;
	bt_component_class_sink_consume_method_status status =
	        trace_next_messages(it, &msgs, &count);

	if (status != BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK)
		return status;
	for (uint64_t i = 0; i < count; i++) {
		if (!rc)
			rc = trace_reader_message(r, msgs[i]);
		bt_message_put_ref(msgs[i]);
	}
	if (rc < 0) {
		r->failed = true;
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return rc > 0 ? BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END
	              : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

int trace_reader_end(struct trace_reader *r, uint64_t *at_ns)
{
	char a[32], b[32];

	if (!r->has_time) {
		snprintf(r->error, sizeof(r->error), "it has no events");
		return -1;
	}
	if (r->at.kind == TRACE_AT_END) {
		*at_ns = r->last_ns;
		tm_model_tell_open(r->model);
		return 0;
	}
	if (r->at_ns < r->first_ns) {
		snprintf(
		        r->error, sizeof(r->error),
		        "--at %s is before the trace's start (%s); TIME is seconds since the epoch "
		        "or +OFFSET from the start",
		        format_timestamp(r->at_ns, a, sizeof(a)),
		        format_timestamp(r->first_ns, b, sizeof(b)));
		return 1;
	}
	if (!r->passed && r->at_ns > r->last_ns) {
		char d[16];

		snprintf(r->error, sizeof(r->error), "--at %s is after the trace's end (%s, +%s)",
		         format_timestamp(r->at_ns, a, sizeof(a)),
		         format_timestamp(r->last_ns, b, sizeof(b)),
		         format_duration(r->last_ns - r->first_ns, d, sizeof(d)));
		return 1;
	}
	*at_ns = r->at_ns;
	tm_model_tell_open(r->model);
	return 0;
}
