/* SPDX-License-Identifier: MIT */
/* reference.h - the frames another unwinder sees (glibc's backtrace(), on libgcc's), to check
 * captured stacks against. */
#ifndef COSTACK_TEST_REFERENCE_H
#define COSTACK_TEST_REFERENCE_H

#include <dlfcn.h>
#include <string.h>

/*
 * The return addresses from the caller's own frame outwards, newest first;
 * 0 if glibc's backtrace() cannot be found. libunwind, linked in with the
 * core, exports a backtrace() of its own, hence glibc's by version.
 */
__attribute__((noinline)) static int reference_backtrace(void **out, int cap)
{
	static int (*glibc_backtrace)(void **, int);
	int n;

	if (!glibc_backtrace) {
		void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

		if (libc)
			glibc_backtrace =
			        (int (*)(void **, int))dlvsym(libc, "backtrace", "GLIBC_2.2.5");
		if (!glibc_backtrace)
			return 0;
	}
	n = glibc_backtrace(out, cap);
	if (n > 0) /* leave out this function's own frame */
		memmove(out, out + 1, (size_t)--n * sizeof(*out));
	return n;
}

#endif
