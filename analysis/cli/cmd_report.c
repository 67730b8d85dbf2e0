/* SPDX-License-Identifier: MIT */
/* cmd_report.c - costack report TRACE: each task's life and fate, exceptions, the longest waits. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offline_cli.h"
#include "options.h"
#include "report.h"

static void print_report_help(FILE *out)
{
	fputs("Usage: costack report TRACE [--top N] [--format text|json]\n"
	      "\n"
	      "Summarise a recorded run (`costack record -o TRACE`, a directory of LTTng CTF\n"
	      "traces), task by task:\n"
	      "  - the trace: its span, its costack events, its processes and tasks;\n"
	      "  - lost events, said plainly: how many, in which gaps of which buffer, and\n"
	      "    what that does to the rest (see below);\n"
	      "  - per process, each task: its runtime, when it was made (+offset from the\n"
	      "    trace's start; \"before\": before the recording), its lifetime (to its\n"
	      "    end, or to the trace's end), its fate (done, failed, cancelled; or the\n"
	      "    state it was left in at the trace's end), its switches (times it was\n"
	      "    switched in), its time running and suspended, and its raises;\n"
	      "  - each task's exceptions: type, message, how many times, when, the task it\n"
	      "    was first thrown in, and where it was raised, symbolized (most recent\n"
	      "    call last);\n"
	      "  - the suspension stacks where tasks waited longest in total (the time from\n"
	      "    each switch away to the next switch back, or to the task's end, or to the\n"
	      "    trace's end), with how many suspensions each.\n"
	      "\n"
	      "Lost events: LTTng drops events when its buffers are full and records how\n"
	      "many were dropped, and when. A buffer is shared by the threads on one CPU,\n"
	      "and threads move between CPUs, so a gap may hold any task's events: every\n"
	      "task alive during a gap is marked * and its figures count only what was\n"
	      "recorded; `costack stacks` shows such a task as unknown until an event after\n"
	      "the gap tells its state again. Record with larger sub-buffers (lttng\n"
	      "enable-channel --subbuf-size) to lose none.\n"
	      "\n"
	      "Options:\n"
	      "  --top N        Show the N longest-waited-at suspension stacks (default 10;\n"
	      "                 any number: all there are, at most).\n"
	      "  --format FMT   text (the default) or json (schema costack.report/1: trace,\n"
	      "                 start, end, events, lost {events, packets, gaps}, processes\n"
	      "                 [{pid, name, tasks [{id, name, runtime, entry, created,\n"
	      "                 ended, lifetime_ns, fate, switches, running_ns, suspended_ns,\n"
	      "                 raises, lost_events_may_touch, exceptions [{type, what,\n"
	      "                 forced, count, first, last, origin, frames}]}]}], waits\n"
	      "                 [{pid, total_ns, waits, frames}]; times are\n"
	      "                 \"<seconds>.<9 digits>\", frames as costack.stacks/1's).\n"
	      "  -h, --help     Show this help and exit.\n"
	      "\n"
	      "A long read shows its progress on stderr when that is a terminal.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  Success (lost events are told in the report).\n"
	      "  2  Usage error.\n"
	      "  3  No such TRACE directory, no trace in it, an unreadable trace.\n"
	      "\n"
	      "Examples:\n"
	      "  costack record -o trace -- ./server\n"
	      "  costack report trace\n"
	      "  costack report trace --format json --top 3\n",
	      out);
}

enum { OPT_TOP, OPT_FORMAT }; /* report's options, in the order of its table */

static int report_option(void *ctx, int option, const char *value)
{
	struct report_options *o = ctx;
	char *end;

	if (option == OPT_FORMAT)
		return cli_format("report", value, &o->json);
	errno = 0;
	o->top = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-')
		return cli_usage("report", "bad --top ", value, " (a number of stacks)");
	return 0;
}

int command_report(int argc, char **argv)
{
	static const struct cli_option options[] = {
	        [OPT_TOP] = {"top", 0, true}, [OPT_FORMAT] = {"format", 0, true}, {NULL, 0, false}};
	static const struct cli_verb verb = {"report", options, print_report_help,
	                                     "TRACE",  false,   false};
	struct report_options o = {.top = 10};
	struct trace_at at = {.kind = TRACE_AT_END};
	struct tm_model m;
	struct report_times times;
	uint64_t at_ns;
	int operand, status;

	status = cli_parse(&verb, argc, argv, report_option, &o, &operand);
	if (status != CLI_GO_ON)
		return status;
	o.trace = argv[operand];
	tm_model_init(&m);
	report_listen(&times, &m);
	status = offline_cli_read("report", o.trace, &at, &m, &at_ns);
	if (status == COSTACK_EXIT_OK && report_write(stdout, &m, &times, &o)) {
		fprintf(stderr, "costack report: cannot write the report: %s\n",
		        errno ? strerror(errno) : "out of memory");
		status = COSTACK_EXIT_INPUT;
	}
	report_times_free(&times);
	tm_model_free(&m);
	return status;
}
