/* SPDX-License-Identifier: MIT */
/* stacks_out.c - costack stacks' output: print_stack's text and costack.stacks/1 JSON. */
#include "stacks_out.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "knowledge.h"
#include "output.h"

#define MAX_INLINE 16

static const char *const state_names[] = {"created", "running",   "suspended", "done",
                                          "failed",  "cancelled", "unknown"};
static const char *const runtime_names[] = {"thread", "ucontext", "fcontext"};

static const char *state_name(int state)
{
	return state >= 0 && state < (int)(sizeof(state_names) / sizeof(*state_names))
	               ? state_names[state]
	               : "?";
}

static const char *runtime_name(int runtime)
{
	return runtime >= 0 && runtime < (int)(sizeof(runtime_names) / sizeof(*runtime_names))
	               ? runtime_names[runtime]
	               : "?";
}

/* The frames at pc, outermost first; at least one (all unknown but the
 * offset, which is then pc, when nothing is known). */
static int lookup(const struct stacks_report *r, const struct stacks_task *t, uint64_t pc,
                  bool is_return, struct sym_frame *out)
{
	int n = r->symbolize ? r->symbolize(r->ctx, t, pc, is_return, out, MAX_INLINE) : 0;

	if (n > 0)
		return n;
	memset(out, 0, sizeof(*out));
	out->offset = pc;
	return 0;
}

/* The frame a task's entry is named by, among the n at its address: the outermost that is the
 * program's own (the user's function a runtime's start code called), else the outermost. */
static int entry_frame(const struct sym_frame *f, int n)
{
	int k = program_frame_outermost(f, n);

	return k < 0 ? 0 : k;
}

/* --- groups ------------------------------------------------------------------ */

/* An entry of the output: a task, or (grouped) the tasks showing the same. */
struct entry {
	const struct stacks_task *first;
	uint32_t key_frames; /* of its frames, those it is grouped by (its first ones) */
	size_t count;
	uint64_t *ids; /* grouped only */
};

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/*
 * The frames a task is grouped by: its frames from the oldest to the innermost holding the
 * program's own code, where it waits (costack ps's WHERE); the runtime's frames inside that
 * one (a scheduler's internals, a channel's) split no group. All of them when none is the
 * program's own, or nothing is known of them.
 */
static uint32_t key_frames(const struct stacks_report *r, const struct stacks_task *t)
{
	struct sym_frame f[MAX_INLINE];

	if (t->frames_are_entry || !r->symbolize)
		return t->nframes;
	for (uint32_t i = t->nframes; i-- > 0;) {
		int n = r->symbolize(r->ctx, t, t->frames[i], true, f, MAX_INLINE);

		if (n > 0 && program_frame_innermost(f, n) >= 0)
			return i + 1;
	}
	return t->nframes;
}

/* Whether b (grouped by its first nb frames) shows what a shows: the state, the frames where
 * it is, the exception. */
static bool same_shown(const struct entry *a, const struct stacks_task *b, uint32_t nb)
{
	const struct stacks_task *t = a->first;

	return t->pid == b->pid && t->state == b->state &&
	       t->frames_are_entry == b->frames_are_entry && a->key_frames == nb &&
	       (!nb || !memcmp(t->frames, b->frames, nb * sizeof(*t->frames))) &&
	       same_string(t->exception_type, b->exception_type) &&
	       same_string(t->exception_what, b->exception_what);
}

static uint64_t shown_hash(const struct stacks_task *t, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)t->state ^ ((uint64_t)n << 8) ^
	             ((uint64_t)(uint32_t)t->pid << 32);

	for (uint32_t i = 0; i < n; i++) {
		h ^= t->frames[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static int compare_entries(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	/* Tasks come by process already; groups stay in their process. */
	if (x->first->pid != y->first->pid)
		return x->first->pid < y->first->pid ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first->id < y->first->id ? -1 : x->first->id > y->first->id;
}

static void free_entries(struct entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].ids);
	free(e);
}

/* The report's entries, in output order; NULL when out of memory. */
static struct entry *make_entries(const struct stacks_report *r, size_t *count)
{
	struct entry *e = calloc(r->ntasks ? r->ntasks : 1, sizeof(*e));
	size_t *table = NULL, cap = 1, n = 0; /* open addressing, entry index + 1 */

	*count = 0;
	if (!e)
		return NULL;
	if (!r->group) {
		for (size_t i = 0; i < r->ntasks; i++)
			e[i] = (struct entry){.first = &r->tasks[i], .count = 1};
		*count = r->ntasks;
		return e;
	}
	while (cap < 2 * r->ntasks)
		cap *= 2;
	table = calloc(cap, sizeof(*table));
	if (!table)
		goto fail;
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct stacks_task *t = &r->tasks[i];
		uint32_t nkey = key_frames(r, t);
		size_t slot = shown_hash(t, nkey) & (cap - 1);
		struct entry *g;

		while (table[slot] && !same_shown(&e[table[slot] - 1], t, nkey))
			slot = (slot + 1) & (cap - 1);
		if (!table[slot]) {
			table[slot] = ++n;
			e[n - 1].first = t;
			e[n - 1].key_frames = nkey;
			e[n - 1].ids = malloc(sizeof(uint64_t));
			if (!e[n - 1].ids)
				goto fail;
		}
		g = &e[table[slot] - 1];
		/* Counts grow by one: a power of two full means double. */
		if (g->count && !(g->count & (g->count - 1))) {
			uint64_t *ids = realloc(g->ids, 2 * g->count * sizeof(*ids));

			if (!ids)
				goto fail;
			g->ids = ids;
		}
		g->ids[g->count++] = t->id;
	}
	free(table);
	qsort(e, n, sizeof(*e), compare_entries);
	*count = n;
	return e;
fail:
	free(table);
	free_entries(e, n);
	return NULL;
}

/* --- text -------------------------------------------------------------------- */

/* print_stack's repr: <Task suspended id=3 name='x' entry=f() runtime=ucontext thread=7> */
static void text_repr(FILE *out, const struct stacks_report *r, const struct stacks_task *t)
{
	struct sym_frame f[MAX_INLINE];
	int n, k;

	fprintf(out, "<Task %s id=%" PRIu64, state_name(t->state), t->id);
	if (t->name && t->name[0]) {
		fputs(" name='", out);
		text_string(out, t->name);
		putc('\'', out);
	}
	if (t->entry && (n = lookup(r, t, t->entry, false, f)) >= 1 &&
	    f[(k = entry_frame(f, n))].function) {
		fputs(" entry=", out);
		text_string(out, f[k].function);
		fputs("()", out);
	} else if (t->entry) {
		fprintf(out, " entry=%#" PRIx64, t->entry);
	}
	fprintf(out, " runtime=%s thread=%" PRId32 ">", runtime_name(t->runtime), t->thread);
}

static void text_frame(FILE *out, const struct stacks_report *r, const struct stacks_task *t,
                       uint64_t pc, bool is_return, const char *indent)
{
	struct sym_frame f[MAX_INLINE];
	int n = lookup(r, t, pc, is_return, f);

	if (n <= 0) {
		fprintf(out, "%sFile \"?\", address %#" PRIx64 ", in ??\n", indent, pc);
		return;
	}
	for (int i = 0; i < n; i++) {
		fprintf(out, "%sFile \"", indent);
		if (f[i].file && f[i].line > 0) {
			text_string(out, f[i].file);
			fprintf(out, "\", line %d, in ", f[i].line);
		} else {
			text_string(out, f[i].module ? f[i].module : "?");
			fprintf(out, "\", offset %#" PRIx64 ", in ", f[i].offset);
		}
		text_string(out, f[i].function ? f[i].function : "??");
		fputs(f[i].inlined ? " (inlined)\n" : "\n", out);
	}
}

void stacks_write_text_frames(FILE *out, const struct stacks_report *r, const struct stacks_task *t,
                              const char *indent)
{
	for (uint32_t i = 0; i < t->nframes; i++)
		text_frame(out, r, t, t->frames[i], !t->frames_are_entry, indent);
}

static void text_task(FILE *out, const struct stacks_report *r, const struct stacks_task *t)
{
	bool failed = t->state == COSTACK_FAILED;

	if (t->state == STACKS_STATE_UNKNOWN) {
		fputs("Unknown stack for ", out);
		text_repr(out, r, t);
		fputs(" (events were lost)\n", out);
		return;
	}
	fputs(!t->nframes ? "No stack for " : failed ? "Traceback for " : "Stack for ", out);
	text_repr(out, r, t);
	fputs(t->nframes ? " (most recent call last):\n" : "\n", out);
	stacks_write_text_frames(out, r, t, "  ");
	/* Python's traceback ends with the exception: "ValueError: boom". */
	if (failed && t->exception_type) {
		text_string(out, t->exception_type[0] ? t->exception_type : "exception");
		if (t->exception_what && t->exception_what[0]) {
			fputs(": ", out);
			text_string(out, t->exception_what);
		}
		putc('\n', out);
	}
}

int stacks_write_text(FILE *out, const struct stacks_report *r)
{
	size_t n;
	struct entry *e = make_entries(r, &n);

	if (!e)
		return -1;
	if (r->recording && r->lost_gaps) {
		fprintf(out, "Events were lost before this time: %" PRIu64 " event%s",
		        r->lost_events, r->lost_events == 1 ? "" : "s");
		if (r->lost_packets)
			fprintf(out, " and %" PRIu64 " packet%s", r->lost_packets,
			        r->lost_packets == 1 ? "" : "s");
		fprintf(out,
		        " in %zu gap%s: a task they may have touched shows as unknown, and a "
		        "task whose every event was lost is missing.\n\n",
		        r->lost_gaps, r->lost_gaps == 1 ? "" : "s");
	}
	for (size_t i = 0; i < n; i++) {
		const struct stacks_task *t = e[i].first;

		if (i)
			putc('\n', out);
		if (r->by_process && (!i || e[i - 1].first->pid != t->pid)) {
			fprintf(out, "Process %" PRId32, t->pid);
			if (t->procname) {
				fputs(" (", out);
				text_string(out, t->procname);
				putc(')', out);
			}
			fputs(":\n", out);
		}
		if (r->group) {
			fprintf(out, "%zu task%s (id%s ", e[i].count, e[i].count == 1 ? "" : "s",
			        e[i].count == 1 ? "" : "s");
			for (size_t j = 0; j < e[i].count; j++)
				fprintf(out, "%s%" PRIu64, j ? ", " : "", e[i].ids[j]);
			fputs("):\n", out);
		}
		text_task(out, r, e[i].first);
	}
	free_entries(e, n);
	return fflush(out) || ferror(out) ? -1 : 0;
}

/* --- JSON -------------------------------------------------------------------- */

static void json_hex(FILE *out, uint64_t x)
{
	fprintf(out, "\"%#" PRIx64 "\"", x);
}

void stacks_write_json_frame(FILE *out, const struct sym_frame *f, const uint64_t *address)
{
	putc('{', out);
	if (address) {
		fputs("\"address\":", out);
		json_hex(out, *address);
		putc(',', out);
	}
	fputs("\"function\":", out);
	json_string(out, f->function);
	fputs(",\"module\":", out);
	json_string(out, f->module);
	fputs(",\"offset\":", out);
	json_hex(out, f->offset);
	fputs(",\"file\":", out);
	json_string(out, f->file);
	if (f->line > 0)
		fprintf(out, ",\"line\":%d", f->line);
	else
		fputs(",\"line\":null", out);
	fprintf(out, ",\"inlined\":%s}", f->inlined ? "true" : "false");
}

void stacks_write_json_frames(FILE *out, const struct stacks_report *r, const struct stacks_task *t)
{
	bool first = true;

	putc('[', out);
	for (uint32_t i = 0; i < t->nframes; i++) {
		struct sym_frame f[MAX_INLINE];
		int n = lookup(r, t, t->frames[i], !t->frames_are_entry, f);

		for (int j = 0; j < (n > 0 ? n : 1); j++) {
			if (!first)
				putc(',', out);
			first = false;
			stacks_write_json_frame(out, &f[j], &t->frames[i]);
		}
	}
	putc(']', out);
}

static void json_task(FILE *out, const struct stacks_report *r, const struct entry *e)
{
	const struct stacks_task *t = e->first;
	char since[32];

	fprintf(out, "{\"id\":%" PRIu64, t->id);
	if (t->pid)
		fprintf(out, ",\"pid\":%" PRId32, t->pid);
	fputs(",\"name\":", out);
	json_string(out, t->name && t->name[0] ? t->name : NULL);
	fputs(",\"state\":", out);
	json_string(out, state_name(t->state));
	fputs(",\"runtime\":", out);
	json_string(out, runtime_name(t->runtime));
	fprintf(out, ",\"thread\":%" PRId32 ",\"since\":\"%s\",\"exception\":", t->thread,
	        format_timestamp(t->since_ns, since, sizeof(since)));
	if (t->exception_type) {
		fputs("{\"type\":", out);
		json_string(out, t->exception_type);
		fputs(",\"what\":", out);
		json_string(out, t->exception_what ? t->exception_what : "");
		putc('}', out);
	} else {
		fputs("null", out);
	}
	fputs(",\"frames\":", out);
	stacks_write_json_frames(out, r, t);
	if (r->group) {
		fprintf(out, ",\"count\":%zu,\"ids\":[", e->count);
		for (size_t j = 0; j < e->count; j++)
			fprintf(out, "%s%" PRIu64, j ? "," : "", e->ids[j]);
		putc(']', out);
	}
	putc('}', out);
}

int stacks_write_json(FILE *out, const struct stacks_report *r)
{
	char at[32];
	size_t n;
	struct entry *e = make_entries(r, &n);

	if (!e)
		return -1;
	fprintf(out, "{\"schema\":\"costack.stacks/1\",\"at\":\"%s\",",
	        format_timestamp(r->at_ns, at, sizeof(at)));
	if (r->recording)
		fprintf(out,
		        "\"lost\":{\"events\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"gaps\":%zu},",
		        r->lost_events, r->lost_packets, r->lost_gaps);
	fputs("\"tasks\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", out);
		json_task(out, r, &e[i]);
	}
	fputs("\n]}\n", out);
	free_entries(e, n);
	return fflush(out) || ferror(out) ? -1 : 0;
}
