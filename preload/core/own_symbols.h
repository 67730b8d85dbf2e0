/* SPDX-License-Identifier: MIT */
/* own_symbols.h - the process' own symbolizer, run on a stack of its own: for print_stack and for
 * what the runtimes' knowledge asks of a frame. */
#ifndef COSTACK_OWN_SYMBOLS_H
#define COSTACK_OWN_SYMBOLS_H

#include "symbolize.h"

/*
 * Run fn(symbolizer, arg) on the symbolizer's own stack, one caller at a time in the process
 * (the symbolizer may be NULL: none could be made). libdw's line-table reader alone has a
 * 150 KB frame, more than many coroutines' whole stack (Boost's default is 128 KB): fn runs
 * on a stack of its own, entered with glibc's own context switch, which costack's hooks do not
 * see; where that stack cannot be had, on the caller's. One stack for the process, made at the
 * first call: a thread that called and exited leaves no address space behind. Not for a
 * signal handler.
 */
void own_symbols_run(void (*fn)(struct symbolizer *s, void *arg), void *arg);

/* In a fork child: a call another thread was making never ends there. */
void own_symbols_after_fork(void);

#endif
