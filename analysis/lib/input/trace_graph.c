/* SPDX-License-Identifier: MIT */
/* trace_graph.c - a trace directory read by babeltrace2 in a child process (src.ctf.fs ->
 * flt.utils.muxer -> ours), its items sent to the model down a pipe, under a watchdog. */
#define _GNU_SOURCE
#include "trace_graph.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace_dir.h"
#include "trace_items.h"

/*
 * Why a child. babeltrace2 2.0 hangs or crashes on some corrupt traces
 * (trace_dir.c refuses the ones we know of before it sees them). Run in a
 * child, a crash of it ends the child, not the command; a hang is seen by
 * the parent, which hears nothing for WATCHDOG_MS. The child sends only what
 * the model reads (trace_items.h, some 15 bytes a switch), and the parent
 * feeds the model while the child decodes the next messages: on two cores
 * the read costs no more than in one process.
 */
#define WATCHDOG_MS 10000

/* --- the child: babeltrace2's graph -------------------------------------------------- */

/* Our sink: every message decoded and written to the pipe. */
struct sink {
	bt_message_iterator *iterator;
	struct trace_decoder decoder;
	struct item_writer writer;
	const char *failure; /* the decoder's or the writer's error, which stopped the graph */
};

static bt_component_class_initialize_method_status
sink_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                const bt_value *params, void *data)
{
	(void)config;
	(void)params;
	bt_self_component_set_data(bt_self_component_sink_as_self_component(self), data);
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

static bt_component_class_sink_consume_method_status sink_consume(bt_self_component_sink *self)
{
	struct sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
	bt_message_array_const msgs;
	uint64_t count;
	struct trace_item item;
	bt_component_class_sink_consume_method_status status =
	        trace_next_messages(s->iterator, &msgs, &count);

	if (status != BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK)
		return status;
	for (uint64_t i = 0; i < count; i++) {
		int rc = s->failure ? 0 : trace_decode(&s->decoder, msgs[i], &item);

		if (rc < 0)
			s->failure = s->decoder.error;
		else if (rc > 0 && item_writer_put(&s->writer, &item))
			s->failure = "cannot send to the reading process";
		bt_message_put_ref(msgs[i]);
	}
	return s->failure ? BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR
	                  : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
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
	/* One line: causes may hold newlines. */
	for (char *c = message; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
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

/* One src.ctf.fs per trace (its directories its inputs, as babeltrace2's command line groups
 * them by UUID), all into the muxer. */
static bool add_sources(bt_graph *graph, const bt_plugin *ctf, const struct trace_list *traces,
                        const bt_component_filter *muxer, const char *dir, char *message,
                        size_t size)
{
	for (size_t i = 0; i < traces->ngroups; i++) {
		const struct trace_group *g = &traces->groups[i];
		const bt_component_source *src = NULL;
		bt_value *params = bt_value_map_create(), *inputs = bt_value_array_create();
		char name[32];
		bool ok = params && inputs;

		snprintf(name, sizeof(name), "src%zu", i);
		for (size_t j = 0; ok && j < g->ndirs; j++)
			ok = !bt_value_array_append_string_element(inputs, g->dirs[j]);
		ok = ok && !bt_value_map_insert_entry(params, "inputs", inputs);
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

/* Run the graph over traces, writing items to s->writer; 0, or -1 with message. */
static int run_graph(const char *dir, const struct trace_list *traces, struct sink *s,
                     char *message, size_t size)
{
	const bt_plugin *ctf = NULL, *utils = NULL;
	bt_component_class_sink *sink_class = NULL;
	bt_graph *graph = NULL;
	const bt_component_filter *muxer = NULL;
	const bt_component_sink *sink = NULL;
	bt_graph_run_status run;
	int ret = -1;

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
	                                                           sink_graph_is_configured)) {
		take_error(dir, "out of memory", message, size);
		goto end;
	}
	if (bt_graph_add_filter_component(
	            graph, bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer"),
	            "muxer", NULL, BT_LOGGING_LEVEL_NONE,
	            &muxer) != BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
	    bt_graph_add_sink_component_with_initialize_method_data(
	            graph, sink_class, "costack", NULL, s, BT_LOGGING_LEVEL_NONE, &sink) !=
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
	if (s->failure) {
		bt_current_thread_clear_error();
		snprintf(message, size, "cannot read trace %s: %s", dir, s->failure);
		goto end;
	}
	if (run != BT_GRAPH_RUN_STATUS_OK) {
		take_error(dir, "babeltrace2 failed", message, size);
		goto end;
	}
	ret = 0;
end:
	/* The process ends next: nothing is torn down (which costs a long trace time). */
	return ret;
}

/* The child's side of trace_graph_read: never returns. */
__attribute__((noreturn)) static void child_read(const char *dir, const struct trace_list *traces,
                                                 int fd)
{
	struct sink s = {0};
	char message[1024];
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Nothing of babeltrace2's on the user's terminal (an assertion it fails says it
	 * there): the parent tells what went wrong, in one line. */
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
	    dup2(null_fd, STDERR_FILENO) < 0)
		_exit(127);
	/* A parent that ends (its time passed, or killed) takes the child with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	trace_decoder_init(&s.decoder);
	if (item_writer_init(&s.writer, fd))
		_exit(127);
	if (run_graph(dir, traces, &s, message, sizeof(message))) {
		item_writer_error(&s.writer, message);
		_exit(1);
	}
	_exit(item_writer_end(&s.writer) ? 1 : 0);
}

/* --- the parent: the model fed ------------------------------------------------------- */

/* What ended a child that sent no end: its wait status, in words. */
static void child_death(const char *dir, int status, char *message, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(message, size,
		         "cannot read trace %s: babeltrace2 crashed reading it (%s; a corrupt "
		         "trace?)",
		         dir, strsignal(WTERMSIG(status)));
	else
		snprintf(message, size,
		         "cannot read trace %s: babeltrace2's reading ended early (exit status %d)",
		         dir, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Feed r from the child's records on fd; the status, message filled unless OK. */
static enum trace_graph_status feed_from(const char *dir, int fd, pid_t child,
                                         struct trace_reader *r, char *message, size_t size)
{
	enum trace_graph_status status = TRACE_GRAPH_UNREADABLE;
	struct item_reader in;
	struct trace_item item;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	bool done = false, ended = false, all = false;
	int wait_status = 0;

	if (item_reader_init(&in)) {
		snprintf(message, size, "cannot read trace %s: out of memory", dir);
		return status;
	}
	while (!done) {
		size_t space;
		unsigned char *at;
		ssize_t n;
		int ready = poll(&p, 1, WATCHDOG_MS);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) {
			snprintf(
			        message, size,
			        "cannot read trace %s: babeltrace2 made no progress reading it for "
			        "%d s (a corrupt trace?)",
			        dir, WATCHDOG_MS / 1000);
			break;
		}
		at = item_reader_space(&in, &space);
		if (!at) {
			snprintf(message, size, "cannot read trace %s: out of memory", dir);
			break;
		}
		n = ready < 0 ? -1 : read(fd, at, space);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(message, size, "cannot read trace %s: %s", dir, strerror(errno));
			break;
		}
		if (n == 0) {
			while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR)
				;
			ended = true;
			child_death(dir, wait_status, message, size);
			break;
		}
		item_reader_added(&in, (size_t)n);
		for (;;) {
			enum item_next next = item_reader_next(&in, &item);
			int rc;

			if (next == ITEM_MORE)
				break;
			done = true;
			if (next == ITEM_END) {
				status = TRACE_GRAPH_OK;
				all = true;
			} else if (next == ITEM_ERROR) {
				snprintf(message, size, "%s", in.message);
			} else if (next == ITEM_BAD) {
				snprintf(message, size,
				         "cannot read trace %s: babeltrace2's reading sent what is "
				         "not "
				         "trace items (or memory ran out)",
				         dir);
			} else if ((rc = trace_reader_feed(r, &item)) < 0) {
				snprintf(message, size, "cannot read trace %s: %s", dir,
				         trace_reader_error(r));
				status = TRACE_GRAPH_READER;
			} else if (rc > 0) {
				status = TRACE_GRAPH_OK; /* at passed: the rest is not needed */
			} else {
				done = false;
				continue;
			}
			break;
		}
	}
	/* A child that sent it all is ending; one stopped early (its items not needed, or
	 * gone wrong) is killed. */
	if (!ended && !all)
		kill(child, SIGKILL);
	while (!ended && waitpid(child, &wait_status, 0) < 0 && errno == EINTR)
		;
	item_reader_free(&in);
	return status;
}

enum trace_graph_status trace_graph_read(const char *dir, struct trace_reader *r, char *message,
                                         size_t size)
{
	enum trace_graph_status status = TRACE_GRAPH_UNREADABLE;
	struct trace_list traces;
	int fds[2] = {-1, -1};
	pid_t child;

	if (trace_dir_find(dir, &traces, message, size))
		return status;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(message, size, "cannot read trace %s: %s", dir, strerror(errno));
		goto end;
	}
	/* Bigger pipe buffers, fewer switches between the two processes (best effort). */
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	fflush(NULL);
	child = fork();
	if (child < 0) {
		snprintf(message, size, "cannot read trace %s: %s", dir, strerror(errno));
		goto end;
	}
	if (child == 0) {
		close(fds[0]);
		child_read(dir, &traces, fds[1]);
	}
	close(fds[1]);
	fds[1] = -1;
	status = feed_from(dir, fds[0], child, r, message, size);
end:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	trace_list_free(&traces);
	return status;
}
