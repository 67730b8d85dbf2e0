/* SPDX-License-Identifier: MIT */
/* flame_out.h - a profile of symbolized stacks weighted by time, and its writers: folded,
 * speedscope JSON, pprof (profile.proto, gzip), an interactive SVG flame graph. */
#ifndef COSTACK_FLAME_OUT_H
#define COSTACK_FLAME_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hashmap.h"
#include "selection.h"

enum flame_kind { FLAME_WAIT = 0, FLAME_RUN = 1 };
enum flame_by { FLAME_BY_TASK, FLAME_BY_ENTRY, FLAME_BY_NONE };

/* Which intervals count, and how the profile's stacks start. */
struct flame_options {
	bool wait, run;   /* the kinds counted (both: a root frame per kind) */
	enum flame_by by; /* a root frame per task, per entry function, or none */
	struct selection sel;
	/* for runs compared side by side (costack diff): only the intervals that ended in the
	 * trace (one still going was cut by the trace's end), and with --by entry the root tasks
	 * of all threads one kind, "[thread]" (each run has other thread ids) */
	bool ended_only, threads_as_one;
};

/* A function (interned by name and file). */
struct flame_func {
	const char *name; /* never NULL: a symbol, "module+0xoff" or "0xaddr" */
	const char *file; /* NULL: unknown */
};

#define FLAME_INLINE_MAX 16

/* A place in a stack: one return address (its inlined functions, outermost first), or a pseudo
 * frame (a root per kind or task, "[truncated]"): address 0, one function. */
struct flame_loc {
	uint64_t address;
	const char *module; /* NULL: unknown */
	uint32_t nfuncs;
	uint32_t funcs[FLAME_INLINE_MAX]; /* flame_func indexes, outermost first */
	int lines[FLAME_INLINE_MAX];      /* 0: unknown */
};

struct flame_task {
	uint32_t trace; /* which TRACE (0, 1, ...) */
	int32_t pid;
	uint64_t id;
	const char *name;    /* NULL: none */
	const char *runtime; /* NULL: unknown */
	const char *label;   /* its root frame with --by task: name or entry, and id */
	const char *entry;   /* its entry function's name (the user's), or a thread's label */
};

/* Time tasks spent in one kind on one stack. */
struct flame_sample {
	enum flame_kind kind;
	uint32_t task;
	uint32_t nlocs;
	uint32_t *locs; /* oldest (root) first */
	uint64_t ns, count;
};

/* A profile: the samples of every trace read into it, symbolized. */
struct flame_profile {
	struct flame_options o;
	struct flame_func *funcs;
	size_t nfuncs, funccap;
	struct flame_loc *locs;
	size_t nlocs, loccap;
	struct flame_task *tasks;
	size_t ntasks, taskcap;
	struct flame_sample *samples;
	size_t nsamples, samplecap;
	struct hmap func_index, loc_index, strings; /* to index + 1, or to the string */
	uint64_t total_ns[2], intervals[2];
	uint64_t unknown_ns[2], unknown_intervals[2]; /* left out: lost events may cut them */
	uint64_t first_ns, last_ns;                   /* of the traces read */
	uint32_t nroots; /* every sample's first locations that are roots (kind, task): 0 to 2 */
	uint32_t traces;
	bool out_of_memory;
};

void flame_profile_init(struct flame_profile *p, const struct flame_options *o);
void flame_profile_free(struct flame_profile *p);

/* Interned into p: a string, a function (index), a location (index; a pseudo frame when
 * address is 0). -1 (NULL) when out of memory, which p->out_of_memory then says. */
const char *flame_string(struct flame_profile *p, const char *s);
int64_t flame_func_index(struct flame_profile *p, const char *name, const char *file);
int64_t flame_loc_add(struct flame_profile *p, const struct flame_loc *l);
/* A pseudo frame's location: one function, name. */
int64_t flame_pseudo_loc(struct flame_profile *p, const char *name);

/* Grow *array (of *cap elements of size) for one more. 0, or -1. */
int flame_room(void **array, size_t n, size_t *cap, size_t size);

enum flame_format { FLAME_FOLDED, FLAME_SPEEDSCOPE, FLAME_PPROF, FLAME_SVG };

/* "folded", "speedscope", "pprof" or "svg"; -1 for another name. */
int flame_format_of(const char *name);
/* p in format to out (title: the SVG's). 0, or -1. */
int flame_write(FILE *out, const struct flame_profile *p, enum flame_format format,
                const char *title);

/* "wait" or "run". */
const char *flame_kind_name(enum flame_kind k);

/* The writers (flame_out.c). Each returns 0, or -1 when out could not be written or memory ran
 * out. */
int flame_write_folded(FILE *out, const struct flame_profile *p);
int flame_write_speedscope(FILE *out, const struct flame_profile *p);
int flame_write_pprof(FILE *out, const struct flame_profile *p);
int flame_write_svg(FILE *out, const struct flame_profile *p, const char *title);

/* A differential flame graph (costack diff): p's traces before base_traces are BASE's, the others
 * NEW's, each side's time divided by its number of traces (per run). */
struct flame_diff {
	uint32_t base_traces;
	uint64_t min_change_ns; /* a frame whose time per run changed less is drawn neutral */
	const char *verdict;    /* the gate's, for the subtitle; NULL: none */
};

/* The same graph as flame_write_svg's, drawn with NEW's time per run (its shape), each frame
 * coloured by the change of its time per run: red where it grew, blue where it shrank, the
 * deeper the larger the change (full at +-100%), neutral under min_change_ns; stacks only BASE
 * has (vanished) drawn hatched with BASE's time. Hover tells base, new and the change. */
int flame_write_svg_diff(FILE *out, const struct flame_profile *p, const char *title,
                         const struct flame_diff *d);

#endif
