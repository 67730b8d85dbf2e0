/* SPDX-License-Identifier: MIT */
/* demo.c - `make demo`: asyncio's create_task/say_after on ucontext, with print_stack(). */
/* clang-format off */
#define _GNU_SOURCE
#define COSTACK_OPTIONAL
#include <costack.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/*
 * The Python it mirrors:
 *
 *     async def say_after(delay, what):
 *         await asyncio.sleep(delay)
 *         print(what)
 *
 *     async def main():
 *         task1 = asyncio.create_task(say_after(1, 'hello'))
 *         task2 = asyncio.create_task(say_after(2, 'world'))
 *         await task1
 *         await task2
 *
 * Time is virtual: sleep() suspends a task until the scheduler's clock has
 * moved on, so the demo runs at once and prints the same every time.
 *
 * For scripts/demo.sh, to be read from outside and from a trace: with
 * --pause, it stops at the moment both tasks sleep until a line comes on
 * stdin; with --pause or --time, each moment's wall-clock time goes to
 * stderr ("demo: at SECONDS.NANOSECONDS: MOMENT"), as `costack stacks TRACE
 * --at` takes it.
 */

#define NTASKS 2
#define STACK_SIZE (64 * 1024)

struct task {
	ucontext_t context;
	char stack[STACK_SIZE];
	int wake_at;
	int done;
	costack_task_t id;
};

static ucontext_t scheduler;
static struct task tasks[NTASKS];
static struct task *running;
static int now;
static const char *const words[NTASKS] = { "hello", "world" };
static int show_time, pause_asleep;

__attribute__((noinline)) static void sleep_for(int seconds)
{
	running->wake_at = now + seconds;
	swapcontext(&running->context, &scheduler);
	__asm__ volatile(""); /* keep the frame: no tail call */
}

__attribute__((noinline)) static void say_after(int delay, int what)
{
	sleep_for(delay);
	printf("%d s: %s\n", now, words[what]);
}

static void print_all(const char *moment)
{
	struct timespec at;

	clock_gettime(CLOCK_REALTIME, &at);
	printf("\n-- %s --\n", moment);
	fflush(stdout);
	if (show_time)
		fprintf(stderr, "demo: at %lld.%09ld: %s\n", (long long)at.tv_sec, at.tv_nsec, moment);
	for (int i = 0; i < NTASKS; i++)
		costack_print_stack(tasks[i].id, 0, stdout);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char name[32];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--time")) {
			show_time = 1;
		} else if (!strcmp(argv[i], "--pause")) {
			show_time = pause_asleep = 1;
		} else {
			fprintf(stderr, "usage: demo [--time] [--pause]\n");
			return 2;
		}
	}
	for (int i = 0; i < NTASKS; i++) {
		getcontext(&tasks[i].context);
		tasks[i].context.uc_stack.ss_sp = tasks[i].stack;
		tasks[i].context.uc_stack.ss_size = sizeof(tasks[i].stack);
		tasks[i].context.uc_link = &scheduler;
		makecontext(&tasks[i].context, (void (*)(void))say_after, 2, i + 1, i);
		if (costack_available()) {
			tasks[i].id = costack_task_at(tasks[i].stack + STACK_SIZE / 2);
			snprintf(name, sizeof(name), "say_after(%d, \"%s\")", i + 1, words[i]);
			costack_set_task_name(tasks[i].id, name);
		}
	}
	if (!costack_available()) {
		fprintf(stderr, "demo: run me under libcostack.so: costack run -- %s\n", "demo");
		return 1;
	}
	print_all("two tasks made, not started (asyncio shows the coroutine's first line)");

	/* The event loop: run every task whose time has come, until all are done. */
	for (int finished = 0; finished < NTASKS; now++) {
		for (int i = 0; i < NTASKS; i++) {
			if (tasks[i].done || tasks[i].wake_at > now)
				continue;
			running = &tasks[i];
			swapcontext(&scheduler, &tasks[i].context);
			if (costack_task_state(tasks[i].id) == COSTACK_DONE) {
				tasks[i].done = 1;
				finished++;
			}
		}
		if (now == 0) {
			print_all("both asleep in sleep_for() (asyncio: suspended at the await)");
			if (pause_asleep) {
				char line[16];

				fprintf(stderr, "demo: paused, pid %d; a line on stdin goes on\n",
					(int)getpid());
				if (!fgets(line, sizeof(line), stdin))
					clearerr(stdin);
			}
		}
	}
	print_all("both finished (asyncio: no stack)");
	return 0;
}
