/* SPDX-License-Identifier: MIT */
/* report.h - `costack report TRACE`: each task's life, its exceptions, where tasks waited. */
#ifndef COSTACK_REPORT_H
#define COSTACK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "trace_model.h"

struct report_options {
	const char *trace; /* its name, as given */
	size_t top;        /* suspension stacks shown, the longest waited at first */
	bool json;
};

/* What the report counts of the intervals the model tells (a listener of it): set up with
 * report_listen before the model is fed, given to report_write after. */
struct report_times {
	struct hmap tasks;  /* task -> its running and suspended time */
	struct hmap stacks; /* stack -> the time tasks waited there, and how often */
	bool out_of_memory;
};
int report_listen(struct report_times *rt, struct tm_model *m);
void report_times_free(struct report_times *rt);

/*
 * From a model fed the whole trace: the trace (its span, events), lost
 * events said plainly (how many, in which gaps, what that does), per
 * process each task's lifetime, fate, switches, time running and
 * suspended, exceptions (type, message, where, symbolized), then the
 * suspension stacks where tasks waited longest in total.
 *
 * JSON, schema costack.report/1: {"schema", "trace", "start", "end",
 * "events", "lost": {"events", "packets", "gaps": [{"begin", "end",
 * "events", "packets", "stream"}]}, "processes": [{"pid", "name", "tasks":
 * [{"id", "name", "runtime", "entry", "created", "ended", "lifetime_ns",
 * "fate", "switches", "running_ns", "suspended_ns", "raises",
 * "lost_events_may_touch", "exceptions": [{"type", "what", "forced", "count",
 * "first", "last", "origin", "frames"}]}]}], "waits": [{"pid", "total_ns",
 * "waits", "frames"}]}; times "<s>.<9 digits>", frames as costack.stacks/1's.
 * Returns 0, or -1 when out could not be written or memory ran out.
 */
int report_write(FILE *out, struct tm_model *m, const struct report_times *rt,
                 const struct report_options *o);

#endif
