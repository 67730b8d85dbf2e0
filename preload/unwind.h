/* SPDX-License-Identifier: MIT */
/* unwind.h - capture of the calling thread's stack (the one place that uses libunwind). */
#ifndef COSTACK_UNWIND_H
#define COSTACK_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

/* Frames a capture may need beyond the depth kept: costack's own frames. */
#define UNWIND_SLACK 32

/* Learn where costack's own code lies, so its frames can be left out. */
void unwind_init(void);
/* libunwind's first backtrace in a thread is slow (~150 us): pay it early. */
void unwind_warm_thread(void);
/* True when pc lies in costack's own code. */
bool unwind_is_own(uintptr_t pc);

/*
 * Return addresses of the calling thread, innermost first, costack's own
 * frames left out: those at the top (the hooks) and, at the bottom, costack's
 * task trampoline and everything older (the runtime's start code). At most
 * max frames are kept, the innermost ones; *truncated tells if more were
 * left. scratch must hold max + UNWIND_SLACK entries; the frames are
 * returned inside it, their count in *n.
 */
const uintptr_t *unwind_capture(uintptr_t *scratch, int max, int *n, bool *truncated);

#endif
