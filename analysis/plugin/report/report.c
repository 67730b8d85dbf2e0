/* SPDX-License-Identifier: MIT */
/* report.c - sink.costack.report: `costack report TRACE` as a babeltrace2 sink component. */
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/views/report.h"
#include "../params.h"
#include "../reader_sink.h"

/* The sink's own: its options and what the report counts while the model is fed. */
struct report_sink {
	struct report_options o;
	struct report_times times;
};

static int listen_report(struct reader_sink *s)
{
	struct report_sink *rs = s->data;

	return report_listen(&rs->times, &s->model);
}

static void free_report_sink(void *data)
{
	struct report_sink *rs = data;

	report_times_free(&rs->times);
	free(rs);
}

static bt_component_class_sink_consume_method_status write_report(struct reader_sink *s,
                                                                  uint64_t at_ns)
{
	struct report_sink *rs = s->data;

	(void)at_ns;
	if (report_write(stdout, &s->model, &rs->times, &rs->o)) {
		FAIL(s->self, "Failed to write the report");
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
}

bt_component_class_initialize_method_status
report_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                  const bt_value *params, void *data)
{
	static const char *const keys[] = {"top", "format", NULL};
	struct reader_sink *s = calloc(1, sizeof(*s));
	struct report_sink *rs = calloc(1, sizeof(*rs));
	struct report_options *o = rs ? &rs->o : NULL;
	const char *bad, *format = NULL;
	uint64_t top = 10;

	(void)config;
	(void)data;
	if (!s || !rs) {
		free(s);
		free(rs);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	s->self = bt_self_component_sink_as_self_component(self);
	if (!params_only(params, keys, &bad)) {
		FAIL(s->self, "Failed to read the parameters: unknown parameter `%s` (top, format)",
		     bad);
		goto fail;
	}
	if (!params_uint(params, "top", SIZE_MAX, &top)) {
		FAIL(s->self, "Failed to read parameter `top`: a number of stacks");
		goto fail;
	}
	if (!params_string(params, "format", &format) ||
	    (format && strcmp(format, "text") && strcmp(format, "json"))) {
		FAIL(s->self, "Failed to read parameter `format`: \"text\" or \"json\"");
		goto fail;
	}
	o->trace = "(babeltrace2 input)";
	o->top = (size_t)top;
	o->json = format && !strcmp(format, "json");
	s->at.kind = TRACE_AT_END;
	s->write = write_report;
	s->listen = listen_report;
	s->data = rs;
	s->free_data = free_report_sink;
	return reader_sink_initialize(self, s);
fail:
	free(s);
	free(rs);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
}
