// SPDX-License-Identifier: MIT
// boost_check.hpp - what the C++ test programs share: check.h's counting, frames named in C++ (demangled).
#ifndef COSTACK_TESTS_BOOST_CHECK_HPP
#define COSTACK_TESTS_BOOST_CHECK_HPP

extern "C" {
#include "check.h"
}

#include <string>
#include <vector>

/*
 * check.h counts the checks and gives the quiet mode (check_init, check,
 * check_finish); its frame helpers compare raw dynamic symbols, which in C++
 * are mangled. These name a frame the way a reader does: dladdr's symbol,
 * demangled with abi::__cxa_demangle, and cut to its qualified name
 * ("fates::produce", not its parameter list) for comparison.
 *
 * A coroutine's stack in Boost holds Boost's own frames around the user's
 * (the trampoline and record at its bottom, the resume path above a yield);
 * the checks compare the user's frames, picked by a name prefix such as
 * "fates::", and require every other frame to be neither costack's own nor a
 * switch function (jump_fcontext, ontop_fcontext).
 */

namespace boost_check {

struct frame {
	const void *pc;
	std::string name;   // demangled, whole ("??" when unknown)
	std::string module; // the object's base name ("?" when unknown)
};

// The frame at pc: a return address is looked up at pc - 1 (the call), an
// entry function at pc.
frame name_frame(const void *pc, bool is_return);
// "fates::produce(int)" -> "fates::produce"; names of templates and lambdas
// are cut at their first '<' or '(' ("boost::context::detail::fiber_entry").
std::string short_name(const std::string &demangled);
// costack_get_stack(task, …, size) named; *n gets its result (-1 on error).
std::vector<frame> task_frames(costack_task_t task, int size, int *n = nullptr);
std::vector<frame> name_frames(void *const *pcs, int n, bool entry_only);
// "[a b c]" of the frames' short names.
std::string describe(const std::vector<frame> &frames);
std::string describe(const std::vector<std::string> &names);
// The short names of the frames whose name starts with prefix, oldest first.
std::vector<std::string> user_frames(const std::vector<frame> &frames, const std::string &prefix);
// A frame that no stack may hold: costack's own, or a switch function. Empty
// when there is none, else a description of the first.
std::string forbidden_frame(const std::vector<frame> &frames);

/*
 * The task's frames, oldest first, must hold exactly the expected user frames
 * (by prefix) in order, the last of them newest but for frames_after other
 * frames (-1: any number, all Boost's), and no forbidden frame.
 */
bool check_user_stack(costack_task_t task, int size, const char *what, const std::string &prefix,
		      const std::vector<std::string> &expected, int frames_after = -1);
bool check_user_frames(const std::vector<frame> &frames, const char *what,
		       const std::string &prefix, const std::vector<std::string> &expected,
		       int frames_after = -1);

// costack_print_stack()'s text, and its lines.
std::string print_stack_text(costack_task_t task, int limit, int *status = nullptr);
std::vector<std::string> lines(const std::string &text);
bool starts_with(const std::string &s, const std::string &prefix);
bool ends_with(const std::string &s, const std::string &suffix);
bool contains(const std::string &s, const std::string &part);
// Whether the lines hold, in this order, lines containing each of parts.
bool lines_in_order(const std::vector<std::string> &text, const std::vector<std::string> &parts);

} // namespace boost_check

#endif
