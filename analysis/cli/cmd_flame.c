/* SPDX-License-Identifier: MIT */
/* cmd_flame.c - costack flame TRACE...: where tasks waited (or ran), weighted by time. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flame.h"
#include "offline_cli.h"
#include "options.h"
#include "output.h"

static void print_flame_help(FILE *out)
{
	fputs("Usage: costack flame TRACE... [--wait | --run | --both]\n"
	      "                     [--format folded|speedscope|pprof|svg] [--by task|entry|none]\n"
	      "                     [--pid PID] [--task ID] [--from TIME] [--to TIME] [-o FILE]\n"
	      "\n"
	      "A profile of where the tasks of recorded runs (`costack record -o TRACE`) spent\n"
	      "their time, per coroutine: each interval a task spent suspended (or running)\n"
	      "weighs its length in nanoseconds on the stack it was suspended at (or resumed\n"
	      "from). Thread profilers (perf off-CPU, offcputime, wall-clock samplers) charge\n"
	      "a coroutine's waiting to its scheduler thread, which never blocks; this one\n"
	      "charges it to the coroutine and the place it waited.\n"
	      "\n"
	      "Kinds:\n"
	      "  --wait   (the default) every interval a task spent suspended, on the stack it\n"
	      "           was suspended at: where tasks wait, and for how long in total. A task\n"
	      "           still suspended when the trace ends counts until the trace's end.\n"
	      "  --run    every interval a task ran, on the stack it was resumed from (the\n"
	      "           work done after waking at that place); a first run is under the\n"
	      "           task's entry function. A task still running at the end counts until\n"
	      "           the end too.\n"
	      "  --both   one profile, its root frames \"wait\" and \"run\".\n"
	      "\n"
	      "Stacks are symbolized as `costack stacks` does (the recorded modules, their\n"
	      "build IDs and debug files), oldest frame first, each return address giving its\n"
	      "inlined functions too; an address costack cannot name shows as MODULE+0xOFFSET\n"
	      "or 0xADDRESS. A stack cut at costack's depth (COSTACK_DEPTH) starts with\n"
	      "[truncated].\n"
	      "\n"
	      "Lost events: an interval that events lost by LTTng may cut (a gap came during\n"
	      "it, or before it and nothing told the task's state again), or whose stack is\n"
	      "unknown, is left out; how many nanoseconds were left out is said on stderr, and\n"
	      "in the output where the format has room (speedscope's name, pprof's comments,\n"
	      "the SVG's subtitle). Folded output has none: read stderr.\n"
	      "\n"
	      "Several TRACEs (repeated runs of one program) are merged into one profile;\n"
	      "--from and --to then apply to each.\n"
	      "\n"
	      "Options:\n"
	      "  --format FMT  folded (the default): one line per stack, \"a;b;c NANOSECONDS\",\n"
	      "                oldest frame first, as Brendan Gregg's flamegraph.pl and\n"
	      "                inferno-flamegraph read it.\n"
	      "                speedscope: speedscope's JSON file format (open it in\n"
	      "                speedscope as it is), one sampled profile per task (--by task),\n"
	      "                per entry function (--by entry) or per kind, unit nanoseconds.\n"
	      "                pprof: profile.proto, gzip-compressed, for `go tool pprof` and\n"
	      "                `pprof -http=:8080`: sample types suspensions/count and\n"
	      "                wait/nanoseconds (--run: resumes/count, run/nanoseconds;\n"
	      "                --both: intervals/count, time/nanoseconds, the kind as root\n"
	      "                frame), labels task_id, task_name, runtime, entry and pid\n"
	      "                (`go tool pprof -tagfocus task_name=worker`). Not written to a\n"
	      "                terminal: use -o FILE or a pipe.\n"
	      "                svg: a flame graph in one self-contained SVG file, for any\n"
	      "                browser, offline: hover shows a frame's function, time and\n"
	      "                share; a click zooms into a frame (\"Reset zoom\" or Escape to\n"
	      "                go back); Search (or Ctrl-F) highlights the functions matching\n"
	      "                a regular expression and says what share of the time they\n"
	      "                hold.\n"
	      "  --by WHAT     task (the default): a root frame per task, \"NAME (task ID)\",\n"
	      "                its name if it has one, else its entry function (the user's\n"
	      "                function behind a runtime's start code; a thread's root task:\n"
	      "                [thread TID]). entry: a root frame per entry function, the\n"
	      "                tasks of one kind merged. none: all tasks merged.\n"
	      "  --pid PID     Only the tasks of process PID.\n"
	      "  --task ID     Only task ID (of every process; with --pid, of that one).\n"
	      "  --from TIME   Only the time from TIME on: an interval across it counts from\n"
	      "                TIME. TIME is seconds since the epoch (`date +%s.%N`) or an\n"
	      "                offset from the trace's start (+1.5s, +250ms, +10us, +7ns).\n"
	      "  --to TIME     Only the time up to TIME.\n"
	      "  -o, --output FILE\n"
	      "                Write to FILE instead of standard output.\n"
	      "  -h, --help    Show this help and exit.\n"
	      "\n"
	      "On stderr, after the profile: the time counted and the intervals left out.\n"
	      "Memory is that of the trace model (its tasks and distinct stacks) plus one\n"
	      "counter per task and stack: flat in the trace's length.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  Success (lost events are told on stderr).\n"
	      "  2  Usage error.\n"
	      "  3  No such TRACE directory, no trace in it, an unreadable trace; FILE cannot\n"
	      "     be written.\n"
	      "\n"
	      "Examples:\n"
	      "  costack record -o run1 -- ./server\n"
	      "  costack flame run1 > waits.folded && flamegraph.pl waits.folded > waits.svg\n"
	      "  costack flame run1 --format svg -o waits.svg      # open it in a browser\n"
	      "  costack flame run1 run2 run3 --by entry --format pprof -o waits.pb.gz\n"
	      "  go tool pprof -top waits.pb.gz\n"
	      "  costack flame run1 --both --format speedscope -o run1.speedscope.json\n"
	      "  costack flame run1 --run --task 7 --from +2s --to +3s\n",
	      out);
}

struct flame_cli {
	struct flame_options o;
	enum flame_format format;
	const char *output;
	int kinds_given;
};

enum {
	OPT_WAIT,
	OPT_RUN,
	OPT_BOTH,
	OPT_FORMAT,
	OPT_BY,
	OPT_PID,
	OPT_TASK,
	OPT_FROM,
	OPT_TO,
	OPT_OUTPUT
};
_Static_assert(OPT_TASK - OPT_PID == SELECT_TASK && OPT_FROM - OPT_PID == SELECT_FROM &&
                       OPT_TO - OPT_PID == SELECT_TO,
               "--pid, --task, --from and --to in offline_cli_select's order");

static int flame_option(void *ctx, int option, const char *value)
{
	struct flame_cli *c = ctx;

	switch (option) {
	case OPT_WAIT:
	case OPT_RUN:
	case OPT_BOTH:
		if (c->kinds_given++)
			return cli_usage("flame", "give one of --wait, --run and --both", NULL, "");
		c->o.wait = option != OPT_RUN;
		c->o.run = option != OPT_WAIT;
		return 0;
	case OPT_FORMAT:
		if (flame_format_of(value) < 0)
			return cli_usage("flame", "unknown format ", value,
			                 " (folded, speedscope, pprof or svg)");
		c->format = (enum flame_format)flame_format_of(value);
		return 0;
	case OPT_BY:
		if (!strcmp(value, "task"))
			c->o.by = FLAME_BY_TASK;
		else if (!strcmp(value, "entry"))
			c->o.by = FLAME_BY_ENTRY;
		else if (!strcmp(value, "none"))
			c->o.by = FLAME_BY_NONE;
		else
			return cli_usage("flame", "bad --by ", value, " (task, entry or none)");
		return 0;
	case OPT_PID:
	case OPT_TASK:
	case OPT_FROM:
	case OPT_TO:
		return offline_cli_select("flame", (enum offline_cli_select)(option - OPT_PID),
		                          value, &c->o.sel);
	default:
		c->output = value;
		return 0;
	}
}

/* The profile in c's format to out; the SVG titled by the kinds and the traces. */
static int write_profile(FILE *out, const struct flame_cli *c, const struct flame_profile *p,
                         char **traces, int ntraces)
{
	char title[512];
	size_t len;

	snprintf(title, sizeof(title), "costack %s: ",
	         p->o.wait && p->o.run ? "wait and run"
	         : p->o.run            ? "run"
	                               : "wait");
	for (int i = 0; i < ntraces && (len = strlen(title)) < sizeof(title) - 1; i++)
		snprintf(title + len, sizeof(title) - len, "%s%s", i ? ", " : "", traces[i]);
	return flame_write(out, p, c->format, title);
}

int command_flame(int argc, char **argv)
{
	static const struct cli_option options[] = {[OPT_WAIT] = {"wait", 0, false},
	                                            [OPT_RUN] = {"run", 0, false},
	                                            [OPT_BOTH] = {"both", 0, false},
	                                            [OPT_FORMAT] = {"format", 0, true},
	                                            [OPT_BY] = {"by", 0, true},
	                                            [OPT_PID] = {"pid", 0, true},
	                                            [OPT_TASK] = {"task", 0, true},
	                                            [OPT_FROM] = {"from", 0, true},
	                                            [OPT_TO] = {"to", 0, true},
	                                            [OPT_OUTPUT] = {"output", 'o', true},
	                                            {NULL, 0, false}};
	static const struct cli_verb verb = {"flame", options, print_flame_help,
	                                     "TRACE", false,   true};
	struct flame_cli c = {.o = {.wait = true, .by = FLAME_BY_TASK}};
	struct trace_at at = {.kind = TRACE_AT_END};
	struct flame_profile p;
	FILE *out = stdout;
	int operand, status;
	char a[16], b[16];

	status = cli_parse(&verb, argc, argv, flame_option, &c, &operand);
	if (status != CLI_GO_ON)
		return status;
	status = offline_cli_select_check("flame", &c.o.sel);
	if (status)
		return status;
	if (c.format == FLAME_PPROF && !c.output && isatty(STDOUT_FILENO)) {
		fputs("costack flame: a pprof profile is binary (gzip): not written to a terminal; "
		      "use -o FILE or a pipe\n",
		      stderr);
		return COSTACK_EXIT_USAGE;
	}
	flame_profile_init(&p, &c.o);
	for (int i = operand; i < argc; i++) {
		struct tm_model m;
		struct flame_counts counts;
		uint64_t at_ns;

		tm_model_init(&m);
		flame_listen(&counts, &p, &m);
		status = offline_cli_read("flame", argv[i], &at, &m, &at_ns);
		if (status == COSTACK_EXIT_OK && flame_add_trace(&counts, &m))
			status = COSTACK_EXIT_INPUT;
		else if (status != COSTACK_EXIT_OK)
			flame_counts_free(&counts);
		tm_model_free(&m);
		if (status != COSTACK_EXIT_OK)
			goto end;
	}
	if (p.out_of_memory) {
		fputs("costack flame: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	if (c.output && !(out = fopen(c.output, c.format == FLAME_PPROF ? "wb" : "w"))) {
		fprintf(stderr, "costack flame: cannot write %s: %s\n", c.output, strerror(errno));
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	if (write_profile(out, &c, &p, argv + operand, argc - operand) ||
	    (out != stdout && fclose(out))) {
		fprintf(stderr, "costack flame: cannot write the profile: %s\n",
		        errno ? strerror(errno) : "out of memory");
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	fprintf(stderr, "costack flame: %s",
	        format_duration(p.total_ns[0] + p.total_ns[1], a, sizeof(a)));
	fprintf(stderr, " in %" PRIu64 " intervals of %zu tasks in %" PRIu32 " trace%s",
	        p.intervals[0] + p.intervals[1], p.ntasks, p.traces, p.traces == 1 ? "" : "s");
	if (p.unknown_intervals[0] + p.unknown_intervals[1])
		fprintf(stderr,
		        "; %" PRIu64 " ns (%s) in %" PRIu64
		        " intervals left out: lost events may cut them",
		        p.unknown_ns[0] + p.unknown_ns[1],
		        format_duration(p.unknown_ns[0] + p.unknown_ns[1], b, sizeof(b)),
		        p.unknown_intervals[0] + p.unknown_intervals[1]);
	fputs("\n", stderr);
end:
	flame_profile_free(&p);
	return status;
}
