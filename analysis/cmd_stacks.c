/* SPDX-License-Identifier: MIT */
/* cmd_stacks.c - costack stacks PID: every task's get_stack() of a running process. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live_cli.h"
#include "live_read.h"
#include "stacks_out.h"
#include "symbolize.h"

#define MAX_TASK_OPTIONS 64

static void print_stacks_help(FILE *out)
{
	fputs("Usage: costack stacks PID [--task ID]... [--limit N] [--group]\n"
	      "                      [--format text|json]\n"
	      "\n"
	      "Print the stack of every task (coroutine) of the running process PID, as\n"
	      "asyncio's Task.get_stack() and print_stack() give them inside a Python\n"
	      "program, read from outside: PID must run under libcostack.so (costack run),\n"
	      "and is neither stopped nor signalled; nothing runs in it.\n"
	      "\n"
	      "What each task shows, oldest frame first (costack_get_stack() in PID):\n"
	      "  suspended  where it waits: its frames at its last switch-out\n"
	      "  running    the frames at which it was last resumed (its live stack\n"
	      "             cannot be read without stopping it)\n"
	      "  created    one frame: its entry function\n"
	      "  failed     the traceback of the exception that ended it, then\n"
	      "             \"type: what\"\n"
	      "  done, cancelled  no frames\n"
	      "Tasks come by id; ended tasks stay listed while PID keeps them (COSTACK_ENDED).\n"
	      "\n"
	      "Options:\n"
	      "  --task ID      Only task ID (repeatable). An ID PID does not know is an\n"
	      "                 error.\n"
	      "  --limit N      At most N frames a task: the newest N of a stack, the oldest\n"
	      "                 N of a traceback (asyncio's and the traceback module's rule).\n"
	      "                 0 (the default): all.\n"
	      "  --group        Fold the tasks that show the same state, frames and\n"
	      "                 exception into one entry, with their count and ids; the\n"
	      "                 largest groups first (Go's goroutine profile, debug=1).\n"
	      "  --format FMT   text (the default) or json.\n"
	      "  -h, --help     Show this help and exit.\n"
	      "\n"
	      "Text output: one block per task, an empty line between blocks:\n"
	      "  Stack for <Task suspended id=3 entry=worker() runtime=ucontext thread=812> (most "
	      "recent call last):\n"
	      "    File \"server.c\", line 42, in worker\n"
	      "    File \"server.c\", line 17, in wait_reply (inlined)\n"
	      "\"Traceback for\" a failed task, ending with the exception's \"type: what\";\n"
	      "\"No stack for\" a task without frames; a frame without line information\n"
	      "shows its module and offset. --group starts each block with\n"
	      "\"N tasks (ids a, b, ...):\" and shows the first task of the group.\n"
	      "\n"
	      "JSON output, schema costack.stacks/1 (the same for a recorded trace):\n"
	      "  {\"schema\": \"costack.stacks/1\", \"at\": \"<seconds>.<9 digits>\",\n"
	      "   \"tasks\": [{\"id\", \"name\", \"state\", \"runtime\", \"thread\", \"since\",\n"
	      "              \"exception\": {\"type\", \"what\"} | null,\n"
	      "              \"frames\": [{\"address\", \"function\", \"module\", \"offset\",\n"
	      "                          \"file\", \"line\", \"inlined\"}]}]}\n"
	      "frames oldest first, one per source-level function (an inlined function\n"
	      "shares its caller's address); unknown values are null; \"exception\" is a\n"
	      "failed task's; times are CLOCK_REALTIME; \"address\" and \"offset\" (in the\n"
	      "module, as addr2line -e takes it) are \"0x...\" strings. With --group each\n"
	      "entry also has \"count\" and \"ids\" (all its tasks' ids).\n"
	      "\n"
	      "Permissions: reading PID needs the right to debug it (ptrace access mode\n"
	      "read): the same user with /proc/sys/kernel/yama/ptrace_scope at 0 (1: only\n"
	      "its ancestors), or root.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  Success (tasks changing too fast to read, or failing validation, are\n"
	      "     left out with a warning on stderr).\n"
	      "  2  Usage error; a TRACE argument (not a PID), which needs `costack record`.\n"
	      "  3  No such process or task, permission denied, PID not running under\n"
	      "     libcostack.so, or an unreadable registry.\n"
	      "\n"
	      "Examples:\n"
	      "  costack stacks 4242\n"
	      "  costack stacks 4242 --group --limit 8\n"
	      "  costack stacks 4242 --task 17 --format json\n",
	      out);
}

/* "costack stacks: BEFORE'ARG'AFTER" (no quotes without ARG), and where help is. */
static int usage(const char *before, const char *arg, const char *after)
{
	return live_cli_usage("stacks", before, arg, after);
}

static bool parse_count(const char *arg, long long max, long long *value)
{
	char *end;

	errno = 0;
	*value = strtoll(arg, &end, 10);
	return !errno && end != arg && !*end && *value >= 0 && *value <= max && arg[0] != '-' &&
	       arg[0] != '+';
}

int command_stacks(int argc, char **argv)
{
	static const struct option options[] = {
	        {"task", required_argument, NULL, 't'},
	        {"limit", required_argument, NULL, 'l'},
	        {"group", no_argument, NULL, 'g'},
	        {"format", required_argument, NULL, 'f'},
	        {"at", required_argument, NULL, 'a'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	uint64_t task_ids[MAX_TASK_OPTIONS];
	size_t ntask_ids = 0;
	long long value;
	int limit = 0;
	bool group = false, json = false;
	struct live_snapshot snap = {0};
	struct stacks_task *tasks = NULL;
	struct symbolizer *sym = NULL;
	struct stacks_report report;
	pid_t pid;
	int c, status;

	optind = 0; /* a fresh scan of this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!parse_count(optarg, INT64_MAX, &value) || !value)
				return usage("bad task id ", optarg, "");
			if (ntask_ids == MAX_TASK_OPTIONS)
				return usage("too many --task options (at most 64): ", optarg, "");
			task_ids[ntask_ids++] = (uint64_t)value;
			break;
		case 'l':
			if (!parse_count(optarg, INT_MAX, &value))
				return usage("bad limit ", optarg, " (a number of frames, 0: all)");
			limit = (int)value;
			break;
		case 'g':
			group = true;
			break;
		case 'f':
			if (live_cli_format("stacks", optarg, &json))
				return COSTACK_EXIT_USAGE;
			break;
		case 'a':
			return usage("--at ", optarg,
			             " needs a TRACE (a recording); a live PID has only now");
		case 'h':
			print_stacks_help(stdout);
			return COSTACK_EXIT_OK;
		case ':':
			return usage("option ", argv[optind - 1], " needs a value");
		default:
			return usage("unknown option ", argv[optind - 1], "");
		}
	}
	if (optind >= argc)
		return usage("no PID given", NULL, "");
	if (optind + 1 < argc)
		return usage("unexpected argument ", argv[optind + 1], "");
	if (!live_cli_parse_pid(argv[optind], &pid)) {
		fprintf(stderr,
		        "costack stacks: '%s' is not a PID; reading a TRACE needs `costack "
		        "record`, "
		        "which is not there yet\nTry 'costack stacks --help'.\n",
		        argv[optind]);
		return COSTACK_EXIT_USAGE;
	}

	status = live_cli_read("stacks", pid, &snap);
	if (status != COSTACK_EXIT_OK)
		goto end;
	tasks = calloc(snap.ntasks ? snap.ntasks : 1, sizeof(*tasks));
	if (!tasks) {
		fputs("costack stacks: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	report = (struct stacks_report){.at_ns = snap.at_ns, .tasks = tasks, .group = group};
	for (size_t i = 0; i < snap.ntasks; i++) {
		bool wanted = !ntask_ids;

		for (size_t j = 0; j < ntask_ids && !wanted; j++)
			wanted = task_ids[j] == snap.tasks[i].id;
		if (wanted)
			live_cli_stacks_task(&snap.tasks[i], limit, &tasks[report.ntasks++]);
	}
	for (size_t j = 0; j < ntask_ids; j++) {
		bool found = false;

		for (size_t i = 0; i < report.ntasks && !found; i++)
			found = tasks[i].id == task_ids[j];
		if (!found) {
			fprintf(stderr, "costack stacks: process %d has no task %" PRIu64 "%s\n",
			        (int)pid, task_ids[j],
			        snap.busy ? " (or it changed at every try)" : "");
			status = COSTACK_EXIT_INPUT;
			goto end;
		}
	}
	sym = symbolizer_new_pid(pid);
	report.symbolize = sym ? live_cli_symbolize : NULL;
	report.ctx = sym;
	if ((json ? stacks_write_json : stacks_write_text)(stdout, &report)) {
		fprintf(stderr, "costack stacks: cannot write the output: %s\n", strerror(errno));
		status = COSTACK_EXIT_INPUT;
	}
end:
	symbolizer_destroy(sym);
	free(tasks);
	live_snapshot_free(&snap);
	return status;
}
