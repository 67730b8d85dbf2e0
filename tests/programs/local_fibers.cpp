// SPDX-License-Identifier: MIT
// local_fibers.cpp - a Boost.Context plugin that a C program dlopen()s RTLD_LOCAL: libboost_context
// and libstdc++ are in its scope only (tests/programs/local_host.c). A generator fiber, a fiber
// that throws inside itself, and one destroyed while suspended (a forced unwind).
#include <boost/context/fiber.hpp>
#include <cstdio>
#include <stdexcept>

#define COSTACK_OPTIONAL
#include <costack.h>

namespace ctx = boost::context;

struct local_fibers_report {
	unsigned long long generator_task; // what costack_current_task() said in the generator
	int sum;
	int thrown_and_caught;
	int unwound;
};

extern "C" __attribute__((visibility("default"))) void
local_fibers_run(struct local_fibers_report *r);

struct unwind_witness {
	int *unwound;
	~unwind_witness() { ++*unwound; }
};

void local_fibers_run(struct local_fibers_report *r)
{
	int value = 0;
	ctx::fiber generator{ [&](ctx::fiber &&back) {
		if (costack_current_task)
			r->generator_task = costack_current_task();
		for (int i = 1; i <= 5; i++) {
			value = i;
			back = std::move(back).resume();
		}
		value = 0;
		return std::move(back);
	} };
	for (generator = std::move(generator).resume(); value; generator = std::move(generator).resume())
		r->sum += value;

	ctx::fiber thrower{ [&](ctx::fiber &&back) {
		try {
			throw std::logic_error("inside a fiber");
		} catch (const std::exception &e) {
			std::printf("plugin: caught '%s' in a fiber\n", e.what());
			r->thrown_and_caught++;
		}
		return std::move(back);
	} };
	thrower = std::move(thrower).resume();

	{
		ctx::fiber suspended{ [&](ctx::fiber &&back) {
			unwind_witness witness{ &r->unwound };
			back = std::move(back).resume();
			return std::move(back); // never reached: destroyed while suspended
		} };
		suspended = std::move(suspended).resume();
	} // its stack is unwound here (boost::context::detail::forced_unwind)
	std::printf("plugin: generator sum %d, %d caught, %d unwound\n", r->sum,
		    r->thrown_and_caught, r->unwound);
	std::fflush(stdout);
}
