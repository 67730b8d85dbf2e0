/* SPDX-License-Identifier: MIT */
/* offline_stacks.c - `costack stacks TRACE`'s output: every task's get_stack() at a time. */
#include "offline_stacks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "offline_sym.h"
#include "stacks_out.h"

static int compare_task(const void *a, const void *b)
{
	uint64_t x = (*(struct tm_task *const *)a)->id, y = (*(struct tm_task *const *)b)->id;

	return x < y ? -1 : x > y;
}

static bool wanted_pid(const struct offline_stacks_options *o, int32_t pid)
{
	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return true;
	return !o->npids;
}

static bool wanted_task(const struct offline_stacks_options *o, uint64_t id)
{
	for (size_t i = 0; i < o->ntask_ids; i++)
		if (o->task_ids[i] == id)
			return true;
	return !o->ntask_ids;
}

/* t as the writers show it; its frames in a buffer of its own (*frames, to free). */
static void task_out(const struct tm_model *m, const struct tm_task *t, int limit,
                     struct stacks_task *out, uint64_t *frames)
{
	struct tm_view v;

	tm_task_view(m, t, &v);
	memset(out, 0, sizeof(*out));
	out->pid = t->process->pid;
	out->procname = t->process->procname;
	out->id = t->id;
	out->name = t->name;
	out->state = v.state;
	out->runtime = t->runtime;
	out->thread = t->tid;
	out->entry = t->entry;
	out->since_ns = t->since_ns;
	if (v.state == COSTACK_FAILED && v.fatal) {
		out->exception_type = v.fatal->type ? v.fatal->type : "";
		out->exception_what = v.fatal->what ? v.fatal->what : "";
	}
	out->nframes = v.n ? tm_view_frames(&v, limit, frames) : 0;
	out->frames = frames;
	out->frames_are_entry = v.source == TASK_FRAMES_ENTRY;
	out->frames_ns = v.frames_ns;
}

enum offline_stacks_status offline_stacks_write(FILE *out, struct tm_model *m, uint64_t at_ns,
                                                const struct offline_stacks_options *o,
                                                char *message, size_t size)
{
	enum offline_stacks_status status = OFFLINE_STACKS_MEMORY;
	struct tm_process **procs = NULL;
	struct stacks_task *tasks = NULL;
	uint64_t **frames = NULL;
	struct stacks_report report = {.at_ns = at_ns, .group = o->group};
	struct offline_sym sym = {0};
	size_t ntasks = 0, nshown = 0, nprocs_shown = 0;

	for (size_t i = 0; i < m->nprocs; i++)
		ntasks += m->procs[i]->ntasks;
	procs = malloc((m->nprocs ? m->nprocs : 1) * sizeof(*procs));
	tasks = calloc(ntasks ? ntasks : 1, sizeof(*tasks));
	frames = calloc(ntasks ? ntasks : 1, sizeof(*frames));
	if (!procs || !tasks || !frames)
		goto end;
	if (m->nprocs)
		memcpy(procs, m->procs, m->nprocs * sizeof(*procs));
	/* qsort's arrays may not be NULL, even empty. */
	if (m->nprocs > 1)
		qsort(procs, m->nprocs, sizeof(*procs), tm_process_order);
	for (size_t i = 0; i < m->nprocs; i++) {
		struct tm_process *p = procs[i];
		size_t before = nshown;

		if (!wanted_pid(o, p->pid))
			continue;
		if (p->ntasks > 1)
			qsort(p->tasks, p->ntasks, sizeof(*p->tasks), compare_task);
		for (size_t j = 0; j < p->ntasks; j++) {
			const struct tm_task *t = p->tasks[j];
			struct tm_view v;

			if (!wanted_task(o, t->id))
				continue;
			tm_task_view(m, t, &v);
			frames[nshown] = malloc((v.n ? v.n : 1) * sizeof(uint64_t));
			if (!frames[nshown])
				goto end;
			task_out(m, t, o->limit, &tasks[nshown], frames[nshown]);
			nshown++;
		}
		nprocs_shown += nshown > before;
	}
	/* Every --task and --pid asked for must be there. */
	for (size_t i = 0; i < o->npids; i++) {
		bool found = false;

		for (size_t j = 0; j < m->nprocs && !found; j++)
			found = m->procs[j]->pid == o->pids[i];
		if (!found) {
			snprintf(message, size,
			         "the trace has no process %" PRId32 " (at that time)", o->pids[i]);
			status = OFFLINE_STACKS_NO_TASK;
			goto end;
		}
	}
	for (size_t i = 0; i < o->ntask_ids; i++) {
		bool found = false;

		for (size_t j = 0; j < nshown && !found; j++)
			found = tasks[j].id == o->task_ids[i];
		if (!found) {
			snprintf(message, size,
			         "the trace has no task %" PRIu64 "%s at that time (task ids are "
			         "per process; `costack stacks TRACE` lists them)",
			         o->task_ids[i], o->npids ? " in the processes asked for" : "");
			status = OFFLINE_STACKS_NO_TASK;
			goto end;
		}
	}
	if (offline_sym_init(&sym, m))
		goto end;
	report.tasks = tasks;
	report.ntasks = nshown;
	report.by_process = nprocs_shown > 1;
	report.symbolize = offline_symbolize;
	report.ctx = &sym;
	report.recording = true;
	report.lost_events = m->lost_events;
	report.lost_packets = m->lost_packets;
	report.lost_gaps = m->ngaps;
	status = (o->json ? stacks_write_json : stacks_write_text)(out, &report)
	                 ? OFFLINE_STACKS_WRITE
	                 : OFFLINE_STACKS_OK;
end:
	offline_sym_free(&sym);
	for (size_t i = 0; frames && i < nshown; i++)
		free(frames[i]);
	free(frames);
	free(tasks);
	free(procs);
	return status;
}
