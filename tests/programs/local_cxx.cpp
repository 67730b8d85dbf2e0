// SPDX-License-Identifier: MIT
// local_cxx.cpp - a C++ plugin that a C program dlopen()s RTLD_LOCAL: libstdc++ is in its scope
// only. It throws, rethrows, keeps and rethrows an exception_ptr (tests/programs/local_host.c).
#include <cstdio>
#include <exception>
#include <stdexcept>

extern "C" __attribute__((visibility("default"))) int local_cxx_run(void);

[[gnu::noinline]] static void fail(const char *why)
{
	throw std::runtime_error(why);
}

// Every C++ way to raise: throw, throw;, std::current_exception + std::rethrow_exception.
// Returns how many of the four were caught where they should be.
int local_cxx_run(void)
{
	std::exception_ptr kept;
	int caught = 0;

	try {
		fail("thrown");
	} catch (const std::exception &e) {
		std::printf("plugin: caught %s\n", e.what());
		caught++;
	}
	try {
		try {
			fail("rethrown");
		} catch (...) {
			kept = std::current_exception();
			throw;
		}
	} catch (const std::runtime_error &e) {
		std::printf("plugin: caught %s again\n", e.what());
		caught++;
	}
	try {
		std::rethrow_exception(kept);
	} catch (const std::exception &e) {
		std::printf("plugin: caught %s from an exception_ptr\n", e.what());
		caught++;
	}
	try {
		throw 42;
	} catch (int v) {
		std::printf("plugin: caught int %d\n", v);
		caught++;
	}
	std::fflush(stdout);
	return caught;
}
