/* SPDX-License-Identifier: MIT */
/* bench_live_read.c - a target's switch rate while costack stacks reads it, and a read's cost. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench.h"
#include "live_read.h"

/*
 * This program is the target, run under libcostack.so: TASKS tasks wait
 * DEPTH frames deep, and on a thread of their own two more switch to one
 * another as fast as they can. Rounds alternate a window in which a reader
 * reads it (READS / ROUNDS times back to back, IN_PROCESS_READS / ROUNDS for
 * the cheaper in-process reader, so that its windows are as long) with an
 * equally long quiet
 * window, in both orders; the switch rate of each window is counted, and
 * the figures are medians of the rounds. Two readers: the costack command
 * (COSTACK_BENCH_CLI, run without the preload: a process, its /proc look-up,
 * the symbolizer, the JSON), and live_read_pid() alone, called here. A third
 * "reader" reads nothing: it keeps a core busy for as long as the command's
 * reads took, which is what any reader costs the target on this machine
 * before it touches the registry (the switcher and the reader then share
 * the machine's two cores with everything else it runs).
 */

#define TASKS 1000
#define DEPTH 12
#define READS 100
#define IN_PROCESS_READS 4000
#define ROUNDS 5
#define STACK_SIZE (64 * 1024)

extern char **environ;

static ucontext_t main_ctx, a_ctx, b_ctx;
static ucontext_t idle_ctx[TASKS];
static atomic_uint_fast64_t trips;
static volatile int sink;

__attribute__((noinline)) static void wait_here(int depth, ucontext_t *self)
{
	if (depth > 0) {
		wait_here(depth - 1, self);
		sink++; /* not a tail call: the frame stays */
		return;
	}
	swapcontext(self, &main_ctx);
}

static int idle_index;

static void idle_entry(void)
{
	wait_here(DEPTH, &idle_ctx[idle_index]);
}

static void a_entry(void)
{
	for (;;) {
		atomic_fetch_add_explicit(&trips, 1, memory_order_relaxed);
		swapcontext(&a_ctx, &b_ctx);
	}
}

static void b_entry(void)
{
	for (;;)
		swapcontext(&b_ctx, &a_ctx);
}

static void make(ucontext_t *ctx, void (*entry)(void))
{
	char *stack = malloc(STACK_SIZE);

	if (!stack || getcontext(ctx)) {
		fputs("bench_live_read: out of memory\n", stderr);
		exit(2);
	}
	ctx->uc_stack.ss_sp = stack;
	ctx->uc_stack.ss_size = STACK_SIZE;
	ctx->uc_link = NULL;
	makecontext(ctx, entry, 0);
}

static void *switcher(void *arg)
{
	ucontext_t home;

	(void)arg;
	make(&a_ctx, a_entry);
	make(&b_ctx, b_entry);
	swapcontext(&home, &a_ctx); /* never returns */
	return NULL;
}

/* The environment without the preload, for the costack command. */
static char **reader_environment(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	for (size_t i = 0; env && i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	return env;
}

/* CPU time the reads took, in ns: the reader's own cost, whatever the
 * machine's spare cores (which decide how much the target's rate drops). */
static double reader_cpu_ns;

static double timeval_ns(struct timeval tv)
{
	return (double)tv.tv_sec * 1e9 + (double)tv.tv_usec * 1e3;
}

/* One `costack stacks PID --format json`, output discarded; false on failure. */
static bool read_with_cli(const char *cli, char **env)
{
	struct rusage usage;
	char pid[16];
	char *argv[] = {(char *)cli, "stacks", pid, "--format", "json", NULL};
	posix_spawn_file_actions_t actions;
	pid_t child;
	int status;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&child, cli, &actions, NULL, argv, env)) {
		posix_spawn_file_actions_destroy(&actions);
		return false;
	}
	posix_spawn_file_actions_destroy(&actions);
	while (wait4(child, &status, 0, &usage) < 0 && errno == EINTR)
		;
	reader_cpu_ns += timeval_ns(usage.ru_utime) + timeval_ns(usage.ru_stime);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool read_in_process(void)
{
	struct live_snapshot snap;
	struct live_error err;
	struct timespec t0, t1;
	bool ok;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	ok = live_read_pid(getpid(), &snap, &err) == 0 && snap.ntasks >= TASKS;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	reader_cpu_ns += (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);

	if (!ok)
		fprintf(stderr, "bench_live_read: %s\n", err.message);
	live_snapshot_free(&snap);
	return ok;
}

/* Wait ns with the switcher running (a measurement window, not a synchronisation). */
static void quiet_window(double ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1e9),
	                      .tv_nsec = (long)((uint64_t)ns % 1000000000u)};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

struct figures {
	double ms_per_read, cpu_ms_per_read, ratio;
};

/* A busy loop as long as the command's read, in wall time. */
static bool read_nothing(double ns)
{
	double t0 = bench_now_ns();

	while (bench_now_ns() - t0 < ns)
		sink++;
	return true;
}

enum reader { COMMAND, IN_PROCESS, NOTHING };

/* Rounds of reads by one reader against quiet windows as long. */
static bool measure(enum reader reader, const char *cli, char **env, double busy_ns,
                    struct figures *out)
{
	int reads = (reader == IN_PROCESS ? IN_PROCESS_READS : READS) / ROUNDS;
	double ms[ROUNDS], cpu_ms[ROUNDS], ratio[ROUNDS];
	double window = out->ms_per_read * 1e6 * reads; /* the last reading window's */

	for (int r = 0; r < ROUNDS; r++) {
		double reading_rate = 0, quiet_rate = 0;

		/* Quiet first in odd rounds: no drift favours either side. */
		for (int phase = 0; phase < 2; phase++) {
			bool reading = (phase == 0) == (r % 2 == 0);
			uint64_t c0 = atomic_load(&trips), c1;
			double t0 = bench_now_ns(), t1, cpu0 = reader_cpu_ns;

			if (reading) {
				for (int i = 0; i < reads; i++)
					if (!(reader == COMMAND      ? read_with_cli(cli, env)
					      : reader == IN_PROCESS ? read_in_process()
					                             : read_nothing(busy_ns)))
						return false;
			} else {
				/* As long as the last reading window (before
				 * the first: as long as the reads timed before). */
				quiet_window(window);
			}
			t1 = bench_now_ns();
			c1 = atomic_load(&trips);
			if (reading) {
				window = t1 - t0;
				reading_rate = (double)(c1 - c0) / (t1 - t0);
				ms[r] = (t1 - t0) / 1e6 / reads;
				cpu_ms[r] = (reader_cpu_ns - cpu0) / 1e6 / reads;
			} else {
				quiet_rate = (double)(c1 - c0) / (t1 - t0);
			}
		}
		ratio[r] = reading_rate / quiet_rate;
	}
	out->ms_per_read = bench_median(ms, ROUNDS);
	out->cpu_ms_per_read = bench_median(cpu_ms, ROUNDS);
	out->ratio = bench_median(ratio, ROUNDS);
	return true;
}

int main(void)
{
	const char *cli = getenv("COSTACK_BENCH_CLI");
	char **env = reader_environment();
	struct figures with_cli, in_process, busy;
	pthread_t thread;
	double t0;

	if (!cli || !env) {
		fputs("bench_live_read: set COSTACK_BENCH_CLI to the costack command\n", stderr);
		return 2;
	}
	for (idle_index = 0; idle_index < TASKS; idle_index++) {
		make(&idle_ctx[idle_index], idle_entry);
		swapcontext(&main_ctx, &idle_ctx[idle_index]);
	}
	if (pthread_create(&thread, NULL, switcher, NULL))
		return 2;
	/* A first read of each kind sizes the first quiet window. */
	t0 = bench_now_ns();
	if (!read_with_cli(cli, env)) {
		fprintf(stderr, "bench_live_read: %s stacks %d failed (run under libcostack.so?)\n",
		        cli, (int)getpid());
		return 1;
	}
	with_cli.ms_per_read = (bench_now_ns() - t0) / 1e6;
	t0 = bench_now_ns();
	if (!read_in_process())
		return 1;
	in_process.ms_per_read = (bench_now_ns() - t0) / 1e6;
	if (!measure(COMMAND, cli, env, 0, &with_cli) ||
	    !measure(IN_PROCESS, NULL, env, 0, &in_process)) {
		fputs("bench_live_read: a read failed\n", stderr);
		return 1;
	}
	busy.ms_per_read = with_cli.ms_per_read;
	/* The busy loop reads nothing, so it cannot fail. */
	measure(NOTHING, NULL, env, with_cli.ms_per_read * 1e6, &busy);
	printf("%d tasks waiting %d frames deep, 2 switching; median of %d interleaved rounds "
	       "(read vs quiet)\n",
	       TASKS, DEPTH, ROUNDS);
	printf("%-34s %6s %8s %8s %24s\n", "reader", "reads", "ms/read", "CPU ms",
	       "switch rate, "
	       "read/quiet");
	printf("%-34s %6d %8.2f %8.2f %23.3fx\n", "costack stacks PID --format json", READS,
	       with_cli.ms_per_read, with_cli.cpu_ms_per_read, with_cli.ratio);
	printf("%-34s %6d %8.3f %8.3f %23.3fx\n", "live_read_pid() (no symbols)", IN_PROCESS_READS,
	       in_process.ms_per_read, in_process.cpu_ms_per_read, in_process.ratio);
	printf("%-34s %6d %8.2f %8s %23.3fx\n", "busy loop, no read (the floor)", READS,
	       busy.ms_per_read, "-", busy.ratio);
	/* The reader needs a CPU: on a machine without a spare core, the
	 * target's rate drops by the reader's CPU share, not by the registry. */
	printf("target: switch rate >= 0.98x while read, both readers (issue 14; with a core to "
	       "spare: %ld online)\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	return 0;
}
