/* SPDX-License-Identifier: MIT */
/* boost_fiber.c - what costack knows of Boost.Fiber: its frames (schedulers, channels, context
 * switches), its fibers' entries, and how a fiber ends. */
#include "knowledge.h"

#include <string.h>

static const char *const modules[] = {"libboost_fiber", NULL};
static const char *const scopes[] = {"boost::fibers::", "boost::this_fiber::", NULL};
static const char *const mangled_scopes[] = {"5boost6fibers", "5boost10this_fiber", NULL};
static const char *const sources[] = {"/boost/fiber/", NULL};

const struct runtime_frames boost_fiber_frames = {
        .runtime = "Boost.Fiber",
        .modules = modules,
        .scopes = scopes,
        .mangled_scopes = mangled_scopes,
        .sources = sources,
};

/* A fiber's entry is Boost.Context's fiber_entry, instantiated for a worker_context of
 * Boost.Fiber (its name says so: mangled, "boost" is a back reference there by then); the
 * scheduler's dispatcher starts in libboost_fiber itself. */
bool fiber_task(const char *module, const char *function)
{
	const char *base = module ? strrchr(module, '/') : NULL;

	base = base ? base + 1 : module;
	return (base && !strncmp(base, "libboost_fiber", strlen("libboost_fiber"))) ||
	       (function && (strstr(function, "6fibers14worker_context") ||
	                     strstr(function, "boost::fibers::")));
}

static bool terminates(const char *function)
{
	return !strcmp(function, "_ZN5boost6fibers7context9terminateEv") ||
	       strstr(function, "boost::fibers::context::terminate()");
}

/* A fiber whose function returned switches away from boost::fibers::context::terminate()
 * (libboost_fiber's): the scheduler resumes it later only to free its stack. */
bool fiber_body_ended(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx)
{
	struct sym_frame f[16];

	for (uint32_t i = 0; i < n; i++) {
		int k = names(frames[i], f, 16, ctx);

		for (int j = 0; j < k; j++)
			if (f[j].function && terminates(f[j].function))
				return true;
	}
	return false;
}
