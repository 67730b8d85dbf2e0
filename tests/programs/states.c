/* SPDX-License-Identifier: MIT */
/* states.c - a ucontext scheduler with a task in every state; each one's get_stack() checked. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

#define STACK_SIZE (128 * 1024)

struct task {
	ucontext_t ctx;
	char *stack;
	costack_task_t id;      /* found by the scheduler: costack_task_at(its stack) */
	costack_task_t self_id; /* what the task itself saw: costack_current_task() */
};

static ucontext_t main_ctx;
static bool checks;
static costack_task_t root_id;
static struct task created, sleeper, runner, victim, usurper, doomed, heir, ping, pong;
/* Source lines of the calls on the sleeper's stack, for print_stack's file:line. */
static int entry_line, a_line, b_line, yield_line;

/* The yield helper: every task suspends here. */
STACK_FN void task_yield(struct task *t)
{
	yield_line = __LINE__ + 1;
	if (swapcontext(&t->ctx, &main_ctx) != 0)
		abort();
}

/* The scheduler's side of a switch: main is suspended here while t runs. */
STACK_FN void run_task(struct task *t)
{
	if (swapcontext(&main_ctx, &t->ctx) != 0)
		abort();
}

static void make_task(struct task *t, void (*entry)(void), char *stack)
{
	if (getcontext(&t->ctx) != 0)
		abort();
	t->stack = stack ? stack : coroutine_stack_new(STACK_SIZE);
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = STACK_SIZE;
	t->ctx.uc_link = &main_ctx;
	makecontext(&t->ctx, entry, 0);
	t->id = checks ? costack_task_at(t->stack + STACK_SIZE / 2) : 0;
}

/* costack_print_stack()'s text. */
static char *print_stack_text(costack_task_t task, int limit, int *status)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		abort();
	*status = costack_print_stack(task, limit, f);
	fclose(f);
	return text;
}

/* The n-th line (0: the header) of text, copied into buf. */
static const char *nth_line(const char *text, int n, char *buf, size_t size)
{
	const char *end;

	for (; n > 0 && text; n--) {
		text = strchr(text, '\n');
		if (text)
			text++;
	}
	if (!text || !*text)
		return NULL;
	end = strchr(text, '\n');
	snprintf(buf, size, "%.*s", (int)(end ? end - text : (long)strlen(text)), text);
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* --- created ------------------------------------------------------------ */

STACK_FN void created_entry(void)
{
	/* Never runs. */
	abort();
}

static void check_created(void)
{
	struct costack_task_info info = {.size = sizeof(info)};
	void *frames[FRAMES_MAX];
	char line[512];
	char *text;
	int n, status;

	check(created.id != 0, "created: costack_task_at(its stack) finds the task");
	check_state(created.id, COSTACK_CREATED, "created");
	n = costack_get_stack(created.id, frames, sizeof(frames) / sizeof(*frames), 0);
	check(n == 1 && frames[0] == (void *)created_entry,
	      "created: get_stack is one frame, the entry function itself (%d frames, %p vs %p)", n,
	      n > 0 ? frames[0] : NULL, (void *)created_entry);
	CHECK_STACK(created.id, 0, "created", "created_entry");
	CHECK_STACK(created.id, 1, "created, size 1", "created_entry");
	check(costack_task_info(created.id, &info) == 0 && info.id == created.id &&
	              info.state == COSTACK_CREATED && info.runtime == COSTACK_RUNTIME_UCONTEXT &&
	              info.entry == (void *)created_entry && info.parent == root_id &&
	              info.stack_lo == created.stack &&
	              info.stack_hi == created.stack + STACK_SIZE && info.switches == 0,
	      "created: task_info: entry, parent (main), runtime ucontext, stack range, 0 "
	      "switches");

	text = print_stack_text(created.id, 0, &status);
	char header[128];
	snprintf(header, sizeof(header), "Stack for <Task created id=%llu ",
	         (unsigned long long)created.id);
	check(status == 0 && nth_line(text, 0, line, sizeof(line)) &&
	              !strncmp(line, header, strlen(header)) &&
	              strstr(line, " entry=created_entry()") &&
	              ends_with(line, "> (most recent call last):"),
	      "created: print_stack header: '%s'", nth_line(text, 0, line, sizeof(line)));
	check(count_lines(text) == 2 && nth_line(text, 1, line, sizeof(line)) &&
	              !strncmp(line, "  File \"", 8) && strstr(line, "states.c\", line ") &&
	              ends_with(line, ", in created_entry"),
	      "created: print_stack shows the entry function: '%s'",
	      nth_line(text, 1, line, sizeof(line)) ? line : "(none)");
	free(text);
}

/* --- suspended ------------------------------------------------------------ */

STACK_FN void sleeper_b(struct task *t)
{
	b_line = __LINE__ + 1;
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void sleeper_a(struct task *t)
{
	a_line = __LINE__ + 1;
	sleeper_b(t);
	KEEP_FRAME();
}

STACK_FN void sleeper_entry(void)
{
	if (checks)
		sleeper.self_id = costack_current_task();
	entry_line = __LINE__ + 1;
	sleeper_a(&sleeper);
	KEEP_FRAME();
}

static void check_sleeper_frames(void)
{
	void *frames[8];
	int n;

	check(sleeper.id != 0 && sleeper.self_id == sleeper.id,
	      "suspended: the task saw itself as the task on its stack (%llu, %llu)",
	      (unsigned long long)sleeper.self_id, (unsigned long long)sleeper.id);
	check_state(sleeper.id, COSTACK_SUSPENDED, "suspended");
	CHECK_STACK(sleeper.id, 0, "suspended", "sleeper_entry", "sleeper_a", "sleeper_b",
	            "task_yield");
	CHECK_STACK(sleeper.id, 4, "suspended, size = depth", "sleeper_entry", "sleeper_a",
	            "sleeper_b", "task_yield");
	CHECK_STACK(sleeper.id, 100, "suspended, size > depth", "sleeper_entry", "sleeper_a",
	            "sleeper_b", "task_yield");
	CHECK_STACK(sleeper.id, 2, "suspended, size 2 keeps the newest", "sleeper_b", "task_yield");
	CHECK_STACK(sleeper.id, 1, "suspended, size 1 keeps the newest", "task_yield");
	CHECK_STACK(sleeper.id, -1, "suspended, size -1 is no limit", "sleeper_entry", "sleeper_a",
	            "sleeper_b", "task_yield");

	/* A cut stack writes no more than size frames. */
	for (int i = 0; i < 8; i++)
		frames[i] = (void *)(uintptr_t)0x5a5a5a5a;
	n = costack_get_stack(sleeper.id, frames, sizeof(frames) / sizeof(*frames), 2);
	check(n == 2 && frames[2] == (void *)(uintptr_t)0x5a5a5a5a,
	      "suspended, size 2: 2 frames written, frames[2] untouched");
}

static void check_sleeper_info(void)
{
	struct costack_task_info info = {.size = sizeof(info)};

	int status = costack_task_info(sleeper.id, &info);

	check(status == 0 && info.state == COSTACK_SUSPENDED &&
	              info.entry == (void *)sleeper_entry && info.parent == root_id &&
	              info.switches == 1 && info.thread == getpid() &&
	              info.runtime == COSTACK_RUNTIME_UCONTEXT,
	      "suspended: task_info: suspended, entry, parent, 1 switch, thread %d (got %d)",
	      (int)getpid(), (int)info.thread);
	check(costack_set_task_name(sleeper.id, "sleeper") == 0 &&
	              costack_task_info(sleeper.id, &info) == 0 && !strcmp(info.name, "sleeper"),
	      "suspended: set_task_name then task_info gives the name");
}

static void check_sleeper_print(void)
{
	const char *fns[] = {"sleeper_entry", "sleeper_a", "sleeper_b", "task_yield"};
	int lines[] = {entry_line, a_line, b_line, yield_line};
	char line[512], header[256], want[256];
	char *text;
	int status;

	text = print_stack_text(sleeper.id, 0, &status);
	snprintf(header, sizeof(header), "Stack for <Task suspended id=%llu name='sleeper' ",
	         (unsigned long long)sleeper.id);
	check(status == 0 && nth_line(text, 0, line, sizeof(line)) &&
	              !strncmp(line, header, strlen(header)) &&
	              strstr(line, " entry=sleeper_entry()") && strstr(line, " runtime=ucontext") &&
	              ends_with(line, "> (most recent call last):"),
	      "suspended: print_stack header: '%s'",
	      nth_line(text, 0, line, sizeof(line)) ? line : "(none)");
	check(count_lines(text) == 5, "suspended: print_stack prints 4 frames (%d lines)",
	      count_lines(text));
	for (int i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "states.c\", line %d, in %s", lines[i], fns[i]);
		check(nth_line(text, i + 1, line, sizeof(line)) && !strncmp(line, "  File \"", 8) &&
		              ends_with(line, want),
		      "suspended: print_stack frame %d is '…%s' (got '%s')", i, want,
		      nth_line(text, i + 1, line, sizeof(line)) ? line : "(none)");
	}
	free(text);

	text = print_stack_text(sleeper.id, 2, &status);
	check(status == 0 && count_lines(text) == 3 && nth_line(text, 1, line, sizeof(line)) &&
	              ends_with(line, "in sleeper_b") && nth_line(text, 2, line, sizeof(line)) &&
	              ends_with(line, "in task_yield"),
	      "suspended: print_stack limit 2 prints the newest 2 frames");
	free(text);
}

/* --- running -------------------------------------------------------------- */

STACK_FN void runner_check(void)
{
	costack_task_t self = costack_current_task();
	char line[512], header[128];
	char *text;
	int status;

	runner.self_id = self;
	check(self != 0 && self == runner.id && self == costack_task_at(&self),
	      "running: costack_current_task() is the task on this stack");
	check_state(self, COSTACK_RUNNING, "running");
	void *frames[FRAMES_MAX];
	int n = costack_get_stack(self, frames, sizeof(frames) / sizeof(*frames), 0);
	CHECK_FRAMES(frames, n, "running, asked by itself", "runner_entry", "runner_check");
	n = costack_get_stack(self, frames, sizeof(frames) / sizeof(*frames), 1);
	CHECK_FRAMES(frames, n, "running, size 1", "runner_check");
	CHECK_STACK(root_id, 0, "main while a task runs", "...", "main", "run_task");
	check_state(root_id, COSTACK_SUSPENDED, "main while a task runs");

	/* Printed from here, so that this function is the innermost frame. */
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	status = costack_print_stack(self, 0, f);
	fclose(f);
	snprintf(header, sizeof(header), "Stack for <Task running id=%llu ",
	         (unsigned long long)self);
	check(status == 0 && nth_line(text, 0, line, sizeof(line)) &&
	              !strncmp(line, header, strlen(header)) && count_lines(text) == 3 &&
	              nth_line(text, 2, line, sizeof(line)) && ends_with(line, "in runner_check"),
	      "running: print_stack of itself ends in runner_check");
	free(text);

	costack_task_t ids[64];
	size_t count = costack_all_tasks(ids, 64);
	int seen = 0;
	for (size_t i = 0; i < count && i < 64; i++)
		seen |= (ids[i] == root_id) | (ids[i] == created.id) << 1 |
		        (ids[i] == sleeper.id) << 2 | (ids[i] == self) << 3;
	check(seen == 15, "all_tasks lists main, the created, the suspended and the running task");
}

STACK_FN void runner_entry(void)
{
	if (checks)
		runner_check();
	KEEP_FRAME();
}

/* --- cancelled ------------------------------------------------------------ */

STACK_FN void victim_entry(void)
{
	task_yield(&victim);
	/* Never resumed: its stack is taken over. */
	abort();
}

STACK_FN void usurper_entry(void)
{
	if (checks)
		usurper.self_id = costack_current_task();
	KEEP_FRAME();
}

/* --- task to task, and setcontext -------------------------------------------- */

STACK_FN void ping_to_pong(void)
{
	if (swapcontext(&ping.ctx, &pong.ctx) != 0)
		abort();
}

STACK_FN void ping_entry(void)
{
	ping_to_pong();
	KEEP_FRAME();
}

/* Leaves with setcontext: nothing is saved, it is never resumed. */
STACK_FN void pong_leave(void)
{
	setcontext(&main_ctx);
	abort();
}

STACK_FN void pong_entry(void)
{
	if (checks) {
		check(costack_current_task() == pong.id, "task to task: the second task runs");
		CHECK_STACK(ping.id, 0, "task to task: the first task", "ping_entry",
		            "ping_to_pong");
		check_state(root_id, COSTACK_SUSPENDED, "task to task: main");
	}
	pong_leave();
	KEEP_FRAME();
}

static void check_unknown(void)
{
	struct costack_task_info info = {.size = sizeof(info)};
	costack_task_t unknown = (costack_task_t)1 << 60;
	void *frames[4];
	FILE *devnull = fopen("/dev/null", "w");

	errno = 0;
	check(costack_get_stack(unknown, frames, sizeof(frames) / sizeof(*frames), 4) == -1 &&
	              errno == ESRCH,
	      "unknown task: get_stack = -1, errno ESRCH");
	errno = 0;
	check(costack_get_stack(0, frames, sizeof(frames) / sizeof(*frames), 4) == -1 &&
	              errno == ESRCH,
	      "task 0: get_stack = -1, errno ESRCH");
	errno = 0;
	check(costack_task_state(unknown) == -1 && errno == ESRCH,
	      "unknown task: task_state = -1, errno ESRCH");
	errno = 0;
	check(costack_print_stack(unknown, 0, devnull) == -1 && errno == ESRCH,
	      "unknown task: print_stack = -1, errno ESRCH");
	errno = 0;
	check(costack_task_info(unknown, &info) == -1 && errno == ESRCH,
	      "unknown task: task_info = -1, errno ESRCH");
	errno = 0;
	check(costack_set_task_name(unknown, "x") == -1 && errno == ESRCH,
	      "unknown task: set_task_name = -1, errno ESRCH");
	info.size = 8; /* smaller than any version of the struct */
	errno = 0;
	check(costack_task_info(root_id, &info) == -1 && errno == EINVAL,
	      "task_info with a bad size: -1, errno EINVAL");
	check(costack_task_at(&main_ctx) == 0, "task_at of an address on no stack is 0");
	check(!strcmp(costack_state_name(COSTACK_CANCELLED), "cancelled") &&
	              !strcmp(costack_state_name(42), "?"),
	      "state_name");
	fclose(devnull);
}

int main(int argc, char **argv)
{
	struct costack_task_info info = {.size = sizeof(info)};
	char *shared_stack;
	int status;
	char *text;

	checks = check_init("states", argc, argv);
	if (checks) {
		root_id = costack_current_task();
		check(root_id != 0 && costack_task_info(root_id, &info) == 0 &&
		              info.state == COSTACK_RUNNING &&
		              info.runtime == COSTACK_RUNTIME_THREAD && info.thread == getpid() &&
		              info.parent == 0,
		      "main is a running root task of runtime thread on thread %d", (int)getpid());
		void *frames[FRAMES_MAX];
		int n = costack_get_stack(root_id, frames, sizeof(frames) / sizeof(*frames), 0);
		CHECK_FRAMES(frames, n, "main asking about itself", "...", "main");
		check_unknown();
	}

	make_task(&created, created_entry, NULL);
	if (checks)
		check_created();

	make_task(&sleeper, sleeper_entry, NULL);
	run_task(&sleeper);
	if (checks) {
		check_sleeper_frames();
		check_sleeper_info();
		check_sleeper_print();
		check(costack_current_task() == root_id, "main runs again after the switch back");
	}

	make_task(&runner, runner_entry, NULL);
	run_task(&runner);
	if (checks) {
		check(runner.self_id == runner.id, "running: the task ran and checked itself");
		check_no_stack(runner.id, COSTACK_DONE, "done (entry returned to uc_link)");
		check(costack_task_info(runner.id, &info) == 0 && info.state == COSTACK_DONE &&
		              info.switches == 1,
		      "done: task_info still answers, 1 switch");
		text = print_stack_text(runner.id, 0, &status);
		char header[64];
		snprintf(header, sizeof(header), "No stack for <Task done id=%llu ",
		         (unsigned long long)runner.id);
		check(status == 0 && !strncmp(text, header, strlen(header)) &&
		              count_lines(text) == 1,
		      "done: print_stack says 'No stack for <Task done …>' on one line: '%.*s'",
		      (int)strcspn(text, "\n"), text);
		free(text);
		check(costack_current_task() == root_id &&
		              costack_task_state(root_id) == COSTACK_RUNNING,
		      "main runs again after the task ended");
		costack_task_t ids[64];
		size_t count = costack_all_tasks(ids, 64);
		bool listed = false;
		for (size_t i = 0; i < count && i < 64; i++)
			listed |= ids[i] == runner.id;
		check(!listed, "done: all_tasks no longer lists the task");
	}

	/* A suspended task whose stack a new task reuses is cancelled. */
	make_task(&victim, victim_entry, NULL);
	run_task(&victim);
	if (checks)
		CHECK_STACK(victim.id, 0, "victim before its stack is reused", "victim_entry",
		            "task_yield");
	make_task(&usurper, usurper_entry, victim.stack);
	if (checks) {
		check_no_stack(victim.id, COSTACK_CANCELLED,
		               "cancelled (suspended, stack reused by makecontext)");
		check(usurper.id != 0 && usurper.id != victim.id,
		      "the new task on the reused stack is a new task");
		CHECK_STACK(usurper.id, 0, "the new task on the reused stack", "usurper_entry");
	}
	run_task(&usurper);
	if (checks) {
		check(usurper.self_id == usurper.id, "the new task on the reused stack ran");
		check_no_stack(usurper.id, COSTACK_DONE, "the new task on the reused stack");
	}

	/* So is a created one. */
	shared_stack = coroutine_stack_new(STACK_SIZE);
	make_task(&doomed, created_entry, shared_stack);
	make_task(&heir, usurper_entry, shared_stack);
	if (checks) {
		check_no_stack(doomed.id, COSTACK_CANCELLED,
		               "cancelled (created, stack reused by makecontext)");
		check_state(heir.id, COSTACK_CREATED, "the heir of a created task's stack");
	}
	run_task(&heir);

	/* A task switches to another one, which leaves with setcontext. */
	make_task(&ping, ping_entry, NULL);
	make_task(&pong, pong_entry, NULL);
	run_task(&ping);
	if (checks) {
		check(costack_current_task() == root_id,
		      "main runs again after a setcontext to it");
		CHECK_STACK(ping.id, 0, "task to task, back in main: the first task", "ping_entry",
		            "ping_to_pong");
		CHECK_STACK(pong.id, 0, "a task that left with setcontext", "pong_entry",
		            "pong_leave");
	}
	if (swapcontext(&main_ctx, &ping.ctx) != 0) /* ping returns: done */
		abort();
	if (checks)
		check_no_stack(ping.id, COSTACK_DONE, "task to task: the first task, finished");

	/* The suspended task finishes. */
	run_task(&sleeper);
	if (checks)
		check_no_stack(sleeper.id, COSTACK_DONE, "done (the suspended task finished)");

	return check_finish();
}
