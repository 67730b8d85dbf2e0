/* SPDX-License-Identifier: MIT */
/* attach.c - what libcostack.so is: the core, and the consumers of its tasks it attaches at load.
 */
#include "core.h"
#include "dump.h"
#include "trace.h"

/* Called by the core once, when its settings are read (and costack is not standing down for
 * another copy): each consumer registers what it observes. */
void costack_attach(void)
{
	dump_attach();
	trace_attach();
}
