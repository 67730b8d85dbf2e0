/* SPDX-License-Identifier: MIT */
/* fork.c - suspended tasks across fork: the child's API works, the parent is unaffected. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

/*
 * At the fork: main runs; `sleeper` is suspended in fork_entry -> fork_a ->
 * fork_yield; `fresh` is made and never run; on a helper thread `orphan` is
 * running, blocked on a condition variable. Only the forking thread lives on
 * in the child, so the orphan can never run there again: it is cancelled.
 * The child checks, makes and runs a task of its own, finishes the others and
 * exits 42; the parent checks that status, then that its own tasks are as
 * they were, and finishes them.
 */

#define STACK_SIZE (128 * 1024)
#define CHILD_STATUS 42

struct task {
	ucontext_t ctx;
	char *stack;
	costack_task_t id;
};

static bool checks;
static ucontext_t main_ctx, helper_ctx;
static struct task sleeper, fresh, newborn, orphan;
static costack_task_t root_id;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int orphan_running, orphan_release;

static void make_task(struct task *t, void (*entry)(void), ucontext_t *link)
{
	t->stack = coroutine_stack_new(STACK_SIZE);
	if (getcontext(&t->ctx) != 0)
		abort();
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = STACK_SIZE;
	t->ctx.uc_link = link;
	makecontext(&t->ctx, entry, 0);
	t->id = checks ? costack_task_at(t->stack) : 0;
}

STACK_FN void run_task(struct task *t)
{
	if (swapcontext(&main_ctx, &t->ctx) != 0)
		abort();
}

STACK_FN void fork_yield(struct task *t)
{
	if (swapcontext(&t->ctx, &main_ctx) != 0)
		abort();
}

STACK_FN void fork_a(struct task *t)
{
	fork_yield(t);
	KEEP_FRAME();
}

STACK_FN void fork_entry(void)
{
	fork_a(&sleeper);
	printf("the suspended task finished\n");
	KEEP_FRAME();
}

STACK_FN void fresh_entry(void)
{
	printf("the never-run task ran\n");
}

/* The child's own task, checking itself. */
STACK_FN void newborn_check(void)
{
	struct costack_task_info info = {.size = sizeof(info)};
	costack_task_t self = costack_current_task();
	void *frames[FRAMES_MAX];
	int n = costack_get_stack(self, frames, sizeof(frames) / sizeof(*frames), 0);

	check(self != 0 && self == newborn.id, "child: the new task is current (%llu)",
	      (unsigned long long)self);
	CHECK_FRAMES(frames, n, "child: the new task asking about itself", "newborn_entry",
	             "newborn_check");
	check(costack_task_info(self, &info) == 0 && info.thread == getpid() &&
	              info.parent == root_id && info.state == COSTACK_RUNNING,
	      "child: the new task runs on the child's thread %d, made by main", (int)getpid());
	CHECK_STACK(root_id, 0, "child: main while the new task runs", "...", "main", "child_main",
	            "run_task");
}

STACK_FN void newborn_entry(void)
{
	if (checks)
		newborn_check();
	printf("child: the new task ran\n");
}

/* --- the helper thread: its task is running at the fork ------------------------- */

STACK_FN void orphan_entry(void)
{
	pthread_mutex_lock(&lock);
	orphan_running = 1;
	pthread_cond_broadcast(&changed);
	while (!orphan_release)
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
}

static void *helper(void *arg)
{
	make_task(&orphan, orphan_entry, &helper_ctx);
	if (swapcontext(&helper_ctx, &orphan.ctx) != 0)
		abort();
	return arg;
}

/* --- both sides of the fork ----------------------------------------------------- */

static void check_tasks_at_fork(const char *side)
{
	costack_task_t ids[64];
	size_t count = costack_all_tasks(ids, 64);
	int seen = 0;
	char what[64];

	for (size_t i = 0; i < count && i < 64; i++)
		seen |= (ids[i] == root_id) | (ids[i] == sleeper.id) << 1 |
		        (ids[i] == fresh.id) << 2;
	check(seen == 7, "%s: all_tasks lists main, the suspended and the created task", side);
	snprintf(what, sizeof(what), "%s: the suspended task", side);
	CHECK_STACK(sleeper.id, 0, what, "fork_entry", "fork_a", "fork_yield");
	snprintf(what, sizeof(what), "%s: the created task", side);
	CHECK_STACK(fresh.id, 0, what, "fresh_entry");
	check(costack_current_task() == root_id, "%s: main is the current task", side);
}

STACK_FN void child_main(void)
{
	struct costack_task_info info = {.size = sizeof(info)};

	if (checks) {
		int status;

		check_tasks_at_fork("child");
		status = costack_task_info(root_id, &info);
		check(status == 0 && info.thread == getpid() && info.state == COSTACK_RUNNING,
		      "child: main is running on the child's thread %d (task_info says %d)",
		      (int)getpid(), (int)info.thread);
		check_no_stack(orphan.id, COSTACK_CANCELLED,
		               "child: the task running on another thread at the fork");
	}

	make_task(&newborn, newborn_entry, &main_ctx);
	if (checks)
		CHECK_STACK(newborn.id, 0, "child: a new task", "newborn_entry");
	run_task(&newborn);
	if (checks)
		check_no_stack(newborn.id, COSTACK_DONE, "child: the new task after it returned");

	run_task(&sleeper);
	run_task(&fresh);
	if (checks) {
		check_no_stack(sleeper.id, COSTACK_DONE, "child: the suspended task, finished");
		check_no_stack(fresh.id, COSTACK_DONE, "child: the created task, finished");
	}
	fflush(stdout);
	_exit(check_failures() ? 1 : CHILD_STATUS);
}

int main(int argc, char **argv)
{
	pthread_t thread;
	int status;
	pid_t child;

	checks = check_init("fork", argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (checks)
		root_id = costack_current_task();
	make_task(&sleeper, fork_entry, &main_ctx);
	run_task(&sleeper);
	make_task(&fresh, fresh_entry, &main_ctx);

	if (pthread_create(&thread, NULL, helper, NULL) != 0)
		abort();
	pthread_mutex_lock(&lock);
	while (!orphan_running)
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
	if (checks) {
		check_tasks_at_fork("parent");
		check_state(orphan.id, COSTACK_RUNNING, "parent: the helper thread's task");
	}

	printf("forking\n");
	fflush(stdout);
	child = fork();
	if (child < 0)
		abort();
	if (child == 0)
		child_main();

	if (waitpid(child, &status, 0) != child)
		abort();
	printf("parent: child exited with status %d\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	check(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_STATUS,
	      "parent: the child's exit status passed through (%d)", CHILD_STATUS);

	if (checks) {
		check_tasks_at_fork("parent after the fork");
		check_state(orphan.id, COSTACK_RUNNING, "parent after the fork: the helper's task");
	}
	pthread_mutex_lock(&lock);
	orphan_release = 1;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	run_task(&sleeper);
	run_task(&fresh);
	if (checks) {
		check_no_stack(orphan.id, COSTACK_DONE, "parent: the helper's task, finished");
		check_no_stack(sleeper.id, COSTACK_DONE, "parent: the suspended task, finished");
		check_no_stack(fresh.id, COSTACK_DONE, "parent: the created task, finished");
	}
	return check_finish();
}
