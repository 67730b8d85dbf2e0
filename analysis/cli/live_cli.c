/* SPDX-License-Identifier: MIT */
/* live_cli.c - the PID argument and the live read with its messages, for ps and stacks. */
#include "live_cli.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "costack.h"

bool live_cli_parse_pid(const char *arg, pid_t *pid)
{
	long long value = 0;

	if (!arg || !*arg || strlen(arg) > 10)
		return false;
	for (const char *p = arg; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		value = value * 10 + (*p - '0');
	}
	if (value <= 0 || value > INT_MAX)
		return false;
	*pid = (pid_t)value;
	return true;
}

int live_cli_read(const char *verb, pid_t pid, struct live_snapshot *snap)
{
	struct live_error err;

	if (live_read_pid(pid, snap, &err)) {
		fprintf(stderr, "costack %s: %s\n", verb, err.message);
		return COSTACK_EXIT_INPUT;
	}
	if (snap->busy)
		fprintf(stderr,
		        "costack %s: %zu task%s of process %d changed at every try of a consistent "
		        "read and %s not shown\n",
		        verb, snap->busy, snap->busy == 1 ? "" : "s", (int)pid,
		        snap->busy == 1 ? "is" : "are");
	if (snap->bad)
		fprintf(stderr,
		        "costack %s: %zu task record%s of process %d failed validation and %s not "
		        "shown\n",
		        verb, snap->bad, snap->bad == 1 ? "" : "s", (int)pid,
		        snap->bad == 1 ? "is" : "are");
	return COSTACK_EXIT_OK;
}

int live_cli_symbolize(void *ctx, const struct stacks_task *t, uint64_t pc, bool is_return,
                       struct sym_frame *out, int cap)
{
	(void)t;
	return symbolizer_lookup(ctx, pc, is_return, out, cap);
}

void live_cli_stacks_task(const struct live_task *t, int limit, struct stacks_task *out)
{
	uint32_t first;

	memset(out, 0, sizeof(*out));
	out->id = t->id;
	out->name = t->name;
	out->state = t->state;
	out->runtime = t->runtime;
	out->thread = t->tid;
	out->entry = t->entry;
	out->since_ns = t->since_ns;
	/* The exception a failed task died of, the one print_stack() ends with. */
	out->exception_type = t->died_of_exception ? t->exception_type : NULL;
	out->exception_what = out->exception_type ? t->exception_what : NULL;
	out->nframes = live_task_limit(t, limit, &first);
	out->frames = t->frames ? t->frames + first : NULL;
	out->frames_are_entry = t->frames_are_entry;
}
