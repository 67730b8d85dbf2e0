/* SPDX-License-Identifier: MIT */
/* tasks.c - the test programs' ucontext tasks, pipes and JSON view of a task (targets.h). */
#define _GNU_SOURCE
#include "targets.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

void make_task(struct task *t, void (*entry)(void), char *stack, ucontext_t *home)
{
	if (getcontext(&t->ctx) != 0)
		abort();
	t->stack = stack ? stack : malloc(STACK_SIZE);
	if (!t->stack)
		abort();
	t->home = home;
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = STACK_SIZE;
	t->ctx.uc_link = home;
	makecontext(&t->ctx, entry, 0);
	t->id = costack_available() ? costack_task_at(t->stack + STACK_SIZE / 2) : 0;
}

STACK_FN void task_yield(struct task *t)
{
	if (swapcontext(&t->ctx, t->home) != 0)
		abort();
	KEEP_FRAME();
}

STACK_FN void run_task(struct task *t)
{
	if (swapcontext(t->home, &t->ctx) != 0)
		abort();
	KEEP_FRAME();
}

STACK_FN void fresh_entry(void)
{
	KEEP_FRAME();
}

STACK_FN void finisher_entry(void)
{
	KEEP_FRAME();
}

static struct task *the_victim;

STACK_FN void victim_entry(void)
{
	task_yield(the_victim);
	KEEP_FRAME();
}

STACK_FN void heir_entry(void)
{
	KEEP_FRAME(); /* done, if it runs */
}

void make_victim_and_heir(struct task *victim, struct task *heir, ucontext_t *home)
{
	the_victim = victim;
	make_task(victim, victim_entry, NULL, home);
	run_task(victim);
	make_task(heir, heir_entry, victim->stack, home);
}

void read_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

void write_byte(int fd)
{
	while (write(fd, "x", 1) < 0 && errno == EINTR)
		;
}

/* The one runner (runner_start): its entry takes no argument. */
static struct runner *the_runner;
static pthread_t runner_thread;
static ucontext_t runner_home;
static int runner_blocked[2], runner_release[2];

STACK_FN void runner_wait(struct task *t)
{
	task_yield(t);
	KEEP_FRAME();
}

STACK_FN void runner_block(void)
{
	write_byte(runner_blocked[1]);
	read_byte(runner_release[0]);
	KEEP_FRAME();
}

STACK_FN void runner_entry(void)
{
	runner_wait(&the_runner->task);
	runner_block();
	KEEP_FRAME();
}

STACK_FN void run_on_thread(struct task *t)
{
	run_task(t);
	KEEP_FRAME();
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;

	r->thread_root = costack_available() ? costack_current_task() : 0;
	make_task(&r->task, runner_entry, NULL, &runner_home);
	run_on_thread(&r->task); /* it suspends once in runner_wait */
	run_on_thread(&r->task); /* it blocks, running, until released */
	return NULL;
}

void runner_start(struct runner *r)
{
	the_runner = r;
	if (pipe(runner_blocked) || pipe(runner_release) ||
	    pthread_create(&runner_thread, NULL, runner_main, r))
		abort();
	read_byte(runner_blocked[0]);
}

void runner_finish(struct runner *r)
{
	(void)r;
	write_byte(runner_release[1]);
	pthread_join(runner_thread, NULL);
}

void json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	putc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			putc(*p, out);
	}
	putc('"', out);
}

static void json_frames(FILE *out, void *const *frames, int n)
{
	putc('[', out);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s\"%#" PRIxPTR "\"", i ? "," : "", (uintptr_t)frames[i]);
	putc(']', out);
}

void json_task(FILE *out, const char *role, costack_task_t id)
{
	struct costack_task_info info = {.size = sizeof(info)};
	void *frames[FRAMES_MAX];
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int n;

	if (!f || costack_task_info(id, &info) != 0)
		abort();
	costack_print_stack(id, 0, f);
	fclose(f);
	fprintf(out,
	        "{\"role\":\"%s\",\"id\":%" PRIu64 ",\"state\":\"%s\",\"runtime\":%d,"
	        "\"thread\":%d,\"name\":",
	        role, id, costack_state_name(info.state), info.runtime, info.thread);
	json_string(out, info.name);
	fprintf(out, ",\"since_ns\":%" PRIu64 ",\"switches\":%" PRIu64 ",\"exception_type\":",
	        info.state_since_ns, info.switches);
	json_string(out, info.exception_type);
	fputs(",\"exception_what\":", out);
	json_string(out, info.exception_what);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), 0);
	fputs(",\"frames\":", out);
	json_frames(out, frames, n);
	n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), 2);
	fputs(",\"frames_limit2\":", out);
	json_frames(out, frames, n);
	fputs(",\"print_stack\":", out);
	json_string(out, text);
	putc('}', out);
	free(text);
}
