/* SPDX-License-Identifier: MIT */
/* commands.h - the verbs of the costack command, one cmd_<verb>.c file each. */
#ifndef COSTACK_COMMANDS_H
#define COSTACK_COMMANDS_H

/* Exit statuses shared by every verb (DESIGN.md, "Command line"). */
enum costack_exit {
	COSTACK_EXIT_OK = 0,
	COSTACK_EXIT_REGRESSION = 1, /* costack diff: NEW regressed */
	COSTACK_EXIT_USAGE = 2,      /* bad arguments: a message and "Try ..." on stderr */
	COSTACK_EXIT_INPUT = 3,      /* an input (file, library, process) cannot be used */
};

/*
 * Each verb gets the arguments from its own name on: argv[0] is the verb,
 * argv[argc] is NULL. It handles "-h"/"--help" itself, prints its own errors,
 * and returns the process's exit status.
 */

/* costack run [--] COMMAND [ARG...]: exec COMMAND with libcostack.so
 * preloaded; returns only when COMMAND cannot be run. */
int command_run(int argc, char **argv);

/* costack record [-o DIR] [--subbuf-size SIZE] [--num-subbuf N] [--] COMMAND [ARG...]:
 * run COMMAND under the preload while an LTTng session records its events;
 * returns COMMAND's status once the trace is written. */
int command_record(int argc, char **argv);

/* costack ps PID [--format text|json]: the tasks of a running process, one
 * line each, read from its live registry. */
int command_ps(int argc, char **argv);

/* costack stacks PID|TRACE [--at TIME] [--task ID]... [--pid PID]... [--limit N] [--group]
 * [--format text|json]: every task's get_stack() of a running process, read from outside,
 * or of a recorded one at a time. */
int command_stacks(int argc, char **argv);

/* costack report TRACE [--top N] [--format text|json]: a recorded run, task by task. */
int command_report(int argc, char **argv);

/* costack flame TRACE... [--wait|--run|--both] [--format folded|speedscope|pprof|svg]
 * [--by task|entry|none] [--pid PID] [--task ID] [--from TIME] [--to TIME] [-o FILE]: where tasks
 * waited (or ran), weighted by time. */
int command_flame(int argc, char **argv);

/* costack timeline TRACE [--pid PID] [--task ID] [--from TIME] [--to TIME] [-o FILE]: every task
 * of a recording as Chrome trace-event JSON, written as the trace is read. */
int command_timeline(int argc, char **argv);
/* costack diff BASE... -- NEW... [--threshold PCT] [--alpha P] [--metric M]... [--per ENTRY]
 * [--min-change DURATION] [--format text|json]: recorded runs compared; 1 on a regression. */
int command_diff(int argc, char **argv);

#endif /* COSTACK_COMMANDS_H */
