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
/* The samples' generator's: any fixed value, so that the same traces give the same verdict. */
#define SAMPLE_SEED 0x636f737461636b31ull
/* A task's first intervals held back until its entry is settled (see struct live_task). */
#define PENDING_MAX 4

/* --- a bounded sample --------------------------------------------------------------- */

/*
 * The values the statistics take of a row (each interval's length at a site, each task's
 * total for a kind): all of them up to DIFF_SAMPLE_CAP, then a uniform sample of that many
 * (reservoir sampling, Vitter's algorithm R), so that memory does not grow with the trace. The
 * generator is seeded with a fixed value: the same trace gives the same sample. seen is the
 * population; its sum, where one is wanted, is kept exactly beside it.
 */
struct sample {
	double *v;
	size_t kept, room;
	uint64_t seen;
	uint64_t random; /* the generator's state */
};

/* splitmix64 (as stats.c's bootstrap): small, and the same sequence for the same seed. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0), without the bias of a modulo. */
static uint64_t random_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)next_random(state) * n) >> 64);
}

static void sample_init(struct sample *s, uint64_t seed)
{
	*s = (struct sample){.random = SAMPLE_SEED ^ (seed * 0x9e3779b97f4a7c15ull)};
}

static int sample_room(struct sample *s, size_t want)
{
	size_t room = s->room ? s->room : 16;
	double *v;

	if (want <= s->room)
		return 0;
	while (room < want)
		room *= 2;
	v = realloc(s->v, room * sizeof(*v));
	if (!v)
		return -1;
	s->v = v;
	s->room = room;
	return 0;
}

static int sample_add(struct sample *s, double x)
{
	uint64_t j;

	if (s->kept < DIFF_SAMPLE_CAP) {
		if (sample_room(s, s->kept + 1))
			return -1;
		s->v[s->kept++] = x;
		s->seen++;
		return 0;
	}
	/* The seen-th value replaces one of those kept with probability DIFF_SAMPLE_CAP/seen. */
	j = random_below(&s->random, ++s->seen);
	if (j < DIFF_SAMPLE_CAP)
		s->v[j] = x;
	return 0;
}

/* k of v[0..n) (k <= n) drawn without replacement, moved to v[0..k) (a partial shuffle). */
static void draw(double *v, size_t n, size_t k, uint64_t *random)
{
	for (size_t i = 0; i < k; i++) {
		size_t j = i + (size_t)random_below(random, n - i);
		double x = v[i];

		v[i] = v[j];
		v[j] = x;
	}
}

/*
 * Take from's values into into. While neither was sampled and both fit, all of them; else a
 * uniform sample of DIFF_SAMPLE_CAP of the union: how many come from each side is drawn as
 * drawing that many without replacement from both populations would give, then that many of
 * each side's sample (itself uniform) are drawn.
 */
static int sample_merge(struct sample *into, const struct sample *from)
{
	uint64_t ra = into->seen, rb = from->seen;
	size_t ka = 0, kb;
	double *v;

	if (!from->seen)
		return 0;
	if (into->kept == into->seen && from->kept == from->seen &&
	    into->kept + from->kept <= DIFF_SAMPLE_CAP) {
		if (sample_room(into, into->kept + from->kept))
			return -1;
		memcpy(into->v + into->kept, from->v, from->kept * sizeof(*from->v));
		into->kept += from->kept;
		into->seen += from->seen;
		return 0;
	}
	for (size_t i = 0; i < DIFF_SAMPLE_CAP; i++) {
		if (random_below(&into->random, ra + rb) < ra) {
			ka++;
			ra--;
		} else {
			rb--;
		}
	}
	kb = DIFF_SAMPLE_CAP - ka; /* ka <= into->kept, kb <= from->kept: kept = min(seen, cap) */
	v = malloc((ka + from->kept) * sizeof(*v));
	if (!v)
		return -1;
	draw(into->v, into->kept, ka, &into->random);
	memcpy(v, into->v, ka * sizeof(*v));
	memcpy(v + ka, from->v, from->kept * sizeof(*v));
	draw(v + ka, from->kept, kb, &into->random);
	free(into->v);
	into->v = v;
	into->room = ka + from->kept;
	into->kept = DIFF_SAMPLE_CAP;
	into->seen += from->seen;
	return 0;
}

static void sample_free(struct sample *s)
{
	free(s->v);
	s->v = NULL;
	s->kept = s->room = 0;
}

/* --- what is gathered while a trace is read ---------------------------------------- */

/*
 * Nothing here grows with the trace's length: intervals are counted, summed and sampled as they
 * close, into groups of tasks of the same entry at the same stack; a task's own totals (what a
 * kind's per-task values need) are kept only while it has not ended, then folded into its
 * entry's.
 */

/* The intervals tasks of one entry spent in one state at one stack (of one process). */
struct group {
	uint64_t order; /* first: taken in the order made, the same every time (in_order) */
	const struct tm_process *process;
	const struct tm_stack *stack; /* NULL: none (a first run, from the entry) */
	uint64_t entry;
	uint64_t first_ns; /* its first interval's beginning: when to symbolize it */
	uint64_t total_ns;
	struct sample lengths;
};

/* The tasks of one entry (of one process): each one's total waiting and running. */
struct kind_group {
	uint64_t order; /* first: taken in the order made, the same every time (in_order) */
	const struct tm_process *process;
	uint64_t entry;
	uint64_t created_ns; /* its first task's: when to symbolize the entry */
	uint64_t wait_ns, run_ns;
	struct sample waits, runs;
};

/*
 * A task not ended: its totals so far, and its first intervals held back until its entry is
 * settled: a runtime may name its user's entry only at the task's first suspensions (after the
 * interval that switch closed), and all of a task's intervals count for the kind it ends with.
 */
struct live_task {
	const struct tm_task *task;
	uint64_t wait_ns, run_ns;
	struct {
		const struct tm_stack *stack;
		uint64_t begin_ns, ns;
		bool wait;
	} pending[PENDING_MAX];
	unsigned npending;
	bool settled; /* its pending intervals went to their groups, the next ones go straight */
};

/* Live tasks by task: open addressing with removal (hmap has none), as tasks end. */
struct live_table {
	struct live_task **slots;
	size_t cap, n; /* cap: a power of two, or 0 */
};

struct diff_intervals {
	struct hmap waits, runs; /* (stack, or process when none; entry) -> group */
	struct hmap kinds;       /* (process, entry) -> kind_group */
	struct live_table live;
	uint64_t made; /* groups and kind groups made, for their order */
	uint64_t unknown, open;
	bool out_of_memory;
};

static size_t live_home(const struct live_table *l, const struct tm_task *t)
{
	return hmap_hash((uintptr_t)t, 0) & (l->cap - 1);
}

static struct live_task *live_find(const struct live_table *l, const struct tm_task *t)
{
	if (!l->cap)
		return NULL;
	for (size_t i = live_home(l, t); l->slots[i]; i = (i + 1) & (l->cap - 1))
		if (l->slots[i]->task == t)
			return l->slots[i];
	return NULL;
}

static void live_place(struct live_table *l, struct live_task *lt)
{
	size_t i = live_home(l, lt->task);

	while (l->slots[i])
		i = (i + 1) & (l->cap - 1);
	l->slots[i] = lt;
	l->n++;
}

static int live_put(struct live_table *l, struct live_task *lt)
{
	if ((l->n + 1) * 4 > l->cap * 3) {
		struct live_table grown = {.cap = l->cap ? 2 * l->cap : 64};

		if (!(grown.slots = calloc(grown.cap, sizeof(*grown.slots))))
			return -1;
		for (size_t i = 0; i < l->cap; i++)
			if (l->slots[i])
				live_place(&grown, l->slots[i]);
		free(l->slots);
		*l = grown;
	}
	live_place(l, lt);
	return 0;
}

/* Take lt out (it stays allocated): the slots after it move back where their probe allows. */
static void live_remove(struct live_table *l, const struct live_task *lt)
{
	size_t mask = l->cap - 1, i = live_home(l, lt->task);

	while (l->slots[i] != lt)
		i = (i + 1) & mask;
	l->slots[i] = NULL;
	l->n--;
	for (size_t j = (i + 1) & mask; l->slots[j]; j = (j + 1) & mask) {
		size_t home = live_home(l, l->slots[j]->task);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			l->slots[i] = l->slots[j];
			l->slots[j] = NULL;
			i = j;
		}
	}
}

static void add_to_group(struct diff_intervals *di, const struct tm_task *t,
                         const struct tm_stack *stack, bool wait, uint64_t begin_ns, uint64_t ns)
{
	struct hmap *h = wait ? &di->waits : &di->runs;
	uintptr_t where = stack ? (uintptr_t)stack : (uintptr_t)t->process;
	struct group *g = hmap_get(h, where, t->entry);

	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g || hmap_put(h, where, t->entry, g)) {
			free(g);
			di->out_of_memory = true;
			return;
		}
		g->process = t->process;
		g->stack = stack;
		g->entry = t->entry;
		g->first_ns = begin_ns;
		g->order = di->made++;
		sample_init(&g->lengths, g->order);
	}
	if (begin_ns < g->first_ns)
		g->first_ns = begin_ns;
	g->total_ns += ns;
	if (sample_add(&g->lengths, (double)ns))
		di->out_of_memory = true;
}

static void settle(struct diff_intervals *di, struct live_task *lt)
{
	for (unsigned i = 0; i < lt->npending; i++)
		add_to_group(di, lt->task, lt->pending[i].stack, lt->pending[i].wait,
		             lt->pending[i].begin_ns, lt->pending[i].ns);
	lt->npending = 0;
	lt->settled = true;
}

/* t's totals (NULL: it had no interval) into its entry's; lt is freed. */
static void fold(struct diff_intervals *di, const struct tm_task *t, struct live_task *lt)
{
	struct kind_group *k = hmap_get(&di->kinds, (uintptr_t)t->process, t->entry);

	if (lt) {
		settle(di, lt);
		live_remove(&di->live, lt);
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || hmap_put(&di->kinds, (uintptr_t)t->process, t->entry, k)) {
			free(k);
			free(lt);
			di->out_of_memory = true;
			return;
		}
		k->process = t->process;
		k->entry = t->entry;
		k->created_ns = t->created_ns;
		k->order = di->made++;
		sample_init(&k->waits, k->order);
		sample_init(&k->runs, k->order + 1);
	}
	k->wait_ns += lt ? lt->wait_ns : 0;
	k->run_ns += lt ? lt->run_ns : 0;
	if (sample_add(&k->waits, lt ? (double)lt->wait_ns : 0) ||
	    sample_add(&k->runs, lt ? (double)lt->run_ns : 0))
		di->out_of_memory = true;
	free(lt);
}

static void on_interval(void *ctx, const struct tm_model *m, const struct tm_interval *iv)
{
	struct diff_intervals *di = ctx;
	bool wait = iv->state != COSTACK_RUNNING;
	uint64_t d = iv->end_ns > iv->begin_ns ? iv->end_ns - iv->begin_ns : 0;
	struct live_task *lt;

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
	lt = live_find(&di->live, iv->task);
	if (!lt) {
		lt = calloc(1, sizeof(*lt));
		if (lt)
			lt->task = iv->task;
		if (!lt || live_put(&di->live, lt)) {
			free(lt);
			di->out_of_memory = true;
			return;
		}
	}
	*(wait ? &lt->wait_ns : &lt->run_ns) += d;
	if (!lt->settled && lt->npending < PENDING_MAX) {
		lt->pending[lt->npending].stack = iv->stack;
		lt->pending[lt->npending].begin_ns = iv->begin_ns;
		lt->pending[lt->npending].ns = d;
		lt->pending[lt->npending++].wait = wait;
		return;
	}
	if (!lt->settled)
		settle(di, lt);
	add_to_group(di, iv->task, iv->stack, wait, iv->begin_ns, d);
}

/* An ended task has no interval left to close: its totals are final. */
static void on_ended(void *ctx, const struct tm_model *m, const struct tm_task *t)
{
	struct diff_intervals *di = ctx;

	(void)m;
	fold(di, t, live_find(&di->live, t));
}

struct diff_intervals *diff_listen(struct tm_model *m)
{
	struct diff_intervals *di = calloc(1, sizeof(*di));
	struct tm_listener l = {.interval = on_interval, .ended = on_ended, .ctx = di};

	if (di && tm_model_listen(m, &l)) {
		free(di);
		di = NULL;
	}
	return di;
}

void diff_intervals_free(struct diff_intervals *di)
{
	if (!di)
		return;
	for (int w = 0; w <= 1; w++) {
		struct hmap *h = w ? &di->waits : &di->runs;

		for (size_t i = 0; i < h->cap; i++) {
			struct group *g = h->slots[i].value;

			if (g)
				sample_free(&g->lengths);
			free(g);
		}
		hmap_free(h);
	}
	for (size_t i = 0; i < di->kinds.cap; i++) {
		struct kind_group *k = di->kinds.slots[i].value;

		if (k) {
			sample_free(&k->waits);
			sample_free(&k->runs);
		}
		free(k);
	}
	hmap_free(&di->kinds);
	for (size_t i = 0; i < di->live.cap; i++)
		free(di->live.slots[i]);
	free(di->live.slots);
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
	struct sample s;   /* timed: each interval (sites), or each task's total (kinds) */
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
	sample_init(&row->s, r->n);
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
		sample_free(&r->rows[i]->s);
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

/* A task kind's name: its entry function (the program's own frame at the entry address). */
static char *kind_name(struct offline_sym *sym, int32_t pid, uint64_t entry, uint64_t ts)
{
	struct sym_frame f[MAX_INLINE];
	char *name = NULL;
	int n, k;

	if (!entry)
		return strdup("(thread)");
	n = offline_sym_lookup(sym, pid, ts, entry, false, f, MAX_INLINE);
	if (n <= 0)
		return asprintf(&name, "%#" PRIx64, entry) < 0 ? NULL : name;
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

/* What a run is made with: the symbolizer, and names made once. */
struct making {
	struct diff_run *r;
	struct offline_sym sym;
	struct hmap names; /* (stack, quantity) -> names */
	struct hmap kinds; /* (process, entry) -> kind name */
};

/* The kind of tasks of entry in process p (its name symbolized at ts the first time). */
static const char *kind_of(struct making *mk, const struct tm_process *p, uint64_t entry,
                           uint64_t ts)
{
	char *name = hmap_get(&mk->kinds, (uintptr_t)p, entry);

	if (name)
		return name;
	name = kind_name(&mk->sym, p->pid, entry, ts);
	if (!name || hmap_put(&mk->kinds, (uintptr_t)p, entry, name)) {
		free(name);
		mk->r->out_of_memory = true;
		return NULL;
	}
	return name;
}

/* The names of stack s of process p (none: called so), made once per stack and use. */
static const struct names *names_of(struct making *mk, const struct tm_stack *s,
                                    const struct tm_process *p, uint64_t ts, int use,
                                    const char *none)
{
	struct names *n = hmap_get(&mk->names, (uintptr_t)s, (uint64_t)use);

	if (n)
		return n;
	n = stack_names(&mk->sym, s, p->pid, ts, none);
	if (!n || hmap_put(&mk->names, (uintptr_t)s, (uint64_t)use, n)) {
		if (n)
			names_free(n);
		mk->r->out_of_memory = true;
		return NULL;
	}
	return n;
}

/* A group's rows: its site's and its stack's (and their suspensions). */
static void add_group(struct making *mk, const struct group *g, bool wait)
{
	struct diff_run *r = mk->r;
	int q = wait ? Q_WAIT : Q_RUN;
	const char *kind = kind_of(mk, g->process, g->entry, g->first_ns);
	const struct names *n =
	        names_of(mk, g->stack, g->process, g->first_ns, q, wait ? "(no stack)" : "(entry)");

	if (!kind || !n)
		return;
	for (int level = L_SITE; level <= L_STACK; level++) {
		const char *key = level == L_SITE ? n->site_key : n->key;
		const char *label = level == L_SITE ? n->site_label : n->label;
		const char *json = level == L_SITE ? n->site_json : n->frames_json;
		struct row *row = row_of(r, q, level, kind, key, label, n->site_key, json);

		if (!row)
			return;
		row->total += (double)g->total_ns;
		if (sample_merge(&row->s, &g->lengths)) {
			r->out_of_memory = true;
			return;
		}
		if (!wait)
			continue;
		row = row_of(r, Q_SUSPENSIONS, level, kind, key, label, n->site_key, json);
		if (!row)
			return;
		row->total += (double)g->lengths.seen;
	}
}

/* A kind's per-task times. */
static void add_kind_group(struct making *mk, const struct kind_group *k)
{
	const char *kind = kind_of(mk, k->process, k->entry, k->created_ns);
	struct row *w, *u;

	if (!kind)
		return;
	w = row_of(mk->r, Q_KIND_WAIT, L_KIND, kind, NULL, NULL, NULL, NULL);
	u = row_of(mk->r, Q_KIND_RUN, L_KIND, kind, NULL, NULL, NULL, NULL);
	if (!w || !u || sample_merge(&w->s, &k->waits) || sample_merge(&u->s, &k->runs)) {
		mk->r->out_of_memory = true;
		return;
	}
	w->total += (double)k->wait_ns;
	u->total += (double)k->run_ns;
}

static void add_raises(struct making *mk, const struct tm_task *t, const char *kind)
{
	struct diff_run *r = mk->r;

	for (uint32_t i = 0; t->raises && i < t->raises->nkinds; i++) {
		const struct tm_exception_kind *k = &t->raises->kinds[i];
		const char *type = k->type && *k->type ? k->type : "(exception)";
		const struct names *n = names_of(mk, k->stack, t->process, k->first_ns, Q_RAISES,
		                                 "(unknown place)");
		char *key = NULL, *label = NULL;
		struct row *row;

		if (!n || asprintf(&key, "%s\x1f%s", type, n->site_key) < 0 ||
		    asprintf(&label, "%s at %s", type, n->site_label) < 0) {
			r->out_of_memory = true;
			free(key);
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
	}
}

static void add_count(struct diff_run *r, int quantity, const char *kind, double v)
{
	struct row *row = row_of(r, quantity, L_KIND, kind, NULL, NULL, NULL, NULL);

	if (row)
		row->total += v;
}

static int compare_order(const void *a, const void *b)
{
	uint64_t x = **(const uint64_t *const *)a, y = **(const uint64_t *const *)b;

	return x < y ? -1 : x > y;
}

/* The values of h (each starting with its uint64_t order) in that order, *n of them: hash
 * order follows addresses, which change from run to run; samples are merged in this one. */
static void **in_order(const struct hmap *h, size_t *n)
{
	void **v = malloc((h->n ? h->n : 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < h->cap; i++)
		if (h->slots[i].value)
			v[(*n)++] = h->slots[i].value;
	return v;
}

struct diff_run *diff_run_make(struct diff_intervals *di, struct tm_model *m, const char *trace,
                               const char *per, char *error, size_t size)
{
	struct making mk = {.r = calloc(1, sizeof(*mk.r))};
	struct diff_run *r = mk.r;
	bool sym_ok = false;

	if (!r || !di || di->out_of_memory || !(r->trace = strdup(trace)))
		goto oom;
	r->unknown = di->unknown;
	r->open = di->open;
	if (offline_sym_init(&mk.sym, m))
		goto oom;
	sym_ok = true;
	/* Each task's counts; the totals of those not ended fold now. */
	for (size_t p = 0; p < m->nprocs; p++)
		for (size_t i = 0; i < m->procs[p]->ntasks; i++) {
			const struct tm_task *t = m->procs[p]->tasks[i];
			struct live_task *lt = live_find(&di->live, t);
			const char *kind = kind_of(&mk, t->process, t->entry, t->created_ns);

			if (!kind)
				goto oom;
			add_count(r, Q_TASKS, kind, 1);
			add_count(r, Q_SWITCHES, kind, (double)t->switches);
			add_count(r, Q_UNFINISHED, kind, tm_task_ended(t) ? 0 : 1);
			add_raises(&mk, t, kind);
			/* an ended one folded at its end (on_ended) */
			if (lt || !t->ended)
				fold(di, t, lt);
		}
	if (di->out_of_memory)
		goto oom;
	/* The groups, by site and stack, and by kind; in the order they were made. */
	for (int h = 0; h < 3; h++) {
		const struct hmap *map = h == 0 ? &di->runs : h == 1 ? &di->waits : &di->kinds;
		size_t n;
		void **v = in_order(map, &n);

		if (!v)
			goto oom;
		if (n > 1)
			qsort(v, n, sizeof(*v), compare_order);
		for (size_t i = 0; i < n; i++) {
			if (h < 2)
				add_group(&mk, v[i], h == 1);
			else
				add_kind_group(&mk, v[i]);
		}
		free(v);
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
	for (size_t i = 0; i < mk.names.cap; i++)
		if (mk.names.slots[i].value)
			names_free(mk.names.slots[i].value);
	hmap_free(&mk.names);
	for (size_t i = 0; i < mk.kinds.cap; i++)
		free(mk.kinds.slots[i].value);
	hmap_free(&mk.kinds);
	if (sym_ok)
		offline_sym_free(&mk.sym);
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
	struct sample bs, ns;    /* samples of all runs of a side */
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
		sample_free(&c[i].bs);
		sample_free(&c[i].ns);
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
		x = c->bs.v, nx = c->bs.kept, y = c->ns.v, ny = c->ns.kept;
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
				sample_init(&ci->bs, 0);
				sample_init(&ci->ns, 1);
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
				if (sample_merge(side ? &ci->ns : &ci->bs, &row->s))
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
	for (size_t i = 0; i < n; i++)
		if (c[i].bs.kept < c[i].bs.seen || c[i].ns.kept < c[i].ns.seen) {
			fprintf(out,
			        "  where a side has more than %d values (intervals at a site), the "
			        "test takes a seeded uniform sample of %d; totals and counts are "
			        "exact\n",
			        DIFF_SAMPLE_CAP, DIFF_SAMPLE_CAP);
			break;
		}
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
	fprintf(out, ",\"runs_with\":%zu,\"population\":%" PRIu64 ",\"samples\":%zu}",
	        new_ ? c->in_new : c->in_base, new_ ? c->ns.seen : c->bs.seen,
	        new_ ? c->ns.kept : c->bs.kept);
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
