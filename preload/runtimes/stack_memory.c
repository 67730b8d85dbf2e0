/* SPDX-License-Identifier: MIT */
/* stack_memory.c - the memory adapter: munmap, which frees the stacks runtimes mapped themselves
 * (the end of a task whose runtime never resumes it). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "core.h"
#include "real.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_munmap)(void *, size_t);

/*
 * A stack a runtime mapped itself (Boost.Context's protected stacks, a scheduler of the
 * program's own) is unmapped once its task is over: the tasks there end (core_stack_freed).
 * glibc's free() unmaps large blocks by its own internal call, which no preload sees: a stack
 * that was malloc()ed ends only when it is reused.
 */
EXPORT int munmap(void *addr, size_t length)
{
	int ret;

	if (!REAL_FUNCTION(real_munmap, "munmap")) {
		errno = ENOSYS;
		return -1;
	}
	ret = real_munmap(addr, length);
	if (ret == 0)
		core_stack_freed((uintptr_t)addr, (uintptr_t)addr + length);
	return ret;
}
