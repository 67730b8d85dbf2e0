/* SPDX-License-Identifier: MIT */
/* test_knowledge.c - unit test of what costack knows of each runtime (preload/runtimes/knowledge/). */
#include <string.h>

#include "check.h"
#include "knowledge.h"

/* Real names, as Debian 12's g++ 12 and Boost 1.74 spell them (costack's tests saw them). */
static const char *const runtime_names[] = {
	/* Boost.Context's start code and record, a template with a return type */
	"_ZN5boost7context6detail11fiber_entryINS1_12fiber_recordINS0_5fiberENS0_21basic_"
	"fixedsize_stackINS0_12stack_traitsEEERFS4_OS4_EEEEEvNS1_10transfer_tE",
	"void boost::context::detail::fiber_entry<boost::context::detail::fiber_record<boost::"
	"context::fiber, boost::context::basic_fixedsize_stack<boost::context::stack_traits>, "
	"boost::context::fiber (&)(boost::context::fiber&&)> >(boost::context::detail::transfer_t)",
	"boost::context::fiber::resume() &&",
	/* Coroutine2's control block lambda: a local entity of a constructor */
	"_ZZN5boost11coroutines26detail14pull_coroutineIiE13control_blockC4INS_7context21basic_"
	"fixedsize_stackINS5_12stack_traitsEEERFvRNS1_14push_coroutineIiEEEEENS5_12preallocatedEOT_"
	"OT0_ENKUlONS5_5fiberEE_clESJ_",
	"boost::coroutines2::detail::push_coroutine<int>::operator()(int const&)",
	/* std, alone and nested, and a template whose return type holds a space */
	"_ZSt6invokeIRPFN5boost7context5fiberEOS2_EJS2_EENSt13invoke_resultIT_JDpT0_EE4typeEOS8_DpOS9_",
	"_ZNSt8functionIFvvEEclEv",
	"std::invoke_result<boost::context::fiber (*&)(boost::context::fiber&&), "
	"boost::context::fiber>::type std::invoke<boost::context::fiber (*&)(boost::context::fiber"
	"&&), boost::context::fiber>(boost::context::fiber (*&)(boost::context::fiber&&), "
	"boost::context::fiber&&)",
	/* Boost.Fiber's scheduler */
	"boost::fibers::detail::worker_context<void (*)()>::run_(boost::context::fiber&&)",
	"_ZN5boost6fibers6detail14worker_contextIPFvvEJEE4run_EONS_7context5fiberE",
};

static const char *const program_names[] = {
	"main",
	"fates::gen_failing(boost::coroutines2::detail::push_coroutine<int>&)",
	"_ZN5fates11gen_failingERN5boost11coroutines26detail14push_coroutineIiEE",
	"live_target::fiber_body(boost::context::fiber&&)",
	"void my::run<boost::context::fiber>(boost::context::fiber&&)",
	/* a user's namespace that merely starts like std */
	"stdlib_wrapper::call()",
	"_ZN14stdlib_wrapper4callEv",
	"boost::asio::detail::strand_service::do_dispatch", /* not a runtime costack knows */
	"",
};

static void test_functions(void)
{
	for (size_t i = 0; i < sizeof(runtime_names) / sizeof(*runtime_names); i++)
		CHECK(runtime_function(runtime_names[i]), "a runtime's own: %s", runtime_names[i]);
	for (size_t i = 0; i < sizeof(program_names) / sizeof(*program_names); i++)
		CHECK(!runtime_function(program_names[i]), "the program's own: %s", program_names[i]);
	CHECK(!runtime_function(NULL), "no name");
}

static void test_modules(void)
{
	static const char *const runtime[] = {
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
		"/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libgcc_s.so.1",
		"/usr/lib/x86_64-linux-gnu/libboost_context.so.1.74.0", "libcostack.so",
		"/work/build/preload/libcostack.so",
	};
	static const char *const program[] = { "/usr/bin/server", "/opt/app/libcore.so",
					       "libcustom.so" };

	for (size_t i = 0; i < sizeof(runtime) / sizeof(*runtime); i++)
		CHECK(runtime_module(runtime[i]), "a runtime's library: %s", runtime[i]);
	for (size_t i = 0; i < sizeof(program) / sizeof(*program); i++)
		CHECK(!runtime_module(program[i]), "the program's own: %s", program[i]);
	CHECK(!runtime_module(NULL), "no module");
}

/* Frames named from a table: pc i is names[i]; 0 has no name. */
static bool name_of(uintptr_t pc, char *name, size_t size, void *ctx)
{
	const char *const *names = ctx;

	if (!pc || !names[pc - 1])
		return false;
	snprintf(name, size, "%s", names[pc - 1]);
	return true;
}

static void test_coroutine2(void)
{
	/* innermost first: the switch's caller up to the coroutine's entry */
	const char *ended[] = {
		"_ZN5boost7context5fiber6resumeEv", /* hypothetical: Boost's own switch */
		runtime_names[3],                   /* the control block's lambda */
		runtime_names[5],                   /* std::invoke (-O0) */
		runtime_names[0],                   /* fiber_entry */
	};
	const char *yielding[] = {
		"_ZN5boost11coroutines26detail14push_coroutineIiE13control_block6resumeEi",
		runtime_names[3],
		runtime_names[0],
	};
	const char *in_body[] = { runtime_names[4], program_names[2], runtime_names[3],
				  runtime_names[0] };
	const char *unnamed[] = { NULL, runtime_names[0] };
	uintptr_t frames[] = { 1, 2, 3, 4 };

	CHECK(coroutine2_body_ended(frames, 4, name_of, ended),
	      "only Boost's frames and std's: the body ended");
	CHECK(!coroutine2_body_ended(frames, 3, name_of, yielding),
	      "a yield (control_block::resume) inlined into Boost's frames: not ended");
	CHECK(!coroutine2_body_ended(frames, 4, name_of, in_body), "a body frame: not ended");
	CHECK(!coroutine2_body_ended(frames, 2, name_of, unnamed), "a frame with no name: not ended");
	CHECK(!coroutine2_body_ended(frames, 0, name_of, ended), "no frame: not ended");

	CHECK(coroutine2_task(runtime_names[3]) && coroutine2_task(
		      "_ZN5boost7context6detail11fiber_entryINS1_12fiber_recordINS0_5fiberENS0_21basic_"
		      "fixedsize_stackINS0_12stack_traitsEEEZN5boost11coroutines26detail14pull_"
		      "coroutineIiE13control_blockC4IS7_RFvRNSB_14push_coroutineIiEEEEENS0_12"
		      "preallocatedEOT_OT0_EUlOS4_E_EEEEvNS1_10transfer_tE"),
	      "a Coroutine2 coroutine's entry");
	CHECK(!coroutine2_task(runtime_names[0]) && !coroutine2_task(NULL),
	      "a plain fiber's entry is no Coroutine2 coroutine's");
}

static void test_boost_context(void)
{
	CHECK(boost_context_forced_unwind("boost::context::detail::forced_unwind"),
	      "Boost.Context's forced unwind");
	CHECK(!boost_context_forced_unwind("std::runtime_error") &&
		      !boost_context_forced_unwind(NULL),
	      "any other exception is none");
}

int main(void)
{
	test_functions();
	test_modules();
	test_coroutine2();
	test_boost_context();
	return check_finish("test_knowledge");
}
