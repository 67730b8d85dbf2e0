/* SPDX-License-Identifier: MIT */
/* frames.c - which frames are a runtime's own (by module, function name or source file), which
 * runtime made a task, and the rules every runtime's knowledge shares. */
#include "knowledge.h"

#include <string.h>

static const struct runtime_frames *const runtimes[] = {
        &glibc_frames,       &cxx_frames,           &pth_frames,
        &simgrid_frames,     &boost_context_frames, &boost_coroutine2_frames,
        &boost_fiber_frames, &boost_asio_frames,
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

static bool contains_any(const char *s, const char *const *parts)
{
	for (; parts && *parts; parts++)
		if (strstr(s, *parts))
			return true;
	return false;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

bool runtime_module(const char *path)
{
	const char *base = base_name(path);

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

bool runtime_source(const char *file)
{
	if (!file || !*file)
		return false;
	EACH_RUNTIME(r)
	if (contains_any(file, (*r)->sources))
		return true;
	return false;
}

bool runtime_frame(const struct sym_frame *f)
{
	return runtime_module(f->module) || runtime_function(f->function) ||
	       runtime_source(f->file);
}

int program_frame_innermost(const struct sym_frame *f, int n)
{
	for (int i = n; i-- > 0;)
		if (!runtime_frame(&f[i]))
			return i;
	return -1;
}

int program_frame_outermost(const struct sym_frame *f, int n)
{
	for (int i = 0; i < n; i++)
		if (!runtime_frame(&f[i]))
			return i;
	return -1;
}

/* --- which runtime made a task ------------------------------------------------- */

enum runtime_family runtime_family_of_entry(const char *module, const char *function)
{
	/* The runtimes on Boost.Context first: their entries are Boost.Context's start code,
	 * instantiated for their own records. */
	if (pth_task(module, function))
		return RUNTIME_FAMILY_PTH;
	if (simgrid_task(module, function))
		return RUNTIME_FAMILY_SIMGRID;
	if (fiber_task(module, function))
		return RUNTIME_FAMILY_FIBER;
	if (coroutine2_task(function))
		return RUNTIME_FAMILY_COROUTINE2;
	if (coroutine_v1_task(module, function))
		return RUNTIME_FAMILY_COROUTINE;
	if (boost_context_task(function))
		return RUNTIME_FAMILY_BOOST_CONTEXT;
	return RUNTIME_FAMILY_NONE;
}

bool runtime_entry_is_runtime(enum runtime_family family)
{
	return family != RUNTIME_FAMILY_NONE;
}

#define MAX_INLINE 16

uintptr_t program_entry(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx)
{
	struct sym_frame f[MAX_INLINE];

	for (uint32_t i = n; i-- > 0;) {
		int k = names(frames[i], f, MAX_INLINE, ctx);

		if (k > 0 && program_frame_outermost(f, k) >= 0)
			return frames[i];
	}
	return 0;
}

bool runtime_frames_only(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx,
                         bool (*excluded)(const char *function))
{
	struct sym_frame f[MAX_INLINE];

	if (!n)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		int k = names(frames[i], f, MAX_INLINE, ctx);

		/* A frame nothing is known of may be anyone's: costack does not guess. */
		if (k <= 0)
			return false;
		for (int j = 0; j < k; j++)
			if (!runtime_frame(&f[j]) ||
			    (excluded && f[j].function && excluded(f[j].function)))
				return false;
	}
	return true;
}

bool runtime_body_ended(enum runtime_family family, const uintptr_t *frames, uint32_t n,
                        runtime_names_fn names, void *ctx)
{
	switch (family) {
	case RUNTIME_FAMILY_COROUTINE2:
		return coroutine2_body_ended_inline(frames, n, names, ctx);
	case RUNTIME_FAMILY_COROUTINE:
		return coroutine_v1_body_ended(frames, n, names, ctx);
	case RUNTIME_FAMILY_FIBER:
		return fiber_body_ended(frames, n, names, ctx);
	case RUNTIME_FAMILY_SIMGRID:
		return simgrid_body_ended(frames, n, names, ctx);
	default:
		return false;
	}
}

bool runtime_forced_unwind(const char *type)
{
	return boost_context_forced_unwind(type) || coroutine_v1_forced_unwind(type);
}
