/* SPDX-License-Identifier: MIT */
/* unwind.c - stack capture with libunwind's unw_backtrace, costack's own frames left out. */
#define _GNU_SOURCE
#include "unwind.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <link.h>

static uintptr_t own_lo, own_hi;

static int find_own_text(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t probe = (uintptr_t)data;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && probe >= lo &&
		    probe < lo + ph->p_memsz) {
			own_lo = lo;
			own_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

void unwind_init(void)
{
	dl_iterate_phdr(find_own_text, (void *)(uintptr_t)&unwind_init);
}

bool unwind_is_own(uintptr_t pc)
{
	return pc >= own_lo && pc < own_hi;
}

void unwind_warm_thread(void)
{
	void *frames[4];

	unw_backtrace(frames, 4);
}

const uintptr_t *unwind_capture(uintptr_t *scratch, int max, int *n, bool *truncated)
{
	int total = unw_backtrace((void **)scratch, max + UNWIND_SLACK);
	int first = 0, end;

	while (first < total && unwind_is_own(scratch[first]))
		first++;
	for (end = first; end < total && !unwind_is_own(scratch[end]); end++)
		;
	/* A full buffer with no trampoline seen: the stack may go on. */
	*truncated = end - first > max || (end == total && total == max + UNWIND_SLACK);
	if (end - first > max)
		end = first + max;
	*n = end - first;
	return scratch + first;
}
