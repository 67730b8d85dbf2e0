/* SPDX-License-Identifier: MIT */
/* flame.c - `costack flame`: the model's intervals counted per task and stack, then symbolized. */
#include "flame.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "knowledge.h"
#include "offline_sym.h"
#include "task_view.h"

/* Time one task spent in one kind on one stack, in one trace. */
struct flame_cell {
	const struct tm_task *task;
	const struct tm_stack *stack; /* NULL: a first run, from the entry */
	enum flame_kind kind;
	bool truncated;
	uint64_t first_ns; /* when first seen, for symbolization (the modules then) */
	uint64_t ns, count;
};

static void on_interval(void *ctx, const struct tm_model *m, const struct tm_interval *iv)
{
	struct flame_counts *c = ctx;
	struct flame_profile *p = c->profile;
	const struct flame_options *o = &p->o;
	enum flame_kind kind = iv->state == COSTACK_RUNNING ? FLAME_RUN : FLAME_WAIT;
	uint64_t begin = iv->begin_ns, end = iv->end_ns, b;
	struct flame_cell *cell;

	if ((kind == FLAME_RUN && !o->run) || (kind == FLAME_WAIT && !o->wait))
		return;
	if (!selection_wants(&o->sel, iv->task) || !selection_clip(&o->sel, m, &begin, &end) ||
	    end <= begin || (o->ended_only && iv->open))
		return;
	if (iv->unknown) {
		p->unknown_ns[kind] += end - begin;
		p->unknown_intervals[kind]++;
		return;
	}
	p->total_ns[kind] += end - begin;
	p->intervals[kind]++;
	/* Stacks are aligned: the low bits hold the kind and the truncated flag. */
	b = (uintptr_t)iv->stack | (uint64_t)kind | (uint64_t)iv->stack_truncated << 1;
	cell = hmap_get(&c->cells, (uintptr_t)iv->task, b);
	if (!cell) {
		cell = calloc(1, sizeof(*cell));
		if (!cell || hmap_put(&c->cells, (uintptr_t)iv->task, b, cell)) {
			free(cell);
			c->out_of_memory = true;
			return;
		}
		*cell = (struct flame_cell){iv->task, iv->stack, kind, iv->stack_truncated,
		                            begin,    0,         0};
	}
	cell->ns += end - begin;
	cell->count++;
}

int flame_listen(struct flame_counts *c, struct flame_profile *p, struct tm_model *m)
{
	struct tm_listener l = {.interval = on_interval, .ctx = c};

	memset(c, 0, sizeof(*c));
	c->profile = p;
	return tm_model_listen(m, &l);
}

void flame_counts_free(struct flame_counts *c)
{
	for (size_t i = 0; i < c->cells.cap; i++)
		free(c->cells.slots[i].value);
	hmap_free(&c->cells);
}

/* --- symbolized ------------------------------------------------------------------------------ */

struct trace_syms {
	struct flame_profile *p;
	struct offline_sym sym;
	struct hmap locs;  /* (pid, pc ^ is_return) -> loc index + 1 */
	struct hmap tasks; /* task -> task index + 1 */
	uint32_t trace;
};

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* The location of pc of process pid at ts: its functions, inlined ones first... outermost
 * first; -1 when out of memory. */
static int64_t pc_loc(struct trace_syms *ts, int32_t pid, uint64_t at, uint64_t pc, bool is_return)
{
	struct sym_frame f[FLAME_INLINE_MAX];
	struct flame_loc l = {0};
	uint64_t key = pc << 1 | is_return;
	uintptr_t found = (uintptr_t)hmap_get(&ts->locs, (uint32_t)pid, key);
	int n;
	int64_t index;

	if (found)
		return (int64_t)found - 1;
	n = offline_sym_lookup(&ts->sym, pid, at, pc, is_return, f, FLAME_INLINE_MAX);
	l.address = pc;
	if (n > 0)
		l.module = flame_string(ts->p, f[0].module);
	for (int i = 0; i < n; i++) {
		char name[256];
		const char *fn = f[i].function;
		int64_t func;

		if (!fn) {
			if (f[i].module)
				snprintf(name, sizeof(name), "%s+%#" PRIx64, base_name(f[i].module),
				         f[i].offset);
			else
				snprintf(name, sizeof(name), "%#" PRIx64, pc);
			fn = name;
		}
		func = flame_func_index(ts->p, fn, f[i].function ? f[i].file : NULL);
		if (func < 0)
			return -1;
		l.funcs[l.nfuncs] = (uint32_t)func;
		l.lines[l.nfuncs++] = f[i].function ? f[i].line : 0;
	}
	if (!l.nfuncs) {
		char name[32];
		int64_t func;

		snprintf(name, sizeof(name), "%#" PRIx64, pc);
		if ((func = flame_func_index(ts->p, name, NULL)) < 0)
			return -1;
		l.funcs[l.nfuncs++] = (uint32_t)func;
	}
	index = flame_loc_add(ts->p, &l);
	if (index < 0 || hmap_put(&ts->locs, (uint32_t)pid, key, (void *)(uintptr_t)(index + 1)))
		return -1;
	return index;
}

static int64_t task_index(struct trace_syms *ts, const struct tm_task *t)
{
	struct flame_profile *p = ts->p;
	uintptr_t found = (uintptr_t)hmap_get(&ts->tasks, (uintptr_t)t, 0);
	char entry[OFFLINE_SYM_NAME_MAX], label[OFFLINE_SYM_NAME_MAX + 64];
	struct flame_task *ft;

	if (found)
		return (int64_t)found - 1;
	if (flame_room((void **)&p->tasks, p->ntasks, &p->taskcap, sizeof(*p->tasks)))
		return -1;
	if (!t->entry && p->o.threads_as_one)
		snprintf(entry, sizeof(entry), "[thread]");
	else
		offline_sym_entry_name(&ts->sym, t, entry, sizeof(entry));
	snprintf(label, sizeof(label), "%s (task %" PRIu64 ")", t->name ? t->name : entry, t->id);
	ft = &p->tasks[p->ntasks];
	*ft = (struct flame_task){ts->trace,
	                          t->process->pid,
	                          t->id,
	                          flame_string(p, t->name),
	                          flame_string(p, task_runtime_name(t->runtime)),
	                          flame_string(p, label),
	                          flame_string(p, entry)};
	if (!ft->label || !ft->entry ||
	    hmap_put(&ts->tasks, (uintptr_t)t, 0, (void *)(uintptr_t)(p->ntasks + 1)))
		return -1;
	return (int64_t)p->ntasks++;
}

/* A cell's locations, root first: its kind (both kinds), its task or entry (--by), then
 * "[truncated]" for a stack cut at costack's depth, then its frames oldest first (a first run:
 * its entry function). */
static int add_cell(struct trace_syms *ts, const struct flame_cell *cell)
{
	struct flame_profile *p = ts->p;
	const struct tm_task *t = cell->task;
	uint32_t n = cell->stack ? cell->stack->nframes : 1;
	uint32_t *locs = calloc(n + 3, sizeof(*locs)), k = 0;
	int64_t task = task_index(ts, t), l;

	if (!locs || task < 0)
		goto oom;
	if (p->o.wait && p->o.run) {
		if ((l = flame_pseudo_loc(p, flame_kind_name(cell->kind))) < 0)
			goto oom;
		locs[k++] = (uint32_t)l;
	}
	if (p->o.by != FLAME_BY_NONE) {
		const struct flame_task *ft = &p->tasks[task];

		if ((l = flame_pseudo_loc(p, p->o.by == FLAME_BY_TASK ? ft->label : ft->entry)) < 0)
			goto oom;
		locs[k++] = (uint32_t)l;
	}
	if (cell->truncated) {
		if ((l = flame_pseudo_loc(p, "[truncated]")) < 0)
			goto oom;
		locs[k++] = (uint32_t)l;
	}
	if (cell->stack) {
		for (uint32_t i = cell->stack->nframes; i-- > 0;) {
			l = pc_loc(ts, t->process->pid, cell->first_ns, cell->stack->frames[i],
			           true);
			if (l < 0)
				goto oom;
			locs[k++] = (uint32_t)l;
		}
	} else {
		l = t->entry ? pc_loc(ts, t->process->pid, cell->first_ns, t->entry, false)
		             : flame_pseudo_loc(p, "[thread start]");
		if (l < 0)
			goto oom;
		locs[k++] = (uint32_t)l;
	}
	if (flame_room((void **)&p->samples, p->nsamples, &p->samplecap, sizeof(*p->samples)))
		goto oom;
	p->samples[p->nsamples++] =
	        (struct flame_sample){cell->kind, (uint32_t)task, k, locs, cell->ns, cell->count};
	return 0;
oom:
	free(locs);
	p->out_of_memory = true;
	return -1;
}

int flame_add_trace(struct flame_counts *c, struct tm_model *m)
{
	struct trace_syms ts = {.p = c->profile, .trace = c->profile->traces};
	int status = -1;

	if (c->out_of_memory || offline_sym_init(&ts.sym, m)) {
		flame_counts_free(c);
		c->profile->out_of_memory = true;
		return -1;
	}
	for (size_t i = 0; i < c->cells.cap; i++) {
		const struct flame_cell *cell = c->cells.slots[i].value;

		if (cell && add_cell(&ts, cell))
			goto end;
	}
	if (m->has_time) {
		if (!c->profile->traces || m->first_ns < c->profile->first_ns)
			c->profile->first_ns = m->first_ns;
		if (m->last_ns > c->profile->last_ns)
			c->profile->last_ns = m->last_ns;
	}
	c->profile->traces++;
	status = 0;
end:
	hmap_free(&ts.locs);
	hmap_free(&ts.tasks);
	offline_sym_free(&ts.sym);
	flame_counts_free(c);
	return status;
}
