/* SPDX-License-Identifier: MIT */
/* config.h - the COSTACK_* environment variables, read once at load time. */
#ifndef COSTACK_CONFIG_H
#define COSTACK_CONFIG_H

#include <stdbool.h>

#include "costack.h"

#define CONFIG_PATH_MAX 4096

enum unwind_mode { UNWIND_DEFAULT = 0, UNWIND_LIBUNWIND = 1, UNWIND_FP = 2 };
/* COSTACK_CLOCK: what the registry's moments are read from (clock.h). */
enum clock_choice { CLOCK_CHOICE_COARSE = 0, CLOCK_CHOICE_PRECISE = 1 };

struct config {
	int depth;          /* COSTACK_DEPTH: frames kept per snapshot */
	int ring;           /* COSTACK_RING: snapshots kept per task */
	int ended;          /* COSTACK_ENDED: ended tasks kept queryable */
	int unwind;         /* COSTACK_UNWIND: enum unwind_mode */
	int clock;          /* COSTACK_CLOCK: enum clock_choice */
	bool enabled;       /* COSTACK_DISABLE=1 turns every hook into a plain call */
	bool trace;         /* COSTACK_TRACE=1: LTTng events (trace.c) */
	int dump_signal;    /* COSTACK_DUMP_SIGNAL: every task's stack on this signal; 0: none */
	bool dump_on_crash; /* COSTACK_DUMP_ON_CRASH=1: every task's stack on a crash */
};

/* Read by every switch: small, in the switch's data (switch_path.h). */
extern struct config config;
/* COSTACK_DUMP_FILE, made absolute at load time; "": stderr. Apart from `config`, which a
 * switch reads: 4 KB there would put the other half of the switch's variables a page away. */
extern char config_dump_file[CONFIG_PATH_MAX];

#define CONFIG_DEPTH_MAX COSTACK_MAX_FRAMES
#define CONFIG_RING_MAX 1024

/* Parse the environment into `config`; a bad value keeps the default and
 * says so once on stderr. */
void config_load(void);
/* COSTACK_LOG alone, for a copy of costack that stands down. */
void config_load_log_level(void);

/* "SIGUSR2", "SIGRTMIN+3", or "signal 99" for sig, into buf (16 bytes at
 * least); returns buf. Async-signal-safe: the dumps name signals with it. */
const char *config_signal_name(int sig, char *buf);

#endif
