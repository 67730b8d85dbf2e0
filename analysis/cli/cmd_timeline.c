/* SPDX-License-Identifier: MIT */
/* cmd_timeline.c - costack timeline TRACE: every task's life as Chrome trace-event JSON. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offline_cli.h"
#include "options.h"
#include "timeline.h"

static void print_timeline_help(FILE *out)
{
	fputs("Usage: costack timeline TRACE [--pid PID] [--task ID] [--from TIME] [--to TIME]\n"
	      "                        [-o FILE]\n"
	      "\n"
	      "Every task of a recorded run (`costack record -o TRACE`) on a timeline, as Chrome\n"
	      "trace-event JSON: open it in Perfetto UI (ui.perfetto.dev, \"Open trace file\";\n"
	      "it runs in the browser, the file is not uploaded) or chrome://tracing.\n"
	      "\n"
	      "  - One track per task, grouped under its process (pid, named by the process\n"
	      "    name), named \"NAME (task ID)\" by the task's name, else its entry function\n"
	      "    (the user's function behind a runtime's start code; a thread's root task:\n"
	      "    [thread TID]), in the order of the task ids.\n"
	      "  - A slice for each interval a task was suspended (category \"suspended\"),\n"
	      "    named by the innermost frame of the program's own where it waited; its\n"
	      "    args hold the whole stack, oldest frame first, symbolized with inlined\n"
	      "    frames (\"function (file:line)\").\n"
	      "  - A slice for each interval it ran (category \"running\"), named \"run after\n"
	      "    PLACE\" by the place it was resumed from (a first run: \"run from ENTRY\"),\n"
	      "    the stack in args (resumed_from).\n"
	      "  - Every slice's args say the OS thread it ran on (thread; a suspended one: the\n"
	      "    thread it last ran on), whether its stack was truncated at costack's depth,\n"
	      "    and open: still so when the trace ended (it lasts to the trace's end).\n"
	      "  - Instants: \"raise TYPE\" for each exception raised (type, what(), raise\n"
	      "    number, thread, stack) and \"end: FATE\" when a task ended (done, failed\n"
	      "    with its exception, cancelled).\n"
	      "  - Flow arrows (category \"switch\") from the task that switched to the task\n"
	      "    it resumed, with the thread of the switch.\n"
	      "  - Lost events: each gap LTTng recorded is a slice \"N events lost\" on the\n"
	      "    track of the pseudo process 0, \"lost events\", and a global instant; an\n"
	      "    interval such a gap may cut is a slice \"unknown (events lost)\" (category\n"
	      "    \"unknown\") instead of a named one.\n"
	      "\n"
	      "Times are microseconds from the trace's first event, exact to the nanosecond\n"
	      "(displayTimeUnit ns); otherData holds schema costack.timeline/1, the trace's\n"
	      "start and end (ns since the epoch) and the events lost.\n"
	      "\n"
	      "Large traces: events are written as the trace is read, nothing is kept but the\n"
	      "model (tasks and distinct stacks) and one text per distinct stack; the memory\n"
	      "does not grow with the trace's length. The output does: about 300 bytes per\n"
	      "interval plus 30 to 80 bytes per stack frame (each slice carries its stack),\n"
	      "and about 200 bytes per switch for its flow arrow; roughly 1 KB per recorded\n"
	      "switch with 5-frame stacks. Narrow it with --pid, --task, --from and --to.\n"
	      "\n"
	      "Options:\n"
	      "  --pid PID     Only the tasks of process PID.\n"
	      "  --task ID     Only task ID (arrows only between tasks shown).\n"
	      "  --from TIME   Only from TIME on (slices across it are cut there). TIME is\n"
	      "                seconds since the epoch (`date +%s.%N`) or an offset from the\n"
	      "                trace's start (+1.5s, +250ms, +10us, +7ns).\n"
	      "  --to TIME     Only up to TIME.\n"
	      "  -o, --output FILE\n"
	      "                Write to FILE instead of standard output (removed again if the\n"
	      "                trace cannot be read).\n"
	      "  -h, --help    Show this help and exit.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  Success (lost events are told on stderr and in the output).\n"
	      "  2  Usage error.\n"
	      "  3  No such TRACE directory, no trace in it, an unreadable trace; FILE cannot\n"
	      "     be written.\n"
	      "\n"
	      "Examples:\n"
	      "  costack record -o trace -- ./server\n"
	      "  costack timeline trace -o server.json    # then open it in Perfetto UI\n"
	      "  costack timeline trace --from +2s --to +2.5s --pid 4242 -o window.json\n",
	      out);
}

struct timeline_cli {
	struct timeline_options o;
	const char *output;
};

enum { OPT_PID, OPT_TASK, OPT_FROM, OPT_TO, OPT_OUTPUT };
_Static_assert(OPT_TASK - OPT_PID == SELECT_TASK && OPT_FROM - OPT_PID == SELECT_FROM &&
                       OPT_TO - OPT_PID == SELECT_TO,
               "--pid, --task, --from and --to in offline_cli_select's order");

static int timeline_option(void *ctx, int option, const char *value)
{
	struct timeline_cli *c = ctx;

	if (option == OPT_OUTPUT) {
		c->output = value;
		return 0;
	}
	return offline_cli_select("timeline", (enum offline_cli_select)(option - OPT_PID), value,
	                          &c->o.sel);
}

int command_timeline(int argc, char **argv)
{
	static const struct cli_option options[] = {
	        [OPT_PID] = {"pid", 0, true},         [OPT_TASK] = {"task", 0, true},
	        [OPT_FROM] = {"from", 0, true},       [OPT_TO] = {"to", 0, true},
	        [OPT_OUTPUT] = {"output", 'o', true}, {NULL, 0, false}};
	static const struct cli_verb verb = {"timeline", options, print_timeline_help,
	                                     "TRACE",    false,   false};
	struct timeline_cli c = {0};
	struct trace_at at = {.kind = TRACE_AT_END};
	struct timeline tl;
	struct tm_model m;
	FILE *out = stdout;
	uint64_t at_ns;
	int operand, status;

	status = cli_parse(&verb, argc, argv, timeline_option, &c, &operand);
	if (status != CLI_GO_ON)
		return status;
	status = offline_cli_select_check("timeline", &c.o.sel);
	if (status)
		return status;
	if (c.output && !(out = fopen(c.output, "w"))) {
		fprintf(stderr, "costack timeline: cannot write %s: %s\n", c.output,
		        strerror(errno));
		return COSTACK_EXIT_INPUT;
	}
	tm_model_init(&m);
	if (timeline_listen(&tl, &m, out, &c.o)) {
		fputs("costack timeline: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	status = offline_cli_read("timeline", argv[operand], &at, &m, &at_ns);
	if (status == COSTACK_EXIT_OK && timeline_finish(&tl)) {
		fprintf(stderr, "costack timeline: cannot write the timeline: %s\n",
		        errno ? strerror(errno) : "out of memory");
		status = COSTACK_EXIT_INPUT;
	}
	if (status == COSTACK_EXIT_OK)
		fprintf(stderr,
		        "costack timeline: %" PRIu64 " slices, %" PRIu64 " arrows, %" PRIu64
		        " instants, %" PRIu64 " gaps of lost events\n",
		        tl.slices, tl.flows, tl.instants, tl.gaps);
end:
	timeline_free(&tl);
	tm_model_free(&m);
	if (out != stdout && fclose(out) && status == COSTACK_EXIT_OK) {
		fprintf(stderr, "costack timeline: cannot write %s: %s\n", c.output,
		        strerror(errno));
		status = COSTACK_EXIT_INPUT;
	}
	if (status != COSTACK_EXIT_OK && c.output)
		unlink(c.output);
	return status;
}
