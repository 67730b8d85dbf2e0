/* SPDX-License-Identifier: MIT */
/* hook_fcontext.c - the fcontext adapter: Boost.Context's make_fcontext, jump_fcontext, ontop_fcontext. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "core.h"
#include "knowledge.h"
#include "log.h"
#include "real.h"
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

/*
 * Only a program that calls these has Boost.Context loaded: each is resolved at its first
 * call, where that call would have gone (real.h; a plugin may hold Boost.Context in its own
 * scope), so a program without Boost never looks.
 */
/* A context's entry returns into Boost's start code, inside make_fcontext's symbol: every
 * fcontext task's stack begins there. */
static void add_start_code(void)
{
	int saved_errno = errno;
	const ElfW(Sym) *symbol = NULL;
	Dl_info info;

	if (dladdr1((void *)real_make_fcontext, &info, (void **)&symbol, RTLD_DL_SYMENT) && symbol &&
	    symbol->st_size)
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

	if (!real_make_fcontext) {
		if (!REAL_FUNCTION(real_make_fcontext, "make_fcontext"))
			real_missing("make_fcontext");
		add_start_code();
	}
	ts = core_enter_activating();
	if (ts) {
		/* sp is the top: Boost's stacks grow down from it. */
		core_task_made(ts, COSTACK_RUNTIME_FCONTEXT, (uintptr_t)sp - size, (uintptr_t)sp,
			       (uintptr_t)fn, 0);
		core_leave(ts);
	}
	return real_make_fcontext(sp, size, fn);
}

/* A frame's name for the knowledge of Boost.Coroutine2 (knowledge.h): its ELF symbol. */
static bool symbol_name(uintptr_t pc, char *name, size_t size, void *ctx)
{
	(void)ctx;
	return unwind_symbol_name(pc, name, size);
}

/* Whether t's body ended, by the stack it suspended at (boost_coroutine2.c), cached per thread:
 * stacks are interned and never freed, so a record's address is its identity. */
#define VERDICTS 64
static __thread struct {
	const struct stack_rec *stack;
	bool ended;
} verdicts[VERDICTS];

static bool body_ended(const struct task *t)
{
	const struct stack_rec *stack = core_suspended_stack(t);
	unsigned slot = (unsigned)((uintptr_t)stack >> 4) % VERDICTS;

	if (!stack)
		return false;
	if (verdicts[slot].stack != stack) {
		verdicts[slot].ended =
			coroutine2_body_ended(stack->frames, stack->nframes, symbol_name, NULL);
		verdicts[slot].stack = stack;
	}
	return verdicts[slot].ended;
}

/*
 * The fate of a task at its last switch. A forced unwind cancels a task, but Boost.Coroutine2
 * frees even a coroutine whose body returned with one: it runs each body inside a handler that
 * rethrows a forced unwind, so one raised once only in a Coroutine2 task (told by its
 * outermost frame) never went through the body, which had returned.
 */
static int fate_at_end(const struct task *t)
{
	const struct stack_rec *stack = core_suspended_stack(t);
	int fate = core_task_fate(t);
	char name[1024];

	if (fate == COSTACK_CANCELLED && core_task_forced_raises(t) == 1 && stack &&
	    stack->nframes &&
	    symbol_name(stack->frames[stack->nframes - 1], name, sizeof(name), NULL) &&
	    coroutine2_task(name))
		return COSTACK_DONE;
	return fate;
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
	self = core_running(ts);
	next = task_of(ts, to);
	frames = next ? core_switch(ts, next, caller) : -1;
	/*
	 * Boost ends a context with ontop_fcontext called by the context's entry function itself
	 * (fiber_entry: "destroy context-stack of `this` context on next context"): the task's
	 * last switch. A Coroutine2 coroutine whose body threw, and whose exception its control
	 * block kept, waits in Boost's frames for its object to die: failed from then on (not at
	 * its first switch: Boost's entry code bounces back to the maker before the body starts).
	 * One whose body returned looks the same, but so does one whose yield the compiler
	 * inlined into Boost's frames: without an exception kept, costack does not guess.
	 */
	if (core_task_runtime(self) == COSTACK_RUNTIME_FCONTEXT && frames > 0) {
		if (last_if_entry_only && frames == 1)
			core_end_task(self, fate_at_end(self));
		else if (core_task_fate(self) == COSTACK_FAILED && core_task_switches(self) > 1 &&
			 body_ended(self))
			core_body_ended(self, COSTACK_FAILED);
	}
	core_leave(ts);
	errno = saved_errno;
	return self;
}

EXPORT UNWIND_FRAME_POINTER transfer_t jump_fcontext(fcontext_t to, void *vp)
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

EXPORT UNWIND_FRAME_POINTER transfer_t ontop_fcontext(fcontext_t to, void *vp,
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
