/* SPDX-License-Identifier: MIT */
/*
 * knowledge.h - what costack knows of each coroutine runtime, without hooking anything: which
 * frames are a runtime's own, which runtime made a task, the user's function behind a runtime's
 * entry, and what tells how one of its tasks ended. One file per runtime (glibc.c, cxx.c, pth.c,
 * simgrid.c, boost_context.c, boost_coroutine2.c, boost_fiber.c, boost_asio.c; frames.c puts
 * them together). Pure: the preload's adapters decide fates, names and entries with it, and the
 * analysis shows the program's own frames with it (costack ps's WHERE and ENTRY, costack stacks
 * --group); both give the same answer.
 */
#ifndef COSTACK_RUNTIME_KNOWLEDGE_H
#define COSTACK_RUNTIME_KNOWLEDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h" /* struct sym_frame: a source-level frame */

/* The frames a runtime owns: in these libraries, functions in these scopes, or code from these
 * headers (inlined into the program). */
struct runtime_frames {
	const char *runtime;
	const char *const *modules;        /* base names' prefixes ("libboost_"); NULL-ended */
	const char *const *scopes;         /* demangled ("boost::context::"); NULL-ended */
	const char *const *mangled_scopes; /* the same, mangled ("5boost7context") */
	const char *const *sources;        /* parts of a header's path ("/boost/context/") */
};

extern const struct runtime_frames glibc_frames;            /* glibc.c */
extern const struct runtime_frames cxx_frames;              /* cxx.c */
extern const struct runtime_frames pth_frames;              /* pth.c */
extern const struct runtime_frames simgrid_frames;          /* simgrid.c */
extern const struct runtime_frames boost_context_frames;    /* boost_context.c */
extern const struct runtime_frames boost_coroutine2_frames; /* boost_coroutine2.c */
extern const struct runtime_frames boost_fiber_frames;      /* boost_fiber.c */
extern const struct runtime_frames boost_asio_frames;       /* boost_asio.c */

/* Whether the object at path (a module's path or base name) is a runtime's library, or
 * costack's own. */
bool runtime_module(const char *path);

/* Whether a function is a runtime's own (its internals, inlined into the program or not), by
 * its name: mangled ("_ZN5boost7context...") or demangled ("void boost::context::..."). */
bool runtime_function(const char *name);

/* Whether a source file is a runtime's header ("/usr/include/boost/fiber/context.hpp"). */
bool runtime_source(const char *file);

/* Whether a source-level frame is a runtime's: its module, its function or its source file. */
bool runtime_frame(const struct sym_frame *f);

/* Of the source-level frames f[0..n) at one address (outermost first, as symbolizer_lookup
 * gives them): the innermost that is the program's own (where a task is: costack ps's WHERE),
 * or the outermost (the user's function a runtime's code called: its ENTRY); -1 if none is. */
int program_frame_innermost(const struct sym_frame *f, int n);
int program_frame_outermost(const struct sym_frame *f, int n);

/* Which runtime made a task, told by its entry function. */
enum runtime_family {
	RUNTIME_FAMILY_NONE = 0,      /* the program's own entry (a scheduler of its own) */
	RUNTIME_FAMILY_PTH,           /* GNU Pth's spawn trampoline */
	RUNTIME_FAMILY_SIMGRID,       /* a SimGrid actor's context */
	RUNTIME_FAMILY_BOOST_CONTEXT, /* Boost.Context's fiber or callcc */
	RUNTIME_FAMILY_COROUTINE2,    /* a Boost.Coroutine2 coroutine */
	RUNTIME_FAMILY_FIBER,         /* a Boost.Fiber fiber, or its scheduler's dispatcher */
	RUNTIME_FAMILY_COROUTINE,     /* a Boost.Coroutine (v1) coroutine: Asio's spawn */
};

/* The family of a task whose entry function has this name (mangled or not; NULL: unknown), in
 * the object at module (NULL: unknown). */
enum runtime_family runtime_family_of_entry(const char *module, const char *function);

/* Whether the entry a runtime of this family gives its tasks is its own code, behind which
 * the user's function is found on the task's stack (program_entry). */
bool runtime_entry_is_runtime(enum runtime_family family);

/* The source-level frames at a physical frame, a return address, outermost first, as the caller
 * names them (its symbolizer); returns how many, 0 when none is known. */
typedef int (*runtime_names_fn)(uintptr_t pc, struct sym_frame *out, int cap, void *ctx);

/* The outermost frame of a task's stack (frames innermost first) holding a source-level frame
 * that is the program's own: its return address; 0 if none (the runtime's code only). */
uintptr_t program_entry(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx);

/*
 * Whether a task of family that switched away with these frames (innermost first, the switch's
 * caller first) has ended its body, its runtime keeping the stack to switch into it again only to
 * clean up: Boost.Coroutine2 and Boost.Coroutine (v1) switch out of a body that ended from their
 * own frames, none of them a yield (DWARF inline information tells the inlined ones apart);
 * Boost.Fiber ends a fiber from boost::fibers::context::terminate(); SimGrid suspends an actor
 * for the last time from its context wrapper (every frame its own), once its code returned or was
 * killed (simgrid_kill). False for any other family.
 */
bool runtime_body_ended(enum runtime_family family, const uintptr_t *frames, uint32_t n,
                        runtime_names_fn names, void *ctx);

/* Boost.Context, and Boost.Coroutine (v1): the exception a context is unwound with when it is
 * destroyed while suspended (demangled type name). */
bool boost_context_forced_unwind(const char *type);
bool coroutine_v1_forced_unwind(const char *type);

/* SimGrid ends every actor with this exception (demangled type name): raised in its code (a
 * frame of the program's own on the stack), the actor was killed; raised once its code returned,
 * it merely unwinds nothing. */
bool simgrid_kill(const char *type);

/* The exception a runtime unwinds a suspended task with when it destroys it: Boost.Context's
 * and Boost.Coroutine's forced unwinds (SimGrid's kill is one only in the program's code). */
bool runtime_forced_unwind(const char *type);

/* Whether every source-level frame of these physical frames is a runtime's own, none of them a
 * function excluded (NULL: none is); false when there is no frame, or one is unknown. */
bool runtime_frames_only(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx,
                         bool (*excluded)(const char *function));

/* Whether a task whose outermost frame has this name is a Coroutine2 coroutine (its entry is
 * instantiated for Coroutine2's control block). */
bool coroutine2_task(const char *outermost);

/* Each family's rule of runtime_body_ended (boost_coroutine2.c, boost_asio.c, boost_fiber.c,
 * simgrid.c). */
bool coroutine2_body_ended_inline(const uintptr_t *frames, uint32_t n, runtime_names_fn names,
                                  void *ctx);
bool coroutine_v1_body_ended(const uintptr_t *frames, uint32_t n, runtime_names_fn names,
                             void *ctx);
bool fiber_body_ended(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx);
bool simgrid_body_ended(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx);

/* Whether a task's entry function (its name, mangled or not, and its object) is the given
 * runtime's: GNU Pth's spawn trampoline, a SimGrid context's, a Boost.Fiber fiber's (or its
 * dispatcher's), a Boost.Coroutine (v1) coroutine's, a Boost.Context fiber's or continuation's. */
bool pth_task(const char *module, const char *function);
bool simgrid_task(const char *module, const char *function);
bool fiber_task(const char *module, const char *function);
bool coroutine_v1_task(const char *module, const char *function);
bool boost_context_task(const char *function);

#endif
