/* SPDX-License-Identifier: MIT */
/* real.h - the function a hook stands in for, found where the program's call would have gone. */
#ifndef COSTACK_REAL_H
#define COSTACK_REAL_H

/*
 * The definition of name that the caller would have reached without costack: the next one
 * after costack in the global search list (dlsym RTLD_NEXT); else, for code of a library the
 * program loaded with dlopen(RTLD_LOCAL), the one in that library's own scope (caller: an
 * address in the calling code, such as the hook's return address; NULL: none known); else any
 * loaded object's. The object that defines it is kept loaded from then on, since costack keeps
 * a pointer into it. NULL only when no loaded object defines name: the hook must then not
 * call it. errno is preserved. May take the loader's lock: not for a signal handler.
 */
void *real_function(const char *name, const void *caller);

/* In a hook: pointer, the real function of name, found at the first call (the hook's return
 * address names the caller); NULL when there is none. */
#define REAL_FUNCTION(pointer, name)                                                               \
	((pointer) ? (pointer)                                                                     \
	           : ((pointer) = (__typeof__(pointer))real_function(                              \
	                      name, __builtin_return_address(0))))

/* For a hook that cannot return without its real function (a throw, a context switch): no
 * loaded object defines it, so the program's call could not have been made without costack
 * either (the loader stops a program whose call has no definition). Says so and aborts. */
__attribute__((noreturn)) void real_missing(const char *name);

/* Another function or object of the library that defines real (libstdc++'s __cxa_demangle for
 * its __cxa_throw): NULL if it has none. */
void *real_companion(const void *real, const char *name);

#endif
