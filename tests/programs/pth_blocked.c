/* SPDX-License-Identifier: MIT */
/* pth_blocked.c - GNU Pth threads blocked in six different calls: each one's stack. */
#define _GNU_SOURCE
#include <pth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/*
 * Debian's libpth switches its threads with makecontext/swapcontext, so each
 * Pth thread is a costack task with no change to Pth. Every thread here calls
 * one blocking Pth function from a function of its own; main yields until all
 * wait, then finds each one's task by the address of a local it recorded and
 * checks its stack: this program's frames exactly, then the Pth call, then
 * nothing but Pth inside (Pth's internal functions are checked loosely: their
 * names depend on Pth's build). The sleeps are an hour long: nothing waits
 * for them, main ends the process once it has looked.
 */

#define HOUR 3600

struct blocked {
	const char *what;
	void *(*thread)(void *);
	const char *frames[2]; /* this program's frames, oldest first */
	const char *pth_call;  /* the Pth function the thread blocks in (a prefix) */
	pth_t pth;
	void *local; /* an address on the thread's stack */
};

static pth_mutex_t held = PTH_MUTEX_INIT;
static pth_mutex_t cond_mutex = PTH_MUTEX_INIT;
static pth_cond_t cond = PTH_COND_INIT;
static int pipe_fds[2];
static pth_t sleeper; /* the thread in pth_sleep, which another one joins */

#define BLOCKER(name, call)                                                                        \
	STACK_FN void name##_blocks(struct blocked *b)                                             \
	{                                                                                          \
		int local;                                                                         \
                                                                                                   \
		b->local = &local;                                                                 \
		call;                                                                              \
		KEEP_FRAME();                                                                      \
	}                                                                                          \
	STACK_FN void *name##_thread(void *arg)                                                    \
	{                                                                                          \
		name##_blocks(arg);                                                                \
		KEEP_FRAME();                                                                      \
		return NULL;                                                                       \
	}

static char read_buf[1];

BLOCKER(sleep, pth_sleep(HOUR))
BLOCKER(nap, pth_nap(pth_time(HOUR, 0)))
BLOCKER(read, pth_read(pipe_fds[0], read_buf, 1))
BLOCKER(mutex, pth_mutex_acquire(&held, FALSE, NULL))
BLOCKER(cond,
        (pth_mutex_acquire(&cond_mutex, FALSE, NULL), pth_cond_await(&cond, &cond_mutex, NULL)))
BLOCKER(join, pth_join(sleeper, NULL))

#define BLOCKED(description, name, call)                                                           \
	{                                                                                          \
		.what = description, .thread = name##_thread,                                      \
		.frames = {#name "_thread", #name "_blocks"}, .pth_call = call                     \
	}

static struct blocked blocked[] = {
        BLOCKED("pth_sleep", sleep, "pth_sleep"),
        BLOCKED("pth_nap", nap, "pth_nap"),
        BLOCKED("pth_read on an empty pipe", read, "pth_read"),
        BLOCKED("pth_mutex_acquire of a held mutex", mutex, "pth_mutex_acquire"),
        BLOCKED("pth_cond_await", cond, "pth_cond_await"),
        BLOCKED("pth_join of a sleeping thread", join, "pth_join"),
};
#define NBLOCKED (int)(sizeof(blocked) / sizeof(*blocked))

static int pth_state(pth_t t)
{
	pth_state_t state = PTH_STATE_DEAD;

	pth_attr_get(pth_attr_of(t), PTH_ATTR_STATE, &state);
	return (int)state;
}

static void check_blocked(struct blocked *b, const char *program)
{
	costack_task_t task = costack_task_at(b->local);
	void *frames[FRAMES_MAX];
	const char *module, *name;
	char got[1024];
	int n, first_own = -1, own = 0, len = 0;
	bool own_ok = true, costack_seen = false;

	check(task != 0 && task != costack_current_task(),
	      "%s: costack_task_at(a local of the thread) finds its task", b->what);
	check_state(task, COSTACK_SUSPENDED, b->what);
	n = costack_get_stack(task, frames, sizeof(frames) / sizeof(*frames), 0);

	got[0] = '\0';
	for (int i = 0; i < n; i++) {
		name = frame_name(frames[i], true, &module);
		len += snprintf(got + len, sizeof(got) - (size_t)len, "%s%s(%s)", i ? " " : "",
		                name, module ? module : "?");
		if ((size_t)len >= sizeof(got))
			len = (int)sizeof(got) - 1;
		if (module && !strcmp(module, program)) {
			if (first_own < 0)
				first_own = i;
			own_ok = own_ok && own < 2 && i == first_own + own &&
			         !strcmp(name, b->frames[own]);
			own++;
		}
		costack_seen = costack_seen || (module && strstr(module, "libcostack"));
	}
	if (!check_is_quiet())
		printf("  %s: %s\n", b->what, got);
	check(n > 0 && own_ok && own == 2,
	      "%s: this program's frames are exactly [%s %s], oldest first", b->what, b->frames[0],
	      b->frames[1]);
	if (own == 2 && own_ok) {
		int call = first_own + 2;

		name = call < n ? frame_name(frames[call], true, &module) : "(none)";
		check(call < n && !strncmp(name, b->pth_call, strlen(b->pth_call)) && module &&
		              strstr(module, "libpth"),
		      "%s: %s calls %s… of libpth (got %s)", b->what, b->frames[1], b->pth_call,
		      name);
		bool inside_pth = true;
		for (int i = call; i < n; i++) {
			frame_name(frames[i], true, &module);
			inside_pth = inside_pth && module && strstr(module, "libpth");
		}
		check(inside_pth, "%s: the frames from %s inwards are all in libpth", b->what,
		      b->pth_call);
	}
	check(!costack_seen, "%s: no frame of libcostack", b->what);
}

int main(int argc, char **argv)
{
	bool checks = check_init("pth_blocked", argc, argv);
	const char *program = NULL;
	int rounds = 0, waiting;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!pth_init() || pipe(pipe_fds) != 0)
		abort();
	pth_mutex_acquire(&held, FALSE, NULL);
	for (int i = 0; i < NBLOCKED; i++) {
		pth_attr_t attr = pth_attr_new();

		pth_attr_set(attr, PTH_ATTR_NAME, blocked[i].what);
		blocked[i].pth = pth_spawn(attr, blocked[i].thread, &blocked[i]);
		pth_attr_destroy(attr);
		if (!blocked[i].pth)
			abort();
	}
	sleeper = blocked[0].pth;
	/* Each thread blocks the first time it runs; a few rounds are plenty. */
	do {
		pth_yield(NULL);
		waiting = 0;
		for (int i = 0; i < NBLOCKED; i++)
			waiting +=
			        blocked[i].local && pth_state(blocked[i].pth) == PTH_STATE_WAITING;
	} while (waiting < NBLOCKED && ++rounds < 100);
	printf("pth_blocked: %d of %d Pth threads wait\n", waiting, NBLOCKED);

	if (checks) {
		frame_name((void *)main, false, &program);
		check(costack_task_state(costack_current_task()) == COSTACK_RUNNING,
		      "main is the running task");
		for (int i = 0; i < NBLOCKED; i++)
			check_blocked(&blocked[i], program ? program : "?");
	}
	if (waiting < NBLOCKED)
		check(false, "every Pth thread waits after %d rounds", rounds);
	return check_finish();
}
