/* SPDX-License-Identifier: MIT */
/* passthrough.c - the hooks change nothing a program sees: errno, results, arguments, exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/*
 * Prints what it observes; the output must be the same with and without
 * libcostack.so preloaded (tests/e2e/same_output.py compares). Exits 1 when
 * an observation is not what glibc promises.
 */

#define STACK_SIZE (64 * 1024)
#define MAX_ARGS 20

static ucontext_t main_ctx, task_ctx;
static char *task_stack;
static int bad;
static int nargs;
static volatile int getcontext_returns;

static void expect(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("%s\n", ok ? "" : "  <- WRONG");
	if (!ok)
		bad = 1;
}

static void prepare(ucontext_t *link)
{
	if (getcontext(&task_ctx) != 0)
		abort();
	task_ctx.uc_stack.ss_sp = task_stack;
	task_ctx.uc_stack.ss_size = STACK_SIZE;
	task_ctx.uc_link = link;
}

/* --- errno ----------------------------------------------------------------- */

static void errno_task(void)
{
	expect(errno == 1111, "task start: errno %d (set to 1111 before swapcontext)", errno);
	errno = 2222;
	if (swapcontext(&task_ctx, &main_ctx) != 0)
		abort();
	expect(errno == 3333, "task resumed: errno %d (set to 3333 before swapcontext)", errno);
	errno = 4444;
	setcontext(&main_ctx);
	abort();
}

static void check_errno(void)
{
	int rc;

	getcontext_returns = 0;
	errno = 1234;
	rc = getcontext(&task_ctx);
	expect(rc == 0 && errno == 1234, "getcontext: errno %d (set to 1234 before)", errno);
	if (getcontext_returns++ == 0) {
		errno = 1234;
		setcontext(&task_ctx); /* getcontext returns a second time */
		abort();
	}
	expect(getcontext_returns == 2, "getcontext returned %d times", getcontext_returns);

	prepare(&main_ctx);
	errno = 1234;
	makecontext(&task_ctx, errno_task, 0);
	expect(errno == 1234, "makecontext: errno %d (set to 1234 before)", errno);

	errno = 1111;
	rc = swapcontext(&main_ctx, &task_ctx);
	expect(rc == 0, "swapcontext returned %d", rc);
	expect(errno == 2222, "main resumed: errno %d (set to 2222 in the task)", errno);
	errno = 3333;
	rc = swapcontext(&main_ctx, &task_ctx);
	expect(rc == 0, "swapcontext returned %d", rc);
	expect(errno == 4444, "main resumed by setcontext: errno %d (set to 4444)", errno);
}

/* The first hook a new thread calls registers it: errno must survive that too. */
static void *fresh_thread(void *arg __attribute__((unused)))
{
	ucontext_t ctx;

	errno = 1234;
	getcontext(&ctx);
	return (void *)(long)errno;
}

static void check_errno_fresh_thread(void)
{
	pthread_t thread;
	void *result;

	if (pthread_create(&thread, NULL, fresh_thread, NULL) != 0 ||
	    pthread_join(thread, &result) != 0)
		abort();
	expect((long)result == 1234, "a new thread's first getcontext: errno %ld (set to 1234)",
	       (long)result);
}

/* --- makecontext's arguments ------------------------------------------------- */

static void args_task(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7,
                      long a8, long a9, long a10, long a11, long a12, long a13, long a14, long a15,
                      long a16, long a17, long a18, long a19)
{
	long got[MAX_ARGS] = {a0,  a1,  a2,  a3,  a4,  a5,  a6,  a7,  a8,  a9,
	                      a10, a11, a12, a13, a14, a15, a16, a17, a18, a19};
	int wrong = 0;

	for (int i = 0; i < nargs; i++)
		wrong += got[i] != (i + 1) * 1001;
	printf("makecontext with %d arguments: ", nargs);
	expect(!wrong, "%d wrong", wrong);
}

#define A(i) ((i)*1001L)

static void check_arguments(void)
{
	static const int counts[] = {0, 1, 5, 6, 7, 16, 17, 20};

	for (size_t c = 0; c < sizeof(counts) / sizeof(*counts); c++) {
		nargs = counts[c];
		prepare(&main_ctx);
		makecontext(&task_ctx, (void (*)(void))args_task, nargs, A(1), A(2), A(3), A(4),
		            A(5), A(6), A(7), A(8), A(9), A(10), A(11), A(12), A(13), A(14), A(15),
		            A(16), A(17), A(18), A(19), A(20));
		if (swapcontext(&main_ctx, &task_ctx) != 0)
			abort();
	}
}

/* --- the end of a task with no uc_link: the thread exits, here the process ---- */

static void last_task(void)
{
	printf("child: the last task returns with no uc_link\n");
	fflush(stdout);
}

static void say_atexit(void)
{
	printf("child: atexit handler ran\n");
}

static void check_exit_without_link(void)
{
	int status;
	pid_t child;

	fflush(stdout);
	child = fork();
	if (child < 0)
		abort();
	if (child == 0) {
		atexit(say_atexit);
		prepare(NULL);
		makecontext(&task_ctx, last_task, 0);
		setcontext(&task_ctx);
		_exit(99);
	}
	if (waitpid(child, &status, 0) != child)
		abort();
	expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited with status %d",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
	task_stack = malloc(STACK_SIZE);
	if (!task_stack)
		abort();
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_errno();
	check_errno_fresh_thread();
	check_arguments();
	check_exit_without_link();
	free(task_stack);
	return bad;
}
