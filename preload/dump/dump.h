/* SPDX-License-Identifier: MIT */
/* dump.h - every task's stack, written from a signal handler: on a signal of choice, on a crash. */
#ifndef COSTACK_DUMP_H
#define COSTACK_DUMP_H

/* Install the handlers the configuration asks for (config.dump_signal,
 * config.dump_on_crash); once, at load time, after the registry is ready. */
void dump_init(void);

/* A thread costack registers: it gets an alternate signal stack, unless it
 * has one, so that a crash dump survives a coroutine's stack overflow and a
 * dump never runs on a small coroutine stack. Nothing when no dump is on. */
void dump_thread_start(void);

/* At the thread's exit: its alternate signal stack, if costack's, is released. */
void dump_thread_stop(void);

#endif
