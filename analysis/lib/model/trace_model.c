/* SPDX-License-Identifier: MIT */
/* trace_model.c - costack-tp.h's state machine replayed: the live registry, rebuilt from events. */
#include "trace_model.h"

#include "task_view.h"

#include <stdlib.h>
#include <string.h>

#include "costack.h"

struct tm_string {
	struct tm_string *next;
	char s[];
};

int tm_process_order(const void *a, const void *b)
{
	const struct tm_process *x = *(struct tm_process *const *)a;
	const struct tm_process *y = *(struct tm_process *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

void tm_model_init(struct tm_model *m)
{
	memset(m, 0, sizeof(*m));
}

void tm_model_free(struct tm_model *m)
{
	for (size_t i = 0; i < m->tasks.cap; i++) {
		struct tm_task *t = m->tasks.slots[i].value;

		if (t) {
			if (t->raises)
				free(t->raises->ring);
			free(t->raises);
			free(t);
		}
	}
	for (size_t i = 0; i < m->stacks.cap; i++) {
		struct tm_stack *s = m->stacks.slots[i].value;

		while (s) {
			struct tm_stack *next = s->next_same_hash;

			free(s);
			s = next;
		}
	}
	for (size_t i = 0; i < m->strings.cap; i++) {
		struct tm_string *s = m->strings.slots[i].value;

		while (s) {
			struct tm_string *next = s->next;

			free(s);
			s = next;
		}
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		free(m->procs[i]->tasks);
		free(m->procs[i]);
	}
	for (size_t i = 0; i < m->nspaces; i++) {
		free(m->spaces_list[i]->modules);
		free(m->spaces_list[i]);
	}
	free(m->procs);
	free(m->spaces_list);
	free(m->gaps);
	hmap_free(&m->tasks);
	hmap_free(&m->stack_refs);
	hmap_free(&m->stacks);
	hmap_free(&m->processes);
	hmap_free(&m->spaces);
	hmap_free(&m->strings);
}

/* Append item (of size) to a growable array. 0, or -1 when out of memory. */
static int push(void *array, size_t *n, size_t *cap, size_t size, const void *item)
{
	void **a = array;

	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		void *p = realloc(*a, ncap * size);

		if (!p)
			return -1;
		*a = p;
		*cap = ncap;
	}
	memcpy((char *)*a + *n * size, item, size);
	(*n)++;
	return 0;
}

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

const char *tm_intern(struct tm_model *m, const char *s)
{
	uint64_t h;
	struct tm_string *head, *e;
	size_t len;

	if (!s)
		return NULL;
	len = strlen(s);
	h = hash_bytes(s, len);
	head = hmap_get(&m->strings, h, 0);
	for (e = head; e; e = e->next)
		if (!strcmp(e->s, s))
			return e->s;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		goto oom;
	memcpy(e->s, s, len + 1);
	e->next = head;
	if (hmap_put(&m->strings, h, 0, e)) {
		free(e);
		goto oom;
	}
	return e->s;
oom:
	m->out_of_memory = true;
	return NULL;
}

void tm_on_time(struct tm_model *m, uint64_t ts)
{
	if (!m->has_time) {
		m->has_time = true;
		m->first_ns = ts;
	}
	if (ts > m->last_ns)
		m->last_ns = ts;
}

/* --- processes and tasks ------------------------------------------------------ */

static struct tm_process *process_new(struct tm_model *m, int32_t pid)
{
	struct tm_process *p = calloc(1, sizeof(*p));

	if (!p)
		goto oom;
	p->pid = pid;
	p->serial = ++m->next_serial;
	if (push(&m->procs, &m->nprocs, &m->proccap, sizeof(p), &p)) {
		free(p);
		goto oom;
	}
	if (hmap_put(&m->processes, (uint64_t)(uint32_t)pid, 0, p))
		goto oom; /* listed, so freed with the model */
	return p;
oom:
	m->out_of_memory = true;
	return NULL;
}

struct tm_process *tm_process_of(struct tm_model *m, int32_t pid, int32_t tid, const char *procname)
{
	struct tm_process *p = hmap_get(&m->processes, (uint64_t)(uint32_t)pid, 0);

	if (!p && !(p = process_new(m, pid)))
		return NULL;
	/* The procname context is the thread's name: the main thread's names the process. */
	if (procname && (!p->procname || (tid == pid && !p->procname_of_main))) {
		p->procname = tm_intern(m, procname);
		p->procname_of_main = tid == pid;
	}
	return p;
}

static void process_saw(struct tm_process *p, uint64_t ts)
{
	if (!p->first_ns)
		p->first_ns = ts;
	p->last_ns = ts;
}

bool tm_task_ended(const struct tm_task *t)
{
	return t->ended || t->state == COSTACK_DONE || t->state == COSTACK_FAILED ||
	       t->state == COSTACK_CANCELLED;
}

bool tm_task_unknown(const struct tm_model *m, const struct tm_task *t)
{
	if (t->state < 0 || t->unknown)
		return true;
	return !tm_task_ended(t) && t->gap_seen != m->gap_count;
}

static struct tm_task *task_find(struct tm_model *m, struct tm_process *p, uint64_t id)
{
	return hmap_get(&m->tasks, p->serial, id);
}

/* A task named before its task_create was seen: unknown until determined. */
static struct tm_task *task_get(struct tm_model *m, struct tm_process *p, uint64_t id, uint64_t ts)
{
	struct tm_task *t = task_find(m, p, id);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto oom;
	t->process = p;
	t->id = id;
	t->runtime = -1;
	t->state = -1;
	t->unknown = true;
	t->created_ns = ts;
	t->since_ns = ts;
	t->gap_seen = m->gap_count;
	if (push(&p->tasks, &p->ntasks, &p->taskcap, sizeof(t), &t)) {
		free(t);
		goto oom;
	}
	if (hmap_put(&m->tasks, p->serial, id, t))
		goto oom; /* listed, so freed with the model */
	return t;
oom:
	m->out_of_memory = true;
	return NULL;
}

/* Enter state at ts, closing the time of the state left. */
int tm_model_listen(struct tm_model *m, const struct tm_listener *l)
{
	if (m->nlisteners == TM_LISTENERS_MAX)
		return -1;
	m->listeners[m->nlisteners++] = *l;
	return 0;
}

/* t's interval in its current state, from since_ns to end. */
static void tell_interval(const struct tm_model *m, const struct tm_task *t, uint64_t end,
                          bool open)
{
	struct tm_interval iv;

	if (!m->nlisteners || (t->state != COSTACK_RUNNING && t->state != COSTACK_SUSPENDED))
		return;
	iv = (struct tm_interval){
	        .task = t,
	        .state = t->state,
	        .begin_ns = t->since_ns,
	        .end_ns = end > t->since_ns ? end : t->since_ns,
	        .stack = t->has_suspend && !t->suspend_unknown ? t->suspend_stack : NULL,
	        .stack_truncated = t->has_suspend && t->suspend_truncated,
	        .unknown = tm_task_unknown(m, t) || (t->has_suspend && t->suspend_unknown) ||
	                   (t->state == COSTACK_SUSPENDED && !t->has_suspend),
	        .open = open,
	        .tid = t->tid,
	};
	for (unsigned i = 0; i < m->nlisteners; i++)
		if (m->listeners[i].interval)
			m->listeners[i].interval(m->listeners[i].ctx, m, &iv);
}

static void tell_switched(const struct tm_model *m, uint64_t ts, int32_t tid,
                          const struct tm_task *prev, const struct tm_task *next)
{
	for (unsigned i = 0; i < m->nlisteners; i++)
		if (m->listeners[i].switched)
			m->listeners[i].switched(m->listeners[i].ctx, m, ts, tid, prev, next);
}

static void tell_ended(const struct tm_model *m, const struct tm_task *t)
{
	for (unsigned i = 0; i < m->nlisteners; i++)
		if (m->listeners[i].ended)
			m->listeners[i].ended(m->listeners[i].ctx, m, t);
}

void tm_model_tell_open(const struct tm_model *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		for (size_t j = 0; j < m->procs[i]->ntasks; j++)
			tell_interval(m, m->procs[i]->tasks[j], m->last_ns, true);
}

static void set_state(struct tm_model *m, struct tm_task *t, int state, uint64_t ts)
{
	tell_interval(m, t, ts, false);
	t->state = state;
	t->since_ns = ts;
}

/* Determined at ts: unknown still if ts is inside a gap, or by the given reason. */
static void determined(struct tm_model *m, struct tm_task *t, uint64_t ts, bool unknown)
{
	t->unknown = unknown || (m->gap_count && ts <= m->gap_until);
	t->gap_seen = m->gap_count;
}

/* --- stacks -------------------------------------------------------------------- */

void tm_on_stack(struct tm_model *m, struct tm_process *p, uint64_t id, const uint64_t *frames,
                 uint32_t nframes)
{
	uint64_t h = hash_bytes(frames, nframes * sizeof(*frames)) ^ nframes;
	struct tm_stack *head = hmap_get(&m->stacks, p->serial, h), *s;

	for (s = head; s; s = s->next_same_hash)
		if (s->nframes == nframes &&
		    (!nframes || !memcmp(s->frames, frames, nframes * sizeof(*frames))))
			break;
	if (!s) {
		s = calloc(1, sizeof(*s) + nframes * sizeof(*frames));
		if (!s)
			goto oom;
		s->hash = h;
		s->serial = p->serial;
		s->nframes = nframes;
		if (nframes)
			memcpy(s->frames, frames, nframes * sizeof(*frames));
		s->next_same_hash = head;
		if (hmap_put(&m->stacks, p->serial, h, s)) {
			free(s);
			goto oom;
		}
	}
	if (id && hmap_put(&m->stack_refs, p->serial, id, s))
		goto oom;
	return;
oom:
	m->out_of_memory = true;
}

/* The stack a reference names; *unknown when it was never defined. */
static struct tm_stack *stack_ref(struct tm_model *m, struct tm_process *p, uint64_t id,
                                  bool *unknown)
{
	struct tm_stack *s = id ? hmap_get(&m->stack_refs, p->serial, id) : NULL;

	*unknown = id && !s;
	if (*unknown)
		m->undefined_stack_refs++;
	return s;
}

/* --- the events ---------------------------------------------------------------- */

/* A task's state as a trace tells it: a value costack does not know is unknown. */
static int known_state(uint64_t state)
{
	return state <= COSTACK_CANCELLED ? (int)state : TM_STATE_UNKNOWN;
}

void tm_on_task_create(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid,
                       uint64_t task, uint64_t parent, uint64_t runtime, uint64_t state,
                       uint64_t entry, uint64_t stack_lo, uint64_t stack_hi)
{
	struct tm_task *t = task_find(m, p, task);
	int s = known_state(state);

	/* Ids are never reused in a process: this is a new one with the same
	 * pid (an exec, or a pid reused). */
	if (t && t->created_seen) {
		p = process_new(m, p->pid);
		if (!p)
			return;
		t = NULL;
	}
	process_saw(p, ts);
	if (!t && !(t = task_get(m, p, task, ts)))
		return;
	t->created_seen = true;
	t->parent = parent;
	t->runtime = runtime <= COSTACK_RUNTIME_FCONTEXT ? (int)runtime : -1;
	t->entry = entry;
	t->stack_lo = stack_lo;
	t->stack_hi = stack_hi;
	t->created_ns = ts;
	t->tid = tid;
	set_state(m, t, s, ts);
	if (s == COSTACK_RUNNING)
		t->switches++;
	determined(m, t, ts, s == TM_STATE_UNKNOWN);
}

void tm_on_task_name(struct tm_model *m, struct tm_process *p, uint64_t ts, uint64_t task,
                     const char *name)
{
	struct tm_task *t = task_get(m, p, task, ts);

	process_saw(p, ts);
	if (t)
		t->name = name && *name ? tm_intern(m, name) : NULL;
}

void tm_on_task_entry(struct tm_model *m, struct tm_process *p, uint64_t ts, uint64_t task,
                      uint64_t entry)
{
	struct tm_task *t = task_get(m, p, task, ts);

	process_saw(p, ts);
	if (t)
		t->entry = entry;
}

/* The second half of a switch: t runs on tid from ts. */
static void start_running(struct tm_model *m, struct tm_task *t, uint64_t ts, int32_t tid)
{
	bool unknown;

	if (tm_task_ended(t))
		return; /* a lingering task: its runtime cleans up, it stays ended */
	/* It shows where it was last suspended: known if that was. */
	unknown = tm_task_unknown(m, t);
	set_state(m, t, COSTACK_RUNNING, ts);
	t->tid = tid;
	t->switches++;
	determined(m, t, ts, unknown);
}

static void end_task(struct tm_model *m, struct tm_task *t, int outcome, uint64_t ts)
{
	set_state(m, t, outcome, ts);
	t->ended = true;
	t->ended_ns = ts;
}

void tm_on_switch(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid, uint64_t prev,
                  uint64_t next, uint64_t prev_state, uint64_t stack, bool truncated)
{
	struct tm_task *t = task_get(m, p, prev, ts), *prev_task;
	int state = known_state(prev_state);
	bool ended_here = false;

	process_saw(p, ts);
	if (t && !tm_task_ended(t)) {
		if (state >= COSTACK_DONE && state <= COSTACK_CANCELLED) {
			/* It had ended: its task_end was lost. A failed one's
			 * traceback is not known. */
			end_task(m, t, state, ts);
			t->unknown = state == COSTACK_FAILED;
			ended_here = true;
		} else if (state == TM_STATE_UNKNOWN) {
			/* Left in a state costack does not know. */
			set_state(m, t, state, ts);
			t->tid = tid;
			determined(m, t, ts, true);
		} else {
			bool unknown;
			struct tm_stack *s = stack_ref(m, p, stack, &unknown);

			set_state(m, t, COSTACK_SUSPENDED, ts);
			t->tid = tid;
			t->suspend_stack = s;
			t->has_suspend = true;
			t->suspend_unknown = unknown;
			t->suspend_truncated = truncated;
			t->suspend_ns = ts;
			determined(m, t, ts, unknown);
		}
	}
	if (ended_here)
		tell_ended(m, t); /* its task_end was lost: the switch says how it ended */
	prev_task = t;
	t = NULL;
	if (next && (t = task_get(m, p, next, ts)))
		start_running(m, t, ts, tid);
	if (m->nlisteners)
		tell_switched(m, ts, tid, prev_task, t);
}

void tm_on_resume(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid, uint64_t task)
{
	struct tm_task *t = task_get(m, p, task, ts);

	process_saw(p, ts);
	if (t)
		start_running(m, t, ts, tid);
	if (t && m->nlisteners)
		tell_switched(m, ts, tid, NULL, t);
}

/* The k-th newest raise kept (k < x->n). */
static struct tm_raise *newest_raise(const struct tm_raises *x, uint32_t k)
{
	uint32_t newest =
	        x->n < TM_RAISES_KEPT ? x->n - 1 : (x->next + TM_RAISES_KEPT - 1) % TM_RAISES_KEPT;

	return &x->ring[x->n < TM_RAISES_KEPT ? newest - k
	                                      : (newest + TM_RAISES_KEPT - k) % TM_RAISES_KEPT];
}

static void count_kind(struct tm_raises *t, const struct tm_raise *r)
{
	struct tm_exception_kind *k;

	for (uint32_t i = 0; i < t->nkinds; i++) {
		k = &t->kinds[i];
		if (k->type == r->type && k->what == r->what && k->stack == r->stack &&
		    k->forced == r->forced) {
			k->count++;
			k->last_ns = r->ts;
			return;
		}
	}
	if (t->nkinds == TM_EXCEPTION_KINDS) {
		t->other_kinds++;
		return;
	}
	t->kinds[t->nkinds++] = (struct tm_exception_kind){
	        .type = r->type,
	        .what = r->what,
	        .stack = r->stack,
	        .count = 1,
	        .first_ns = r->ts,
	        .last_ns = r->ts,
	        .origin = r->origin,
	        .forced = r->forced,
	};
}

void tm_on_raise(struct tm_model *m, struct tm_process *p, uint64_t ts, int32_t tid, uint64_t task,
                 uint64_t number, uint64_t origin, bool forced, uint64_t stack, bool truncated,
                 const char *type, const char *what)
{
	struct tm_task *t = task_get(m, p, task, ts);
	struct tm_raise r = {
	        .number = number,
	        .ts = ts,
	        .origin = origin,
	        .truncated = truncated,
	        .forced = forced,
	        .tid = tid,
	        .type = tm_intern(m, type ? type : ""),
	        .what = tm_intern(m, what ? what : ""),
	};
	struct tm_raises *x;
	uint32_t slot;

	process_saw(p, ts);
	if (!t)
		return;
	if (!t->raises && !(t->raises = calloc(1, sizeof(*t->raises)))) {
		m->out_of_memory = true;
		return;
	}
	x = t->raises;
	r.stack = stack_ref(m, p, stack, &r.stack_unknown);
	t->raises_total++;
	count_kind(x, &r);
	if (x->n < TM_RAISES_KEPT) {
		if (x->n == x->cap) {
			uint32_t cap = x->cap ? 2 * x->cap : 2;
			struct tm_raise *a = realloc(x->ring, cap * sizeof(*a));

			if (!a) {
				m->out_of_memory = true;
				return;
			}
			x->ring = a;
			x->cap = cap;
		}
		slot = x->n++;
	} else {
		slot = x->next;
		x->next = (x->next + 1) % TM_RAISES_KEPT;
	}
	x->ring[slot] = r;
	for (unsigned i = 0; i < m->nlisteners; i++)
		if (m->listeners[i].raised)
			m->listeners[i].raised(m->listeners[i].ctx, m, t, &x->ring[slot]);
}

void tm_on_task_end(struct tm_model *m, struct tm_process *p, uint64_t ts, uint64_t task,
                    uint64_t outcome, uint64_t kept_raise)
{
	struct tm_task *t = task_get(m, p, task, ts);
	struct tm_raises *x;
	bool was_unknown;

	process_saw(p, ts);
	if (!t || tm_task_ended(t))
		return;
	if (outcome < COSTACK_DONE || outcome > COSTACK_CANCELLED) {
		/* An end costack does not know: it ended, how is unknown. */
		end_task(m, t, TM_STATE_UNKNOWN, ts);
		t->unknown = true;
		tell_ended(m, t);
		return;
	}
	x = t->raises;
	was_unknown = tm_task_unknown(m, t);
	end_task(m, t, (int)outcome, ts);
	t->kept_raise = kept_raise;
	t->unknown = false;
	if (outcome != COSTACK_FAILED) {
		tell_ended(m, t);
		return;
	}
	/* The raise it died of (task_view.h): the kept one, else its newest. Raise numbers are
	 * exact (mod 2^32, as task_end has them): the one wanted is known if it was recorded;
	 * without a kept one, a lost event may have hidden a newer raise. */
	if (x && x->n) {
		uint64_t fatal = task_fatal_raise_number(kept_raise != 0, kept_raise,
		                                         newest_raise(x, 0)->number);

		for (uint32_t k = 0; k < x->n && !t->has_fatal; k++) {
			const struct tm_raise *r = newest_raise(x, k);

			if ((r->number & 0xffffffffu) == (fatal & 0xffffffffu)) {
				x->fatal = *r;
				t->has_fatal = true;
			}
		}
	}
	t->fatal_unknown = kept_raise ? !t->has_fatal || x->fatal.stack_unknown
	                              : was_unknown || (t->has_fatal && x->fatal.stack_unknown);
	t->unknown = t->fatal_unknown;
	tell_ended(m, t);
}

/* --- modules ------------------------------------------------------------------- */

static struct tm_address_space *space_of(struct tm_model *m, int32_t pid)
{
	struct tm_address_space *s = hmap_get(&m->spaces, (uint64_t)(uint32_t)pid, 0);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->pid = pid;
	if (push(&m->spaces_list, &m->nspaces, &m->spacecap, sizeof(s), &s)) {
		free(s);
		goto oom;
	}
	if (hmap_put(&m->spaces, (uint64_t)(uint32_t)pid, 0, s))
		goto oom;
	return s;
oom:
	m->out_of_memory = true;
	return NULL;
}

/* The newest module of pid loaded at baddr and not unloaded. */
static struct tm_module *module_at_base(struct tm_model *m, int32_t pid, uint64_t baddr)
{
	struct tm_address_space *s = hmap_get(&m->spaces, (uint64_t)(uint32_t)pid, 0);

	for (size_t i = s ? s->nmodules : 0; i-- > 0;)
		if (s->modules[i].baddr == baddr && s->modules[i].unloaded_ns == UINT64_MAX)
			return &s->modules[i];
	return NULL;
}

void tm_on_module(struct tm_model *m, int32_t pid, uint64_t ts, uint64_t baddr, uint64_t memsz,
                  const char *path, bool is_pic)
{
	struct tm_address_space *s;
	struct tm_module *old = module_at_base(m, pid, baddr), mod;

	/* [linux-vdso.so.1] and the like: nothing on disk. */
	if (!path || path[0] != '/' || !memsz)
		return;
	/* A statedump again (another session): the same module. */
	if (old && old->memsz == memsz && old->path && !strcmp(old->path, path))
		return;
	if (old)
		old->unloaded_ns = ts;
	s = space_of(m, pid);
	if (!s)
		return;
	mod = (struct tm_module){
	        .baddr = baddr,
	        .memsz = memsz,
	        .path = tm_intern(m, path),
	        .is_pic = is_pic,
	        .loaded_ns = ts,
	        .unloaded_ns = UINT64_MAX,
	        .sym_file = -2,
	};
	if (push(&s->modules, &s->nmodules, &s->cap, sizeof(mod), &mod))
		m->out_of_memory = true;
}

void tm_on_build_id(struct tm_model *m, int32_t pid, uint64_t baddr, const uint8_t *id,
                    uint32_t len)
{
	struct tm_module *mod = module_at_base(m, pid, baddr);

	if (!mod || len > sizeof(mod->build_id))
		return;
	memcpy(mod->build_id, id, len);
	mod->build_id_len = len;
}

void tm_on_debug_link(struct tm_model *m, int32_t pid, uint64_t baddr, const char *name)
{
	struct tm_module *mod = module_at_base(m, pid, baddr);

	if (mod)
		mod->debug_link = tm_intern(m, name);
}

void tm_on_dlclose(struct tm_model *m, int32_t pid, uint64_t ts, uint64_t baddr)
{
	struct tm_module *mod = module_at_base(m, pid, baddr);

	if (mod)
		mod->unloaded_ns = ts;
}

struct tm_module *tm_module_at(const struct tm_model *m, int32_t pid, uint64_t pc, uint64_t ts)
{
	struct tm_address_space *s = hmap_get(&m->spaces, (uint64_t)(uint32_t)pid, 0);
	struct tm_module *then = NULL, *ever = NULL;

	/* Loaded at ts, else (a stack older than the statedump that named its
	 * module) the newest ever there. */
	for (size_t i = s ? s->nmodules : 0; i-- > 0;) {
		struct tm_module *mod = &s->modules[i];

		if (pc < mod->baddr || pc - mod->baddr >= mod->memsz)
			continue;
		if (!ever)
			ever = mod;
		if (mod->loaded_ns <= ts && ts < mod->unloaded_ns) {
			then = mod;
			break;
		}
	}
	return then ? then : ever;
}

/* --- lost events ---------------------------------------------------------------- */

void tm_on_lost(struct tm_model *m, uint64_t begin_ns, uint64_t end_ns, uint64_t count,
                bool packets, const char *stream)
{
	struct tm_gap g = {
	        .begin_ns = begin_ns,
	        .end_ns = end_ns > begin_ns ? end_ns : begin_ns,
	        .count = count,
	        .packets = packets,
	        .stream = tm_intern(m, stream),
	};

	if (push(&m->gaps, &m->ngaps, &m->gapcap, sizeof(g), &g))
		m->out_of_memory = true;
	if (packets)
		m->lost_packets += count;
	else
		m->lost_events += count;
	/* Every task not ended is unknown from now (lazily: gap_seen). */
	m->gap_count++;
	if (g.end_ns > m->gap_until)
		m->gap_until = g.end_ns;
	for (unsigned i = 0; i < m->nlisteners && m->ngaps; i++)
		if (m->listeners[i].lost)
			m->listeners[i].lost(m->listeners[i].ctx, m, &m->gaps[m->ngaps - 1]);
}

/* --- get_stack ------------------------------------------------------------------- */

void tm_task_view(const struct tm_model *m, const struct tm_task *t, struct tm_view *v)
{
	memset(v, 0, sizeof(*v));
	if (tm_task_unknown(m, t)) {
		v->state = TM_STATE_UNKNOWN;
		return;
	}
	v->state = t->state;
	/* task_view.h's rule; a task in a recording never asks about itself. Switches count from
	 * its creation only when that was recorded. */
	v->source = task_frames_of(t->state, false, t->created_seen ? t->switches : UINT64_MAX);
	switch (v->source) {
	case TASK_FRAMES_ENTRY:
		if (t->entry) {
			v->inner = &t->entry;
			v->n = 1;
			v->frames_ns = t->created_ns;
		}
		break;
	case TASK_FRAMES_SUSPENSION:
		if (t->has_suspend && t->suspend_stack) {
			v->inner = t->suspend_stack->frames;
			v->n = t->suspend_stack->nframes;
			v->frames_ns = t->suspend_ns;
		}
		break;
	case TASK_FRAMES_TRACEBACK:
		if (t->has_fatal) {
			const struct tm_raise *r = &t->raises->fatal;

			v->fatal = r;
			v->frames_ns = r->ts;
			if (r->stack) {
				v->inner = r->stack->frames;
				v->n = r->stack->nframes;
			}
		}
		break;
	default:
		break; /* done, cancelled: no frames */
	}
}

uint32_t tm_view_frames(const struct tm_view *v, int limit, uint64_t *out)
{
	uint32_t first, keep = task_frames_limit(v->source, v->n, limit, &first);

	for (uint32_t i = 0; i < keep; i++)
		out[i] = v->inner[v->n - 1 - first - i];
	return keep;
}
