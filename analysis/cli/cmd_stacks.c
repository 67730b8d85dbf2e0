/* SPDX-License-Identifier: MIT */
/* cmd_stacks.c - costack stacks PID: every task's get_stack() of a running process. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live_cli.h"
#include "live_read.h"
#include "offline_cli.h"
#include "offline_stacks.h"
#include "options.h"
#include "stacks_out.h"
#include "symbolize.h"

#define MAX_TASK_OPTIONS 64
#define MAX_PID_OPTIONS 64

static void print_stacks_help(FILE *out)
{
	fputs("Usage: costack stacks PID [--task ID]... [--limit N] [--group]\n"
	      "                      [--format text|json]\n"
	      "       costack stacks TRACE [--at TIME] [--task ID]... [--pid PID]...\n"
	      "                      [--limit N] [--group] [--format text|json]\n"
	      "\n"
	      "Print the stack of every task (coroutine), as asyncio's Task.get_stack() and\n"
	      "print_stack() give them inside a Python program:\n"
	      "  PID    of a running process, read from outside: PID must run under\n"
	      "         libcostack.so (costack run), and is neither stopped nor signalled;\n"
	      "         nothing runs in it.\n"
	      "  TRACE  of a recorded run (`costack record -o TRACE`, a directory of LTTng\n"
	      "         CTF traces), at any moment of it (--at): what costack_get_stack()\n"
	      "         gave in the process then. An argument of digits only is a PID;\n"
	      "         write a trace directory named so as ./NAME.\n"
	      "\n"
	      "What each task shows, oldest frame first (costack_get_stack() in the process):\n"
	      "  suspended  where it waits: its frames at its last switch-out\n"
	      "  running    the frames at which it was last resumed (its live stack\n"
	      "             cannot be read without stopping it; a task never suspended\n"
	      "             shows its entry function)\n"
	      "  created    one frame: its entry function\n"
	      "  failed     the traceback of the exception that ended it, then\n"
	      "             \"type: what\"\n"
	      "  done, cancelled  no frames\n"
	      "  unknown    (a TRACE only) events were lost that may have changed it: after\n"
	      "             a gap every task not ended is unknown until an event after the\n"
	      "             gap tells its state and stack again (a switch away from it, its\n"
	      "             end, or a switch to it when it was known before); a stack\n"
	      "             whose definition was lost is unknown too. Never a guess. Such a\n"
	      "             TRACE's output starts with the events lost before TIME: a task\n"
	      "             whose every event was lost is missing.\n"
	      "Tasks come by id; a live process keeps its ended tasks while it can\n"
	      "(COSTACK_ENDED), a trace has them all. With several processes in a TRACE,\n"
	      "tasks come by process, and each one names its process (\"pid\").\n"
	      "\n"
	      "Options:\n"
	      "  --at TIME      (TRACE) The moment to show: seconds since the epoch, as\n"
	      "                 `date +%s.%N` prints them (1795542309.164005327; exact to the\n"
	      "                 nanosecond), or an offset from the trace's start: +1.5s,\n"
	      "                 +250ms, +10us, +700ns (+2 is seconds). Default: the trace's\n"
	      "                 end. A TIME outside the trace is an error.\n"
	      "  --task ID      Only task ID (repeatable); in a TRACE, in every process\n"
	      "                 that has one. An ID not there is an error.\n"
	      "  --pid PID      (TRACE) Only the tasks of process PID (repeatable).\n"
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
	      "\"No stack for\" a task without frames; \"Unknown stack for\" an unknown one;\n"
	      "a frame without line information shows its module and offset. --group\n"
	      "starts each block with \"N tasks (ids a, b, ...):\" and shows the first task\n"
	      "of the group. A TRACE of several processes has a \"Process PID (NAME):\" line\n"
	      "before each one's tasks.\n"
	      "\n"
	      "JSON output, schema costack.stacks/1 (the same for a PID and a TRACE):\n"
	      "  {\"schema\": \"costack.stacks/1\", \"at\": \"<seconds>.<9 digits>\",\n"
	      "   \"tasks\": [{\"id\", \"name\", \"state\", \"runtime\", \"thread\", \"since\",\n"
	      "              \"exception\": {\"type\", \"what\"} | null,\n"
	      "              \"frames\": [{\"address\", \"function\", \"module\", \"offset\",\n"
	      "                          \"file\", \"line\", \"inlined\"}]}]}\n"
	      "frames oldest first, one per source-level function (an inlined function\n"
	      "shares its caller's address); unknown values are null; \"exception\" is a\n"
	      "failed task's; times are CLOCK_REALTIME; \"address\" and \"offset\" (in the\n"
	      "module, as addr2line -e takes it) are \"0x...\" strings. A TRACE's tasks also\n"
	      "have \"pid\", their process, and a TRACE's output \"lost\": {\"events\",\n"
	      "\"packets\", \"gaps\"} after \"at\", lost before it. With --group each entry also\n"
	      "has \"count\" and \"ids\" (all its tasks' ids).\n"
	      "\n"
	      "Symbols of a TRACE come from the modules it recorded (lttng_ust_statedump and\n"
	      "lttng_ust_dl events, which `costack record` enables): each binary where it was\n"
	      "if its build ID is still the recorded one, else its debug file by build ID\n"
	      "(/usr/lib/debug/.build-id/) or by debug link (next to it, in .debug/, under\n"
	      "/usr/lib/debug/); a module found nowhere shows its path and offset.\n"
	      "\n" LIVE_CLI_HELP_PERMISSIONS "\n"
	      "Exit status:\n"
	      "  0  Success (tasks changing too fast to read, or failing validation, are\n"
	      "     left out with a warning on stderr; lost events are told on stderr).\n"
	      "  2  Usage error: a bad option or TIME, --at outside the TRACE.\n"
	      "  3  No such process or task, permission denied, PID not running under\n"
	      "     libcostack.so, or an unreadable registry; no such TRACE directory, no\n"
	      "     trace in it, an unreadable trace (corrupt, not of costack's schema, or\n"
	      "     one babeltrace2 crashes or hangs on: costack says so within seconds).\n"
	      "\n"
	      "Examples:\n"
	      "  costack stacks 4242\n"
	      "  costack stacks 4242 --group --limit 8\n"
	      "  costack stacks 4242 --task 17 --format json\n"
	      "  costack stacks ./trace --at +1.5s\n"
	      "  costack stacks ./trace --at $(date +%s.%N) --format json\n",
	      out);
}

/* "costack stacks: BEFORE'ARG'AFTER" (no quotes without ARG), and where help is. */
static int usage(const char *before, const char *arg, const char *after)
{
	return cli_usage("stacks", before, arg, after);
}

static bool parse_count(const char *arg, long long max, long long *value)
{
	char *end;

	errno = 0;
	*value = strtoll(arg, &end, 10);
	return !errno && end != arg && !*end && *value >= 0 && *value <= max && arg[0] != '-' &&
	       arg[0] != '+';
}

/* Digits only are a PID: whether there is no such process, but a directory of that name (a
 * trace, which ./NAME reads). */
static bool no_process_but_directory(pid_t pid, const char *arg)
{
	char proc[32];
	struct stat st;

	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	return access(proc, F_OK) < 0 && errno == ENOENT && stat(arg, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* costack stacks TRACE: the tasks of a recording at a time. */
static int stacks_of_trace(const char *dir, const struct trace_at *at,
                           const struct offline_stacks_options *o)
{
	struct tm_model m;
	uint64_t at_ns;
	char message[512];
	int status;

	tm_model_init(&m);
	status = offline_cli_read("stacks", dir, at, &m, &at_ns);
	if (status != COSTACK_EXIT_OK)
		goto end;
	switch (offline_stacks_write(stdout, &m, at_ns, o, message, sizeof(message))) {
	case OFFLINE_STACKS_OK:
		break;
	case OFFLINE_STACKS_NO_TASK:
		fprintf(stderr, "costack stacks: %s\n", message);
		status = COSTACK_EXIT_INPUT;
		break;
	case OFFLINE_STACKS_WRITE:
		fprintf(stderr, "costack stacks: cannot write the output: %s\n", strerror(errno));
		status = COSTACK_EXIT_INPUT;
		break;
	default:
		fputs("costack stacks: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		break;
	}
end:
	tm_model_free(&m);
	return status;
}

enum { OPT_TASK, OPT_LIMIT, OPT_GROUP, OPT_FORMAT, OPT_AT, OPT_PID }; /* in the table's order */

/* What the options of stacks set. */
struct stacks_args {
	uint64_t task_ids[MAX_TASK_OPTIONS];
	size_t ntask_ids;
	int32_t pids[MAX_PID_OPTIONS];
	size_t npids;
	struct trace_at at;
	const char *at_arg;
	int limit;
	bool group, json;
};

static int stacks_option(void *ctx, int option, const char *value)
{
	struct stacks_args *a = ctx;
	long long number;
	pid_t pid;

	switch (option) {
	case OPT_TASK:
		if (!parse_count(value, INT64_MAX, &number) || !number)
			return usage("bad task id ", value, "");
		if (a->ntask_ids == MAX_TASK_OPTIONS)
			return usage("too many --task options (at most 64): ", value, "");
		a->task_ids[a->ntask_ids++] = (uint64_t)number;
		return 0;
	case OPT_LIMIT:
		if (!parse_count(value, INT_MAX, &number))
			return usage("bad limit ", value, " (a number of frames, 0: all)");
		a->limit = (int)number;
		return 0;
	case OPT_GROUP:
		a->group = true;
		return 0;
	case OPT_FORMAT:
		return cli_format("stacks", value, &a->json);
	case OPT_AT:
		if (trace_parse_time(value, &a->at))
			return usage(
			        "bad TIME ", value,
			        " (seconds since the epoch, as `date +%s.%N` prints, or "
			        "+OFFSET from the trace's start: +1.5s, +250ms, +10us, +700ns)");
		a->at_arg = value;
		return 0;
	default: /* OPT_PID */
		if (!live_cli_parse_pid(value, &pid))
			return usage("bad pid ", value, "");
		if (a->npids == MAX_PID_OPTIONS)
			return usage("too many --pid options (at most 64): ", value, "");
		a->pids[a->npids++] = (int32_t)pid;
		return 0;
	}
}

int command_stacks(int argc, char **argv)
{
	static const struct cli_option options[] = {
	        [OPT_TASK] = {"task", 0, true},
	        [OPT_LIMIT] = {"limit", 0, true},
	        [OPT_GROUP] = {"group", 0, false},
	        [OPT_FORMAT] = {"format", 0, true},
	        [OPT_AT] = {"at", 0, true},
	        [OPT_PID] = {"pid", 0, true},
	        {NULL, 0, false},
	};
	static const struct cli_verb verb = {"stacks",       options, print_stacks_help,
	                                     "PID or TRACE", false,   false};
	struct stacks_args a = {.at = {.kind = TRACE_AT_END}};
	struct live_snapshot snap = {0};
	struct stacks_task *tasks = NULL;
	struct symbolizer *sym = NULL;
	struct stacks_report report;
	pid_t pid;
	int operand, status;

	status = cli_parse(&verb, argc, argv, stacks_option, &a, &operand);
	if (status != CLI_GO_ON)
		return status;
	if (!live_cli_parse_pid(argv[operand], &pid)) {
		struct offline_stacks_options o = {
		        .task_ids = a.task_ids,
		        .ntask_ids = a.ntask_ids,
		        .pids = a.pids,
		        .npids = a.npids,
		        .limit = a.limit,
		        .group = a.group,
		        .json = a.json,
		};

		return stacks_of_trace(argv[operand], &a.at, &o);
	}
	if (a.at_arg)
		return usage("--at ", a.at_arg,
		             " needs a TRACE (a recording); a live PID has only now");
	if (a.npids)
		return usage("--pid needs a TRACE; a live PID is its own process", NULL, "");
	if (no_process_but_directory(pid, argv[operand])) {
		fprintf(stderr,
		        "costack stacks: no such process: %d (to read the trace directory %s, "
		        "write ./%s)\n",
		        (int)pid, argv[operand], argv[operand]);
		return COSTACK_EXIT_INPUT;
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
	report = (struct stacks_report){.at_ns = snap.at_ns, .tasks = tasks, .group = a.group};
	for (size_t i = 0; i < snap.ntasks; i++) {
		bool wanted = !a.ntask_ids;

		for (size_t j = 0; j < a.ntask_ids && !wanted; j++)
			wanted = a.task_ids[j] == snap.tasks[i].id;
		if (wanted)
			live_cli_stacks_task(&snap.tasks[i], a.limit, &tasks[report.ntasks++]);
	}
	for (size_t j = 0; j < a.ntask_ids; j++) {
		bool found = false;

		for (size_t i = 0; i < report.ntasks && !found; i++)
			found = tasks[i].id == a.task_ids[j];
		if (!found) {
			fprintf(stderr, "costack stacks: process %d has no task %" PRIu64 "%s\n",
			        (int)pid, a.task_ids[j],
			        snap.busy ? " (or it changed at every try)" : "");
			status = COSTACK_EXIT_INPUT;
			goto end;
		}
	}
	sym = symbolizer_new_pid(pid);
	report.symbolize = sym ? live_cli_symbolize : NULL;
	report.ctx = sym;
	if ((a.json ? stacks_write_json : stacks_write_text)(stdout, &report)) {
		fprintf(stderr, "costack stacks: cannot write the output: %s\n", strerror(errno));
		status = COSTACK_EXIT_INPUT;
	}
end:
	symbolizer_destroy(sym);
	free(tasks);
	live_snapshot_free(&snap);
	return status;
}
