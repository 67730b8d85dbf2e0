/* SPDX-License-Identifier: MIT */
/* options.h - the one option parser of the costack verbs, and the usage errors they share. */
#ifndef COSTACK_CLI_OPTIONS_H
#define COSTACK_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

/* One option of a verb: --name (and -c when short_name is c), with a value or not. */
struct cli_option {
	const char *name;
	char short_name; /* 0: none */
	bool has_value;
};

struct cli_verb {
	const char *verb;                 /* "stacks" */
	const struct cli_option *options; /* ends with a NULL name; --help/-h are every verb's */
	void (*help)(FILE *out);
	const char *operand; /* "PID", "TRACE", "command": said when none is given */
	bool command;        /* the first operand starts a command line: options stop
	                      * there, and every argument after it is the command's */
	bool operands;       /* any number of operands (one or more), options
	                      * anywhere among them */
};

/* Told of each option in the order given: its index in options and its value (NULL for one
 * without). 0 to go on, or an exit status (a usage error: cli_usage). */
typedef int (*cli_option_fn)(void *ctx, int option, const char *value);

#define CLI_GO_ON (-1)

/*
 * Parse argv (argv[0] is the verb) for v: each option to on_option; --help prints v's help on
 * stdout. Then one operand (several, for a command or operands), whose index goes to *operand;
 * with operands, every argument from it on is one (getopt moved the options before them).
 * CLI_GO_ON when the verb should run; else the exit status to end with: 0 after --help, a
 * usage error (2) said in one line and a "Try" line on stderr: an unknown option, a missing
 * value, no operand, an argument too many.
 */
int cli_parse(const struct cli_verb *v, int argc, char **argv, cli_option_fn on_option, void *ctx,
              int *operand);

/* "costack VERB: BEFORE'ARG'AFTER" and the "Try" line on stderr (no quotes when arg is NULL);
 * returns COSTACK_EXIT_USAGE. */
int cli_usage(const char *verb, const char *before, const char *arg, const char *after);

/* --format's value: "text" or "json" (sets *json); else a usage error for verb, returned. */
int cli_format(const char *verb, const char *arg, bool *json);

#endif
