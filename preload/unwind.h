/* SPDX-License-Identifier: MIT */
/* unwind.h - capture of the calling thread's stack (the one place that uses libunwind). */
#ifndef COSTACK_UNWIND_H
#define COSTACK_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "stackstore.h"

/* Frames a capture may need beyond the depth kept: costack's own frames. */
#define UNWIND_SLACK 32

/* Learn where costack's own code lies, so its frames can be left out. */
void unwind_init(void);
/* libunwind's first backtrace in a thread is slow (~150 us): pay it early. */
void unwind_warm_thread(void);
/* True when pc lies in costack's own code. */
bool unwind_is_own(uintptr_t pc);

/* Scratch a capture of at most max frames needs, in words. */
#define UNWIND_SCRATCH_WORDS(max) (6 + 4 * ((max) + UNWIND_SLACK))

struct capture {
	const uintptr_t *frames; /* innermost first */
	int n;
	bool truncated;          /* the stack was deeper than max */
	const struct stack_rec *same; /* the hint, when the stack is still the hint's */
	const void *shape;       /* what to keep with a new record of these frames */
	uint32_t shape_size;
};

/*
 * Return addresses of the calling thread, innermost first, costack's own
 * frames left out: those at the top (the hooks) and, at the bottom, costack's
 * task trampoline and everything older (the runtime's start code). At most
 * max frames are kept, the innermost ones. Memory is read only inside
 * [stack_lo, stack_hi), the stack being walked (0, 0: unknown). hint, a
 * record made from an earlier capture (its extra is the walk's shape), is
 * checked first: when it still holds, out->same is hint and nothing is
 * walked. scratch holds UNWIND_SCRATCH_WORDS(max) words; out->frames may
 * point into it.
 */
void unwind_capture(uintptr_t *scratch, int max, uintptr_t stack_lo, uintptr_t stack_hi,
		    const struct stack_rec *hint, struct capture *out);

#endif
