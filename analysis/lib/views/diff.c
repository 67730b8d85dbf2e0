/* SPDX-License-Identifier: MIT */
/* diff.c - `costack diff BASE... -- NEW...`: where tasks wait, run, switch and raise, compared. */
#define _GNU_SOURCE
#include "diff.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "knowledge.h"
#include "offline_sym.h"
#include "output.h"
#include "stats.h"

#define MAX_INLINE 16
#define BOOTSTRAP_ITERS 1000
#define BOOTSTRAP_SEED 20261204u

/* --- what is gathered while a trace is read ---------------------------------------- */

/* The intervals one task spent in one state at one stack. */
struct acc {
	const struct tm_task *task;
	const struct tm_stack *stack;
	uint64_t first_ns, total_ns;
	double *ns;
	size_t n, cap;
};

struct diff_intervals {
	struct hmap waits, runs; /* (task, stack) -> acc */
	uint64_t unknown, open;
	bool out_of_memory;
};

static void on_interval(void *ctx, const struct tm_model *m, const struct tm_interval *iv)
{
	struct diff_intervals *di = ctx;
	struct hmap *h = iv->state == COSTACK_RUNNING ? &di->runs : &di->waits;
	uint64_t d = iv->end_ns > iv->begin_ns ? iv->end_ns - iv->begin_ns : 0;
	struct acc *a;

	(void)m;
	/* Cut by lost events: its length is not known. Still going at the end: the trace's end
	 * cut it. Neither is a wait's or a run's length. */
	if (iv->unknown) {
		di->unknown++;
		return;
	}
	if (iv->open) {
		di->open++;
		return;
	}
	a = hmap_get(h, (uintptr_t)iv->task, (uintptr_t)iv->stack);
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || hmap_put(h, (uintptr_t)iv->task, (uintptr_t)iv->stack, a)) {
			free(a);
			di->out_of_memory = true;
			return;
		}
		a->task = iv->task;
		a->stack = iv->stack;
		a->first_ns = iv->begin_ns;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		double *ns = realloc(a->ns, cap * sizeof(*ns));

		if (!ns) {
			di->out_of_memory = true;
			return;
		}
		a->ns = ns;
		a->cap = cap;
	}
	a->ns[a->n++] = (double)d;
	a->total_ns += d;
}

struct diff_intervals *diff_listen(struct tm_model *m)
{
	struct diff_intervals *di = calloc(1, sizeof(*di));
	struct tm_listener l = {.interval = on_interval, .ctx = di};

	if (di && tm_model_listen(m, &l)) {
		free(di);
		di = NULL;
	}
	return di;
}

static void free_accs(struct hmap *h)
{
	for (size_t i = 0; i < h->cap; i++) {
		struct acc *a = h->slots[i].value;

		if (a)
			free(a->ns);
		free(a);
	}
	hmap_free(h);
}

void diff_intervals_free(struct diff_intervals *di)
{
	if (!di)
		return;
	free_accs(&di->waits);
	free_accs(&di->runs);
	free(di);
}

/* --- a run: rows keyed by symbolized names ----------------------------------------- */

enum quantity {
	Q_WAIT,        /* ns suspended at a site, per task */
	Q_SUSPENSIONS, /* suspensions at a site, per task */
	Q_RUN,         /* ns running after a resume from a site, per task */
	Q_KIND_WAIT,   /* ns suspended, per task of a kind */
	Q_KIND_RUN,    /* ns running, per task of a kind */
	Q_SWITCHES,    /* switches per task of a kind */
	Q_TASKS,       /* tasks of a kind made */
	Q_UNFINISHED,  /* tasks of a kind not ended at the trace's end */
	Q_RAISES,      /* raises per task, of a type (and at a site) */
};

static const struct {
	const char *name;
	unsigned metric;
	bool timed;
	bool per_task; /* normalised by the tasks of the kind (or --per) */
} quantities[] = {
        [Q_WAIT] = {"wait", DIFF_WAIT, true, true},
        [Q_SUSPENSIONS] = {"suspensions", DIFF_WAIT, false, true},
        [Q_RUN] = {"run", DIFF_RUN, true, true},
        [Q_KIND_WAIT] = {"wait", DIFF_WAIT, true, true},
        [Q_KIND_RUN] = {"run", DIFF_RUN, true, true},
        [Q_SWITCHES] = {"switches", DIFF_SWITCHES, false, true},
        [Q_TASKS] = {"tasks", DIFF_TASKS, false, false},
        [Q_UNFINISHED] = {"unfinished", DIFF_TASKS, false, false},
        [Q_RAISES] = {"raises", DIFF_RAISES, false, true},
};

enum level {
	L_SITE,      /* a wait (or resume) site: the innermost frame of the program's own */
	L_STACK,     /* the whole suspension stack */
	L_KIND,      /* a task kind (entry function) */
	L_TYPE,      /* an exception type raised by tasks of a kind */
	L_EXCEPTION, /* an exception type and where it was raised */
};
static const char *const level_names[] = {"site", "stack", "kind", "type", "exception"};

struct row {
	char *key;
	int quantity, level;
	char *kind;        /* the task kind (entry function) */
	char *site;        /* the site or stack as text; NULL for a kind */
	char *site_key;    /* a stack's rolled-up site (to tell whether it has several) */
	char *frames_json; /* a JSON array of the frames, oldest first; NULL for a kind */
	double total;      /* over the run's tasks: ns or a count */
	double value;      /* total per task (normalised), or total */
	double *samples;   /* timed: each interval (sites), or each task's total (kinds) */
	size_t n, cap;
};

struct diff_run {
	char *trace;
	struct hmap index; /* (key hash, probe) -> row */
	struct row **rows;
	size_t n, cap;
	uint64_t unknown, open;
	bool out_of_memory;
};

static uint64_t hash_string(const char *s, uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct row *find_row(const struct hmap *h, const char *key)
{
	uint64_t a = hash_string(key, 0);
	struct row *r;

	for (uint64_t probe = 0; (r = hmap_get(h, a, probe)); probe++)
		if (!strcmp(r->key, key))
			return r;
	return NULL;
}

static int index_row(struct hmap *h, struct row *row)
{
	uint64_t a = hash_string(row->key, 0), probe = 0;

	while (hmap_get(h, a, probe))
		probe++;
	return hmap_put(h, a, probe, row);
}

static char *row_key(int quantity, int level, const char *kind, const char *site)
{
	char *key;

	if (asprintf(&key, "%d\x1f%d\x1f%s\x1f%s", quantity, level, kind, site ? site : "") < 0)
		return NULL;
	return key;
}

/* The symbolized names of a stack (or of a kind), shared by the rows made of it. */
struct names {
	char *key;      /* the frames, oldest first: stable across runs */
	char *label;    /* for people */
	char *site_key; /* the rolled-up site's */
	char *site_label;
	char *frames_json; /* all frames */
	char *site_json;   /* the site's frame alone, as an array */
};

static void names_free(struct names *n)
{
	free(n->key);
	free(n->label);
	free(n->site_key);
	free(n->site_label);
	free(n->frames_json);
	free(n->site_json);
	free(n);
}

/* The row of (quantity, level, kind, names) in r, made when new. */
static struct row *row_of(struct diff_run *r, int quantity, int level, const char *kind,
                          const char *key, const char *label, const char *site_key,
                          const char *frames_json)
{
	char *k = row_key(quantity, level, kind, key);
	struct row *row;

	if (!k)
		goto fail;
	if ((row = find_row(&r->index, k))) {
		free(k);
		return row;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct row **rows = realloc(r->rows, cap * sizeof(*rows));

		if (!rows)
			goto fail;
		r->rows = rows;
		r->cap = cap;
	}
	row = calloc(1, sizeof(*row));
	if (!row)
		goto fail;
	row->key = k;
	row->quantity = quantity;
	row->level = level;
	row->kind = strdup(kind);
	row->site = label ? strdup(label) : NULL;
	row->site_key = site_key ? strdup(site_key) : NULL;
	row->frames_json = frames_json ? strdup(frames_json) : NULL;
	r->rows[r->n++] = row;
	if (!row->kind || (label && !row->site) || (site_key && !row->site_key) ||
	    (frames_json && !row->frames_json) || index_row(&r->index, row)) {
		r->out_of_memory = true;
		return NULL;
	}
	return row;
fail:
	free(k);
	r->out_of_memory = true;
	return NULL;
}

static int add_sample(struct diff_run *r, struct row *row, double v)
{
	if (row->n == row->cap) {
		size_t cap = row->cap ? 2 * row->cap : 16;
		double *s = realloc(row->samples, cap * sizeof(*s));

		if (!s) {
			r->out_of_memory = true;
			return -1;
		}
		row->samples = s;
		row->cap = cap;
	}
	row->samples[row->n++] = v;
	return 0;
}

void diff_run_free(struct diff_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i]->key);
		free(r->rows[i]->kind);
		free(r->rows[i]->site);
		free(r->rows[i]->site_key);
		free(r->rows[i]->frames_json);
		free(r->rows[i]->samples);
		free(r->rows[i]);
	}
	free(r->rows);
	hmap_free(&r->index);
	free(r->trace);
	free(r);
}

/* --- symbolized names -------------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* One source-level frame's name in a key: function@file:line, or module+offset. */
static void key_token(FILE *f, const struct sym_frame *s)
{
	if (s->function) {
		fputs(s->function, f);
		if (s->file && s->line > 0)
			fprintf(f, "@%s:%d", s->file, s->line);
		else
			fprintf(f, "@%s+%#" PRIx64, base_name(s->module ? s->module : "?"),
			        s->offset);
	} else {
		fprintf(f, "%s+%#" PRIx64, base_name(s->module ? s->module : "?"), s->offset);
	}
}

static void label_token(FILE *f, const struct sym_frame *s)
{
	if (s->function) {
		fputs(s->function, f);
		if (s->file && s->line > 0)
			fprintf(f, " (%s:%d)", base_name(s->file), s->line);
	} else {
		fprintf(f, "%s+%#" PRIx64, base_name(s->module ? s->module : "?"), s->offset);
	}
}

static char *closed(FILE *f, char **buf)
{
	if (fclose(f)) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

/* The frames at pc (inlined ones first), into f (MAX_INLINE); one of module and offset when
 * nothing is known of it. Their count. */
static int frames_at(struct offline_sym *sym, int32_t pid, uint64_t ts, uint64_t pc,
                     struct sym_frame *f)
{
	int k = offline_sym_lookup(sym, pid, ts, pc, true, f, MAX_INLINE);

	if (k > 0)
		return k;
	memset(f, 0, sizeof(*f));
	f->offset = pc;
	return 1;
}

/* A stack's names: its frames (innermost first in the model) symbolized, oldest first. */
static struct names *stack_names(struct offline_sym *sym, const struct tm_stack *s, int32_t pid,
                                 uint64_t ts, const char *none)
{
	struct names *n = calloc(1, sizeof(*n));
	char *kb = NULL, *lb = NULL, *jb = NULL;
	size_t ks, ls, js;
	FILE *kf = NULL, *lf = NULL, *jf = NULL;
	struct sym_frame site = {0};
	bool have_site = false, first = true;
	int shown = 0;

	if (!n)
		return NULL;
	if (!s || !s->nframes) {
		n->key = strdup(none);
		n->label = strdup(none);
		n->site_key = strdup(none);
		n->site_label = strdup(none);
		n->frames_json = strdup("[]");
		n->site_json = strdup("[]");
		if (!n->key || !n->label || !n->site_key || !n->site_label || !n->frames_json ||
		    !n->site_json)
			goto fail;
		return n;
	}
	kf = open_memstream(&kb, &ks);
	lf = open_memstream(&lb, &ls);
	jf = open_memstream(&jb, &js);
	if (!kf || !lf || !jf)
		goto fail;
	putc('[', jf);
	/* The label shows the innermost frames: where it waits, and what called that. */
	for (uint32_t i = s->nframes; i-- > 0;) {
		struct sym_frame f[MAX_INLINE];
		int k = frames_at(sym, pid, ts, s->frames[i], f);
		for (int j = 0; j < k; j++) {
			if (!first) {
				putc(';', kf);
				putc(',', jf);
			}
			first = false;
			key_token(kf, &f[j]);
			stacks_write_json_frame(jf, &f[j], NULL);
			if (i < 3) {
				fputs(shown++ ? " > " : "", lf);
				label_token(lf, &f[j]);
			}
		}
	}
	putc(']', jf);
	if (s->nframes > 3)
		fputs(" (innermost 3 of a deeper stack)", lf);
	/* The site: the innermost frame of the program's own over the whole stack (inlined
	 * frames included), else the innermost frame. */
	for (uint32_t i = 0; i < s->nframes && !have_site; i++) {
		struct sym_frame f[MAX_INLINE];
		int k = frames_at(sym, pid, ts, s->frames[i], f);
		if (i == 0)
			site = f[k - 1];
		for (int j = k; j-- > 0 && !have_site;)
			if (!runtime_frame(&f[j])) {
				site = f[j];
				have_site = true;
			}
	}
	n->key = closed(kf, &kb);
	n->label = closed(lf, &lb);
	n->frames_json = closed(jf, &jb);
	kf = lf = jf = NULL;
	if (!n->key || !n->label || !n->frames_json)
		goto fail;
	kf = open_memstream(&kb, &ks);
	lf = open_memstream(&lb, &ls);
	jf = open_memstream(&jb, &js);
	if (!kf || !lf || !jf)
		goto fail;
	key_token(kf, &site);
	label_token(lf, &site);
	putc('[', jf);
	stacks_write_json_frame(jf, &site, NULL);
	putc(']', jf);
	n->site_key = closed(kf, &kb);
	n->site_label = closed(lf, &lb);
	n->site_json = closed(jf, &jb);
	kf = lf = jf = NULL;
	if (!n->site_key || !n->site_label || !n->site_json)
		goto fail;
	return n;
fail:
	if (kf)
		fclose(kf);
	if (lf)
		fclose(lf);
	if (jf)
		fclose(jf);
	free(kb);
	free(lb);
	free(jb);
	names_free(n);
	return NULL;
}

/* A task's kind: its entry function (the program's own frame at its entry address). */
static char *kind_name(struct offline_sym *sym, const struct tm_task *t)
{
	struct sym_frame f[MAX_INLINE];
	char *name = NULL;
	int n, k;

	if (!t->entry)
		return strdup("(thread)");
	n = offline_sym_lookup(sym, t->process->pid, t->created_ns, t->entry, false, f, MAX_INLINE);
	if (n <= 0)
		return asprintf(&name, "%#" PRIx64, t->entry) < 0 ? NULL : name;
	k = program_frame_outermost(f, n);
	k = k < 0 ? 0 : k;
	if (f[k].function)
		return strdup(f[k].function);
	return asprintf(&name, "%s+%#" PRIx64, base_name(f[k].module ? f[k].module : "?"),
	                f[k].offset) < 0
	               ? NULL
	               : name;
}

/* --- making a run -------------------------------------------------------------------- */

struct task_info {
	char *kind;
	uint64_t wait_ns, run_ns;
};

/* Rows of a (task, stack) gathered: its site's and its stack's. */
static void add_acc(struct diff_run *r, struct offline_sym *sym, struct hmap *names_cache,
                    const struct acc *a, const char *kind, bool wait)
{
	struct names *n = hmap_get(names_cache, (uintptr_t)a->stack, wait);
	int q = wait ? Q_WAIT : Q_RUN;

	if (!n) {
		n = stack_names(sym, a->stack, a->task->process->pid, a->first_ns,
		                wait ? "(no stack)" : "(entry)");
		if (!n || hmap_put(names_cache, (uintptr_t)a->stack, wait, n)) {
			if (n)
				names_free(n);
			r->out_of_memory = true;
			return;
		}
	}
	for (int level = L_SITE; level <= L_STACK; level++) {
		const char *key = level == L_SITE ? n->site_key : n->key;
		const char *label = level == L_SITE ? n->site_label : n->label;
		const char *json = level == L_SITE ? n->site_json : n->frames_json;
		struct row *row = row_of(r, q, level, kind, key, label, n->site_key, json);

		if (!row)
			return;
		row->total += (double)a->total_ns;
		for (size_t i = 0; i < a->n; i++)
			if (add_sample(r, row, a->ns[i]))
				return;
		if (!wait)
			continue;
		row = row_of(r, Q_SUSPENSIONS, level, kind, key, label, n->site_key, json);
		if (!row)
			return;
		row->total += (double)a->n;
	}
}

static void add_raises(struct diff_run *r, struct offline_sym *sym, const struct tm_task *t,
                       const char *kind)
{
	for (uint32_t i = 0; t->raises && i < t->raises->nkinds; i++) {
		const struct tm_exception_kind *k = &t->raises->kinds[i];
		const char *type = k->type && *k->type ? k->type : "(exception)";
		struct names *n =
		        stack_names(sym, k->stack, t->process->pid, k->first_ns, "(unknown place)");
		char *key = NULL, *label = NULL;
		struct row *row;

		if (!n || asprintf(&key, "%s\x1f%s", type, n->site_key) < 0 ||
		    asprintf(&label, "%s at %s", type, n->site_label) < 0) {
			r->out_of_memory = true;
			free(key);
			if (n)
				names_free(n);
			return;
		}
		row = row_of(r, Q_RAISES, L_EXCEPTION, kind, key, label, type, n->site_json);
		if (row)
			row->total += (double)k->count;
		row = row_of(r, Q_RAISES, L_TYPE, kind, type, type, type, "[]");
		if (row)
			row->total += (double)k->count;
		free(key);
		free(label);
		names_free(n);
	}
}

static void add_count(struct diff_run *r, int quantity, const char *kind, double v)
{
	struct row *row = row_of(r, quantity, L_KIND, kind, NULL, NULL, NULL, NULL);

	if (row)
		row->total += v;
}

static void free_names_cache(struct hmap *h)
{
	for (size_t i = 0; i < h->cap; i++)
		if (h->slots[i].value)
			names_free(h->slots[i].value);
	hmap_free(h);
}

struct diff_run *diff_run_make(struct diff_intervals *di, struct tm_model *m, const char *trace,
                               const char *per, char *error, size_t size)
{
	struct diff_run *r = calloc(1, sizeof(*r));
	struct offline_sym sym;
	struct hmap tasks = {0}, names_cache = {0}, kind_tasks = {0};
	bool sym_ok = false;

	if (!r || !di || di->out_of_memory || !(r->trace = strdup(trace)))
		goto oom;
	r->unknown = di->unknown;
	r->open = di->open;
	if (offline_sym_init(&sym, m))
		goto oom;
	sym_ok = true;
	/* Each task's kind, and its counts. */
	for (size_t p = 0; p < m->nprocs; p++)
		for (size_t i = 0; i < m->procs[p]->ntasks; i++) {
			const struct tm_task *t = m->procs[p]->tasks[i];
			struct task_info *ti = calloc(1, sizeof(*ti));

			if (!ti || !(ti->kind = kind_name(&sym, t)) ||
			    hmap_put(&tasks, (uintptr_t)t, 0, ti)) {
				if (ti)
					free(ti->kind);
				free(ti);
				goto oom;
			}
			add_count(r, Q_TASKS, ti->kind, 1);
			add_count(r, Q_SWITCHES, ti->kind, (double)t->switches);
			add_count(r, Q_UNFINISHED, ti->kind, tm_task_ended(t) ? 0 : 1);
			add_raises(r, &sym, t, ti->kind);
		}
	/* The intervals, by site and stack; each task's totals. */
	for (int wait = 0; wait <= 1; wait++) {
		struct hmap *h = wait ? &di->waits : &di->runs;

		for (size_t i = 0; i < h->cap; i++) {
			const struct acc *a = h->slots[i].value;
			struct task_info *ti;

			if (!a || !(ti = hmap_get(&tasks, (uintptr_t)a->task, 0)))
				continue;
			add_acc(r, &sym, &names_cache, a, ti->kind, wait);
			*(wait ? &ti->wait_ns : &ti->run_ns) += a->total_ns;
		}
	}
	for (size_t i = 0; i < tasks.cap; i++) {
		const struct task_info *ti = tasks.slots[i].value;
		struct row *w, *u;

		if (!ti)
			continue;
		w = row_of(r, Q_KIND_WAIT, L_KIND, ti->kind, NULL, NULL, NULL, NULL);
		u = row_of(r, Q_KIND_RUN, L_KIND, ti->kind, NULL, NULL, NULL, NULL);
		if (!w || !u || add_sample(r, w, (double)ti->wait_ns) ||
		    add_sample(r, u, (double)ti->run_ns))
			goto oom;
		w->total += (double)ti->wait_ns;
		u->total += (double)ti->run_ns;
	}
	if (r->out_of_memory)
		goto oom;
	/* Per task: of the row's kind, or of the entry --per names. */
	{
		char *key = row_key(Q_TASKS, L_KIND, per ? per : "", NULL);
		const struct row *per_row = key ? find_row(&r->index, key) : NULL;

		free(key);
		if (per && (!per_row || per_row->total <= 0)) {
			snprintf(error, size, "--per %s: no task of trace %s ran %s", per, trace,
			         per);
			goto fail;
		}
		for (size_t i = 0; i < r->n; i++) {
			struct row *row = r->rows[i];
			const struct row *of = per_row;
			char *k;

			if (!quantities[row->quantity].per_task) {
				row->value = row->total;
				continue;
			}
			if (!of) {
				k = row_key(Q_TASKS, L_KIND, row->kind, NULL);
				of = k ? find_row(&r->index, k) : NULL;
				free(k);
			}
			row->value = of && of->total > 0 ? row->total / of->total : row->total;
		}
	}
	goto end;
oom:
	snprintf(error, size, "out of memory reading trace %s", trace);
fail:
	diff_run_free(r);
	r = NULL;
end:
	for (size_t i = 0; i < tasks.cap; i++) {
		struct task_info *ti = tasks.slots[i].value;

		if (ti)
			free(ti->kind);
		free(ti);
	}
	hmap_free(&tasks);
	hmap_free(&kind_tasks);
	free_names_cache(&names_cache);
	if (sym_ok)
		offline_sym_free(&sym);
	diff_intervals_free(di);
	return r;
}

/* --- comparing ---------------------------------------------------------------------- */

enum verdict { V_REGRESSION, V_NEW, V_IMPROVEMENT, V_GONE, V_SAME };
static const char *const verdict_names[] = {"regression", "new", "improvement", "vanished", "same"};

struct cmp {
	const struct row *proto; /* a run's row of the key: its names */
	double *bv, *nv;         /* each run's value (0 where the row is not) */
	size_t in_base, in_new;  /* runs the row is in */
	double *bs, *ns;         /* samples of all runs */
	size_t nbs, nns;
	/* the result */
	int verdict;
	const char *statistic; /* what base, new and change are of */
	double base, new_;     /* that statistic's value */
	double base_per_task, new_per_task;
	double change, lo, hi, p;
	bool has_ci, has_p;
	double impact;
};

static void cmp_free(struct cmp *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].bv);
		free(c[i].nv);
		free(c[i].bs);
		free(c[i].ns);
	}
	free(c);
}

static double median_of(const double *v, size_t n)
{
	double *copy;
	double m;

	if (!n)
		return 0;
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return NAN;
	memcpy(copy, v, n * sizeof(*copy));
	m = stats_median(copy, n);
	free(copy);
	return m;
}

static bool all_equal(const double *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[0])
			return false;
	return true;
}

static double relative_change(double base, double new_)
{
	if (base != 0)
		return new_ / base - 1.0;
	return new_ > 0 ? INFINITY : new_ < 0 ? -INFINITY : 0;
}

static int judge(struct cmp *c, size_t nb, size_t nn, const struct diff_options *o)
{
	bool timed = quantities[c->proto->quantity].timed;
	const double *x, *y;
	size_t nx, ny;
	struct mann_whitney mw;
	double delta;

	c->base_per_task = median_of(c->bv, nb);
	c->new_per_task = median_of(c->nv, nn);
	c->base = c->base_per_task;
	c->new_ = c->new_per_task;
	c->change = relative_change(c->base, c->new_);
	c->verdict = V_SAME;
	if (!c->in_base || !c->in_new) {
		c->statistic = "presence";
		c->verdict = c->in_new ? V_NEW : V_GONE;
		c->impact = fabs(c->new_ - c->base);
		return 0;
	}
	if (!timed && all_equal(c->bv, nb) && all_equal(c->nv, nn)) {
		/* A count the same in every run of a side: compared exactly. */
		c->statistic = "exact";
		c->verdict = c->new_ > c->base   ? V_REGRESSION
		             : c->new_ < c->base ? V_IMPROVEMENT
		                                 : V_SAME;
		c->impact = fabs(c->change);
		return 0;
	}
	if (nb >= 2 && nn >= 2 && stats_mann_whitney_min_p(nb, nn) <= o->alpha) {
		c->statistic = "median of runs";
		x = c->bv, nx = nb, y = c->nv, ny = nn;
	} else if (timed) {
		c->statistic = c->proto->level == L_KIND ? "median of tasks" : "median interval";
		x = c->bs, nx = c->nbs, y = c->ns, ny = c->nns;
	} else {
		c->statistic = "varies between runs";
		c->impact = 0;
		return 0;
	}
	if (!nx || !ny)
		return 0;
	c->base = median_of(x, nx);
	c->new_ = median_of(y, ny);
	if (isnan(c->base) || isnan(c->new_) || stats_mann_whitney(x, nx, y, ny, &mw))
		return -1;
	c->has_p = true;
	c->p = mw.p;
	c->change = relative_change(c->base, c->new_);
	c->has_ci = !stats_bootstrap_median_change(x, nx, y, ny, 1.0 - o->alpha, BOOTSTRAP_ITERS,
	                                           BOOTSTRAP_SEED, &c->lo, &c->hi);
	delta = fabs(c->new_ - c->base);
	c->impact = timed ? fabs(c->new_per_task - c->base_per_task) : fabs(c->change);
	if (c->p < o->alpha && (!timed || delta >= (double)o->min_change_ns)) {
		if (c->change > o->threshold)
			c->verdict = V_REGRESSION;
		else if (c->change < -o->threshold)
			c->verdict = V_IMPROVEMENT;
	}
	return 0;
}

static int append(double **v, size_t *n, const double *add, size_t k)
{
	double *grown;

	if (!k)
		return 0;
	grown = realloc(*v, (*n + k) * sizeof(*grown));
	if (!grown)
		return -1;
	memcpy(grown + *n, add, k * sizeof(*grown));
	*v = grown;
	*n += k;
	return 0;
}

/* Every row of any run, each run's value and samples beside it. */
static struct cmp *gather(struct diff_run *const *base, size_t nb, struct diff_run *const *new_,
                          size_t nn, const struct diff_options *o, size_t *count)
{
	struct hmap seen = {0};
	struct cmp *c = NULL;
	size_t n = 0, cap = 0;
	struct diff_run *const *sides[2] = {base, new_};
	size_t nruns[2] = {nb, nn};

	for (int side = 0; side < 2; side++)
		for (size_t k = 0; k < nruns[side]; k++) {
			const struct diff_run *r = sides[side][k];

			for (size_t i = 0; i < r->n; i++) {
				const struct row *row = r->rows[i];
				struct cmp *ci;

				if (!(quantities[row->quantity].metric & o->metrics) ||
				    find_row(&seen, row->key))
					continue;
				if (n == cap) {
					size_t ncap = cap ? 2 * cap : 64;
					struct cmp *g = realloc(c, ncap * sizeof(*g));

					if (!g)
						goto fail;
					c = g;
					cap = ncap;
				}
				ci = &c[n++];
				memset(ci, 0, sizeof(*ci));
				ci->proto = row;
				ci->bv = calloc(nb, sizeof(double));
				ci->nv = calloc(nn, sizeof(double));
				if (!ci->bv || !ci->nv || index_row(&seen, (struct row *)row))
					goto fail;
			}
		}
	hmap_free(&seen);
	for (size_t i = 0; i < n; i++) {
		struct cmp *ci = &c[i];

		for (int side = 0; side < 2; side++)
			for (size_t k = 0; k < nruns[side]; k++) {
				const struct row *row =
				        find_row(&sides[side][k]->index, ci->proto->key);

				if (!row)
					continue;
				(side ? ci->nv : ci->bv)[k] = row->value;
				(*(side ? &ci->in_new : &ci->in_base))++;
				if (append(side ? &ci->ns : &ci->bs, side ? &ci->nns : &ci->nbs,
				           row->samples, row->n))
					goto fail_free;
			}
		if (judge(ci, nb, nn, o))
			goto fail_free;
	}
	*count = n;
	return c;
fail:
	hmap_free(&seen);
fail_free:
	cmp_free(c, n);
	return NULL;
}

static bool is_kind_table(const struct cmp *c)
{
	return c->proto->level == L_KIND;
}

static int compare_cmp(const void *a, const void *b)
{
	const struct cmp *x = a, *y = b;
	bool tx = quantities[x->proto->quantity].timed, ty = quantities[y->proto->quantity].timed;

	if (x->verdict != y->verdict)
		return x->verdict < y->verdict ? -1 : 1;
	/* sites first, as the text's first table has them */
	if (is_kind_table(x) != is_kind_table(y))
		return is_kind_table(x) ? 1 : -1;
	if (tx != ty)
		return tx ? -1 : 1;
	if (x->impact != y->impact)
		return x->impact > y->impact ? -1 : 1;
	if (x->proto->level != y->proto->level)
		return x->proto->level < y->proto->level ? -1 : 1;
	return strcmp(x->proto->key, y->proto->key);
}

/* --- writing ------------------------------------------------------------------------ */

/* ns with three significant digits: a change of 2.00ms to 3.99ms must not read as 2ms to 3ms. */
static void duration3(char *buf, size_t size, double ns)
{
	static const struct {
		double ns;
		const char *unit;
	} units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (ns >= units[i].ns || i == sizeof(units) / sizeof(*units) - 1) {
			double v = ns / units[i].ns;

			snprintf(buf, size, "%.*f%s",
			         v >= 100  ? 0
			         : v >= 10 ? 1
			                   : 2,
			         v, units[i].unit);
			return;
		}
}

static void text_value(FILE *out, const struct cmp *c, double v, int width)
{
	char buf[32];

	if (isnan(v))
		snprintf(buf, sizeof(buf), "-");
	else if (quantities[c->proto->quantity].timed)
		duration3(buf, sizeof(buf), v < 0 ? 0 : v);
	else
		snprintf(buf, sizeof(buf), "%.4g", v);
	fprintf(out, " %*s", width, buf);
}

static void percent(char *buf, size_t size, double v)
{
	if (isinf(v))
		snprintf(buf, size, v > 0 ? "+inf" : "-inf");
	else
		snprintf(buf, size, "%+.1f%%", 100.0 * v);
}

static const char *where(const struct cmp *c)
{
	return c->proto->site ? c->proto->site : c->proto->kind;
}

static void text_row(FILE *out, const struct cmp *c)
{
	char change[24], ci[48] = "", p[24] = "";
	const char *name = quantities[c->proto->quantity].name;

	fprintf(out, "  %-11s %-11s ", verdict_names[c->verdict], name);
	text_string_cut(out, where(c), 44);
	fprintf(out, "%*s", 44 - (int)(text_width(where(c)) < 44 ? text_width(where(c)) : 44), "");
	text_value(out, c, c->base, 9);
	text_value(out, c, c->new_, 9);
	percent(change, sizeof(change), c->change);
	if (c->has_ci) {
		char lo[16], hi[16];

		percent(lo, sizeof(lo), c->lo);
		percent(hi, sizeof(hi), c->hi);
		snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
	} else if (!strcmp(c->statistic, "exact")) {
		snprintf(ci, sizeof(ci), "exact");
	}
	if (c->has_p)
		snprintf(p, sizeof(p), "%.2g", c->p);
	fprintf(out, " %8s %-20s %-8s", change, ci, p);
	if (c->proto->level != L_KIND && c->proto->level != L_TYPE) {
		fputs(" ", out);
		text_string(out, c->proto->kind);
	}
	fprintf(out, "  (%s)\n", c->statistic);
}

/* How many stack rows of the same quantity and kind share a site with c (to show a site's
 * stacks only when it has several). */
static size_t stacks_of_site(const struct cmp *c, size_t n, const struct cmp *s)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].proto->level == L_STACK && c[i].proto->quantity == s->proto->quantity &&
		    !strcmp(c[i].proto->kind, s->proto->kind) &&
		    !strcmp(c[i].proto->site_key, s->proto->site_key))
			count++;
	return count;
}

static void text_table(FILE *out, const char *title, const struct cmp *c, size_t n, bool kinds)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (is_kind_table(&c[i]) != kinds || c[i].verdict == V_NEW ||
		    c[i].verdict == V_GONE || c[i].proto->level == L_TYPE)
			continue;
		if (c[i].proto->level == L_STACK && stacks_of_site(c, n, &c[i]) < 2)
			continue;
		if (!any) {
			fprintf(out, "\n%s\n  %-11s %-11s %-44s %9s %9s %8s %-20s %-8s %s\n", title,
			        "VERDICT", "WHAT", kinds ? "KIND" : "SITE", "BASE", "NEW", "CHANGE",
			        "CI", "P", kinds ? "" : "KIND");
			any = true;
		}
		text_row(out, &c[i]);
	}
}

static void text_presence(FILE *out, const char *title, const struct cmp *c, size_t n, int verdict,
                          int quantity, int level)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		const struct cmp *x = &c[i];

		if (x->verdict != verdict || x->proto->quantity != quantity ||
		    x->proto->level != level)
			continue;
		if (!any)
			fprintf(out, "\n%s\n", title);
		any = true;
		fputs("  ", out);
		text_string(out, where(x));
		fputs(" (", out);
		text_string(out, x->proto->kind);
		fputs("):", out);
		text_value(out, x, verdict == V_NEW ? x->new_per_task : x->base_per_task, 0);
		fputs(quantity == Q_RAISES ? " raises per task\n"
		      : quantity == Q_WAIT ? " suspended per task\n"
		                           : " per task\n",
		      out);
	}
}

static void write_text(FILE *out, const struct cmp *c, size_t n, size_t nb, size_t nn,
                       const struct diff_options *o, bool regression, size_t regressions)
{
	fprintf(out,
	        "costack diff: %zu base run%s, %zu new run%s; a regression is a change above "
	        "%g%% with p < %g%s\n",
	        nb, nb == 1 ? "" : "s", nn, nn == 1 ? "" : "s", 100 * o->threshold, o->alpha,
	        o->metrics & (DIFF_SWITCHES | DIFF_TASKS | DIFF_RAISES | DIFF_WAIT)
	                ? " (counts the same in every run: any increase)"
	                : "");
	fprintf(out,
	        "  per task of %s%s; BASE and NEW are of the statistic in parentheses; CI: "
	        "%g%% bootstrap interval of the change\n",
	        o->per ? "entry " : "the same kind", o->per ? o->per : "", 100 * (1 - o->alpha));
	text_table(out,
	           "Wait and run sites (time and suspensions per task, by the innermost frame "
	           "of the program's own; its stacks when several):",
	           c, n, false);
	text_table(out, "Task kinds (by entry function):", c, n, true);
	text_presence(out, "New wait sites:", c, n, V_NEW, Q_WAIT, L_SITE);
	text_presence(out, "Vanished wait sites:", c, n, V_GONE, Q_WAIT, L_SITE);
	text_presence(out, "New resume sites:", c, n, V_NEW, Q_RUN, L_SITE);
	text_presence(out, "Vanished resume sites:", c, n, V_GONE, Q_RUN, L_SITE);
	text_presence(out, "New task kinds:", c, n, V_NEW, Q_TASKS, L_KIND);
	text_presence(out, "Vanished task kinds:", c, n, V_GONE, Q_TASKS, L_KIND);
	text_presence(out, "New exception types:", c, n, V_NEW, Q_RAISES, L_TYPE);
	text_presence(out, "Vanished exception types:", c, n, V_GONE, Q_RAISES, L_TYPE);
	text_presence(out, "New raise sites:", c, n, V_NEW, Q_RAISES, L_EXCEPTION);
	text_presence(out, "Vanished raise sites:", c, n, V_GONE, Q_RAISES, L_EXCEPTION);
	if (regression)
		fprintf(out, "\nREGRESSION: %zu change%s above the threshold, or new\n",
		        regressions, regressions == 1 ? "" : "s");
	else
		fputs("\nNo regression.\n", out);
}

static void json_number(FILE *out, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", out);
	else
		fprintf(out, "%.17g", v);
}

static void json_side(FILE *out, const struct cmp *c, bool new_)
{
	fputs("{\"value\":", out);
	json_number(out, new_ ? c->new_ : c->base);
	fputs(",\"per_task\":", out);
	json_number(out, new_ ? c->new_per_task : c->base_per_task);
	fprintf(out, ",\"runs_with\":%zu,\"samples\":%zu}", new_ ? c->in_new : c->in_base,
	        new_ ? c->nns : c->nbs);
}

static void json_row(FILE *out, const struct cmp *c)
{
	fprintf(out, "{\"metric\":\"%s\",\"quantity\":\"%s\",\"level\":\"%s\",\"kind\":",
	        quantities[c->proto->quantity].metric == DIFF_WAIT       ? "wait"
	        : quantities[c->proto->quantity].metric == DIFF_RUN      ? "run"
	        : quantities[c->proto->quantity].metric == DIFF_SWITCHES ? "switches"
	        : quantities[c->proto->quantity].metric == DIFF_TASKS    ? "tasks"
	                                                                 : "raises",
	        quantities[c->proto->quantity].name, level_names[c->proto->level]);
	json_string(out, c->proto->kind);
	fputs(",\"site\":", out);
	json_string(out, c->proto->site);
	fprintf(out, ",\"frames\":%s,\"unit\":\"%s\",\"statistic\":\"%s\",\"base\":",
	        c->proto->frames_json ? c->proto->frames_json : "null",
	        quantities[c->proto->quantity].timed ? "ns" : "count", c->statistic);
	json_side(out, c, false);
	fputs(",\"new\":", out);
	json_side(out, c, true);
	fputs(",\"change\":", out);
	json_number(out, c->change);
	fputs(",\"ci\":", out);
	if (c->has_ci) {
		putc('[', out);
		json_number(out, c->lo);
		putc(',', out);
		json_number(out, c->hi);
		putc(']', out);
	} else {
		fputs("null", out);
	}
	fputs(",\"p\":", out);
	if (c->has_p)
		json_number(out, c->p);
	else
		fputs("null", out);
	fprintf(out, ",\"verdict\":\"%s\"}", verdict_names[c->verdict]);
}

static void json_names(FILE *out, const char *name, const struct cmp *c, size_t n, int verdict,
                       int quantity, int level)
{
	bool first = true;

	fprintf(out, ",\n\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		if (c[i].verdict != verdict || c[i].proto->quantity != quantity ||
		    c[i].proto->level != level)
			continue;
		fputs(first ? "{\"kind\":" : ",{\"kind\":", out);
		first = false;
		json_string(out, c[i].proto->kind);
		fputs(",\"site\":", out);
		json_string(out, where(&c[i]));
		putc('}', out);
	}
	putc(']', out);
}

static void json_runs(FILE *out, struct diff_run *const *runs, size_t n)
{
	putc('[', out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{\"trace\":" : "{\"trace\":", out);
		json_string(out, runs[i]->trace);
		fprintf(out, ",\"lost_intervals\":%" PRIu64 ",\"open_intervals\":%" PRIu64 "}",
		        runs[i]->unknown, runs[i]->open);
	}
	putc(']', out);
}

static void write_json(FILE *out, const struct cmp *c, size_t n, struct diff_run *const *base,
                       size_t nb, struct diff_run *const *new_, size_t nn,
                       const struct diff_options *o, bool regression)
{
	static const char *const metric_names[] = {"wait", "run", "switches", "tasks", "raises"};
	bool first = true;

	fputs("{\"schema\":\"costack.diff/1\",\"regression\":", out);
	fputs(regression ? "true" : "false", out);
	fputs(",\n\"base\":", out);
	json_runs(out, base, nb);
	fputs(",\n\"new\":", out);
	json_runs(out, new_, nn);
	fprintf(out,
	        ",\n\"options\":{\"threshold\":%.17g,\"alpha\":%.17g,\"min_change_ns\":%" PRIu64
	        ",\"per\":",
	        o->threshold, o->alpha, o->min_change_ns);
	json_string(out, o->per);
	fputs(",\"metrics\":[", out);
	for (int i = 0; i < 5; i++)
		if (o->metrics & (1u << i)) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", metric_names[i]);
			first = false;
		}
	fputs("]},\n\"rows\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", out);
		json_row(out, &c[i]);
	}
	fputs("]", out);
	json_names(out, "new_sites", c, n, V_NEW, Q_WAIT, L_SITE);
	json_names(out, "vanished_sites", c, n, V_GONE, Q_WAIT, L_SITE);
	json_names(out, "new_exceptions", c, n, V_NEW, Q_RAISES, L_TYPE);
	json_names(out, "vanished_exceptions", c, n, V_GONE, Q_RAISES, L_TYPE);
	fputs("}\n", out);
}

int diff_write(FILE *out, struct diff_run *const *base, size_t nb, struct diff_run *const *new_,
               size_t nn, const struct diff_options *o, bool *regression)
{
	size_t n = 0, regressions = 0;
	struct cmp *c = gather(base, nb, new_, nn, o, &n);

	*regression = false;
	if (!c && n)
		return -1;
	if (!c && !(c = calloc(1, sizeof(*c))))
		return -1;
	if (n > 1)
		qsort(c, n, sizeof(*c), compare_cmp);
	/* A site's stacks and an exception's type repeat what their site and place say: one
	 * change counted once. */
	for (size_t i = 0; i < n; i++)
		if ((c[i].verdict == V_REGRESSION || c[i].verdict == V_NEW) &&
		    c[i].proto->level != L_STACK && c[i].proto->level != L_TYPE)
			regressions++;
	for (size_t i = 0; i < n; i++)
		if (c[i].verdict == V_REGRESSION || c[i].verdict == V_NEW)
			*regression = true;
	if (o->json)
		write_json(out, c, n, base, nb, new_, nn, o, *regression);
	else
		write_text(out, c, n, nb, nn, o, *regression, regressions);
	cmp_free(c, n);
	return fflush(out) || ferror(out) ? -1 : 0;
}
