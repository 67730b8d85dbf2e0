/* SPDX-License-Identifier: MIT */
/* options.c - the one option parser of the costack verbs, and the usage errors they share. */
#include "options.h"

#include <getopt.h>
#include <string.h>

#include "commands.h"

#define OPTIONS_MAX 16
/* getopt_long's val of long option i: LONG_BASE + i, past every short option's character. */
#define LONG_BASE 256

int cli_usage(const char *verb, const char *before, const char *arg, const char *after)
{
	fprintf(stderr, "costack %s: %s%s%s%s%s\nTry 'costack %s --help'.\n", verb, before,
	        arg ? "'" : "", arg ? arg : "", arg ? "'" : "", after, verb);
	return COSTACK_EXIT_USAGE;
}

int cli_format(const char *verb, const char *arg, bool *json)
{
	if (strcmp(arg, "text") && strcmp(arg, "json"))
		return cli_usage(verb, "unknown format ", arg, " (text or json)");
	*json = !strcmp(arg, "json");
	return 0;
}

int cli_parse(const struct cli_verb *v, int argc, char **argv, cli_option_fn on_option, void *ctx,
              int *operand)
{
	/* getopt_long's tables: option i is val LONG_BASE + i; "+" stops at a command. */
	struct option longs[OPTIONS_MAX + 2];
	char shorts[3 + 2 * OPTIONS_MAX + 2] = "+:h";
	size_t n = 0, s = strlen(shorts);
	int c;

	for (; v->options[n].name; n++) {
		longs[n] =
		        (struct option){v->options[n].name,
		                        v->options[n].has_value ? required_argument : no_argument,
		                        NULL, LONG_BASE + (int)n};
		if (v->options[n].short_name) {
			shorts[s++] = v->options[n].short_name;
			if (v->options[n].has_value)
				shorts[s++] = ':';
		}
	}
	longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[n] = (struct option){NULL, 0, NULL, 0};
	shorts[s] = '\0';
	optind = 0; /* a fresh scan of this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, v->command ? shorts : shorts + 1, longs, NULL)) != -1) {
		int option = -1, status;

		if (c == 'h') {
			v->help(stdout);
			return COSTACK_EXIT_OK;
		}
		if (c == ':')
			return cli_usage(v->verb, "option ", argv[optind - 1], " needs a value");
		if (c >= LONG_BASE)
			option = c - LONG_BASE;
		for (int i = 0; option < 0 && v->options[i].name; i++)
			if (c == v->options[i].short_name)
				option = i;
		if (option < 0)
			return cli_usage(v->verb, "unknown option ", argv[optind - 1], "");
		status = on_option(ctx, option, v->options[option].has_value ? optarg : NULL);
		if (status)
			return status;
	}
	if (optind >= argc) {
		fprintf(stderr, "costack %s: no %s given\nTry 'costack %s --help'.\n", v->verb,
		        v->operand, v->verb);
		return COSTACK_EXIT_USAGE;
	}
	if (!v->command && !v->operands && optind + 1 < argc)
		return cli_usage(v->verb, "unexpected argument ", argv[optind + 1], "");
	*operand = optind;
	return CLI_GO_ON;
}
