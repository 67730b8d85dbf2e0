/* SPDX-License-Identifier: MIT */
/* many_args.c - tasks made with 0 to 7 arguments: the same stacks and states for each. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include "check.h"

/*
 * The ucontext adapter starts tasks through a trampoline of its own, which
 * has room for five of the entry's arguments; a task made with more starts
 * at its entry directly. To a user both must look the same: the suspended
 * stack is [args_entry, args_yield], a returned task is done with no frames,
 * and the arguments arrive intact.
 */

#define STACK_SIZE (128 * 1024)

static ucontext_t main_ctx, *task_ctx;
static int nargs;
static long received;

STACK_FN void args_yield(void)
{
	if (swapcontext(task_ctx, &main_ctx) != 0)
		abort();
}

STACK_FN void args_entry(long a0, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long got[] = {a0, a1, a2, a3, a4, a5, a6};

	received = 0;
	for (int i = 0; i < nargs; i++)
		received = received * 10 + got[i];
	args_yield();
	KEEP_FRAME();
}

/* Apart from run_with(): getcontext returns twice, which its locals would not survive. */
static __attribute__((noinline)) ucontext_t *new_context(char *stack)
{
	ucontext_t *ctx = calloc(1, sizeof(*ctx));

	if (!ctx || getcontext(ctx) != 0)
		abort();
	ctx->uc_stack.ss_sp = stack;
	ctx->uc_stack.ss_size = STACK_SIZE;
	ctx->uc_link = &main_ctx;
	return ctx;
}

/* Each count gets a context and a stack of its own, kept to the end: no
 * task's leftovers can be mistaken for the next one's. */
static void run_with(int count, bool checks)
{
	costack_task_t task = 0;
	char *stack = coroutine_stack_new(STACK_SIZE);
	char what[64];
	long want = 0;

	nargs = count;
	for (int i = 0; i < nargs; i++)
		want = want * 10 + i + 1;
	task_ctx = new_context(stack);
	makecontext(task_ctx, (void (*)(void))args_entry, nargs, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
	if (swapcontext(&main_ctx, task_ctx) != 0)
		abort();
	printf("many_args: %d arguments arrived as %ld%s\n", nargs, received,
	       received == want ? "" : "  <- WRONG");

	if (checks) {
		task = costack_task_at(stack);
		snprintf(what, sizeof(what), "%d arguments, suspended", nargs);
		CHECK_STACK(task, 0, what, "args_entry", "args_yield");
	}
	if (swapcontext(&main_ctx, task_ctx) != 0) /* it returns to uc_link */
		abort();
	if (checks) {
		costack_task_t root = costack_current_task();

		snprintf(what, sizeof(what), "%d arguments, returned", nargs);
		check_no_stack(task, COSTACK_DONE, what);
		check(root != task && costack_task_state(root) == COSTACK_RUNNING,
		      "%d arguments: main is the running task again", nargs);
	}
}

int main(int argc, char **argv)
{
	static const int counts[] = {0, 1, 5, 6, 7};
	bool checks = check_init("many_args", argc, argv);

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t c = 0; c < sizeof(counts) / sizeof(*counts); c++)
		run_with(counts[c], checks);
	return check_finish();
}
