/* SPDX-License-Identifier: MIT */
/* cmd_run.c - costack run: become COMMAND, with libcostack.so appended to LD_PRELOAD. */
#define _GNU_SOURCE
#include "analysis-config.h"
#include "commands.h"
#include "preload_env.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_run_help(FILE *out)
{
	fputs("Usage: costack run [--] COMMAND [ARG...]\n"
	      "\n"
	      "Run COMMAND with libcostack.so preloaded, so that its coroutines are tracked\n"
	      "and the program can read their stacks through <costack.h>. costack executes\n"
	      "COMMAND in its own process (no fork): the exit status, signals, standard\n"
	      "input and output, and other file descriptors are COMMAND's own.\n"
	      "\n"
	      "The first argument that does not start with '-' is COMMAND, looked up in PATH\n"
	      "unless it holds a '/'; every argument after it is COMMAND's.\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help  Show this help and exit.\n"
	      "  --          End of options; needed when COMMAND starts with '-'.\n"
	      "\n"
	      "Environment:\n"
	      "  COSTACK_LIBRARY  The preload to use. Default: the one of the build tree when\n"
	      "                   this costack runs from its build tree, else\n"
	      "                   " COSTACK_INSTALLED_LIBRARY "\n"
	      "  LD_PRELOAD       The preload is appended; libraries already listed stay\n"
	      "                   first. When LD_PRELOAD already loads a costack (any copy),\n"
	      "                   that one is used and a line on stderr says so.\n"
	      "  COSTACK_*        Passed through to libcostack.so (see 'costack --help').\n"
	      "\n"
	      "Exit status:\n"
	      "  COMMAND's own (a signal N that ends it, a shell shows as 128+N); 126 when\n"
	      "  COMMAND cannot be executed, 127 when it is not found; 2 on a usage error; 3\n"
	      "  when the preload cannot be used.\n"
	      "\n"
	      "Example:\n"
	      "  COSTACK_LOG=info costack run -- ./server --port 8080\n",
	      out);
}

int command_run(int argc, char **argv)
{
	char preload[PATH_MAX];
	int first = 1;
	int status;

	/* -h and -- are the only options of run: at most one comes before COMMAND. */
	if (first < argc && !strcmp(argv[first], "--")) {
		first++;
	} else if (first < argc && (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help"))) {
		print_run_help(stdout);
		return COSTACK_EXIT_OK;
	} else if (first < argc && argv[first][0] == '-') {
		fprintf(stderr, "costack run: unknown option '%s'\nTry 'costack run --help'.\n",
		        argv[first]);
		return COSTACK_EXIT_USAGE;
	}
	if (first >= argc) {
		fputs("costack run: no command given\nTry 'costack run --help'.\n", stderr);
		return COSTACK_EXIT_USAGE;
	}

	status = find_costack_library(&costack_preload_library, preload);
	if (status != COSTACK_EXIT_OK)
		return status;
	if (preload_append_costack("run", preload) < 0) {
		fprintf(stderr, "costack: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return COSTACK_EXIT_INPUT;
	}

	execvp(argv[first], argv + first);
	/* Like a shell: 127 when the command is not found, 126 when it cannot run. */
	status = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "costack: cannot run '%s': %s\n", argv[first], strerror(errno));
	return status;
}
