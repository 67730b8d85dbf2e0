/* SPDX-License-Identifier: MIT */
/* odd_events.c - events of the costack provider with values costack does not know, recorded. */
#include <dlfcn.h>
#include <stdio.h>

#include "costack-trace-ops.h"

/*
 * odd_events PROVIDER: dlopen the LTTng provider libcostack-lttng.so and
 * fire, through its ops as libcostack.so would, what a corrupt trace or a
 * newer costack could hold: a runtime 9, a task_create of state 77, a
 * task_end of outcome 50, a switch away of prev_state 200. Task ids start at
 * 1001, clear of the preload's own. The readers must show each as unknown.
 */
int main(int argc, char **argv)
{
	void *provider = argc == 2 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
	const struct costack_trace_ops *ops =
	        provider ? dlsym(provider, COSTACK_TRACE_OPS_SYMBOL) : NULL;

	if (!ops || ops->version != COSTACK_TRACE_OPS_VERSION) {
		fprintf(stderr, "odd_events: cannot use the provider %s: %s\n",
		        argc == 2 ? argv[1] : "(none given)", provider ? "no ops" : dlerror());
		return 2;
	}
	ops->task_create(1001, 0, 0, 1, 0, 0, 0);          /* a root task, running */
	ops->task_create(1002, 1001, 9, 0, 0x1234, 0, 0);  /* runtime 9 */
	ops->task_create(1003, 1001, 1, 77, 0x1234, 0, 0); /* state 77 */
	ops->task_create(1004, 1001, 1, 0, 0x1234, 0, 0);
	ops->task_end(1004, 50, 0); /* outcome 50 */
	ops->task_create(1005, 1001, 1, 0, 0x1234, 0, 0);
	ops->switch_(1001, 1005, 200, 0, 0); /* 1001 left in state 200 */
	return 0;
}
