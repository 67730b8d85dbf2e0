/* SPDX-License-Identifier: MIT */
/* trace_decode.c - babeltrace2 messages to trace items: the fields the model reads, each checked
 * against the schema. */
#define _GNU_SOURCE
#include "trace_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the schema -------------------------------------------------------------------- */

#define MAX_FIELDS 8

/*
 * The events read, and their fields in the order of the item: 'u' an integer
 * (into ints), 's' a string (into strings), 'a' an array of integers (the
 * item's array). Fields are looked up by name: a trace of a newer schema
 * that added fields is read, one that lacks a field or changed its type is
 * refused rather than misread.
 */
static const struct {
	const char *name;
	enum trace_item_kind kind;
	const char *types;
	const char *fields[MAX_FIELDS];
} known_events[] = {
        {"costack:stack", TRACE_ITEM_STACK, "ua", {"id", "frames"}},
        {"costack:task_create",
         TRACE_ITEM_TASK_CREATE,
         "uuuuuuu",
         {"task", "parent", "runtime", "state", "entry", "stack_lo", "stack_hi"}},
        {"costack:task_name", TRACE_ITEM_TASK_NAME, "us", {"task", "name"}},
        {"costack:task_entry", TRACE_ITEM_TASK_ENTRY, "uu", {"task", "entry"}},
        /* truncated: prev_state's bit 7, or a field of its own (traces of costack 0.2) */
        {"costack:switch", TRACE_ITEM_SWITCH, "uuuu", {"prev", "next", "prev_state", "stack"}},
        {"costack:resume", TRACE_ITEM_RESUME, "u", {"task"}},
        {"costack:raise",
         TRACE_ITEM_RAISE,
         "uuuuuuss",
         {"task", "raise", "origin", "forced", "stack", "truncated", "type", "what"}},
        {"costack:task_end", TRACE_ITEM_TASK_END, "uuu", {"task", "outcome", "kept_raise"}},
        {"lttng_ust_statedump:bin_info",
         TRACE_ITEM_BIN_INFO,
         "uusu",
         {"baddr", "memsz", "path", "is_pic"}},
        {"lttng_ust_statedump:build_id", TRACE_ITEM_BUILD_ID, "ua", {"baddr", "build_id"}},
        {"lttng_ust_statedump:debug_link", TRACE_ITEM_DEBUG_LINK, "us", {"baddr", "filename"}},
        {"lttng_ust_dl:dlopen", TRACE_ITEM_DLOPEN, "uus", {"baddr", "memsz", "path"}},
        {"lttng_ust_dl:dlmopen", TRACE_ITEM_DLOPEN, "uus", {"baddr", "memsz", "path"}},
        {"lttng_ust_dl:build_id", TRACE_ITEM_BUILD_ID, "ua", {"baddr", "build_id"}},
        {"lttng_ust_dl:debug_link", TRACE_ITEM_DEBUG_LINK, "us", {"baddr", "filename"}},
        {"lttng_ust_dl:dlclose", TRACE_ITEM_DLCLOSE, "u", {"baddr"}},
};

const struct trace_item_shape trace_item_shapes[TRACE_ITEM_KINDS] = {
        [TRACE_ITEM_TIME] = {0, 0, false},        [TRACE_ITEM_STACK] = {1, 0, true},
        [TRACE_ITEM_TASK_CREATE] = {7, 0, false}, [TRACE_ITEM_TASK_NAME] = {1, 1, false},
        [TRACE_ITEM_TASK_ENTRY] = {2, 0, false},  [TRACE_ITEM_SWITCH] = {5, 0, false},
        [TRACE_ITEM_RESUME] = {1, 0, false},      [TRACE_ITEM_RAISE] = {6, 2, false},
        [TRACE_ITEM_TASK_END] = {3, 0, false},    [TRACE_ITEM_BIN_INFO] = {3, 1, false},
        [TRACE_ITEM_DLOPEN] = {2, 1, false},      [TRACE_ITEM_BUILD_ID] = {1, 0, true},
        [TRACE_ITEM_DEBUG_LINK] = {1, 1, false},  [TRACE_ITEM_DLCLOSE] = {1, 0, false},
        [TRACE_ITEM_LOST] = {4, 1, false},
};

/* A member of a structure the decoder reads: its index, and what to read it as. */
struct member {
	uint64_t index;
	char type; /* 'u', 's', 'a'; 0: absent */
	bool is_signed;
	bool elements_signed;
};

struct trace_class {
	enum trace_item_kind kind; /* TRACE_ITEM_TIME: an event the model does not read */
	bool has_clock;
	struct member fields[MAX_FIELDS];
	/* the common context's vpid, vtid and procname */
	struct member vpid, vtid, procname;
	/* Without the contexts vpid and procname (costack record's per-process buffers): the
	 * vpid and procname of the trace's environment, read at the class's first event. */
	bool env_read, env_vpid_known;
	int32_t env_vpid;
	const char *env_procname;
	struct member truncated; /* a switch's own field truncated (older traces) */
};

static const char *type_name(bt_field_class_type t)
{
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_INTEGER))
		return "an integer";
	if (t == BT_FIELD_CLASS_TYPE_STRING)
		return "a string";
	if (t == BT_FIELD_CLASS_TYPE_STRUCTURE)
		return "a structure";
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_ARRAY))
		return "an array";
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_VARIANT))
		return "a variant";
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_OPTION))
		return "an option";
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_REAL))
		return "a real number";
	if (t == BT_FIELD_CLASS_TYPE_BOOL)
		return "a boolean";
	if (t == BT_FIELD_CLASS_TYPE_BIT_ARRAY)
		return "a bit array";
	return "of another type";
}

static const char *wanted_name(char type)
{
	return type == 'u' ? "an integer" : type == 's' ? "a string" : "an array of integers";
}

/*
 * Look name up in the structure class st and check it is of type. 1: found
 * and right (*m filled); 0: absent; -1: of another type (d->error says so,
 * for the event named event).
 */
static int find_member(struct trace_decoder *d, const char *event, const bt_field_class *st,
                       const char *name, char type, struct member *m)
{
	uint64_t n;

	memset(m, 0, sizeof(*m));
	if (!st || bt_field_class_get_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return 0;
	n = bt_field_class_structure_get_member_count(st);
	for (uint64_t i = 0; i < n; i++) {
		const bt_field_class_structure_member *sm =
		        bt_field_class_structure_borrow_member_by_index_const(st, i);
		const bt_field_class *fc;
		bt_field_class_type t;
		bool ok;

		if (strcmp(bt_field_class_structure_member_get_name(sm), name))
			continue;
		fc = bt_field_class_structure_member_borrow_field_class_const(sm);
		t = bt_field_class_get_type(fc);
		if (type == 'u') {
			ok = bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_INTEGER);
			m->is_signed =
			        bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER);
		} else if (type == 's') {
			ok = t == BT_FIELD_CLASS_TYPE_STRING;
		} else {
			const bt_field_class *e =
			        bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_ARRAY)
			                ? bt_field_class_array_borrow_element_field_class_const(fc)
			                : NULL;

			ok = e && bt_field_class_type_is(bt_field_class_get_type(e),
			                                 BT_FIELD_CLASS_TYPE_INTEGER);
			if (ok)
				m->elements_signed =
				        bt_field_class_type_is(bt_field_class_get_type(e),
				                               BT_FIELD_CLASS_TYPE_SIGNED_INTEGER);
		}
		if (!ok) {
			snprintf(d->error, sizeof(d->error),
			         "the field `%s` of event %s is %s, not %s: not a trace of "
			         "costack's "
			         "schema (or its metadata is corrupt)",
			         name, event, type_name(t), wanted_name(type));
			return -1;
		}
		m->index = i;
		m->type = type;
		return 1;
	}
	return 0;
}

/* What an event class is to us, its members looked up and checked once; NULL on error. */
static struct trace_class *class_of(struct trace_decoder *d, const bt_event_class *ec)
{
	struct trace_class *c = hmap_get(&d->classes, (uintptr_t)ec, 0);
	const bt_stream_class *sc;
	const bt_field_class *payload, *context;
	const char *name = bt_event_class_get_name(ec);
	const char *shown = name ? name : "(unnamed)";

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(d->error, sizeof(d->error), "out of memory");
		return NULL;
	}
	c->kind = TRACE_ITEM_TIME;
	sc = bt_event_class_borrow_stream_class_const(ec);
	c->has_clock = bt_stream_class_borrow_default_clock_class_const(sc) != NULL;
	payload = bt_event_class_borrow_payload_field_class_const(ec);
	for (size_t k = 0; name && k < sizeof(known_events) / sizeof(*known_events); k++) {
		if (strcmp(known_events[k].name, name))
			continue;
		context = bt_stream_class_borrow_event_common_context_field_class_const(sc);
		if (find_member(d, shown, context, "vpid", 'u', &c->vpid) < 0 ||
		    find_member(d, shown, context, "vtid", 'u', &c->vtid) < 0 ||
		    find_member(d, shown, context, "procname", 's', &c->procname) < 0)
			goto fail;
		for (int i = 0; known_events[k].types[i]; i++) {
			int found = find_member(d, shown, payload, known_events[k].fields[i],
			                        known_events[k].types[i], &c->fields[i]);

			if (found < 0)
				goto fail;
			if (!found) {
				snprintf(d->error, sizeof(d->error),
				         "event %s has no field `%s`: not a trace of costack's "
				         "schema "
				         "(or its metadata is corrupt)",
				         shown, known_events[k].fields[i]);
				goto fail;
			}
		}
		c->kind = known_events[k].kind;
		if (c->kind == TRACE_ITEM_SWITCH &&
		    find_member(d, shown, payload, "truncated", 'u', &c->truncated) < 0)
			goto fail;
		break;
	}
	if (hmap_put(&d->classes, (uintptr_t)ec, 0, c)) {
		snprintf(d->error, sizeof(d->error), "out of memory");
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

void trace_decoder_init(struct trace_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void trace_decoder_free(struct trace_decoder *d)
{
	for (size_t i = 0; i < d->classes.cap; i++)
		free(d->classes.slots[i].value);
	hmap_free(&d->classes);
	free(d->frames);
	memset(d, 0, sizeof(*d));
}

/* --- fields -------------------------------------------------------------------------- */

static const bt_field *field_of(const bt_field *st, const struct member *m)
{
	return bt_field_structure_borrow_member_field_by_index_const(st, m->index);
}

static uint64_t int_value(const bt_field *f, bool is_signed)
{
	return is_signed ? (uint64_t)bt_field_integer_signed_get_value(f)
	                 : bt_field_integer_unsigned_get_value(f);
}

/* The integers of an array member, into d->frames; false when out of memory. */
static bool array_of(struct trace_decoder *d, const bt_field *f, const struct member *m,
                     uint32_t *count)
{
	uint64_t n = bt_field_array_get_length(f);

	if (n > UINT32_MAX)
		return false;
	if (n > d->frames_cap) {
		uint64_t *frames = realloc(d->frames, n * sizeof(*frames));

		if (!frames)
			return false;
		d->frames = frames;
		d->frames_cap = (uint32_t)n;
	}
	for (uint64_t k = 0; k < n; k++)
		d->frames[k] = int_value(bt_field_array_borrow_element_field_by_index_const(f, k),
		                         m->elements_signed);
	*count = (uint32_t)n;
	return true;
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

/* --- messages ------------------------------------------------------------------------ */

/* A trace of per-process buffers has its process' vpid and procname in its environment
 * (LTTng's), once, rather than in every event's context. */
static void read_environment(struct trace_class *c, const bt_event *ev)
{
	const bt_trace *trace = bt_stream_borrow_trace_const(bt_event_borrow_stream_const(ev));
	const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(trace, "vpid");

	c->env_read = true;
	if (v && bt_value_get_type(v) == BT_VALUE_TYPE_SIGNED_INTEGER &&
	    bt_value_integer_signed_get(v) > 0 && bt_value_integer_signed_get(v) <= INT32_MAX) {
		c->env_vpid = (int32_t)bt_value_integer_signed_get(v);
		c->env_vpid_known = true;
	} else if (v && bt_value_get_type(v) == BT_VALUE_TYPE_UNSIGNED_INTEGER &&
	           bt_value_integer_unsigned_get(v) > 0 &&
	           bt_value_integer_unsigned_get(v) <= INT32_MAX) {
		c->env_vpid = (int32_t)bt_value_integer_unsigned_get(v);
		c->env_vpid_known = true;
	}
	v = bt_trace_borrow_environment_entry_value_by_name_const(trace, "procname");
	if (v && bt_value_get_type(v) == BT_VALUE_TYPE_STRING)
		c->env_procname = bt_value_string_get(v);
}

static int event(struct trace_decoder *d, const bt_message *msg, struct trace_item *item)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	const bt_event_class *ec = bt_event_borrow_class_const(ev);
	const bt_field *payload, *context;
	struct trace_class *c;
	int ints = 0, strings = 0;

	if (ec == d->last_class) {
		c = d->last;
	} else {
		c = class_of(d, ec);
		if (!c)
			return -1;
		d->last_class = ec;
		d->last = c;
	}
	item->timed =
	        c->has_clock &&
	        snapshot_ns(bt_message_event_borrow_default_clock_snapshot_const(msg), &item->ts);
	item->kind = c->kind;
	if (c->kind == TRACE_ITEM_TIME)
		return item->timed;
	payload = bt_event_borrow_payload_field_const(ev);
	context = bt_event_borrow_common_context_field_const(ev);
	if ((!c->vpid.type || !c->procname.type) && !c->env_read)
		read_environment(c, ev);
	if (context && c->vpid.type) {
		item->pid = (int32_t)int_value(field_of(context, &c->vpid), c->vpid.is_signed);
	} else if (c->env_vpid_known) {
		item->pid = c->env_vpid;
	} else {
		item->no_vpid = true;
	}
	if (context && c->vtid.type)
		item->tid = (int32_t)int_value(field_of(context, &c->vtid), c->vtid.is_signed);
	if (context && c->procname.type)
		item->procname = bt_field_string_get_value(field_of(context, &c->procname));
	else
		item->procname = c->env_procname;
	for (int i = 0; i < MAX_FIELDS && c->fields[i].type; i++) {
		const bt_field *f = field_of(payload, &c->fields[i]);

		switch (c->fields[i].type) {
		case 'u':
			item->ints[ints++] = int_value(f, c->fields[i].is_signed);
			break;
		case 's':
			item->strings[strings++] = bt_field_string_get_value(f);
			break;
		default:
			if (!array_of(d, f, &c->fields[i], &item->narray)) {
				snprintf(d->error, sizeof(d->error), "out of memory");
				return -1;
			}
			item->array = d->frames;
			break;
		}
	}
	if (c->kind == TRACE_ITEM_SWITCH) {
		/* truncated: its own field, or prev_state's bit 7 */
		if (c->truncated.type) {
			item->ints[4] =
			        int_value(field_of(payload, &c->truncated), c->truncated.is_signed);
		} else {
			item->ints[4] = item->ints[2] >> 7 & 1;
			item->ints[2] &= 0x7f;
		}
	}
	return 1;
}

/* The time of a message that is not an event, if it has one. */
static bool message_time(const bt_message *msg, uint64_t *ns)
{
	const bt_stream_class *sc;

	switch (bt_message_get_type(msg)) {
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

/* A discarded-events or discarded-packets message: ints count, end, end known, packets. */
static void lost(const bt_message *msg, struct trace_item *item)
{
	bool packets = bt_message_get_type(msg) == BT_MESSAGE_TYPE_DISCARDED_PACKETS;
	const bt_stream *stream;
	const bt_clock_snapshot *cs = NULL;
	uint64_t count = 0, end = 0;

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
	item->kind = TRACE_ITEM_LOST;
	item->ints[0] = count;
	item->ints[2] = snapshot_ns(cs, &end);
	item->ints[1] = end;
	item->ints[3] = packets;
	item->strings[0] = bt_stream_get_name(stream);
}

int trace_decode(struct trace_decoder *d, const bt_message *msg, struct trace_item *item)
{
	memset(item, 0, sizeof(*item));
	switch (bt_message_get_type(msg)) {
	case BT_MESSAGE_TYPE_EVENT:
		return event(d, msg, item);
	case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
	case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
		item->timed = message_time(msg, &item->ts);
		lost(msg, item);
		return 1;
	default:
		item->kind = TRACE_ITEM_TIME;
		item->timed = message_time(msg, &item->ts);
		return item->timed;
	}
}
