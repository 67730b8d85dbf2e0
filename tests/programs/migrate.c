/* SPDX-License-Identifier: MIT */
/* migrate.c - a task suspended on thread A, resumed on B: attributed to B, stacks right. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

/*
 * Thread A makes the task and runs it until it suspends; main looks at it;
 * thread B resumes it; while it runs on B (blocked on a condition variable,
 * not switched away) main looks again; it suspends once more on B, and B
 * runs it to its end. Every hand-over goes through `phase` under a mutex:
 * one thread acts at a time, in a fixed order, and nothing sleeps.
 *
 * The task's code keeps nothing in thread-local storage across a switch:
 * after the migration its TLS would be thread B's.
 */

#define STACK_SIZE (128 * 1024)

enum phase {
	P_START,
	P_SUSPENDED_ON_A, /* A ran the task; it is suspended; main looks */
	P_RESUME_ON_B,    /* main looked: B resumes it */
	P_RUNNING_ON_B,   /* the task runs on B, blocked in a condvar; main looks */
	P_CONTINUE,       /* main looked: the task goes on */
	P_FINISHED,       /* B ran it to its end */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static enum phase phase;

static bool checks;
static ucontext_t a_ctx, b_ctx, task_ctx;
static ucontext_t *resumer; /* where the task switches to when it suspends */
static char *task_stack;
static costack_task_t task_id, a_root, b_root;
static pid_t a_tid, b_tid;

static void set_phase(enum phase p)
{
	pthread_mutex_lock(&lock);
	phase = p;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

static void wait_phase(enum phase p)
{
	pthread_mutex_lock(&lock);
	while (phase < p)
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
}

/* Whether task_info says the task last ran on thread tid, in the given state. */
static void check_attribution(enum costack_state state, pid_t tid, const char *what)
{
	struct costack_task_info info = {.size = sizeof(info)};
	int status = costack_task_info(task_id, &info);

	check(status == 0 && info.state == (int)state && info.thread == tid,
	      "%s: task_info says %s on thread %d (want %s on %d)", what,
	      costack_state_name(info.state), (int)info.thread, costack_state_name(state),
	      (int)tid);
}

/* --- the task ------------------------------------------------------------------- */

STACK_FN void migrate_yield(void)
{
	if (swapcontext(&task_ctx, resumer) != 0)
		abort();
}

/* Runs on B, after the migration. */
STACK_FN void check_on_b(void)
{
	if (checks) {
		void *frames[FRAMES_MAX];
		int n = costack_get_stack(costack_current_task(), frames,
		                          sizeof(frames) / sizeof(*frames), 0);

		check(gettid() == b_tid, "the resumed task runs on thread B");
		check(costack_current_task() == task_id,
		      "on B: costack_current_task() is the migrated task");
		check_attribution(COSTACK_RUNNING, b_tid, "on B, asked by itself");
		CHECK_FRAMES(frames, n, "on B, asked by itself", "migrate_entry", "migrate_a",
		             "migrate_b", "check_on_b");
		check_state(b_root, COSTACK_SUSPENDED, "B's root task while B runs the task");
	}
	set_phase(P_RUNNING_ON_B);
	wait_phase(P_CONTINUE);
}

STACK_FN void migrate_b(void)
{
	migrate_yield(); /* suspended on A, resumed on B */
	check_on_b();
	KEEP_FRAME();
}

STACK_FN void migrate_a(void)
{
	migrate_b();
	KEEP_FRAME();
}

STACK_FN void migrate_final_yield(void)
{
	if (swapcontext(&task_ctx, resumer) != 0)
		abort();
}

STACK_FN void migrate_entry(void)
{
	if (checks) {
		check(gettid() == a_tid, "the task first runs on thread A");
		check(costack_current_task() == task_id,
		      "on A: costack_current_task() is the task");
		check_attribution(COSTACK_RUNNING, a_tid, "on A");
	}
	migrate_a();
	migrate_final_yield(); /* on B */
	KEEP_FRAME();
}

/* --- the threads ----------------------------------------------------------------- */

static void *thread_a(void *arg)
{
	a_tid = gettid();
	if (checks)
		a_root = costack_current_task();
	task_stack = coroutine_stack_new(STACK_SIZE);
	if (getcontext(&task_ctx) != 0)
		abort();
	task_ctx.uc_stack.ss_sp = task_stack;
	task_ctx.uc_stack.ss_size = STACK_SIZE;
	task_ctx.uc_link = &b_ctx; /* it ends on B */
	makecontext(&task_ctx, migrate_entry, 0);
	if (checks)
		task_id = costack_task_at(task_stack);
	resumer = &a_ctx;
	if (swapcontext(&a_ctx, &task_ctx) != 0)
		abort();
	/* The task is suspended: hand it over. */
	set_phase(P_SUSPENDED_ON_A);
	wait_phase(P_FINISHED);
	return arg;
}

static void *thread_b(void *arg)
{
	b_tid = gettid();
	if (checks)
		b_root = costack_current_task();
	wait_phase(P_RESUME_ON_B);
	resumer = &b_ctx;
	if (swapcontext(&b_ctx, &task_ctx) != 0)
		abort();
	if (checks) {
		check(costack_current_task() == b_root, "B runs its root task again");
		check_attribution(COSTACK_SUSPENDED, b_tid, "suspended again, on B");
		CHECK_STACK(task_id, 0, "suspended again, on B", "migrate_entry",
		            "migrate_final_yield");
	}
	if (swapcontext(&b_ctx, &task_ctx) != 0) /* it returns to uc_link, b_ctx */
		abort();
	if (checks) {
		check_no_stack(task_id, COSTACK_DONE, "ended on B");
		check_attribution(COSTACK_DONE, b_tid, "ended on B");
	}
	set_phase(P_FINISHED);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t a, b;

	checks = check_init("migrate", argc, argv);
	if (pthread_create(&a, NULL, thread_a, NULL) != 0 ||
	    pthread_create(&b, NULL, thread_b, NULL) != 0)
		abort();

	wait_phase(P_SUSPENDED_ON_A);
	if (checks) {
		check_attribution(COSTACK_SUSPENDED, a_tid, "suspended on A");
		CHECK_STACK(task_id, 0, "suspended on A", "migrate_entry", "migrate_a", "migrate_b",
		            "migrate_yield");
		check_state(a_root, COSTACK_RUNNING, "A's root task after the task suspended");
	}
	set_phase(P_RESUME_ON_B);

	wait_phase(P_RUNNING_ON_B);
	if (checks) {
		/* Running elsewhere: asyncio's rule gives the stack it was last resumed at. */
		check_attribution(COSTACK_RUNNING, b_tid, "running on B, asked by main");
		CHECK_STACK(task_id, 0, "running on B, asked by main", "migrate_entry", "migrate_a",
		            "migrate_b", "migrate_yield");
	}
	set_phase(P_CONTINUE);

	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (checks) {
		check_no_stack(a_root, COSTACK_DONE, "thread A's root task after A exited");
		check_no_stack(b_root, COSTACK_DONE, "thread B's root task after B exited");
	}
	coroutine_stack_free(task_stack);
	printf("migrate: the task went from thread A to thread B and ended there\n");
	return check_finish();
}
