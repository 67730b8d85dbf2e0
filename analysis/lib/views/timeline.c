/* SPDX-License-Identifier: MIT */
/* timeline.c - `costack timeline TRACE`: the model's intervals, switches, raises, ends and gaps as
 * Chrome trace-event JSON, each written when the model tells it. */
#include "timeline.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "knowledge.h"
#include "output.h"
#include "task_view.h"

#define INLINE_MAX 16
#define LOST_PID 0 /* the pseudo process of the lost-events track */

/* What a stack shows in the timeline: the place (innermost frame of the program's own) and its
 * frames as a JSON array, symbolized once. */
struct stack_text {
	char *place;
	char *frames_json;
};

/* The file starts at the first event, its times counted from the trace's first message. */
static struct chrome_out *chrome(struct timeline *tl)
{
	if (!tl->begun) {
		chrome_begin(&tl->chrome, tl->out, tl->model->first_ns);
		tl->begun = true;
	}
	return &tl->chrome;
}

static const struct stack_text *stack_text(struct timeline *tl, const struct tm_task *t,
                                           const struct tm_stack *s, uint64_t ts)
{
	struct stack_text *x = hmap_get(&tl->stacks, (uintptr_t)s, 0);
	struct sym_frame f[INLINE_MAX];
	FILE *json;
	size_t size = 0;
	bool first = true;
	int place_k = -1;
	char place[OFFLINE_SYM_NAME_MAX] = "";

	if (x)
		return x;
	if (!(x = calloc(1, sizeof(*x))) || !(json = open_memstream(&x->frames_json, &size)))
		goto oom;
	putc('[', json);
	for (uint32_t i = s->nframes; i-- > 0;) {
		int n = offline_sym_lookup(&tl->sym, t->process->pid, ts, s->frames[i], true, f,
		                           INLINE_MAX);
		int inner = n > 0 ? program_frame_innermost(f, n) : -1;

		for (int k = 0; k < n; k++) {
			char text[OFFLINE_SYM_NAME_MAX + PATH_MAX];

			if (f[k].function && f[k].file)
				snprintf(text, sizeof(text), "%s (%s:%d)", f[k].function, f[k].file,
				         f[k].line);
			else if (f[k].function)
				snprintf(text, sizeof(text), "%s", f[k].function);
			else if (f[k].module)
				snprintf(text, sizeof(text), "%s+%#" PRIx64, f[k].module,
				         f[k].offset);
			else
				snprintf(text, sizeof(text), "%#" PRIx64, s->frames[i]);
			fputs(first ? "" : ",", json);
			json_string(json, text);
			first = false;
		}
		/* The innermost program frame: frames go oldest first, so the last one found. */
		if (inner >= 0 && f[inner].function) {
			snprintf(place, sizeof(place), "%s", f[inner].function);
			place_k = inner;
		} else if (place_k < 0 && i == 0 && n > 0 && f[n - 1].function) {
			snprintf(place, sizeof(place), "%s", f[n - 1].function);
		}
	}
	putc(']', json);
	if (fclose(json))
		goto oom;
	if (!*place)
		snprintf(place, sizeof(place), "%#" PRIx64, s->nframes ? s->frames[0] : 0);
	if (!(x->place = strdup(place)) || hmap_put(&tl->stacks, (uintptr_t)s, 0, x))
		goto oom;
	return x;
oom:
	if (x) {
		free(x->frames_json);
		free(x->place);
		free(x);
	}
	tl->out_of_memory = true;
	return NULL;
}

static void seen(struct timeline *tl, const struct tm_task *t)
{
	if (!hmap_get(&tl->tasks, (uintptr_t)t, 0) &&
	    hmap_put(&tl->tasks, (uintptr_t)t, 0, (void *)1))
		tl->out_of_memory = true;
}

static void on_interval(void *ctx, const struct tm_model *m, const struct tm_interval *iv)
{
	struct timeline *tl = ctx;
	const struct tm_task *t = iv->task;
	uint64_t begin = iv->begin_ns, end = iv->end_ns;
	const struct stack_text *x = NULL;
	char name[OFFLINE_SYM_NAME_MAX + 64], entry[OFFLINE_SYM_NAME_MAX];
	const char *cat;
	struct chrome_out *c;

	(void)m;
	if (!selection_wants(&tl->o.sel, t) || !selection_clip(&tl->o.sel, tl->model, &begin, &end))
		return;
	seen(tl, t);
	if (iv->stack)
		x = stack_text(tl, t, iv->stack, iv->begin_ns);
	if (iv->unknown) {
		cat = "unknown";
		snprintf(name, sizeof(name), "unknown (events lost)");
	} else if (iv->state == COSTACK_SUSPENDED) {
		cat = "suspended";
		snprintf(name, sizeof(name), "%s", x ? x->place : "?");
	} else {
		cat = "running";
		if (x)
			snprintf(name, sizeof(name), "run after %s", x->place);
		else
			snprintf(name, sizeof(name), "run from %s",
			         offline_sym_entry_name(&tl->sym, t, entry, sizeof(entry)));
	}
	c = chrome(tl);
	chrome_event(c, 'X', name, cat, t->process->pid, t->id, begin);
	fputs(",\"dur\":", tl->out);
	chrome_us(tl->out, end - begin);
	fprintf(tl->out, ",\"args\":{\"state\":\"%s\",\"thread\":%" PRId32,
	        iv->state == COSTACK_RUNNING ? "running" : "suspended", iv->tid);
	if (x)
		fprintf(tl->out, ",\"%s\":%s",
		        iv->state == COSTACK_RUNNING ? "resumed_from" : "stack", x->frames_json);
	if (iv->stack_truncated)
		fputs(",\"truncated\":true", tl->out);
	if (iv->open)
		fputs(",\"open\":true", tl->out);
	if (iv->unknown)
		fputs(",\"unknown\":true", tl->out);
	fputs("}", tl->out);
	chrome_event_end(c);
	tl->slices++;
}

static void on_switched(void *ctx, const struct tm_model *m, uint64_t ts, int32_t tid,
                        const struct tm_task *prev, const struct tm_task *next)
{
	struct timeline *tl = ctx;
	struct chrome_out *c;
	uint64_t b = ts, e = ts;

	(void)m;
	if (!prev || !next || !selection_wants(&tl->o.sel, prev) ||
	    !selection_wants(&tl->o.sel, next) || !selection_clip(&tl->o.sel, tl->model, &b, &e))
		return;
	c = chrome(tl);
	tl->flows++;
	/* The arrow leaves prev's running slice just before it ends, and enters next's, which
	 * begins at ts ("bp":"e": bound to the enclosing slice). */
	chrome_event(c, 's', "switch", "switch", prev->process->pid, prev->id,
	             ts > 0 ? ts - 1 : ts);
	fprintf(tl->out, ",\"id\":%" PRIu64 ",\"args\":{\"thread\":%" PRId32 "}", tl->flows, tid);
	chrome_event_end(c);
	chrome_event(c, 'f', "switch", "switch", next->process->pid, next->id, ts);
	fprintf(tl->out, ",\"id\":%" PRIu64 ",\"bp\":\"e\",\"args\":{\"thread\":%" PRId32 "}",
	        tl->flows, tid);
	chrome_event_end(c);
}

static void on_raised(void *ctx, const struct tm_model *m, const struct tm_task *t,
                      const struct tm_raise *r)
{
	struct timeline *tl = ctx;
	const struct stack_text *x = NULL;
	struct chrome_out *c;
	uint64_t b = r->ts, e = r->ts;
	char name[OFFLINE_SYM_NAME_MAX + 64];

	(void)m;
	if (!selection_wants(&tl->o.sel, t) || !selection_clip(&tl->o.sel, tl->model, &b, &e))
		return;
	seen(tl, t);
	if (r->stack)
		x = stack_text(tl, t, r->stack, r->ts);
	snprintf(name, sizeof(name), "raise %s", r->type && *r->type ? r->type : "exception");
	c = chrome(tl);
	chrome_event(c, 'i', name, "raise", t->process->pid, t->id, r->ts);
	fputs(",\"s\":\"t\",\"args\":{\"type\":", tl->out);
	json_string(tl->out, r->type);
	fputs(",\"what\":", tl->out);
	json_string(tl->out, r->what);
	fprintf(tl->out, ",\"number\":%" PRIu64 ",\"thread\":%" PRId32 ",\"forced\":%s", r->number,
	        r->tid, r->forced ? "true" : "false");
	if (x)
		fprintf(tl->out, ",\"stack\":%s", x->frames_json);
	fputs("}", tl->out);
	chrome_event_end(c);
	tl->instants++;
}

static const char *fate_name(int state)
{
	const char *name = task_state_name(state);

	return name ? name : "unknown";
}

static void on_ended(void *ctx, const struct tm_model *m, const struct tm_task *t)
{
	struct timeline *tl = ctx;
	struct chrome_out *c;
	uint64_t b = t->ended_ns, e = t->ended_ns;
	char name[64];

	(void)m;
	if (!selection_wants(&tl->o.sel, t) || !selection_clip(&tl->o.sel, tl->model, &b, &e))
		return;
	seen(tl, t);
	snprintf(name, sizeof(name), "end: %s", fate_name(t->state));
	c = chrome(tl);
	chrome_event(c, 'i', name, "end", t->process->pid, t->id, t->ended_ns);
	fprintf(tl->out, ",\"s\":\"t\",\"args\":{\"fate\":\"%s\"", fate_name(t->state));
	if (t->state == COSTACK_FAILED && t->has_fatal) {
		fputs(",\"exception\":{\"type\":", tl->out);
		json_string(tl->out, t->raises->fatal.type);
		fputs(",\"what\":", tl->out);
		json_string(tl->out, t->raises->fatal.what);
		putc('}', tl->out);
	}
	fputs("}", tl->out);
	chrome_event_end(c);
	tl->instants++;
}

static void on_lost(void *ctx, const struct tm_model *m, const struct tm_gap *g)
{
	struct timeline *tl = ctx;
	struct chrome_out *c;
	uint64_t b = g->begin_ns, e = g->end_ns;
	char name[64];

	(void)m;
	if (!selection_clip(&tl->o.sel, tl->model, &b, &e))
		return;
	snprintf(name, sizeof(name), "%" PRIu64 " %s lost", g->count,
	         g->packets ? "packets" : "events");
	c = chrome(tl);
	chrome_event(c, 'X', name, "lost", LOST_PID, 0, b);
	fputs(",\"dur\":", tl->out);
	chrome_us(tl->out, e - b);
	fprintf(tl->out,
	        ",\"args\":{\"%s\":%" PRIu64 ",\"stream\":", g->packets ? "packets" : "events",
	        g->count);
	json_string(tl->out, g->stream);
	fputs(",\"meaning\":\"any task alive then may have events missing\"}", tl->out);
	chrome_event_end(c);
	chrome_event(c, 'i', name, "lost", LOST_PID, 0, b);
	fputs(",\"s\":\"g\"}", tl->out);
	tl->gaps++;
}

int timeline_listen(struct timeline *tl, struct tm_model *m, FILE *out,
                    const struct timeline_options *o)
{
	struct tm_listener l = {.interval = on_interval,
	                        .switched = on_switched,
	                        .raised = on_raised,
	                        .ended = on_ended,
	                        .lost = on_lost,
	                        .ctx = tl};

	memset(tl, 0, sizeof(*tl));
	tl->o = *o;
	tl->out = out;
	tl->model = m;
	if (offline_sym_init(&tl->sym, m))
		return -1;
	tl->sym_ready = true;
	return tm_model_listen(m, &l);
}

static int compare_task(const void *a, const void *b)
{
	uint64_t x = (*(struct tm_task *const *)a)->id, y = (*(struct tm_task *const *)b)->id;

	return x < y ? -1 : x > y;
}

int timeline_finish(struct timeline *tl)
{
	struct tm_model *m = tl->model;
	struct chrome_out *c = chrome(tl);
	char other[256];

	/* Names last: a task named after it began has its final name. */
	for (size_t i = 0; i < m->nprocs; i++) {
		struct tm_process *p = m->procs[i];
		bool any = false;
		char name[OFFLINE_SYM_NAME_MAX + 64];

		if (p->ntasks > 1)
			qsort(p->tasks, p->ntasks, sizeof(*p->tasks), compare_task);
		for (size_t j = 0; j < p->ntasks; j++) {
			const struct tm_task *t = p->tasks[j];
			char entry[OFFLINE_SYM_NAME_MAX];

			if (!hmap_get(&tl->tasks, (uintptr_t)t, 0))
				continue;
			snprintf(
			        name, sizeof(name), "%s (task %" PRIu64 ")",
			        t->name ? t->name
			                : offline_sym_entry_name(&tl->sym, t, entry, sizeof(entry)),
			        t->id);
			chrome_name(c, false, p->pid, t->id, name, (int64_t)t->id);
			any = true;
		}
		if (!any)
			continue;
		snprintf(name, sizeof(name), "%s", p->procname ? p->procname : "?");
		chrome_name(c, true, p->pid, 0, name, p->pid);
	}
	if (tl->gaps)
		chrome_name(c, true, LOST_PID, 0, "lost events (any task alive then)", -1);
	snprintf(other, sizeof(other),
	         "\"schema\":\"costack.timeline/1\",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
	         ",\"lost_events\":%" PRIu64 ",\"lost_packets\":%" PRIu64,
	         m->first_ns, m->last_ns, m->lost_events, m->lost_packets);
	if (chrome_end(c, other) || tl->out_of_memory)
		return -1;
	return 0;
}

void timeline_free(struct timeline *tl)
{
	for (size_t i = 0; i < tl->stacks.cap; i++) {
		struct stack_text *x = tl->stacks.slots[i].value;

		if (x) {
			free(x->place);
			free(x->frames_json);
			free(x);
		}
	}
	hmap_free(&tl->stacks);
	hmap_free(&tl->tasks);
	if (tl->sym_ready)
		offline_sym_free(&tl->sym);
	tl->sym_ready = false;
}
