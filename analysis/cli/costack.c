/* SPDX-License-Identifier: MIT */
/* costack.c - the costack command: global options, help, and dispatch to a verb. */
#include "analysis-config.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

struct verb {
	const char *name;
	int (*command)(int argc, char **argv);
};

/* Only implemented verbs: the help and the dispatch both read this table. */
static const struct verb verbs[] = {
        {"run", command_run},           {"record", command_record}, {"ps", command_ps},
        {"stacks", command_stacks},     {"report", command_report}, {"flame", command_flame},
        {"timeline", command_timeline}, {"diff", command_diff},
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	}
	return NULL;
}

static void print_help(FILE *out)
{
	fputs("NAME\n"
	      "    costack - asyncio's Task.get_stack() for the coroutines of a native program\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    costack run [--] COMMAND [ARG...]\n"
	      "    costack record [-o DIR] [--subbuf-size SIZE] [--num-subbuf N]\n"
	      "                   [--] COMMAND [ARG...]\n"
	      "    costack ps PID [--format text|json]\n"
	      "    costack stacks PID [--task ID]... [--limit N] [--group] [--format text|json]\n"
	      "    costack stacks TRACE [--at TIME] [--task ID]... [--pid PID]... [--limit N]\n"
	      "                   [--group] [--format text|json]\n"
	      "    costack report TRACE [--top N] [--format text|json]\n"
	      "    costack flame TRACE... [--wait|--run|--both] [--by task|entry|none]\n"
	      "                  [--format folded|speedscope|pprof|svg] [--pid PID]\n"
	      "                  [--task ID] [--from TIME] [--to TIME] [-o FILE]\n"
	      "    costack timeline TRACE [--pid PID] [--task ID] [--from TIME] [--to TIME]\n"
	      "                     [-o FILE]\n"
	      "    costack diff BASE... -- NEW... [--threshold PCT] [--alpha P] [--metric M]...\n"
	      "                 [--per ENTRY] [--min-change DURATION] [--format text|json]\n"
	      "    costack help [VERB]\n"
	      "    costack --help | --version\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    costack tracks the coroutines (ucontext makecontext/swapcontext) of an\n"
	      "    unmodified program and gives each one the get_stack() and print_stack() of\n"
	      "    a Python asyncio task: where it is suspended now, the traceback of one that\n"
	      "    died by an exception, nothing for one that finished. The tracking is done\n"
	      "    by the preload library libcostack.so inside the program, which answers\n"
	      "    through the C API of <costack.h> (costack_get_stack, costack_print_stack),\n"
	      "    and to costack ps and costack stacks from outside, through a live registry\n"
	      "    in shared memory: the program is neither stopped nor signalled. With\n"
	      "    COSTACK_TRACE=1 it also fires LTTng-UST events (provider costack): a\n"
	      "    recorded run (a TRACE directory) gives costack stacks any task's stack at\n"
	      "    any moment of it, and costack report a summary of every task.\n"
	      "\n"
	      "VERBS\n"
	      "    run     Run COMMAND with libcostack.so preloaded. costack executes\n"
	      "            COMMAND in its own process, so the exit status, signals, standard\n"
	      "            input and output, and other file descriptors are COMMAND's own.\n"
	      "    record  Run COMMAND like run, while an LTTng session records every task's\n"
	      "            creation, switches with their stacks, exceptions and end, in\n"
	      "            COMMAND and the programs it starts, into a trace directory (-o DIR,\n"
	      "            or COMMAND-DATE-TIME in the current one) named on stderr at the\n"
	      "            end. Starts a session daemon if none runs, and stops it after.\n"
	      "            See 'costack record --help'.\n"
	      "    ps      List the tasks of the running process PID (started with run):\n"
	      "            state, thread, time in state, switches, and where each one is.\n"
	      "    stacks  Print every task's stack of the running process PID, as asyncio's\n"
	      "            print_stack() (text) or in the costack.stacks/1 JSON schema.\n"
	      "            Reading PID needs the right to debug it (same user and\n"
	      "            /proc/sys/kernel/yama/ptrace_scope, or root). Given a TRACE (a\n"
	      "            directory), the same of a recorded run, at --at TIME (seconds\n"
	      "            since the epoch, or +1.5s from the trace's start; default: its\n"
	      "            end); tasks that lost events may have touched show as unknown.\n"
	      "    report  Summarise a TRACE: each task's lifetime, fate, switches, time\n"
	      "            running and suspended, exceptions, the stacks where tasks waited\n"
	      "            longest, and lost events.\n"
	      "    flame   Where the tasks of one or more TRACEs waited (or ran), weighted by\n"
	      "            time, per coroutine: folded stacks, speedscope JSON, pprof, or an\n"
	      "            interactive SVG flame graph. See 'costack flame --help'.\n"
	      "    timeline\n"
	      "            Every task of a TRACE on a timeline (Chrome trace-event JSON for\n"
	      "            Perfetto UI): waits, runs, raises, ends, switches as arrows.\n"
	      "    diff    Compare recorded runs, BASE against NEW: per wait site and task\n"
	      "            kind, time suspended, switches, tasks, raises; exit 1 on a\n"
	      "            significant regression (a gate for CI). See 'costack diff --help'.\n"
	      "    help    Show this help, or the help of VERB.\n"
	      "\n"
	      "OPTIONS\n"
	      "    -h, --help  Show this help and exit.\n"
	      "    --version   Show the version and exit.\n"
	      "\n"
	      "ENVIRONMENT\n"
	      "    COSTACK_LIBRARY  The preload that run and record use. Default: the one of\n"
	      "                     the build tree when this costack runs from its build\n"
	      "                     tree, else " COSTACK_INSTALLED_LIBRARY "\n"
	      "    COSTACK_LTTNG_LIBRARY\n"
	      "                     The LTTng provider that record uses, likewise; else\n"
	      "                     " COSTACK_INSTALLED_LTTNG_LIBRARY "\n"
	      "    LD_PRELOAD       run and record append libcostack.so (record: and lttng-ust's\n"
	      "                     dl and fork helpers); libraries already listed stay first,\n"
	      "                     and none is added twice.\n"
	      "\n"
	      "    Read by libcostack.so in the program; costack passes them through:\n"
	      "    COSTACK_DEPTH    frames kept per snapshot (1-512, default 64)\n"
	      "    COSTACK_RING     snapshots kept per task (1-1024, default 8)\n"
	      "    COSTACK_ENDED    ended tasks kept queryable (default 1024)\n"
	      "    COSTACK_LOG      error, warn, info or debug (default warn)\n"
	      "    COSTACK_UNWIND   default, libunwind or fp (default default)\n"
	      "    COSTACK_CLOCK    coarse or precise: what task times are read from\n"
	      "                     (default coarse)\n"
	      "    COSTACK_DISABLE  1 turns every hook into a plain call (default 0)\n"
	      "    COSTACK_DUMP_SIGNAL\n"
	      "                     on this signal (USR2, SIGUSR2, 12, RTMIN+2) every task's\n"
	      "                     stack is written, and the program goes on (default: none)\n"
	      "    COSTACK_DUMP_ON_CRASH\n"
	      "                     1: every task's stack is written on SIGSEGV, SIGBUS,\n"
	      "                     SIGILL, SIGFPE and SIGABRT, then the program dies as it\n"
	      "                     would have (default 0)\n"
	      "    COSTACK_DUMP_FILE\n"
	      "                     dumps are appended to this file instead of stderr\n"
	      "    COSTACK_TRACE    1 fires the LTTng-UST events a TRACE is made of (default 0)\n"
	      "    A bad value is reported on one line of stderr and its default is used.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0    Success.\n"
	      "    1    diff: a regression.\n"
	      "    2    Usage error (for a TRACE: a bad TIME, or one outside the trace).\n"
	      "    3    An input cannot be used: the preload library is missing or unreadable;\n"
	      "         for ps and stacks, no such process, permission denied, or a process\n"
	      "         not running under libcostack.so; for record, LTTng not installed, no\n"
	      "         session daemon to be had, lttng failing, or the trace directory not\n"
	      "         empty; for stacks and report, no such TRACE directory, no trace in it,\n"
	      "         or an unreadable trace.\n"
	      "    For run and record, COMMAND's own status (a signal N that ends it, a shell\n"
	      "    shows as 128+N), or 126 when COMMAND cannot be executed, 127 when it is not\n"
	      "    found.\n"
	      "\n"
	      "EXAMPLE\n"
	      "    Run a server with deeper snapshots:\n"
	      "        COSTACK_DEPTH=128 costack run -- ./server --port 8080\n"
	      "    and, inside it, print the stack of every task to stderr:\n"
	      "        costack_task_t ids[256];\n"
	      "        size_t n = costack_all_tasks(ids, 256);\n"
	      "        for (size_t i = 0; i < n && i < 256; i++)\n"
	      "                costack_print_stack(ids[i], 0, stderr);\n"
	      "    or, from outside, while it runs:\n"
	      "        costack stacks $(pidof server)\n"
	      "    Record a run with LTTng, into ./server-DATE-TIME:\n"
	      "        costack record -- ./server --port 8080\n"
	      "    then the stacks of its tasks 1.5 seconds into it, and a summary:\n"
	      "        costack stacks server-DATE-TIME --at +1.5s\n"
	      "        costack report server-DATE-TIME\n",
	      out);
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "costack: %s '%s'\nTry 'costack --help'.\n", what, arg);
	return COSTACK_EXIT_USAGE;
}

/* costack help [VERB], costack --help [VERB] */
static int help(int argc, char **argv)
{
	const struct verb *verb;
	char help_option[] = "--help";
	char *verb_argv[3];

	if (argc < 2) {
		print_help(stdout);
		return COSTACK_EXIT_OK;
	}
	if (argc > 2)
		return usage_error("unexpected argument", argv[2]);
	verb = find_verb(argv[1]);
	if (!verb)
		return usage_error("unknown command", argv[1]);
	verb_argv[0] = argv[1];
	verb_argv[1] = help_option;
	verb_argv[2] = NULL;
	return verb->command(2, verb_argv);
}

int main(int argc, char **argv)
{
	const char *first = argc > 1 ? argv[1] : NULL;
	const struct verb *verb;

	if (!first) {
		fputs("costack: no command given\nTry 'costack --help'.\n", stderr);
		return COSTACK_EXIT_USAGE;
	}
	if (!strcmp(first, "help") || !strcmp(first, "--help") || !strcmp(first, "-h"))
		return help(argc - 1, argv + 1);
	if (!strcmp(first, "--version")) {
		if (argc > 2)
			return usage_error("unexpected argument", argv[2]);
		puts("costack " COSTACK_VERSION);
		return COSTACK_EXIT_OK;
	}
	if (first[0] == '-')
		return usage_error("unknown option", first);
	verb = find_verb(first);
	if (!verb)
		return usage_error("unknown command", first);
	return verb->command(argc - 1, argv + 1);
}
