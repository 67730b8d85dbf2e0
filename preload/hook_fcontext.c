/* SPDX-License-Identifier: MIT */
/* hook_fcontext.c - the fcontext adapter: Boost.Context's make_fcontext, jump_fcontext, ontop_fcontext. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>

#include "core.h"
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
static transfer_t (*real_jump_fcontext)(fcontext_t, void *);
static transfer_t (*real_ontop_fcontext)(fcontext_t, void *, transfer_t (*)(transfer_t));

/* Only a program that calls these has Boost.Context loaded: resolved on
 * first call, so a program without Boost never looks. */
static void resolve(void)
{
	int saved_errno = errno;
	const ElfW(Sym) *symbol = NULL;
	Dl_info info;

	real_make_fcontext = dlsym(RTLD_NEXT, "make_fcontext");
	real_jump_fcontext = dlsym(RTLD_NEXT, "jump_fcontext");
	real_ontop_fcontext = dlsym(RTLD_NEXT, "ontop_fcontext");
	/* A context's entry returns into Boost's start code, inside
	 * make_fcontext's symbol: every fcontext task's stack begins there. */
	if (real_make_fcontext &&
	    dladdr1((void *)real_make_fcontext, &info, (void **)&symbol, RTLD_DL_SYMENT) &&
	    symbol && symbol->st_size)
		unwind_add_bottom((uintptr_t)real_make_fcontext,
				  (uintptr_t)real_make_fcontext + symbol->st_size);
	errno = saved_errno;
}

/* The context handle is a stack pointer; cached by page, checked by range. */
static struct task *task_of(struct thread_state *ts, fcontext_t to)
{
	return core_task_of_context(ts, COSTACK_RUNTIME_FCONTEXT, (uintptr_t)to >> 12,
				    (uintptr_t)to);
}

EXPORT fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t))
{
	struct thread_state *ts;

	if (!real_make_fcontext)
		resolve();
	ts = core_enter();
	if (ts) {
		/* sp is the top: Boost's stacks grow down from it. */
		core_task_made(ts, COSTACK_RUNTIME_FCONTEXT, (uintptr_t)sp - size, (uintptr_t)sp,
			       (uintptr_t)fn, 0);
		core_leave(ts);
	}
	return real_make_fcontext(sp, size, fn);
}

/* Bookkeeping before a switch: returns the task switching out, or NULL.
 * caller: the hook's caller, where the outgoing task's frames begin. */
static struct task *switch_out(fcontext_t to, bool last_if_entry_only,
			       const struct unwind_start *caller)
{
	struct thread_state *ts = core_enter();
	struct task *self, *next;
	int saved_errno, frames;

	if (!ts)
		return NULL;
	saved_errno = errno;
	self = ts->current;
	next = task_of(ts, to);
	ts->caller = *caller;
	frames = next ? core_switch(ts, next) : -1;
	/*
	 * Boost ends a context with ontop_fcontext called by the context's
	 * entry function itself (fiber_entry: "destroy context-stack of
	 * `this` context on next context"): the task's last switch.
	 */
	if (last_if_entry_only && frames == 1 && self->runtime == COSTACK_RUNTIME_FCONTEXT)
		core_end_task(self, core_task_fate(self));
	core_leave(ts);
	errno = saved_errno;
	return self;
}

EXPORT UNWIND_FRAME_POINTER transfer_t jump_fcontext(fcontext_t to, void *vp)
{
	struct unwind_start caller;
	struct task *self;
	transfer_t t;

	if (!real_jump_fcontext)
		resolve();
	UNWIND_CALLER(caller);
	self = switch_out(to, false, &caller);
	t = real_jump_fcontext(to, vp);
	/* Back in self's frame: self runs now, on whichever thread this is. */
	if (self)
		core_resumed(core_thread_state(), self);
	return t;
}

EXPORT UNWIND_FRAME_POINTER transfer_t ontop_fcontext(fcontext_t to, void *vp,
						     transfer_t (*fn)(transfer_t))
{
	struct unwind_start caller;
	struct task *self;
	transfer_t t;

	if (!real_ontop_fcontext)
		resolve();
	UNWIND_CALLER(caller);
	self = switch_out(to, true, &caller);
	t = real_ontop_fcontext(to, vp, fn);
	if (self)
		core_resumed(core_thread_state(), self);
	return t;
}
