/* SPDX-License-Identifier: MIT */
/* frames.c - which frames are a runtime's own, by module and by function name (mangled or not). */
#include "knowledge.h"

#include <string.h>

static const struct runtime_frames *const runtimes[] = {
	&glibc_frames, &cxx_frames, &boost_context_frames, &boost_coroutine2_frames,
	&boost_fiber_frames,
};

#define EACH_RUNTIME(r)                                                                            \
	for (const struct runtime_frames *const *r = runtimes;                                     \
	     r < runtimes + sizeof(runtimes) / sizeof(*runtimes); r++)

static bool starts_with_any(const char *s, const char *const *prefixes)
{
	for (; prefixes && *prefixes; prefixes++)
		if (!strncmp(s, *prefixes, strlen(*prefixes)))
			return true;
	return false;
}

bool runtime_module(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : path;
	if (!base)
		return false;
	if (!strncmp(base, "libcostack", strlen("libcostack")))
		return true; /* costack's own frames */
	EACH_RUNTIME(r)
	if (starts_with_any(base, (*r)->modules))
		return true;
	return false;
}

/*
 * A mangled name's outermost scope: _Z, Z for an entity local to a function, then St (::std)
 * or N, qualifiers, and the nested name. The scopes are matched from there.
 */
static bool mangled_in_runtime(const char *name)
{
	const char *p = name + 2;

	if (*p == 'Z')
		p++;
	if (*p == 'N') {
		p++;
		while (*p && strchr("rVKRO", *p))
			p++;
	}
	EACH_RUNTIME(r)
	if (starts_with_any(p, (*r)->mangled_scopes))
		return true;
	return false;
}

/*
 * A demangled name's qualified function name starts after its return type (a template's:
 * "void boost::context::detail::fiber_entry<...>(...)"): after the last space before the
 * first '(' outside template arguments.
 */
static const char *qualified_start(const char *name)
{
	const char *start = name;
	int depth = 0;

	for (const char *p = name; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && depth > 0)
			depth--;
		else if (*p == '(' && depth == 0)
			break;
		else if (*p == ' ' && depth == 0)
			start = p + 1;
	}
	return start;
}

bool runtime_function(const char *name)
{
	const char *start;

	if (!name || !*name)
		return false;
	if (!strncmp(name, "_Z", 2))
		return mangled_in_runtime(name);
	start = qualified_start(name);
	EACH_RUNTIME(r)
	if (starts_with_any(start, (*r)->scopes))
		return true;
	return false;
}
