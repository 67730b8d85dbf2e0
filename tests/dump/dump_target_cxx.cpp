// SPDX-License-Identifier: MIT
// dump_target_cxx.cpp - dump_target's failed task: a C++ body that threw and kept the exception.
#include <exception>
#include <stdexcept>

#define STACK_FN __attribute__((noinline, noipa, used, visibility("default")))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static std::exception_ptr kept;

extern "C" STACK_FN void throw_deep(int depth)
{
	if (depth == 0)
		throw std::runtime_error("boom");
	throw_deep(depth - 1);
	KEEP_FRAME();
}

// A raise after the kept one, caught where it is raised: the dump's traceback is still the
// kept raise's, not the newest raise's.
extern "C" STACK_FN void throw_aside(void)
{
	try {
		throw std::logic_error("caught at once");
	} catch (const std::logic_error &) {
	}
	KEEP_FRAME();
}

// As a coroutine runtime does with an exception that escapes a body: kept
// (std::current_exception), and the task counts as failed.
extern "C" STACK_FN void thrower_entry(void)
{
	try {
		throw_deep(2);
	} catch (...) {
		kept = std::current_exception();
		throw_aside();
	}
	KEEP_FRAME();
}
