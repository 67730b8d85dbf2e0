/* SPDX-License-Identifier: MIT */
/* flame.c - sink.costack.flame: `costack flame TRACE` as a babeltrace2 sink component. */
#include "flame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/views/flame.h"
#include "output.h"
#include "../params.h"
#include "../reader_sink.h"

/* The sink's own: the profile, what the model tells it, where and how it is written. */
struct flame_sink {
	struct flame_profile profile;
	struct flame_counts counts;
	enum flame_format format;
	const char *output; /* NULL: standard output */
	char *output_copy;
};

static int listen_flame(struct reader_sink *s)
{
	struct flame_sink *fs = s->data;

	return flame_listen(&fs->counts, &fs->profile, &s->model);
}

static void free_flame_sink(void *data)
{
	struct flame_sink *fs = data;

	flame_counts_free(&fs->counts);
	flame_profile_free(&fs->profile);
	free(fs->output_copy);
	free(fs);
}

static bt_component_class_sink_consume_method_status write_flame(struct reader_sink *s,
                                                                 uint64_t at_ns)
{
	struct flame_sink *fs = s->data;
	FILE *out = stdout;
	char d[16];

	(void)at_ns;
	if (flame_add_trace(&fs->counts, &s->model)) {
		FAIL(s->self, "Failed to make the profile: out of memory");
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	reader_sink_tell_lost(s, "sink.costack.flame");
	if (fs->output && !(out = fopen(fs->output, "w"))) {
		FAIL(s->self, "Failed to open the output: path=%s, error=%s", fs->output,
		     strerror(errno));
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	if (flame_write(out, &fs->profile, fs->format, "costack (babeltrace2 input)") ||
	    (out != stdout && fclose(out))) {
		FAIL(s->self, "Failed to write the profile");
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	if (fs->profile.unknown_intervals[0] + fs->profile.unknown_intervals[1])
		fprintf(stderr,
		        "sink.costack.flame: %" PRIu64 " ns (%s) in %" PRIu64
		        " intervals left out: lost events may cut them\n",
		        fs->profile.unknown_ns[0] + fs->profile.unknown_ns[1],
		        format_duration(fs->profile.unknown_ns[0] + fs->profile.unknown_ns[1], d,
		                        sizeof(d)),
		        fs->profile.unknown_intervals[0] + fs->profile.unknown_intervals[1]);
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
}

bt_component_class_initialize_method_status
flame_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                 const bt_value *params, void *data)
{
	static const char *const keys[] = {"kind", "format", "by", "pid", "task", "output", NULL};
	struct reader_sink *s = calloc(1, sizeof(*s));
	struct flame_sink *fs = calloc(1, sizeof(*fs));
	struct flame_options o = {.wait = true, .by = FLAME_BY_TASK};
	const char *bad, *kind = NULL, *format = NULL, *by = NULL;
	const char *output = NULL;

	(void)config;
	(void)data;
	if (!s || !fs) {
		free(s);
		free(fs);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	s->self = bt_self_component_sink_as_self_component(self);
	if (!params_only(params, keys, &bad)) {
		FAIL(s->self,
		     "Failed to read the parameters: unknown parameter `%s` (kind, format, by, "
		     "pid, "
		     "task, output)",
		     bad);
		goto fail;
	}
	if (!params_string(params, "kind", &kind) ||
	    (kind && strcmp(kind, "wait") && strcmp(kind, "run") && strcmp(kind, "both"))) {
		FAIL(s->self, "Failed to read parameter `kind`: \"wait\", \"run\" or \"both\"");
		goto fail;
	}
	if (!params_string(params, "format", &format) || (format && flame_format_of(format) < 0)) {
		FAIL(s->self, "Failed to read parameter `format`: \"folded\", \"speedscope\", "
		              "\"pprof\" or \"svg\"");
		goto fail;
	}
	if (!params_string(params, "by", &by) ||
	    (by && strcmp(by, "task") && strcmp(by, "entry") && strcmp(by, "none"))) {
		FAIL(s->self, "Failed to read parameter `by`: \"task\", \"entry\" or \"none\"");
		goto fail;
	}
	if (!params_selection(params, &o.sel, &output)) {
		FAIL(s->self, "Failed to read parameter `pid`, `task` or `output`: integers, and a "
		              "path");
		goto fail;
	}
	if (kind) {
		o.wait = strcmp(kind, "run") != 0;
		o.run = strcmp(kind, "wait") != 0;
	}
	if (by)
		o.by = !strcmp(by, "task")    ? FLAME_BY_TASK
		       : !strcmp(by, "entry") ? FLAME_BY_ENTRY
		                              : FLAME_BY_NONE;
	flame_profile_init(&fs->profile, &o);
	fs->format = format ? (enum flame_format)flame_format_of(format) : FLAME_FOLDED;
	if (output && !(fs->output = fs->output_copy = strdup(output)))
		goto fail;
	s->at.kind = TRACE_AT_END;
	s->write = write_flame;
	s->listen = listen_flame;
	s->data = fs;
	s->free_data = free_flame_sink;
	return reader_sink_initialize(self, s);
fail:
	free(s);
	free(fs);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
}
