// SPDX-License-Identifier: MIT
// simgrid_actors.cpp - SimGrid actors receiving, sleeping, finished, killed at the end: what the
// program knows of each (run with each context factory).
#include <simgrid/s4u.hpp>
#include <cstdio>
#include <cstring>

#include "truth.h"

/*
 * SimGrid runs each actor on a context of its factory (--cfg=contexts/factory:ucontext, boost
 * or raw): the first two switch with makecontext/swapcontext and make_fcontext/jump_fcontext,
 * which costack hooks; raw switches with SimGrid's own assembly, which it does not. The program
 * knows its actors by the names it gave them, their functions, where each waits, and how the
 * simulation ends them: "sleeper", a daemon sleeping for ever, is killed when the simulation
 * ends. Phase "mid" (truth.h) is written by the sender while it runs, phase "end" by main once
 * the simulation is over.
 */

namespace sg4 = simgrid::s4u;

static costack_task_t ids[4];

extern "C" {
TRUTH_FN void receive_here(sg4::Mailbox *mailbox)
{
	delete mailbox->get<int>();
	KEEP_FRAME();
}

TRUTH_FN void sg_receiver(void)
{
	ids[0] = truth_self();
	receive_here(sg4::Mailbox::by_name("box"));
	KEEP_FRAME();
}

TRUTH_FN void sleep_here(void)
{
	sg4::this_actor::sleep_for(1e9);
	KEEP_FRAME();
}

TRUTH_FN void sg_sleeper(void)
{
	ids[1] = truth_self();
	sleep_here();
	KEEP_FRAME();
}

/* It switches away once (its entry is found on its stack then), and returns. */
TRUTH_FN void sg_quick(void)
{
	ids[2] = truth_self();
	sg4::this_actor::yield();
	KEEP_FRAME();
}

TRUTH_FN void sg_sender(void)
{
	ids[3] = truth_self();
	sg4::this_actor::sleep_for(1);
	std::printf("sender at %g\n", sg4::Engine::get_clock());
	struct truth mid[] = {
	        {"receiver", ids[0], "suspended", "receiver", "sg_receiver", "receive_here"},
	        {"sleeper", ids[1], "suspended", "sleeper", "sg_sleeper", "sleep_here"},
	        {"quick", ids[2], "done", "quick", "sg_quick", nullptr},
	        {"sender", ids[3], "running", "sender", "sg_sender", nullptr},
	};
	truth_phase("mid", mid, 4);
	sg4::Mailbox::by_name("box")->put(new int(1), 100);
	KEEP_FRAME();
}
}

int main(int argc, char **argv)
{
	sg4::Engine engine(&argc, argv);
	auto *zone = sg4::create_full_zone("zone");
	auto *host = zone->create_host("host", 1e9);

	zone->seal();
	sg4::Actor::create("receiver", host, sg_receiver);
	sg4::Actor::create("sleeper", host, sg_sleeper)->daemonize();
	sg4::Actor::create("quick", host, sg_quick);
	sg4::Actor::create("sender", host, sg_sender);
	engine.run();
	std::printf("simulation over at %g\n", sg4::Engine::get_clock());
	struct truth ended[] = {
	        {"receiver", ids[0], "done", "receiver", "sg_receiver", nullptr},
	        {"sleeper", ids[1], "cancelled", "sleeper", "sg_sleeper", nullptr},
	        {"quick", ids[2], "done", "quick", "sg_quick", nullptr},
	        {"sender", ids[3], "done", "sender", "sg_sender", nullptr},
	};
	truth_phase("end", ended, 4);
	truth_next_descriptor();
	return 0;
}
