/* SPDX-License-Identifier: MIT */
/* fcontext.c - the fcontext adapter: Boost.Context's make_fcontext, jump_fcontext, ontop_fcontext.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "core.h"
#include "log.h"
#include "real.h"
#include "runtime_tasks.h"
#include "unwind.h"

#define EXPORT __attribute__((visibility("default")))

/* Boost.Context's C interface (boost/context/detail/fcontext.hpp). A
 * context is the stack pointer it was suspended at. */
typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;

EXPORT fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
EXPORT transfer_t jump_fcontext(fcontext_t to, void *vp);
EXPORT transfer_t ontop_fcontext(fcontext_t to, void *vp, transfer_t (*fn)(transfer_t));

static fcontext_t (*real_make_fcontext)(void *, size_t, void (*)(transfer_t));
SWITCH_DATA static transfer_t (*real_jump_fcontext)(fcontext_t, void *);
SWITCH_DATA static transfer_t (*real_ontop_fcontext)(fcontext_t, void *,
                                                     transfer_t (*)(transfer_t));

/*
 * Only a program that calls these has Boost.Context loaded: each is resolved at its first
 * call, where that call would have gone (real.h; a plugin may hold Boost.Context in its own
 * scope), so a program without Boost never looks.
 */
/* A context's entry returns into Boost's start code, inside make_fcontext's symbol: every
 * fcontext task's stack begins there. */
SWITCH_DATA static uintptr_t start_code_lo, start_code_hi;

static void add_start_code(void)
{
	int saved_errno = errno;
	const ElfW(Sym) *symbol = NULL;
	Dl_info info;

	if (dladdr1((void *)real_make_fcontext, &info, (void **)&symbol, RTLD_DL_SYMENT) &&
	    symbol && symbol->st_size) {
		start_code_lo = (uintptr_t)real_make_fcontext;
		start_code_hi = start_code_lo + symbol->st_size;
		unwind_add_bottom(start_code_lo, start_code_hi);
	}
	errno = saved_errno;
}

/* The context handle is a stack pointer; cached by page, checked by range. */
SWITCH_PATH static struct task *task_of(struct thread_state *ts, fcontext_t to)
{
	return core_task_of_context(ts, COSTACK_RUNTIME_FCONTEXT, (uintptr_t)to >> 12,
	                            (uintptr_t)to);
}

EXPORT fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t))
{
	struct thread_state *ts;
	struct task *t;

	if (!real_make_fcontext) {
		if (!REAL_FUNCTION(real_make_fcontext, "make_fcontext"))
			real_missing("make_fcontext");
		add_start_code();
	}
	ts = core_enter_activating();
	if (ts) {
		/* sp is the top: Boost's stacks grow down from it. */
		t = core_task_made(ts, COSTACK_RUNTIME_FCONTEXT, (uintptr_t)sp - size,
		                   (uintptr_t)sp, (uintptr_t)fn, 0);
		if (t)
			runtime_task_made(t, (uintptr_t)fn);
		core_leave(ts);
	}
	return real_make_fcontext(sp, size, fn);
}

/*
 * Whether this switch is the task's last, as Boost.Context's start code tells: Boost ends a
 * context with ontop_fcontext called by the context's entry function itself (fiber_entry:
 * "destroy context-stack of `this` context on next context"), and an entry that calls a switch
 * in tail position (a scheduler of the program's own, at -O2: its entry ends with a last jump
 * back) leaves the start code's return address for the switch's own: resumed, it would return
 * into Boost's finish, which ends the process.
 */
SWITCH_PATH static bool last_switch(bool ontop, int frames, const struct unwind_start *caller)
{
	return (ontop && frames == 1) ||
	       (caller->ra >= start_code_lo && caller->ra < start_code_hi);
}

/* Bookkeeping before a switch: returns the task switching out, or NULL.
 * caller: the hook's caller, where the outgoing task's frames begin. */
SWITCH_PATH static struct task *switch_out(fcontext_t to, bool ontop,
                                           const struct unwind_start *caller)
{
	struct thread_state *ts = core_enter();
	struct task *self, *next;
	int frames;

	if (!ts)
		return NULL;
	self = core_running(ts);
	next = task_of(ts, to);
	frames = next ? core_switch(ts, next, caller) : -1;
	if (frames >= 0)
		runtime_task_switched(self, next,
		                      last_switch(ontop, frames, caller) &&
		                              core_task_runtime(self) == COSTACK_RUNTIME_FCONTEXT);
	core_leave(ts);
	return self;
}

SWITCH_PATH EXPORT UNWIND_FRAME_POINTER transfer_t jump_fcontext(fcontext_t to, void *vp)
{
	struct unwind_start caller;
	struct task *self;
	transfer_t t;

	if (!REAL_FUNCTION(real_jump_fcontext, "jump_fcontext"))
		real_missing("jump_fcontext");
	UNWIND_CALLER(caller);
	self = switch_out(to, false, &caller);
	t = real_jump_fcontext(to, vp);
	/* Back in self's frame: self runs now, on whichever thread this is. */
	if (self)
		core_resumed(core_thread_state(), self);
	return t;
}

SWITCH_PATH EXPORT UNWIND_FRAME_POINTER transfer_t ontop_fcontext(fcontext_t to, void *vp,
                                                                  transfer_t (*fn)(transfer_t))
{
	struct unwind_start caller;
	struct task *self;
	transfer_t t;

	if (!REAL_FUNCTION(real_ontop_fcontext, "ontop_fcontext"))
		real_missing("ontop_fcontext");
	UNWIND_CALLER(caller);
	self = switch_out(to, true, &caller);
	t = real_ontop_fcontext(to, vp, fn);
	if (self)
		core_resumed(core_thread_state(), self);
	return t;
}
