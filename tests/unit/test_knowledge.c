/* SPDX-License-Identifier: MIT */
/* test_knowledge.c - unit test of what costack knows of each runtime (preload/runtimes/knowledge/).
 */
#include <string.h>

#include "check.h"
#include "knowledge.h"

/* Real names, as Debian 12's g++ 12, Boost 1.74 and SimGrid 3.32 spell them (costack's tests saw
 * them). */
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
        "_ZSt6invokeIRPFN5boost7context5fiberEOS2_EJS2_EENSt13invoke_resultIT_JDpT0_EE4typeEOS8_"
        "DpOS9_",
        "_ZNSt8functionIFvvEEclEv",
        "std::invoke_result<boost::context::fiber (*&)(boost::context::fiber&&), "
        "boost::context::fiber>::type std::invoke<boost::context::fiber (*&)(boost::context::fiber"
        "&&), boost::context::fiber>(boost::context::fiber (*&)(boost::context::fiber&&), "
        "boost::context::fiber&&)",
        /* Boost.Fiber: its scheduler, its channels, this_fiber */
        "boost::fibers::detail::worker_context<void (*)()>::run_(boost::context::fiber&&)",
        "_ZN5boost6fibers6detail14worker_contextIPFvvEJEE4run_EONS_7context5fiberE",
        "boost::fibers::unbuffered_channel<int>::pop(int&)",
        "boost::this_fiber::yield()",
        /* Asio's spawn and Boost.Coroutine (v1) */
        "boost::asio::detail::strand_service::do_dispatch",
        "_ZN5boost10coroutines6detail19pull_coroutine_implIvE4pullEv",
        /* SimGrid */
        "simgrid::kernel::actor::ActorImpl::yield()",
        "_ZN7simgrid3s4u10this_actor9sleep_forEd",
};

static const char *const program_names[] = {
        "main",
        "fates::gen_failing(boost::coroutines2::detail::push_coroutine<int>&)",
        "_ZN5fates11gen_failingERN5boost11coroutines26detail14push_coroutineIiEE",
        "live_target::fiber_body(boost::context::fiber&&)",
        "void my::run<boost::context::fiber>(boost::context::fiber&&)",
        /* a user's namespace that merely starts like std, or like a runtime's */
        "stdlib_wrapper::call()",
        "_ZN14stdlib_wrapper4callEv",
        "simgrid_tools::plot()",
        "operator()", /* a lambda, named by DWARF alone */
        "",
};

static void test_functions(void)
{
	for (size_t i = 0; i < sizeof(runtime_names) / sizeof(*runtime_names); i++)
		CHECK(runtime_function(runtime_names[i]), "a runtime's own: %s", runtime_names[i]);
	for (size_t i = 0; i < sizeof(program_names) / sizeof(*program_names); i++)
		CHECK(!runtime_function(program_names[i]), "the program's own: %s",
		      program_names[i]);
	CHECK(!runtime_function(NULL), "no name");
}

static void test_modules(void)
{
	static const char *const runtime[] = {
	        "/lib/x86_64-linux-gnu/libc.so.6",
	        "/lib64/ld-linux-x86-64.so.2",
	        "/lib/x86_64-linux-gnu/libstdc++.so.6",
	        "/lib/x86_64-linux-gnu/libgcc_s.so.1",
	        "/usr/lib/x86_64-linux-gnu/libboost_context.so.1.74.0",
	        "libcostack.so",
	        "/work/build/preload/libcostack.so",
	        "/usr/lib/x86_64-linux-gnu/libpth.so.20",
	        "/usr/lib/x86_64-linux-gnu/libsimgrid.so.3.32",
	};
	static const char *const program[] = {"/usr/bin/server", "/opt/app/libcore.so",
	                                      "libcustom.so", "/opt/app/libpthx.so"};

	for (size_t i = 0; i < sizeof(runtime) / sizeof(*runtime); i++)
		CHECK(runtime_module(runtime[i]), "a runtime's library: %s", runtime[i]);
	for (size_t i = 0; i < sizeof(program) / sizeof(*program); i++)
		CHECK(!runtime_module(program[i]), "the program's own: %s", program[i]);
	CHECK(!runtime_module(NULL), "no module");
}

static void test_sources(void)
{
	static const char *const runtime[] = {
	        "/usr/include/boost/fiber/context.hpp",
	        "/usr/include/c++/12/bits/invoke.h",
	        "/usr/include/boost/coroutine2/detail/pull_control_block_cc.ipp",
	        "/usr/include/boost/coroutine/detail/pull_coroutine_impl.hpp",
	        "/usr/include/boost/asio/impl/spawn.hpp",
	        "/usr/include/boost/context/fiber_fcontext.hpp",
	        "/usr/include/simgrid/s4u/Mailbox.hpp",
	};
	static const char *const program[] = {
	        "../tests/runtimes/fiber_tasks.cpp",
	        "/usr/include/boost/algorithm/string.hpp", /* Boost, but no runtime's */
	        "/src/coroutine/scheduler.c",
	        "/usr/include/boost/coroutine2x/other.hpp",
	};

	for (size_t i = 0; i < sizeof(runtime) / sizeof(*runtime); i++)
		CHECK(runtime_source(runtime[i]), "a runtime's header: %s", runtime[i]);
	for (size_t i = 0; i < sizeof(program) / sizeof(*program); i++)
		CHECK(!runtime_source(program[i]), "the program's own: %s", program[i]);
	CHECK(!runtime_source(NULL) && !runtime_source(""), "no file");
}

/* Source-level frames, outermost first, at one address: f(function, file, module). */
#define F(fn_, file_, module_)                                                                     \
	{                                                                                          \
		.function = (fn_), .file = (file_), .module = (module_)                            \
	}
#define PROGRAM "/usr/bin/prog"

static void test_program_frames(void)
{
	/* run_() with the user's lambda and its callee inlined, then channel code inlined */
	const struct sym_frame f[] = {
	        F("boost::fibers::worker_context<main::{lambda()#1}>::run_",
	          "/usr/include/boost/fiber/context.hpp", PROGRAM),
	        F("operator()", "../app/main.cpp", PROGRAM),
	        F("consume(int)", "../app/main.cpp", PROGRAM),
	        F("pop", "/usr/include/boost/fiber/unbuffered_channel.hpp", PROGRAM),
	};
	const struct sym_frame runtime_only[] = {
	        F(NULL, NULL, "/usr/lib/x86_64-linux-gnu/libsimgrid.so.3.32"),
	        F("std::function<void ()>::operator()() const", NULL, PROGRAM),
	};

	CHECK_EQ(program_frame_innermost(f, 4), 2);
	CHECK_EQ(program_frame_outermost(f, 4), 1);
	CHECK_EQ(program_frame_innermost(runtime_only, 2), -1);
	CHECK_EQ(program_frame_outermost(runtime_only, 2), -1);
}

static void test_families(void)
{
	/* Boost.Fiber's fiber_entry: "boost" is a back reference by the time fibers appears */
	static const char fiber_entry[] =
	        "_ZN5boost7context6detail11fiber_entryINS1_12fiber_recordINS0_5fiberENS0_21basic_"
	        "fixedsize_stackINS0_12stack_traitsEEESt5_BindIFMNS_6fibers14worker_"
	        "contextIZ4mainEUlvE_"
	        "JEEEFS4_OS4_EPSD_St12_PlaceholderILi1EEEEEEEEvNS1_10transfer_tE";
	static const char coroutine2_entry[] =
	        "_ZN5boost7context6detail11fiber_entryINS1_12fiber_recordINS0_5fiberENS0_21basic_"
	        "fixedsize_stackINS0_12stack_traitsEEEZN5boost11coroutines26detail14pull_"
	        "coroutineIiE13control_blockC4IS7_RFvRNSB_14push_coroutineIiEEEEENS0_12"
	        "preallocatedEOT_OT0_EUlOS4_E_EEEEvNS1_10transfer_tE";
	static const char v1_entry[] =
	        "_ZN5boost10coroutines6detail19trampoline_push_voidINS1_21push_coroutine_"
	        "objectINS0_"
	        "14pull_coroutineIvEEvNS_4asio6detail16coro_entry_pointEEEEEvNS_7context6detail10"
	        "transfer_tE";

	CHECK_EQ(runtime_family_of_entry("/usr/lib/x86_64-linux-gnu/libpth.so.20", NULL),
	         RUNTIME_FAMILY_PTH);
	CHECK_EQ(runtime_family_of_entry("/usr/lib/x86_64-linux-gnu/libsimgrid.so.3.32", NULL),
	         RUNTIME_FAMILY_SIMGRID);
	CHECK_EQ(runtime_family_of_entry(PROGRAM, fiber_entry), RUNTIME_FAMILY_FIBER);
	CHECK_EQ(
	        runtime_family_of_entry("/usr/lib/x86_64-linux-gnu/libboost_fiber.so.1.74.0", NULL),
	        RUNTIME_FAMILY_FIBER);
	CHECK_EQ(runtime_family_of_entry(PROGRAM, coroutine2_entry), RUNTIME_FAMILY_COROUTINE2);
	CHECK_EQ(runtime_family_of_entry(PROGRAM, v1_entry), RUNTIME_FAMILY_COROUTINE);
	CHECK_EQ(runtime_family_of_entry(PROGRAM, runtime_names[0]), RUNTIME_FAMILY_BOOST_CONTEXT);
	CHECK_EQ(runtime_family_of_entry(PROGRAM, "task_entry"), RUNTIME_FAMILY_NONE);
	CHECK_EQ(runtime_family_of_entry(NULL, NULL), RUNTIME_FAMILY_NONE);
	CHECK(!runtime_entry_is_runtime(RUNTIME_FAMILY_NONE) &&
	              runtime_entry_is_runtime(RUNTIME_FAMILY_FIBER),
	      "only a runtime's entry hides the user's");
}

/* A table of physical frames: pc i has the source-level frames names[i - 1] (0: unknown). */
struct frame_table {
	const struct sym_frame *frames[8];
	int n[8];
};

static int names_of(uintptr_t pc, struct sym_frame *out, int cap, void *ctx)
{
	const struct frame_table *table = ctx;
	int n;

	if (!pc || pc > 8 || !table->frames[pc - 1])
		return 0;
	n = table->n[pc - 1] < cap ? table->n[pc - 1] : cap;
	memcpy(out, table->frames[pc - 1], (size_t)n * sizeof(*out));
	return n;
}

/* Row i of table t: the source-level frames `row` (an array that outlives the table's use). */
#define ROW(t, i, row)                                                                             \
	do {                                                                                       \
		(t)->frames[i] = (row);                                                            \
		(t)->n[i] = (int)(sizeof(row) / sizeof(*(row)));                                   \
	} while (0)

#define BOOST_SRC "/usr/include/boost/coroutine2/detail/pull_control_block_cc.ipp"
#define FIBER_ENTRY F(runtime_names[0], "/usr/include/boost/context/fiber_fcontext.hpp", PROGRAM)
#define RESUME                                                                                     \
	F("_ZN5boost7context5fiber6resumeEv", "/usr/include/boost/context/fiber_fcontext.hpp",     \
	  PROGRAM)

static void test_coroutine2(void)
{
	/* innermost first: the switch's caller up to the coroutine's entry */
	uintptr_t frames[] = {1, 2};
	struct frame_table ended = {0}, yielding = {0}, in_body = {0}, unknown = {0};

	/* the control block's lambda, inlined, makes the last switch */
	const struct sym_frame row1[] = {F(runtime_names[3], BOOST_SRC, PROGRAM), RESUME};
	ROW(&ended, 0, row1);
	const struct sym_frame row2[] = {FIBER_ENTRY, F("operator()", BOOST_SRC, PROGRAM)};
	ROW(&ended, 1, row2);
	/* a yield inlined with the body into that lambda */
	const struct sym_frame row3[] = {
	        F("operator()", BOOST_SRC, PROGRAM),
	        F("_ZN5boost11coroutines26detail14push_coroutineIiE13control_block6resumeEi",
	          "/usr/include/boost/coroutine2/detail/push_control_block_cc.ipp", PROGRAM),
	        RESUME};
	ROW(&yielding, 0, row3);
	const struct sym_frame row4[] = {FIBER_ENTRY};
	ROW(&yielding, 1, row4);
	/* the body's own code, inlined: a lambda named by DWARF only, in the program's file */
	const struct sym_frame row5[] = {F("operator()", "../app/generator.cpp", PROGRAM), RESUME};
	ROW(&in_body, 0, row5);
	const struct sym_frame row6[] = {FIBER_ENTRY};
	ROW(&in_body, 1, row6);
	const struct sym_frame row7[] = {FIBER_ENTRY};
	ROW(&unknown, 1, row7);

	CHECK(coroutine2_body_ended_inline(frames, 2, names_of, &ended),
	      "only Boost's and std's code, inlined or not: the body ended");
	CHECK(!coroutine2_body_ended_inline(frames, 2, names_of, &yielding),
	      "a yield (control_block::resume) inlined into Boost's frames: not ended");
	CHECK(!coroutine2_body_ended_inline(frames, 2, names_of, &in_body),
	      "the body's code inlined: not ended");
	CHECK(!coroutine2_body_ended_inline(frames, 2, names_of, &unknown),
	      "a frame nothing is known of: not ended");
	CHECK(!coroutine2_body_ended_inline(frames, 0, names_of, &ended), "no frame: not ended");
	CHECK(runtime_body_ended(RUNTIME_FAMILY_COROUTINE2, frames, 2, names_of, &ended) &&
	              !runtime_body_ended(RUNTIME_FAMILY_BOOST_CONTEXT, frames, 2, names_of,
	                                  &ended),
	      "the rule is Coroutine2's");

	CHECK(coroutine2_task(runtime_names[3]) && coroutine2_task("boost::coroutines2::x"),
	      "a Coroutine2 coroutine's entry");
	CHECK(!coroutine2_task(runtime_names[0]) && !coroutine2_task(NULL),
	      "a plain fiber's entry is no Coroutine2 coroutine's");
}

static void test_coroutine_v1(void)
{
	uintptr_t frames[] = {1, 2, 3};
	struct frame_table ended = {0}, yielding = {0};
	const char *v1_src = "/usr/include/boost/coroutine/detail/push_coroutine_object.hpp";

	/* push_coroutine_object::run() makes the last jump; a yield inlined into it pulls */
	const struct sym_frame row8[] = {
	        F("_ZN5boost10coroutines6detail17coroutine_context4jumpERS2_Pv", NULL,
	          "/usr/lib/x86_64-linux-gnu/libboost_coroutine.so.1.74.0")};
	ROW(&ended, 0, row8);
	const struct sym_frame row9[] = {
	        F("_ZN5boost10coroutines6detail21push_coroutine_object3runEv", v1_src, PROGRAM)};
	ROW(&ended, 1, row9);
	const struct sym_frame row10[] = {
	        F("_ZN5boost10coroutines6detail19trampoline_push_voidEv", v1_src, PROGRAM)};
	ROW(&ended, 2, row10);
	memcpy(&yielding, &ended, sizeof(ended));
	const struct sym_frame row11[] = {
	        F("_ZN5boost10coroutines6detail21push_coroutine_object3runEv", v1_src, PROGRAM),
	        F("_ZN5boost10coroutines6detail19pull_coroutine_implIvE4pullEv", v1_src, PROGRAM)};
	ROW(&yielding, 1, row11);

	CHECK(coroutine_v1_body_ended(frames, 3, names_of, &ended), "run()'s last jump: ended");
	CHECK(!coroutine_v1_body_ended(frames, 3, names_of, &yielding),
	      "a pull() inlined into run(): a yield");
	CHECK(coroutine_v1_forced_unwind("boost::coroutines::detail::forced_unwind") &&
	              runtime_forced_unwind("boost::coroutines::detail::forced_unwind"),
	      "Boost.Coroutine's forced unwind");
}

static void test_fiber(void)
{
	uintptr_t frames[] = {1, 2};
	struct frame_table ended = {0}, waiting = {0};
	const char *lib = "/usr/lib/x86_64-linux-gnu/libboost_fiber.so.1.74.0";

	const struct sym_frame row12[] = {
	        F("_ZN5boost6fibers9scheduler9terminateERSt11unique_lockINS0_6detail13"
	          "spinlock_ttasEEPNS0_7contextE",
	          NULL, lib)};
	ROW(&ended, 0, row12);
	const struct sym_frame row13[] = {F("_ZN5boost6fibers7context9terminateEv", NULL, lib)};
	ROW(&ended, 1, row13);
	const struct sym_frame row14[] = {F("_ZN5boost6fibers7context6resumeEv", NULL, lib)};
	ROW(&waiting, 0, row14);
	const struct sym_frame row15[] = {F("consume(int)", "../app/main.cpp", PROGRAM)};
	ROW(&waiting, 1, row15);
	CHECK(fiber_body_ended(frames, 2, names_of, &ended), "terminate(): the fiber ended");
	CHECK(!fiber_body_ended(frames, 2, names_of, &waiting), "a fiber waiting: not ended");
}

static void test_simgrid(void)
{
	uintptr_t frames[] = {1, 2};
	struct frame_table ended = {0}, killed = {0};
	const char *lib = "/usr/lib/x86_64-linux-gnu/libsimgrid.so.3.32";

	const struct sym_frame row16[] = {F(NULL, NULL, lib)};
	ROW(&ended, 0, row16);
	const struct sym_frame row17[] = {F("smx_ctx_wrapper", NULL, lib)};
	ROW(&ended, 1, row17);
	const struct sym_frame row18[] = {
	        F("simgrid::kernel::actor::ActorImpl::yield()", NULL, lib)};
	ROW(&killed, 0, row18);
	const struct sym_frame row19[] = {F("sleep_here", "../app/actors.cpp", PROGRAM)};
	ROW(&killed, 1, row19);
	CHECK(simgrid_body_ended(frames, 2, names_of, &ended), "the wrapper's last suspend: ended");
	CHECK(!simgrid_body_ended(frames, 2, names_of, &killed), "in the actor's code: not ended");
	CHECK(simgrid_kill("simgrid::ForcefulKillException") && !simgrid_kill("std::exception") &&
	              !simgrid_kill(NULL) &&
	              !runtime_forced_unwind("simgrid::ForcefulKillException"),
	      "SimGrid's kill, which is no forced unwind by itself");
	CHECK(program_entry(frames, 2, names_of, &killed) == 2 &&
	              program_entry(frames, 2, names_of, &ended) == 0,
	      "the user's entry: the outermost frame of the program's own, none in SimGrid's");
}

static void test_boost_context(void)
{
	CHECK(boost_context_forced_unwind("boost::context::detail::forced_unwind") &&
	              runtime_forced_unwind("boost::context::detail::forced_unwind"),
	      "Boost.Context's forced unwind");
	CHECK(!boost_context_forced_unwind("std::runtime_error") &&
	              !boost_context_forced_unwind(NULL) && !runtime_forced_unwind(NULL),
	      "any other exception is none");
	CHECK(boost_context_task(runtime_names[0]) && !boost_context_task("task_entry") &&
	              !boost_context_task(NULL),
	      "Boost.Context's start code");
}

int main(void)
{
	test_functions();
	test_modules();
	test_sources();
	test_program_frames();
	test_families();
	test_coroutine2();
	test_coroutine_v1();
	test_fiber();
	test_simgrid();
	test_boost_context();
	return check_finish("test_knowledge");
}
