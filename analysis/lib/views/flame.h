/* SPDX-License-Identifier: MIT */
/* flame.h - `costack flame`: where tasks waited (or ran), weighted by time, as one profile. */
#ifndef COSTACK_FLAME_H
#define COSTACK_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flame_out.h"
#include "hashmap.h"
#include "trace_model.h"

/* What one trace's model tells, counted per (task, stack, kind): a listener of the model. */
struct flame_counts {
	struct flame_profile *profile;
	struct hmap cells; /* (task, stack ^ kind) -> struct flame_cell */
	bool out_of_memory;
};

/* Listen to m (before it is fed) for profile p. 0, or -1 when m has too many listeners. */
int flame_listen(struct flame_counts *c, struct flame_profile *p, struct tm_model *m);

/* After m was fed one whole trace (trace_reader_end told the open intervals): its counts into
 * the profile, symbolized with m's modules; c is freed. 0, or -1 when out of memory. */
int flame_add_trace(struct flame_counts *c, struct tm_model *m);
void flame_counts_free(struct flame_counts *c);

#endif
