/* SPDX-License-Identifier: MIT */
/* threads.c - four OS threads, each switching 50 ucontext tasks of its own, concurrently. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

#define NTHREADS 4
#define NTASKS 50
#define ROUNDS 100 /* each task yields ROUNDS times: 2 * 50 * 100 switches per thread */
#define STACK_SIZE (64 * 1024)

struct worker;

struct wtask {
	ucontext_t ctx;
	char *stack;
	costack_task_t id; /* given by the scheduler: costack_task_at(its stack) */
	struct worker *worker;
	int index;
	bool done;
};

/* Checks run on the worker threads are counted here and reported by main. */
struct worker {
	pthread_t thread;
	pid_t tid;
	int index;
	ucontext_t sched_ctx;
	struct wtask tasks[NTASKS];
	costack_task_t root;
	long checks, failures, switches;
	char first_failure[512];
};

static struct worker workers[NTHREADS];
static pthread_barrier_t start_line;
static bool checks;

static void wcheck(struct worker *w, bool ok, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void wcheck(struct worker *w, bool ok, const char *fmt, ...)
{
	va_list ap;

	w->checks++;
	if (ok)
		return;
	if (!w->failures++) {
		va_start(ap, fmt);
		vsnprintf(w->first_failure, sizeof(w->first_failure), fmt, ap);
		va_end(ap);
	}
}

STACK_FN void worker_yield(struct wtask *t)
{
	if (swapcontext(&t->ctx, &t->worker->sched_ctx) != 0)
		abort();
}

/* The stack of the next task of the same scheduler, which waits meanwhile. */
static void check_sibling(struct wtask *t, int round)
{
	struct worker *w = t->worker;
	struct wtask *next = &w->tasks[(t->index + 1) % NTASKS];
	static const char *const suspended[] = {"worker_task", "worker_step", "worker_yield"};
	static const char *const created[] = {"worker_task"};
	bool is_created = round == 0 && t->index + 1 < NTASKS;
	void *frames[8];
	char got[512];
	int n = costack_get_stack(next->id, frames, sizeof(frames) / sizeof(*frames), 8);

	wcheck(w,
	       n >= 0 && frames_match(frames, n, is_created, is_created ? created : suspended,
	                              is_created ? 1 : 3, got, sizeof(got)),
	       "thread %d task %d round %d: task %d (id %llu) has stack %s", w->index, t->index,
	       round, next->index, (unsigned long long)next->id, n >= 0 ? got : "-1");
}

STACK_FN void worker_step(struct wtask *t, int round)
{
	struct worker *w = t->worker;

	if (checks) {
		struct costack_task_info info = {.size = sizeof(info)};
		costack_task_t self = costack_current_task();
		pid_t tid = gettid();

		wcheck(w, self == t->id && costack_task_at(&info) == t->id,
		       "thread %d task %d round %d: current task %llu, want %llu", w->index,
		       t->index, round, (unsigned long long)self, (unsigned long long)t->id);
		wcheck(w,
		       costack_task_info(t->id, &info) == 0 && info.thread == tid &&
		               info.state == COSTACK_RUNNING &&
		               info.switches == (uint64_t)round + 1,
		       "thread %d task %d round %d: task_info says thread %d, %s, %llu switches; "
		       "want thread %d, running, %d",
		       w->index, t->index, round, (int)info.thread, costack_state_name(info.state),
		       (unsigned long long)info.switches, (int)tid, round + 1);
		if (round % 10 == 0)
			check_sibling(t, round);
	}
	worker_yield(t);
	KEEP_FRAME();
}

STACK_FN void worker_task(int worker_index, int task_index)
{
	struct wtask *t = &workers[worker_index].tasks[task_index];

	for (int round = 0; round < ROUNDS; round++)
		worker_step(t, round);
	t->done = true;
}

/* Apart from the loops: getcontext returns twice, which they would not survive. */
static __attribute__((noinline)) void make_wtask(struct worker *w, struct wtask *t, int index)
{
	t->worker = w;
	t->index = index;
	t->stack = coroutine_stack_new(STACK_SIZE);
	if (getcontext(&t->ctx) != 0)
		abort();
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = STACK_SIZE;
	t->ctx.uc_link = &w->sched_ctx;
	makecontext(&t->ctx, (void (*)(void))worker_task, 2, w->index, index);
	if (checks)
		t->id = costack_task_at(t->stack + STACK_SIZE / 2);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int remaining = NTASKS;

	w->tid = gettid();
	for (int i = 0; i < NTASKS; i++)
		make_wtask(w, &w->tasks[i], i);
	if (checks)
		w->root = costack_current_task();
	pthread_barrier_wait(&start_line);

	/* Round robin until every task returned. */
	while (remaining) {
		for (int i = 0; i < NTASKS; i++) {
			struct wtask *t = &w->tasks[i];

			if (t->done)
				continue;
			if (swapcontext(&w->sched_ctx, &t->ctx) != 0)
				abort();
			w->switches++;
			if (t->done)
				remaining--;
		}
	}

	for (int i = 0; i < NTASKS; i++) {
		struct wtask *t = &w->tasks[i];

		if (checks) {
			void *frames[4];
			int state = costack_task_state(t->id);

			wcheck(w,
			       state == COSTACK_DONE &&
			               costack_get_stack(t->id, frames,
			                                 sizeof(frames) / sizeof(*frames), 4) == 0,
			       "thread %d task %d: %s at the end, want done with no frames",
			       w->index, i, costack_state_name(state));
		}
		coroutine_stack_free(t->stack);
	}
	if (checks) {
		struct costack_task_info info = {.size = sizeof(info)};

		wcheck(w,
		       costack_current_task() == w->root &&
		               costack_task_info(w->root, &info) == 0 && info.thread == w->tid &&
		               info.runtime == COSTACK_RUNTIME_THREAD,
		       "thread %d: its root task is current, on its thread", w->index);
	}
	return NULL;
}

static int compare_ids(const void *a, const void *b)
{
	costack_task_t x = *(const costack_task_t *)a, y = *(const costack_task_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	costack_task_t ids[NTHREADS * NTASKS];
	long switches = 0;
	int distinct = 0;

	checks = check_init("threads", argc, argv);
	pthread_barrier_init(&start_line, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			abort();
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(workers[i].thread, NULL);

	for (int i = 0; i < NTHREADS; i++) {
		struct worker *w = &workers[i];

		switches += w->switches;
		if (!checks)
			continue;
		check(!w->failures,
		      "thread %d: %ld checks of current task, task_info.thread, "
		      "a neighbour's stack and the end states, %ld failed%s%s",
		      i, w->checks, w->failures, w->failures ? "; first: " : "", w->first_failure);
		/* The thread is gone: so is its root task. */
		check_no_stack(w->root, COSTACK_DONE, "a finished thread's root task");
		for (int j = 0; j < NTASKS; j++)
			ids[distinct++] = w->tasks[j].id;
	}
	if (checks) {
		qsort(ids, (size_t)distinct, sizeof(*ids), compare_ids);
		int dup = 0;
		for (int i = 1; i < distinct; i++)
			dup += ids[i] == ids[i - 1] || !ids[i];
		check(!dup && ids[0], "the %d tasks have distinct non-zero ids", distinct);
	}
	printf("threads: %d threads switched into their tasks %ld times (want %d)\n", NTHREADS,
	       switches, NTHREADS * NTASKS * (ROUNDS + 1));
	pthread_barrier_destroy(&start_line);
	return check_finish();
}
