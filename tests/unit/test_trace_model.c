/* SPDX-License-Identifier: MIT */
/* test_trace_model.c - the recorded trace's state machine, fed events by hand: get_stack's rules,
 * lost events, TIME arguments. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "costack.h"
#include "trace_model.h"
#include "trace_read.h"

#define PID 100
#define TID 100

static struct tm_model m;
static struct tm_process *p;

static void reset(void)
{
	tm_model_free(&m);
	tm_model_init(&m);
	p = tm_process_of(&m, PID, TID, "prog");
}

static struct tm_task *task(uint64_t id)
{
	return hmap_get(&m.tasks, p->serial, id);
}

/* get_stack(id, limit), oldest first, into out; its state. */
static int view(uint64_t id, int limit, uint64_t *out, uint32_t *n)
{
	struct tm_view v;

	tm_task_view(&m, task(id), &v);
	*n = v.n ? tm_view_frames(&v, limit, out) : 0;
	return v.state;
}

/* The intervals the model told its listener (test_intervals). */
#define INTERVALS_MAX 16
static struct tm_interval told[INTERVALS_MAX];
static unsigned ntold;

static void on_interval(void *ctx, const struct tm_model *model, const struct tm_interval *iv)
{
	(void)ctx;
	(void)model;
	if (ntold < INTERVALS_MAX)
		told[ntold] = *iv;
	ntold++;
}

static const uint64_t stack_a[] = {0xa3, 0xa2, 0xa1}; /* innermost first */
static const uint64_t stack_b[] = {0xb2, 0xb1};

static void test_get_stack_rules(void)
{
	uint64_t f[8];
	uint32_t n;

	reset();
	tm_on_task_create(&m, p, 10, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	tm_on_task_create(&m, p, 11, TID, 2, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	/* created: the entry alone */
	CHECK_EQ(view(2, 0, f, &n), COSTACK_CREATED);
	CHECK(n == 1 && f[0] == 0xe && task(2)->created_seen, "n = %u", n);
	/* a root task never suspended, running: its entry, none here */
	CHECK_EQ(view(1, 0, f, &n), COSTACK_RUNNING);
	CHECK_EQ(n, 0);
	/* switch 1 -> 2: 1 suspended at stack_a, 2 running with no suspension yet */
	tm_on_stack(&m, p, 0x1000, stack_a, 3);
	tm_on_switch(&m, p, 20, TID, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(1, 0, f, &n), COSTACK_SUSPENDED);
	CHECK(n == 3 && f[0] == 0xa1 && f[2] == 0xa3, "oldest first: %u %lx", n, (long)f[0]);
	CHECK_EQ(view(1, 2, f, &n), COSTACK_SUSPENDED);
	CHECK(n == 2 && f[0] == 0xa2 && f[1] == 0xa3, "a stack keeps its newest: %lx", (long)f[0]);
	CHECK_EQ(view(2, 0, f, &n), COSTACK_RUNNING);
	CHECK(n == 1 && f[0] == 0xe, "running, never suspended: resumed at its entry: %u", n);
	CHECK_EQ(task(2)->switches, 1);
	/* 2 suspends at stack_b, 1 resumes: 1 running shows where it was suspended */
	tm_on_stack(&m, p, 0x2000, stack_b, 2);
	tm_on_switch(&m, p, 30, TID, 2, 1, COSTACK_SUSPENDED, 0x2000, false);
	CHECK_EQ(view(1, 0, f, &n), COSTACK_RUNNING);
	CHECK(n == 3 && f[0] == 0xa1, "running: last resumed at: %u", n);
	/* 2 raises twice, keeps the first, ends failed: the first's traceback */
	tm_on_switch(&m, p, 40, TID, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	tm_on_raise(&m, p, 41, TID, 2, 1, 2, false, 0x1000, false, "E", "first");
	tm_on_raise(&m, p, 42, TID, 2, 2, 2, false, 0x2000, false, "E", "second");
	tm_on_task_end(&m, p, 43, 2, COSTACK_FAILED, 1);
	CHECK_EQ(view(2, 0, f, &n), COSTACK_FAILED);
	CHECK(n == 3 && f[0] == 0xa1, "the kept raise's stack: %u", n);
	CHECK_EQ(view(2, 1, f, &n), COSTACK_FAILED);
	CHECK(n == 1 && f[0] == 0xa1, "a traceback keeps its oldest: %lx", (long)f[0]);
	CHECK_STR_EQ(task(2)->raises->fatal.what, "first");
	/* kept_raise 0: the newest raise (api.c's rule) */
	tm_on_task_create(&m, p, 50, TID, 3, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	tm_on_raise(&m, p, 51, TID, 3, 1, 3, false, 0x1000, false, "E", "a");
	tm_on_raise(&m, p, 52, TID, 3, 2, 3, false, 0x2000, false, "E", "b");
	tm_on_task_end(&m, p, 53, 3, COSTACK_FAILED, 0);
	CHECK_EQ(view(3, 0, f, &n), COSTACK_FAILED);
	CHECK(n == 2 && f[0] == 0xb1, "the newest raise: %u", n);
	/* done and cancelled: nothing */
	tm_on_task_create(&m, p, 60, TID, 4, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	tm_on_task_end(&m, p, 61, 4, COSTACK_CANCELLED, 0);
	CHECK_EQ(view(4, 0, f, &n), COSTACK_CANCELLED);
	CHECK_EQ(n, 0);
	/* a switch naming an ended task as next changes nothing of it */
	tm_on_switch(&m, p, 62, TID, 1, 4, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(4, 0, f, &n), COSTACK_CANCELLED);
	/* a raise whose number wrapped 2^32: kept_raise is mod 2^32 */
	tm_on_task_create(&m, p, 70, TID, 5, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	tm_on_raise(&m, p, 71, TID, 5, (1ull << 32) + 7, 5, false, 0x2000, false, "E", "w");
	tm_on_task_end(&m, p, 72, 5, COSTACK_FAILED, 7);
	CHECK_EQ(view(5, 0, f, &n), COSTACK_FAILED);
	CHECK_EQ(n, 2);
}

static void test_unknown(void)
{
	uint64_t f[8];
	uint32_t n;

	reset();
	tm_on_task_create(&m, p, 10, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	for (uint64_t id = 2; id <= 5; id++)
		tm_on_task_create(&m, p, 10, TID, id, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED,
		                  0xe, 0, 0);
	tm_on_stack(&m, p, 0x1000, stack_a, 3);
	tm_on_switch(&m, p, 20, TID, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	tm_on_switch(&m, p, 21, TID, 2, 1, COSTACK_SUSPENDED, 0x1000, false);
	tm_on_task_end(&m, p, 22, 5, COSTACK_DONE, 0);
	/* a stack never defined: unknown, never empty */
	tm_on_switch(&m, p, 23, TID, 1, 3, COSTACK_SUSPENDED, 0x9999, false);
	CHECK_EQ(view(1, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK_EQ(m.undefined_stack_refs, 1);
	tm_on_switch(&m, p, 24, TID, 3, 1, COSTACK_SUSPENDED, 0x1000, false);
	/* 1 resumed: known again? No: it shows where it was suspended, which is unknown */
	CHECK_EQ(view(1, 0, f, &n), TM_STATE_UNKNOWN);
	tm_on_switch(&m, p, 25, TID, 1, 3, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(1, 0, f, &n), COSTACK_SUSPENDED);

	/* A gap from 30 to 40: every task not ended is unknown, ended ones stay. */
	tm_on_lost(&m, 30, 40, 17, false, "chan_0");
	for (uint64_t id = 1; id <= 4; id++)
		CHECK(view(id, 0, f, &n) == TM_STATE_UNKNOWN, "task %d after the gap", (int)id);
	CHECK_EQ(view(5, 0, f, &n), COSTACK_DONE);
	CHECK_EQ(m.lost_events, 17);
	/* an event inside the gap's span determines nothing */
	tm_on_switch(&m, p, 35, TID, 3, 1, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(3, 0, f, &n), TM_STATE_UNKNOWN);
	/* a switch away after it does: suspended, with its stack */
	tm_on_switch(&m, p, 45, TID, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(1, 0, f, &n), COSTACK_SUSPENDED);
	CHECK_EQ(n, 3);
	/* a switch to a task unknown before leaves it unknown */
	CHECK_EQ(view(2, 0, f, &n), TM_STATE_UNKNOWN);
	/* a switch to a task known before shows its known suspension */
	tm_on_switch(&m, p, 46, TID, 2, 1, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(1, 0, f, &n), COSTACK_RUNNING);
	CHECK_EQ(n, 3);
	CHECK_EQ(view(2, 0, f, &n), COSTACK_SUSPENDED);
	/* a task whose task_end was lost: the next switch away from it says it ended */
	tm_on_switch(&m, p, 47, TID, 1, 4, COSTACK_SUSPENDED, 0x1000, false);
	tm_on_switch(&m, p, 48, TID, 4, 1, COSTACK_DONE, 0, false);
	CHECK_EQ(view(4, 0, f, &n), COSTACK_DONE);
	/* ... failed: ended, but its traceback is not known */
	tm_on_switch(&m, p, 49, TID, 1, 3, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(3, 0, f, &n), TM_STATE_UNKNOWN);
	tm_on_switch(&m, p, 50, TID, 3, 1, COSTACK_FAILED, 0, false);
	CHECK_EQ(view(3, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK(tm_task_ended(task(3)), "3 ended: %d", task(3)->state);
	/* a task_create inside a later gap's span is unknown; after it, known */
	tm_on_lost(&m, 60, 70, 0, true, NULL);
	tm_on_task_create(&m, p, 65, TID, 6, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	CHECK_EQ(view(6, 0, f, &n), TM_STATE_UNKNOWN);
	tm_on_task_create(&m, p, 71, TID, 7, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	CHECK_EQ(view(7, 0, f, &n), COSTACK_CREATED);
	CHECK_EQ(m.lost_packets, 0);
	CHECK_EQ(m.ngaps, 2);
	/* a failed task whose kept raise was lost: unknown */
	tm_on_task_end(&m, p, 72, 7, COSTACK_FAILED, 3);
	CHECK_EQ(view(7, 0, f, &n), TM_STATE_UNKNOWN);
}

static void test_first_named_later(void)
{
	uint64_t f[8];
	uint32_t n;

	reset();
	tm_on_stack(&m, p, 0x1000, stack_a, 3);
	/* The recording started after 8 and 9 were made. */
	tm_on_switch(&m, p, 10, TID, 8, 9, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(view(8, 0, f, &n), COSTACK_SUSPENDED);
	CHECK_EQ(view(9, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK_EQ(task(9)->runtime, -1);
	/* The same pid makes task 1 twice: an exec, another process. */
	tm_on_task_create(&m, p, 20, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	tm_on_task_create(&m, p, 30, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	CHECK_EQ(m.nprocs, 2);
	CHECK(tm_process_of(&m, PID, TID, NULL) != p, "the newer process for the pid");
}

/* Values of the trace's enumerations costack does not know (a corrupt trace, a newer costack's):
 * unknown, never an index into a table. */
static void test_unknown_values(void)
{
	uint64_t f[8];
	uint32_t n;

	reset();
	tm_on_task_create(&m, p, 10, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	tm_on_task_create(&m, p, 11, TID, 2, 1, 9, COSTACK_CREATED, 0xe, 0, 0);
	CHECK_EQ(task(2)->runtime, -1);
	CHECK_EQ(view(2, 0, f, &n), COSTACK_CREATED);
	tm_on_task_create(&m, p, 12, TID, 3, 1, COSTACK_RUNTIME_UCONTEXT, 77, 0xe, 0, 0);
	CHECK_EQ(view(3, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK_EQ(task(3)->state, TM_STATE_UNKNOWN);
	/* a task_end of outcome 50: ended, how is unknown; nothing after changes it */
	tm_on_task_create(&m, p, 13, TID, 4, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	tm_on_task_end(&m, p, 14, 4, 50, 0);
	CHECK_EQ(view(4, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK(tm_task_ended(task(4)) && task(4)->ended_ns == 14, "ended: %d", task(4)->state);
	tm_on_switch(&m, p, 15, TID, 1, 4, COSTACK_SUSPENDED, 0, false);
	CHECK_EQ(view(4, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK_EQ(task(4)->state, TM_STATE_UNKNOWN);
	tm_on_task_end(&m, p, 16, 4, COSTACK_DONE, 0);
	CHECK_EQ(task(4)->state, TM_STATE_UNKNOWN);
	/* a switch away in a state costack does not know: unknown, and the next runs */
	tm_on_task_create(&m, p, 17, TID, 5, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	tm_on_switch(&m, p, 18, TID, 1, 5, 200, 0, false);
	CHECK_EQ(view(1, 0, f, &n), TM_STATE_UNKNOWN);
	CHECK_EQ(view(5, 0, f, &n), COSTACK_RUNNING);
	CHECK(!tm_task_ended(task(1)), "unknown is not ended");
	/* 64-bit values are not cut to an int that would land in the enumeration */
	tm_on_task_end(&m, p, 19, 5, (1ull << 32) | COSTACK_DONE, 0);
	CHECK_EQ(view(5, 0, f, &n), TM_STATE_UNKNOWN);
}

/* A runtime tells a task's entry after making it: the user's function from then on. */
static void test_entry_told(void)
{
	uint64_t f[4];
	uint32_t n;

	reset();
	tm_on_task_create(&m, p, 10, TID, 2, 1, COSTACK_RUNTIME_FCONTEXT, COSTACK_CREATED, 0x500,
	                  0x1000, 0x2000);
	CHECK_EQ(view(2, 0, f, &n), COSTACK_CREATED);
	CHECK(n == 1 && f[0] == 0x500, "created: its runtime's entry");
	tm_on_task_entry(&m, p, 20, 2, 0x600);
	CHECK_EQ(task(2)->entry, 0x600);
	CHECK_EQ(view(2, 0, f, &n), COSTACK_CREATED);
	CHECK(n == 1 && f[0] == 0x600, "created: the entry told since");
}

/* Each interval a task ran or waited, told once as it closes, with where it waited or was
 * resumed from; one a gap came in is unknown; the open ones at the end. */
static void test_intervals(void)
{
	struct tm_listener l = {.interval = on_interval};

	reset();
	ntold = 0;
	CHECK_EQ(tm_model_listen(&m, &l), 0);
	tm_on_time(&m, 10);
	tm_on_task_create(&m, p, 10, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	tm_on_task_create(&m, p, 11, TID, 2, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	CHECK_EQ(ntold, 0); /* created is no interval */
	tm_on_stack(&m, p, 0x1000, stack_a, 3);
	tm_on_switch(&m, p, 20, TID, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(ntold, 1);
	CHECK(told[0].task == task(1) && told[0].state == COSTACK_RUNNING &&
	              told[0].begin_ns == 10 && told[0].end_ns == 20 && !told[0].stack &&
	              !told[0].unknown && !told[0].open && told[0].tid == TID,
	      "1 ran 10..20 from its start: state %d %llu..%llu", told[0].state,
	      (unsigned long long)told[0].begin_ns, (unsigned long long)told[0].end_ns);
	tm_on_stack(&m, p, 0x2000, stack_b, 2);
	tm_on_switch(&m, p, 35, TID, 2, 1, COSTACK_SUSPENDED, 0x2000, false);
	CHECK_EQ(ntold, 3);
	CHECK(told[1].task == task(2) && told[1].state == COSTACK_RUNNING &&
	              told[1].begin_ns == 20 && told[1].end_ns == 35 && !told[1].stack,
	      "2 ran 20..35 from its entry");
	CHECK(told[2].task == task(1) && told[2].state == COSTACK_SUSPENDED &&
	              told[2].end_ns - told[2].begin_ns == 15 && told[2].stack &&
	              told[2].stack->frames[0] == 0xa3,
	      "1 waited 15 at stack_a");
	/* a gap while 1 runs: that run is unknown, and so is 2's wait that the gap fell in */
	tm_on_lost(&m, 36, 37, 5, false, NULL);
	tm_on_switch(&m, p, 40, TID, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	CHECK_EQ(ntold, 5);
	CHECK(told[3].task == task(1) && told[3].state == COSTACK_RUNNING && told[3].unknown &&
	              told[3].stack && told[3].stack->frames[0] == 0xa3,
	      "1's run, resumed from stack_a, cut by the gap: unknown %d", told[3].unknown);
	CHECK(told[4].task == task(2) && told[4].state == COSTACK_SUSPENDED && told[4].unknown,
	      "2's wait cut by the gap: unknown %d", told[4].unknown);
	/* the end, both open: 1 suspended (known again by its switch away), 2 running (where
	 * it was resumed from is not known: the gap may hold its suspension elsewhere) */
	tm_on_time(&m, 50);
	tm_model_tell_open(&m);
	CHECK_EQ(ntold, 7);
	CHECK(told[5].task == task(1) && told[5].state == COSTACK_SUSPENDED && told[5].open &&
	              told[5].end_ns == 50 && !told[5].unknown,
	      "1 open, suspended, known");
	CHECK(told[6].task == task(2) && told[6].state == COSTACK_RUNNING && told[6].open &&
	              told[6].begin_ns == 40 && told[6].end_ns == 50 && told[6].unknown,
	      "2 open, running, resumed from what the gap may have changed");
	tm_model_free(&m);
	tm_model_init(&m);
	p = tm_process_of(&m, PID, TID, "prog");
}

/* What a timeline is told besides intervals: switches (who resumed whom, on which thread),
 * raises, ends with their fate (also one a switch tells when the task_end was lost), gaps. */
static struct {
	unsigned switches, raises, ends, gaps;
	const struct tm_task *prev, *next;
	int32_t tid;
	uint64_t ts;
	const char *type;
	int fate[4];
	uint64_t gap_count;
} heard;

static void on_switched(void *ctx, const struct tm_model *model, uint64_t ts, int32_t tid,
                        const struct tm_task *prev, const struct tm_task *next)
{
	(void)ctx;
	(void)model;
	heard.switches++;
	heard.prev = prev;
	heard.next = next;
	heard.tid = tid;
	heard.ts = ts;
}

static void on_raised(void *ctx, const struct tm_model *model, const struct tm_task *t,
                      const struct tm_raise *r)
{
	(void)ctx;
	(void)model;
	(void)t;
	heard.raises++;
	heard.type = r->type;
}

static void on_ended(void *ctx, const struct tm_model *model, const struct tm_task *t)
{
	(void)ctx;
	(void)model;
	if (heard.ends < 4)
		heard.fate[heard.ends] = t->state;
	heard.ends++;
}

static void on_lost(void *ctx, const struct tm_model *model, const struct tm_gap *g)
{
	(void)ctx;
	(void)model;
	heard.gaps++;
	heard.gap_count = g->count;
}

static void test_listener_events(void)
{
	struct tm_listener l = {
	        .switched = on_switched, .raised = on_raised, .ended = on_ended, .lost = on_lost};

	reset();
	memset(&heard, 0, sizeof(heard));
	CHECK_EQ(tm_model_listen(&m, &l), 0); /* no interval callback: none is called */
	tm_on_task_create(&m, p, 10, TID, 1, 0, COSTACK_RUNTIME_THREAD, COSTACK_RUNNING, 0, 0, 0);
	tm_on_task_create(&m, p, 11, TID, 2, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xe, 0,
	                  0);
	tm_on_task_create(&m, p, 12, TID, 3, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xf, 0,
	                  0);
	tm_on_stack(&m, p, 0x1000, stack_a, 3);
	tm_on_switch(&m, p, 20, TID + 1, 1, 2, COSTACK_SUSPENDED, 0x1000, false);
	CHECK(heard.switches == 1 && heard.prev == task(1) && heard.next == task(2) &&
	              heard.tid == TID + 1 && heard.ts == 20 &&
	              heard.next->state == COSTACK_RUNNING,
	      "switch 1 -> 2 on its thread, told after: %u", heard.switches);
	tm_on_raise(&m, p, 25, TID, 2, 1, 2, false, 0x1000, false, "std::runtime_error", "boom");
	CHECK(heard.raises == 1 && heard.type && !strcmp(heard.type, "std::runtime_error"),
	      "raise told with its type");
	tm_on_task_end(&m, p, 30, 2, COSTACK_FAILED, 1);
	CHECK(heard.ends == 1 && heard.fate[0] == COSTACK_FAILED, "end told, failed: %d",
	      heard.fate[0]);
	tm_on_resume(&m, p, 31, TID, 1);
	CHECK(heard.switches == 2 && !heard.prev && heard.next == task(1), "a resume: no prev");
	/* 3's task_end lost: the switch away from it says done */
	tm_on_switch(&m, p, 40, TID, 1, 3, COSTACK_SUSPENDED, 0x1000, false);
	tm_on_switch(&m, p, 45, TID, 3, 1, COSTACK_DONE, 0, false);
	CHECK(heard.ends == 2 && heard.fate[1] == COSTACK_DONE, "an end told by a switch: %u",
	      heard.ends);
	tm_on_task_end(&m, p, 46, 3, COSTACK_DONE, 0);
	CHECK_EQ(heard.ends, 2); /* ended once */
	/* a task_end of a task that returned: done */
	tm_on_task_create(&m, p, 47, TID, 4, 1, COSTACK_RUNTIME_UCONTEXT, COSTACK_CREATED, 0xf, 0,
	                  0);
	tm_on_task_end(&m, p, 48, 4, COSTACK_DONE, 0);
	CHECK(heard.ends == 3 && heard.fate[2] == COSTACK_DONE, "a done end told: %u", heard.ends);
	tm_on_lost(&m, 50, 60, 7, false, NULL);
	CHECK(heard.gaps == 1 && heard.gap_count == 7, "gap told");
	tm_model_free(&m);
	tm_model_init(&m);
	p = tm_process_of(&m, PID, TID, "prog");
}

static void test_modules(void)
{
	static const uint8_t id[] = {1, 2, 3};

	reset();
	tm_on_module(&m, PID, 10, 0x1000, 0x100, "/lib/a.so", true);
	tm_on_build_id(&m, PID, 0x1000, id, 3);
	tm_on_dlclose(&m, PID, 20, 0x1000);
	tm_on_module(&m, PID, 30, 0x1000, 0x200, "/lib/b.so", true);
	tm_on_module(&m, PID, 40, 0x1000, 0x200, "/lib/b.so", true); /* a statedump again */
	tm_on_module(&m, PID, 40, 0x9000, 0x100, "[vdso]", false);
	CHECK_STR_EQ(tm_module_at(&m, PID, 0x1080, 15)->path, "/lib/a.so");
	CHECK_EQ(tm_module_at(&m, PID, 0x1080, 15)->build_id_len, 3);
	CHECK_STR_EQ(tm_module_at(&m, PID, 0x1080, 35)->path, "/lib/b.so");
	CHECK_STR_EQ(tm_module_at(&m, PID, 0x1180, 5)->path, "/lib/b.so"); /* before any: newest */
	CHECK(!tm_module_at(&m, PID, 0x9010, 50), "no module on disk");
	CHECK(!tm_module_at(&m, PID + 1, 0x1080, 15), "another process");
}

static void test_time(void)
{
	struct trace_at at;

	CHECK(!trace_parse_time("1795542309.164005327", &at) && at.kind == TRACE_AT_EPOCH &&
	              at.ns == 1795542309164005327ull,
	      "exact ns: %llu", (unsigned long long)at.ns);
	CHECK(!trace_parse_time("1795542309", &at) && at.ns == 1795542309000000000ull, "seconds");
	CHECK(!trace_parse_time("1795542309.5", &at) && at.ns == 1795542309500000000ull, "tenths");
	CHECK(!trace_parse_time("+1.5s", &at) && at.kind == TRACE_AT_OFFSET &&
	              at.ns == 1500000000ull,
	      "+1.5s: %llu", (unsigned long long)at.ns);
	CHECK(!trace_parse_time("+250ms", &at) && at.ns == 250000000ull, "+250ms");
	CHECK(!trace_parse_time("+10us", &at) && at.ns == 10000ull, "+10us");
	CHECK(!trace_parse_time("+7ns", &at) && at.ns == 7ull, "+7ns");
	CHECK(!trace_parse_time("+2", &at) && at.ns == 2000000000ull, "+2");
	CHECK(!trace_parse_time("+1.5us", &at) && at.ns == 1500ull, "+1.5us");
	CHECK(!trace_parse_time("1.0000000000", &at), "a 0 below the ns is exact");
	CHECK(trace_parse_time("1.0000000001", &at), "below the ns: refused");
	CHECK(trace_parse_time("+1.5ns", &at), "half a ns: refused");
	CHECK(trace_parse_time("", &at) && trace_parse_time("+", &at) &&
	              trace_parse_time("+s", &at) && trace_parse_time("noon", &at) &&
	              trace_parse_time("-1", &at) && trace_parse_time("1e9", &at) &&
	              trace_parse_time("+5parsecs", &at) && trace_parse_time(".", &at) &&
	              trace_parse_time("99999999999999999999", &at),
	      "bad TIMEs refused");
	/* README's grammar: digits before a dot, and after it */
	CHECK(trace_parse_time(".5", &at), ".5 refused");
	CHECK(trace_parse_time("5.", &at), "5. refused");
	CHECK(trace_parse_time("+.5s", &at), "+.5s refused");
	CHECK(trace_parse_time("+5.ms", &at), "+5.ms refused");
	CHECK(trace_parse_time("+.5", &at), "+.5 refused");
}

int main(void)
{
	tm_model_init(&m);
	test_get_stack_rules();
	test_unknown();
	test_first_named_later();
	test_unknown_values();
	test_entry_told();
	test_intervals();
	test_listener_events();
	test_modules();
	test_time();
	tm_model_free(&m);
	return check_finish("test_trace_model");
}
