/* SPDX-License-Identifier: MIT */
/* test_threads.c - unit test of the core under threads: tasks on many threads at once, readers
 * meanwhile, and tasks that migrate. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "core.h"
#include "costack.h"
#include "stackstore.h"
#include "utask.h"

#define WORKERS 4
#define TASKS 100
#define STACK_SIZE (64 * 1024)
#define MAXF CONFIG_DEPTH_MAX

static int switches = 1000; /* per task; fewer under valgrind */

static int info_of(costack_task_t id, struct costack_task_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return costack_task_info(id, info);
}

/* --- many threads, many tasks, at once -------------------------------------------- */

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	uint64_t root;
	struct utask tasks[TASKS];
	uint64_t ids[TASKS];
	/* counted by the tasks and the worker; checked by main after the join */
	unsigned wrong_current;   /* costack_current_task() inside a task */
	unsigned wrong_thread_ts; /* core_thread_state() not this thread's */
	unsigned wrong_state;     /* a task not suspended between its runs */
	unsigned wrong_attrib;    /* task_info.thread not this thread */
	unsigned wrong_switches;  /* task_info.switches not the runs so far */
	unsigned wrong_root;      /* the root not running when back in it */
	unsigned not_done;
	bool make_failed;
};

/* What the reader may check: which thread owns each task. */
static struct {
	_Atomic uint64_t id;
	_Atomic pid_t tid;
} published[WORKERS * TASKS];
static atomic_int workers_running;
static atomic_bool stop_reader;
static pthread_barrier_t start_line;

struct task_arg {
	struct worker *w;
	int index;
};
static struct task_arg task_args[WORKERS][TASKS];

void worker_task(struct utask *t);
void worker_task(struct utask *t)
{
	struct task_arg *a = t->arg;
	struct worker *w = a->w;

	for (int i = 0; i < switches; i++) {
		struct thread_state *ts = core_thread_state();

		if (costack_current_task() != utask_id(t))
			w->wrong_current++;
		if (!ts || ts->tid != w->tid || ts->current != t->task)
			w->wrong_thread_ts++;
		UTASK_YIELD(t);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct costack_task_info info;

	w->tid = gettid();
	w->root = costack_current_task(); /* this thread's root task, registered now */
	for (int i = 0; i < TASKS; i++) {
		task_args[w->index][i] = (struct task_arg){w, i};
		if (!utask_make(&w->tasks[i], worker_task, &task_args[w->index][i], STACK_SIZE)) {
			w->make_failed = true;
			return NULL;
		}
		w->ids[i] = utask_id(&w->tasks[i]);
		atomic_store(&published[w->index * TASKS + i].tid, w->tid);
		atomic_store(&published[w->index * TASKS + i].id, w->ids[i]);
	}
	pthread_barrier_wait(&start_line);

	for (int round = 0; round < switches; round++) {
		bool audit = round % 100 == 0 || round == switches - 1;

		for (int i = 0; i < TASKS; i++) {
			utask_resume(&w->tasks[i]);
			if (costack_current_task() != w->root)
				w->wrong_root++;
			if (!audit)
				continue;
			if (info_of(w->ids[i], &info) != 0 || info.state != COSTACK_SUSPENDED)
				w->wrong_state++;
			if (info.thread != w->tid)
				w->wrong_attrib++;
			if (info.switches != (uint64_t)round + 1)
				w->wrong_switches++;
		}
	}
	for (int i = 0; i < TASKS; i++) {
		utask_resume(&w->tasks[i]); /* the loop ends: done */
		if (!w->tasks[i].ended || costack_task_state(w->ids[i]) != COSTACK_DONE)
			w->not_done++;
		if (info_of(w->ids[i], &info) != 0 || info.thread != w->tid)
			w->wrong_attrib++;
		utask_free(&w->tasks[i]);
	}
	atomic_fetch_sub(&workers_running, 1);
	return NULL;
}

struct reader {
	unsigned reads, torn, wrong_owner, bad_state, bad_frames;
	pid_t main_tid;
};

/* Reads tasks while the workers switch them: every copy is whole and right. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct costack_task_info info;
	costack_task_t ids[64];
	void *frames[MAXF];
	unsigned seed = 1;

	while (!atomic_load(&stop_reader)) {
		int slot = (int)(rand_r(&seed) % (WORKERS * TASKS));
		uint64_t id = atomic_load(&published[slot].id);
		pid_t owner = atomic_load(&published[slot].tid);
		int n;

		if (!id)
			continue;
		r->reads++;
		if (info_of(id, &info) == 0) {
			if (info.id != id || info.size != sizeof(info))
				r->torn++;
			if (info.thread != owner)
				r->wrong_owner++;
			if (info.state < COSTACK_CREATED || info.state > COSTACK_CANCELLED ||
			    info.runtime != COSTACK_RUNTIME_UCONTEXT)
				r->bad_state++;
		}
		n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), MAXF);
		if (n < -1 || n > MAXF || (n == -1 && errno != ESRCH))
			r->bad_frames++;
		n = costack_task_state(id);
		if (n < -1 || n > COSTACK_CANCELLED)
			r->bad_state++;
		costack_all_tasks(ids, 64);
	}
	return NULL;
}

static void test_many_threads(void)
{
	struct worker *w = calloc(WORKERS, sizeof(*w));
	struct reader r = {.main_tid = gettid()};
	pthread_t reader;
	uint64_t all[WORKERS * (TASKS + 1)];
	size_t nall = 0;
	size_t before = costack_all_tasks(NULL, 0);

	pthread_barrier_init(&start_line, NULL, WORKERS);
	atomic_store(&workers_running, WORKERS);
	pthread_create(&reader, NULL, reader_main, &r);
	for (int i = 0; i < WORKERS; i++) {
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			CHECK(0, "pthread_create %d failed", i);
			exit(check_finish("test_threads"));
		}
	}
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i].thread, NULL);
	atomic_store(&stop_reader, true);
	pthread_join(reader, NULL);
	pthread_barrier_destroy(&start_line);

	for (int i = 0; i < WORKERS; i++) {
		CHECK(!w[i].make_failed, "worker %d could not make its tasks", i);
		CHECK(w[i].root > 1 && w[i].root != 0, "worker %d's root task id %llu", i,
		      (unsigned long long)w[i].root);
		CHECK(w[i].wrong_current == 0,
		      "worker %d: costack_current_task() wrong %u times inside tasks", i,
		      w[i].wrong_current);
		CHECK(w[i].wrong_thread_ts == 0,
		      "worker %d: the thread state was not this thread's %u times", i,
		      w[i].wrong_thread_ts);
		CHECK(w[i].wrong_root == 0, "worker %d: back in the root, another task %u times", i,
		      w[i].wrong_root);
		CHECK(w[i].wrong_state == 0, "worker %d: %u tasks not suspended between runs", i,
		      w[i].wrong_state);
		CHECK(w[i].wrong_attrib == 0,
		      "worker %d (tid %d): %u tasks shown on another thread", i, w[i].tid,
		      w[i].wrong_attrib);
		CHECK(w[i].wrong_switches == 0, "worker %d: switch count wrong %u times", i,
		      w[i].wrong_switches);
		CHECK(w[i].not_done == 0, "worker %d: %u tasks not done at the end", i,
		      w[i].not_done);
		/* A thread's root task ends with the thread. */
		CHECK_EQ(costack_task_state(w[i].root), COSTACK_DONE);
		all[nall++] = w[i].root;
		for (int k = 0; k < TASKS; k++)
			all[nall++] = w[i].ids[k];
	}
	CHECK(r.reads > 0, "the reader read nothing");
	CHECK(r.torn == 0, "the reader got %u torn copies of %u", r.torn, r.reads);
	CHECK(r.wrong_owner == 0, "the reader saw %u of %u tasks on a thread that never ran them",
	      r.wrong_owner, r.reads);
	CHECK(r.bad_state == 0, "the reader got %u bad states or runtimes", r.bad_state);
	CHECK(r.bad_frames == 0, "the reader got %u bad get_stack results", r.bad_frames);

	/* Ids unique across threads. */
	unsigned dup = 0;
	for (size_t i = 0; i < nall; i++)
		for (size_t k = i + 1; k < nall; k++)
			dup += all[i] == all[k];
	CHECK(dup == 0, "%u ids given twice across threads", dup);
	CHECK_EQ(costack_all_tasks(NULL, 0), before);
	fprintf(stderr,
	        "test_threads: %d threads x %d tasks x %d switches; the reader made %u reads\n",
	        WORKERS, TASKS, switches, r.reads);
	free(w);
}

/* --- a task that moves between threads ----------------------------------------- */

struct migrant {
	struct utask t;
	int runs;
	pid_t ran_on[4096];      /* gettid() inside the task, per run */
	pid_t ts_tid[4096];      /* core_thread_state()->tid inside the task, per run */
	pid_t info_thread[4096]; /* task_info(self).thread inside the task, per run */
	uint64_t current[4096];  /* costack_current_task() inside the task, per run */
	int max_runs;
};

void migrant_task(struct utask *t);
void migrant_task(struct utask *t)
{
	struct migrant *m = t->arg;
	struct costack_task_info info;

	while (m->runs < m->max_runs) {
		struct thread_state *ts = core_thread_state();
		int r = m->runs++;

		m->ran_on[r] = gettid();
		m->ts_tid[r] = ts ? ts->tid : -1;
		m->current[r] = costack_current_task();
		m->info_thread[r] = info_of(utask_id(t), &info) == 0 ? info.thread : -1;
		UTASK_YIELD(t);
	}
}

static void check_run(struct migrant *m, int r, pid_t expected, const char *where)
{
	struct costack_task_info info;

	CHECK(m->ran_on[r] == expected, "%s: run %d on tid %d, expected %d", where, r, m->ran_on[r],
	      expected);
	CHECK(m->ts_tid[r] == expected, "%s: run %d: the thread state's tid %d, expected %d", where,
	      r, m->ts_tid[r], expected);
	CHECK(m->current[r] == utask_id(&m->t), "%s: run %d: current task %llu, expected %llu",
	      where, r, (unsigned long long)m->current[r], (unsigned long long)utask_id(&m->t));
	CHECK(m->info_thread[r] == expected,
	      "%s: run %d: task_info.thread %d while it ran, expected %d", where, r,
	      m->info_thread[r], expected);
	/* Suspended again: attributed to the thread that last ran it. */
	info_of(utask_id(&m->t), &info);
	CHECK(info.thread == expected, "%s: after run %d: task_info.thread %d, expected %d", where,
	      r, info.thread, expected);
}

struct hop {
	struct migrant *m;
	pid_t tid;
	uint64_t root;
	int root_state_after;
	int task_state_after;
};

static void *hop_main(void *arg)
{
	struct hop *h = arg;

	h->tid = gettid();
	h->root = costack_current_task();
	utask_resume(&h->m->t);
	h->root_state_after = costack_task_state(h->root);
	h->task_state_after = costack_task_state(utask_id(&h->m->t));
	return NULL;
}

static void hop(struct migrant *m, struct hop *h)
{
	pthread_t thread;

	memset(h, 0, sizeof(*h));
	h->m = m;
	pthread_create(&thread, NULL, hop_main, h);
	pthread_join(thread, NULL);
}

/* Ping-pong: two threads take turns resuming the same task. */
struct pingpong {
	struct migrant *m;
	pthread_mutex_t lock;
	pthread_cond_t turn_changed;
	int turn; /* which player resumes next */
	int rounds;
	pid_t tids[2];
};

struct player {
	struct pingpong *pp;
	int me;
};

static void *player_main(void *arg)
{
	struct player *p = arg;
	struct pingpong *pp = p->pp;

	pp->tids[p->me] = gettid();
	for (int r = p->me; r < pp->rounds; r += 2) {
		pthread_mutex_lock(&pp->lock);
		while (pp->turn != p->me)
			pthread_cond_wait(&pp->turn_changed, &pp->lock);
		pthread_mutex_unlock(&pp->lock);
		utask_resume(&pp->m->t);
		pthread_mutex_lock(&pp->lock);
		pp->turn = 1 - p->me;
		pthread_cond_broadcast(&pp->turn_changed);
		pthread_mutex_unlock(&pp->lock);
	}
	return NULL;
}

static void test_migration(void)
{
	struct migrant *m = calloc(1, sizeof(*m));
	pid_t main_tid = gettid();
	struct hop b, c;
	int r;

	m->max_runs = 4096;
	utask_make(&m->t, migrant_task, m, STACK_SIZE);

	/* Made here, run here. */
	utask_resume(&m->t);
	check_run(m, 0, main_tid, "main thread");

	/* Resumed by thread B: it runs on B, and is B's when suspended. */
	hop(m, &b);
	check_run(m, 1, b.tid, "thread B");
	CHECK_EQ(b.task_state_after, COSTACK_SUSPENDED);
	CHECK_EQ(b.root_state_after, COSTACK_RUNNING);
	CHECK_EQ(costack_task_state(b.root), COSTACK_DONE); /* B has exited */

	/* Back on the main thread. */
	utask_resume(&m->t);
	check_run(m, 2, main_tid, "main thread again");
	CHECK_EQ(costack_current_task(), 1);
	CHECK_EQ(costack_task_state(1), COSTACK_RUNNING);

	/* Thread C. */
	hop(m, &c);
	check_run(m, 3, c.tid, "thread C");
	CHECK(b.root != c.root && b.root > 1 && c.root > 1, "roots of B and C: %llu, %llu",
	      (unsigned long long)b.root, (unsigned long long)c.root);

	/* Two threads taking turns, many times. */
	struct pingpong pp = {.m = m, .rounds = RUNNING_ON_VALGRIND ? 100 : 2000};
	struct player players[2] = {{&pp, 0}, {&pp, 1}};
	pthread_t threads[2];
	int first = m->runs;

	pthread_mutex_init(&pp.lock, NULL);
	pthread_cond_init(&pp.turn_changed, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, player_main, &players[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	unsigned wrong = 0;
	for (r = first; r < m->runs; r++) {
		pid_t expected = pp.tids[(r - first) % 2];

		wrong += m->ran_on[r] != expected || m->ts_tid[r] != expected ||
		         m->info_thread[r] != expected || m->current[r] != utask_id(&m->t);
	}
	CHECK_EQ(m->runs - first, pp.rounds);
	CHECK(wrong == 0, "ping-pong: %u of %d runs attributed wrong", wrong, m->runs - first);
	struct costack_task_info info;
	info_of(utask_id(&m->t), &info);
	CHECK_EQ(info.thread, pp.tids[(pp.rounds - 1) % 2]);
	CHECK_EQ(info.switches, (uint64_t)m->runs);

	/* It ends on the main thread. */
	m->max_runs = m->runs;
	utask_resume(&m->t);
	CHECK(m->t.ended, "the migrant did not end");
	info_of(utask_id(&m->t), &info);
	CHECK_EQ(info.state, COSTACK_DONE);
	CHECK_EQ(info.thread, main_tid);
	pthread_mutex_destroy(&pp.lock);
	pthread_cond_destroy(&pp.turn_changed);
	utask_free(&m->t);
	free(m);
}

/* --- fork: only the forking thread lives on ------------------------------------------ */

static atomic_int spinner_running, spinner_stop;

void spinner_task(struct utask *t);
void spinner_task(struct utask *t)
{
	atomic_store(&spinner_running, 1);
	while (!atomic_load(&spinner_stop))
		usleep(100);
}

static void *spinner_thread(void *arg)
{
	struct utask *t = arg;

	utask_resume(t); /* runs until told to stop */
	return NULL;
}

void child_task(struct utask *t);
void child_task(struct utask *t)
{
	UTASK_YIELD(t);
}

/* In the child: 0, or the number of the first check that failed plus 16
 * times the state seen where a state was wrong. */
static int child_checks(uint64_t spinner, uint64_t other_root, uint64_t suspended)
{
	struct costack_task_info info;
	struct utask t;

	/* 1: a task running on a thread that is gone can never run again. */
	if (costack_task_state(spinner) != COSTACK_CANCELLED)
		return 1 + 16 * (costack_task_state(spinner) + 1);
	/* 2-4: the forking thread's task runs on, as the child's main thread. */
	if (costack_current_task() != 1)
		return 2;
	if (costack_task_state(1) != COSTACK_RUNNING)
		return 3 + 16 * (costack_task_state(1) + 1);
	if (info_of(1, &info) != 0 || info.thread != getpid())
		return 4;
	/* 5-6: a suspended task may still be resumed by the survivor: it stays suspended. */
	if (costack_task_state(suspended) != COSTACK_SUSPENDED)
		return 5 + 16 * (costack_task_state(suspended) + 1);
	if (costack_task_state(other_root) != COSTACK_SUSPENDED)
		return 6 + 16 * (costack_task_state(other_root) + 1);
	/* 7-10: the core still works in the child. */
	if (!utask_make(&t, child_task, NULL, STACK_SIZE))
		return 7;
	utask_resume(&t);
	if (costack_task_state(utask_id(&t)) != COSTACK_SUSPENDED)
		return 8;
	if (info_of(utask_id(&t), &info) != 0 || info.thread != getpid())
		return 9;
	utask_resume(&t);
	if (costack_task_state(utask_id(&t)) != COSTACK_DONE)
		return 10;
	return 0;
}

static void test_fork(void)
{
	struct utask spinner, suspended;
	pthread_t thread;
	uint64_t other_root = 0;
	int status = 0;
	pid_t child;

	/* A task running on another thread, and one suspended. */
	utask_make(&suspended, child_task, NULL, STACK_SIZE);
	utask_resume(&suspended);
	utask_make(&spinner, spinner_task, NULL, STACK_SIZE);
	pthread_create(&thread, NULL, spinner_thread, &spinner);
	while (!atomic_load(&spinner_running))
		usleep(100);
	other_root = spinner.resumer ? spinner.resumer->id : 0;
	CHECK_EQ(costack_task_state(utask_id(&spinner)), COSTACK_RUNNING);

	/* The child's verdict comes through a pipe: under valgrind --error-exitcode,
	 * its exit status is valgrind's. */
	int verdict = -1, fds[2];
	CHECK(pipe(fds) == 0, "pipe failed");
	child = fork();
	if (child == 0) {
		verdict = child_checks(utask_id(&spinner), other_root, utask_id(&suspended));
		if (write(fds[1], &verdict, sizeof(verdict)) != sizeof(verdict))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	CHECK(child > 0, "fork failed");
	if (child > 0) {
		if (read(fds[0], &verdict, sizeof(verdict)) != sizeof(verdict))
			verdict = -1;
		waitpid(child, &status, 0);
		CHECK(verdict == 0,
		      "in the child, check %d of child_checks failed (state seen: %d)",
		      verdict < 0 ? -1 : verdict % 16, verdict < 0 ? -1 : verdict / 16 - 1);
	}
	close(fds[0]);
	/* The parent is untouched. */
	CHECK_EQ(costack_task_state(utask_id(&spinner)), COSTACK_RUNNING);
	atomic_store(&spinner_stop, 1);
	pthread_join(thread, NULL);
	CHECK_EQ(costack_task_state(utask_id(&spinner)), COSTACK_DONE);
	utask_resume(&suspended);
	CHECK_EQ(costack_task_state(utask_id(&suspended)), COSTACK_DONE);
	utask_free(&spinner);
	utask_free(&suspended);
}

/* --- many short-lived threads, each with a stack of its own ------------------------- */

/* 10,000 threads in sequence (a thread-per-connection server), each running one task that
 * suspends at a path of its own: 14 levels of path_a or path_b, the bits of the thread's
 * number. Every one of those stacks is new to the store, and each must be kept. */
#define SHORT_THREADS 10000
#define PATH_BITS 14

struct short_thread {
	struct utask task;
	unsigned path;
	int frames; /* what get_stack gave while it was suspended */
};

static void path_step(struct utask *t, unsigned bit);

__attribute__((noinline, noipa)) static void path_a(struct utask *t, unsigned bit)
{
	path_step(t, bit + 1);
	__asm__ volatile("" ::: "memory"); /* not a tail call: the frame stays */
}

__attribute__((noinline, noipa)) static void path_b(struct utask *t, unsigned bit)
{
	path_step(t, bit + 1);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline, noipa)) static void path_step(struct utask *t, unsigned bit)
{
	const struct short_thread *s = t->arg;

	if (bit == PATH_BITS)
		UTASK_YIELD(t);
	else if ((s->path >> bit) & 1)
		path_b(t, bit);
	else
		path_a(t, bit);
	__asm__ volatile("" ::: "memory");
}

static void path_entry(struct utask *t)
{
	path_step(t, 0);
}

static void *short_thread_main(void *arg)
{
	struct short_thread *s = arg;
	void *frames[MAXF];

	if (!utask_make(&s->task, path_entry, s, STACK_SIZE))
		return NULL;
	utask_resume(&s->task); /* it suspends at the end of its path */
	s->frames = costack_get_stack(utask_id(&s->task), frames, sizeof(frames) / sizeof(*frames),
	                              MAXF);
	utask_resume(&s->task); /* and ends */
	utask_free(&s->task);
	return NULL;
}

static void test_short_threads(void)
{
	static struct short_thread s;
	int kept = 0, first_lost = -1;
	int count = RUNNING_ON_VALGRIND ? 200 : SHORT_THREADS;
	uint64_t bytes_before = stackstore_bytes();

	for (int i = 0; i < count; i++) {
		pthread_t thread;

		memset(&s, 0, sizeof(s));
		s.path = (unsigned)i;
		if (pthread_create(&thread, NULL, short_thread_main, &s) != 0 ||
		    pthread_join(thread, NULL) != 0)
			break;
		/* entry, path_step, then a path_a or path_b and a path_step per bit */
		if (s.frames >= 2 + 2 * PATH_BITS)
			kept++;
		else if (first_lost < 0)
			first_lost = i;
	}
	CHECK(kept == count,
	      "%d of %d short-lived threads' stacks kept (the first lost: thread %d)", kept, count,
	      first_lost);
	/* What a thread's arena had left goes to the next thread: the store grows with the
	 * stacks (~300 bytes each here), not with the threads that came and went. */
	CHECK(stackstore_bytes() - bytes_before < (uint64_t)count * 1024,
	      "the stack store grew by %llu bytes for %d threads",
	      (unsigned long long)(stackstore_bytes() - bytes_before), count);
}

/* --- print_stack from many threads --------------------------------------------------- */

/* The process' address space, from /proc/self/status (kB). */
static long vm_size_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void *print_once(void *arg)
{
	costack_print_stack(1, 0, arg);
	return NULL;
}

/* 200 threads print a stack once each and exit: the address space does not grow with them (it
 * grew by the 4 MiB print stack each thread got). */
static void test_print_threads(void)
{
	FILE *sink = fopen("/dev/null", "we");
	long before, after;
	int count = RUNNING_ON_VALGRIND ? 20 : 200;

	if (!sink) {
		CHECK(false, "cannot open /dev/null");
		return;
	}
	print_once(sink); /* the symbolizer and the print stack, made once */
	before = vm_size_kb();
	for (int i = 0; i < count; i++) {
		pthread_t thread;

		if (pthread_create(&thread, NULL, print_once, sink) != 0 ||
		    pthread_join(thread, NULL) != 0)
			break;
	}
	after = vm_size_kb();
	fclose(sink);
	CHECK(before > 0 && after - before < 16 * 1024,
	      "%d threads that printed once grew the address space by %ld kB", count,
	      after - before);
}

int main(void)
{
	if (RUNNING_ON_VALGRIND)
		switches = 50;
	/* costack becomes active here, the main thread's root its task 1. */
	CHECK_EQ(costack_current_task(), 1);
	test_many_threads();
	test_migration();
	test_short_threads();
	test_print_threads();
	test_fork();
	return check_finish("test_threads");
}
