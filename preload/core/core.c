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
static void *id_index;    /* tsearch tree of struct task *, by id */
static void *range_index; /* tsearch tree of struct task *, by stack range */
static struct task *ended_head, *ended_tail;
static size_t ended_count;
static struct task *free_tasks; /* evicted records, reused; never unmapped */
static char *slab_next, *slab_end;
static size_t task_size;
static void *unknown_index; /* tsearch tree of struct task * on no known stack, by context key */
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
SAME_PLACE(run_start, run_start);
SAME_PLACE(ring_used, ring_used);
SAME_PLACE(ring_newest, ring_newest);
SAME_PLACE(name, name);
SAME_PLACE(raises, raises);
SAME_PLACE(forced_raises, forced_raises);
SAME_PLACE(exception, exception);
SAME_PLACE(kept, kept);
SAME_PLACE(has_kept, has_kept);
_Static_assert(offsetof(struct task, ring) == sizeof(struct costack_live_task),
               "the ring follows the record, as costack-live.h says");
_Static_assert(
        sizeof(struct snapshot) == sizeof(struct costack_live_snapshot) &&
                offsetof(struct snapshot, stack) == offsetof(struct costack_live_snapshot, stack) &&
                offsetof(struct snapshot, exception) ==
                        offsetof(struct costack_live_snapshot, exception) &&
                offsetof(struct snapshot, tid) == offsetof(struct costack_live_snapshot, tid) &&
                offsetof(struct snapshot, kind) == offsetof(struct costack_live_snapshot, kind) &&
                offsetof(struct snapshot, truncated) ==
                        offsetof(struct costack_live_snapshot, truncated),
        "struct snapshot is not laid out as costack-live.h says");
_Static_assert(sizeof(struct exception_rec) == sizeof(struct costack_live_exception) &&
                       offsetof(struct exception_rec, type) ==
                               offsetof(struct costack_live_exception, type) &&
                       offsetof(struct exception_rec, what) ==
                               offsetof(struct costack_live_exception, what) &&
                       sizeof(((struct exception_rec *)0)->what) == COSTACK_LIVE_WHAT_MAX,
               "struct exception_rec is not laid out as costack-live.h says");
_Static_assert(offsetof(struct stack_rec, nframes) ==
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
		free_tasks = t->ended_next;
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

static int compare_id(const void *a, const void *b)
{
	uint64_t x = ((const struct task *)a)->id, y = ((const struct task *)b)->id;

	return x < y ? -1 : x > y;
}

/* Live stacks never overlap, so "overlaps" serves as "equal". */
static int compare_range(const void *a, const void *b)
{
	const struct task *x = a, *y = b;

	if (x->stack_hi <= y->stack_lo)
		return -1;
	if (y->stack_hi <= x->stack_lo)
		return 1;
	return 0;
}

static int compare_key(const void *a, const void *b)
{
	uintptr_t x = ((const struct task *)a)->context_key,
	          y = ((const struct task *)b)->context_key;

	return x < y ? -1 : x > y;
}

static struct task *range_find(uintptr_t lo, uintptr_t hi)
{
	struct task probe = {.stack_lo = lo, .stack_hi = hi};
	void **node = tfind(&probe, &range_index, compare_range);

	return node ? *node : NULL;
}

static void range_remove(struct task *t)
{
	if (t->in_range_index) {
		tdelete(t, &range_index, compare_range);
		t->in_range_index = false;
	}
	if (t->context_key) {
		tdelete(t, &unknown_index, compare_key);
		t->context_key = 0;
	}
}

/* Called with the lock held: the task has ended; keep the newest ones. */
static void ended_push(struct task *t)
{
	if (!t->lingering)
		range_remove(t);
	t->ended_next = NULL;
	if (ended_tail)
		ended_tail->ended_next = t;
	else
		ended_head = t;
	ended_tail = t;
	ended_count++;
	while (ended_count > (size_t)config.ended && ended_head) {
		struct task *old = ended_head;

		ended_head = old->ended_next;
		if (!ended_head)
			ended_tail = NULL;
		ended_count--;
		range_remove(old);
		old->lingering = false;
		tdelete(old, &id_index, compare_id);
		old->id = 0; /* stale cache entries no longer match */
		old->ended_next = free_tasks;
		free_tasks = old;
	}
}

/* --- observers ------------------------------------------------------------ */

#define OBSERVERS_MAX 8
static const struct core_observer *observers[OBSERVERS_MAX];
static int nobservers;
/* Some observer takes task events: every event point is one untaken branch without. */
static bool observing_tasks;

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

	if (t->state == COSTACK_SUSPENDED && last && last->kind == SNAP_SUSPEND && last->stack &&
	    !last->truncated && last->stack->nframes <= 1)
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
		t->run_start = now;
		t->switches = 1;
	}
	if (!tsearch(t, &id_index, compare_id)) {
		t->ended_next = free_tasks;
		free_tasks = t;
		return NULL;
	}
	if (lo < hi) {
		struct task *old;

		/* The stack is reused: whatever lived there is over. */
		while ((old = range_find(lo, hi))) {
			range_remove(old);
			old->lingering = false;
			if (old->state == COSTACK_CREATED || old->state == COSTACK_SUSPENDED)
				task_end_locked(old, fate_of_abandoned(old), now);
		}
		t->in_range_index = tsearch(t, &range_index, compare_range) != NULL;
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

static void cancel_orphan(const void *node, VISIT which, void *closure)
{
	struct task *t = *(struct task *const *)node;
	struct thread_state *ts = closure;

	if ((which == postorder || which == leaf) && t->state == COSTACK_RUNNING &&
	    t != ts->current) {
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
		twalk_r(id_index, cancel_orphan, ts);
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
	task_size = (sizeof(struct task) + (size_t)config.ring * sizeof(struct snapshot) + 15) &
	            ~(size_t)15;
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
	if (ts)
		ts->in_hook = 1;
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
		return ts;
	}
	return enter_new_thread(activate_now);
}

struct thread_state *core_enter(void)
{
	return enter(false);
}

struct thread_state *core_enter_activating(void)
{
	return enter(true);
}

void core_leave(struct thread_state *ts)
{
	ts->in_hook = 0;
}

struct task *core_running(struct thread_state *ts)
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
	return t->adapter_data;
}

const struct task *core_current(void)
{
	struct thread_state *ts = core_thread_state();

	return ts ? ts->current : NULL;
}

__attribute__((noinline)) struct thread_state *core_thread_state(void)
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
		t->adapter_data = adapter_data;
	registry_give();
	return t;
}

/* Called with the lock held: the task of a context on no known stack. */
static struct task *unknown_context_task(struct thread_state *ts, int runtime, uintptr_t key)
{
	struct task probe = {.context_key = key};
	void **node = tfind(&probe, &unknown_index, compare_key);
	struct task *t;

	if (node)
		return *node;
	t = task_new(runtime, ts->current->id, 0, 0, 0, ts->tid);
	if (!t)
		return NULL;
	t->state = COSTACK_SUSPENDED;
	t->context_key = key;
	if (!tsearch(t, &unknown_index, compare_key))
		t->context_key = 0;
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

struct task *core_task_of_context(struct thread_state *ts, int runtime, uintptr_t key, uintptr_t sp)
{
	unsigned slot = (unsigned)((key >> 4) ^ (key >> 12)) % THREAD_CACHE_SIZE;
	struct task *t = ts->cache[slot].task;

	if (ts->cache[slot].key == key && t && t->id == ts->cache[slot].id &&
	    !task_state_ended(t->state) && sp >= t->stack_lo && sp < t->stack_hi)
		return t;
	return task_of_context_locked(ts, runtime, key, sp, slot);
}

/* A snapshot ready to be written into a task's ring. */
struct pending_snapshot {
	struct snapshot snapshot;
	int frames;
};

/* Capture the calling thread's stack for a snapshot of t (kind, and for a
 * raise its exception and object), outside t's write section: a capture
 * may take long (a first walk reads CFI), a write section must not. A
 * stack equal to the task's previous one is not interned again. */
static void snapshot_capture(struct thread_state *ts, const struct task *t, int kind,
                             const struct exception_rec *exception, const void *object,
                             uint64_t now, struct pending_snapshot *out)
{
	const struct snapshot *last = newest_snapshot(t);
	const struct stack_rec *hint = last ? last->stack : NULL;
	const struct stack_rec *rec;
	struct capture cap;

	unwind_capture(ts->scratch, config.depth, t->stack_lo, t->stack_hi, hint,
	               ts->caller.sp ? &ts->caller : NULL, &cap);
	ts->caller.sp = 0;
	if (cap.same)
		rec = cap.same;
	else if (hint && hint->nframes == (uint32_t)cap.n &&
	         !memcmp(hint->frames, cap.frames, (size_t)cap.n * sizeof(*cap.frames)))
		rec = hint;
	else
		rec = stackstore_intern(&ts->arena, cap.frames, (uint32_t)cap.n, cap.shape,
		                        cap.shape_size);
	out->snapshot = (struct snapshot){
	        .at = now,
	        .stack = rec,
	        .exception = exception,
	        .object = object,
	        .tid = ts->tid,
	        .kind = (uint8_t)kind,
	        .truncated = cap.truncated,
	};
	out->frames = cap.n;
}

/* Called inside t's write section: p becomes t's newest snapshot, which is returned. */
static inline __attribute__((always_inline)) const struct snapshot *
snapshot_push(struct task *t, const struct snapshot *p)
{
	uint32_t slot = t->ring_newest + 1 < (uint32_t)config.ring ? t->ring_newest + 1 : 0;
	struct snapshot *s = &t->ring[slot];

	/* Field by field, as they were stored: a copy of the whole would load it in wider
	 * pieces than it was stored, and stall. */
	s->at = p->at;
	s->stack = p->stack;
	s->exception = p->exception;
	s->object = p->object;
	s->tid = p->tid;
	s->kind = p->kind;
	s->truncated = p->truncated;
	t->ring_newest = slot;
	if (t->ring_used < (uint32_t)config.ring)
		t->ring_used++;
	return s;
}

static inline void start_running(struct thread_state *ts, struct task *t, uint64_t now)
{
	ts->current = t;
	if (task_state_ended(t->state))
		return; /* a lingering task: its runtime cleans up, it stays ended */
	write_begin(t);
	t->state = COSTACK_RUNNING;
	t->since = now;
	t->run_start = now;
	t->tid = ts->tid;
	t->switches++;
	write_end(t);
}

/* prev stops running with the stack it has now; next runs. */
static inline __attribute__((always_inline)) int
suspend_and_run(struct thread_state *ts, struct task *prev, struct task *next,
                const struct snapshot *p, int frames)
{
	const struct snapshot *s;

	if (task_state_ended(prev->state)) {
		/* Lingering: the capture only counts its frames for the adapter. */
		TASK_EVENT(task_switched, prev, next, p);
		start_running(ts, next, p->at);
		return frames;
	}
	write_begin(prev);
	s = snapshot_push(prev, p);
	prev->state = COSTACK_SUSPENDED;
	prev->since = p->at;
	prev->cpu_ticks += p->at - prev->run_start;
	write_end(prev);
	TASK_EVENT(task_switched, prev, next, s);
	start_running(ts, next, p->at);
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
	struct pending_snapshot pending;

	if (caller)
		ts->caller = *caller;
	snapshot_capture(ts, prev, SNAP_SUSPEND, NULL, NULL, clock_now(), &pending);
	if (set)
		place_keep(set, pending.snapshot.stack);
	return suspend_and_run(ts, prev, next, &pending.snapshot, pending.frames);
}

int core_switch(struct thread_state *ts, struct task *next, const struct unwind_start *caller)
{
	struct task *prev = ts->current;
	const struct stack_rec **set, *stack = NULL;
	struct snapshot s;
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
		stack = i < PLACE_WAYS    ? set[i]
		        : prev->ring_used ? prev->ring[prev->ring_newest].stack
		                          : NULL;
		if (stack && (i == 0 || stack != set[0]) &&
		    unwind_still(stack, caller, prev->stack_lo, prev->stack_hi, &truncated))
			break;
		stack = NULL;
	}
	if (!stack)
		return switch_walking(ts, prev, next, caller, set);
	place_keep(set, stack);
	s = (struct snapshot){
	        .at = clock_now(),
	        .stack = stack,
	        .tid = ts->tid,
	        .kind = SNAP_SUSPEND,
	        .truncated = truncated,
	};
	return suspend_and_run(ts, prev, next, &s, (int)stack->nframes);
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

const struct stack_rec *core_raise(struct thread_state *ts, const struct exception_info *info)
{
	struct task *t = ts->current;
	/* Interned like a stack, so that a loop throwing the same error
	 * stores it once: zero-filled, compared as words. */
	struct exception_rec rec;
	const struct stack_rec *stored;

	memset(&rec, 0, sizeof(rec));
	rec.origin = origin_of(info->object, t->id, info->rethrow);
	rec.forced = info->forced;
	strncpy(rec.type, info->type ? info->type : "", sizeof(rec.type) - 1);
	strncpy(rec.what, info->what ? info->what : "", sizeof(rec.what) - 1);
	stored = stackstore_intern(&ts->arena, (const uintptr_t *)&rec,
	                           sizeof(rec) / sizeof(uintptr_t), NULL, 0);

	const struct exception_rec *exception =
	        stored ? (const struct exception_rec *)stored->frames : NULL;
	struct pending_snapshot pending;

	snapshot_capture(ts, t, SNAP_RAISE, exception, info->object, clock_now(), &pending);
	write_begin(t);
	t->raises++;
	t->forced_raises += info->forced;
	t->exception = exception;
	snapshot_push(t, &pending.snapshot);
	write_end(t);
	TASK_EVENT(task_raised, t, &pending.snapshot);
	return pending.snapshot.stack;
}

void core_exception_kept(struct thread_state *ts, const void *object)
{
	struct task *t = ts->current;
	uint32_t newer_raises = 0; /* raises newer than snapshot i */

	for (uint32_t i = 0; object && i < t->ring_used; i++) {
		const struct snapshot *s = task_snapshot(t, i, (uint32_t)config.ring);

		if (s->kind != SNAP_RAISE)
			continue;
		if (s->object == object && !s->exception->forced) {
			write_begin(t);
			t->kept = *s;
			t->has_kept = true;
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
	if (t->has_kept)
		return COSTACK_FAILED;
	return t->forced_raises ? COSTACK_CANCELLED : COSTACK_DONE;
}

void core_end_task(struct task *t, int outcome)
{
	registry_take();
	if (!task_state_ended(t->state)) {
		task_end_locked(t, outcome, clock_now());
	} else if (t->lingering) {
		t->lingering = false;
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
			t->cpu_ticks += now - t->run_start;
		t->lingering = true;
		task_end_locked(t, outcome, now);
	}
	registry_give();
}

const struct stack_rec *core_suspended_stack(const struct task *t)
{
	const struct snapshot *last = newest_snapshot(t);

	return last && last->kind == SNAP_SUSPEND ? last->stack : NULL;
}

/* A task resumed by a switch costack did not see go to it. */
static __attribute__((noinline)) void resumed_unseen(struct thread_state *ts, struct task *self)
{
	int saved_errno = errno;

	start_running(ts, self, clock_now());
	TASK_EVENT(task_resumed, self);
	errno = saved_errno;
}

void core_resumed(struct thread_state *ts, struct task *self)
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
	t->cpu_ticks += now - t->run_start;
	task_end_locked(t, outcome, now);
	registry_give();
	if (next && next != t) {
		start_running(ts, next, now);
		TASK_EVENT(task_resumed, next);
	} else
		ts->current = ts->root;
}

/* --- readers ------------------------------------------------------------- */

static struct task *find_locked(uint64_t id)
{
	struct task probe = {.id = id};
	void **node = id ? tfind(&probe, &id_index, compare_id) : NULL;

	return node ? *node : NULL;
}

bool registry_copy_task(uint64_t id, struct task_record *out)
{
	struct task_ring_layout ring = {(uint32_t)config.ring, offsetof(struct task, ring),
	                                sizeof(struct snapshot)};
	struct task *t;
	bool copied = false;

	registry_take();
	t = find_locked(id);
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

static void collect_unfinished(const void *node, VISIT which, void *closure)
{
	const struct task *t = *(const struct task *const *)node;
	struct unfinished_walk *w = closure;

	if ((which == postorder || which == leaf) && !task_state_ended(t->state)) {
		if (w->count < w->cap)
			w->ids[w->count] = t->id;
		w->count++;
	}
}

size_t registry_unfinished(uint64_t *ids, size_t cap)
{
	struct unfinished_walk w = {ids, ids ? cap : 0, 0};

	registry_take();
	twalk_r(id_index, collect_unfinished, &w);
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

/* Called with the lock held. */
static void set_name_locked(struct task *t, const char *name)
{
	write_begin(t);
	strncpy(t->name, name ? name : "", sizeof(t->name) - 1);
	t->name[sizeof(t->name) - 1] = '\0';
	write_end(t);
	TASK_EVENT(task_named, t);
}

int registry_set_name(uint64_t id, const char *name)
{
	struct task *t;

	registry_take();
	t = find_locked(id);
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

static void walk_one(const void *node, VISIT which, void *closure)
{
	const struct task_walk *w = closure;

	if (which == postorder || which == leaf)
		w->fn(*(const struct task *const *)node, w->arg);
}

void core_for_each_task(void (*fn)(const struct task *t, void *arg), void *arg)
{
	struct task_walk w = {fn, arg};
	bool held = registry_held;

	if (!held)
		registry_take();
	twalk_r(id_index, walk_one, &w);
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

uint32_t core_tasks_knowledge(const struct task *prev, const struct task *next)
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
	return t->name[0] != '\0';
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
	return t->exception ? t->exception->type : NULL;
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
		t->lingering = false;
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
