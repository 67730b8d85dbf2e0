/* SPDX-License-Identifier: MIT */
/* fcontext_sched.c - a scheduler of the program's own on Boost.Context's
 * make_fcontext/jump_fcontext, as pdns-recursor's MTasker: a task's entry ends with a last jump
 * back, never resumed; its stack is unmapped then. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "truth.h"

/*
 * Boost.Context's C interface (libboost_context), as MTasker calls it. Each task runs
 * task_entry(), which calls the task's body and ends with a last jump_fcontext back to the
 * scheduler: at -O2 a tail call (the start code's return address is then the switch's own), at
 * -O0 a call whose return is never reached. The scheduler never resumes a finished task: it
 * unmaps its stack at once, then looks at it (a finished task reads done within one switch).
 *
 * Phases (truth.h): "mid", with a task waiting (in task_yield, the scheduler's own), one
 * finished, one never run;
 * then 10,000 tasks made and finished; "end", the same three, and the waiter finished.
 * stdout says what happened, the same with and without costack.
 */
typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;

fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
transfer_t jump_fcontext(fcontext_t to, void *vp);

#define STACK_SIZE (128 * 1024)
#define MANY 10000

struct mtask {
	const char *role;
	fcontext_t ctx;
	char *stack;
	costack_task_t id;
	bool finished;
	int wakeups;
	void (*body)(struct mtask *self);
};

/* Where the running task jumps back to: the scheduler's context, as the last jump into it left it.
 */
static fcontext_t scheduler;
static int failures;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		failures++;
		printf("FAILED: %s\n", what);
	}
}

TRUTH_FN void task_yield(struct mtask *self)
{
	transfer_t t = jump_fcontext(scheduler, self);

	scheduler = t.fctx;
	KEEP_FRAME();
}

TRUTH_FN void wait_for_event(struct mtask *self)
{
	while (!self->wakeups)
		task_yield(self);
	KEEP_FRAME();
}

TRUTH_FN void waiter_body(struct mtask *self)
{
	wait_for_event(self);
	KEEP_FRAME();
}

TRUTH_FN void quick_body(struct mtask *self)
{
	(void)self;
	KEEP_FRAME();
}

/* MTasker's threadWrapper: the body, then the last jump back to the scheduler. */
TRUTH_FN void task_entry(transfer_t t)
{
	struct mtask *self = t.data;

	scheduler = t.fctx;
	self->body(self);
	self->finished = true;
	jump_fcontext(scheduler, self);
}

static void task_make(struct mtask *t, const char *role, void (*body)(struct mtask *))
{
	memset(t, 0, sizeof(*t));
	t->role = role;
	t->body = body;
	t->stack =
	        mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->stack == MAP_FAILED)
		abort();
	t->ctx = make_fcontext(t->stack + STACK_SIZE, STACK_SIZE, task_entry);
	t->id = truth_self() ? costack_task_at(t->stack + STACK_SIZE / 2) : 0;
}

/* Run t until it waits or ends; a finished task's stack is unmapped at once. */
static void task_run(struct mtask *t)
{
	transfer_t back = jump_fcontext(t->ctx, t);

	t->ctx = back.fctx;
	if (t->finished) {
#ifdef __OPTIMIZE__
		/* task_entry's last jump is a tail call (the start code's return address is the
		 * switch's own): done at that very switch, before its stack is freed. */
		if (t->id)
			expect(costack_task_state(t->id) == COSTACK_DONE,
			       "a task whose entry tail-calls its last switch is done at once");
#endif
		munmap(t->stack, STACK_SIZE);
		t->stack = NULL;
		/* No switch since its last one: it reads done already. */
		if (t->id)
			expect(costack_task_state(t->id) == COSTACK_DONE,
			       "a finished task is done within one switch");
	}
}

int main(void)
{
	struct mtask waiter, finisher, fresh, many;
	int done_many = 0;

	task_make(&waiter, "waiter", waiter_body);
	task_make(&finisher, "finisher", quick_body);
	task_make(&fresh, "fresh", quick_body);
	task_run(&waiter);
	task_run(&finisher);
	task_run(&waiter);
	printf("waiter waits, finisher finished: %d\n", finisher.finished);
	truth_phase("mid",
	            (struct truth[]){
	                    {"waiter", waiter.id, "suspended", NULL, "task_entry", "task_yield"},
	                    {"finisher", finisher.id, "done", NULL, "task_entry", NULL},
	                    {"fresh", fresh.id, "created", NULL, "task_entry", "task_entry"},
	            },
	            3);

	/* A long-running server's tasks: none of them stays behind. */
	for (int i = 0; i < MANY; i++) {
		task_make(&many, "many", quick_body);
		task_run(&many);
		done_many += many.finished;
	}
	if (waiter.id) {
		costack_task_t ids[16];

		/* main, the waiter and the fresh one: the only tasks not ended */
		expect(costack_all_tasks(ids, 16) == 3, "after 10000 tasks, 3 unfinished");
	}
	printf("%d tasks made and finished\n", done_many);
	waiter.wakeups = 1;
	task_run(&waiter);
	printf("waiter finished: %d\n", waiter.finished);
	/* The finisher is no longer kept: the 10,000 that ended since took its place
	 * (COSTACK_ENDED). */
	truth_phase("end",
	            (struct truth[]){
	                    {"waiter", waiter.id, "done", NULL, "task_entry", NULL},
	                    {"fresh", fresh.id, "created", NULL, "task_entry", "task_entry"},
	            },
	            2);
	munmap(fresh.stack, STACK_SIZE);
	if (fresh.id)
		expect(costack_task_state(fresh.id) == COSTACK_CANCELLED,
		       "a task never run whose stack is freed is cancelled");
	truth_next_descriptor();
	return failures ? 1 : 0;
}
