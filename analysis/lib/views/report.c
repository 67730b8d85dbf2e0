/* SPDX-License-Identifier: MIT */
/* report.c - `costack report TRACE`: each task's life, its exceptions, where tasks waited. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "offline_sym.h"
#include "output.h"
#include "stacks_out.h"

#define GAPS_SHOWN 10 /* in text; JSON has them all */

static const char *runtime_name(int r)
{
	const char *name = task_runtime_name(r);

	return name ? name : "?";
}

static const char *state_name(int state)
{
	const char *name = task_state_name(state);

	return name ? name : "unknown";
}

/* --- what the report counts while the model is fed ------------------------------------ */

struct task_times {
	uint64_t running_ns, suspended_ns;
};

/* Per stack: the time tasks spent suspended there, and how many times. */
struct stack_waits {
	const struct tm_stack *stack;
	uint64_t total_ns, waits;
};

static void on_interval(void *ctx, const struct tm_model *m, const struct tm_interval *iv)
{
	struct report_times *rt = ctx;
	uint64_t d = iv->end_ns - iv->begin_ns;
	struct task_times *tt = hmap_get(&rt->tasks, (uintptr_t)iv->task, 0);

	(void)m;
	if (!tt) {
		tt = calloc(1, sizeof(*tt));
		if (!tt || hmap_put(&rt->tasks, (uintptr_t)iv->task, 0, tt)) {
			free(tt);
			rt->out_of_memory = true;
			return;
		}
	}
	if (iv->state == COSTACK_RUNNING) {
		tt->running_ns += d;
	} else {
		struct stack_waits *w;

		tt->suspended_ns += d;
		if (!iv->stack)
			return;
		w = hmap_get(&rt->stacks, (uintptr_t)iv->stack, 0);
		if (!w) {
			w = calloc(1, sizeof(*w));
			if (!w || hmap_put(&rt->stacks, (uintptr_t)iv->stack, 0, w)) {
				free(w);
				rt->out_of_memory = true;
				return;
			}
			w->stack = iv->stack;
		}
		w->total_ns += d;
		w->waits++;
	}
}

int report_listen(struct report_times *rt, struct tm_model *m)
{
	struct tm_listener l = {.interval = on_interval, .ctx = rt};

	memset(rt, 0, sizeof(*rt));
	return tm_model_listen(m, &l);
}

static void free_values(struct hmap *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->slots[i].value);
	hmap_free(h);
}

void report_times_free(struct report_times *rt)
{
	free_values(&rt->tasks);
	free_values(&rt->stacks);
}

/* What a task ended as, or the state it was left in at the trace's end. */
static const char *fate_name(const struct tm_model *m, const struct tm_task *t)
{
	if (!tm_task_ended(t) && tm_task_unknown(m, t))
		return "unknown";
	return state_name(t->state);
}

/* Whether a gap may hold events of t: it was alive during one. */
static bool touched_by_loss(const struct tm_model *m, const struct tm_task *t)
{
	for (size_t i = 0; i < m->ngaps; i++)
		if (t->created_ns <= m->gaps[i].end_ns &&
		    (!t->ended_ns || t->ended_ns >= m->gaps[i].begin_ns))
			return true;
	return !t->created_seen || tm_task_unknown(m, t);
}

struct figures {
	uint64_t running_ns, suspended_ns, lifetime_ns;
};

static struct figures figures_of(const struct tm_model *m, const struct report_times *rt,
                                 const struct tm_task *t)
{
	const struct task_times *tt = hmap_get(&rt->tasks, (uintptr_t)t, 0);
	struct figures f = {tt ? tt->running_ns : 0, tt ? tt->suspended_ns : 0, 0};
	uint64_t end = t->ended_ns ? t->ended_ns : m->last_ns;

	f.lifetime_ns = end > t->created_ns ? end - t->created_ns : 0;
	return f;
}

/* A stack of the model as the writers take it: oldest first, into frames. */
static void stack_task(const struct tm_stack *s, int32_t pid, uint64_t ts, uint64_t *frames,
                       struct stacks_task *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->frames_ns = ts;
	out->nframes = s ? s->nframes : 0;
	for (uint32_t i = 0; i < out->nframes; i++)
		frames[i] = s->frames[s->nframes - 1 - i];
	out->frames = frames;
}

/* --- where tasks waited ---------------------------------------------------------- */

struct wait_row {
	const struct tm_stack *stack;
	int32_t pid;
	uint64_t total_ns, waits;
};

static int compare_rows(const void *a, const void *b)
{
	const struct wait_row *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return x->waits > y->waits ? -1 : x->waits < y->waits;
}

/* Every stack tasks were suspended at, with its total, the longest first, in *out (to free).
 * 0, or -1 when out of memory. */
static int wait_rows(const struct tm_model *m, const struct report_times *rt, struct wait_row **out,
                     size_t *n)
{
	struct hmap serials = {0};
	struct wait_row *rows = NULL;
	size_t count = 0;

	*n = 0;
	*out = NULL;
	for (size_t i = 0; i < m->nprocs; i++)
		if (hmap_put(&serials, m->procs[i]->serial, 0, m->procs[i]))
			goto fail;
	if (rt->stacks.n && !(rows = calloc(rt->stacks.n, sizeof(*rows))))
		goto fail;
	for (size_t i = 0; i < rt->stacks.cap; i++) {
		const struct stack_waits *w = rt->stacks.slots[i].value;
		const struct tm_process *p;

		if (!w)
			continue;
		p = hmap_get(&serials, w->stack->serial, 0);
		rows[count++] = (struct wait_row){w->stack, p ? p->pid : 0, w->total_ns, w->waits};
	}
	if (count > 1)
		qsort(rows, count, sizeof(*rows), compare_rows);
	hmap_free(&serials);
	*out = rows;
	*n = count;
	return 0;
fail:
	hmap_free(&serials);
	free(rows);
	return -1;
}

/* --- text --------------------------------------------------------------------------- */

static const char *rel(const struct tm_model *m, uint64_t ts, char *buf, size_t size)
{
	char d[16];

	snprintf(buf, size, "+%s",
	         format_duration(ts > m->first_ns ? ts - m->first_ns : 0, d, sizeof(d)));
	return buf;
}

static void text_lost(FILE *out, const struct tm_model *m)
{
	char a[24], b[24];

	if (!m->ngaps) {
		fputs("Lost events: none.\n", out);
		return;
	}
	fprintf(out, "LOST EVENTS: %" PRIu64 " event%s", m->lost_events,
	        m->lost_events == 1 ? " was" : "s were");
	if (m->lost_packets)
		fprintf(out, " (and %" PRIu64 " packet%s)", m->lost_packets,
		        m->lost_packets == 1 ? "" : "s");
	fprintf(out, " lost, in %zu gap%s, from %s to %s:\n", m->ngaps, m->ngaps == 1 ? "" : "s",
	        rel(m, m->gaps[0].begin_ns, a, sizeof(a)),
	        rel(m, m->gaps[m->ngaps - 1].end_ns, b, sizeof(b)));
	for (size_t i = 0; i < m->ngaps && i < GAPS_SHOWN; i++) {
		const struct tm_gap *g = &m->gaps[i];

		fprintf(out, "  %s .. %s  %" PRIu64 " %s%s", rel(m, g->begin_ns, a, sizeof(a)),
		        rel(m, g->end_ns, b, sizeof(b)), g->count,
		        g->packets ? "packets" : "events", g->stream ? "  (" : "\n");
		if (g->stream) {
			text_string(out, g->stream);
			fputs(")\n", out);
		}
	}
	if (m->ngaps > GAPS_SHOWN)
		fprintf(out, "  ... %zu more gaps (--format json lists them all)\n",
		        m->ngaps - GAPS_SHOWN);
	fputs("  The trace's buffers were full (record with larger sub-buffers, or fewer events):\n"
	      "  a lost event may belong to any task of any process. Tasks alive then are\n"
	      "  \"unknown\" to `costack stacks` until an event tells their state again, and\n"
	      "  their figures below (marked *) count only what was recorded.\n",
	      out);
}

static void text_exceptions(FILE *out, const struct tm_model *m, struct stacks_report *r,
                            const struct tm_task *t)
{
	uint64_t frames[COSTACK_MAX_FRAMES];
	char a[24], b[24];

	for (uint32_t i = 0; t->raises && i < t->raises->nkinds; i++) {
		const struct tm_exception_kind *k = &t->raises->kinds[i];
		struct stacks_task st;

		fprintf(out, "    task %" PRIu64 ": ", t->id);
		text_string(out, k->type && *k->type ? k->type : "exception");
		if (k->what && *k->what) {
			fputs(": ", out);
			text_string(out, k->what);
		}
		fprintf(out, "%s, raised %" PRIu64 " time%s, %s",
		        k->forced ? " (forced unwind)" : "", k->count, k->count == 1 ? "" : "s",
		        rel(m, k->first_ns, a, sizeof(a)));
		if (k->count > 1)
			fprintf(out, " .. %s", rel(m, k->last_ns, b, sizeof(b)));
		if (k->origin && k->origin != t->id)
			fprintf(out, ", first thrown in task %" PRIu64, k->origin);
		fputs(k->stack ? ", where (most recent call last):\n" : ", where is unknown\n",
		      out);
		if (k->stack && k->stack->nframes <= COSTACK_MAX_FRAMES) {
			stack_task(k->stack, t->process->pid, k->first_ns, frames, &st);
			stacks_write_text_frames(out, r, &st, "      ");
		}
	}
	if (t->raises && t->raises->other_kinds)
		fprintf(out, "    task %" PRIu64 ": and %" PRIu64 " raises of other kinds\n", t->id,
		        t->raises->other_kinds);
}

static void text_process(FILE *out, const struct tm_model *m, const struct report_times *rt,
                         struct stacks_report *r, const struct tm_process *p)
{
	bool any_exception = false;
	char c[24], l[16], run[16], wait[16];

	fprintf(out, "\nProcess %" PRId32 " (", p->pid);
	text_string(out, p->procname ? p->procname : "?");
	fprintf(out, "): %zu task%s\n", p->ntasks, p->ntasks == 1 ? "" : "s");
	fprintf(out, "  %-6s %-16s %-9s %-9s %-9s %-10s %9s %9s %9s %7s\n", "ID", "NAME", "RUNTIME",
	        "CREATED", "LIFETIME", "FATE", "SWITCHES", "RUNNING", "SUSPENDED", "RAISES");
	for (size_t i = 0; i < p->ntasks; i++) {
		const struct tm_task *t = p->tasks[i];
		struct figures f = figures_of(m, rt, t);
		bool lossy = touched_by_loss(m, t);
		char id[24];

		any_exception |= t->raises && t->raises->nkinds > 0;
		snprintf(id, sizeof(id), "%" PRIu64 "%s", t->id, lossy ? "*" : "");
		fprintf(out, "  %-6s ", id);
		fprintf(out, "%*s", 16 - text_string_cut(out, t->name ? t->name : "-", 16), "");
		fprintf(out, " %-9s %-9s %-9s %-10s %9" PRIu64 " %9s %9s %7" PRIu64 "\n",
		        runtime_name(t->runtime),
		        t->created_seen ? rel(m, t->created_ns, c, sizeof(c)) : "before",
		        format_duration(f.lifetime_ns, l, sizeof(l)), fate_name(m, t), t->switches,
		        format_duration(f.running_ns, run, sizeof(run)),
		        format_duration(f.suspended_ns, wait, sizeof(wait)), t->raises_total);
	}
	if (!any_exception)
		return;
	fputs("  Exceptions:\n", out);
	for (size_t i = 0; i < p->ntasks; i++)
		text_exceptions(out, m, r, p->tasks[i]);
}

static void text_waits(FILE *out, const struct tm_model *m, struct stacks_report *r,
                       const struct wait_row *rows, size_t n, size_t top)
{
	uint64_t frames[COSTACK_MAX_FRAMES];
	char total[16];

	fprintf(out,
	        "\nLongest waits (suspension stacks by total time tasks were suspended there, "
	        "top %zu):\n",
	        top);
	if (!n)
		fputs("  none: no task was suspended.\n", out);
	for (size_t i = 0; i < n && i < top; i++) {
		struct stacks_task st;

		fprintf(out, "  %zu. %s in %" PRIu64 " suspension%s, process %" PRId32 ":\n", i + 1,
		        format_duration(rows[i].total_ns, total, sizeof(total)), rows[i].waits,
		        rows[i].waits == 1 ? "" : "s", rows[i].pid);
		if (rows[i].stack->nframes > COSTACK_MAX_FRAMES)
			continue;
		stack_task(rows[i].stack, rows[i].pid, m->last_ns, frames, &st);
		stacks_write_text_frames(out, r, &st, "       ");
	}
}

static void write_text(FILE *out, const struct tm_model *m, const struct report_times *rt,
                       struct stacks_report *r, const struct report_options *o,
                       const struct wait_row *rows, size_t n)
{
	char a[32], b[32], d[16];
	size_t ntasks = 0;

	for (size_t i = 0; i < m->nprocs; i++)
		ntasks += m->procs[i]->ntasks;
	fputs("Trace: ", out);
	text_string(out, o->trace);
	fprintf(out,
	        "\n  from %s to %s (%s), %" PRIu64 " costack events, %zu process%s, %zu task%s\n",
	        format_timestamp(m->first_ns, a, sizeof(a)),
	        format_timestamp(m->last_ns, b, sizeof(b)),
	        format_duration(m->last_ns - m->first_ns, d, sizeof(d)), m->events, m->nprocs,
	        m->nprocs == 1 ? "" : "es", ntasks, ntasks == 1 ? "" : "s");
	text_lost(out, m);
	for (size_t i = 0; i < m->nprocs; i++)
		text_process(out, m, rt, r, m->procs[i]);
	text_waits(out, m, r, rows, n, o->top);
}

/* --- JSON ----------------------------------------------------------------------------- */

static void json_time(FILE *out, uint64_t ns)
{
	char buf[32];

	fprintf(out, "\"%s\"", format_timestamp(ns, buf, sizeof(buf)));
}

static void json_stack(FILE *out, struct stacks_report *r, const struct tm_stack *s, int32_t pid,
                       uint64_t ts)
{
	uint64_t frames[COSTACK_MAX_FRAMES];
	struct stacks_task st;

	if (!s || s->nframes > COSTACK_MAX_FRAMES) {
		fputs("null", out);
		return;
	}
	stack_task(s, pid, ts, frames, &st);
	stacks_write_json_frames(out, r, &st);
}

static void json_task(FILE *out, const struct tm_model *m, const struct report_times *rt,
                      struct stacks_report *r, const struct tm_task *t)
{
	struct figures f = figures_of(m, rt, t);

	fprintf(out, "{\"id\":%" PRIu64 ",\"name\":", t->id);
	json_string(out, t->name);
	fputs(",\"runtime\":", out);
	json_string(out, t->runtime >= 0 ? runtime_name(t->runtime) : NULL);
	if (t->entry)
		fprintf(out, ",\"entry\":\"%#" PRIx64 "\"", t->entry);
	else
		fputs(",\"entry\":null", out);
	fputs(",\"created\":", out);
	if (t->created_seen)
		json_time(out, t->created_ns);
	else
		fputs("null", out);
	fputs(",\"ended\":", out);
	if (t->ended_ns)
		json_time(out, t->ended_ns);
	else
		fputs("null", out);
	fprintf(out,
	        ",\"lifetime_ns\":%" PRIu64 ",\"fate\":\"%s\",\"switches\":%" PRIu64
	        ",\"running_ns\":%" PRIu64 ",\"suspended_ns\":%" PRIu64 ",\"raises\":%" PRIu64
	        ",\"lost_events_may_touch\":%s,\"exceptions\":[",
	        f.lifetime_ns, fate_name(m, t), t->switches, f.running_ns, f.suspended_ns,
	        t->raises_total, touched_by_loss(m, t) ? "true" : "false");
	for (uint32_t i = 0; t->raises && i < t->raises->nkinds; i++) {
		const struct tm_exception_kind *k = &t->raises->kinds[i];

		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		json_string(out, k->type);
		fputs(",\"what\":", out);
		json_string(out, k->what);
		fprintf(out, ",\"forced\":%s,\"count\":%" PRIu64 ",\"first\":",
		        k->forced ? "true" : "false", k->count);
		json_time(out, k->first_ns);
		fputs(",\"last\":", out);
		json_time(out, k->last_ns);
		fprintf(out, ",\"origin\":%" PRIu64 ",\"frames\":", k->origin);
		json_stack(out, r, k->stack, t->process->pid, k->first_ns);
		putc('}', out);
	}
	fputs("]}", out);
}

static void write_json(FILE *out, const struct tm_model *m, const struct report_times *rt,
                       struct stacks_report *r, const struct report_options *o,
                       const struct wait_row *rows, size_t n)
{
	fputs("{\"schema\":\"costack.report/1\",\"trace\":", out);
	json_string(out, o->trace);
	fputs(",\"start\":", out);
	json_time(out, m->first_ns);
	fputs(",\"end\":", out);
	json_time(out, m->last_ns);
	fprintf(out,
	        ",\"events\":%" PRIu64 ",\"lost\":{\"events\":%" PRIu64 ",\"packets\":%" PRIu64
	        ",\"gaps\":[",
	        m->events, m->lost_events, m->lost_packets);
	for (size_t i = 0; i < m->ngaps; i++) {
		const struct tm_gap *g = &m->gaps[i];

		fputs(i ? ",\n{\"begin\":" : "\n{\"begin\":", out);
		json_time(out, g->begin_ns);
		fputs(",\"end\":", out);
		json_time(out, g->end_ns);
		fprintf(out, ",\"%s\":%" PRIu64 ",\"stream\":", g->packets ? "packets" : "events",
		        g->count);
		json_string(out, g->stream);
		putc('}', out);
	}
	fputs("]},\n\"processes\":[", out);
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct tm_process *p = m->procs[i];

		fprintf(out, "%s{\"pid\":%" PRId32 ",\"name\":", i ? ",\n" : "\n", p->pid);
		json_string(out, p->procname);
		fputs(",\"tasks\":[", out);
		for (size_t j = 0; j < p->ntasks; j++) {
			fputs(j ? ",\n" : "\n", out);
			json_task(out, m, rt, r, p->tasks[j]);
		}
		fputs("]}", out);
	}
	fputs("],\n\"waits\":[", out);
	for (size_t i = 0; i < n && i < o->top; i++) {
		fprintf(out,
		        "%s{\"pid\":%" PRId32 ",\"total_ns\":%" PRIu64 ",\"waits\":%" PRIu64
		        ",\"frames\":",
		        i ? ",\n" : "\n", rows[i].pid, rows[i].total_ns, rows[i].waits);
		json_stack(out, r, rows[i].stack, rows[i].pid, m->last_ns);
		putc('}', out);
	}
	fputs("\n]}\n", out);
}

static int compare_task(const void *a, const void *b)
{
	uint64_t x = (*(struct tm_task *const *)a)->id, y = (*(struct tm_task *const *)b)->id;

	return x < y ? -1 : x > y;
}

int report_write(FILE *out, struct tm_model *m, const struct report_times *rt,
                 const struct report_options *o)
{
	struct offline_sym sym;
	struct stacks_report r = {.symbolize = offline_symbolize, .ctx = &sym};
	struct wait_row *rows = NULL;
	size_t n = 0;
	int status = -1;

	if (offline_sym_init(&sym, m))
		return -1;
	/* qsort's arrays may not be NULL, even empty. */
	if (m->nprocs > 1)
		qsort(m->procs, m->nprocs, sizeof(*m->procs), tm_process_order);
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i]->ntasks > 1)
			qsort(m->procs[i]->tasks, m->procs[i]->ntasks, sizeof(*m->procs[i]->tasks),
			      compare_task);
	if (rt->out_of_memory || wait_rows(m, rt, &rows, &n))
		goto end;
	(o->json ? write_json : write_text)(out, m, rt, &r, o, rows, n);
	status = fflush(out) || ferror(out) ? -1 : 0;
end:
	free(rows);
	offline_sym_free(&sym);
	return status;
}
