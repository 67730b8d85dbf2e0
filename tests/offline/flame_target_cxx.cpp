// SPDX-License-Identifier: MIT
// flame_target_cxx.cpp - the C++ raise flame_target's workers make once each (timeline instants).
#include <stdexcept>

extern "C" int flame_target_raise(int worker);

// Thrown and caught in the worker: a raise that is no end.
extern "C" int flame_target_raise(int worker)
{
	try {
		throw std::runtime_error("flame_target raise");
	} catch (const std::runtime_error &) {
		return worker;
	}
}
