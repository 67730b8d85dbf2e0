// SPDX-License-Identifier: MIT
// live_target_cxx.cpp - live_target's C++ tasks: one failed by a kept exception, one fiber.
#include "live_target.h"

#include <exception>
#include <stdexcept>
#include <string>

#include <boost/context/fiber.hpp>

#define STACK_FN __attribute__((noinline, noipa, used, visibility("default")))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

namespace live_target {

static std::exception_ptr kept;

// Named in a namespace with a parameter, so that its symbol is mangled:
// costack from outside must show it demangled, "live_target::throw_deep(int)".
STACK_FN void throw_deep(int depth)
{
	if (depth == 0)
		throw std::runtime_error("boom at depth " + std::to_string(depth));
	throw_deep(depth - 1);
	KEEP_FRAME();
}

// A raise after the kept one, caught where it is raised: the task's traceback is still the
// kept raise's, not its newest raise's.
STACK_FN void throw_aside(void)
{
	try {
		throw std::logic_error("caught at once");
	} catch (const std::logic_error &) {
	}
	KEEP_FRAME();
}

static boost::context::fiber fiber;
static const void *fiber_local;
static bool fiber_go_on;

STACK_FN boost::context::fiber fiber_wait(boost::context::fiber &&back)
{
	int local = 0;

	fiber_local = &local;
	back = std::move(back).resume();
	KEEP_FRAME();
	return std::move(back);
}

STACK_FN boost::context::fiber fiber_body(boost::context::fiber &&back)
{
	back = fiber_wait(std::move(back));
	fiber_go_on = true;
	return std::move(back);
}

} // namespace live_target

extern "C" STACK_FN void live_thrower_entry(void)
{
	try {
		live_target::throw_deep(3);
	} catch (...) {
		live_target::kept = std::current_exception();
		live_target::throw_aside();
	}
	KEEP_FRAME();
}

extern "C" costack_task_t live_fiber_start(void)
{
	live_target::fiber = boost::context::fiber(live_target::fiber_body);
	live_target::fiber = std::move(live_target::fiber).resume();
	return costack_task_at(live_target::fiber_local);
}

extern "C" void live_fiber_finish(void)
{
	live_target::fiber = std::move(live_target::fiber).resume();
}
