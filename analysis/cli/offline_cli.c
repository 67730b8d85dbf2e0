/* SPDX-License-Identifier: MIT */
/* offline_cli.c - what the verbs reading a TRACE share: the read, its messages, exit statuses. */
#include "offline_cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
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
