/* SPDX-License-Identifier: MIT */
/*
 * provider.c - libcostack-lttng.so: the probes of provider `costack` and the
 * struct costack_trace_ops through which libcostack.so fires them. Loaded by
 * libcostack.so only when tracing is on (COSTACK_TRACE=1).
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
/* The tracepoint and provider definitions stay inside this library (as lttng-ust's own
 * helpers keep theirs): none clashes with a program that defines a provider costack. Only
 * costack_trace_ops is exported. */
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
#define LTTNG_UST_TRACEPOINT_PROVIDER_HIDDEN_DEFINITION
#include "costack-tp.h"

#include "costack-trace-ops.h"

static int tp_stack(uint32_t id, const uint64_t *frames, uint32_t nframes)
{
	if (!lttng_ust_tracepoint_enabled(costack, stack))
		return 0;
	lttng_ust_do_tracepoint(costack, stack, id, frames, nframes);
	return 1;
}

static void tp_task_create(uint64_t task, uint64_t parent, uint8_t runtime, uint8_t state,
                           uint64_t entry, uint64_t stack_lo, uint64_t stack_hi)
{
	lttng_ust_tracepoint(costack, task_create, task, parent, runtime, state, entry, stack_lo,
	                     stack_hi);
}

static void tp_task_name(uint64_t task, const char *name)
{
	lttng_ust_tracepoint(costack, task_name, task, name);
}

static void tp_switch(uint64_t prev, uint64_t next, uint8_t prev_state, uint32_t stack,
                      uint8_t truncated)
{
	/* truncated is prev_state's bit 7: one byte less in the hot event */
	lttng_ust_tracepoint(costack, switch, prev, next,
	                     (uint8_t)(prev_state | (truncated ? 0x80 : 0)), stack);
}

static void tp_resume(uint64_t task)
{
	lttng_ust_tracepoint(costack, resume, task);
}

static void tp_raise(uint64_t task, uint64_t raise, uint64_t origin, uint8_t forced, uint32_t stack,
                     uint8_t truncated, const char *type, const char *what)
{
	lttng_ust_tracepoint(costack, raise, task, raise, origin, forced, stack, truncated, type,
	                     what);
}

static void tp_task_end(uint64_t task, uint8_t outcome, uint64_t kept_raise)
{
	lttng_ust_tracepoint(costack, task_end, task, outcome, kept_raise);
}

static void tp_task_entry(uint64_t task, uint64_t entry)
{
	lttng_ust_tracepoint(costack, task_entry, task, entry);
}

__attribute__((visibility("default"))) const struct costack_trace_ops costack_trace_ops = {
        .version = COSTACK_TRACE_OPS_VERSION,
        .size = sizeof(struct costack_trace_ops),
        .stack = tp_stack,
        .task_create = tp_task_create,
        .task_name = tp_task_name,
        .switch_ = tp_switch,
        .resume = tp_resume,
        .raise = tp_raise,
        .task_end = tp_task_end,
        .task_entry = tp_task_entry,
};
