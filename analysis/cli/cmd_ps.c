/* SPDX-License-Identifier: MIT */
/* cmd_ps.c - costack ps PID: a running process's tasks, one line each, with where each one is. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costack.h"
#include "knowledge.h"
#include "live_cli.h"
#include "live_read.h"
#include "options.h"
#include "output.h"
#include "symbolize.h"

#define MAX_INLINE 16
#define NAME_WIDTH_MAX 24

static void print_ps_help(FILE *out)
{
	fputs("Usage: costack ps PID [--format text|json]\n"
	      "\n"
	      "List the tasks (coroutines) of the running process PID, one line each, read\n"
	      "from outside: PID must run under libcostack.so (costack run), and is\n"
	      "neither stopped nor signalled; nothing runs in it.\n"
	      "\n"
	      "Columns:\n"
	      "  ID        the task's id (never reused in PID)\n"
	      "  NAME      its name (costack_set_task_name), '-' if none\n"
	      "  STATE     created, running, suspended, done, failed or cancelled\n"
	      "  RUNTIME   thread (a thread's own stack), ucontext or fcontext\n"
	      "  THREAD    the thread (tid) that ran it last\n"
	      "  IN STATE  how long it has been in its state: 12us, 350ms, 1.2s, 3m12s,\n"
	      "            2h05m, 3d04h\n"
	      "  CPU       its time switched in, the current run included\n"
	      "  SWITCHES  how many times it was switched in\n"
	      "  ENTRY     its entry: the function its runtime started it in, or the user's\n"
	      "            function behind it (the one given to GNU Pth's pth_spawn; for a\n"
	      "            Boost.Fiber fiber, an Asio spawn handler, a Boost.Coroutine2 or\n"
	      "            Boost.Context body, a SimGrid actor: the outermost function of the\n"
	      "            program's own on its stack, once it ran); '-' for a thread\n"
	      "  WHERE     where it is: the innermost source-level frame (inlined functions\n"
	      "            included) of its get_stack() that is the program's own (see\n"
	      "            below), as function (file:line), else function (module+offset);\n"
	      "            a created task's entry function; a failed task's raise site,\n"
	      "            then \"raised TYPE\"; '-' for none (done, cancelled, a thread\n"
	      "            never switched out)\n"
	      "\n"
	      "The program's own frame: frames are looked at from the innermost out, and the\n"
	      "first one shown is the first that is none of a runtime's: in a runtime's\n"
	      "library (libc, ld.so, libstdc++, libgcc_s, libcostack, libboost_*, libpth,\n"
	      "libsimgrid), a runtime's function (std::*, boost::context::*,\n"
	      "boost::coroutines2::detail::*, boost::fibers::*, boost::this_fiber::*,\n"
	      "boost::asio::*, boost::coroutines::*, simgrid::*, xbt::*), or code of a\n"
	      "runtime's headers inlined into the program (.../include/c++/, boost/context/,\n"
	      "boost/coroutine2/, boost/coroutine/, boost/fiber/, boost/asio/,\n"
	      "include/simgrid/, include/xbt/); when every frame is such, the innermost.\n"
	      "\n"
	      "A thread that ran code on a stack costack knows of no task (a coroutine\n"
	      "switched to by code costack does not hook: SimGrid's raw contexts,\n"
	      "setjmp/longjmp, hand-written assembly) is said so on stderr: what runs there\n"
	      "is not listed.\n"
	      "\n"
	      "Order: running tasks, then suspended, then created ones, each the longest in\n"
	      "its state first; then ended ones (failed, cancelled, done), the most recently\n"
	      "ended first; ties by id.\n"
	      "\n"
	      "Options:\n"
	      "  --format FMT  text (the default) or json: an array of objects, one per\n"
	      "                task in the same order, with \"id\", \"name\" (null if none),\n"
	      "                \"state\", \"runtime\", \"thread\", \"parent\" (0: none), "
	      "\"since\"\n"
	      "                (\"<seconds>.<9 digits>\", CLOCK_REALTIME), \"in_state_ns\",\n"
	      "                \"cpu_ns\", \"switches\", \"entry\" and \"where\" (null, or a\n"
	      "                frame as in costack stacks' JSON), \"exception\" ({\"type\",\n"
	      "                \"what\"} of a failed task, else null) and \"untracked_stack\"\n"
	      "                (a thread that ran on a stack costack knows of no task).\n"
	      "  -h, --help    Show this help and exit.\n"
	      "\n" LIVE_CLI_HELP_PERMISSIONS "\n"
	      "Exit status:\n"
	      "  0  Success (tasks changing too fast to read, or failing validation, are\n"
	      "     left out with a warning on stderr).\n"
	      "  2  Usage error.\n"
	      "  3  No such process, permission denied, PID not running under\n"
	      "     libcostack.so, or an unreadable registry.\n"
	      "\n"
	      "Example:\n"
	      "  $ costack ps 4242\n"
	      "  ID  NAME    STATE      RUNTIME   THREAD  IN STATE  CPU    SWITCHES  ENTRY   "
	      "WHERE\n"
	      "  1   -       running    thread    4242    2.1s      2.1s   1         -       -\n"
	      "  4   reader  suspended  ucontext  4242    1.9s      12us   3         reader  "
	      "read_line (server.c:88)\n"
	      "  5   -       created    ucontext  4242    1.9s      0us    0         worker  "
	      "worker (server.c:20)\n",
	      out);
}

/* --- where ------------------------------------------------------------------- */

/* Where t is (the rule in the help) into *where; false when t has no
 * frames. */
static bool task_where(struct symbolizer *sym, const struct live_task *t, struct sym_frame *where,
                       uint64_t *address)
{
	struct sym_frame f[MAX_INLINE];
	bool have_innermost = false;

	/* Innermost first: frames are oldest first, and so are the
	 * source-level frames at one address (inlined ones after). */
	for (uint32_t i = t->nframes; i-- > 0;) {
		int n = sym ? symbolizer_lookup(sym, t->frames[i], !t->frames_are_entry, f,
		                                MAX_INLINE)
		            : 0;
		int own;

		if (n <= 0) {
			memset(f, 0, sizeof(*f));
			f->offset = t->frames[i];
			n = 1;
		}
		if (!have_innermost) {
			*where = f[n - 1];
			*address = t->frames[i];
			have_innermost = true;
		}
		own = program_frame_innermost(f, n);
		if (own >= 0) {
			*where = f[own];
			*address = t->frames[i];
			return true;
		}
	}
	return have_innermost;
}

/* t's entry (the rule in the help) into *entry; false for none (a thread's root task). */
static bool task_entry(struct symbolizer *sym, const struct live_task *t, struct sym_frame *entry)
{
	struct sym_frame f[MAX_INLINE];
	int n = sym && t->entry ? symbolizer_lookup(sym, t->entry, false, f, MAX_INLINE) : 0;
	int own;

	if (!t->entry)
		return false;
	if (n <= 0) {
		memset(entry, 0, sizeof(*entry));
		entry->offset = t->entry;
		return true;
	}
	own = program_frame_outermost(f, n);
	*entry = f[own < 0 ? 0 : own];
	return true;
}

static void text_where(FILE *out, const struct sym_frame *f, uint64_t address)
{
	if (f->function)
		text_string(out, f->function);
	else
		fprintf(out, "%#" PRIx64, address);
	if (f->file && f->line > 0) {
		const char *base = strrchr(f->file, '/');

		fputs(" (", out);
		text_string(out, base ? base + 1 : f->file);
		fprintf(out, ":%d)", f->line);
	} else if (f->module) {
		const char *base = strrchr(f->module, '/');

		fputs(" (", out);
		text_string(out, base ? base + 1 : f->module);
		fprintf(out, "+%#" PRIx64 ")", f->offset);
	}
}

/* --- order ------------------------------------------------------------------- */

static int state_rank(int state)
{
	static const int rank[] = {
	        [COSTACK_RUNNING] = 0, [COSTACK_SUSPENDED] = 1, [COSTACK_CREATED] = 2,
	        [COSTACK_FAILED] = 3,  [COSTACK_CANCELLED] = 4, [COSTACK_DONE] = 5,
	};

	return state >= 0 && state < (int)(sizeof(rank) / sizeof(*rank)) ? rank[state] : 6;
}

static int compare_ps(const void *a, const void *b)
{
	const struct live_task *x = *(const struct live_task *const *)a;
	const struct live_task *y = *(const struct live_task *const *)b;
	int rx = state_rank(x->state), ry = state_rank(y->state);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->in_state_ns != y->in_state_ns) {
		/* Unfinished: the longest waiting first. Ended: the latest first. */
		bool longest_first = rx <= state_rank(COSTACK_CREATED);

		return (x->in_state_ns > y->in_state_ns) == longest_first ? -1 : 1;
	}
	return x->id < y->id ? -1 : x->id > y->id;
}

/* --- writers ----------------------------------------------------------------- */

struct row {
	const struct live_task *t;
	bool has_where, has_entry;
	struct sym_frame where, entry;
	uint64_t address;
};

#define ENTRY_WIDTH_MAX 32

/* The ENTRY column: its function, else its address. */
static int text_entry(FILE *out, const struct row *row, int width)
{
	char buf[32];

	if (!row->has_entry) {
		putc('-', out);
		return 1;
	}
	if (row->entry.function)
		return text_string_cut(out, row->entry.function, width);
	snprintf(buf, sizeof(buf), "%#" PRIx64, row->t->entry);
	fputs(buf, out);
	return (int)strlen(buf);
}

static int entry_width(const struct row *row)
{
	char buf[32];
	int len;

	if (!row->has_entry)
		return 1;
	if (!row->entry.function)
		return snprintf(buf, sizeof(buf), "%#" PRIx64, row->t->entry);
	len = text_width(row->entry.function);
	return len > ENTRY_WIDTH_MAX ? ENTRY_WIDTH_MAX : len;
}

static void write_text(FILE *out, const struct row *rows, size_t n)
{
	char buf[32], dur[16], cpu[16];
	int w_id = 2, w_name = 4, w_state = 5, w_runtime = 7, w_thread = 6, w_in = 8, w_cpu = 3,
	    w_switches = 8, w_entry = 5;

	for (size_t i = 0; i < n; i++) {
		const struct live_task *t = rows[i].t;
		int len;

#define WIDEN(w, len) ((w) = (len) > (w) ? (len) : (w))
		WIDEN(w_id, snprintf(buf, sizeof(buf), "%" PRIu64, t->id));
		len = t->name[0] ? text_width(t->name) : 1;
		WIDEN(w_name, len > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : len);
		WIDEN(w_state, (int)strlen(live_state_name(t->state)));
		WIDEN(w_runtime, (int)strlen(live_runtime_name(t->runtime)));
		WIDEN(w_thread, snprintf(buf, sizeof(buf), "%" PRId32, t->tid));
		WIDEN(w_in, (int)strlen(format_duration(t->in_state_ns, dur, sizeof(dur))));
		WIDEN(w_cpu, (int)strlen(format_duration(t->cpu_ns, cpu, sizeof(cpu))));
		WIDEN(w_switches, snprintf(buf, sizeof(buf), "%" PRIu64, t->switches));
		WIDEN(w_entry, entry_width(&rows[i]));
#undef WIDEN
	}
	fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  WHERE\n", w_id, "ID",
	        w_name, "NAME", w_state, "STATE", w_runtime, "RUNTIME", w_thread, "THREAD", w_in,
	        "IN STATE", w_cpu, "CPU", w_switches, "SWITCHES", w_entry, "ENTRY");
	for (size_t i = 0; i < n; i++) {
		const struct live_task *t = rows[i].t;
		int pad;

		fprintf(out, "%-*" PRIu64 "  ", w_id, t->id);
		if (!t->name[0]) {
			pad = w_name - 1;
			putc('-', out);
		} else {
			pad = w_name - text_string_cut(out, t->name, NAME_WIDTH_MAX);
		}
		fprintf(out, "%*s  %-*s  %-*s  %-*" PRId32 "  %-*s  %-*s  %-*" PRIu64 "  ",
		        pad > 0 ? pad : 0, "", w_state, live_state_name(t->state), w_runtime,
		        live_runtime_name(t->runtime), w_thread, t->tid, w_in,
		        format_duration(t->in_state_ns, dur, sizeof(dur)), w_cpu,
		        format_duration(t->cpu_ns, cpu, sizeof(cpu)), w_switches, t->switches);
		pad = w_entry - text_entry(out, &rows[i], ENTRY_WIDTH_MAX);
		fprintf(out, "%*s  ", pad > 0 ? pad : 0, "");
		if (rows[i].has_where)
			text_where(out, &rows[i].where, rows[i].address);
		else
			putc('-', out);
		if (t->died_of_exception) {
			fputs(" raised ", out);
			text_string(out, t->exception_type[0] ? t->exception_type : "exception");
		}
		putc('\n', out);
	}
}

static void write_json(FILE *out, const struct row *rows, size_t n)
{
	char since[32];

	putc('[', out);
	for (size_t i = 0; i < n; i++) {
		const struct live_task *t = rows[i].t;

		fprintf(out, "%s{\"id\":%" PRIu64 ",\"name\":", i ? ",\n" : "\n", t->id);
		json_string(out, t->name[0] ? t->name : NULL);
		fputs(",\"state\":", out);
		json_string(out, live_state_name(t->state));
		fputs(",\"runtime\":", out);
		json_string(out, live_runtime_name(t->runtime));
		fprintf(out,
		        ",\"thread\":%" PRId32 ",\"parent\":%" PRIu64 ",\"since\":\"%s\""
		        ",\"in_state_ns\":%" PRIu64 ",\"cpu_ns\":%" PRIu64 ",\"switches\":%" PRIu64
		        ",\"where\":",
		        t->tid, t->parent, format_timestamp(t->since_ns, since, sizeof(since)),
		        t->in_state_ns, t->cpu_ns, t->switches);
		if (rows[i].has_where)
			stacks_write_json_frame(out, &rows[i].where, &rows[i].address);
		else
			fputs("null", out);
		fputs(",\"entry\":", out);
		if (rows[i].has_entry)
			stacks_write_json_frame(out, &rows[i].entry, &t->entry);
		else
			fputs("null", out);
		fputs(",\"exception\":", out);
		if (t->died_of_exception) {
			fputs("{\"type\":", out);
			json_string(out, t->exception_type);
			fputs(",\"what\":", out);
			json_string(out, t->exception_what);
			putc('}', out);
		} else {
			fputs("null", out);
		}
		fprintf(out, ",\"untracked_stack\":%s}", t->untracked_stack ? "true" : "false");
	}
	fputs(n ? "\n]\n" : "]\n", out);
}

static int ps_option(void *ctx, int option, const char *value)
{
	(void)option; /* --format only */
	return cli_format("ps", value, ctx);
}

int command_ps(int argc, char **argv)
{
	static const struct cli_option options[] = {{"format", 0, true}, {NULL, 0, false}};
	static const struct cli_verb verb = {"ps", options, print_ps_help, "PID", false, false};
	struct live_snapshot snap = {0};
	struct symbolizer *sym = NULL;
	const struct live_task **order = NULL;
	struct row *rows = NULL;
	bool json = false;
	pid_t pid;
	int operand, status;

	status = cli_parse(&verb, argc, argv, ps_option, &json, &operand);
	if (status != CLI_GO_ON)
		return status;
	if (!live_cli_parse_pid(argv[operand], &pid))
		return cli_usage("ps", "", argv[operand], " is not a PID");

	status = live_cli_read("ps", pid, &snap);
	if (status != COSTACK_EXIT_OK)
		goto end;
	order = calloc(snap.ntasks ? snap.ntasks : 1, sizeof(*order));
	rows = calloc(snap.ntasks ? snap.ntasks : 1, sizeof(*rows));
	if (!order || !rows) {
		fputs("costack ps: out of memory\n", stderr);
		status = COSTACK_EXIT_INPUT;
		goto end;
	}
	for (size_t i = 0; i < snap.ntasks; i++)
		order[i] = &snap.tasks[i];
	qsort(order, snap.ntasks, sizeof(*order), compare_ps);
	sym = symbolizer_new_pid(pid);
	for (size_t i = 0; i < snap.ntasks; i++) {
		rows[i].t = order[i];
		rows[i].has_where = task_where(sym, order[i], &rows[i].where, &rows[i].address);
		rows[i].has_entry = task_entry(sym, order[i], &rows[i].entry);
		if (order[i]->untracked_stack)
			fprintf(stderr,
			        "costack ps: thread %" PRId32 " of process %d ran code on a stack "
			        "costack knows of no task: coroutines that code it does not hook "
			        "switches to (SimGrid's raw contexts, setjmp/longjmp, assembly) "
			        "are "
			        "not tracked there\n",
			        order[i]->tid, (int)pid);
	}
	(json ? write_json : write_text)(stdout, rows, snap.ntasks);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "costack ps: cannot write the output: %s\n", strerror(errno));
		status = COSTACK_EXIT_INPUT;
	}
end:
	symbolizer_destroy(sym);
	free(rows);
	free(order);
	live_snapshot_free(&snap);
	return status;
}
