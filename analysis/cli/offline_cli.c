/* SPDX-License-Identifier: MIT */
/* offline_cli.c - what the verbs reading a TRACE share: the read, its messages, exit statuses. */
#include "offline_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "trace_graph.h"

int offline_cli_read(const char *verb, const char *dir, const struct trace_at *at,
                     struct tm_model *m, uint64_t *at_ns)
{
	struct trace_reader *r = trace_reader_new(m, at, isatty(STDERR_FILENO));
	char message[1024];
	int status = COSTACK_EXIT_OK;

	if (!r) {
		fprintf(stderr, "costack %s: out of memory\n", verb);
		return COSTACK_EXIT_INPUT;
	}
	switch (trace_graph_read(dir, r, message, sizeof(message))) {
	case TRACE_GRAPH_OK:
		break;
	default:
		fprintf(stderr, "costack %s: %s\n", verb, message);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	switch (trace_reader_end(r, at_ns)) {
	case 0:
		break;
	case 1: /* TIME outside the trace */
		fprintf(stderr, "costack %s: %s\nTry 'costack %s --help'.\n", verb,
		        trace_reader_error(r), verb);
		status = COSTACK_EXIT_USAGE;
		goto end;
	default:
		fprintf(stderr, "costack %s: cannot read trace %s: %s\n", verb, dir,
		        trace_reader_error(r));
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	if (trace_reader_no_vpid(r))
		fprintf(stderr,
		        "costack %s: the trace's events lack the vpid context: all are taken as "
		        "one "
		        "process (record with `costack record`, or `lttng add-context -u -t vpid "
		        "-t vtid -t procname`)\n",
		        verb);
	if (!m->nprocs)
		fprintf(stderr,
		        "costack %s: the trace has no costack events before that time (was the "
		        "program run with COSTACK_TRACE=1, as `costack record` does?)\n",
		        verb);
	if (m->ngaps)
		fprintf(stderr,
		        "costack %s: events were lost: %" PRIu64 " events and %" PRIu64
		        " packets in %zu gaps; the tasks they may touch show as unknown\n",
		        verb, m->lost_events, m->lost_packets, m->ngaps);
end:
	trace_reader_free(r);
	return status;
}

int offline_cli_select(const char *verb, enum offline_cli_select which, const char *value,
                       struct selection *s)
{
	static const char *const why = " (seconds since the epoch, or +1.5s, +250ms, +10us, +7ns)";
	unsigned long long n;
	struct trace_at at;
	char *end;

	if (which == SELECT_FROM || which == SELECT_TO) {
		bool from = which == SELECT_FROM;

		if (trace_parse_time(value, &at))
			return cli_usage(verb, from ? "bad --from " : "bad --to ", value, why);
		*(from ? &s->has_from : &s->has_to) = true;
		*(from ? &s->from_offset : &s->to_offset) = at.kind == TRACE_AT_OFFSET;
		*(from ? &s->from_ns : &s->to_ns) = at.ns;
		return 0;
	}
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' ||
	    (which == SELECT_PID && n > INT32_MAX))
		return cli_usage(verb, which == SELECT_PID ? "bad --pid " : "bad --task ", value,
		                 which == SELECT_PID ? " (a process id)" : " (a task id)");
	if (which == SELECT_PID) {
		s->has_pid = true;
		s->pid = (int32_t)n;
	} else {
		s->has_task = true;
		s->task = n;
	}
	return 0;
}

int offline_cli_select_check(const char *verb, const struct selection *s)
{
	if (s->has_from && s->has_to && s->from_offset == s->to_offset && s->from_ns >= s->to_ns)
		return cli_usage(verb, "--from must come before --to", NULL, "");
	return 0;
}
