/* SPDX-License-Identifier: MIT */
/* stacks.c - sink.costack.stacks: `costack stacks TRACE` as a babeltrace2 sink component. */
#include "stacks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../params.h"
#include "../reader_sink.h"
#include "offline_stacks.h"

#define MAX_IDS 64

struct stacks_options {
	uint64_t task_ids[MAX_IDS];
	int32_t pids[MAX_IDS];
	struct offline_stacks_options options;
};

static bool parse_params(bt_self_component *self, const bt_value *params, struct trace_at *at,
                         struct stacks_options *s)
{
	static const char *const keys[] = {"at", "task", "pid", "limit", "group", "format", NULL};
	const char *bad, *at_arg = NULL, *format = NULL;
	uint64_t limit = 0, pids[MAX_IDS];
	size_t npids;

	if (!params_only(params, keys, &bad)) {
		FAIL(self,
		     "Failed to read the parameters: unknown parameter `%s` (at, task, pid, "
		     "limit, group, format)",
		     bad);
		return false;
	}
	at->kind = TRACE_AT_END;
	if (!params_string(params, "at", &at_arg) || (at_arg && trace_parse_time(at_arg, at))) {
		FAIL(self,
		     "Failed to read parameter `at`: a string, seconds since the epoch "
		     "(\"1795542309.164005327\") or +OFFSET from the trace's start (\"+1.5s\")");
		return false;
	}
	if (!params_uint_list(params, "task", INT64_MAX, s->task_ids, MAX_IDS,
	                      &s->options.ntask_ids)) {
		FAIL(self, "Failed to read parameter `task`: a task id or an array of them");
		return false;
	}
	if (!params_uint_list(params, "pid", INT32_MAX, pids, MAX_IDS, &npids)) {
		FAIL(self, "Failed to read parameter `pid`: a pid or an array of them");
		return false;
	}
	for (size_t i = 0; i < npids; i++)
		s->pids[i] = (int32_t)pids[i];
	s->options.npids = npids;
	if (!params_uint(params, "limit", INT32_MAX, &limit)) {
		FAIL(self, "Failed to read parameter `limit`: a number of frames, 0: all");
		return false;
	}
	if (!params_bool(params, "group", &s->options.group)) {
		FAIL(self, "Failed to read parameter `group`: a boolean");
		return false;
	}
	if (!params_string(params, "format", &format) ||
	    (format && strcmp(format, "text") && strcmp(format, "json"))) {
		FAIL(self, "Failed to read parameter `format`: \"text\" or \"json\"");
		return false;
	}
	s->options.task_ids = s->task_ids;
	s->options.pids = s->pids;
	s->options.limit = (int)limit;
	s->options.json = format && !strcmp(format, "json");
	return true;
}

static bt_component_class_sink_consume_method_status write_stacks(struct reader_sink *s,
                                                                  uint64_t at_ns)
{
	struct stacks_options *o = s->data;
	char message[512];

	reader_sink_tell_lost(s, "sink.costack.stacks");
	switch (offline_stacks_write(stdout, &s->model, at_ns, &o->options, message,
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

bt_component_class_initialize_method_status
stacks_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                  const bt_value *params, void *data)
{
	struct reader_sink *s = calloc(1, sizeof(*s));
	struct stacks_options *o = calloc(1, sizeof(*o));

	(void)config;
	(void)data;
	if (!s || !o) {
		free(s);
		free(o);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	s->self = bt_self_component_sink_as_self_component(self);
	if (!parse_params(s->self, params, &s->at, o)) {
		free(s);
		free(o);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
	}
	s->write = write_stacks;
	s->data = o;
	return reader_sink_initialize(self, s);
}
