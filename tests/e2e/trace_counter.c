/* SPDX-License-Identifier: MIT */
/*
 * trace_counter.c - a provider of costack-trace-ops.h that counts instead of tracing, for
 * trace_redefine: how often libcostack.so defines each stack in the trace. The preload's own
 * interface (not LTTng's): what it hands the provider is what is checked.
 */
#include <stdint.h>

#include "costack-trace-ops.h"

#define SLOTS 4096

/* What trace_redefine asks the provider, once it found it. */
uint64_t counter_most_definitions(void);
uint64_t counter_switches(void);

static struct {
	uint32_t id;
	uint64_t definitions;
} stacks[SLOTS];
static uint64_t switches;

static int on_stack(uint32_t id, const uint64_t *frames, uint32_t nframes)
{
	(void)frames;
	(void)nframes;
	for (unsigned i = id % SLOTS, n = 0; n < SLOTS; i = (i + 1) % SLOTS, n++) {
		if (!stacks[i].id)
			stacks[i].id = id;
		if (stacks[i].id == id) {
			stacks[i].definitions++;
			break;
		}
	}
	return 1; /* enabled: the preload takes the stack as defined */
}

static void on_task_create(uint64_t task, uint64_t parent, uint8_t runtime, uint8_t state,
                           uint64_t entry, uint64_t stack_lo, uint64_t stack_hi)
{
	(void)task, (void)parent, (void)runtime, (void)state, (void)entry, (void)stack_lo,
	        (void)stack_hi;
}

static void on_task_name(uint64_t task, const char *name)
{
	(void)task, (void)name;
}

static void on_switch(uint64_t prev, uint64_t next, uint8_t prev_state, uint32_t stack,
                      uint8_t truncated)
{
	(void)prev, (void)next, (void)prev_state, (void)stack, (void)truncated;
	switches++;
}

static void on_resume(uint64_t task)
{
	(void)task;
}

static void on_raise(uint64_t task, uint64_t raise, uint64_t origin, uint8_t forced, uint32_t stack,
                     uint8_t truncated, const char *type, const char *what)
{
	(void)task, (void)raise, (void)origin, (void)forced, (void)stack, (void)truncated,
	        (void)type, (void)what;
}

static void on_task_end(uint64_t task, uint8_t outcome, uint64_t kept_raise)
{
	(void)task, (void)outcome, (void)kept_raise;
}

static void on_task_entry(uint64_t task, uint64_t entry)
{
	(void)task, (void)entry;
}

__attribute__((visibility("default"))) const struct costack_trace_ops costack_trace_ops = {
        .version = COSTACK_TRACE_OPS_VERSION,
        .size = sizeof(struct costack_trace_ops),
        .stack = on_stack,
        .task_create = on_task_create,
        .task_name = on_task_name,
        .switch_ = on_switch,
        .resume = on_resume,
        .raise = on_raise,
        .task_end = on_task_end,
        .task_entry = on_task_entry,
};

/* The most times one stack was defined, and the switches told. */
__attribute__((visibility("default"))) uint64_t counter_most_definitions(void)
{
	uint64_t most = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		if (stacks[i].definitions > most)
			most = stacks[i].definitions;
	return most;
}

__attribute__((visibility("default"))) uint64_t counter_switches(void)
{
	return switches;
}
