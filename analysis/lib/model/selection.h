/* SPDX-License-Identifier: MIT */
/* selection.h - which tasks and which time a view of the model takes (--pid, --task, --from,
 * --to; the plugin's pid and task): one rule for flame and timeline. */
#ifndef COSTACK_SELECTION_H
#define COSTACK_SELECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "trace_model.h"

struct selection {
	bool has_pid, has_task;
	int32_t pid;
	uint64_t task;
	/* a window: [from, to]; an offset counts from each trace's own start */
	bool has_from, has_to;
	bool from_offset, to_offset;
	uint64_t from_ns, to_ns;
};

static inline bool selection_wants(const struct selection *s, const struct tm_task *t)
{
	return t && (!s->has_pid || t->process->pid == s->pid) &&
	       (!s->has_task || t->id == s->task);
}

/* [*begin, *end] of m cut to the window; false when nothing of it is left (an instant:
 * begin == end). */
static inline bool selection_clip(const struct selection *s, const struct tm_model *m,
                                  uint64_t *begin, uint64_t *end)
{
	uint64_t from = s->from_offset ? m->first_ns + s->from_ns : s->from_ns;
	uint64_t to = s->to_offset ? m->first_ns + s->to_ns : s->to_ns;

	if (s->has_from && *begin < from) {
		if (*end < from)
			return false;
		*begin = from;
	}
	if (s->has_to && *end > to) {
		if (*begin > to)
			return false;
		*end = to;
	}
	return true;
}

#endif
