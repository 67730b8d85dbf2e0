/* SPDX-License-Identifier: MIT */
/* runtime_tasks.c - what the adapters do with the runtimes' knowledge (knowledge/): which runtime
 * made a task, the user's entry behind its start code, its name, its end. */
#define _GNU_SOURCE
#include "runtime_tasks.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "knowledge.h"
#include "own_symbols.h"
#include "real.h"
#include "unwind.h"

/* The runtimes' word of a task (core_task_knowledge): its family, and what is still to learn. */
#define FAMILY_MASK 0x000f
#define NEEDS_ENTRY 0x0010 /* the user's function is still to be found on its stack */
#define WATCH_END 0x0020   /* the frames of its switches tell when its body ends */
#define NEEDS_NAME 0x0040  /* its runtime names it once it runs (a SimGrid actor) */
#define KILLED 0x0080      /* SimGrid killed it (raised its kill in the program's code) */
_Static_assert(RUNTIME_AT_SWITCH_OUT == (NEEDS_ENTRY | WATCH_END) &&
                       RUNTIME_AT_SWITCH_IN == NEEDS_NAME,
               "the switch's fast path (runtime_tasks.h) tests these");

#define MAX_INLINE 16

/* --- frames judged on the symbolizer's stack ------------------------------------------ */

static int names_of(uintptr_t pc, struct sym_frame *out, int cap, void *ctx)
{
	return ctx ? symbolizer_lookup(ctx, pc, true, out, cap) : 0;
}

/* What the knowledge of a family says of a stack. Stacks are interned and never freed, so a
 * record's address is its identity: verdicts are kept per thread, by it. */
struct verdict {
	const struct stack_rec *stack;
	uint8_t family;
	bool ended;      /* the body of a task that switched away with it has ended */
	uintptr_t entry; /* its outermost frame holding the program's own code (0: none) */
};

struct judge_job {
	struct verdict *v;
};

static void judge(struct symbolizer *s, void *arg)
{
	struct verdict *v = ((struct judge_job *)arg)->v;
	const uintptr_t *frames = v->stack->frames;
	uint32_t n = v->stack->nframes;

	v->ended = runtime_body_ended(v->family, frames, n, names_of, s);
	v->entry = program_entry(frames, n, names_of, s);
}

#define VERDICTS 64
static __thread struct verdict verdicts[VERDICTS] __attribute__((tls_model("initial-exec")));

static const struct verdict *verdict_of(const struct stack_rec *stack, int family)
{
	struct verdict *v = &verdicts[((uintptr_t)stack >> 4) % VERDICTS];

	if (v->stack != stack || v->family != family) {
		*v = (struct verdict){.stack = stack, .family = (uint8_t)family};
		own_symbols_run(judge, &(struct judge_job){v});
	}
	return v;
}

/* --- which runtime made a task ------------------------------------------------------- */

/* Entry functions seen, by address: a runtime starts all its tasks in a few. */
#define FAMILIES 16
static __thread struct {
	uintptr_t entry;
	uint8_t family;
} families[FAMILIES] __attribute__((tls_model("initial-exec")));

/* By its ELF symbol and object, as the unwinder reads them (no descriptor kept, no DWARF). */
static enum runtime_family classify(uintptr_t entry)
{
	char name[1024];
	Dl_info info;
	const char *module = dladdr((void *)entry, &info) ? info.dli_fname : NULL;

	return runtime_family_of_entry(
	        module, unwind_symbol_name(entry + 1, name, sizeof(name)) ? name : NULL);
}

static enum runtime_family family_of(uintptr_t entry)
{
	unsigned slot = (unsigned)((entry >> 4) ^ (entry >> 12)) % FAMILIES;

	if (families[slot].entry != entry) {
		families[slot].family = (uint8_t)classify(entry);
		families[slot].entry = entry;
	}
	return families[slot].family;
}

void runtime_task_made(struct task *t, uintptr_t entry)
{
	enum runtime_family family = entry ? family_of(entry) : RUNTIME_FAMILY_NONE;
	uint16_t knowledge = (uint16_t)family;

	if (runtime_entry_is_runtime(family))
		knowledge |= NEEDS_ENTRY;
	if (family == RUNTIME_FAMILY_SIMGRID)
		knowledge |= NEEDS_NAME;
	if (family == RUNTIME_FAMILY_COROUTINE2 || family == RUNTIME_FAMILY_COROUTINE ||
	    family == RUNTIME_FAMILY_FIBER)
		knowledge |= WATCH_END;
	core_task_set_knowledge(t, knowledge);
}

void runtime_task_given(struct task *t, uintptr_t entry, const char *name)
{
	core_task_set_knowledge(t, core_task_knowledge(t) & ~NEEDS_ENTRY);
	if (entry)
		core_task_set_entry(t, entry);
	if (name && *name)
		core_task_set_name(t, name);
}

/* --- at a switch ---------------------------------------------------------------------- */

/*
 * The fate of a task whose body ended, from what was raised in it (core_task_fate), but for
 * two runtimes' own ways: Boost.Coroutine2 frees even a coroutine whose body returned with a
 * forced unwind, inside a handler that rethrows it, so one raised once only never went through
 * the body; SimGrid ends every actor with its kill, which cancels only an actor it killed.
 */
static int fate_of_body(const struct task *t, uint16_t knowledge)
{
	int family = knowledge & FAMILY_MASK;
	int fate = core_task_fate(t);

	if (family == RUNTIME_FAMILY_SIMGRID)
		return fate == COSTACK_FAILED ? fate
		       : knowledge & KILLED   ? COSTACK_CANCELLED
		                              : COSTACK_DONE;
	if (fate == COSTACK_CANCELLED && family == RUNTIME_FAMILY_COROUTINE2 &&
	    core_task_forced_raises(t) == 1)
		return COSTACK_DONE;
	return fate;
}

/* The user's function of t, if the stack it ran with holds the program's own code: an address
 * inside it (the call in that frame), or in the code it was inlined into, which a reader names
 * by the outermost function of the program's own there. */
static uint16_t learn_entry(struct task *t, uint16_t knowledge, const struct verdict *v)
{
	if ((knowledge & NEEDS_ENTRY) && v->entry) {
		knowledge &= ~NEEDS_ENTRY;
		core_task_set_knowledge(t, knowledge);
		core_task_set_entry(t, v->entry - 1);
	}
	return knowledge;
}

/*
 * Whether the end a family's knowledge sees in a stack can be taken as one now. Coroutine2's
 * control block switches from Boost's frames alone before its body runs too (fiber_entry
 * bouncing back to the maker, a push_type's lambda jumping back to its constructor): its body
 * ran once its stack held the program's own code (its entry is learned). Boost.Coroutine (v1)
 * enters a coroutine at its first resume, Boost.Fiber's terminate() and SimGrid's kill say so
 * themselves.
 */
static bool end_seen(int family, uint16_t knowledge)
{
	return family != RUNTIME_FAMILY_COROUTINE2 || !(knowledge & NEEDS_ENTRY);
}

/* A switch of self's from frames its runtime's knowledge judges: its user's entry, its end. */
static void examine(struct task *self, uint16_t knowledge)
{
	int family = knowledge & FAMILY_MASK;
	const struct stack_rec *stack = core_suspended_stack(self);
	const struct verdict *v;

	if (!stack || core_task_state(self) != COSTACK_SUSPENDED)
		return;
	v = verdict_of(stack, family);
	knowledge = learn_entry(self, knowledge, v);
	if ((knowledge & WATCH_END) && v->ended && end_seen(family, knowledge))
		core_body_ended(self, fate_of_body(self, knowledge));
}

/* SimGrid calls current the actor it switches to before it switches: its name is that task's. */
static void name_from_simgrid(struct task *next, uint16_t knowledge)
{
	static void *(*actor_self)(void);
	static const char *(*actor_name)(const void *);
	const char *name;

	core_task_set_knowledge(next, knowledge & ~NEEDS_NAME);
	if (!actor_self) {
		actor_name = real_function("sg_actor_get_name", NULL);
		actor_self = real_function("sg_actor_self", NULL);
	}
	if (!actor_self || !actor_name || core_task_has_name(next))
		return;
	void *actor = actor_self();
	name = actor ? actor_name(actor) : NULL;
	if (name && *name)
		core_task_set_name(next, name);
}

void runtime_task_switched_slow(struct task *self, struct task *next, bool last)
{
	uint16_t knowledge = core_task_knowledge(self);

	if (last)
		core_end_task(self, fate_of_body(self, knowledge));
	else if (knowledge & (NEEDS_ENTRY | WATCH_END))
		examine(self, knowledge);
	if (next && (core_task_knowledge(next) & NEEDS_NAME) &&
	    (core_task_knowledge(next) & FAMILY_MASK) == RUNTIME_FAMILY_SIMGRID)
		name_from_simgrid(next, core_task_knowledge(next));
}

void runtime_task_raised(struct task *t, const char *type, const struct stack_rec *stack)
{
	uint16_t knowledge = core_task_knowledge(t);
	int family = knowledge & FAMILY_MASK;
	const struct verdict *v;

	if (!stack || (!(knowledge & NEEDS_ENTRY) && family != RUNTIME_FAMILY_SIMGRID))
		return;
	v = verdict_of(stack, family);
	/* A body that threw before it ever switched away shows its code here first. */
	knowledge = learn_entry(t, knowledge, v);
	/* SimGrid's kill: from the program's code, the actor was killed; either way its next
	 * switch from SimGrid's frames alone is its last. */
	if (family == RUNTIME_FAMILY_SIMGRID && simgrid_kill(type)) {
		knowledge |= WATCH_END;
		if (v->entry)
			knowledge |= KILLED;
		core_task_set_knowledge(t, knowledge);
	}
}

/* --- where a hook runs ---------------------------------------------------------------- */

/* The calling thread's own stack, found once per thread. */
static __thread uintptr_t own_stack_lo, own_stack_hi __attribute__((tls_model("initial-exec")));

static bool on_own_thread_stack(uintptr_t sp)
{
	pthread_attr_t attr;
	stack_t alternate;
	void *addr;
	size_t size;

	if (!own_stack_hi && pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			own_stack_lo = (uintptr_t)addr;
			own_stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	/* Unknown: cannot tell, so it is taken as known; so is a signal handler's stack. */
	return !own_stack_hi || (sp >= own_stack_lo && sp < own_stack_hi) ||
	       (sigaltstack(NULL, &alternate) == 0 && !(alternate.ss_flags & SS_DISABLE) &&
	        sp - (uintptr_t)alternate.ss_sp < alternate.ss_size);
}

struct thread_state *runtime_enter_checked(uintptr_t sp)
{
	struct thread_state *ts = core_enter();
	int saved_errno = errno;

	if (!ts) {
		if (core_active() || on_own_thread_stack(sp))
			goto end;
		ts = core_enter_activating();
		if (!ts)
			goto end;
	}
	if (!core_on_known_stack(ts, sp)) {
		core_untracked_stack(ts);
		core_leave(ts);
		ts = NULL;
	}
end:
	errno = saved_errno;
	return ts;
}
