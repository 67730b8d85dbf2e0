/* SPDX-License-Identifier: MIT */
/* timeline.h - `costack timeline TRACE`: every task's life as Chrome trace-event JSON, written as
 * the model is fed. */
#ifndef COSTACK_TIMELINE_H
#define COSTACK_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chrome_out.h"
#include "hashmap.h"
#include "offline_sym.h"
#include "selection.h"
#include "trace_model.h"

struct timeline_options {
	struct selection sel;
};

/*
 * A listener of the model that writes each event as soon as the model tells it (memory: one
 * cached name and stack text per distinct stack, as the model keeps stacks):
 *   - a track per task ("tid" its id) under its process ("pid"), named "NAME (task ID)" by its
 *     name, else its entry function (a thread's root task: [thread TID]);
 *   - a complete slice ("X") per interval: cat "suspended", named by the innermost frame of
 *     the program's own of the stack it waited at; cat "running", named "run after PLACE"
 *     (the place it was resumed from; a first run: "run from ENTRY"); args: state, thread
 *     (the OS thread it ran on, or last ran on), stack (frames oldest first, "function
 *     (file:line)"), truncated, open (still so at the trace's end); an interval lost events
 *     may cut: cat "unknown", named "unknown (events lost)";
 *   - instants ("i", scope thread): "raise TYPE" (args type, what, stack) and "end: FATE"
 *     (args fate, exception type and what for a failed task);
 *   - flow arrows ("s" then "f", cat "switch") from the task that switched to the one it
 *     resumed, on the switch's thread;
 *   - each gap of lost events: a slice on the track "lost events" of the pseudo process 0,
 *     and a global instant.
 */
struct timeline {
	struct timeline_options o;
	struct chrome_out chrome;
	FILE *out;
	bool begun;
	struct tm_model *model;
	struct offline_sym sym;
	bool sym_ready;
	struct hmap stacks; /* stack -> struct stack_text */
	struct hmap tasks;  /* task -> 1: seen (named at the end) */
	uint64_t flows;
	uint64_t slices, instants, gaps;
	bool out_of_memory;
};

/* Listen to m before it is fed, writing to out. 0, or -1 (too many listeners, out of memory). */
int timeline_listen(struct timeline *tl, struct tm_model *m, FILE *out,
                    const struct timeline_options *o);

/* After the model was fed (trace_reader_end told the open intervals): the tracks' names, the
 * end of the file. 0, or -1 when out could not be written or memory ran out. */
int timeline_finish(struct timeline *tl);
void timeline_free(struct timeline *tl);

#endif
