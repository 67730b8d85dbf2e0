// SPDX-License-Identifier: MIT
// first_raise.cpp - the first raises of a task make no dlopen or dlclose call.
//
// first_raise, run with LD_PRELOAD=libcostack.so:dl_counter.so: a ucontext task throws,
// rethrows (throw;), keeps (std::current_exception) and rethrows again
// (std::rethrow_exception) for the first time in the process, each hook's first call, which
// finds the real function; dl_counter.so counts the dlopen and dlclose calls that reach it
// meanwhile. Under `costack record` each one costs a read of every loaded object's ELF file
// (liblttng-ust-dl.so's wrapper): 18 of them made the first throw 84 ms.
#include <dlfcn.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>

#define COSTACK_DLSYM
#include <costack.h>

namespace
{

ucontext_t main_ctx, task_ctx;
unsigned long (*dl_calls)();
unsigned long calls_during;
int caught;

__attribute__((noinline)) void raise_all()
{
	std::exception_ptr kept;

	try {
		try {
			throw std::runtime_error("first");
		} catch (const std::runtime_error &) {
			caught++;
			throw;
		}
	} catch (const std::runtime_error &) {
		caught++;
		kept = std::current_exception();
	}
	try {
		std::rethrow_exception(kept);
	} catch (const std::runtime_error &) {
		caught++;
	}
}

void task_entry()
{
	unsigned long before = dl_calls();

	raise_all();
	calls_during = dl_calls() - before;
}

} // namespace

int main()
{
	static char stack[256 * 1024];
	struct costack_api api;
	struct costack_task_info info = {};
	int failed = 0;

	*(void **)&dl_calls = dlsym(RTLD_DEFAULT, "dl_counter_calls");
	if (!dl_calls || !costack_api_load(&api)) {
		std::fprintf(stderr,
		             "first_raise: run with LD_PRELOAD=libcostack.so:dl_counter.so\n");
		return 2;
	}
	if (getcontext(&task_ctx))
		return 2;
	task_ctx.uc_stack.ss_sp = stack;
	task_ctx.uc_stack.ss_size = sizeof(stack);
	task_ctx.uc_link = &main_ctx;
	makecontext(&task_ctx, task_entry, 0);
	costack_task_t task = api.task_at(stack + sizeof(stack) / 2);
	if (swapcontext(&main_ctx, &task_ctx))
		return 2;

	info.size = sizeof(info);
	bool seen = task && api.task_info(task, &info) == 0 && info.raises == 3;
	std::printf("%s: costack saw the task's 3 raises (%llu)\n", seen ? "ok" : "FAILED",
	            (unsigned long long)info.raises);
	failed += !seen || caught != 3;
	std::printf("%s: dlopen and dlclose calls during the task's first raises: %lu\n",
	            calls_during == 0 ? "ok" : "FAILED", calls_during);
	failed += calls_during != 0;
	return failed ? 1 : 0;
}
