/* SPDX-License-Identifier: MIT */
/* reader_sink.c - what the plugin's sinks share: their input fed to the trace model, then once
 * what each one writes. */
#include "reader_sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static struct reader_sink *sink_of(bt_self_component_sink *self)
{
	return bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
}

static void free_sink(struct reader_sink *s)
{
	bt_message_iterator_put_ref(s->iterator);
	trace_reader_free(s->reader);
	tm_model_free(&s->model);
	if (s->free_data)
		s->free_data(s->data);
	else
		free(s->data);
	free(s);
}

bt_component_class_initialize_method_status reader_sink_initialize(bt_self_component_sink *self,
                                                                   struct reader_sink *s)
{
	tm_model_init(&s->model);
	s->reader = trace_reader_new(&s->model, &s->at, false);
	if (!s->reader || (s->listen && s->listen(s)) ||
	    bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
	            BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		free_sink(s);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	bt_self_component_set_data(s->self, s);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

bt_component_class_sink_graph_is_configured_method_status
reader_sink_graph_is_configured(bt_self_component_sink *self)
{
	struct reader_sink *s = sink_of(self);

	if (bt_message_iterator_create_from_sink_component(
	            self, bt_self_component_sink_borrow_input_port_by_name(self, "in"),
	            &s->iterator) != BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		FAIL(s->self, "Failed to create the input message iterator");
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

void reader_sink_finalize(bt_self_component_sink *self)
{
	struct reader_sink *s = sink_of(self);

	if (s)
		free_sink(s);
}

void reader_sink_tell_lost(const struct reader_sink *s, const char *name)
{
	if (s->model.ngaps)
		fprintf(stderr,
		        "%s: events were lost: %" PRIu64 " events and %" PRIu64
		        " packets in %zu gaps; the tasks they may touch show as unknown\n",
		        name, s->model.lost_events, s->model.lost_packets, s->model.ngaps);
}

/* All read that is needed: the output, once. */
static bt_component_class_sink_consume_method_status finish(struct reader_sink *s)
{
	uint64_t at_ns;

	if (trace_reader_end(s->reader, &at_ns)) {
		FAIL(s->self, "Failed to read the trace: %s", trace_reader_error(s->reader));
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return s->write(s, at_ns);
}

bt_component_class_sink_consume_method_status reader_sink_consume(bt_self_component_sink *self)
{
	struct reader_sink *s = sink_of(self);
	bt_component_class_sink_consume_method_status status =
	        trace_reader_consume(s->reader, s->iterator);

	if (status == BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END)
		return finish(s);
	if (trace_reader_failed(s->reader))
		FAIL(s->self, "Failed to read the trace: %s", trace_reader_error(s->reader));
	return status;
}
