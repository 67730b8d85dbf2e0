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

/* digits[.digits] into ns, with unit_ns nanoseconds to the unit; exact, or -1. */
static int parse_decimal(const char *s, const char *end, uint64_t unit_ns, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, frac_unit = unit_ns;
	bool digits = false;
	const char *p = s;

	for (; p < end && *p >= '0' && *p <= '9'; p++, digits = true) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits = true) {
			/* A digit below a nanosecond must be 0: exact, or refused. */
			if (frac_unit % 10) {
				if (*p != '0')
					return -1;
				continue;
			}
			frac_unit /= 10;
			frac += (uint64_t)(*p - '0') * frac_unit;
		}
	}
	if (!digits || p != end)
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

		if (len > n + 1 && !strcmp(arg + len - n, units[i].suffix) &&
		    ((before >= '0' && before <= '9') || before == '.'))
			return parse_decimal(arg + 1, arg + len - n, units[i].ns, &at->ns);
	}
	return parse_decimal(arg + 1, arg + len, 1000000000, &at->ns);
}

/* --- event classes ---------------------------------------------------------------- */

enum event_kind {
	K_NONE,
	K_STACK,
	K_TASK_CREATE,
	K_TASK_NAME,
	K_TASK_ENTRY,
	K_SWITCH,
	K_RESUME,
	K_RAISE,
	K_TASK_END,
	K_BIN_INFO,
	K_BUILD_ID,
	K_DEBUG_LINK,
	K_DLOPEN,
	K_DLCLOSE,
};

#define MAX_FIELDS 8

/* The events read, and their members in the order the code below reads them. */
static const struct {
	const char *name;
	enum event_kind kind;
	const char *fields[MAX_FIELDS];
} known_events[] = {
        {"costack:stack", K_STACK, {"id", "frames"}},
        {"costack:task_create",
         K_TASK_CREATE,
         {"task", "parent", "runtime", "state", "entry", "stack_lo", "stack_hi"}},
        {"costack:task_name", K_TASK_NAME, {"task", "name"}},
        {"costack:task_entry", K_TASK_ENTRY, {"task", "entry"}},
        {"costack:switch", K_SWITCH, {"prev", "next", "prev_state", "stack", "truncated"}},
        {"costack:resume", K_RESUME, {"task"}},
        {"costack:raise",
         K_RAISE,
         {"task", "raise", "origin", "forced", "stack", "truncated", "type", "what"}},
        {"costack:task_end", K_TASK_END, {"task", "outcome", "kept_raise"}},
        {"lttng_ust_statedump:bin_info", K_BIN_INFO, {"baddr", "memsz", "path", "is_pic"}},
        {"lttng_ust_statedump:build_id", K_BUILD_ID, {"baddr", "build_id"}},
        {"lttng_ust_statedump:debug_link", K_DEBUG_LINK, {"baddr", "filename"}},
        {"lttng_ust_dl:dlopen", K_DLOPEN, {"baddr", "memsz", "path"}},
        {"lttng_ust_dl:dlmopen", K_DLOPEN, {"baddr", "memsz", "path"}},
        {"lttng_ust_dl:build_id", K_BUILD_ID, {"baddr", "build_id"}},
        {"lttng_ust_dl:debug_link", K_DEBUG_LINK, {"baddr", "filename"}},
        {"lttng_ust_dl:dlclose", K_DLCLOSE, {"baddr"}},
};

struct trace_class {
	enum event_kind kind;
	uint64_t index[MAX_FIELDS];
	bool is_signed[MAX_FIELDS];
	bool has_clock;
	/* the common context's vpid, vtid and procname; -1: absent */
	int64_t vpid, vtid, procname;
	bool vpid_signed, vtid_signed;
};

static bool member_index(const bt_field_class *st, const char *name, uint64_t *index,
                         bool *is_signed)
{
	uint64_t n;

	if (!st || bt_field_class_get_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return false;
	n = bt_field_class_structure_get_member_count(st);
	for (uint64_t i = 0; i < n; i++) {
		const bt_field_class_structure_member *m =
		        bt_field_class_structure_borrow_member_by_index_const(st, i);

		if (!strcmp(bt_field_class_structure_member_get_name(m), name)) {
			const bt_field_class *fc =
			        bt_field_class_structure_member_borrow_field_class_const(m);

			*index = i;
			*is_signed = bt_field_class_type_is(bt_field_class_get_type(fc),
			                                    BT_FIELD_CLASS_TYPE_SIGNED_INTEGER);
			return true;
		}
	}
	return false;
}

/* What an event class is to us, its member indices looked up by name once. */
static struct trace_class *class_of(struct trace_reader *r, const bt_event_class *ec)
{
	struct trace_class *c = hmap_get(&r->classes, (uintptr_t)ec, 0);
	const bt_stream_class *sc;
	const bt_field_class *payload, *context;
	const char *name;
	uint64_t index;
	bool is_signed;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->vpid = c->vtid = c->procname = -1;
	sc = bt_event_class_borrow_stream_class_const(ec);
	c->has_clock = bt_stream_class_borrow_default_clock_class_const(sc) != NULL;
	context = bt_stream_class_borrow_event_common_context_field_class_const(sc);
	if (member_index(context, "vpid", &index, &c->vpid_signed))
		c->vpid = (int64_t)index;
	if (member_index(context, "vtid", &index, &c->vtid_signed))
		c->vtid = (int64_t)index;
	if (member_index(context, "procname", &index, &is_signed))
		c->procname = (int64_t)index;
	name = bt_event_class_get_name(ec);
	payload = bt_event_class_borrow_payload_field_class_const(ec);
	for (size_t k = 0; name && k < sizeof(known_events) / sizeof(*known_events); k++) {
		if (strcmp(known_events[k].name, name))
			continue;
		c->kind = known_events[k].kind;
		for (int i = 0; i < MAX_FIELDS && known_events[k].fields[i]; i++) {
			/* A schema we do not know: not read, rather than misread. */
			if (!member_index(payload, known_events[k].fields[i], &c->index[i],
			                  &c->is_signed[i]))
				c->kind = K_NONE;
		}
		break;
	}
	if (hmap_put(&r->classes, (uintptr_t)ec, 0, c)) {
		free(c);
		return NULL;
	}
	return c;
}

/* --- fields ------------------------------------------------------------------------ */

static const bt_field *member(const bt_field *st, const struct trace_class *c, int i)
{
	return bt_field_structure_borrow_member_field_by_index_const(st, c->index[i]);
}

static uint64_t int_value(const bt_field *f, bool is_signed)
{
	return is_signed ? (uint64_t)bt_field_integer_signed_get_value(f)
	                 : bt_field_integer_unsigned_get_value(f);
}

static uint64_t u(const bt_field *st, const struct trace_class *c, int i)
{
	return int_value(member(st, c, i), c->is_signed[i]);
}

static const char *str(const bt_field *st, const struct trace_class *c, int i)
{
	const bt_field *f = member(st, c, i);

	return bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_STRING
	               ? bt_field_string_get_value(f)
	               : NULL;
}

/* The unsigned integers of an array member, into r->frames; their count, or -1. */
static int64_t array(struct trace_reader *r, const bt_field *st, const struct trace_class *c, int i)
{
	const bt_field *f = member(st, c, i);
	uint64_t n;

	if (!bt_field_class_type_is(bt_field_get_class_type(f), BT_FIELD_CLASS_TYPE_ARRAY))
		return -1;
	n = bt_field_array_get_length(f);
	if (n > UINT32_MAX)
		return -1;
	if (n > r->frames_cap) {
		uint64_t *frames = realloc(r->frames, n * sizeof(*frames));

		if (!frames)
			return -1;
		r->frames = frames;
		r->frames_cap = (uint32_t)n;
	}
	for (uint64_t k = 0; k < n; k++) {
		const bt_field *e = bt_field_array_borrow_element_field_by_index_const(f, k);
		bt_field_class_type type = bt_field_get_class_type(e);

		if (!bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_INTEGER))
			return -1;
		r->frames[k] = int_value(
		        e, bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER));
	}
	return (int64_t)n;
}

/* --- messages ----------------------------------------------------------------------- */

void trace_reader_init(struct trace_reader *r, struct tm_model *m, const struct trace_at *at,
                       bool progress)
{
	struct timespec now;

	memset(r, 0, sizeof(*r));
	r->model = m;
	r->at = *at;
	r->at_known = at->kind != TRACE_AT_OFFSET;
	r->at_ns = at->kind == TRACE_AT_END ? UINT64_MAX : at->ns;
	r->progress = progress;
	clock_gettime(CLOCK_MONOTONIC, &now);
	r->started_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void trace_reader_free(struct trace_reader *r)
{
	for (size_t i = 0; i < r->classes.cap; i++)
		free(r->classes.slots[i].value);
	hmap_free(&r->classes);
	free(r->frames);
	if (r->progress_shown)
		fputs("\r\033[K", stderr);
}

static bool snapshot_ns(const bt_clock_snapshot *cs, uint64_t *ns)
{
	int64_t v;

	if (!cs || bt_clock_snapshot_get_ns_from_origin(cs, &v) !=
	                   BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK)
		return false;
	*ns = v > 0 ? (uint64_t)v : 0;
	return true;
}

static void event(struct trace_reader *r, const bt_message *msg, uint64_t ts)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	const bt_event_class *ec = bt_event_borrow_class_const(ev);
	struct trace_class *c;
	const bt_field *payload, *context;
	struct tm_model *m = r->model;
	struct tm_process *p;
	int32_t pid = 0, tid = 0;
	const char *procname = NULL;
	int64_t n;

	if (ec == r->last_class) {
		c = r->last;
	} else {
		c = class_of(r, ec);
		if (!c) {
			m->out_of_memory = true;
			return;
		}
		r->last_class = ec;
		r->last = c;
	}
	if (c->kind == K_NONE)
		return;
	payload = bt_event_borrow_payload_field_const(ev);
	context = bt_event_borrow_common_context_field_const(ev);
	if (context && c->vpid >= 0)
		pid = (int32_t)int_value(bt_field_structure_borrow_member_field_by_index_const(
		                                 context, (uint64_t)c->vpid),
		                         c->vpid_signed);
	else
		r->no_vpid = true;
	if (context && c->vtid >= 0)
		tid = (int32_t)int_value(bt_field_structure_borrow_member_field_by_index_const(
		                                 context, (uint64_t)c->vtid),
		                         c->vtid_signed);
	switch (c->kind) {
	case K_BIN_INFO:
		tm_on_module(m, pid, ts, u(payload, c, 0), u(payload, c, 1), str(payload, c, 2),
		             u(payload, c, 3) != 0);
		return;
	case K_DLOPEN:
		tm_on_module(m, pid, ts, u(payload, c, 0), u(payload, c, 1), str(payload, c, 2),
		             true);
		return;
	case K_BUILD_ID:
		n = array(r, payload, c, 1);
		if (n > 0) {
			uint8_t id[64];

			for (int64_t k = 0; k < n && k < 64; k++)
				id[k] = (uint8_t)r->frames[k];
			tm_on_build_id(m, pid, u(payload, c, 0), id, (uint32_t)(n < 64 ? n : 64));
		}
		return;
	case K_DEBUG_LINK:
		tm_on_debug_link(m, pid, u(payload, c, 0), str(payload, c, 1));
		return;
	case K_DLCLOSE:
		tm_on_dlclose(m, pid, ts, u(payload, c, 0));
		return;
	default:
		break;
	}
	if (context && c->procname >= 0) {
		const bt_field *f = bt_field_structure_borrow_member_field_by_index_const(
		        context, (uint64_t)c->procname);

		if (bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_STRING)
			procname = bt_field_string_get_value(f);
	}
	m->events++; /* a costack event */
	p = tm_process_of(m, pid, tid, procname);
	if (!p)
		return;
	switch (c->kind) {
	case K_STACK:
		n = array(r, payload, c, 1);
		if (n >= 0)
			tm_on_stack(m, p, u(payload, c, 0), r->frames, (uint32_t)n);
		break;
	case K_TASK_CREATE:
		tm_on_task_create(m, p, ts, tid, u(payload, c, 0), u(payload, c, 1),
		                  (int)u(payload, c, 2), (int)u(payload, c, 3), u(payload, c, 4),
		                  u(payload, c, 5), u(payload, c, 6));
		break;
	case K_TASK_NAME:
		tm_on_task_name(m, p, ts, u(payload, c, 0), str(payload, c, 1));
		break;
	case K_TASK_ENTRY:
		tm_on_task_entry(m, p, ts, u(payload, c, 0), u(payload, c, 1));
		break;
	case K_SWITCH:
		tm_on_switch(m, p, ts, tid, u(payload, c, 0), u(payload, c, 1),
		             (int)u(payload, c, 2), u(payload, c, 3), u(payload, c, 4) != 0);
		break;
	case K_RESUME:
		tm_on_resume(m, p, ts, tid, u(payload, c, 0));
		break;
	case K_RAISE:
		tm_on_raise(m, p, ts, tid, u(payload, c, 0), u(payload, c, 1), u(payload, c, 2),
		            u(payload, c, 3) != 0, u(payload, c, 4), u(payload, c, 5) != 0,
		            str(payload, c, 6), str(payload, c, 7));
		break;
	case K_TASK_END:
		tm_on_task_end(m, p, ts, u(payload, c, 0), (int)u(payload, c, 1), u(payload, c, 2));
		break;
	default:
		break;
	}
}

/* The time of a message, if it has one. */
static bool message_time(const bt_message *msg, uint64_t *ns)
{
	const bt_stream_class *sc;

	switch (bt_message_get_type(msg)) {
	case BT_MESSAGE_TYPE_EVENT:
		return bt_message_event_borrow_stream_class_default_clock_class_const(msg) &&
		       snapshot_ns(bt_message_event_borrow_default_clock_snapshot_const(msg), ns);
	case BT_MESSAGE_TYPE_PACKET_BEGINNING:
		sc = bt_stream_borrow_class_const(bt_packet_borrow_stream_const(
		        bt_message_packet_beginning_borrow_packet_const(msg)));
		return bt_stream_class_packets_have_beginning_default_clock_snapshot(sc) &&
		       snapshot_ns(
		               bt_message_packet_beginning_borrow_default_clock_snapshot_const(msg),
		               ns);
	case BT_MESSAGE_TYPE_PACKET_END:
		sc = bt_stream_borrow_class_const(bt_packet_borrow_stream_const(
		        bt_message_packet_end_borrow_packet_const(msg)));
		return bt_stream_class_packets_have_end_default_clock_snapshot(sc) &&
		       snapshot_ns(bt_message_packet_end_borrow_default_clock_snapshot_const(msg),
		                   ns);
	case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
		sc = bt_stream_borrow_class_const(
		        bt_message_discarded_events_borrow_stream_const(msg));
		return bt_stream_class_discarded_events_have_default_clock_snapshots(sc) &&
		       snapshot_ns(
		               bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(
		                       msg),
		               ns);
	case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
		sc = bt_stream_borrow_class_const(
		        bt_message_discarded_packets_borrow_stream_const(msg));
		return bt_stream_class_discarded_packets_have_default_clock_snapshots(sc) &&
		       snapshot_ns(
		               bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(
		                       msg),
		               ns);
	default:
		return false;
	}
}

static void lost(struct trace_reader *r, const bt_message *msg, uint64_t begin)
{
	bool packets = bt_message_get_type(msg) == BT_MESSAGE_TYPE_DISCARDED_PACKETS;
	const bt_stream *stream;
	const bt_clock_snapshot *cs = NULL;
	uint64_t end = begin, count = 0;

	if (packets) {
		stream = bt_message_discarded_packets_borrow_stream_const(msg);
		if (bt_stream_class_discarded_packets_have_default_clock_snapshots(
		            bt_stream_borrow_class_const(stream)))
			cs = bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(
			        msg);
		if (bt_message_discarded_packets_get_count(msg, &count) !=
		    BT_PROPERTY_AVAILABILITY_AVAILABLE)
			count = 0;
	} else {
		stream = bt_message_discarded_events_borrow_stream_const(msg);
		if (bt_stream_class_discarded_events_have_default_clock_snapshots(
		            bt_stream_borrow_class_const(stream)))
			cs = bt_message_discarded_events_borrow_end_default_clock_snapshot_const(
			        msg);
		if (bt_message_discarded_events_get_count(msg, &count) !=
		    BT_PROPERTY_AVAILABILITY_AVAILABLE)
			count = 0;
	}
	if (!snapshot_ns(cs, &end))
		end = begin;
	tm_on_lost(r->model, begin, end, count, packets, bt_stream_get_name(stream));
}

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

int trace_reader_message(struct trace_reader *r, const bt_message *msg)
{
	bt_message_type type = bt_message_get_type(msg);
	uint64_t ts;
	bool timed = message_time(msg, &ts);

	if (r->passed)
		return 1;
	r->messages++;
	if (r->progress && !(r->messages & 0xffff))
		show_progress(r);
	if (timed) {
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
	switch (type) {
	case BT_MESSAGE_TYPE_EVENT:
		event(r, msg, ts);
		break;
	case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
	case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
		lost(r, msg, ts);
		break;
	default:
		break;
	}
	if (r->model->out_of_memory) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -1;
	}
	return 0;
}

bt_component_class_sink_consume_method_status trace_reader_consume(struct trace_reader *r,
                                                                   bt_message_iterator *it)
{
	bt_message_array_const msgs;
	uint64_t count = 0;
	int rc = 0;

	switch (bt_message_iterator_next(it, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
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
		snprintf(r->error, sizeof(r->error), "the trace has no events");
		return -1;
	}
	if (r->at.kind == TRACE_AT_END) {
		*at_ns = r->last_ns;
		return 0;
	}
	if (r->at_ns < r->first_ns) {
		snprintf(
		        r->error, sizeof(r->error),
		        "--at %s is before the trace's start (%s); TIME is seconds since the epoch "
		        "or +OFFSET from the start",
		        format_timestamp(r->at_ns, a, sizeof(a)),
		        format_timestamp(r->first_ns, b, sizeof(b)));
		return -1;
	}
	if (!r->passed && r->at_ns > r->last_ns) {
		char d[16];

		snprintf(r->error, sizeof(r->error), "--at %s is after the trace's end (%s, +%s)",
		         format_timestamp(r->at_ns, a, sizeof(a)),
		         format_timestamp(r->last_ns, b, sizeof(b)),
		         format_duration(r->last_ns - r->first_ns, d, sizeof(d)));
		return -1;
	}
	*at_ns = r->at_ns;
	return 0;
}
