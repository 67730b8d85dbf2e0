/* SPDX-License-Identifier: MIT */
/* chrome_out.h - Chrome trace-event JSON (chrome://tracing, Perfetto UI), written as it comes. */
#ifndef COSTACK_CHROME_OUT_H
#define COSTACK_CHROME_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The JSON object form: {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}.
 * Times are microseconds (the format's unit) from an origin, with three decimals: exact to the
 * nanosecond. Events are written in the order given (the format does not need time order).
 */
struct chrome_out {
	FILE *out;
	uint64_t origin_ns; /* ts 0 */
	bool any;           /* an event was written: the next one needs a comma */
	uint64_t events;
};

void chrome_begin(struct chrome_out *c, FILE *out, uint64_t origin_ns);

/* The start of an event, up to its args (excluded): {"ph":PH,"name":NAME,"cat":CAT,"pid":PID,
 * "tid":TID,"ts":TS; the caller adds its own members (",\"dur\":...", ",\"args\":{...}") and
 * closes it with chrome_event_end. */
void chrome_event(struct chrome_out *c, char ph, const char *name, const char *cat, int64_t pid,
                  uint64_t tid, uint64_t ts_ns);
void chrome_event_end(struct chrome_out *c);

/* A duration in microseconds with three decimals, as a JSON number. */
void chrome_us(FILE *out, uint64_t ns);

/* Metadata: a process' or a track's (thread's) name and sort index. */
void chrome_name(struct chrome_out *c, bool process, int64_t pid, uint64_t tid, const char *name,
                 int64_t sort_index);

/* Close the array and the object; other_json: the otherData object's members (without braces),
 * or NULL. 0, or -1 when out could not be written. */
int chrome_end(struct chrome_out *c, const char *other_json);

#endif
