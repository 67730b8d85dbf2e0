// SPDX-License-Identifier: MIT
// bench_throw.cpp - cost per C++ throw with and without the preload: interleaved rounds of two
// child runs. With COSTACK_BENCH_CLI (the costack command), also the first throw in a task: bare,
// under the preload and under `costack record`, interleaved rounds of three child processes.
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "bench.h"

namespace
{

constexpr int kRounds = 9;
// Frames between the throw and the catch: two (the plain case), then deeper stacks to unwind.
constexpr int kDepths[] = {2, 8, 32};
constexpr int kNumDepths = sizeof(kDepths) / sizeof(*kDepths);

volatile int sink;

// `depth` frames below the catch: the throwing frame is the last of them.
__attribute__((noinline)) void descend(int depth)
{
	if (depth > 1) {
		descend(depth - 1);
		sink++; // not a tail call: the frame stays
		return;
	}
	throw std::runtime_error("x");
}

// ns per throw, caught `depth` frames up.
__attribute__((noinline)) double measure(int depth, long throws)
{
	long caught = 0;
	double t0 = bench_now_ns();

	for (long i = 0; i < throws; i++) {
		try {
			descend(depth);
		} catch (const std::runtime_error &) {
			caught++;
		}
	}
	double t1 = bench_now_ns();
	if (caught != throws)
		std::abort();
	return (t1 - t0) / throws;
}

// Whether the __cxa_throw that this program calls is another than libstdc++'s own.
bool throw_hooked()
{
	void *lib = dlopen("libstdc++.so.6", RTLD_NOLOAD | RTLD_NOW);
	void *own = lib ? dlsym(lib, "__cxa_throw") : nullptr;

	return own && dlsym(RTLD_DEFAULT, "__cxa_throw") != own;
}

// One round in this process: "hooked 0|1" then one "<depth> <ns per throw>" line per depth.
int child(long throws)
{
	std::printf("hooked %d\n", throw_hooked() ? 1 : 0);
	for (int d = 0; d < kNumDepths; d++) {
		measure(kDepths[d], throws / 10 + 1); // warm: first throws, the unwinder's caches
		std::printf("%d %.3f\n", kDepths[d], measure(kDepths[d], throws));
	}
	return 0;
}

// --- The first throw of a process, in a ucontext task ---

ucontext_t first_main, first_task;
double first_ns;

void first_throw_task()
{
	double t0 = bench_now_ns();

	try {
		descend(2);
	} catch (const std::runtime_error &) {
		first_ns = bench_now_ns() - t0;
	}
}

// One first throw in a task: "first <ns> raises <costack's count in the task, -1 without it>".
int first_child()
{
	static char stack[256 * 1024];
	struct costack_api api;
	struct costack_task_info info = {};

	if (getcontext(&first_task))
		return 1;
	first_task.uc_stack.ss_sp = stack;
	first_task.uc_stack.ss_size = sizeof(stack);
	first_task.uc_link = &first_main;
	makecontext(&first_task, first_throw_task, 0);
	bool costack = costack_api_load(&api);
	costack_task_t task = costack ? api.task_at(stack + sizeof(stack) / 2) : 0;
	if (swapcontext(&first_main, &first_task) || first_ns <= 0)
		return 1;
	long raises = -1;
	if (costack) {
		info.size = sizeof(info);
		raises = task && api.task_info(task, &info) == 0 ? (long)info.raises : 0;
	}
	std::printf("first %.0f raises %ld\n", first_ns, raises);
	return 0;
}

int remove_entry(const char *path, const struct stat *, int, struct FTW *)
{
	return remove(path);
}

enum FirstMode { kBare, kPreload, kRecord, kModes };
const char *const kModeNames[kModes] = {"bare", "preload", "record"};

// Run argv (argv[0]: the program's path) in a child, LD_PRELOAD set to preload or removed,
// stderr to /dev/null if quiet; its standard output into out (size bytes, NUL-terminated).
// Whether it exited with 0.
bool run_captured(char *const argv[], const char *preload, bool quiet, char *out, size_t size)
{
	int pipefd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd))
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		if (quiet)
			dup2(open("/dev/null", O_WRONLY), STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (len < size - 1 && (n = read(pipefd[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// One first-throw child: bare, under `preload`, or under `cli record` (which adds its own
// preload; its "trace written to" goes to /dev/null). Its ns into *ns, and whether costack saw
// its one raise (none bare).
bool run_first(FirstMode mode, const char *self, const char *preload, const char *cli, double *ns)
{
	char out[256], dir[] = "/tmp/bench_throw-XXXXXX";
	char first[] = "--first", record[] = "record", o[] = "-o", dashes[] = "--";
	char *direct[] = {const_cast<char *>(self), first, nullptr};
	char *recorded[] = {const_cast<char *>(cli),  record, o,      dir, dashes,
	                    const_cast<char *>(self), first,  nullptr};
	long raises = 0;
	bool ran;

	if (mode == kRecord && !mkdtemp(dir))
		return false;
	ran = run_captured(mode == kRecord ? recorded : direct,
	                   mode == kPreload ? preload : nullptr, mode == kRecord, out, sizeof(out));
	if (mode == kRecord)
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (!ran || std::sscanf(out, "first %lf raises %ld", ns, &raises) != 2)
		return false;
	return raises == (mode == kBare ? -1 : 1);
}

// Run one child round, LD_PRELOAD set to `preload` or removed; its ns per depth into ns[].
bool run_child(const char *self, long throws, const char *preload, double *ns, int *hooked)
{
	char arg[32], out[512], child[] = "--child";
	char *argv[] = {const_cast<char *>(self), child, arg, nullptr};

	std::snprintf(arg, sizeof(arg), "%ld", throws);
	if (!run_captured(argv, preload, false, out, sizeof(out)))
		return false;

	char *line = std::strtok(out, "\n");
	if (!line || std::sscanf(line, "hooked %d", hooked) != 1)
		return false;
	for (int d = 0; d < kNumDepths; d++) {
		int depth;

		line = std::strtok(nullptr, "\n");
		if (!line || std::sscanf(line, "%d %lf", &depth, &ns[d]) != 2 ||
		    depth != kDepths[d])
			return false;
	}
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	long throws = 20000;
	const char *preload = std::getenv("LD_PRELOAD");
	double with_ns[kNumDepths][kRounds], without_ns[kNumDepths][kRounds];
	double ratio[kNumDepths][kRounds];
	int hooked = 0;

	if (argc == 3 && !std::strcmp(argv[1], "--child"))
		return child(std::atol(argv[2]));
	if (argc == 2 && !std::strcmp(argv[1], "--first"))
		return first_child();
	if (argc > 1)
		throws = std::atol(argv[1]);
	if (!preload || !std::strstr(preload, "libcostack") || throws <= 0) {
		std::fprintf(stderr, "bench_throw: run it under libcostack.so\n");
		return 2;
	}
	// Rounds interleave the two processes, as bench_switch interleaves bare and hooked.
	for (int r = 0; r < kRounds; r++) {
		double with[kNumDepths], without[kNumDepths];
		int with_hooked, without_hooked;

		if (!run_child("/proc/self/exe", throws, preload, with, &with_hooked) ||
		    !run_child("/proc/self/exe", throws, nullptr, without, &without_hooked)) {
			std::fprintf(stderr, "bench_throw: a child run failed\n");
			return 1;
		}
		hooked |= with_hooked;
		for (int d = 0; d < kNumDepths; d++) {
			with_ns[d][r] = with[d];
			without_ns[d][r] = without[d];
			ratio[d][r] = with[d] / without[d];
		}
	}
	if (!hooked)
		std::printf("warning: __cxa_throw is not hooked (run under libcostack.so)\n");
	std::printf("%-6s %12s %12s %8s   (median of %d interleaved rounds, %ld throws each)\n",
	            "depth", "without ns", "with ns", "ratio", kRounds, throws);
	for (int d = 0; d < kNumDepths; d++) {
		std::printf("%-6d %12.1f %12.1f %7.2fx\n", kDepths[d],
		            bench_median(without_ns[d], kRounds), bench_median(with_ns[d], kRounds),
		            bench_median(ratio[d], kRounds));
	}
	std::printf("per throw of std::runtime_error caught <depth> frames up, with LD_PRELOAD=%s "
	            "and without\n",
	            preload);
	std::printf("COSTACK_UNWIND=%s\n",
	            std::getenv("COSTACK_UNWIND") ? std::getenv("COSTACK_UNWIND") : "default");

	// The first throw of a process, in a task: what finding the real functions costs, and
	// under `costack record` what liblttng-ust-dl.so's dlopen wrapper would add to it.
	const char *cli = std::getenv("COSTACK_BENCH_CLI");
	char self[4096];
	ssize_t self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (!cli || self_len <= 0) {
		std::printf("first throw: set COSTACK_BENCH_CLI to the costack command to measure "
		            "it\n");
		return 0;
	}
	self[self_len] = '\0';
	double first[kModes][kRounds];
	for (int r = 0; r < kRounds; r++)
		for (int m = 0; m < kModes; m++)
			if (!run_first(static_cast<FirstMode>(m), self, preload, cli,
			               &first[m][r])) {
				std::fprintf(stderr,
				             "bench_throw: a first-throw run (%s) failed, or "
				             "costack did "
				             "not see its raise\n",
				             kModeNames[m]);
				return 1;
			}
	std::printf("first throw in a ucontext task, caught 2 frames up (median of %d interleaved "
	            "rounds, one process each):\n",
	            kRounds);
	for (int m = 0; m < kModes; m++)
		std::printf("  %-8s %10.3f ms\n", kModeNames[m],
		            bench_median(first[m], kRounds) / 1e6);
	return 0;
}
