/* SPDX-License-Identifier: MIT */
/* check.h - what the self-checking programs share: counting checks, naming frames with dladdr. */
#ifndef COSTACK_TESTS_CHECK_H
#define COSTACK_TESTS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define COSTACK_OPTIONAL
#include <costack.h>

/*
 * A function whose frame a check expects by name: never inlined, cloned
 * (foo.constprop.0) or folded with a twin, and visible to dladdr (the
 * programs are linked with -rdynamic).
 */
#define STACK_FN __attribute__((noinline, noipa))
/* After a call in tail position, so that -O2 keeps the caller's frame. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

#define FRAMES_MAX 512 /* room for any costack_get_stack(…, 0) (COSTACK_DEPTH's maximum) */

/*
 * Start a program's checks. `--quiet` among the arguments: print failures
 * only and no summary, so that a run without the preload (checks skipped)
 * and a passing run with it print the same. Returns true when the checks can
 * run (libcostack.so is loaded); without it, a run that is not quiet fails.
 */
bool check_init(const char *program, int argc, char **argv);
/* Whether --quiet was given. */
bool check_is_quiet(void);
/* Count one check; print it ("ok - …" unless quiet, "FAILED - …" always). */
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Failures so far (a forked child reports its own through its exit status). */
int check_failures(void);
/* Print "<program>: N passed, M failed" unless quiet; the exit status to use. */
int check_finish(void);

/*
 * A coroutine stack of size bytes (aborts when out of memory), and its
 * release. Built with valgrind.h, they tell valgrind about the stack, as a
 * coroutine library must for memcheck to follow its switches.
 */
char *coroutine_stack_new(size_t size);
void coroutine_stack_free(char *stack);

/*
 * The function holding a frame: its dynamic symbol through dladdr. A return
 * address is looked up at pc - 1 (the call), an entry function at pc.
 * module gets the object's base name (may be NULL). "??" when unknown.
 */
const char *frame_name(const void *pc, bool is_return, const char **module);

/*
 * Compare frames (oldest first) with expected function names. An expected
 * list starting with "..." matches a stack ending with the rest. The frames'
 * names are written to `got` ("[a b c]") for a message.
 */
bool frames_match(void *const *frames, int n, bool entry_only, const char *const *expected,
                  int nexpected, char *got, size_t got_size);

/*
 * costack_get_stack(task, …, size) must give exactly the expected names,
 * oldest first (entry_only: the task is created, its one frame is its entry).
 */
bool check_stack(costack_task_t task, int size, const char *what, const char *const *expected,
                 int nexpected);
#define CHECK_STACK(task, size, what, ...)                                                         \
	check_stack((task), (size), (what), (const char *const[]){__VA_ARGS__},                    \
	            (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
/* Frames the caller got itself (a running task asking about itself must call
 * costack_get_stack() in the function it expects innermost). */
bool check_frames(void *const *frames, int n, const char *what, const char *const *expected,
                  int nexpected);
#define CHECK_FRAMES(frames, n, what, ...)                                                         \
	check_frames((frames), (n), (what), (const char *const[]){__VA_ARGS__},                    \
	             (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
/* The task has no stack (done, cancelled): 0 frames, and the given state. */
bool check_no_stack(costack_task_t task, int state, const char *what);
/* The task's state (enum costack_state). */
bool check_state(costack_task_t task, int state, const char *what);

#endif
