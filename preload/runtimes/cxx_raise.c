/* SPDX-License-Identifier: MIT */
/* cxx_raise.c - the raise adapter: C++ throw, rethrow, rethrow_exception, current_exception, and
 * raw _Unwind raises. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "knowledge.h"
#include "log.h"
#include "real.h"
#include "runtime_tasks.h"

#define EXPORT __attribute__((visibility("default")))

/*
 * Written in C against the Itanium C++ ABI, so that the preload never loads
 * libstdc++: a program that raises C++ exceptions has it loaded already,
 * and everything from it is looked up at run time.
 */
struct type_info {
	const void *const *vtable;
	const char *name; /* mangled, without _Z; a leading '*' marks a local type */
};
/* type_info's virtual functions: two destructors, __is_pointer_p,
 * __is_function_p, then __do_catch (std/typeinfo). */
#define TYPE_INFO_DO_CATCH 4
/* std::exception's: two destructors, then what(). */
#define EXCEPTION_WHAT 2

typedef bool (*do_catch_fn)(const struct type_info *self, const struct type_info *thrown,
                            void **object, unsigned outer);
typedef const char *(*what_fn)(const void *self);

struct unwind_exception {
	unsigned long long exception_class;
	/* the rest is the unwinder's */
};

EXPORT void __cxa_throw(void *object, struct type_info *type, void (*destroy)(void *))
        __attribute__((noreturn));
EXPORT void __cxa_rethrow(void) __attribute__((noreturn));
EXPORT int _Unwind_RaiseException(struct unwind_exception *exception);
EXPORT int _Unwind_Resume_or_Rethrow(struct unwind_exception *exception);
/* std::rethrow_exception(std::exception_ptr) and std::current_exception():
 * exception_ptr is a class with a destructor, passed and returned by
 * address; its only member is the thrown object's address. */
EXPORT void _ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE(void **pointer)
        __attribute__((noreturn));
EXPORT void **_ZSt17current_exceptionv(void **result);

static void (*real_cxa_throw)(void *, struct type_info *, void (*)(void *));
static void (*real_cxa_rethrow)(void);
static int (*real_raise)(struct unwind_exception *);
static int (*real_resume_or_rethrow)(struct unwind_exception *);
static void (*real_rethrow_exception)(void **);
static void **(*real_current_exception)(void **);

/* A C++ hook of this thread recorded the raise that _Unwind_* is about to do. */
static __thread bool raise_recorded __attribute__((tls_model("initial-exec")));

/* What costack calls of the C++ runtime itself, from the libstdc++ that defines the real
 * function of the first C++ hook called (it may be in a library's own scope only). */
static struct {
	bool resolved;
	void **(*current_exception)(void **);
	void (*exception_ptr_destroy)(void **);
	const struct type_info *(*exception_ptr_type)(void *const *);
	const struct type_info *(*current_exception_type)(void);
	char *(*demangle)(const char *, char *, size_t *, int *);
	const struct type_info *std_exception;
} cxx;

/*
 * The real function of a hook, found once where the caller's call would have gone (real.h). A
 * C++ program that throws has libstdc++ loaded already, and everything costack needs of it is
 * looked up there: the preload never loads it.
 */
static void resolve_cxx(const void *real)
{
	if (cxx.resolved || !real)
		return;
	cxx.current_exception = real_companion(real, "_ZSt17current_exceptionv");
	cxx.exception_ptr_destroy =
	        real_companion(real, "_ZNSt15__exception_ptr13exception_ptrD1Ev");
	cxx.exception_ptr_type = real_companion(
	        real, "_ZNKSt15__exception_ptr13exception_ptr20__cxa_exception_typeEv");
	cxx.current_exception_type = real_companion(real, "__cxa_current_exception_type");
	cxx.demangle = real_companion(real, "__cxa_demangle");
	cxx.std_exception = real_companion(real, "_ZTISt9exception");
	cxx.resolved = true;
}

/* The same for the unwinder's entry points, which can fail: as a raise with no unwind
 * information would, and the caller (std::terminate for C++) decides. */
#define URC_FATAL_PHASE1_ERROR 3
static int no_unwinder(const char *name)
{
	log_error("no %s to call in this process", name);
	return URC_FATAL_PHASE1_ERROR;
}

/* The demangled type name, and what() when it is a std::exception. */
static void describe(void *object, const struct type_info *type, char *name, size_t size,
                     const char **what)
{
	const char *mangled = type && type->name ? type->name : "";
	char *readable;
	int status = -1;

	*what = NULL;
	if (*mangled == '*')
		mangled++;
	readable = cxx.demangle && *mangled ? cxx.demangle(mangled, NULL, NULL, &status) : NULL;
	snprintf(name, size, "%s", status == 0 && readable ? readable : mangled);
	free(readable);
	if (object && type && cxx.std_exception) {
		do_catch_fn do_catch = (do_catch_fn)cxx.std_exception->vtable[TYPE_INFO_DO_CATCH];
		void *adjusted = object;

		if (do_catch(cxx.std_exception, type, &adjusted, 1))
			*what = ((what_fn)(*(const void *const *const *)adjusted)[EXCEPTION_WHAT])(
			        adjusted);
	}
}

/* A raise on a stack costack knows of no task is no task's (runtime_enter_checked). */
static struct thread_state *enter(void)
{
	return runtime_enter_checked((uintptr_t)__builtin_frame_address(0));
}

static void record(void *object, const struct type_info *type, bool rethrow)
{
	struct thread_state *ts = enter();
	struct exception_info info = {.object = object, .rethrow = rethrow};
	char name[COSTACK_EXCEPTION_TYPE_MAX];
	const struct stack_rec *stack;

	if (!ts)
		return;
	describe(object, type, name, sizeof(name), &info.what);
	info.type = name;
	info.forced = runtime_forced_unwind(name);
	stack = core_raise(ts, &info);
	runtime_task_raised(core_running(ts), name, stack);
	raise_recorded = true;
	core_leave(ts);
}

/* A raise no C++ hook saw (LuaJIT, Rust, ... call the unwinder directly). */
static void record_foreign(struct unwind_exception *exception, bool rethrow)
{
	struct thread_state *ts;
	char name[COSTACK_EXCEPTION_TYPE_MAX], vendor[9];
	struct exception_info info = {.object = exception, .type = name, .rethrow = rethrow};

	if (raise_recorded) {
		raise_recorded = false; /* the C++ hook's own raise */
		return;
	}
	ts = enter();
	if (!ts)
		return;
	/* The exception class: eight characters naming the vendor and language. */
	for (int i = 0; i < 8; i++) {
		unsigned char c = (unsigned char)(exception->exception_class >> (56 - 8 * i));

		vendor[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	vendor[8] = '\0';
	snprintf(name, sizeof(name), "foreign exception (class %s)", vendor);
	core_raise(ts, &info);
	core_leave(ts);
}

EXPORT void __cxa_throw(void *object, struct type_info *type, void (*destroy)(void *))
{
	if (!REAL_FUNCTION(real_cxa_throw, "__cxa_throw"))
		real_missing("__cxa_throw");
	resolve_cxx(real_cxa_throw);
	record(object, type, false);
	real_cxa_throw(object, type, destroy);
	__builtin_unreachable();
}

/* The exception being handled, as std::current_exception would give it. */
static void *handled_object(void)
{
	void *pointer = NULL;

	if (!cxx.current_exception || !cxx.exception_ptr_destroy)
		return NULL;
	cxx.current_exception(&pointer);
	void *object = pointer;
	cxx.exception_ptr_destroy(&pointer); /* the reference taken just now */
	return object;
}

EXPORT void __cxa_rethrow(void)
{
	if (!REAL_FUNCTION(real_cxa_rethrow, "__cxa_rethrow"))
		real_missing("__cxa_rethrow");
	resolve_cxx(real_cxa_rethrow);
	record(handled_object(), cxx.current_exception_type ? cxx.current_exception_type() : NULL,
	       true);
	real_cxa_rethrow();
	__builtin_unreachable();
}

EXPORT void _ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE(void **pointer)
{
	if (!REAL_FUNCTION(real_rethrow_exception,
	                   "_ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE"))
		real_missing("std::rethrow_exception");
	resolve_cxx(real_rethrow_exception);
	record(*pointer, cxx.exception_ptr_type ? cxx.exception_ptr_type(pointer) : NULL, true);
	real_rethrow_exception(pointer);
	__builtin_unreachable();
}

EXPORT void **_ZSt17current_exceptionv(void **result)
{
	struct thread_state *ts;

	if (!REAL_FUNCTION(real_current_exception, "_ZSt17current_exceptionv"))
		real_missing("std::current_exception");
	resolve_cxx(real_current_exception);
	real_current_exception(result);
	ts = core_enter();
	if (ts) {
		core_exception_kept(ts, *result);
		core_leave(ts);
	}
	return result;
}

EXPORT int _Unwind_RaiseException(struct unwind_exception *exception)
{
	if (!REAL_FUNCTION(real_raise, "_Unwind_RaiseException"))
		return no_unwinder("_Unwind_RaiseException");
	record_foreign(exception, false);
	return real_raise(exception);
}

EXPORT int _Unwind_Resume_or_Rethrow(struct unwind_exception *exception)
{
	int ret;

	if (!REAL_FUNCTION(real_resume_or_rethrow, "_Unwind_Resume_or_Rethrow"))
		return no_unwinder("_Unwind_Resume_or_Rethrow");
	record_foreign(exception, true);
	/* libgcc goes on with _Unwind_RaiseException, through the PLT: the
	 * same raise, recorded already. */
	raise_recorded = true;
	ret = real_resume_or_rethrow(exception);
	raise_recorded = false; /* no handler: back here */
	return ret;
}
