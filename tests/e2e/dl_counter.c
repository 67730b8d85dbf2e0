/* SPDX-License-Identifier: MIT */
/*
 * dl_counter.c - a dlopen interposer that counts, placed after libcostack.so in LD_PRELOAD as
 * `costack record` places liblttng-ust-dl.so (which reads every loaded object's ELF file at
 * each dlopen and dlclose): how many of those calls the preload makes, for first_raise.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

static unsigned long calls;

/* What first_raise asks, once it found it with dlsym. */
EXPORT unsigned long dl_counter_calls(void);

EXPORT unsigned long dl_counter_calls(void)
{
	return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}

EXPORT void *dlopen(const char *file, int flags)
{
	void *(*next)(const char *, int) = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");

	__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	return next ? next(file, flags) : NULL;
}

EXPORT void *dlmopen(Lmid_t lmid, const char *file, int flags)
{
	void *(*next)(Lmid_t, const char *, int) =
	        (void *(*)(Lmid_t, const char *, int))dlsym(RTLD_NEXT, "dlmopen");

	__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	return next ? next(lmid, file, flags) : NULL;
}

EXPORT int dlclose(void *handle)
{
	int (*next)(void *) = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");

	__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	return next ? next(handle) : -1;
}
