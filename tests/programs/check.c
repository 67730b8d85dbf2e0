/* SPDX-License-Identifier: MIT */
/* check.c - counting and printing checks, naming frames with dladdr, for the test programs. */
#define _GNU_SOURCE
#include "check.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

static const char *program_name = "?";
static bool quiet;
static int passed, failed;

bool check_init(const char *program, int argc, char **argv)
{
	program_name = program;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--quiet"))
			quiet = true;
	if (costack_available())
		return true;
	if (!quiet)
		check(false, "libcostack.so is loaded (run me with LD_PRELOAD=libcostack.so, or "
		             "with --quiet to skip the checks)");
	return false;
}

bool check_is_quiet(void)
{
	return quiet;
}

bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		passed++;
	else
		failed++;
	if (ok && quiet)
		return ok;
	printf("%s: %s - ", program_name, ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

int check_failures(void)
{
	return failed;
}

int check_finish(void)
{
	if (!quiet)
		printf("%s: %d passed, %d failed\n", program_name, passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}

/* The valgrind stack id is kept in a header before the stack. */
#define STACK_HEADER 64

char *coroutine_stack_new(size_t size)
{
	char *block = malloc(STACK_HEADER + size);
	char *stack = block + STACK_HEADER;

	if (!block)
		abort();
	*(unsigned *)block = VALGRIND_STACK_REGISTER(stack, stack + size);
	return stack;
}

void coroutine_stack_free(char *stack)
{
	if (!stack)
		return;
	VALGRIND_STACK_DEREGISTER(*(unsigned *)(stack - STACK_HEADER));
	free(stack - STACK_HEADER);
}

const char *frame_name(const void *pc, bool is_return, const char **module)
{
	const char *probe = (const char *)pc - (is_return ? 1 : 0);
	Dl_info info;

	if (module)
		*module = NULL;
	if (!pc || !dladdr(probe, &info))
		return "??";
	if (module && info.dli_fname) {
		const char *slash = strrchr(info.dli_fname, '/');

		*module = slash ? slash + 1 : info.dli_fname;
	}
	return info.dli_sname ? info.dli_sname : "??";
}

bool frames_match(void *const *frames, int n, bool entry_only, const char *const *expected,
                  int nexpected, char *got, size_t got_size)
{
	bool suffix = nexpected > 0 && !strcmp(expected[0], "...");
	int first, len = 0;
	bool ok;

	if (suffix) {
		expected++;
		nexpected--;
	}
	got[0] = '\0';
	len += snprintf(got + len, got_size - (size_t)len, "[");
	for (int i = 0; i < n && (size_t)len < got_size; i++)
		len += snprintf(got + len, got_size - (size_t)len, "%s%s", i ? " " : "",
		                frame_name(frames[i], !entry_only, NULL));
	if ((size_t)len < got_size)
		snprintf(got + len, got_size - (size_t)len, "]");

	ok = suffix ? n >= nexpected : n == nexpected;
	first = n - nexpected;
	for (int i = 0; ok && i < nexpected; i++)
		ok = !strcmp(frame_name(frames[first + i], !entry_only, NULL), expected[i]);
	return ok;
}

static void describe_expected(const char *const *expected, int nexpected, char *buf, size_t size)
{
	int len = snprintf(buf, size, "[");

	for (int i = 0; i < nexpected && (size_t)len < size; i++)
		len += snprintf(buf + len, size - (size_t)len, "%s%s", i ? " " : "", expected[i]);
	if ((size_t)len < size)
		snprintf(buf + len, size - (size_t)len, "]");
}

bool check_stack(costack_task_t task, int size, const char *what, const char *const *expected,
                 int nexpected)
{
	void *frames[FRAMES_MAX];
	char got[1024], want[512];
	int state = costack_task_state(task);
	int n = costack_get_stack(task, frames, sizeof(frames) / sizeof(*frames), size);

	describe_expected(expected, nexpected, want, sizeof(want));
	if (n < 0)
		return check(false, "%s: get_stack(task %llu, size %d) = -1 (%s), want %s", what,
		             (unsigned long long)task, size, strerror(errno), want);
	bool ok = frames_match(frames, n, state == COSTACK_CREATED, expected, nexpected, got,
	                       sizeof(got));
	return check(ok, "%s: get_stack(task %llu %s, size %d) = %s%s%s", what,
	             (unsigned long long)task, costack_state_name(state), size, got,
	             ok ? "" : ", want ", ok ? "" : want);
}

bool check_frames(void *const *frames, int n, const char *what, const char *const *expected,
                  int nexpected)
{
	char got[1024], want[512];
	bool ok;

	describe_expected(expected, nexpected, want, sizeof(want));
	ok = n >= 0 && frames_match(frames, n, false, expected, nexpected, got, sizeof(got));
	return check(ok, "%s: %d frames %s%s%s", what, n, n >= 0 ? got : "", ok ? "" : ", want ",
	             ok ? "" : want);
}

bool check_no_stack(costack_task_t task, int state, const char *what)
{
	void *frames[FRAMES_MAX];
	int got_state = costack_task_state(task);
	int n = costack_get_stack(task, frames, sizeof(frames) / sizeof(*frames), 0);

	return check(got_state == state && n == 0,
	             "%s: task %llu is %s with %d frames (want %s with 0 frames)", what,
	             (unsigned long long)task, costack_state_name(got_state), n,
	             costack_state_name(state));
}

bool check_state(costack_task_t task, int state, const char *what)
{
	int got = costack_task_state(task);

	return check(got == state, "%s: task %llu is %s (want %s)", what, (unsigned long long)task,
	             got < 0 ? "unknown" : costack_state_name(got), costack_state_name(state));
}
