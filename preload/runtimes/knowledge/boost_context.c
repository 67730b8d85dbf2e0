/* SPDX-License-Identifier: MIT */
/* boost_context.c - what costack knows of Boost.Context: its frames, its start code, and the forced
 * unwind that ends a destroyed context. */
#include "knowledge.h"

#include <string.h>

/* Its library, and every Boost library a coroutine's frames may go through. */
static const char *const modules[] = {"libboost_", NULL};
static const char *const scopes[] = {"boost::context::", NULL};
static const char *const mangled_scopes[] = {"5boost7context", NULL};
static const char *const sources[] = {"/boost/context/", NULL};

const struct runtime_frames boost_context_frames = {
        .runtime = "Boost.Context",
        .modules = modules,
        .scopes = scopes,
        .mangled_scopes = mangled_scopes,
        .sources = sources,
};

/* A fiber or continuation destroyed while suspended is unwound with this exception (Boost
 * 1.74's fiber_unwind, ontop of the dying context): its task is cancelled. */
bool boost_context_forced_unwind(const char *type)
{
	return type && !strcmp(type, "boost::context::detail::forced_unwind");
}

/* fiber_entry<Record> (fiber) and context_entry<Record> (callcc): Boost.Context's start code,
 * instantiated in the program for the user's function. */
bool boost_context_task(const char *function)
{
	return function &&
	       (strstr(function, "5boost7context") || strstr(function, "boost::context::"));
}
