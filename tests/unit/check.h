/* SPDX-License-Identifier: MIT */
/* check.h - the unit tests' checks: each failure on stderr with file:line and values, a tally on
 * stdout. */
#ifndef COSTACK_TEST_CHECK_H
#define COSTACK_TEST_CHECK_H

#include <stdatomic.h>
#include <stdio.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Counted from any thread. */
static atomic_int check_passed, check_failed;

/* CHECK(cond, fmt, ...): fmt and its arguments show the values involved. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			atomic_fetch_add(&check_passed, 1);                                        \
		} else {                                                                           \
			atomic_fetch_add(&check_failed, 1);                                        \
			flockfile(stderr);                                                         \
			fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond);           \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			funlockfile(stderr);                                                       \
		}                                                                                  \
	} while (0)

/* Integers of any type, shown as long long. */
#define CHECK_EQ(a, b)                                                                             \
	CHECK((long long)(a) == (long long)(b), "%s = %lld, %s = %lld", #a, (long long)(a), #b,    \
	      (long long)(b))

#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		CHECK(check_a_ != NULL && check_b_ != NULL && !strcmp(check_a_, check_b_),         \
		      "%s = \"%s\", %s = \"%s\"", #a, check_a_ ? check_a_ : "(null)", #b,          \
		      check_b_ ? check_b_ : "(null)");                                             \
	} while (0)

/* The closing line, exactly "<name>: N passed, M failed"; the exit status. */
static inline int check_finish(const char *name)
{
	int failed = atomic_load(&check_failed);

	fflush(stderr);
	printf("%s: %d passed, %d failed\n", name, atomic_load(&check_passed), failed);
	fflush(stdout);
	return failed ? 1 : 0;
}

#endif
