/* SPDX-License-Identifier: MIT */
/* core.c - the task registry and the switch bookkeeping that every runtime adapter shares. */
#define _GNU_SOURCE
#include "core.h"
#include "thread_state.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <search.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "live.h"
#include "log.h"
#include "own_symbols.h"
#include "unwind.h"

static __thread struct thread_state *thread_state __attribute__((tls_model("initial-exec")));

/*
 * The registry lock guards the id and stack-range indexes, the ended FIFO
 * and task allocation. It is taken when a task is made or ends, on a
 * per-thread cache miss, and by API readers; never on a switch that hits
 * the cache.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
/* Whether this thread holds registry_lock: an observer called with it held may walk the tasks
 * (core_for_each_task) without taking it again. */
static __thread bool registry_held __attribute__((tls_model("initial-exec")));

static void registry_take(void)
{
	pthread_mutex_lock(&registry_lock);
	registry_held = true;
}

static void registry_give(void)
{
	registry_held = false;
	pthread_mutex_unlock(&registry_lock);
}
/* The id index: chains (task_private.id_next) in a table of id_buckets (a power of two) that
 * doubles as tasks come; the range index: a treap by stack_lo (task_private.range_left and
 * range_right), each task's priority a hash of its address. Both inside the records: a task
 * costs its record and a bucket's word, no allocation. */
static struct task **id_buckets;
static size_t id_nbuckets, id_count;
static struct task *range_root;
static struct task *ended_head, *ended_tail;
static size_t ended_count;
static struct task *free_tasks; /* evicted records, reused; never unmapped */
static char *slab_next, *slab_end;
static size_t task_size;
size_t task_private_offset;
/* Tasks on no known stack, by the context handle they were found by: a tsearch tree of
 * struct unknown_context (few: a runtime's contexts costack saw no make of). */
static void *unknown_index;
struct unknown_context {
	uintptr_t key;
	struct task *task;
};
static atomic_uint_fast64_t next_task_id = 1;
static pthread_key_t thread_key;
static atomic_bool ready; /* activate() made the registry */

/* Which task first threw an object still being raised: a small table, by
 * address; a collision forgets an origin (the rethrower is named instead). */
#define ORIGIN_SLOTS 1024
static struct {
	const void *object;
	uint64_t task;
} origins[ORIGIN_SLOTS];
static pthread_mutex_t origin_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- task records --------------------------------------------------------- */

/* A record has one writer at a time (the thread switching it, or the
 * registry lock's holder for a task no thread runs), so the seqlock needs
 * no read-modify-write: plain stores, ordered by fences. */
static void write_begin(struct task *t)
{
	unsigned seq = atomic_load_explicit(&t->seq, memory_order_relaxed);

	atomic_store_explicit(&t->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct task *t)
{
	unsigned seq = atomic_load_explicit(&t->seq, memory_order_relaxed);

	atomic_store_explicit(&t->seq, seq + 1, memory_order_release);
}

/* The live registry's layout (costack-live.h) is this record's: outside
 * readers copy it as it is, so every field they read must sit where the
 * layout says. */
#define SAME_PLACE(field, live_field)                                                              \
	_Static_assert(offsetof(struct task, field) ==                                             \
	                               offsetof(struct costack_live_task, live_field) &&           \
	                       sizeof(((struct task *)0)->field) ==                                \
	                               sizeof(((struct costack_live_task *)0)->live_field),        \
	               "struct task." #field " is not where costack-live.h says")
SAME_PLACE(seq, seq);
SAME_PLACE(state, state);
SAME_PLACE(runtime, runtime);
SAME_PLACE(flags, flags);
SAME_PLACE(id, id);
SAME_PLACE(parent, parent);
SAME_PLACE(entry, entry);
SAME_PLACE(stack_lo, stack_lo);
SAME_PLACE(stack_hi, stack_hi);
SAME_PLACE(tid, tid);
SAME_PLACE(kept_raise, kept_raise);
SAME_PLACE(switches, switches);
SAME_PLACE(cpu_ticks, cpu_ticks);
SAME_PLACE(created, created);
SAME_PLACE(since, since);
SAME_PLACE(ring_used, ring_used);
SAME_PLACE(ring_newest, ring_newest);
SAME_PLACE(name, name);
SAME_PLACE(raises, raises);
SAME_PLACE(forced_raises, forced_raises);
SAME_PLACE(exception, exception);
SAME_PLACE(kept, kept);
/* The writer's own bytes of the layout: */
SAME_PLACE(registry_flags, reserved0);
SAME_PLACE(knowledge, reserved1);
_Static_assert(sizeof(struct task_private) + 7 <= COSTACK_LIVE_WRITER_OWN_MAX,
               "what follows the ring fits what readers allow (costack-live.h)");
_Static_assert(offsetof(struct task, ring) == sizeof(struct costack_live_task),
               "the ring follows the record, as costack-live.h says");
_Static_assert(sizeof(struct snapshot) == sizeof(struct costack_live_snapshot) &&
                       offsetof(struct snapshot, what) ==
                               offsetof(struct costack_live_snapshot, what) &&
                       offsetof(struct snapshot, at) == offsetof(struct costack_live_snapshot, at),
               "struct snapshot is not laid out as costack-live.h says");
_Static_assert(sizeof(struct exception_rec) == sizeof(struct costack_live_exception) &&
                       offsetof(struct exception_rec, type) ==
                               offsetof(struct costack_live_exception, type) &&
                       offsetof(struct exception_rec, what) ==
                               offsetof(struct costack_live_exception, what) &&
                       sizeof(((struct exception_rec *)0)->what) == COSTACK_LIVE_WHAT_MAX,
               "struct exception_rec is not laid out as costack-live.h says");
_Static_assert(offsetof(struct stack_rec, hash) == offsetof(struct costack_live_stack, hash) &&
                       offsetof(struct stack_rec, number) ==
                               offsetof(struct costack_live_stack, number) &&
                       offsetof(struct stack_rec, nframes) ==
                               offsetof(struct costack_live_stack, nframes) &&
                       offsetof(struct stack_rec, frames) ==
                               offsetof(struct costack_live_stack, frames),
               "struct stack_rec is not laid out as costack-live.h says");

#define SLAB_TASKS 1024

/* Records are carved from slabs of the live region and recycled, never unmapped, so a
 * stale pointer in a thread's cache can always be read (and rejected by id). */
static struct task *task_alloc(void)
{
	struct task *t = free_tasks;

	if (t) {
		free_tasks = task_private(t)->ended_next;
	} else {
		if ((size_t)(slab_end - slab_next) < task_size) {
			size_t size = SLAB_TASKS * task_size;
			void *p = live_alloc(size);

			if (!p)
				return NULL;
			live_add_slab(p, SLAB_TASKS);
			slab_next = p;
			slab_end = slab_next + size;
		}
		t = (struct task *)slab_next;
		slab_next += task_size;
	}
	/* A write section like any other: a reader copying the record while
	 * it is wiped retries, in process or outside. */
	write_begin(t);
	memset((char *)t + sizeof(t->seq), 0, task_size - sizeof(t->seq));
	write_end(t);
	return t;
}

/* --- the indexes, called with the lock held ------------------------------------------------ */

static struct task **id_bucket(uint64_t id)
{
	return &id_buckets[id & (id_nbuckets - 1)];
}

/* Twice the buckets once there are as many tasks; false when there is no memory for them
 * (the table stays as it is, its chains longer). */
static bool id_grow(void)
{
	size_t n = id_nbuckets ? id_nbuckets * 2 : 64;
	struct task **old = id_buckets, **grown;
	size_t old_n = id_nbuckets;

	grown = mmap(NULL, n * sizeof(*grown), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	             -1, 0);
	if (grown == MAP_FAILED)
		return false;
	id_buckets = grown;
	id_nbuckets = n;
	for (size_t i = 0; i < old_n; i++) {
		for (struct task *t = old[i], *next; t; t = next) {
			struct task **b = id_bucket(t->id);

			next = task_private(t)->id_next;
			task_private(t)->id_next = *b;
			*b = t;
		}
	}
	if (old)
		munmap(old, old_n * sizeof(*old));
	return true;
}

static bool id_insert(struct task *t)
{
	struct task **b;

	if (id_count >= id_nbuckets && !id_grow() && !id_nbuckets)
		return false;
	b = id_bucket(t->id);
	task_private(t)->id_next = *b;
	*b = t;
	id_count++;
	return true;
}

static void id_remove(struct task *t)
{
	for (struct task **at = id_bucket(t->id); *at; at = &task_private(*at)->id_next) {
		if (*at == t) {
			*at = task_private(t)->id_next;
			id_count--;
			return;
		}
	}
}

static struct task *id_find(uint64_t id)
{
	if (!id || !id_nbuckets)
		return NULL;
	for (struct task *t = *id_bucket(id); t; t = task_private(t)->id_next)
		if (t->id == id)
			return t;
	return NULL;
}

/* The task whose stack overlaps [lo, hi) (live stacks never overlap: one at most). */
static struct task *range_find(uintptr_t lo, uintptr_t hi)
{
	struct task *t = range_root;

	while (t && (hi <= t->stack_lo || lo >= t->stack_hi))
		t = hi <= t->stack_lo ? task_private(t)->range_left : task_private(t)->range_right;
	return t;
}

static uint64_t range_priority(const struct task *t)
{
	return (uintptr_t)t * 0x9e3779b97f4a7c15ull;
}

/* t under *at, which the treap keeps ordered by stack_lo and a heap by priority. */
static void range_insert_at(struct task **at, struct task *t)
{
	struct task *root = *at;
	struct task_private *tp = task_private(t), *rp;

	if (!root) {
		tp->range_left = tp->range_right = NULL;
		*at = t;
		return;
	}
	rp = task_private(root);
	if (t->stack_lo < root->stack_lo) {
		range_insert_at(&rp->range_left, t);
		if (range_priority(rp->range_left) > range_priority(root)) {
			struct task *l = rp->range_left; /* rotate right */

			rp->range_left = task_private(l)->range_right;
			task_private(l)->range_right = root;
			*at = l;
		}
	} else {
		range_insert_at(&rp->range_right, t);
		if (range_priority(rp->range_right) > range_priority(root)) {
			struct task *r = rp->range_right; /* rotate left */

			rp->range_right = task_private(r)->range_left;
			task_private(r)->range_left = root;
			*at = r;
		}
	}
}

/* t out of the treap under *at: rotated down until it has a child at most, then unlinked. */
static void range_remove_at(struct task **at, struct task *t)
{
	while (*at && *at != t)
		at = t->stack_lo < (*at)->stack_lo ? &task_private(*at)->range_left
		                                   : &task_private(*at)->range_right;
	while (*at) {
		struct task_private *tp = task_private(t);
		struct task *l = tp->range_left, *r = tp->range_right;

		if (!l || !r) {
			*at = l ? l : r;
			return;
		}
		if (range_priority(l) > range_priority(r)) {
			tp->range_left = task_private(l)->range_right;
			task_private(l)->range_right = t;
			*at = l;
			at = &task_private(l)->range_right;
		} else {
			tp->range_right = task_private(r)->range_left;
			task_private(r)->range_left = t;
			*at = r;
			at = &task_private(r)->range_left;
		}
	}
}

static int compare_key(const void *a, const void *b)
{
	uintptr_t x = ((const struct unknown_context *)a)->key,
	          y = ((const struct unknown_context *)b)->key;

	return x < y ? -1 : x > y;
}

static void range_remove(struct task *t)
{
	if (t->registry_flags & TASK_IN_RANGE_INDEX) {
		range_remove_at(&range_root, t);
		t->registry_flags &= (uint8_t)~TASK_IN_RANGE_INDEX;
	}
	if (t->registry_flags & TASK_IN_UNKNOWN_INDEX) {
		struct unknown_context probe = {.key = task_private(t)->aux};
		void **node = tfind(&probe, &unknown_index, compare_key);
		struct unknown_context *entry = node ? *node : NULL;

		if (entry) {
			tdelete(entry, &unknown_index, compare_key);
			free(entry);
		}
		t->registry_flags &= (uint8_t)~TASK_IN_UNKNOWN_INDEX;
	}
}

/* Called with the lock held: the task has ended; keep the newest ones. */
static void ended_push(struct task *t)
{
	if (!(t->registry_flags & TASK_LINGERING))
		range_remove(t);
	task_private(t)->ended_next = NULL;
	if (ended_tail)
		task_private(ended_tail)->ended_next = t;
	else
		ended_head = t;
	ended_tail = t;
	ended_count++;
	while (ended_count > (size_t)config.ended && ended_head) {
		struct task *old = ended_head;

		ended_head = task_private(old)->ended_next;
		if (!ended_head)
			ended_tail = NULL;
		ended_count--;
		range_remove(old);
		old->registry_flags &= (uint8_t)~TASK_LINGERING;
		id_remove(old);
		old->id = 0; /* stale cache entries no longer match */
		task_private(old)->ended_next = free_tasks;
		free_tasks = old;
	}
}

/* Every task the registry knows, ended ones kept included, in id order: fn(t, arg) on each;
 * false when there was no memory to order them (fn not called). Called with the lock held. */
static int compare_task_ids(const void *a, const void *b)
{
	uint64_t x = (*(struct task *const *)a)->id, y = (*(struct task *const *)b)->id;

	return x < y ? -1 : x > y;
}

static bool each_in_id_order(void (*fn)(struct task *t, void *arg), void *arg)
{
	struct task *few[256]; /* most programs: no memory to map, and none to unmap */
	size_t n = 0, size = id_count * sizeof(struct task *);
	struct task **all = id_count <= 256 ? few
	                                    : mmap(NULL, size, PROT_READ | PROT_WRITE,
	                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (all == MAP_FAILED)
		return false;
	for (size_t i = 0; i < id_nbuckets; i++)
		for (struct task *t = id_buckets[i]; t && n < id_count;
		     t = task_private(t)->id_next)
			all[n++] = t;
	qsort(all, n, sizeof(*all), compare_task_ids);
	for (size_t i = 0; i < n; i++)
		fn(all[i], arg);
	if (all != few)
		munmap(all, size);
	return true;
}

/* --- observers ------------------------------------------------------------ */

#define OBSERVERS_MAX 8
static const struct core_observer *observers[OBSERVERS_MAX];
static int nobservers;
/* Some observer takes task events: every event point is one untaken branch without. */
SWITCH_DATA static bool observing_tasks;

#define TASK_EVENT(event, ...)                                                                     \
	do {                                                                                       \
		if (__builtin_expect(observing_tasks, 0))                                          \
			for (int i_ = 0; i_ < nobservers; i_++)                                    \
				if (observers[i_]->event)                                          \
					observers[i_]->event(__VA_ARGS__);                         \
	} while (0)
#define EACH_OBSERVER(event)                                                                       \
	do {                                                                                       \
		for (int i_ = 0; i_ < nobservers; i_++)                                            \
			if (observers[i_]->event)                                                  \
				observers[i_]->event();                                            \
	} while (0)

void core_observe(const struct core_observer *o)
{
	if (nobservers == OBSERVERS_MAX)
		return;
	observers[nobservers++] = o;
	if (o->task_created || o->task_named || o->task_entry || o->task_ended ||
	    o->task_switched || o->task_resumed || o->task_raised)
		observing_tasks = true;
}

/* Called with the lock held. */
static void task_end_locked(struct task *t, int outcome, uint64_t now)
{
	write_begin(t);
	t->state = (uint8_t)outcome;
	t->since = now;
	write_end(t);
	TASK_EVENT(task_ended, t);
	ended_push(t);
}

static const struct snapshot *newest_snapshot(const struct task *t)
{
	return t->ring_used ? &t->ring[t->ring_newest] : NULL;
}

/*
 * The fate of a task whose stack is freed or reused while it does not run (core_stack_freed).
 * Its entry frame made its last switch when it suspended with one frame (its entry function
 * called the switch) or none (a tail call of it): a runtime of its own that never resumes a
 * finished task (MTasker's pattern) frees its stack instead. Anything else was abandoned where
 * it waited.
 */
static int fate_of_abandoned(const struct task *t)
{
	const struct snapshot *last = newest_snapshot(t);
	struct snapshot_parts parts;

	if (t->state != COSTACK_SUSPENDED || !last)
		return COSTACK_CANCELLED;
	snapshot_parts(last, &parts);
	if (!parts.raise && parts.stack && !parts.truncated && parts.stack->nframes <= 1)
		return core_task_fate(t);
	return COSTACK_CANCELLED;
}

/* Called with the lock held. */
static struct task *task_new(int runtime, uint64_t parent, uintptr_t lo, uintptr_t hi,
                             uintptr_t entry, int32_t tid)
{
	struct task *t = task_alloc();
	uint64_t now = clock_now();

	if (!t)
		return NULL;
	t->id = atomic_fetch_add(&next_task_id, 1);
	t->parent = parent;
	t->runtime = (uint8_t)runtime;
	t->state = COSTACK_CREATED;
	t->stack_lo = lo;
	t->stack_hi = hi;
	t->entry = entry;
	t->tid = tid;
	t->created = now;
	t->since = now;
	if (runtime == COSTACK_RUNTIME_THREAD) {
		/* A thread's root task runs from the start. */
		t->state = COSTACK_RUNNING;
		t->switches = 1;
	}
	if (!id_insert(t)) {
		task_private(t)->ended_next = free_tasks;
		free_tasks = t;
		return NULL;
	}
	if (lo < hi) {
		struct task *old;

		/* The stack is reused: whatever lived there is over. */
		while ((old = range_find(lo, hi))) {
			range_remove(old);
			old->registry_flags &= (uint8_t)~TASK_LINGERING;
			if (old->state == COSTACK_CREATED || old->state == COSTACK_SUSPENDED)
				task_end_locked(old, fate_of_abandoned(old), now);
		}
		range_insert_at(&range_root, t);
		t->registry_flags |= TASK_IN_RANGE_INDEX;
	}
	TASK_EVENT(task_created, t);
	return t;
}

/* --- threads ------------------------------------------------------------ */

static void thread_exit(void *arg)
{
	struct thread_state *ts = arg;
	uint64_t now = clock_now();

	registry_take();
	/* A coroutine running when its thread exits can never go on. */
	if (ts->current != ts->root && ts->current->state == COSTACK_RUNNING)
		task_end_locked(ts->current, COSTACK_CANCELLED, now);
	if (!task_state_ended(ts->root->state))
		task_end_locked(ts->root, COSTACK_DONE, now);
	registry_give();
	thread_state = NULL;
	stackstore_arena_release(&ts->arena);
	EACH_OBSERVER(thread_stop);
	munmap(ts, sizeof(*ts) + (size_t)UNWIND_SCRATCH_WORDS(config.depth) * sizeof(uintptr_t));
}

static struct thread_state *thread_state_new(void)
{
	size_t size = sizeof(struct thread_state) +
	              (size_t)UNWIND_SCRATCH_WORDS(config.depth) * sizeof(uintptr_t);
	struct thread_state *ts;
	pthread_attr_t attr;
	void *stack_addr = NULL;
	size_t stack_size = 0;

	ts = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ts == MAP_FAILED)
		return NULL;
	ts->tid = (int32_t)syscall(SYS_gettid);
	ts->errno_at = &errno;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &stack_addr, &stack_size);
		pthread_attr_destroy(&attr);
	}
	registry_take();
	ts->root = task_new(COSTACK_RUNTIME_THREAD, 0, (uintptr_t)stack_addr,
	                    (uintptr_t)stack_addr + stack_size, 0, ts->tid);
	registry_give();
	if (!ts->root) {
		munmap(ts, size);
		return NULL;
	}
	ts->current = ts->root;
	pthread_setspecific(thread_key, ts);
	thread_state = ts;
	EACH_OBSERVER(thread_start);
	/* libunwind's first backtrace in a thread costs ~150 us: paid now,
	 * where libunwind is the unwinder, rather than at a first switch. */
	if (config.unwind == UNWIND_LIBUNWIND)
		unwind_warm_thread();
	return ts;
}

/* --- process-wide set-up ------------------------------------------------ */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&registry_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
}

static void cancel_orphan(struct task *t, struct thread_state *ts)
{
	if (t->state == COSTACK_RUNNING && t != ts->current) {
		t->state = COSTACK_CANCELLED;
		t->since = clock_now();
	}
}

/* Only the forking thread lives on in the child: tasks running on the
 * others can never run again. The orphans stay in the indexes, ended. */
static void atfork_child(void)
{
	struct thread_state *ts = thread_state;

	live_after_fork();
	stackstore_after_fork();
	pthread_mutex_init(&registry_lock, NULL);
	pthread_mutex_init(&origin_lock, NULL);
	unwind_after_fork();
	own_symbols_after_fork();
	registry_held = false;
	if (ts) {
		ts->tid = (int32_t)syscall(SYS_gettid);
		ts->current->tid = ts->tid;
		for (size_t i = 0; i < id_nbuckets; i++)
			for (struct task *t = id_buckets[i]; t; t = task_private(t)->id_next)
				cancel_orphan(t, ts);
	}
	EACH_OBSERVER(fork_child);
}

/*
 * Whether another copy of libcostack.so (another path, another build) comes before this one in
 * the global scope: the program's calls reach its hooks first, and it is the one that keeps
 * the tasks. This one then stands down, every hook of it a plain call, so that no task is made
 * twice nor started in two trampolines (each of which would start the other's). Symbols are
 * compared by the object defining them: a default-visibility symbol's address, taken here,
 * would be the first copy's too.
 */
static void load_settings(void);

static bool another_copy_first(void)
{
	void *first = dlsym(RTLD_DEFAULT, "costack_get_stack");
	Dl_info first_info, own_info;

	return first && dladdr(first, &first_info) && dladdr((void *)load_settings, &own_info) &&
	       first_info.dli_fbase != own_info.dli_fbase;
}

/* At load: what the user asked for (settings, tracing, dumps), nothing more. */
static void load_settings(void)
{
	if (another_copy_first()) {
		Dl_info own;

		/* The first copy reads the settings and says what is wrong with them. */
		config_load_log_level();
		config.enabled = false;
		log_info("another libcostack.so was loaded first; this copy (%s) stands down",
		         dladdr((void *)load_settings, &own) && own.dli_fname ? own.dli_fname
		                                                              : "?");
		return;
	}
	config_load();
	if (config.enabled && costack_attach)
		costack_attach();
}

/*
 * At the first task made (or the first question through the API): the registry and all it
 * needs. A program that makes no coroutine pays nothing: no descriptor, no address space, no
 * thread key, no libunwind or libdw loaded.
 */
static void activate(void)
{
	clock_init(config.clock == CLOCK_CHOICE_PRECISE);
	/* The record, its ring, then the registry's own fields. */
	task_private_offset =
	        (sizeof(struct task) + (size_t)config.ring * sizeof(struct snapshot) + 7) &
	        ~(size_t)7;
	task_size = task_private_offset + sizeof(struct task_private);
	if (!live_init((uint32_t)task_size, (uint32_t)offsetof(struct task, ring))) {
		log_error("out of memory for the task registry; costack is off in this process");
		return;
	}
	unwind_init();
	if (pthread_key_create(&thread_key, thread_exit) != 0) {
		log_error("cannot create a thread key; costack is off in this process");
		return;
	}
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	atomic_store_explicit(&ready, true, memory_order_release);
}

static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
static pthread_once_t activate_once = PTHREAD_ONCE_INIT;
/* This thread runs activate(): a hook it calls (from a library it loads) falls through. */
static __thread bool activating __attribute__((tls_model("initial-exec")));

__attribute__((constructor)) static void costack_load(void)
{
	pthread_once(&settings_once, load_settings);
}

/* The calling thread's state, made if costack is active (or activate asks for it). */
static struct thread_state *enter_new_thread(bool activate_now)
{
	struct thread_state *ts = NULL;
	int saved_errno = errno;

	if (activating)
		return NULL;
	if (!atomic_load_explicit(&ready, memory_order_acquire)) {
		if (!activate_now)
			return NULL;
		pthread_once(&settings_once, load_settings);
		if (!config.enabled)
			return NULL;
		activating = true;
		pthread_once(&activate_once, activate);
		activating = false;
	}
	if (atomic_load_explicit(&ready, memory_order_acquire))
		ts = thread_state_new();
	if (ts) {
		ts->in_hook = 1;
		ts->saved_errno = saved_errno;
	}
	errno = saved_errno;
	return ts;
}

static inline struct thread_state *enter(bool activate_now)
{
	struct thread_state *ts = thread_state;

	if (__builtin_expect(ts != NULL, 1)) {
		if (ts->in_hook)
			return NULL;
		ts->in_hook = 1;
		ts->saved_errno = *ts->errno_at;
		return ts;
	}
	return enter_new_thread(activate_now);
}

SWITCH_PATH struct thread_state *core_enter(void)
{
	return enter(false);
}

struct thread_state *core_enter_activating(void)
{
	return enter(true);
}

SWITCH_PATH void core_leave(struct thread_state *ts)
{
	*ts->errno_at = ts->saved_errno;
	ts->in_hook = 0;
}

SWITCH_PATH struct task *core_running(struct thread_state *ts)
{
	return ts->current;
}

int core_task_runtime(const struct task *t)
{
	return t->runtime;
}

int core_task_state(const struct task *t)
{
	return t->state;
}

uint64_t core_task_switches(const struct task *t)
{
	return t->switches;
}

unsigned core_task_forced_raises(const struct task *t)
{
	return t->forced_raises;
}

uintptr_t core_task_adapter_data(const struct task *t)
{
	return t->registry_flags & TASK_IN_UNKNOWN_INDEX ? 0 : task_private(t)->aux;
}

const struct task *core_current(void)
{
	struct thread_state *ts = core_thread_state();

	return ts ? ts->current : NULL;
}

SWITCH_PATH __attribute__((noinline)) struct thread_state *core_thread_state(void)
{
	/* noinline, and an opaque barrier: the TLS address must be computed
	 * anew on the thread that runs now, not reused from before a switch. */
	__asm__ volatile("" ::: "memory");
	return thread_state;
}

/* --- what adapters report -------------------------------------------------- */

struct task *core_task_made(struct thread_state *ts, int runtime, uintptr_t lo, uintptr_t hi,
                            uintptr_t entry, uintptr_t adapter_data)
{
	struct task *t;

	registry_take();
	t = task_new(runtime, ts->current->id, lo, hi, entry, ts->tid);
	if (t)
		task_private(t)->aux = adapter_data;
	registry_give();
	return t;
}

/* Called with the lock held: the task of a context on no known stack. */
static struct task *unknown_context_task(struct thread_state *ts, int runtime, uintptr_t key)
{
	struct unknown_context probe = {.key = key}, *entry;
	void **node = tfind(&probe, &unknown_index, compare_key);
	struct task *t;

	if (node)
		return ((struct unknown_context *)*node)->task;
	t = task_new(runtime, ts->current->id, 0, 0, 0, ts->tid);
	if (!t)
		return NULL;
	t->state = COSTACK_SUSPENDED;
	entry = malloc(sizeof(*entry));
	if (entry) {
		*entry = (struct unknown_context){key, t};
		if (tsearch(entry, &unknown_index, compare_key)) {
			task_private(t)->aux = key;
			t->registry_flags |= TASK_IN_UNKNOWN_INDEX;
		} else {
			free(entry);
		}
	}
	return t;
}

/* core_task_of_context when the thread's cache has no answer: the registry's. */
static __attribute__((noinline)) struct task *task_of_context_locked(struct thread_state *ts,
                                                                     int runtime, uintptr_t key,
                                                                     uintptr_t sp, unsigned slot)
{
	struct task *t;

	registry_take();
	t = range_find(sp, sp + 1);
	if (t) {
		ts->cache[slot].key = key;
		ts->cache[slot].task = t;
		ts->cache[slot].id = t->id;
	} else {
		t = unknown_context_task(ts, runtime, key);
	}
	registry_give();
	return t;
}

SWITCH_PATH struct task *core_task_of_context(struct thread_state *ts, int runtime, uintptr_t key,
                                              uintptr_t sp)
{
	unsigned slot = (unsigned)((key >> 4) ^ (key >> 12)) % THREAD_CACHE_SIZE;
	struct task *t = ts->cache[slot].task;

	if (ts->cache[slot].key == key && t && t->id == ts->cache[slot].id &&
	    !task_state_ended(t->state) && sp >= t->stack_lo && sp < t->stack_hi)
		return t;
	return task_of_context_locked(ts, runtime, key, sp, slot);
}

const struct stack_rec *task_record(uint32_t number)
{
	return (const struct stack_rec *)task_view_record(live_header(), number);
}

void snapshot_parts(const struct snapshot *s, struct snapshot_parts *out)
{
	struct task_view_parts parts;

	task_view_snapshot(live_header(), (const struct costack_live_snapshot *)s, &parts);
	*out = (struct snapshot_parts){
	        .stack = (const struct stack_rec *)parts.stack,
	        .exception = (const struct exception_rec *)parts.exception,
	        .object = (const void *)(uintptr_t)parts.object,
	        .raise = parts.raise,
	        .truncated = parts.truncated,
	};
}

const char *task_name(const struct task *t)
{
	return task_view_name(live_header(), t->name);
}

/* The stack of t's newest snapshot (a raise's too), NULL if none. */
static const struct stack_rec *newest_stack(const struct task *t)
{
	struct snapshot_parts parts;

	if (!t->ring_used)
		return NULL;
	snapshot_parts(&t->ring[t->ring_newest], &parts);
	return parts.stack;
}

/* A moment in a snapshot: since t was made, in 2^COSTACK_LIVE_AT_SHIFT ticks. */
static inline uint32_t snapshot_at(const struct task *t, uint64_t now)
{
	uint64_t at = (now - t->created) >> COSTACK_LIVE_AT_SHIFT;

	return at < UINT32_MAX ? (uint32_t)at : UINT32_MAX;
}

/* What a capture found: the stack (interned), whether it was deeper than COSTACK_DEPTH, and
 * how many frames it has. */
struct captured {
	const struct stack_rec *stack;
	bool truncated;
	int frames;
};

/* Capture the calling thread's stack, as t's, outside t's write section: a capture may take
 * long (a first walk reads CFI), a write section must not. A stack equal to the task's
 * previous one is not interned again. */
static void snapshot_capture(struct thread_state *ts, const struct task *t, struct captured *out)
{
	const struct stack_rec *hint = newest_stack(t);
	struct capture cap;

	unwind_capture(ts->scratch, config.depth, t->stack_lo, t->stack_hi, hint,
	               ts->caller.sp ? &ts->caller : NULL, &cap);
	ts->caller.sp = 0;
	if (cap.same)
		out->stack = cap.same;
	else if (hint && hint->nframes == (uint32_t)cap.n &&
	         !memcmp(hint->frames, cap.frames, (size_t)cap.n * sizeof(*cap.frames)))
		out->stack = hint;
	else
		out->stack = stackstore_intern(&ts->arena, cap.frames, (uint32_t)cap.n, cap.shape,
		                               cap.shape_size);
	out->truncated = cap.truncated;
	out->frames = cap.n;
}

/* Called inside t's write section: what becomes t's newest snapshot. */
static inline __attribute__((always_inline)) void snapshot_push(struct task *t, uint32_t what,
                                                                uint64_t now)
{
	uint16_t slot =
	        (uint32_t)t->ring_newest + 1 < (uint32_t)config.ring ? t->ring_newest + 1 : 0;
	struct snapshot *s = &t->ring[slot];

	s->what = what;
	s->at = snapshot_at(t, now);
	t->ring_newest = slot;
	if (t->ring_used < (uint32_t)config.ring)
		t->ring_used++;
}

static inline void start_running(struct thread_state *ts, struct task *t, uint64_t now)
{
	ts->current = t;
	if (task_state_ended(t->state))
		return; /* a lingering task: its runtime cleans up, it stays ended */
	write_begin(t);
	t->state = COSTACK_RUNNING;
	t->since = now;
	t->tid = ts->tid;
	t->switches++;
	write_end(t);
}

/* prev stops running with stack (its capture's frames: what the adapter is told); next runs. */
static inline __attribute__((always_inline)) int
suspend_and_run(struct thread_state *ts, struct task *prev, struct task *next,
                const struct stack_rec *stack, bool truncated, int frames)
{
	uint64_t now = clock_now();

	/* Lingering (ended), the capture only counts its frames for the adapter. */
	if (!task_state_ended(prev->state)) {
		write_begin(prev);
		snapshot_push(prev,
		              (stack ? stack->number : 0) |
		                      (truncated ? COSTACK_LIVE_WHAT_TRUNCATED : 0),
		              now);
		prev->state = COSTACK_SUSPENDED;
		prev->cpu_ticks += now - prev->since; /* since: its run's start */
		prev->since = now;
		write_end(prev);
	}
	if (__builtin_expect(observing_tasks, 0)) {
		struct snapshot_parts parts = {.stack = stack, .truncated = truncated};

		TASK_EVENT(task_switched, prev, next, &parts);
	}
	start_running(ts, next, now);
	return frames;
}

/*
 * Where a task suspends, for the thread's table of stacks by place: its innermost return
 * address and how deep in its stack it is. Tasks running the same code suspend at the same
 * place with the same stack, and a task that waits at a few places in turn (a read, then a
 * write) finds each one's stack there, where its newest snapshot holds the other's.
 */
static inline unsigned place_slot(const struct task *t, const struct unwind_start *caller)
{
	uint64_t key = caller->ra ^ ((t->stack_hi - caller->sp) * 0x9e3779b97f4a7c15ull);

	return (unsigned)(key >> 32 ^ key) % PLACE_SETS;
}

/* A thread's place now has stack first (most recently used first). */
static inline void place_keep(const struct stack_rec **set, const struct stack_rec *stack)
{
	if (stack && stack != set[0]) {
		set[1] = set[0];
		set[0] = stack;
	}
}

/* A switch whose outgoing stack is walked. */
static __attribute__((noinline)) int switch_walking(struct thread_state *ts, struct task *prev,
                                                    struct task *next,
                                                    const struct unwind_start *caller,
                                                    const struct stack_rec **set)
{
	struct captured c;

	if (caller)
		ts->caller = *caller;
	snapshot_capture(ts, prev, &c);
	if (set)
		place_keep(set, c.stack);
	return suspend_and_run(ts, prev, next, c.stack, c.truncated, c.frames);
}

SWITCH_PATH int core_switch(struct thread_state *ts, struct task *next,
                            const struct unwind_start *caller)
{
	struct task *prev = ts->current;
	const struct stack_rec **set, *stack = NULL;
	bool truncated;

	if (next == prev)
		return -1;
	if (!caller)
		return switch_walking(ts, prev, next, NULL, NULL);
	/*
	 * Most often a task suspends where it, or a task like it, suspended before on this
	 * thread: the shape of that stack's walk holds, and the switch is a clock read and two
	 * write sections. Tried in turn: the place's two stacks, then the task's newest.
	 */
	set = ts->places[place_slot(prev, caller)];
	for (int i = 0; i < PLACE_WAYS + 1; i++) {
		stack = i < PLACE_WAYS ? set[i] : newest_stack(prev);
		if (stack && (i == 0 || stack != set[0]) &&
		    unwind_still(stack, caller, prev->stack_lo, prev->stack_hi, &truncated))
			break;
		stack = NULL;
	}
	if (!stack)
		return switch_walking(ts, prev, next, caller, set);
	place_keep(set, stack);
	return suspend_and_run(ts, prev, next, stack, truncated, (int)stack->nframes);
}

static uint64_t origin_of(const void *object, uint64_t raiser, bool rethrow)
{
	unsigned slot = (unsigned)(((uintptr_t)object >> 4) % ORIGIN_SLOTS);
	uint64_t origin = raiser;

	if (!object)
		return raiser;
	pthread_mutex_lock(&origin_lock);
	if (rethrow && origins[slot].object == object)
		origin = origins[slot].task;
	origins[slot].object = object;
	origins[slot].task = origin;
	pthread_mutex_unlock(&origin_lock);
	return origin;
}

/* A record of words in the stack store, as the thread's arena interns it; NULL when the
 * store is full. */
static const struct stack_rec *intern_words(struct thread_state *ts, const void *words, size_t size)
{
	return stackstore_intern(&ts->arena, words, (uint32_t)(size / sizeof(uintptr_t)), NULL, 0);
}

const struct stack_rec *core_raise(struct thread_state *ts, const struct exception_info *info)
{
	struct task *t = ts->current;
	/* Interned like a stack, so that a loop throwing the same error
	 * stores it once: zero-filled, compared as words. */
	struct exception_rec rec;
	const struct stack_rec *exception, *raise;
	uintptr_t raise_words[2];
	struct captured c;
	uint64_t now;

	memset(&rec, 0, sizeof(rec));
	rec.origin = origin_of(info->object, t->id, info->rethrow);
	rec.forced = info->forced;
	strncpy(rec.type, info->type ? info->type : "", sizeof(rec.type) - 1);
	strncpy(rec.what, info->what ? info->what : "", sizeof(rec.what) - 1);
	exception = intern_words(ts, &rec, sizeof(rec));
	snapshot_capture(ts, t, &c);
	/* The raise: its stack, its exception and the object thrown (costack-live.h). */
	raise_words[0] = (c.stack ? c.stack->number : 0) |
	                 (uintptr_t)(exception ? exception->number : 0) << 32;
	raise_words[1] = (uintptr_t)info->object;
	raise = intern_words(ts, raise_words, sizeof(raise_words));
	now = clock_now();
	write_begin(t);
	t->raises++;
	t->forced_raises += info->forced;
	t->exception = exception ? exception->number : 0;
	snapshot_push(t,
	              (raise ? raise->number : 0) | COSTACK_LIVE_WHAT_RAISE |
	                      (c.truncated ? COSTACK_LIVE_WHAT_TRUNCATED : 0),
	              now);
	write_end(t);
	if (__builtin_expect(observing_tasks, 0)) {
		struct snapshot_parts parts = {
		        .stack = c.stack,
		        .exception =
		                exception ? (const struct exception_rec *)exception->frames : NULL,
		        .object = info->object,
		        .raise = true,
		        .truncated = c.truncated,
		};

		TASK_EVENT(task_raised, t, &parts);
	}
	return c.stack;
}

void core_exception_kept(struct thread_state *ts, const void *object)
{
	struct task *t = ts->current;
	uint32_t newer_raises = 0; /* raises newer than snapshot i */

	for (uint32_t i = 0; object && i < t->ring_used; i++) {
		const struct snapshot *s = task_snapshot(t, i, (uint32_t)config.ring);
		struct snapshot_parts parts;

		if (!(s->what & COSTACK_LIVE_WHAT_RAISE))
			continue;
		snapshot_parts(s, &parts);
		if (parts.object == object && parts.exception && !parts.exception->forced) {
			write_begin(t);
			t->kept = *s;
			t->flags |= COSTACK_LIVE_TASK_HAS_KEPT;
			/* Every raise is in the ring from this one on: it is
			 * raise number raises - newer_raises of the task. */
			t->kept_raise = (uint32_t)(t->raises - newer_raises);
			write_end(t);
			return;
		}
		newer_raises++;
	}
}

int core_task_fate(const struct task *t)
{
	if (task_has_kept(t))
		return COSTACK_FAILED;
	return t->forced_raises ? COSTACK_CANCELLED : COSTACK_DONE;
}

void core_end_task(struct task *t, int outcome)
{
	registry_take();
	if (!task_state_ended(t->state)) {
		task_end_locked(t, outcome, clock_now());
	} else if (t->registry_flags & TASK_LINGERING) {
		t->registry_flags &= (uint8_t)~TASK_LINGERING;
		range_remove(t);
	}
	registry_give();
}

void core_body_ended(struct task *t, int outcome)
{
	uint64_t now;

	registry_take();
	if (!task_state_ended(t->state)) {
		now = clock_now();
		if (t->state == COSTACK_RUNNING)
			t->cpu_ticks += now - t->since; /* since: its run's start */
		t->registry_flags |= TASK_LINGERING;
		task_end_locked(t, outcome, now);
	}
	registry_give();
}

const struct stack_rec *core_suspended_stack(const struct task *t)
{
	const struct snapshot *last = t->ring_used ? &t->ring[t->ring_newest] : NULL;

	return last && !(last->what & COSTACK_LIVE_WHAT_RAISE) ? task_record(last->what) : NULL;
}

/* A task resumed by a switch costack did not see go to it. */
static __attribute__((noinline)) void resumed_unseen(struct thread_state *ts, struct task *self)
{
	int saved_errno = errno;

	start_running(ts, self, clock_now());
	TASK_EVENT(task_resumed, self);
	errno = saved_errno;
}

SWITCH_PATH void core_resumed(struct thread_state *ts, struct task *self)
{
	/* Most often the switch that resumed it was costack's: nothing to do. */
	if (ts && ts->current != self)
		resumed_unseen(ts, self);
}

void core_task_ended(struct thread_state *ts, int outcome, struct task *next)
{
	struct task *t = ts->current;
	uint64_t now = clock_now();

	registry_take();
	t->cpu_ticks += now - t->since; /* since: its run's start */
	task_end_locked(t, outcome, now);
	registry_give();
	if (next && next != t) {
		start_running(ts, next, now);
		TASK_EVENT(task_resumed, next);
	} else
		ts->current = ts->root;
}

/* --- readers ------------------------------------------------------------- */

bool registry_copy_task(uint64_t id, struct task_record *out)
{
	struct task_ring_layout ring = {(uint32_t)config.ring, offsetof(struct task, ring),
	                                sizeof(struct snapshot)};
	struct task *t;
	bool copied = false;

	registry_take();
	t = id_find(id);
	if (t)
		copied = task_record_copy(t, &ring, out, 0);
	registry_give();
	if (!copied)
		errno = t ? EAGAIN : ESRCH;
	return copied;
}

struct unfinished_walk {
	uint64_t *ids;
	size_t cap, count;
};

static void collect_unfinished(struct task *t, void *closure)
{
	struct unfinished_walk *w = closure;

	if (!task_state_ended(t->state)) {
		if (w->count < w->cap)
			w->ids[w->count] = t->id;
		w->count++;
	}
}

size_t registry_unfinished(uint64_t *ids, size_t cap)
{
	struct unfinished_walk w = {ids, ids ? cap : 0, 0};

	registry_take();
	each_in_id_order(collect_unfinished, &w);
	registry_give();
	return w.count;
}

uint64_t registry_task_at(uintptr_t addr)
{
	struct task *t;
	uint64_t id;

	registry_take();
	t = range_find(addr, addr + 1);
	id = t ? t->id : 0;
	registry_give();
	return id;
}

/* Names are records of the store too (costack-live.h), interned here under the lock. */
static struct stack_arena names_arena;

/* Called with the lock held. */
static void set_name_locked(struct task *t, const char *name)
{
	uintptr_t words[COSTACK_NAME_MAX / sizeof(uintptr_t)];
	const struct stack_rec *rec = NULL;

	memset(words, 0, sizeof(words));
	strncpy((char *)words, name ? name : "", sizeof(words) - 1);
	if (*(const char *)words)
		rec = stackstore_intern(&names_arena, words, sizeof(words) / sizeof(*words), NULL,
		                        0);
	write_begin(t);
	t->name = rec ? rec->number : 0;
	write_end(t);
	TASK_EVENT(task_named, t);
}

int registry_set_name(uint64_t id, const char *name)
{
	struct task *t;

	registry_take();
	t = id_find(id);
	if (t)
		set_name_locked(t, name);
	registry_give();
	if (!t)
		errno = ESRCH;
	return t ? 0 : -1;
}

struct task_walk {
	void (*fn)(const struct task *, void *);
	void *arg;
};

static void walk_one(struct task *t, void *closure)
{
	const struct task_walk *w = closure;

	w->fn(t, w->arg);
}

void core_for_each_task(void (*fn)(const struct task *t, void *arg), void *arg)
{
	struct task_walk w = {fn, arg};
	bool held = registry_held;

	if (!held)
		registry_take();
	each_in_id_order(walk_one, &w);
	if (!held)
		registry_give();
}

uint64_t core_next_task_id(void)
{
	return atomic_load(&next_task_id);
}

/* --- what a runtime knows of its tasks ------------------------------------------- */

bool core_active(void)
{
	return atomic_load_explicit(&ready, memory_order_acquire);
}

uint16_t core_task_knowledge(const struct task *t)
{
	return t->knowledge;
}

SWITCH_PATH uint32_t core_tasks_knowledge(const struct task *prev, const struct task *next)
{
	return prev->knowledge | (next ? (uint32_t)next->knowledge << 16 : 0);
}

void core_task_set_knowledge(struct task *t, uint16_t knowledge)
{
	t->knowledge = knowledge;
}

uintptr_t core_task_entry(const struct task *t)
{
	return t->entry;
}

void core_task_set_entry(struct task *t, uintptr_t entry)
{
	registry_take();
	if (t->entry != entry) {
		write_begin(t);
		t->entry = entry;
		write_end(t);
		TASK_EVENT(task_entry, t);
	}
	registry_give();
}

void core_task_set_name(struct task *t, const char *name)
{
	registry_take();
	set_name_locked(t, name);
	registry_give();
}

bool core_task_has_name(const struct task *t)
{
	return t->name != 0;
}

struct task *core_task_at(uintptr_t addr)
{
	struct task *t;

	registry_take();
	t = range_find(addr, addr + 1);
	registry_give();
	return t;
}

const char *core_task_exception_type(const struct task *t)
{
	const struct costack_live_exception *e = task_view_exception(live_header(), t->exception);

	return e ? e->type : NULL;
}

void core_stack_freed(uintptr_t lo, uintptr_t hi)
{
	struct task *t;
	uint64_t now;
	int saved_errno = errno;

	/* Unmapped by costack's own code with the lock held (or before any task): nothing of
	 * a task's. */
	if (lo >= hi || registry_held || !core_active())
		return;
	registry_take();
	now = clock_now();
	while ((t = range_find(lo, hi))) {
		range_remove(t);
		t->registry_flags &= (uint8_t)~TASK_LINGERING;
		if (t->state == COSTACK_CREATED || t->state == COSTACK_SUSPENDED)
			task_end_locked(t, fate_of_abandoned(t), now);
	}
	registry_give();
	errno = saved_errno;
}

bool core_on_known_stack(struct thread_state *ts, uintptr_t sp)
{
	const struct task *t = ts->current;
	stack_t alternate;
	bool known;

	if ((!t->stack_lo && !t->stack_hi) || (sp >= t->stack_lo && sp < t->stack_hi))
		return true;
	if (sigaltstack(NULL, &alternate) == 0 && !(alternate.ss_flags & SS_DISABLE) &&
	    sp - (uintptr_t)alternate.ss_sp < alternate.ss_size)
		return true;
	registry_take();
	known = range_find(sp, sp + 1) != NULL;
	registry_give();
	return known;
}

void core_untracked_stack(struct thread_state *ts)
{
	struct task *root = ts->root;

	if (root->flags & COSTACK_LIVE_TASK_UNTRACKED_STACK)
		return;
	write_begin(root);
	root->flags |= COSTACK_LIVE_TASK_UNTRACKED_STACK;
	write_end(root);
}
