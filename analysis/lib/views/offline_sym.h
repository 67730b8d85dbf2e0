/* SPDX-License-Identifier: MIT */
/* offline_sym.h - a recording's addresses symbolized from its modules (statedump, dlopen). */
#ifndef COSTACK_OFFLINE_SYM_H
#define COSTACK_OFFLINE_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks_out.h"
#include "symbolize.h"
#include "trace_model.h"

/*
 * The modules each process had loaded (lttng_ust_statedump:bin_info,
 * lttng_ust_dl:dlopen, with their build IDs and debug links) are opened as
 * files when first needed: the binary where it was, if it still has the
 * recorded build ID, else its debug file by build ID or debug link
 * (symbolizer_add_file). A module that cannot be found gives its path and
 * the offset in it; an address in no recorded module, the address alone.
 */
struct offline_sym {
	struct tm_model *model;
	struct symbolizer *symbolizer;
};

/* 0, or -1 when out of memory. */
int offline_sym_init(struct offline_sym *o, struct tm_model *m);
void offline_sym_free(struct offline_sym *o);

/* pc of process pid at time ts, as symbolizer_lookup() describes it. */
int offline_sym_lookup(struct offline_sym *o, int32_t pid, uint64_t ts, uint64_t pc, bool is_return,
                       struct sym_frame *out, int cap);

/* Room for a symbolized name and what surrounds it: C++ names run to kilobytes (Asio's
 * handlers), and two that differ only at their end (a lambda's #1 and #2) must stay two. */
#define OFFLINE_SYM_NAME_MAX 8192

/* The name of t's entry, into buf: the user's function behind a runtime's start code (the
 * outermost of the program's own at the entry address, as `costack stacks` says entry=), else
 * MODULE+0xOFFSET or 0xADDRESS; a thread's root task (no entry): "[thread TID]". */
const char *offline_sym_entry_name(struct offline_sym *o, const struct tm_task *t, char *buf,
                                   size_t size);

/* A stacks_symbolize_fn over a struct offline_sym (ctx): t's pid and frames_ns. */
int offline_symbolize(void *ctx, const struct stacks_task *t, uint64_t pc, bool is_return,
                      struct sym_frame *out, int cap);

#endif
