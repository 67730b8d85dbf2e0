/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the events of a traced run (COSTACK_TRACE=1): the trace observes the core's tasks
 * and fires the events of provider costack through libcostack-lttng.so (costack-trace-ops.h),
 * dlopened at load. Tracing off, it observes nothing: each event point of the core is one
 * untaken branch.
 */
#ifndef COSTACK_TRACE_H
#define COSTACK_TRACE_H

#include "costack-trace-ops.h"

/* At load, settings read: with COSTACK_TRACE=1, load the provider and observe the core; if it
 * cannot be loaded, say why in one line and go on untraced. */
void trace_attach(void);

#endif
