/* SPDX-License-Identifier: MIT */
/* cmd_diff.c - costack diff BASE... -- NEW...: a gate for CI on where tasks wait, run and switch.
 */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "flame.h"
#include "offline_cli.h"
#include "options.h"

static void print_diff_help(FILE *out)
{
	fputs("Usage: costack diff BASE... -- NEW... [--threshold PCT] [--alpha P]\n"
	      "                    [--metric wait|run|switches|tasks|raises]... [--per ENTRY]\n"
	      "                    [--min-change DURATION] [--format text|json|svg]\n"
	      "                    [-o FILE]\n"
	      "\n"
	      "Compare recorded runs (`costack record -o TRACE`): BASE, one or more recordings\n"
	      "of the program as it was, against NEW, one or more of it as it is now (repeated\n"
	      "runs of the same workload). Exit status 1 when NEW regressed: a gate for CI.\n"
	      "\n"
	      "What is compared, by names (function, file and line; module and offset when\n"
	      "there are no symbols), never by address, since each run loads elsewhere:\n"
	      "  - per wait site, the time tasks spent suspended there and how many times they\n"
	      "    were, per task: a site is the innermost frame of the program's own on the\n"
	      "    suspension stack (the runtime's and costack's frames are passed over); when\n"
	      "    several stacks lead to a site, each stack too;\n"
	      "  - per task kind (entry function): time suspended and running per task,\n"
	      "    switches per task, tasks made, tasks left unfinished at the trace's end;\n"
	      "  - raises per task, by exception type and by where they were raised;\n"
	      "  - with --metric run, the time tasks ran after each place they were resumed\n"
	      "    from.\n"
	      "Values are per task of the same kind (entry function), or with --per ENTRY per\n"
	      "task of that entry (e.g. per request handler) when the work is counted there.\n"
	      "Intervals cut by lost events, and those still going at a trace's end (a task\n"
	      "still suspended there: its wait has no length yet), are left out of times and\n"
	      "suspensions; the JSON counts them (lost_intervals, open_intervals), and such a\n"
	      "task counts among its kind's unfinished.\n"
	      "\n"
	      "Statistics (as benchstat): with at least 2 runs a side and enough of them for\n"
	      "the test to reach --alpha (5 and 5 for 0.01), each run's value is one sample, and\n"
	      "the two sides are compared with a Mann-Whitney U test; otherwise (one run a side,\n"
	      "say) the individual wait intervals at a site, pooled over the runs, are the\n"
	      "samples (and each task's total, for a task kind). CHANGE is that of the medians,\n"
	      "CI a bootstrap interval of it at 1 - alpha, P the test's p. A change is a\n"
	      "regression when p < --alpha AND it is above --threshold AND, for a time, the\n"
	      "medians differ by at least --min-change. Counts (switches, suspensions, tasks,\n"
	      "raises) that are the same in every run of a side are compared exactly: any\n"
	      "increase is a regression, with one run a side too; counts that vary between runs\n"
	      "are tested like times. A wait site, task kind or exception type only NEW has is\n"
	      "listed as new, and counts as a regression (tasks wait somewhere new); one only\n"
	      "BASE has is listed as vanished.\n"
	      "\n"
	      "Memory does not grow with a trace's length: totals and counts are exact, but\n"
	      "the samples a test takes are, for a site's intervals (or a kind's tasks) of a\n"
	      "side, all of them up to 4096, and beyond a uniform sample of 4096 (reservoir\n"
	      "sampling from a generator with a fixed seed: the same traces, the same verdict).\n"
	      "The JSON tells how many there were (population) and how many were tested\n"
	      "(samples); the text says when a row was sampled.\n"
	      "\n"
	      "Options:\n"
	      "  --threshold PCT   Smallest change that is a regression, in percent\n"
	      "                    (default 10).\n"
	      "  --alpha P         Significance level (default 0.01).\n"
	      "  --metric M        Compare only M: wait (time suspended and suspensions), run\n"
	      "                    (time running), switches, tasks (made, unfinished), raises.\n"
	      "                    Give it again for several. Default: all but run (coroutines\n"
	      "                    often run for microseconds, where CPU noise rules).\n"
	      "  --per ENTRY       Per task of the entry function ENTRY, for every value.\n"
	      "  --min-change DURATION\n"
	      "                    Smallest change of a median time that can be a regression\n"
	      "                    (default 100us: tracing costs about a microsecond an\n"
	      "                    event); e.g. 50us, 2ms, 0.\n"
	      "  --format FMT      text (the default: tables sorted by impact, regressions\n"
	      "                    first; then new and vanished sites, kinds and exceptions) or\n"
	      "                    json (schema costack.diff/1: schema, regression, base and new\n"
	      "                    [{trace, lost_intervals, open_intervals}], options, rows\n"
	      "                    [{metric, quantity, level (site|stack|kind|type|exception),\n"
	      "                    kind, site, frames, unit (ns|count), statistic, base and new\n"
	      "                    {value, per_task, runs_with, population, samples},\n"
	      "                    change, ci [lo, hi], p, verdict\n"
	      "                    (regression|new|improvement|vanished|same)}],\n"
	      "                    new_sites, vanished_sites, new_exceptions,\n"
	      "                    vanished_exceptions [{kind, site}]);\n"
	      "                    or svg: a differential flame graph of the time tasks\n"
	      "                    waited (with --metric run: ran; both: a root frame per\n"
	      "                    kind), one self-contained file for any browser, offline,\n"
	      "                    as `costack flame --format svg --by entry` draws (hover,\n"
	      "                    click to zoom, Search): each side's time per run (summed\n"
	      "                    over its traces, divided by their number), the widths\n"
	      "                    NEW's, each frame red where its time grew and blue where\n"
	      "                    it shrank, the deeper the larger the change (full at\n"
	      "                    100%), grey under --min-change; stacks only BASE has\n"
	      "                    (vanished) hatched, with BASE's time; hover tells base,\n"
	      "                    new and the change. The exit status is the gate's, as\n"
	      "                    with text, and its verdict is the graph's last subtitle\n"
	      "                    and a line on stderr. --metric switches, tasks or\n"
	      "                    raises alone have no graph: a usage error.\n"
	      "  -o, --output FILE Write to FILE instead of standard output.\n"
	      "  -h, --help        Show this help and exit.\n"
	      "\n"
	      "Fewer than 3 runs a side is warned of on stderr. A single run a side still gives\n"
	      "a verdict on times from their intervals, but the intervals of one run are not\n"
	      "independent of one another: prefer 5 or more runs a side where a run is cheap.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  No regression.\n"
	      "  1  A regression (or a new wait site, task kind or exception type).\n"
	      "  2  Usage error.\n"
	      "  3  A TRACE cannot be read.\n"
	      "\n"
	      "In CI, record the same workload a few times with the old build and the new one,\n"
	      "and let the job fail on exit status 1, keeping the JSON as an artifact:\n"
	      "\n"
	      "  for i in 1 2 3 4 5; do\n"
	      "    costack record -o base-$i -- ./server-old --bench\n"
	      "    costack record -o new-$i -- ./server-new --bench\n"
	      "  done\n"
	      "  costack diff base-* -- new-* --threshold 5          # the table, in the log\n"
	      "  costack diff base-* -- new-* --threshold 5 --format json > diff.json\n"
	      "  costack diff base-* -- new-* --format svg -o diff.svg  # where, in a browser\n"
	      "\n"
	      "  # GitHub Actions, GitLab CI: a step that fails the job on a regression\n"
	      "  - run: costack diff base-* -- new-* --per handle_request\n",
	      out);
}

enum { OPT_THRESHOLD, OPT_ALPHA, OPT_METRIC, OPT_PER, OPT_MIN_CHANGE, OPT_FORMAT, OPT_OUTPUT };

struct diff_args {
	struct diff_options o;
	bool metric_given;
	bool svg;           /* --format svg: the differential flame graph */
	const char *output; /* NULL: stdout */
};

static int parse_number(const char *value, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(value, &end);
	return errno || end == value || *end || !isfinite(*out) || *out < lo || *out > hi ? -1 : 0;
}

/* DURATION: a number and ns, us, ms or s (0 alone too). */
static int parse_duration(const char *value, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || !isfinite(v) || v < 0 || v > 1e6 || value[0] == '-')
		return -1;
	if (!*end) {
		if (v != 0)
			return -1;
		*ns = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (!strcmp(end, units[i].unit)) {
			*ns = (uint64_t)llround(v * units[i].ns);
			return 0;
		}
	return -1;
}

static int diff_option(void *ctx, int option, const char *value)
{
	static const char *const metrics[] = {"wait", "run", "switches", "tasks", "raises"};
	struct diff_args *a = ctx;
	double v;

	switch (option) {
	case OPT_THRESHOLD:
		if (parse_number(value, 0, 1e9, &v))
			return cli_usage("diff", "bad --threshold ", value,
			                 " (a percentage: 10 for 10%)");
		a->o.threshold = v / 100.0;
		return 0;
	case OPT_ALPHA:
		if (parse_number(value, 0, 1, &v) || v <= 0 || v >= 1)
			return cli_usage("diff", "bad --alpha ", value,
			                 " (a probability between 0 and 1)");
		a->o.alpha = v;
		return 0;
	case OPT_METRIC:
		for (size_t i = 0; i < sizeof(metrics) / sizeof(*metrics); i++)
			if (!strcmp(value, metrics[i])) {
				if (!a->metric_given)
					a->o.metrics = 0;
				a->metric_given = true;
				a->o.metrics |= 1u << i;
				return 0;
			}
		return cli_usage("diff", "unknown metric ", value,
		                 " (wait, run, switches, tasks or raises)");
	case OPT_PER:
		if (!*value)
			return cli_usage("diff", "empty --per", NULL,
			                 " (an entry function's name)");
		a->o.per = value;
		return 0;
	case OPT_MIN_CHANGE:
		if (parse_duration(value, &a->o.min_change_ns))
			return cli_usage("diff", "bad --min-change ", value,
			                 " (a duration: 100us, 2ms, 0)");
		return 0;
	case OPT_FORMAT:
		a->svg = !strcmp(value, "svg");
		if (a->svg) {
			a->o.json = false;
			return 0;
		}
		if (strcmp(value, "text") && strcmp(value, "json"))
			return cli_usage("diff", "unknown format ", value, " (text, json or svg)");
		return cli_format("diff", value, &a->o.json);
	default:
		a->output = value;
		return 0;
	}
}

/* Read each trace of one side into a run, and into flame (when not NULL); COSTACK_EXIT_OK, or the
 * exit status on the first that cannot be read. */
static int read_side(char **traces, size_t n, const char *per, struct diff_run **runs,
                     struct flame_profile *flame)
{
	for (size_t i = 0; i < n; i++) {
		struct tm_model m;
		struct trace_at at = {.kind = TRACE_AT_END};
		struct diff_intervals *di;
		struct flame_counts counts;
		char error[512];
		uint64_t at_ns;
		int status;

		tm_model_init(&m);
		di = diff_listen(&m);
		if (!di) {
			tm_model_free(&m);
			fputs("costack diff: out of memory\n", stderr);
			return COSTACK_EXIT_INPUT;
		}
		if (flame)
			flame_listen(&counts, flame, &m);
		status = offline_cli_read("diff", traces[i], &at, &m, &at_ns);
		if (flame && status == COSTACK_EXIT_OK && flame_add_trace(&counts, &m)) {
			fputs("costack diff: out of memory\n", stderr);
			status = COSTACK_EXIT_INPUT;
		} else if (flame && status != COSTACK_EXIT_OK) {
			flame_counts_free(&counts);
		}
		if (status == COSTACK_EXIT_OK) {
			/* (the read told the intervals still open at the end) */
			runs[i] = diff_run_make(di, &m, traces[i], per, error, sizeof(error));
			if (!runs[i]) {
				fprintf(stderr, "costack diff: %s\n", error);
				status = per && strstr(error, "--per") ? COSTACK_EXIT_USAGE
				                                       : COSTACK_EXIT_INPUT;
			}
		} else {
			diff_intervals_free(di);
		}
		tm_model_free(&m);
		if (status != COSTACK_EXIT_OK)
			return status;
	}
	return COSTACK_EXIT_OK;
}

/* --format svg's profile, initialised: the kinds --metric asks for (wait by default), a root
 * frame per entry function; NULL when --metric names neither wait nor run. */
static struct flame_profile *svg_profile(const struct diff_args *a, struct flame_profile *p)
{
	struct flame_options o = {.by = FLAME_BY_ENTRY,
	                          .ended_only = true, /* as diff compares them */
	                          .threads_as_one = true};

	o.wait = !a->metric_given || (a->o.metrics & DIFF_WAIT);
	o.run = a->metric_given && (a->o.metrics & DIFF_RUN);
	if (!o.wait && !o.run)
		return NULL;
	flame_profile_init(p, &o);
	return p;
}

/* The differential flame graph of p (BASE's nbase traces read first) to out, titled by the
 * traces; the gate's verdict, from the text table (not shown), in *regression and the graph's
 * subtitle, and on stderr. 0, or -1. */
static int write_svg(FILE *out, const struct diff_args *a, struct diff_run **base, size_t nbase,
                     struct diff_run **new_, size_t nnew, const struct flame_profile *p,
                     char **base_traces, char **new_traces, bool *regression)
{
	struct flame_diff d = {.base_traces = (uint32_t)nbase, .min_change_ns = a->o.min_change_ns};
	char *table = NULL, *verdict, title[512];
	size_t size = 0, len;
	FILE *text = open_memstream(&table, &size);
	int status = -1;

	if (p->out_of_memory || !text)
		goto end;
	if (diff_write(text, base, nbase, new_, nnew, &a->o, regression) || fclose(text))
		goto end;
	text = NULL;
	/* Its last line: "No regression." or "REGRESSION: N changes above the threshold, or new".
	 */
	while (size && table[size - 1] == '\n')
		table[--size] = '\0';
	verdict = strrchr(table, '\n');
	d.verdict = verdict ? verdict + 1 : table;
	fprintf(stderr, "costack diff: %s\n", d.verdict);
	snprintf(title, sizeof(title), "costack diff (%s): ",
	         p->o.wait && p->o.run ? "wait and run"
	         : p->o.run            ? "run"
	                               : "wait");
	for (size_t i = 0; i < nbase + nnew && (len = strlen(title)) < sizeof(title) - 1; i++)
		snprintf(title + len, sizeof(title) - len, "%s%s",
		         i == nbase ? " -- "
		         : i        ? ", "
		                    : "",
		         i < nbase ? base_traces[i] : new_traces[i - nbase]);
	status = flame_write_svg_diff(out, p, title, &d);
end:
	if (text)
		fclose(text);
	free(table);
	return status;
}

int command_diff(int argc, char **argv)
{
	static const struct cli_option options[] = {
	        [OPT_THRESHOLD] = {"threshold", 0, true},   [OPT_ALPHA] = {"alpha", 0, true},
	        [OPT_METRIC] = {"metric", 0, true},         [OPT_PER] = {"per", 0, true},
	        [OPT_MIN_CHANGE] = {"min-change", 0, true}, [OPT_FORMAT] = {"format", 0, true},
	        [OPT_OUTPUT] = {"output", 'o', true},       {NULL, 0, false}};
	static const struct cli_verb base_verb = {"diff",       options, print_diff_help,
	                                          "BASE trace", false,   true};
	static const struct cli_verb new_verb = {
	        "diff", options, print_diff_help, "NEW trace after --", false, true};
	struct diff_args a = {.o = {.threshold = 0.10,
	                            .alpha = 0.01,
	                            .metrics = DIFF_WAIT | DIFF_SWITCHES | DIFF_TASKS | DIFF_RAISES,
	                            .min_change_ns = 100000}};
	struct diff_run **base = NULL, **new_ = NULL;
	struct flame_profile flame, *graph = NULL;
	FILE *out = stdout;
	int split = -1, operand, status, nargc, wrote;
	size_t nbase, nnew;
	char **left = NULL, **rest = NULL, **base_traces;
	bool regression = false;

	/* BASE... -- NEW...: the first -- splits; options may be on either side. */
	for (int i = 1; i < argc && split < 0; i++)
		if (!strcmp(argv[i], "--"))
			split = i;
	/* Each side parsed as a verb's arguments of its own, ending with NULL as getopt wants:
	 * argv[0] and what comes before --, argv[0] and what follows it. */
	nargc = split < 0 ? argc : split;
	left = calloc((size_t)nargc + 1, sizeof(*left));
	rest = calloc((size_t)(argc - nargc) + 1, sizeof(*rest));
	if (!left || !rest) {
		fputs("costack diff: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	memcpy(left, argv, (size_t)nargc * sizeof(*left));
	status = cli_parse(&base_verb, nargc, left, diff_option, &a, &operand);
	if (status != CLI_GO_ON)
		goto end;
	if (split < 0) {
		status = cli_usage("diff", "no -- between the BASE and the NEW traces", NULL, "");
		goto end;
	}
	nbase = (size_t)(split - operand);
	base_traces = left + operand;
	nargc = argc - split;
	rest[0] = argv[0];
	memcpy(rest + 1, argv + split + 1, (size_t)(nargc - 1) * sizeof(*rest));
	status = cli_parse(&new_verb, nargc, rest, diff_option, &a, &operand);
	if (status != CLI_GO_ON)
		goto end;
	nnew = (size_t)(nargc - operand);
	if (a.svg && !(graph = svg_profile(&a, &flame))) {
		status = cli_usage("diff",
		                   "--format svg draws where tasks waited or ran: give --metric "
		                   "wait or run",
		                   NULL, " (switches, tasks and raises have no graph)");
		goto end;
	}
	base = calloc(nbase, sizeof(*base));
	new_ = calloc(nnew, sizeof(*new_));
	if (!base || !new_) {
		fputs("costack diff: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	status = read_side(base_traces, nbase, a.o.per, base, graph);
	if (status == COSTACK_EXIT_OK)
		status = read_side(rest + operand, nnew, a.o.per, new_, graph);
	if (status != COSTACK_EXIT_OK)
		goto end;
	if (nbase < 3 || nnew < 3)
		fprintf(stderr,
		        "costack diff: warning: %zu base and %zu new run%s: fewer than 3 a side; "
		        "%s\n",
		        nbase, nnew, nnew == 1 ? "" : "s",
		        nbase == 1 && nnew == 1
		                ? "times are compared by their intervals within the one run"
		                : "times are compared by their intervals pooled over the runs");
	if (a.output && !(out = fopen(a.output, "w"))) {
		out = stdout;
		fprintf(stderr, "costack diff: cannot write %s: %s\n", a.output, strerror(errno));
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	errno = 0;
	wrote = graph ? write_svg(out, &a, base, nbase, new_, nnew, graph, base_traces,
	                          rest + operand, &regression)
	              : diff_write(out, base, nbase, new_, nnew, &a.o, &regression);
	if (out != stdout && fclose(out))
		wrote = -1;
	out = stdout;
	if (wrote) {
		fprintf(stderr, "costack diff: cannot write the comparison: %s\n",
		        errno ? strerror(errno) : "out of memory");
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	status = regression ? COSTACK_EXIT_REGRESSION : COSTACK_EXIT_OK;
end:
	for (size_t i = 0; base && i < nbase; i++)
		diff_run_free(base[i]);
	for (size_t i = 0; new_ && i < nnew; i++)
		diff_run_free(new_[i]);
	free(base);
	free(new_);
	if (graph)
		flame_profile_free(graph);
	if (out != stdout)
		fclose(out);
	free(left);
	free(rest);
	return status;
}
