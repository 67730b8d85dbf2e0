// SPDX-License-Identifier: MIT
// bench_throw.cpp - cost per C++ throw with and without the preload: interleaved rounds of two child runs.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "bench.h"

namespace {

constexpr int kRounds = 9;
// Frames between the throw and the catch: two (the plain case), then deeper stacks to unwind.
constexpr int kDepths[] = { 2, 8, 32 };
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

// Run one child round, LD_PRELOAD set to `preload` or removed; its ns per depth into ns[].
bool run_child(const char *self, long throws, const char *preload, double *ns, int *hooked)
{
	char arg[32], out[512] = "";
	int pipefd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	std::snprintf(arg, sizeof(arg), "%ld", throws);
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
		execl(self, self, "--child", arg, static_cast<char *>(nullptr));
		_exit(127);
	}
	close(pipefd[1]);
	while (len < sizeof(out) - 1 && (n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return false;

	char *line = std::strtok(out, "\n");
	if (!line || std::sscanf(line, "hooked %d", hooked) != 1)
		return false;
	for (int d = 0; d < kNumDepths; d++) {
		int depth;

		line = std::strtok(nullptr, "\n");
		if (!line || std::sscanf(line, "%d %lf", &depth, &ns[d]) != 2 || depth != kDepths[d])
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
	std::printf("per throw of std::runtime_error caught <depth> frames up, with LD_PRELOAD=%s and without\n",
		    preload);
	std::printf("COSTACK_UNWIND=%s\n", std::getenv("COSTACK_UNWIND") ? std::getenv("COSTACK_UNWIND") : "default");
	return 0;
}
