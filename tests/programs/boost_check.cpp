// SPDX-License-Identifier: MIT
// boost_check.cpp - frames named in C++ (demangled) and stack comparisons, for the C++ test programs.
#include "boost_check.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace boost_check {

frame name_frame(const void *pc, bool is_return)
{
	const char *probe = static_cast<const char *>(pc) - (is_return ? 1 : 0);
	frame f{ pc, "??", "?" };
	Dl_info info;

	if (!pc || !dladdr(probe, &info))
		return f;
	if (info.dli_fname) {
		const char *slash = std::strrchr(info.dli_fname, '/');
		f.module = slash ? slash + 1 : info.dli_fname;
	}
	if (info.dli_sname) {
		int status = -1;
		char *demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
		f.name = status == 0 && demangled ? demangled : info.dli_sname;
		std::free(demangled);
	}
	return f;
}

std::string short_name(const std::string &demangled)
{
	size_t cut = demangled.find_first_of("<(");

	return cut == std::string::npos ? demangled : demangled.substr(0, cut);
}

std::vector<frame> name_frames(void *const *pcs, int n, bool entry_only)
{
	std::vector<frame> frames;

	for (int i = 0; i < n; i++)
		frames.push_back(name_frame(pcs[i], !entry_only));
	return frames;
}

std::vector<frame> task_frames(costack_task_t task, int size, int *n)
{
	void *pcs[FRAMES_MAX];
	int state = costack_task_state(task);
	int got = costack_get_stack(task, pcs, sizeof(pcs) / sizeof(*pcs), size);

	if (n)
		*n = got;
	return name_frames(pcs, got, state == COSTACK_CREATED);
}

std::string describe(const std::vector<std::string> &names)
{
	std::string s = "[";

	for (size_t i = 0; i < names.size(); i++)
		s += (i ? " " : "") + names[i];
	return s + "]";
}

std::string describe(const std::vector<frame> &frames)
{
	std::vector<std::string> names;

	for (const frame &f : frames)
		names.push_back(short_name(f.name));
	return describe(names);
}

std::vector<std::string> user_frames(const std::vector<frame> &frames, const std::string &prefix)
{
	std::vector<std::string> names;

	for (const frame &f : frames)
		if (starts_with(f.name, prefix))
			names.push_back(short_name(f.name));
	return names;
}

std::string forbidden_frame(const std::vector<frame> &frames)
{
	for (const frame &f : frames) {
		std::string name = short_name(f.name);

		if (starts_with(f.module, "libcostack") || starts_with(name, "costack_") ||
		    name == "jump_fcontext" || name == "ontop_fcontext")
			return name + " in " + f.module;
	}
	return "";
}

bool check_user_frames(const std::vector<frame> &frames, const char *what,
		       const std::string &prefix, const std::vector<std::string> &expected,
		       int frames_after)
{
	std::vector<std::string> got = user_frames(frames, prefix);
	std::string forbidden = forbidden_frame(frames);
	int after = 0;
	bool ok;

	/* Frames after the newest user frame: Boost's resume path, or the
	 * caller's own frames after its call to get_stack. */
	for (size_t i = frames.size(); i-- > 0 && !starts_with(frames[i].name, prefix);)
		after++;
	ok = got == expected && forbidden.empty() && (frames_after < 0 || after == frames_after) &&
	     !frames.empty();
	return check(ok, "%s: user frames %s%s%s, %d after them%s%s; all frames %s", what,
		     describe(got).c_str(), ok ? "" : " (want ", ok ? "" : describe(expected).c_str(),
		     after, forbidden.empty() ? "" : ", and a forbidden frame: ",
		     forbidden.c_str(), describe(frames).c_str());
}

bool check_user_stack(costack_task_t task, int size, const char *what, const std::string &prefix,
		      const std::vector<std::string> &expected, int frames_after)
{
	int n;
	std::vector<frame> frames = task_frames(task, size, &n);

	if (n < 0)
		return check(false, "%s: get_stack(task %llu, size %d) = -1 (%s)", what,
			     (unsigned long long)task, size, std::strerror(errno));
	return check_user_frames(frames, what, prefix, expected, frames_after);
}

std::string print_stack_text(costack_task_t task, int limit, int *status)
{
	char *text = nullptr;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int got;

	if (!f)
		std::abort();
	got = costack_print_stack(task, limit, f);
	std::fclose(f);
	if (status)
		*status = got;
	std::string s(text ? text : "");
	std::free(text);
	return s;
}

std::vector<std::string> lines(const std::string &text)
{
	std::vector<std::string> result;
	size_t start = 0;

	while (start < text.size()) {
		size_t end = text.find('\n', start);

		if (end == std::string::npos)
			end = text.size();
		result.push_back(text.substr(start, end - start));
		start = end + 1;
	}
	return result;
}

bool starts_with(const std::string &s, const std::string &prefix)
{
	return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string &s, const std::string &suffix)
{
	return s.size() >= suffix.size() &&
	       s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string &s, const std::string &part)
{
	return s.find(part) != std::string::npos;
}

bool lines_in_order(const std::vector<std::string> &text, const std::vector<std::string> &parts)
{
	size_t next = 0;

	for (const std::string &line : text)
		if (next < parts.size() && contains(line, parts[next]))
			next++;
	return next == parts.size();
}

} // namespace boost_check
