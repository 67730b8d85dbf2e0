// SPDX-License-Identifier: MIT
// targets_cxx.cpp - the test programs' C++ tasks: one failed by a kept exception, one fiber.
#include "targets.h"

#include <exception>
#include <stdexcept>
#include <string>

#include <boost/context/fiber.hpp>

namespace target {

static std::exception_ptr kept;

// Mangled (a namespace, a parameter): costack must show "target::throw_deep(int)".
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

} // namespace target

extern "C" STACK_FN void target_throw_and_keep(void)
{
	try {
		target::throw_deep(3);
	} catch (...) {
		target::kept = std::current_exception();
		target::throw_aside();
	}
	KEEP_FRAME();
}

extern "C" STACK_FN void target_thrower_entry(void)
{
	target_throw_and_keep();
	KEEP_FRAME();
}

extern "C" costack_task_t target_fiber_start(void)
{
	target::fiber = boost::context::fiber(target::fiber_body);
	target::fiber = std::move(target::fiber).resume();
	return costack_task_at(target::fiber_local);
}

extern "C" void target_fiber_finish(void)
{
	target::fiber = std::move(target::fiber).resume();
}
