/* SPDX-License-Identifier: MIT */
/* glibc.c - what costack knows of glibc as a runtime: its libraries' frames (makecontext's start
 * code, swapcontext). */
#include "knowledge.h"

static const char *const modules[] = {"libc.so", "libc-", "ld-linux", "libpthread", NULL};

const struct runtime_frames glibc_frames = {
        .runtime = "glibc",
        .modules = modules,
};
