/* SPDX-License-Identifier: MIT */
/* dump.h - every task's stack, written from a signal handler: on a signal of choice, on a crash. */
#ifndef COSTACK_DUMP_H
#define COSTACK_DUMP_H

/* At load, settings read: install the handlers the configuration asks for
 * (config.dump_signal, config.dump_on_crash), and observe the threads costack
 * registers, to give each an alternate signal stack. */
void dump_attach(void);

#endif
