/* SPDX-License-Identifier: MIT */
/* timeline.c - sink.costack.timeline: `costack timeline TRACE` as a babeltrace2 sink component. */
#include "timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/views/timeline.h"
#include "../params.h"
#include "../reader_sink.h"

/* The sink's own: the view, which writes as the model is fed, and its file. */
struct timeline_sink {
	struct timeline tl;
	struct timeline_options o;
	FILE *out; /* stdout, or the output file */
	bool listening;
};

static int listen_timeline(struct reader_sink *s)
{
	struct timeline_sink *ts = s->data;

	if (timeline_listen(&ts->tl, &s->model, ts->out, &ts->o))
		return -1;
	ts->listening = true;
	return 0;
}

static void free_timeline_sink(void *data)
{
	struct timeline_sink *ts = data;

	if (ts->listening)
		timeline_free(&ts->tl);
	if (ts->out && ts->out != stdout)
		fclose(ts->out);
	free(ts);
}

static bt_component_class_sink_consume_method_status write_timeline(struct reader_sink *s,
                                                                    uint64_t at_ns)
{
	struct timeline_sink *ts = s->data;

	(void)at_ns;
	reader_sink_tell_lost(s, "sink.costack.timeline");
	if (timeline_finish(&ts->tl) || fflush(ts->out)) {
		FAIL(s->self, "Failed to write the timeline: %s",
		     errno ? strerror(errno) : "out of memory");
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
}

bt_component_class_initialize_method_status
timeline_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                    const bt_value *params, void *data)
{
	static const char *const keys[] = {"pid", "task", "output", NULL};
	struct reader_sink *s = calloc(1, sizeof(*s));
	struct timeline_sink *ts = calloc(1, sizeof(*ts));
	const char *bad;
	const char *output = NULL;

	(void)config;
	(void)data;
	if (!s || !ts) {
		free(s);
		free(ts);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	s->self = bt_self_component_sink_as_self_component(self);
	if (!params_only(params, keys, &bad)) {
		FAIL(s->self,
		     "Failed to read the parameters: unknown parameter `%s` (pid, task, "
		     "output)",
		     bad);
		goto fail;
	}
	if (!params_selection(params, &ts->o.sel, &output)) {
		FAIL(s->self, "Failed to read parameter `pid`, `task` or `output`: integers, and a "
		              "path");
		goto fail;
	}
	ts->out = stdout;
	if (output && !(ts->out = fopen(output, "w"))) {
		FAIL(s->self, "Failed to open the output: path=%s, error=%s", output,
		     strerror(errno));
		goto fail;
	}
	s->at.kind = TRACE_AT_END;
	s->write = write_timeline;
	s->listen = listen_timeline;
	s->data = ts;
	s->free_data = free_timeline_sink;
	return reader_sink_initialize(self, s);
fail:
	free(s);
	free(ts);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
}
