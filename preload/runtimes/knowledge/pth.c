/* SPDX-License-Identifier: MIT */
/* pth.c - what costack knows of GNU Pth: its library's frames, and its spawn trampoline as a task's
 * entry (the hooks of runtimes/pth.c give the user's function, name and end). */
#include "knowledge.h"

#include <string.h>

static const char *const modules[] = {"libpth.", NULL};

const struct runtime_frames pth_frames = {
        .runtime = "GNU Pth",
        .modules = modules,
};

/* Pth starts every thread in pth_spawn_trampoline, a static function of libpth. */
bool pth_task(const char *module, const char *function)
{
	const char *base = module ? strrchr(module, '/') : NULL;

	(void)function;
	base = base ? base + 1 : module;
	return base && !strncmp(base, "libpth.", strlen("libpth."));
}
