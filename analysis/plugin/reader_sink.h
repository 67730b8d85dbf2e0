/* SPDX-License-Identifier: MIT */
/* reader_sink.h - what the plugin's sinks share: their input fed to the trace model, then once
 * what each one writes. */
#ifndef COSTACK_PLUGIN_READER_SINK_H
#define COSTACK_PLUGIN_READER_SINK_H

#include <babeltrace2/babeltrace.h>

#include "trace_model.h"
#include "trace_read.h"

/* "Failed to ...: why" as an error cause of this component. */
#define FAIL(self, ...) BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, __VA_ARGS__)

struct reader_sink;

/* Write what the model says at at_ns; a consume status (END when done). */
typedef bt_component_class_sink_consume_method_status (*reader_sink_write_fn)(struct reader_sink *s,
                                                                              uint64_t at_ns);

struct reader_sink {
	bt_self_component *self;
	bt_message_iterator *iterator;
	struct tm_model model;
	struct trace_reader *reader;
	struct trace_at at;
	reader_sink_write_fn write;
	int (*listen)(struct reader_sink *s); /* 0, or -1: out of memory */
	void *data;                           /* the component class' own */
	void (*free_data)(void *data);        /* NULL: free() */
};

/* After the class parsed its parameters into s (at, write, data, free_data): the model, the
 * reader, the input port "in"; then s->listen, if set, to listen to the model before it is fed.
 * On failure, s and its data are freed (babeltrace2 does not finalize a component whose
 * initialization failed). */
bt_component_class_initialize_method_status reader_sink_initialize(bt_self_component_sink *self,
                                                                   struct reader_sink *s);
bt_component_class_sink_graph_is_configured_method_status
reader_sink_graph_is_configured(bt_self_component_sink *self);
/* Feed the model until the trace ends or the reader has what it needs, then s->write. */
bt_component_class_sink_consume_method_status reader_sink_consume(bt_self_component_sink *self);
/* Frees s itself too (and s->data with free()). */
void reader_sink_finalize(bt_self_component_sink *self);

/* Lost events, told on stderr by a sink (name) before its output. */
void reader_sink_tell_lost(const struct reader_sink *s, const char *name);

#endif
