/* SPDX-License-Identifier: MIT */
/* diff.h - `costack diff BASE... -- NEW...`: where tasks wait, run, switch and raise, compared. */
#ifndef COSTACK_DIFF_H
#define COSTACK_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_model.h"

/* What is compared (--metric); the default: all but DIFF_RUN. */
enum diff_metric {
	DIFF_WAIT = 1,     /* time suspended, and suspensions, per wait site and per task kind */
	DIFF_RUN = 2,      /* time running, per place resumed from and per task kind */
	DIFF_SWITCHES = 4, /* switches per task of a kind */
	DIFF_TASKS = 8,    /* tasks made of a kind, and those left unfinished */
	DIFF_RAISES = 16,  /* raises per task, by kind, exception type and raise site */
};

struct diff_options {
	double threshold;       /* a change smaller than this fraction (0.10) is no regression */
	double alpha;           /* a change with p >= alpha is no regression */
	unsigned metrics;       /* enum diff_metric, or'ed */
	const char *per;        /* NULL: per task of the same kind; else per task of this entry */
	uint64_t min_change_ns; /* a timed change smaller than this is no regression */
	bool json;
};

/*
 * The most values of a row the statistics take a side (intervals at a site, or tasks of a kind):
 * beyond it, a uniform sample of that many, drawn by a generator seeded with a fixed value (the
 * same traces, the same verdict). Totals and counts are exact whatever the number; what is kept
 * of a trace does not grow with its length (costack diff --help says so, and the JSON's
 * population and samples tell them apart).
 */
#define DIFF_SAMPLE_CAP 4096

/* One recording, as diff compares it: what it measured, by symbolized names (addresses move
 * from run to run), so that runs can be put side by side. */
struct diff_run;

/* What diff gathers while a model is fed (a listener): set up before, made a run after. */
struct diff_intervals;
struct diff_intervals *diff_listen(struct tm_model *m);
/* Those of a run not made (its trace could not be read). */
void diff_intervals_free(struct diff_intervals *di);

/*
 * The run of trace (its name, as given) from m fed all of it and the intervals gathered (freed
 * here). NULL with a message in error (one line) when out of memory, or when per names an entry
 * no task of the trace ran.
 */
struct diff_run *diff_run_make(struct diff_intervals *iv, struct tm_model *m, const char *trace,
                               const char *per, char *error, size_t size);
void diff_run_free(struct diff_run *r);

/*
 * Compare the runs and write the table (text) or costack.diff/1 (JSON) to out; *regression
 * tells whether a change counts as a regression. 0, or -1 when out could not be written or
 * memory ran out.
 */
int diff_write(FILE *out, struct diff_run *const *base, size_t nbase, struct diff_run *const *new_,
               size_t nnew, const struct diff_options *o, bool *regression);

#endif
