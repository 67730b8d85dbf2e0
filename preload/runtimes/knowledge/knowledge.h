/* SPDX-License-Identifier: MIT */
/*
 * knowledge.h - what costack knows of each coroutine runtime, without hooking anything: which
 * frames are a runtime's own, and what tells how one of its tasks ended. One file per runtime
 * (glibc.c, cxx.c, boost_context.c, boost_coroutine2.c, boost_fiber.c). Pure: the preload's
 * adapters (runtimes/) decide fates with it, and the analysis shows the program's own frame
 * with it (costack ps's WHERE); both give the same answer.
 */
#ifndef COSTACK_RUNTIME_KNOWLEDGE_H
#define COSTACK_RUNTIME_KNOWLEDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The frames a runtime owns: in these libraries, or functions in these scopes. */
struct runtime_frames {
	const char *runtime;
	const char *const *modules;        /* base names' prefixes ("libboost_"); NULL-ended */
	const char *const *scopes;         /* demangled ("boost::context::"); NULL-ended */
	const char *const *mangled_scopes; /* the same, mangled ("5boost7context") */
};

extern const struct runtime_frames glibc_frames;            /* glibc.c */
extern const struct runtime_frames cxx_frames;              /* cxx.c */
extern const struct runtime_frames boost_context_frames;    /* boost_context.c */
extern const struct runtime_frames boost_coroutine2_frames; /* boost_coroutine2.c */
extern const struct runtime_frames boost_fiber_frames;      /* boost_fiber.c */

/* Whether the object at path (a module's path or base name) is a runtime's library, or
 * costack's own. */
bool runtime_module(const char *path);

/* Whether a function is a runtime's own (its internals, inlined into the program or not), by
 * its name: mangled ("_ZN5boost7context...") or demangled ("void boost::context::..."). */
bool runtime_function(const char *name);

/* Boost.Context: the exception a context is unwound with when it is destroyed while suspended
 * (demangled type name). */
bool boost_context_forced_unwind(const char *type);

/* Boost.Coroutine2. The name of a frame, as the caller finds it (false: none): */
typedef bool (*runtime_name_fn)(uintptr_t pc, char *name, size_t size, void *ctx);

/* Whether a task suspended with these frames (innermost first) is a Coroutine2 coroutine whose
 * body ended: every frame is a runtime's own, and none is a yield (control_block::resume, which
 * a yield the compiler inlined into Boost's frames calls). */
bool coroutine2_body_ended(const uintptr_t *frames, uint32_t n, runtime_name_fn name_of,
			   void *ctx);

/* Whether a task whose outermost frame has this name is a Coroutine2 coroutine (its entry is
 * instantiated for Coroutine2's control block). */
bool coroutine2_task(const char *outermost);

#endif
