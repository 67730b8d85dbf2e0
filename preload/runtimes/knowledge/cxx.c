/* SPDX-License-Identifier: MIT */
/* cxx.c - what costack knows of the C++ runtime: libstdc++'s and libgcc_s's frames, std's functions
 * and headers (std::invoke between Boost's frames, std::function calling a SimGrid actor). */
#include "knowledge.h"

static const char *const modules[] = {"libstdc++", "libgcc_s", NULL};
static const char *const scopes[] = {"std::", NULL};
/* "St": ::std, alone (_ZSt6invoke...) or as a nested name's first scope (_ZNSt8function...) */
static const char *const mangled_scopes[] = {"St", NULL};
static const char *const sources[] = {"/include/c++/", NULL};

const struct runtime_frames cxx_frames = {
        .runtime = "C++",
        .modules = modules,
        .scopes = scopes,
        .mangled_scopes = mangled_scopes,
        .sources = sources,
};
