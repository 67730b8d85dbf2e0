/* SPDX-License-Identifier: MIT */
/* dump_target.c - tasks in known states, then dump signals or a crash (dump_check.py). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define COSTACK_OPTIONAL
#include <costack.h>

/*
 * dump_target MODE [LIBRARY]
 *
 * Every mode first makes a task in each state, named for the dump to show
 * (when libcostack.so is loaded):
 *   sleeper   suspended in sleeper_entry -> sleeper_a -> sleeper_b -> task_yield
 *   fresh     created, entry fresh_entry
 *   finisher  done
 *   thrower   failed: thrower_entry threw std::runtime_error("boom") from
 *             throw_deep and kept it (dump_target_cxx.cpp)
 * and main is running, last resumed in main -> run_task.
 *
 * wait        "ready", then "ack N" for each line of input, until the end of
 *             it; then the sleeper finishes and the status is 3. Each read()
 *             must neither fail (EINTR: a handler without SA_RESTART) nor
 *             change errno (a handler that does not keep it).
 * wait-chdir  the same, from the root directory (chdir after load).
 * busy        wait, while on a thread tasks `ping` and `pong` switch to one
 *             another without end (ping_entry -> ping_loop -> busy_switch,
 *             pong_entry -> pong_loop -> busy_switch); the dump signal is
 *             blocked there, so main takes it.
 * segv abort fpe ill bus
 *             "crashing", then task `crasher` crashes in crasher_entry ->
 *             crash_outer -> crash_inner -> do_<mode>.
 * overflow    `crasher` recurses in recurse() until its stack (64 kB, a
 *             guard page under it) overflows.
 * own-handler        a SIGSEGV handler of the program's, installed after
 *             costack's, prints and exits 42; then segv.
 * own-handler-chain  the program's SIGSEGV handler prints, then passes on
 *             to what was there before it (costack's, or the default); segv.
 * handler-before LIBRARY|-  handlers of the program's for SIGSEGV (prints,
 *             exits 42) and SIGUSR2 (prints), then LIBRARY is dlopen'ed
 *             (costack finds them in place; its initial-exec TLS needs
 *             GLIBC_TUNABLES=glibc.rtld.optional_static_tls=...); "ready",
 *             "ack N" for each line, and at "crash", a NULL write in main.
 *
 * No sleep anywhere: every wait is a read of stdin.
 */

#define STACK_SIZE (128 * 1024)
#define STACK_FN __attribute__((noinline, noipa, used, visibility("default")))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

struct task {
	ucontext_t ctx;
	ucontext_t *back; /* where it yields to */
	char *stack;
	size_t size;
};

static ucontext_t main_ctx;
static struct task sleeper, fresh, finisher, thrower, crasher;
static const char *mode;

void thrower_entry(void); /* dump_target_cxx.cpp */

static void put(const char *text)
{
	size_t len = strlen(text);

	while (len) {
		ssize_t n = write(STDOUT_FILENO, text, len);

		if (n <= 0)
			_exit(100);
		text += n;
		len -= (size_t)n;
	}
}

static void name_task(struct task *t, const char *name)
{
	if (costack_available())
		costack_set_task_name(costack_task_at(t->stack + t->size / 2), name);
}

static void make_task(struct task *t, void (*entry)(void), const char *name, ucontext_t *back)
{
	if (!t->stack) {
		t->size = STACK_SIZE;
		t->stack = malloc(STACK_SIZE);
		if (!t->stack)
			abort();
	}
	if (getcontext(&t->ctx) != 0)
		abort();
	t->back = back;
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = t->size;
	t->ctx.uc_link = back;
	makecontext(&t->ctx, entry, 0);
	name_task(t, name);
}

STACK_FN void task_yield(struct task *t)
{
	if (swapcontext(&t->ctx, t->back) != 0)
		abort();
}

STACK_FN void run_task(struct task *t)
{
	if (swapcontext(t->back, &t->ctx) != 0)
		abort();
}

/* --- tasks in every state ------------------------------------------------------ */

STACK_FN void sleeper_b(void)
{
	task_yield(&sleeper);
	KEEP_FRAME();
}

STACK_FN void sleeper_a(void)
{
	sleeper_b();
	KEEP_FRAME();
}

STACK_FN void sleeper_entry(void)
{
	sleeper_a();
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

STACK_FN void make_states(void)
{
	make_task(&sleeper, sleeper_entry, "sleeper", &main_ctx);
	run_task(&sleeper);
	make_task(&fresh, fresh_entry, "fresh", &main_ctx);
	make_task(&finisher, finisher_entry, "finisher", &main_ctx);
	run_task(&finisher);
	make_task(&thrower, thrower_entry, "thrower", &main_ctx);
	run_task(&thrower);
	KEEP_FRAME();
}

/* --- waiting for dumps ------------------------------------------------------------ */

/* "ack N" per line read; returns at the end of input or at `stop`. */
static void answer_lines(const char *stop)
{
	char line[256];
	char text[64];

	for (int n = 1;; n++) {
		errno = EDOM;
		ssize_t got = read(STDIN_FILENO, line, sizeof(line) - 1);

		if (got < 0) {
			snprintf(text, sizeof(text), "read failed: %s\n", strerrorname_np(errno));
			put(text);
			return;
		}
		if (errno != EDOM) {
			snprintf(text, sizeof(text), "errno changed to %s\n",
			         strerrorname_np(errno));
			put(text);
		}
		if (got == 0)
			return;
		line[got] = '\0';
		if (stop && !strncmp(line, stop, strlen(stop)))
			return;
		snprintf(text, sizeof(text), "ack %d\n", n);
		put(text);
	}
}

/* Two tasks switching to one another on a thread until told to stop. */
static struct task ping, pong;
static ucontext_t busy_root;
static atomic_bool busy_stop;
static sem_t busy_started; /* both tasks ran */

STACK_FN void busy_switch(struct task *from, struct task *to)
{
	if (swapcontext(&from->ctx, &to->ctx) != 0)
		abort();
}

STACK_FN void ping_loop(void)
{
	while (!atomic_load(&busy_stop))
		busy_switch(&ping, &pong);
	setcontext(&busy_root);
}

STACK_FN void ping_entry(void)
{
	ping_loop();
	KEEP_FRAME();
}

STACK_FN void pong_loop(void)
{
	for (;;)
		busy_switch(&pong, &ping);
}

STACK_FN void pong_entry(void)
{
	sem_post(&busy_started);
	pong_loop();
	KEEP_FRAME();
}

static void *busy_thread(void *arg)
{
	make_task(&ping, ping_entry, "ping", &busy_root);
	make_task(&pong, pong_entry, "pong", &busy_root);
	if (swapcontext(&busy_root, &ping.ctx) != 0)
		abort();
	return arg;
}

static void wait_busy(void)
{
	sigset_t all, saved;
	pthread_t thread;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	if (sem_init(&busy_started, 0, 0) != 0 ||
	    pthread_create(&thread, NULL, busy_thread, NULL) != 0)
		abort();
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	while (sem_wait(&busy_started) != 0)
		;
	put("ready\n");
	answer_lines(NULL);
	atomic_store(&busy_stop, true);
	pthread_join(thread, NULL);
	put("busy: stopped\n");
}

/* --- crashes ------------------------------------------------------------------- */

static int *volatile nowhere;
static volatile int one = 1, zero;

STACK_FN void do_segv(void)
{
	*nowhere = 1;
	KEEP_FRAME();
}

STACK_FN void do_abort(void)
{
	abort();
}

STACK_FN int do_fpe(void)
{
	return one / zero; /* both volatile: no 1/x folded into a comparison */
}

STACK_FN void do_ill(void)
{
	__builtin_trap();
}

/* A mapping longer than its file: touching a page past the end is SIGBUS. */
STACK_FN void do_bus(void)
{
	int fd = memfd_create("dump_target", MFD_CLOEXEC);
	volatile char *p;

	if (fd < 0 || ftruncate(fd, 4096) != 0)
		abort();
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		abort();
	p[4096] = 1;
	KEEP_FRAME();
}

/* Never reached: the stack ends first. Volatile, for the compiler to see an end. */
static volatile int recursion_limit = 1 << 30;

STACK_FN int recurse(int depth)
{
	volatile char pad[1024];

	if (depth == recursion_limit)
		return 0;
	pad[0] = (char)depth;
	return recurse(depth + 1) + pad[0];
}

STACK_FN void crash_inner(void)
{
	if (!strcmp(mode, "abort"))
		do_abort();
	else if (!strcmp(mode, "fpe"))
		do_fpe();
	else if (!strcmp(mode, "ill"))
		do_ill();
	else if (!strcmp(mode, "bus"))
		do_bus();
	else
		do_segv();
	KEEP_FRAME();
}

STACK_FN void crash_outer(void)
{
	crash_inner();
	KEEP_FRAME();
}

STACK_FN void crasher_entry(void)
{
	if (!strcmp(mode, "overflow"))
		recurse(0);
	else
		crash_outer();
	KEEP_FRAME();
}

/* A stack with a guard page under it, so that an overflow faults. */
static void guarded_stack(struct task *t, size_t size)
{
	char *p = mmap(NULL, 4096 + size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (p == MAP_FAILED || mprotect(p, 4096, PROT_NONE) != 0)
		abort();
	t->stack = p + 4096;
	t->size = size;
}

STACK_FN void crash(void)
{
	if (!strcmp(mode, "overflow"))
		guarded_stack(&crasher, 64 * 1024);
	make_task(&crasher, crasher_entry, "crasher", &main_ctx);
	put("crashing\n");
	run_task(&crasher);
	put("not crashed\n");
}

/* --- the program's own handlers -------------------------------------------------- */

static struct sigaction before_own;

static void own_exit_handler(int sig)
{
	put(sig == SIGSEGV ? "own SIGSEGV handler\n" : "own handler\n");
	_exit(42);
}

static void own_usr2_handler(int sig)
{
	put("own SIGUSR2 handler\n");
}

/* As a crash reporter does: its line, then what was there before it. */
static void own_chaining_handler(int sig, siginfo_t *info, void *context)
{
	put("own SIGSEGV handler, passing on\n");
	if (before_own.sa_flags & SA_SIGINFO)
		before_own.sa_sigaction(sig, info, context);
	else if (before_own.sa_handler != SIG_DFL && before_own.sa_handler != SIG_IGN)
		before_own.sa_handler(sig);
	else
		sigaction(sig, &before_own, NULL); /* the fault again, undisturbed */
}

/* SA_RESTART, as signal() does: a read() the handler interrupts goes on. */
static void install(int sig, void (*handler)(int), void (*action)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	if (action) {
		sa.sa_sigaction = action;
		sa.sa_flags |= SA_SIGINFO;
	} else {
		sa.sa_handler = handler;
	}
	if (sigaction(sig, &sa, &before_own) != 0)
		abort();
}

STACK_FN int handler_before(const char *library)
{
	char line[64];

	install(SIGSEGV, own_exit_handler, NULL);
	install(SIGUSR2, own_usr2_handler, NULL);
	if (strcmp(library, "-") && !dlopen(library, RTLD_NOW | RTLD_GLOBAL)) {
		fprintf(stderr, "dlopen failed: %s\n", dlerror());
		return 1;
	}
	put("ready\n");
	answer_lines("crash");
	snprintf(line, sizeof(line), "crashing\n");
	put(line);
	*nowhere = 1;
	put("not crashed\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dump_target MODE [LIBRARY]\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "handler-before")) {
		int status = handler_before(argc > 2 ? argv[2] : "-");

		KEEP_FRAME(); /* main's frame stays under it */
		return status;
	}
	make_states();
	if (!strcmp(mode, "wait") || !strcmp(mode, "wait-chdir")) {
		if (!strcmp(mode, "wait-chdir") && chdir("/") != 0)
			abort();
		put("ready\n");
		answer_lines(NULL);
	} else if (!strcmp(mode, "busy")) {
		wait_busy();
	} else {
		if (!strcmp(mode, "own-handler"))
			install(SIGSEGV, own_exit_handler, NULL);
		else if (!strcmp(mode, "own-handler-chain"))
			install(SIGSEGV, NULL, own_chaining_handler);
		crash();
		return 1;
	}
	run_task(&sleeper);
	put("done\n");
	return 3;
}
