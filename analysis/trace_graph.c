/* SPDX-License-Identifier: MIT */
/* trace_graph.c - a CTF trace directory read in-process: src.ctf.fs -> flt.utils.muxer -> ours. */
#define _GNU_SOURCE
#include "trace_graph.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Our sink: every message to the reader. */
struct sink {
	struct trace_reader *reader;
	bt_message_iterator *iterator;
};

static bt_component_class_initialize_method_status
sink_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                const bt_value *params, void *data)
{
	struct sink *s = data; /* trace_graph_read's, with its reader */

	(void)config;
	(void)params;
	bt_self_component_set_data(bt_self_component_sink_as_self_component(self), s);
	if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK)
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

static bt_component_class_sink_graph_is_configured_method_status
sink_graph_is_configured(bt_self_component_sink *self)
{
	struct sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));

	if (bt_message_iterator_create_from_sink_component(
	            self, bt_self_component_sink_borrow_input_port_by_index(self, 0),
	            &s->iterator) != BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK)
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

static void sink_finalize(bt_self_component_sink *self)
{
	struct sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));

	bt_message_iterator_put_ref(s->iterator);
	s->iterator = NULL;
}

static bt_component_class_sink_consume_method_status sink_consume(bt_self_component_sink *self)
{
	struct sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));

	return trace_reader_consume(s->reader, s->iterator);
}

/* --- checks a user can act on, before babeltrace2's own ------------------------------ */

/* The directories under dir (dir included) holding a CTF metadata file, at most depth levels
 * down, appended to list; false when out of memory. */
static bool find_traces(const char *dir, int depth, bt_value *list)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool ok = true;
	char *path;
	struct stat st;

	if (!d)
		return true;
	if (asprintf(&path, "%s/metadata", dir) < 0) {
		closedir(d);
		return false;
	}
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		ok = bt_value_array_append_string_element(list, dir) ==
		     BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK;
	free(path);
	while (ok && depth > 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			ok = false;
			break;
		}
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			ok = find_traces(path, depth - 1, list);
		free(path);
	}
	closedir(d);
	return ok;
}

static enum trace_graph_status check_dir(const char *dir, bt_value *traces, char *message,
                                         size_t size)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(message, size, "cannot read trace %s: %s", dir, strerror(errno));
		return TRACE_GRAPH_UNREADABLE;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(message, size,
		         "cannot read trace %s: not a directory (a trace is the directory "
		         "`costack record -o DIR` or lttng wrote)",
		         dir);
		return TRACE_GRAPH_UNREADABLE;
	}
	if (!find_traces(dir, 8, traces)) {
		snprintf(message, size, "cannot read trace %s: out of memory", dir);
		return TRACE_GRAPH_UNREADABLE;
	}
	if (!bt_value_array_get_length(traces)) {
		snprintf(message, size,
		         "cannot read trace %s: no CTF trace in it (no metadata file)", dir);
		return TRACE_GRAPH_UNREADABLE;
	}
	return TRACE_GRAPH_OK;
}

/* "cannot read trace DIR: WHAT: " and babeltrace2's error causes from components (the ones
 * that say what is wrong with the trace), the first found first; all when there are none. */
static void take_error(const char *dir, const char *what, char *message, size_t size)
{
	const bt_error *error = bt_current_thread_take_error();
	uint64_t n = error ? bt_error_get_cause_count(error) : 0, shown = 0;
	size_t len;

	snprintf(message, size, "cannot read trace %s: %s", dir, what);
	for (int pass = 0; pass < 2 && !shown; pass++) {
		for (uint64_t i = 0; i < n; i++) {
			const bt_error_cause *cause = bt_error_borrow_cause_by_index(error, i);

			if (!pass && bt_error_cause_get_actor_type(cause) ==
			                     BT_ERROR_CAUSE_ACTOR_TYPE_UNKNOWN)
				continue;
			len = strlen(message);
			if (len + 3 >= size)
				break;
			snprintf(message + len, size - len, ": %s",
			         bt_error_cause_get_message(cause));
			shown++;
		}
	}
	if (error)
		bt_error_release(error);
}

/* Connect every output port of src to a free input port of the muxer (it adds one each time). */
static bool connect_source(bt_graph *graph, const bt_component_source *src,
                           const bt_component_filter *muxer)
{
	uint64_t n = bt_component_source_get_output_port_count(src);

	for (uint64_t i = 0; i < n; i++) {
		const bt_port_output *out =
		        bt_component_source_borrow_output_port_by_index_const(src, i);
		const bt_port_input *in = NULL;
		uint64_t m = bt_component_filter_get_input_port_count(muxer);

		for (uint64_t j = 0; j < m && !in; j++) {
			const bt_port_input *p =
			        bt_component_filter_borrow_input_port_by_index_const(muxer, j);

			if (!bt_port_is_connected(bt_port_input_as_port_const(p)))
				in = p;
		}
		if (!in || bt_graph_connect_ports(graph, out, in, NULL) !=
		                   BT_GRAPH_CONNECT_PORTS_STATUS_OK)
			return false;
	}
	return true;
}

/* One src.ctf.fs per trace directory (as babeltrace2's command line finds them), all into the
 * muxer. */
static bool add_sources(bt_graph *graph, const bt_plugin *ctf, const bt_value *traces,
                        const bt_component_filter *muxer, const char *dir, char *message,
                        size_t size)
{
	uint64_t n = bt_value_array_get_length(traces);

	for (uint64_t i = 0; i < n; i++) {
		const bt_value *path = bt_value_array_borrow_element_by_index_const(traces, i);
		const bt_component_source *src = NULL;
		bt_value *params = bt_value_map_create(), *inputs = bt_value_array_create();
		char name[32];
		bool ok;

		snprintf(name, sizeof(name), "src%" PRIu64, i);
		ok = params && inputs &&
		     !bt_value_array_append_string_element(inputs, bt_value_string_get(path)) &&
		     !bt_value_map_insert_entry(params, "inputs", inputs);
		if (!ok)
			take_error(dir, "out of memory", message, size);
		else if (bt_graph_add_source_component(
		                 graph,
		                 bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs"),
		                 name, params, BT_LOGGING_LEVEL_NONE,
		                 &src) != BT_GRAPH_ADD_COMPONENT_STATUS_OK)
			ok = false,
			take_error(dir, "not a CTF trace babeltrace2 can read", message, size);
		else if (!connect_source(graph, src, muxer))
			ok = false,
			take_error(dir, "cannot build the babeltrace2 graph", message, size);
		bt_value_put_ref(inputs);
		bt_value_put_ref(params);
		if (!ok)
			return false;
	}
	return true;
}

enum trace_graph_status trace_graph_read(const char *dir, struct trace_reader *r, char *message,
                                         size_t size)
{
	enum trace_graph_status status = TRACE_GRAPH_UNREADABLE;
	const bt_plugin *ctf = NULL, *utils = NULL;
	bt_component_class_sink *sink_class = NULL;
	bt_graph *graph = NULL;
	bt_value *traces = bt_value_array_create();
	const bt_component_filter *muxer = NULL;
	const bt_component_sink *sink = NULL;
	struct sink s = {.reader = r};
	bt_graph_run_status run;

	if (!traces) {
		snprintf(message, size, "cannot read trace %s: out of memory", dir);
		return status;
	}
	status = check_dir(dir, traces, message, size);
	if (status != TRACE_GRAPH_OK)
		goto end;
	status = TRACE_GRAPH_UNREADABLE;
	if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &ctf) !=
	            BT_PLUGIN_FIND_STATUS_OK ||
	    bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) !=
	            BT_PLUGIN_FIND_STATUS_OK) {
		take_error(dir,
		           "babeltrace2's ctf and utils plugins are not installed (Debian: "
		           "libbabeltrace2-0)",
		           message, size);
		goto end;
	}
	sink_class = bt_component_class_sink_create("costack-reader", sink_consume);
	graph = bt_graph_create(0);
	if (!sink_class || !graph ||
	    bt_component_class_sink_set_initialize_method(sink_class, sink_initialize) ||
	    bt_component_class_sink_set_graph_is_configured_method(sink_class,
	                                                           sink_graph_is_configured) ||
	    bt_component_class_sink_set_finalize_method(sink_class, sink_finalize)) {
		take_error(dir, "out of memory", message, size);
		goto end;
	}
	if (bt_graph_add_filter_component(
	            graph, bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer"),
	            "muxer", NULL, BT_LOGGING_LEVEL_NONE,
	            &muxer) != BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
	    bt_graph_add_sink_component_with_initialize_method_data(
	            graph, sink_class, "costack", NULL, &s, BT_LOGGING_LEVEL_NONE, &sink) !=
	            BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
	    bt_graph_connect_ports(graph,
	                           bt_component_filter_borrow_output_port_by_index_const(muxer, 0),
	                           bt_component_sink_borrow_input_port_by_index_const(sink, 0),
	                           NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
		take_error(dir, "cannot build the babeltrace2 graph", message, size);
		goto end;
	}
	if (!add_sources(graph, ctf, traces, muxer, dir, message, size))
		goto end;
	do {
		run = bt_graph_run(graph);
	} while (run == BT_GRAPH_RUN_STATUS_AGAIN);
	if (r->failed) {
		bt_current_thread_clear_error();
		snprintf(message, size, "cannot read trace %s: %s", dir, r->error);
		status = TRACE_GRAPH_READER;
		goto end;
	}
	if (run != BT_GRAPH_RUN_STATUS_OK) {
		take_error(dir, "babeltrace2 failed", message, size);
		goto end;
	}
	status = TRACE_GRAPH_OK;
end:
	bt_graph_put_ref(graph);
	bt_value_put_ref(traces);
	bt_component_class_sink_put_ref(sink_class);
	bt_plugin_put_ref(ctf);
	bt_plugin_put_ref(utils);
	return status;
}
