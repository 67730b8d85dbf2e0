/* SPDX-License-Identifier: MIT */
/* unwind.h - capture of the calling thread's stack (the one place that uses libunwind). */
#ifndef COSTACK_UNWIND_H
#define COSTACK_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stackstore.h"
#include "switch_path.h"

/* Frames a capture may need beyond the depth kept: costack's own frames. */
#define UNWIND_SLACK 32

/* In a child after fork(): the module lock is made anew. */
void unwind_after_fork(void);

/* Learn where costack's own code lies, so its frames can be left out. */
void unwind_init(void);
/* libunwind's first backtrace in a thread is slow (~150 us): pay it early. */
void unwind_warm_thread(void);

/* The mangled name of the function holding the return address ra (its
 * ELF .symtab, else .dynsym, symbol) into name; false if there is none or
 * it is longer than size. Slow (a lock, a symbol table scan): callers
 * cache the answer. */
bool unwind_symbol_name(uintptr_t ra, char *name, size_t size);

/* A runtime's start code, [lo, hi): where its tasks' stacks begin, so a
 * walk ends at a return address in it (Boost.Context's make_fcontext).
 * Costs a task no frame of ours, which its own unwinders would see. */
void unwind_add_bottom(uintptr_t lo, uintptr_t hi);

/* costack's task-start trampolines (ucontext_stubs.S) live in the section
 * costack_tramp: a walk ends at them. */

/* Scratch a capture of at most max frames needs, in words. */
#define UNWIND_SCRATCH_WORDS(max) (8 + 7 * ((max) + UNWIND_SLACK))

/* Where a walk starts: a hook's caller, read from the hook's own frame
 * pointer, so that costack's frames are not walked at all. */
struct unwind_start {
	uintptr_t sp, bp, ra;
};

/* In a function built with frame pointers: its caller's state. */
#define UNWIND_CALLER(start)                                                                       \
	do {                                                                                       \
		uintptr_t *frame_ = __builtin_frame_address(0);                                    \
		(start).sp = (uintptr_t)(frame_ + 2);                                              \
		(start).bp = frame_[0];                                                            \
		(start).ra = frame_[1];                                                            \
	} while (0)

/* For the hooks that use UNWIND_CALLER. */
#define UNWIND_FRAME_POINTER __attribute__((optimize("no-omit-frame-pointer")))

struct capture {
	const uintptr_t *frames; /* innermost first */
	int n;
	bool truncated;               /* the stack was deeper than max */
	const struct stack_rec *same; /* the hint, when the stack is still the hint's */
	const void *shape;            /* what to keep with a new record of these frames */
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
 * walked. start, when not NULL, is where the task's frames begin (else the
 * walk starts here and leaves costack's frames out). scratch holds
 * UNWIND_SCRATCH_WORDS(max) words; out->frames may point into it.
 */
void unwind_capture(uintptr_t *scratch, int max, uintptr_t stack_lo, uintptr_t stack_hi,
                    const struct stack_rec *hint, const struct unwind_start *start,
                    struct capture *out);

/*
 * The switch path's capture when the task suspends where it did before:
 * whether the stack from start (a hook's caller, the task's innermost
 * frame) is still hint's, by the shape of the walk that made hint (see
 * unwind_capture). True: hint's frames are the stack's, *truncated as they
 * were. False: unwind_capture must walk.
 */
bool unwind_still(const struct stack_rec *hint, const struct unwind_start *start,
                  uintptr_t stack_lo, uintptr_t stack_hi, bool *truncated);

/*
 * For a crash dump, inside a signal handler: the frames of the code the
 * signal interrupted, from the handler's ucontext, innermost first (the
 * first one the interrupted instruction itself, the others return
 * addresses), into frames[0..max). A task trampoline or a runtime's start
 * code ends the walk, as in a capture; costack's own frames are kept (the
 * crash may be costack's). Returns how many; *truncated when there were
 * more. Uses libunwind's local unwinding only, which it documents as safe in
 * a signal handler; it reads the stack wherever the CFI says, so a caller
 * must expect a fault on a broken stack.
 */
int unwind_signal_frames(void *ucontext, uintptr_t *frames, int max, bool *truncated);

#endif
