/* SPDX-License-Identifier: MIT */
/*
 * costack-trace-ops.h - what libcostack.so calls in libcostack-lttng.so, the
 * LTTng-UST provider `costack` (tracepoints/), when tracing is on.
 *
 * libcostack.so never links liblttng-ust: with COSTACK_TRACE=1 it dlopens
 * libcostack-lttng.so at load and reads its COSTACK_TRACE_OPS_SYMBOL, a
 * struct costack_trace_ops. Without it, nothing of LTTng is mapped.
 *
 * Each call emits one event of tracepoints/costack-tp.h, which documents the
 * trace schema. Ids are task ids (never reused) and stack ids (the number
 * of an interned stack's record in the live region, never freed, so never
 * reused either); no pointer is followed by a reader.
 */
#ifndef COSTACK_TRACE_OPS_H
#define COSTACK_TRACE_OPS_H

#include <stdint.h>

#define COSTACK_TRACE_OPS_SYMBOL "costack_trace_ops"
#define COSTACK_TRACE_OPS_VERSION 3

struct costack_trace_ops {
	uint32_t version; /* COSTACK_TRACE_OPS_VERSION */
	uint32_t size;    /* sizeof(struct costack_trace_ops) */
	/* costack:stack: defines stack `id` (frames innermost first). Returns
	 * nonzero if the event is enabled (it was handed to LTTng): only then
	 * may the caller take the stack as defined in the trace. */
	int (*stack)(uint32_t id, const uint64_t *frames, uint32_t nframes);
	/* costack:task_create */
	void (*task_create)(uint64_t task, uint64_t parent, uint8_t runtime, uint8_t state,
	                    uint64_t entry, uint64_t stack_lo, uint64_t stack_hi);
	/* costack:task_name */
	void (*task_name)(uint64_t task, const char *name);
	/* costack:switch */
	void (*switch_)(uint64_t prev, uint64_t next, uint8_t prev_state, uint32_t stack,
	                uint8_t truncated);
	/* costack:resume */
	void (*resume)(uint64_t task);
	/* costack:raise */
	void (*raise)(uint64_t task, uint64_t raise, uint64_t origin, uint8_t forced,
	              uint32_t stack, uint8_t truncated, const char *type, const char *what);
	/* costack:task_end */
	void (*task_end)(uint64_t task, uint8_t outcome, uint64_t kept_raise);
	/* costack:task_entry */
	void (*task_entry)(uint64_t task, uint64_t entry);
};

#endif
