// SPDX-License-Identifier: MIT
// coro2_fates.cpp - Boost.Coroutine2 coroutines in every fate; each one's get_stack(), print_stack() and task_info() checked.
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/coroutine2/all.hpp>

#include "boost_check.hpp"

/*
 * Each coroutine body is a plain function in namespace fates (not a lambda),
 * so that its frames, and Boost's frames instantiated for it, have names in
 * the dynamic symbol table; the checks compare the frames named "fates::…"
 * and let Boost's own frames be around them. A coroutine is found from
 * outside, while it is suspended, by costack_task_at(the address of one of
 * its locals), and from inside by costack_current_task().
 *
 * Fates (DESIGN.md, get_stack semantics):
 *   suspended at a yield -> its frames, the yield helper newest;
 *   its body returned    -> done, no frames;
 *   an exception escaped its body (Coroutine2 keeps it and rethrows it in the
 *   caller)              -> failed, the traceback, oldest frames kept, from
 *                           the moment the caller caught it (Boost ends the
 *                           coroutine's context only when the pull_type goes);
 *   an exception caught inside -> done, the raise counted;
 *   destroyed while suspended (Boost's forced_unwind) -> cancelled, no frames.
 *
 * It prints what the coroutines did, the same with the preload or without.
 */

using namespace boost_check;
using coro_t = boost::coroutines2::coroutine<int>;

namespace fates {

// What a coroutine saw of itself.
struct seen {
	const void *local = nullptr; // the address of one of its locals
	costack_task_t self = 0;     // costack_current_task(), asked by itself
};

static bool checks;
static costack_task_t root_id;
static seen counting, failing, catching, forever, consumer_seen;
static std::string handled_what;
static bool forever_unwound, consumer_unwound;
static int consumed_sum;

// Sets a flag when the stack it lives on unwinds (Boost's forced_unwind runs destructors).
struct unwind_flag {
	bool *flag;
	~unwind_flag() { *flag = true; }
};

static void remember(seen *s, const void *local)
{
	s->local = local;
	s->self = checks ? costack_current_task() : 0;
}

// --- the coroutines' functions ---------------------------------------------------------

// The yield helper: a generator suspends here.
STACK_FN void yield_value(coro_t::push_type &sink, int value)
{
	sink(value);
	KEEP_FRAME();
}

STACK_FN void produce(coro_t::push_type &sink, int count)
{
	for (int i = 1; i <= count; i++)
		yield_value(sink, i);
	KEEP_FRAME();
}

// A running coroutine looks at itself, and at main, which resumed it.
STACK_FN void look_at_self(seen *s)
{
	costack_task_t self = costack_current_task();
	struct costack_task_info info = {};
	void *frames[FRAMES_MAX];
	int n = costack_get_stack(self, frames, sizeof(frames) / sizeof(*frames), 0);

	s->self = self;
	if (!check(self != 0 && self != root_id && self == costack_task_at(&self),
		   "running: costack_current_task() (%llu) is the task on this stack, not main's",
		   (unsigned long long)self))
		return;
	check_state(self, COSTACK_RUNNING, "running");
	info.size = sizeof(info);
	int info_status = costack_task_info(self, &info);
	check(info_status == 0 && info.runtime == COSTACK_RUNTIME_FCONTEXT &&
		      info.parent == root_id && info.thread == gettid() &&
		      (const char *)info.stack_lo <= (const char *)&self &&
		      (const char *)&self < (const char *)info.stack_hi,
	      "running: task_info: runtime fcontext (%d), parent main (%llu), thread %d (%d), "
	      "its stack range holds its locals",
	      info.runtime, (unsigned long long)info.parent, (int)gettid(), (int)info.thread);
	check_user_frames(name_frames(frames, n, false), "running, asked by itself", "fates::",
			  { "fates::gen_counting", "fates::look_at_self" }, 0);

	std::vector<frame> root = task_frames(root_id, 0);
	bool has_main = false;
	for (const frame &f : root)
		has_main |= short_name(f.name) == "main";
	check_state(root_id, COSTACK_SUSPENDED, "main while the coroutine runs");
	check(has_main && forbidden_frame(root).empty(),
	      "main while the coroutine runs: its stack holds main and no forbidden frame: %s",
	      describe(root).c_str());
}

STACK_FN void gen_counting(coro_t::push_type &sink)
{
	int local = 0;

	remember(&counting, &local);
	if (checks)
		look_at_self(&counting);
	produce(sink, 3);
	KEEP_FRAME();
}

STACK_FN void fail_b(int depth)
{
	throw std::runtime_error("boom at depth " + std::to_string(depth));
}

STACK_FN void fail_a(void)
{
	fail_b(2);
	KEEP_FRAME();
}

STACK_FN void gen_failing(coro_t::push_type &sink)
{
	int local = 0;

	remember(&failing, &local);
	yield_value(sink, 7); // suspended once, so that main finds it
	fail_a();
	KEEP_FRAME();
}

STACK_FN void raise_logic_error(void)
{
	throw std::logic_error("handled inside");
}

STACK_FN void gen_catching(coro_t::push_type &sink)
{
	int local = 0;

	remember(&catching, &local);
	yield_value(sink, 1);
	try {
		raise_logic_error();
	} catch (const std::logic_error &e) {
		handled_what = e.what();
	}
	yield_value(sink, 2);
	KEEP_FRAME();
}

STACK_FN void gen_forever(coro_t::push_type &sink)
{
	unwind_flag flag{ &forever_unwound };
	int local = 0;

	remember(&forever, &local);
	for (int i = 0;; i++)
		yield_value(sink, i);
}

// The consumer of a push_type suspends here, waiting for the next value.
STACK_FN void wait_next(coro_t::pull_type &in)
{
	in();
	KEEP_FRAME();
}

STACK_FN void consume(coro_t::pull_type &in, int value)
{
	consumed_sum += value;
	wait_next(in);
	KEEP_FRAME();
}

STACK_FN void consumer(coro_t::pull_type &in)
{
	unwind_flag flag{ &consumer_unwound };
	int local = 0;

	remember(&consumer_seen, &local);
	for (;;)
		consume(in, in.get());
}

// main's side of a failed coroutine: resume it, catch what it rethrows.
STACK_FN std::string resume_and_catch(coro_t::pull_type &gen)
{
	try {
		gen();
	} catch (const std::runtime_error &e) {
		return std::string("std::runtime_error: ") + e.what();
	}
	return "nothing";
}

// --- checks -----------------------------------------------------------------------------

static bool same_frames(const std::vector<frame> &a, const std::vector<frame> &b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++)
		if (a[i].pc != b[i].pc)
			return false;
	return true;
}

static std::vector<frame> slice(const std::vector<frame> &v, size_t first, size_t count)
{
	return std::vector<frame>(v.begin() + (long)first, v.begin() + (long)(first + count));
}

// The coroutine's task; 0 (and one failed check) when costack does not know it: the
// caller skips the checks that depend on it.
static costack_task_t find_task(const seen &s, const char *what)
{
	costack_task_t id = costack_task_at(s.local);

	if (id == 0 || id == root_id)
		id = 0;
	check(id != 0 && id == s.self && id != root_id,
	      "%s: costack_task_at(a local of the coroutine) = %llu, what it saw itself as (%llu)",
	      what, (unsigned long long)id, (unsigned long long)s.self);
	return id;
}

static bool listed(costack_task_t task)
{
	costack_task_t ids[256];
	size_t n = costack_all_tasks(ids, 256);

	for (size_t i = 0; i < n && i < 256; i++)
		if (ids[i] == task)
			return true;
	return false;
}

static void check_info(costack_task_t task, int state, const char *what)
{
	struct costack_task_info info = {};

	info.size = sizeof(info);
	int info_status = costack_task_info(task, &info);
	check(info_status == 0 && info.state == state &&
		      info.runtime == COSTACK_RUNTIME_FCONTEXT && info.parent == root_id &&
		      info.thread == gettid() && info.switches >= 1,
	      "%s: task_info: %s, runtime fcontext, parent main, thread %d, switched in "
	      "(got %s, runtime %d, parent %llu, thread %d, %llu switches)",
	      what, costack_state_name(state), (int)gettid(), costack_state_name(info.state),
	      info.runtime, (unsigned long long)info.parent, (int)info.thread,
	      (unsigned long long)info.switches);
}

// get_stack(size) of a suspended task keeps the newest frames.
static void check_stack_sizes(costack_task_t task, const char *what)
{
	int n;
	std::vector<frame> all = task_frames(task, 0, &n);
	size_t depth = all.size();

	check(depth >= 3, "%s: %zu frames", what, depth);
	if (depth < 3)
		return;
	for (size_t k : { size_t(1), size_t(2), depth - 1, depth }) {
		std::vector<frame> cut = task_frames(task, (int)k);
		check(same_frames(cut, slice(all, depth - k, k)),
		      "%s, size %zu keeps the newest %zu frames: %s", what, k, k,
		      describe(cut).c_str());
	}
	check(same_frames(task_frames(task, (int)depth + 10), all) &&
		      same_frames(task_frames(task, -1), all),
	      "%s: size > depth and size -1 give every frame", what);

	void *frames[8];
	for (void *&f : frames)
		f = (void *)0x5a5a5a5a;
	n = costack_get_stack(task, frames, sizeof(frames) / sizeof(*frames), 2);
	check(n == 2 && frames[2] == (void *)0x5a5a5a5a,
	      "%s, size 2: 2 frames written, frames[2] untouched", what);
}

static void check_no_frames_printed(costack_task_t task, const char *state, const char *what)
{
	int status;
	std::string text = print_stack_text(task, 0, &status);
	std::string header = "No stack for <Task " + std::string(state) + " id=" +
			     std::to_string(task) + " ";

	check(status == 0 && starts_with(text, header) && lines(text).size() == 1 &&
		      contains(text, " runtime=fcontext "),
	      "%s: print_stack says '%s…' on one line: '%s'", what, header.c_str(),
	      text.substr(0, text.find('\n')).c_str());
}

// --- the fates ------------------------------------------------------------------------

static void suspended_then_done(void)
{
	std::string values;
	costack_task_t id = 0;
	{
		coro_t::pull_type gen(gen_counting); // runs until the first yield
		if (checks)
			id = find_task(counting, "suspended");
		if (id) {
			check_state(id, COSTACK_SUSPENDED, "suspended at the first yield");
			check_info(id, COSTACK_SUSPENDED, "suspended");
			check(listed(id), "suspended: all_tasks lists it");
			check(costack_current_task() == root_id &&
				      costack_task_state(root_id) == COSTACK_RUNNING,
			      "main runs again after the coroutine yielded");
			check_user_stack(id, 0, "suspended", "fates::",
					 { "fates::gen_counting", "fates::produce",
					   "fates::yield_value" });
			check_stack_sizes(id, "suspended");

			int status;
			std::vector<std::string> text = lines(print_stack_text(id, 0, &status));
			std::string header = "Stack for <Task suspended id=" + std::to_string(id) + " ";
			check(status == 0 && !text.empty() && starts_with(text[0], header) &&
				      contains(text[0], " runtime=fcontext ") &&
				      ends_with(text[0], "> (most recent call last):"),
			      "suspended: print_stack header: '%s'",
			      text.empty() ? "(none)" : text[0].c_str());
			bool located = true;
			for (const std::string &line : text)
				if (contains(line, "in fates::"))
					located &= starts_with(line, "  File \"") &&
						   contains(line, "coro2_fates.cpp\", line ");
			check(located && lines_in_order(text, { "in fates::gen_counting",
								"in fates::produce",
								"in fates::yield_value" }),
			      "suspended: print_stack shows gen_counting, produce, yield_value in "
			      "order, each with its file and line");
			bool clean = true;
			for (const std::string &line : text)
				clean &= !contains(line, "jump_fcontext") && !contains(line, "libcostack");
			check(clean, "suspended: print_stack shows neither jump_fcontext nor costack");
		}
		for (; gen; gen()) {
			values += " " + std::to_string(gen.get());
			if (id && gen.get() == 2)
				check_user_stack(id, 0, "suspended at the second yield", "fates::",
						 { "fates::gen_counting", "fates::produce",
						   "fates::yield_value" });
		}
	} // the body returned: Boost ends the coroutine as the pull_type goes
	std::printf("coro2_fates: the generator gave%s\n", values.c_str());
	if (id) {
		check_no_stack(id, COSTACK_DONE, "done (its body returned)");
		check_info(id, COSTACK_DONE, "done");
		check(!listed(id), "done: all_tasks no longer lists it");
		check_no_frames_printed(id, "done", "done");
	}
}

static void failed(void)
{
	std::vector<frame> at_yield;
	std::string caught;
	costack_task_t id = 0;
	{
		coro_t::pull_type gen(gen_failing);
		if (checks)
			id = find_task(failing, "failing, at its yield");
		if (id) {
			check_user_stack(id, 0, "failing, suspended at its yield", "fates::",
					 { "fates::gen_failing", "fates::yield_value" });
			at_yield = task_frames(id, 0);
		}
		caught = resume_and_catch(gen);
		if (id) {
			/* Coroutine2 keeps the coroutine in its control block while
			 * the pull_type lives: it is failed already. */
			check_state(id, COSTACK_FAILED, "failed as soon as its body threw, the pull_type alive");
			check_user_frames(task_frames(id, 0), "failed, the pull_type alive: the traceback",
					  "fates::", { "fates::gen_failing", "fates::fail_a", "fates::fail_b" }, 0);
			struct costack_task_info info = {};
			info.size = sizeof(info);
			int info_status = costack_task_info(root_id, &info);
			check(info_status == 0 && info.exception_origin == id &&
				      info.raises >= 1 &&
				      std::string(info.exception_type) == "std::runtime_error",
			      "main, which caught the rethrown exception: exception_origin = the "
			      "failed task %llu (got %llu), type std::runtime_error ('%s'), %llu raises",
			      (unsigned long long)id, (unsigned long long)info.exception_origin,
			      info.exception_type, (unsigned long long)info.raises);
		}
	}
	std::printf("coro2_fates: caught %s\n", caught.c_str());
	if (!id)
		return;

	check_state(id, COSTACK_FAILED, "failed, after the pull_type is gone");
	check_info(id, COSTACK_FAILED, "failed");
	check(!listed(id), "failed: all_tasks no longer lists it");
	int n;
	std::vector<frame> tb = task_frames(id, 0, &n);
	check_user_frames(tb, "failed: the traceback", "fates::",
			  { "fates::gen_failing", "fates::fail_a", "fates::fail_b" }, 0);
	check(!tb.empty() && !at_yield.empty() && tb[0].pc == at_yield[0].pc,
	      "failed: the traceback starts at the task's outermost frame (%s), as its stack did",
	      tb.empty() ? "none" : short_name(tb[0].name).c_str());
	if (tb.size() >= 3) {
		for (size_t k : { size_t(1), size_t(2), tb.size() - 1 }) {
			std::vector<frame> cut = task_frames(id, (int)k);
			check(same_frames(cut, slice(tb, 0, k)),
			      "failed, size %zu keeps the oldest %zu frames: %s", k, k,
			      describe(cut).c_str());
		}
		check(same_frames(task_frames(id, (int)tb.size() + 10), tb),
		      "failed, size > depth gives every frame");
	}

	struct costack_task_info info = {};
	info.size = sizeof(info);
	int info_status = costack_task_info(id, &info);
	check(info_status == 0 &&
		      std::string(info.exception_type) == "std::runtime_error" &&
		      std::string(info.exception_what) == "boom at depth 2" && info.raises >= 1 &&
		      info.exception_origin == id,
	      "failed: task_info: exception '%s: %s' (want std::runtime_error: boom at depth 2), "
	      "%llu raises, origin %llu (itself: %llu)",
	      info.exception_type, info.exception_what, (unsigned long long)info.raises,
	      (unsigned long long)info.exception_origin, (unsigned long long)id);

	int status;
	std::vector<std::string> text = lines(print_stack_text(id, 0, &status));
	std::string header = "Traceback for <Task failed id=" + std::to_string(id) + " ";
	check(status == 0 && text.size() >= 5 && starts_with(text[0], header) &&
		      contains(text[0], " runtime=fcontext ") &&
		      ends_with(text[0], "> (most recent call last):"),
	      "failed: print_stack header: '%s'", text.empty() ? "(none)" : text[0].c_str());
	check(!text.empty() && text.back() == "std::runtime_error: boom at depth 2",
	      "failed: print_stack's last line is 'std::runtime_error: boom at depth 2' (got '%s')",
	      text.empty() ? "(none)" : text.back().c_str());
	check(text.size() >= 2 && contains(text[text.size() - 2], "in fates::fail_b") &&
		      lines_in_order(text, { "in fates::gen_failing", "in fates::fail_a",
					     "in fates::fail_b" }),
	      "failed: print_stack shows gen_failing, fail_a, fail_b, the throw site last");
	/* A frame may print as several lines (its inlined functions): the cut
	 * traceback is the full one's first lines, then the exception. */
	std::vector<std::string> cut = lines(print_stack_text(id, 2, &status));
	bool prefix = cut.size() >= 3 && cut.size() < text.size();
	for (size_t i = 0; prefix && i + 1 < cut.size(); i++)
		prefix = cut[i] == text[i];
	check(status == 0 && prefix && cut.back() == "std::runtime_error: boom at depth 2",
	      "failed: print_stack limit 2 prints the oldest 2 frames, then the exception (%zu "
	      "lines of %zu)",
	      cut.size(), text.size());
}

static void caught_inside(void)
{
	costack_task_t id = 0;
	uint64_t raises = 0;
	std::string values;
	{
		coro_t::pull_type gen(gen_catching);
		if (checks)
			id = find_task(catching, "catching, at its first yield");
		values += " " + std::to_string(gen.get());
		gen(); // raises, catches, yields again
		values += " " + std::to_string(gen.get());
		if (id) {
			struct costack_task_info info = {};
			info.size = sizeof(info);
			check_state(id, COSTACK_SUSPENDED, "an exception caught inside: still suspended");
			check_user_stack(id, 0, "an exception caught inside, at the next yield",
					 "fates::", { "fates::gen_catching", "fates::yield_value" });
			int info_status = costack_task_info(id, &info);
			check(info_status == 0 && info.raises >= 1 &&
				      std::string(info.exception_type) == "std::logic_error" &&
				      std::string(info.exception_what) == "handled inside" &&
				      info.exception_origin == id,
			      "an exception caught inside: task_info: %llu raises, exception '%s: %s' "
			      "(want std::logic_error: handled inside), origin %llu (itself)",
			      (unsigned long long)info.raises, info.exception_type,
			      info.exception_what, (unsigned long long)info.exception_origin);
			raises = info.raises;
		}
		gen(); // the body returns
		if (checks)
			check(!gen, "the catching generator finished");
	}
	std::printf("coro2_fates: the catching generator gave%s and handled '%s'\n", values.c_str(),
		    handled_what.c_str());
	if (id) {
		struct costack_task_info info = {};
		info.size = sizeof(info);
		check_no_stack(id, COSTACK_DONE, "an exception caught inside: done");
		int info_status = costack_task_info(id, &info);
		check(info_status == 0 && info.raises >= raises && raises >= 1,
		      "an exception caught inside: done, the raise kept (%llu raises)",
		      (unsigned long long)info.raises);
	}
}

static void cancelled_generator(void)
{
	costack_task_t id = 0;
	std::string values;
	{
		coro_t::pull_type gen(gen_forever);
		for (int i = 0; i < 3; i++) {
			if (i)
				gen();
			values += " " + std::to_string(gen.get());
		}
		if (checks) {
			id = find_task(forever, "endless generator");
			if (id)
				check_user_stack(id, 0, "endless generator, suspended", "fates::",
						 { "fates::gen_forever", "fates::yield_value" });
		}
	} // destroyed while suspended: Boost unwinds its stack with forced_unwind
	std::printf("coro2_fates: the endless generator gave%s; destroyed, %s\n", values.c_str(),
		    forever_unwound ? "its stack unwound" : "its stack NOT unwound");
	if (id) {
		check_no_stack(id, COSTACK_CANCELLED, "a generator destroyed while suspended");
		check_no_frames_printed(id, "cancelled", "cancelled");
		check(!listed(id), "cancelled: all_tasks no longer lists it");
	}
}

static void cancelled_consumer(void)
{
	costack_task_t id = 0;
	{
		coro_t::push_type sink(consumer);
		sink(1);
		if (checks) {
			id = find_task(consumer_seen, "consumer");
			if (id)
				check_user_stack(id, 0, "push_type consumer, waiting for a value", "fates::",
						 { "fates::consumer", "fates::consume",
						   "fates::wait_next" });
		}
		sink(2);
	}
	std::printf("coro2_fates: the consumer got a sum of %d; destroyed, %s\n", consumed_sum,
		    consumer_unwound ? "its stack unwound" : "its stack NOT unwound");
	if (id)
		check_no_stack(id, COSTACK_CANCELLED, "a push_type consumer destroyed while waiting");
}

} // namespace fates

int main(int argc, char **argv)
{
	fates::checks = check_init("coro2_fates", argc, argv);
	if (fates::checks)
		fates::root_id = costack_current_task();

	fates::suspended_then_done();
	fates::caught_inside();
	fates::failed();
	fates::cancelled_generator();
	fates::cancelled_consumer();
	return check_finish();
}
