/* SPDX-License-Identifier: MIT */
/* asyncio_examples.c - asyncio's say_after examples on ucontext, with a virtual clock. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "check.h"

/*
 * The Python being ported (https://docs.python.org/3/library/asyncio-task.html):
 *
 *     async def say_after(delay, what):
 *         await asyncio.sleep(delay)
 *         print(what)
 *
 *     async def main():
 *         print(f"started at {time.strftime('%X')}")
 *         await say_after(1, 'hello')
 *         await say_after(2, 'world')
 *         print(f"finished at {time.strftime('%X')}")
 *
 *     async def main():
 *         task1 = asyncio.create_task(say_after(1, 'hello'))
 *         task2 = asyncio.create_task(say_after(2, 'world'))
 *         print(f"started at {time.strftime('%X')}")
 *         await task1
 *         await task2
 *         print(f"finished at {time.strftime('%X')}")
 *
 * Time is virtual: sleep(d) suspends the task until the loop's clock reaches
 * now + d, and the loop jumps its clock to the next wake-up when no task is
 * ready. Nothing really sleeps, so the run is deterministic.
 */

#define STACK_SIZE (128 * 1024)
#define MAX_TASKS 8
#define MAX_EXPECT 4

enum task_state { T_READY, T_RUNNING, T_SLEEPING, T_AWAITING, T_DONE };

struct task {
	ucontext_t ctx;
	char *stack;
	enum task_state state;
	long wake_at;
	long sleep_seq; /* ties between equal wake-ups go in sleep order, as in asyncio */
	struct task *waiter;
	costack_task_t id;
	/* What get_stack must show while it sleeps and while it awaits. */
	const char *sleep_frames[MAX_EXPECT], *await_frames[MAX_EXPECT];
	int sleep_depth, await_depth;
};

static bool checks;
static ucontext_t loop_ctx;
static struct task tasks[MAX_TASKS];
static int ntasks, task_counter;
static struct task *current;
static struct task *ready[MAX_TASKS];
static int nready;
static long now, sleep_counter;

/* --- the event loop ----------------------------------------------------------- */

static void schedule(struct task *t)
{
	t->state = T_READY;
	ready[nready++] = t;
}

static struct task *new_task(void (*entry)(void), int argc, long a0, long a1)
{
	struct task *t = &tasks[ntasks++];
	char name[24];

	if (getcontext(&t->ctx) != 0)
		abort();
	t->stack = coroutine_stack_new(STACK_SIZE);
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = STACK_SIZE;
	t->ctx.uc_link = &loop_ctx;
	makecontext(&t->ctx, entry, argc, a0, a1);
	if (checks) {
		t->id = costack_task_at(t->stack);
		snprintf(name, sizeof(name), "Task-%d", ++task_counter);
		costack_set_task_name(t->id, name);
	}
	schedule(t);
	return t;
}

static void expect_sleep(struct task *t, int n, const char *const *frames)
{
	t->sleep_depth = n;
	if (n)
		memcpy(t->sleep_frames, frames, (size_t)n * sizeof(*frames));
}

static void expect_await(struct task *t, int n, const char *const *frames)
{
	t->await_depth = n;
	if (n)
		memcpy(t->await_frames, frames, (size_t)n * sizeof(*frames));
}

/* asyncio.sleep(delay) */
STACK_FN void async_sleep(long delay)
{
	struct task *self = current;

	self->wake_at = now + delay;
	self->sleep_seq = sleep_counter++;
	self->state = T_SLEEPING;
	/* Switches right here, so that this function is the innermost frame. */
	if (swapcontext(&self->ctx, &loop_ctx) != 0)
		abort();
}

/* await task */
STACK_FN void await_task(struct task *t)
{
	struct task *self = current;

	if (t->state == T_DONE)
		return;
	t->waiter = self;
	self->state = T_AWAITING;
	if (swapcontext(&self->ctx, &loop_ctx) != 0)
		abort();
}

static void print_time(const char *what)
{
	printf("%s at %02ld:%02ld:%02ld\n", what, now / 3600, now / 60 % 60, now % 60);
}

/* The loop has nothing ready: every task waits, and its stack says where. */
static void check_waiting_tasks(void)
{
	char what[64];

	for (int i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];

		if (t->state != T_SLEEPING && t->state != T_AWAITING)
			continue;
		snprintf(what, sizeof(what), "t=%lds, Task-%d %s", now, i + 1,
		         t->state == T_SLEEPING ? "sleeping" : "awaiting");
		check_state(t->id, COSTACK_SUSPENDED, what);
		if (t->state == T_SLEEPING)
			check_stack(t->id, 0, what, t->sleep_frames, t->sleep_depth);
		else
			check_stack(t->id, 0, what, t->await_frames, t->await_depth);
		if (!check_is_quiet())
			costack_print_stack(t->id, 0, stdout);
	}
}

static void run_until_complete(struct task *main_task)
{
	while (main_task->state != T_DONE) {
		if (!nready) {
			struct task *next = NULL;

			if (checks)
				check_waiting_tasks();
			for (int i = 0; i < ntasks; i++)
				if (tasks[i].state == T_SLEEPING &&
				    (!next || tasks[i].wake_at < next->wake_at ||
				     (tasks[i].wake_at == next->wake_at &&
				      tasks[i].sleep_seq < next->sleep_seq)))
					next = &tasks[i];
			if (!next)
				abort(); /* deadlock: the examples have none */
			now = next->wake_at;
			schedule(next);
			continue;
		}
		current = ready[0];
		memmove(ready, ready + 1, (size_t)--nready * sizeof(*ready));
		current->state = T_RUNNING;
		if (swapcontext(&loop_ctx, &current->ctx) != 0)
			abort();
		if (current->state == T_RUNNING) { /* its coroutine returned */
			current->state = T_DONE;
			if (current->waiter)
				schedule(current->waiter);
		}
		current = NULL;
	}
}

/* asyncio.run(main()); the main task's stacks while it sleeps and while it awaits. */
static void asyncio_run(void (*entry)(void), const char *const *sleep_frames, int sleep_depth,
                        const char *const *await_frames, int await_depth)
{
	struct task *t;

	ntasks = task_counter = 0;
	now = 0;
	t = new_task(entry, 0, 0, 0);
	expect_sleep(t, sleep_depth, sleep_frames);
	expect_await(t, await_depth, await_frames);
	run_until_complete(t);
	for (int i = 0; i < ntasks; i++) {
		char what[64];

		snprintf(what, sizeof(what), "Task-%d after asyncio.run", i + 1);
		if (checks)
			check_no_stack(tasks[i].id, COSTACK_DONE, what);
		coroutine_stack_free(tasks[i].stack);
	}
}

/* --- the examples --------------------------------------------------------------- */

STACK_FN void say_after(long delay, const char *what)
{
	async_sleep(delay);
	puts(what);
	KEEP_FRAME();
}

STACK_FN void main_sequential(void)
{
	print_time("started");
	say_after(1, "hello");
	say_after(2, "world");
	print_time("finished");
	KEEP_FRAME();
}

/* asyncio.create_task(say_after(delay, what)) */
static struct task *create_say_after(long delay, const char *what)
{
	static const char *const sleeping[] = {"say_after", "async_sleep"};
	struct task *t = new_task((void (*)(void))say_after, 2, delay, (long)what);

	expect_sleep(t, 2, sleeping);
	return t;
}

STACK_FN void main_concurrent(void)
{
	struct task *task1 = create_say_after(1, "hello");
	struct task *task2 = create_say_after(2, "world");

	if (checks) {
		/* Made, not yet run: asyncio shows the coroutine's first line. */
		CHECK_STACK(task1->id, 0, "task1 before it starts", "say_after");
		CHECK_STACK(task2->id, 0, "task2 before it starts", "say_after");
		check_state(task1->id, COSTACK_CREATED, "task1 before it starts");
	}
	print_time("started");
	await_task(task1);
	if (checks) {
		check_no_stack(task1->id, COSTACK_DONE, "task1 after await task1");
		check_state(task2->id, COSTACK_SUSPENDED, "task2 after await task1");
	}
	await_task(task2);
	if (checks)
		check_no_stack(task2->id, COSTACK_DONE, "task2 after await task2");
	print_time("finished");
	KEEP_FRAME();
}

int main(int argc, char **argv)
{
	static const char *const sequential_sleep[] = {"main_sequential", "say_after",
	                                               "async_sleep"};
	static const char *const concurrent_await[] = {"main_concurrent", "await_task"};

	checks = check_init("asyncio_examples", argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);

	asyncio_run(main_sequential, sequential_sleep, 3, NULL, 0);
	asyncio_run(main_concurrent, NULL, 0, concurrent_await, 2);
	return check_finish();
}
