// SPDX-License-Identifier: MIT
// fiber_tasks.cpp - Boost.Fiber fibers waiting on a channel, yielding, finished: what the program
// knows of each.
#include <boost/fiber/all.hpp>
#include <cstdio>

#include "truth.h"

/*
 * A boost::fibers::fiber has no name; its entry is the function the program gave it (here plain
 * functions, called through Boost.Fiber's worker_context), which costack finds on the fiber's
 * stack behind Boost.Context's start code. Phase "mid" (truth.h): two fibers wait on a channel
 * in fiber_wait, one is ready (it yielded), one finished and was joined; phase "end": all
 * joined.
 */

static boost::fibers::unbuffered_channel<int> channel;
static costack_task_t ids[4];
static int failures;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		failures++;
		std::printf("FAILED: %s\n", what);
	}
}

extern "C" {
TRUTH_FN void fiber_wait(void)
{
	int value;

	channel.pop(value);
	KEEP_FRAME();
}

TRUTH_FN void fiber_worker(int slot)
{
	ids[slot] = truth_self();
	fiber_wait();
	KEEP_FRAME();
}

/* It switches away once (its entry is found on its stack then), and returns. */
TRUTH_FN void fiber_quick(int slot)
{
	ids[slot] = truth_self();
	boost::this_fiber::yield();
	KEEP_FRAME();
}

TRUTH_FN void fiber_yield_here(void)
{
	boost::this_fiber::yield();
	KEEP_FRAME();
}

TRUTH_FN void fiber_yielder(int slot)
{
	ids[slot] = truth_self();
	for (int i = 0; i < 3; i++)
		fiber_yield_here();
	KEEP_FRAME();
}
}

int main()
{
	boost::fibers::fiber waiter1(fiber_worker, 0), waiter2(fiber_worker, 1);
	boost::fibers::fiber quick(fiber_quick, 2), yielder(fiber_yielder, 3);

	quick.join();
	if (ids[2])
		expect(costack_task_state(ids[2]) == COSTACK_DONE, "a joined fiber is done");
	std::printf("two fibers wait, one yields, one finished\n");
	struct truth mid[] = {
	        {"waiter1", ids[0], "suspended", nullptr, "fiber_worker", "fiber_wait"},
	        {"waiter2", ids[1], "suspended", nullptr, "fiber_worker", "fiber_wait"},
	        {"quick", ids[2], "done", nullptr, "fiber_quick", nullptr},
	        {"yielder", ids[3], "suspended", nullptr, "fiber_yielder", "fiber_yield_here"},
	};
	truth_phase("mid", mid, 4);
	channel.push(1);
	channel.push(2);
	waiter1.join();
	waiter2.join();
	yielder.join();
	std::printf("all joined\n");
	struct truth ended[] = {
	        {"waiter1", ids[0], "done", nullptr, "fiber_worker", nullptr},
	        {"waiter2", ids[1], "done", nullptr, "fiber_worker", nullptr},
	        {"quick", ids[2], "done", nullptr, "fiber_quick", nullptr},
	        {"yielder", ids[3], "done", nullptr, "fiber_yielder", nullptr},
	};
	truth_phase("end", ended, 4);
	truth_next_descriptor();
	return failures ? 1 : 0;
}
