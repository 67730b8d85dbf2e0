// SPDX-License-Identifier: MIT
// offline_target_cxx.cpp - offline_target's C++ side: exceptions kept, a Boost.Context fiber.
#include "offline_target.h"

#include <exception>
#include <stdexcept>
#include <string>

#include <boost/context/fiber.hpp>

namespace offline_target {

static std::exception_ptr kept;

// Mangled (a namespace, a parameter): costack must show "offline_target::throw_deep(int)".
STACK_FN void throw_deep(int depth)
{
	if (depth == 0)
		throw std::runtime_error("boom at depth " + std::to_string(depth));
	throw_deep(depth - 1);
	KEEP_FRAME();
}

// A raise after the kept one, caught where it is raised: the task's traceback is still the
// kept raise's (task_end's kept_raise), not its newest raise's.
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
	return std::move(back);
}

} // namespace offline_target

extern "C" STACK_FN void offline_throw_and_keep(void)
{
	try {
		offline_target::throw_deep(3);
	} catch (...) {
		offline_target::kept = std::current_exception();
		offline_target::throw_aside();
	}
	KEEP_FRAME();
}

extern "C" STACK_FN void offline_thrower_entry(void)
{
	offline_throw_and_keep();
	KEEP_FRAME();
}

extern "C" costack_task_t offline_fiber_start(void)
{
	offline_target::fiber = boost::context::fiber(offline_target::fiber_body);
	offline_target::fiber = std::move(offline_target::fiber).resume();
	return costack_task_at(offline_target::fiber_local);
}

extern "C" void offline_fiber_finish(void)
{
	offline_target::fiber = std::move(offline_target::fiber).resume();
}
