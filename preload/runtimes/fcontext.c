/* SPDX-License-Identifier: MIT */
/* hook_fcontext.c - the fcontext adapter: Boost.Context's make_fcontext, jump_fcontext, ontop_fcontext. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "core.h"
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

/*
 * Boost.Coroutine2 keeps a coroutine whose body threw suspended in its own
 * frames until the coroutine object dies, and then frees it with a forced
 * unwind. A task that keeps an exception it raised (core_exception_kept)
 * and suspends in Boost's frames only, none of them a yield, has no body
 * left to run: it failed. (Not at its first switch: Boost's entry code
 * bounces back to the maker before the body starts.) A body that returned
 * looks the same, but so does one whose yield the compiler inlined into
 * Boost's frames: without an exception kept, costack does not guess.
 */
/* boost::context, boost::coroutines2, and std (std::invoke between them at -O0) */
static const char *const runtime_scopes[] = { "5boost7context", "5boost11coroutines2", "St", NULL };

/* Whether a mangled name is a member of one of the scopes, encoded nested
 * names: _Z, Z for an entity local to a function, N, qualifiers, a scope. */
static bool in_runtime(const char *name)
{
	const char *p = name;

	if (strncmp(p, "_Z", 2))
		return false;
	p += 2;
	if (*p == 'Z')
		p++;
	if (!strncmp(p, "St", 2))
		return true; /* ::std, as std::invoke between Boost's frames at -O0 */
	if (*p++ != 'N')
		return false;
	while (*p && strchr("rVKRO", *p))
		p++;
	for (const char *const *scope = runtime_scopes; *scope; scope++)
		if (!strncmp(p, *scope, strlen(*scope)))
			return !strstr(p, "13control_block6resume"); /* a yield */
	return false;
}

/* The verdict for each stack, cached per thread: stacks are interned and
 * never freed, so a record's address is its identity. */
#define VERDICTS 64
static __thread struct {
	const struct stack_rec *stack;
	bool over;
} verdicts[VERDICTS];

static bool body_over(const struct task *t)
{
	const struct stack_rec *stack = core_suspended_stack(t);
	unsigned slot = (unsigned)((uintptr_t)stack >> 4) % VERDICTS;
	char name[1024];
	bool over;

	if (!stack || !stack->nframes)
		return false;
	if (verdicts[slot].stack == stack)
		return verdicts[slot].over;
	over = true;
	for (uint32_t i = 0; i < stack->nframes && over; i++)
		over = unwind_symbol_name(stack->frames[i], name, sizeof(name)) && in_runtime(name);
	verdicts[slot].stack = stack;
	verdicts[slot].over = over;
	return over;
}

/*
 * The fate of a task at its end. A forced unwind cancels a task, but
 * Boost.Coroutine2 frees even a coroutine whose body returned with one.
 * Coroutine2 runs each body inside a handler that rethrows a forced
 * unwind: one raised once only never went through the body, which had
 * returned. A Coroutine2 task is told by its entry, instantiated for
 * Coroutine2's control block: its outermost frame.
 */
static int fate_at_end(const struct task *t)
{
	const struct stack_rec *stack = core_suspended_stack(t);
	int fate = core_task_fate(t);
	char name[1024];

	if (fate == COSTACK_CANCELLED && t->forced_raises == 1 && stack && stack->nframes &&
	    unwind_symbol_name(stack->frames[stack->nframes - 1], name, sizeof(name)) &&
	    strstr(name, "11coroutines26detail"))
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
	self = ts->current;
	next = task_of(ts, to);
	ts->caller = *caller;
	frames = next ? core_switch(ts, next) : -1;
	/*
	 * Boost ends a context with ontop_fcontext called by the context's
	 * entry function itself (fiber_entry: "destroy context-stack of
	 * `this` context on next context"): the task's last switch.
	 */
	if (self->runtime == COSTACK_RUNTIME_FCONTEXT && frames > 0) {
		if (last_if_entry_only && frames == 1)
			core_end_task(self, fate_at_end(self));
		else if (self->has_kept && self->switches > 1 && body_over(self))
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
