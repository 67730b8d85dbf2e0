/* SPDX-License-Identifier: MIT */
/* boost_fiber.c - what costack knows of Boost.Fiber: its internal frames (schedulers, context switches). */
#include "knowledge.h"

static const char *const scopes[] = { "boost::fibers::detail::", NULL };
static const char *const mangled_scopes[] = { "5boost6fibers6detail", NULL };

const struct runtime_frames boost_fiber_frames = {
	.runtime = "Boost.Fiber",
	.scopes = scopes,
	.mangled_scopes = mangled_scopes,
};
