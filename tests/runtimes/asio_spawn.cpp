// SPDX-License-Identifier: MIT
// asio_spawn.cpp - Boost.Asio coroutines (spawn, on Boost.Coroutine) waiting on timers and
// finished: what the program knows of each.
#include <boost/asio.hpp>
#include <boost/asio/spawn.hpp>
#include <chrono>
#include <cstdio>

#include "truth.h"

/*
 * asio::spawn wraps the handler in Boost.Coroutine's trampoline and its own entry point: the
 * entry the program knows is the function it spawned. Phase "mid" (truth.h), from a handler on
 * main's stack: two coroutines wait on timers an hour long in asio_wait_here, one finished;
 * phase "end": the timers cancelled, every coroutine returned.
 */

namespace asio = boost::asio;

static asio::io_context io;
static asio::steady_timer *timers[2];
static costack_task_t ids[3];
static int failures;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		failures++;
		std::printf("FAILED: %s\n", what);
	}
}

TRUTH_FN void asio_wait_here(asio::steady_timer &timer, asio::yield_context yield)
{
	boost::system::error_code ec;

	timer.async_wait(yield[ec]);
	KEEP_FRAME();
}

TRUTH_FN void asio_waiter(int slot, asio::yield_context yield)
{
	asio::steady_timer timer(io, std::chrono::hours(1));

	ids[slot] = truth_self();
	timers[slot] = &timer;
	asio_wait_here(timer, yield);
	timers[slot] = nullptr;
	KEEP_FRAME();
}

/* It switches away once (its entry is found on its stack then), and returns. */
TRUTH_FN void asio_quick(asio::yield_context yield)
{
	ids[2] = truth_self();
	asio::post(io, yield);
	KEEP_FRAME();
}

/* The functions spawned: the entries the program knows. */
TRUTH_FN void asio_first(asio::yield_context yield)
{
	asio_waiter(0, yield);
	KEEP_FRAME();
}

TRUTH_FN void asio_second(asio::yield_context yield)
{
	asio_waiter(1, yield);
	KEEP_FRAME();
}

int main()
{
	asio::spawn(io, asio_first);
	asio::spawn(io, asio_second);
	asio::spawn(io, asio_quick);
	/* Posted twice: it runs after the quick coroutine was resumed from its own post. */
	asio::post(io, [] {
		asio::post(io, [] {
			if (ids[2])
				expect(costack_task_state(ids[2]) == COSTACK_DONE,
				       "a returned coroutine is done");
			std::printf("two coroutines wait, one finished\n");
			struct truth mid[] = {
			        {"first", ids[0], "suspended", nullptr, "asio_first",
			         "asio_wait_here"},
			        {"second", ids[1], "suspended", nullptr, "asio_second",
			         "asio_wait_here"},
			        {"quick", ids[2], "done", nullptr, "asio_quick", nullptr},
			};
			truth_phase("mid", mid, 3);
			for (auto *timer : timers)
				if (timer)
					timer->cancel();
		});
	});
	io.run();
	std::printf("every coroutine returned\n");
	struct truth ended[] = {
	        {"first", ids[0], "done", nullptr, "asio_first", nullptr},
	        {"second", ids[1], "done", nullptr, "asio_second", nullptr},
	        {"quick", ids[2], "done", nullptr, "asio_quick", nullptr},
	};
	truth_phase("end", ended, 3);
	truth_next_descriptor();
	return failures ? 1 : 0;
}
