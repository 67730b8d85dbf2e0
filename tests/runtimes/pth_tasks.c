/* SPDX-License-Identifier: MIT */
/* pth_tasks.c - GNU Pth threads named, waiting, ended by pth_exit or by returning, cancelled,
 * aborted, never run: what the program knows of each. */
#define _GNU_SOURCE
#include <pth.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "truth.h"

/*
 * Debian's libpth switches its threads with makecontext/swapcontext: each thread is a costack
 * task whose entry is Pth's spawn trampoline. The program knows better: the function it gave
 * pth_spawn, the name it gave (PTH_ATTR_NAME, or the one Pth made up), where each thread waits,
 * and how it ended. Phase "mid" (truth.h): every thread in its state; phase "end": after the
 * sleeper was woken and joined.
 */

#define HOUR 3600

static costack_task_t ids[8];
static int event_fd[2];
static int failures;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		failures++;
		printf("FAILED: %s\n", what);
	}
}

/* The name Pth knows a thread by (the program's own view of it). */
static const char *name_of(pth_t t)
{
	static char names[8][64];
	static int next;
	pth_attr_t attr = pth_attr_of(t);
	char *name = NULL;
	char *copy = names[next++ % 8];

	if (attr) {
		pth_attr_get(attr, PTH_ATTR_NAME, &name);
		snprintf(copy, 64, "%s", name ? name : "");
		pth_attr_destroy(attr);
	}
	return copy;
}

TRUTH_FN void wait_here(void)
{
	char c;

	pth_read(event_fd[0], &c, 1);
	KEEP_FRAME();
}

TRUTH_FN void *sleeper_thread(void *arg)
{
	ids[0] = truth_self();
	(void)arg;
	wait_here();
	KEEP_FRAME();
	return NULL;
}

TRUTH_FN void exit_here(void)
{
	pth_exit((void *)1);
}

TRUTH_FN void *exiter_thread(void *arg)
{
	ids[1] = truth_self();
	(void)arg;
	exit_here();
	return NULL;
}

TRUTH_FN void *returner_thread(void *arg)
{
	ids[2] = truth_self();
	return arg;
}

TRUTH_FN void cancel_point_here(void)
{
	for (;;)
		pth_nap(pth_time(HOUR, 0));
}

TRUTH_FN void *cancelled_thread(void *arg)
{
	ids[3] = truth_self();
	(void)arg;
	cancel_point_here();
	return NULL;
}

TRUTH_FN void *aborted_thread(void *arg)
{
	ids[4] = truth_self();
	(void)arg;
	cancel_point_here();
	return NULL;
}

/* Cancelled asynchronously: killed at once, wherever it waits. */
TRUTH_FN void *async_thread(void *arg)
{
	ids[6] = truth_self();
	(void)arg;
	pth_cancel_state(PTH_CANCEL_ENABLE | PTH_CANCEL_ASYNCHRONOUS, NULL);
	cancel_point_here();
	return NULL;
}

TRUTH_FN void *fresh_thread(void *arg)
{
	return arg;
}

static pth_t spawn(const char *name, void *(*fn)(void *))
{
	pth_attr_t attr = pth_attr_new();
	pth_t t;

	if (name)
		pth_attr_set(attr, PTH_ATTR_NAME, name);
	t = pth_spawn(attr, fn, NULL);
	pth_attr_destroy(attr);
	if (!t)
		abort();
	return t;
}

/* Let every other thread run until it waits. */
static void let_run(void)
{
	for (int i = 0; i < 8; i++)
		pth_yield(NULL);
}

int main(void)
{
	pth_t sleeper, exiter, returner, cancelled, aborted, async, fresh;
	char sleeper_name[64], exiter_name[64], returner_name[64], cancelled_name[64],
	        aborted_name[64], async_name[64], fresh_name[64];

	if (!pth_init() || pipe(event_fd) != 0)
		return 2;
	sleeper = spawn("sleeper", sleeper_thread);
	exiter = spawn("exiter", exiter_thread);
	returner = spawn(NULL, returner_thread); /* Pth names it "unknown" */
	cancelled = spawn("cancelled", cancelled_thread);
	aborted = spawn("aborted", aborted_thread);
	async = spawn("async", async_thread);
	snprintf(sleeper_name, 64, "%s", name_of(sleeper));
	snprintf(exiter_name, 64, "%s", name_of(exiter));
	snprintf(returner_name, 64, "%s", name_of(returner));
	snprintf(cancelled_name, 64, "%s", name_of(cancelled));
	snprintf(aborted_name, 64, "%s", name_of(aborted));
	snprintf(async_name, 64, "%s", name_of(async));
	let_run();
	pth_cancel(cancelled); /* deferred: it exits at its next cancellation point */
	let_run();
	pth_abort(aborted);
	pth_cancel(async);                    /* asynchronous: killed at once */
	fresh = spawn("fresh", fresh_thread); /* never run: main does not yield again */
	snprintf(fresh_name, 64, "%s", name_of(fresh));
	if (truth_self()) {
		/* The fresh thread's stack is Pth's: find its task as Pth's own view names it. */
		pth_attr_t attr = pth_attr_of(fresh);
		char *stack = NULL;

		pth_attr_get(attr, PTH_ATTR_STACK_ADDR, &stack);
		pth_attr_destroy(attr);
		ids[5] = stack ? costack_task_at(stack + 1024) : 0;
		expect(costack_task_state(ids[1]) == COSTACK_DONE,
		       "a thread that called pth_exit is done");
	}
	printf("threads spawned, exited, returned, cancelled (deferred, asynchronous) and "
	       "aborted\n");
	truth_phase(
	        "mid",
	        (struct truth[]){
	                {"sleeper", ids[0], "suspended", sleeper_name, "sleeper_thread",
	                 "wait_here"},
	                {"exiter", ids[1], "done", exiter_name, "exiter_thread", NULL},
	                {"returner", ids[2], "done", returner_name, "returner_thread", NULL},
	                {"cancelled", ids[3], "cancelled", cancelled_name, "cancelled_thread",
	                 NULL},
	                {"aborted", ids[4], "cancelled", aborted_name, "aborted_thread", NULL},
	                {"async", ids[6], "cancelled", async_name, "async_thread", NULL},
	                {"fresh", ids[5], "created", fresh_name, "fresh_thread", "fresh_thread"},
	        },
	        7);

	if (write(event_fd[1], "x", 1) != 1)
		return 2;
	pth_join(sleeper, NULL);
	pth_join(fresh, NULL);
	printf("sleeper woken and joined\n");
	truth_phase("end",
	            (struct truth[]){
	                    {"sleeper", ids[0], "done", sleeper_name, "sleeper_thread", NULL},
	                    {"exiter", ids[1], "done", exiter_name, "exiter_thread", NULL},
	                    {"fresh", ids[5], "done", fresh_name, "fresh_thread", NULL},
	            },
	            3);
	truth_next_descriptor();
	return failures ? 1 : 0;
}
