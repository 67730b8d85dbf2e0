/* SPDX-License-Identifier: MIT */
/* stacks.c - sink.costack.stacks: `costack stacks TRACE` as a babeltrace2 sink component. */
#include "stacks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../params.h"
#include "offline_stacks.h"
#include "trace_model.h"
#include "trace_read.h"

#define MAX_IDS 64

struct stacks_sink {
	bt_self_component *self;
	bt_message_iterator *iterator;
	struct tm_model model;
	struct trace_reader reader;
	struct trace_at at;
	uint64_t task_ids[MAX_IDS];
	int32_t pids[MAX_IDS];
	struct offline_stacks_options options;
};

/* "Failed to ...: why" as an error cause of this component. */
#define FAIL(self, ...) BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, __VA_ARGS__)

static bool parse_params(struct stacks_sink *s, const bt_value *params)
{
	static const char *const keys[] = {"at", "task", "pid", "limit", "group", "format", NULL};
	const char *bad, *at = NULL, *format = NULL;
	uint64_t limit = 0, pids[MAX_IDS];
	size_t npids;

	if (!params_only(params, keys, &bad)) {
		FAIL(s->self,
		     "Failed to read the parameters: unknown parameter `%s` (at, task, pid, "
		     "limit, group, format)",
		     bad);
		return false;
	}
	s->at.kind = TRACE_AT_END;
	if (!params_string(params, "at", &at) || (at && trace_parse_time(at, &s->at))) {
		FAIL(s->self,
		     "Failed to read parameter `at`: a string, seconds since the epoch "
		     "(\"1795542309.164005327\") or +OFFSET from the trace's start (\"+1.5s\")");
		return false;
	}
	if (!params_uint_list(params, "task", INT64_MAX, s->task_ids, MAX_IDS,
	                      &s->options.ntask_ids)) {
		FAIL(s->self, "Failed to read parameter `task`: a task id or an array of them");
		return false;
	}
	if (!params_uint_list(params, "pid", INT32_MAX, pids, MAX_IDS, &npids)) {
		FAIL(s->self, "Failed to read parameter `pid`: a pid or an array of them");
		return false;
	}
	for (size_t i = 0; i < npids; i++)
		s->pids[i] = (int32_t)pids[i];
	s->options.npids = npids;
	if (!params_uint(params, "limit", INT32_MAX, &limit)) {
		FAIL(s->self, "Failed to read parameter `limit`: a number of frames, 0: all");
		return false;
	}
	if (!params_bool(params, "group", &s->options.group)) {
		FAIL(s->self, "Failed to read parameter `group`: a boolean");
		return false;
	}
	if (!params_string(params, "format", &format) ||
	    (format && strcmp(format, "text") && strcmp(format, "json"))) {
		FAIL(s->self, "Failed to read parameter `format`: \"text\" or \"json\"");
		return false;
	}
	s->options.task_ids = s->task_ids;
	s->options.pids = s->pids;
	s->options.limit = (int)limit;
	s->options.json = format && !strcmp(format, "json");
	return true;
}

bt_component_class_initialize_method_status
stacks_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                  const bt_value *params, void *data)
{
	struct stacks_sink *s = calloc(1, sizeof(*s));

	(void)config;
	(void)data;
	if (!s)
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	s->self = bt_self_component_sink_as_self_component(self);
	if (!parse_params(s, params)) {
		free(s);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
	}
	tm_model_init(&s->model);
	trace_reader_init(&s->reader, &s->model, &s->at, false);
	bt_self_component_set_data(s->self, s);
	if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK)
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

bt_component_class_sink_graph_is_configured_method_status
stacks_graph_is_configured(bt_self_component_sink *self)
{
	struct stacks_sink *s =
	        bt_self_component_get_data(bt_self_component_sink_as_self_component(self));

	if (bt_message_iterator_create_from_sink_component(
	            self, bt_self_component_sink_borrow_input_port_by_name(self, "in"),
	            &s->iterator) != BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		FAIL(s->self, "Failed to create the input message iterator");
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

void stacks_finalize(bt_self_component_sink *self)
{
	struct stacks_sink *s =
	        bt_self_component_get_data(bt_self_component_sink_as_self_component(self));

	if (!s)
		return;
	bt_message_iterator_put_ref(s->iterator);
	trace_reader_free(&s->reader);
	tm_model_free(&s->model);
	free(s);
}

/* All read that is needed: the output, once. */
static bt_component_class_sink_consume_method_status write_stacks(struct stacks_sink *s)
{
	char message[512];
	uint64_t at_ns;

	if (trace_reader_end(&s->reader, &at_ns)) {
		FAIL(s->self, "Failed to show the stacks: %s", s->reader.error);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	if (s->model.ngaps)
		fprintf(stderr,
		        "sink.costack.stacks: events were lost: %" PRIu64 " events and %" PRIu64
		        " packets in %zu gaps; the tasks they may touch show as unknown\n",
		        s->model.lost_events, s->model.lost_packets, s->model.ngaps);
	switch (offline_stacks_write(stdout, &s->model, at_ns, &s->options, message,
	                             sizeof(message))) {
	case OFFLINE_STACKS_OK:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	case OFFLINE_STACKS_NO_TASK:
		FAIL(s->self, "Failed to show the stacks: %s", message);
		break;
	case OFFLINE_STACKS_WRITE:
		FAIL(s->self, "Failed to write the stacks: %s", strerror(errno));
		break;
	default:
		FAIL(s->self, "Failed to show the stacks: out of memory");
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
}

bt_component_class_sink_consume_method_status stacks_consume(bt_self_component_sink *self)
{
	struct stacks_sink *s =
	        bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
	bt_message_array_const msgs;
	uint64_t count = 0;
	int rc = 0;

	switch (bt_message_iterator_next(s->iterator, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return write_stacks(s);
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	for (uint64_t i = 0; i < count; i++) {
		if (!rc)
			rc = trace_reader_message(&s->reader, msgs[i]);
		bt_message_put_ref(msgs[i]);
	}
	if (rc < 0) {
		FAIL(s->self, "Failed to read the trace: %s", s->reader.error);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return rc > 0 ? write_stacks(s) : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}
