/* SPDX-License-Identifier: MIT */
/* test_stacks_out.c - costack stacks' writers (analysis/stacks_out.c) on tasks and a symbolizer
 * given by hand: --group by the frames down to the program's own innermost one, entry= by the
 * user's function. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "costack.h"
#include "stacks_out.h"

#define PROGRAM "/usr/bin/prog"
#define FIBER_LIB "/usr/lib/x86_64-linux-gnu/libboost_fiber.so.1.74.0"

/* Addresses: 0x1x the program's own functions, 0x2x Boost.Fiber's, 0x30 run_() with the user's
 * function inlined into it. */
static int symbolize(void *ctx, const struct stacks_task *t, uint64_t pc, bool is_return,
                     struct sym_frame *out, int cap)
{
	static const char *const own[] = {"main", "waiter", "wait_here", "other_wait"};
	static char names[64][32];

	(void)ctx, (void)t, (void)is_return, (void)cap;
	memset(out, 0, 2 * sizeof(*out));
	if (pc >= 0x10 && pc < 0x14) {
		out[0].function = own[pc - 0x10];
		out[0].module = PROGRAM;
		out[0].file = "../app/main.c";
		return 1;
	}
	if (pc >= 0x20 && pc < 0x28) {
		snprintf(names[pc], sizeof(names[pc]), "boost::fibers::internal%d", (int)pc);
		out[0].function = names[pc];
		out[0].module = FIBER_LIB;
		return 1;
	}
	if (pc == 0x30) {
		out[0].function = "boost::fibers::worker_context<void (*)()>::run_";
		out[0].file = "/usr/include/boost/fiber/context.hpp";
		out[0].module = PROGRAM;
		out[1].function = "waiter";
		out[1].file = "../app/main.c";
		out[1].module = PROGRAM;
		out[1].inlined = true;
		return 2;
	}
	return 0;
}

/* The text writer's output for tasks. */
static char *text_of(struct stacks_task *tasks, size_t n, bool group)
{
	struct stacks_report r = {
	        .tasks = tasks, .ntasks = n, .group = group, .symbolize = symbolize};
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f || stacks_write_text(f, &r))
		abort();
	fclose(f);
	return text;
}

static void test_group(void)
{
	/* oldest first: two tasks wait in wait_here through different Boost.Fiber internals;
	 * one waits elsewhere; one waits in Boost's frames only */
	static const uint64_t a[] = {0x11, 0x12, 0x20, 0x21};
	static const uint64_t b[] = {0x11, 0x12, 0x22, 0x23, 0x24};
	static const uint64_t c[] = {0x11, 0x13, 0x20, 0x21};
	static const uint64_t d[] = {0x25, 0x26};
	static const uint64_t e[] = {0x25, 0x27};
	struct stacks_task tasks[] = {
	        {.id = 1, .state = COSTACK_SUSPENDED, .frames = a, .nframes = 4},
	        {.id = 2, .state = COSTACK_SUSPENDED, .frames = b, .nframes = 5},
	        {.id = 3, .state = COSTACK_SUSPENDED, .frames = c, .nframes = 4},
	        {.id = 4, .state = COSTACK_SUSPENDED, .frames = d, .nframes = 2},
	        {.id = 5, .state = COSTACK_SUSPENDED, .frames = e, .nframes = 2},
	        {.id = 6, .state = COSTACK_RUNNING, .frames = a, .nframes = 4},
	};
	char *text = text_of(tasks, 6, true);

	CHECK(strstr(text, "2 tasks (ids 1, 2):\n") != NULL,
	      "waiting at the same frame of the program's own, through other runtime frames: one "
	      "group\n%s",
	      text);
	CHECK(strstr(text, "1 task (id 3):\n") && strstr(text, "1 task (id 6):\n"),
	      "another frame of its own, or another state: another group\n%s", text);
	CHECK(strstr(text, "1 task (id 4):\n") && strstr(text, "1 task (id 5):\n"),
	      "no frame of the program's own: grouped by all of them\n%s", text);
	free(text);
}

static void test_entry(void)
{
	struct stacks_task tasks[] = {
	        {.id = 1, .state = COSTACK_DONE, .entry = 0x30},
	        {.id = 2, .state = COSTACK_DONE, .entry = 0x20},
	};
	char *text = text_of(tasks, 2, false);

	CHECK(strstr(text, "id=1 entry=waiter() ") != NULL,
	      "an entry inlined into the runtime's code: the user's function\n%s", text);
	CHECK(strstr(text, "id=2 entry=boost::fibers::internal32() ") != NULL,
	      "an entry of the runtime's own: its function\n%s", text);
	free(text);
}

int main(void)
{
	test_group();
	test_entry();
	return check_finish("test_stacks_out");
}
