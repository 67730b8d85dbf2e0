/* SPDX-License-Identifier: MIT */
/* simgrid.c - what costack knows of SimGrid: its frames, its actors' contexts, and the exception
 * that ends every actor. */
#include "knowledge.h"

#include <string.h>

static const char *const modules[] = {"libsimgrid.", NULL};
static const char *const scopes[] = {"simgrid::", "xbt::", NULL};
static const char *const mangled_scopes[] = {"7simgrid", "3xbt", NULL};
static const char *const sources[] = {"/include/simgrid/", "/include/xbt/", NULL};

const struct runtime_frames simgrid_frames = {
        .runtime = "SimGrid",
        .modules = modules,
        .scopes = scopes,
        .mangled_scopes = mangled_scopes,
        .sources = sources,
};

/* Its ucontext and boost context factories start an actor in a function of libsimgrid
 * (smx_ctx_wrapper's callers; the raw factory switches by its own assembly, unhooked). */
bool simgrid_task(const char *module, const char *function)
{
	const char *base = module ? strrchr(module, '/') : NULL;

	(void)function;
	base = base ? base + 1 : module;
	return base && !strncmp(base, "libsimgrid.", strlen("libsimgrid."));
}

/* SimGrid's Context::stop() raises it in every actor at its end, and ActorImpl's kill in the
 * code of an actor killed (at the end of the simulation, a daemon or one still blocked). */
bool simgrid_kill(const char *type)
{
	return type && !strcmp(type, "simgrid::ForcefulKillException");
}

/* After the kill is caught, the wrapper suspends the actor for the last time: nothing but
 * SimGrid's frames (and std's, calling it) are left on its stack. */
bool simgrid_body_ended(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx)
{
	return runtime_frames_only(frames, n, names, ctx, NULL);
}
