/* SPDX-License-Identifier: MIT */
/*
 * costack-tp.h - the trace schema: LTTng-UST provider `costack`.
 *
 * Every event has the context vtid (`costack record` enables it): the thread
 * an event happened on. The process is the trace's: `costack record` keeps
 * per-process buffers, and each process' trace has its vpid and procname in
 * its environment (a trace of per-user buffers has them as contexts vpid and
 * procname of every event instead; readers take either). Times are the
 * events' timestamps. Ids:
 *   task   a task id of the process (vpid), never reused; 0: none.
 *   stack  a stack id of the process (32 bits: the number of its record in
 *          the live registry), defined by a costack:stack event before the events
 *          that refer to it (on the same thread), and possibly again later
 *          (the same frames each time); 0: no stack. A reference to a stack
 *          never defined (its event was lost) is a stack unknown, never a
 *          wrong one.
 * Enums: state and outcome are costack.h's enum costack_state (0 created,
 * 1 running, 2 suspended, 3 done, 4 failed, 5 cancelled); runtime is enum
 * costack_runtime (0 thread, 1 ucontext, 2 fcontext).
 *
 * Events (see each below):
 *   costack:stack        a stack's frames (interned: defined once, referred to by id)
 *   costack:task_create  a task is made (a thread's root task: at its first hook);
 *                        in a fork child, before its first other event, each task it
 *                        inherited unfinished, in its state at the fork (and its name)
 *   costack:task_name    a task is named (costack_set_name, or by its runtime)
 *   costack:task_entry   a task's runtime tells its entry: the user's function
 *   costack:switch       prev stops running on this thread, next runs
 *   costack:resume       a task runs on this thread though no switch named it
 *   costack:raise        an exception is raised in a task, with its stack
 *   costack:task_end     a task ends, with its fate
 *
 * The state machine a reader replays (it is the live registry's):
 *   task_create: the task, in `state` (created; a root task: running),
 *     since the event; switches 1 if running. A fork child begins its
 *     trace with a task_create of each unfinished task it inherited, in
 *     its state then (running, created or suspended), each suspended one
 *     followed by a switch from it with next 0, which gives its stack,
 *     and a named one by its task_name.
 *   switch: if prev has not ended, prev becomes suspended since the event,
 *     its suspension stack `stack` (prev_state's bit 7, truncated: deeper
 *     than COSTACK_DEPTH).
 *     If next is not 0 and has not ended, next becomes running on this
 *     thread since the event, its switches + 1. Running time is counted
 *     from a task's switch in to its switch out (or its end).
 *   task_entry: the task's entry is `entry` from now on (the user's function behind
 *     its runtime's start code; the one task_create gave until then).
 *   resume: as the second half of a switch, for `task`.
 *   raise: the task's raise number `raise` (1, 2, ... in that task) is this
 *     exception with this stack; `origin` is the task that first threw it.
 *   task_end: the task ends in `outcome` since the event. A failed task's
 *     traceback is the stack of its raise number `kept_raise` (mod 2^32, the
 *     newest such raise; 0: none known).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER costack

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./costack-tp.h"

#if !defined(COSTACK_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define COSTACK_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* frames: return addresses, innermost first (a stack is shown oldest first). */
LTTNG_UST_TRACEPOINT_EVENT(
        costack, stack,
        LTTNG_UST_TP_ARGS(uint32_t, id, const uint64_t *, frames, uint32_t, nframes),
        LTTNG_UST_TP_FIELDS(lttng_ust_field_integer_hex(uint32_t, id, id)
                                    lttng_ust_field_sequence_hex(uint64_t, frames, frames, uint32_t,
                                                                 nframes)))

/* entry: the entry function's address (0: a root task); [stack_lo,
 * stack_hi): its stack, both 0 when unknown. */
LTTNG_UST_TRACEPOINT_EVENT(
        costack, task_create,
        LTTNG_UST_TP_ARGS(uint64_t, task, uint64_t, parent, uint8_t, runtime, uint8_t, state,
                          uint64_t, entry, uint64_t, stack_lo, uint64_t, stack_hi),
        LTTNG_UST_TP_FIELDS(
                lttng_ust_field_integer(uint64_t, task, task) lttng_ust_field_integer(
                        uint64_t, parent, parent) lttng_ust_field_integer(uint8_t, runtime, runtime)
                        lttng_ust_field_integer(uint8_t, state, state)
                                lttng_ust_field_integer_hex(uint64_t, entry, entry)
                                        lttng_ust_field_integer_hex(uint64_t, stack_lo, stack_lo)
                                                lttng_ust_field_integer_hex(uint64_t, stack_hi,
                                                                            stack_hi)))

/* entry: an address in the user's function that the task's runtime started it in (a reader
 * names it by the outermost function there that is the program's own). */
LTTNG_UST_TRACEPOINT_EVENT(costack, task_entry, LTTNG_UST_TP_ARGS(uint64_t, task, uint64_t, entry),
                           LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, task, task)
                                                       lttng_ust_field_integer_hex(uint64_t, entry,
                                                                                   entry)))

LTTNG_UST_TRACEPOINT_EVENT(costack, task_name,
                           LTTNG_UST_TP_ARGS(uint64_t, task, const char *, name),
                           LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, task, task)
                                                       lttng_ust_field_string(name, name)))

/* The hot event: 21 bytes of payload. prev_state: prev's state after the switch (suspended;
 * an ended state when prev had already ended), with bit 7 (0x80) set when its stack was deeper
 * than COSTACK_DEPTH (truncated). Traces of costack 0.2 have a field truncated instead. */
LTTNG_UST_TRACEPOINT_EVENT(
        costack, switch,
        LTTNG_UST_TP_ARGS(uint64_t, prev, uint64_t, next, uint8_t, prev_state, uint32_t, stack),
        LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, prev, prev) lttng_ust_field_integer(
                uint64_t, next, next) lttng_ust_field_integer(uint8_t, prev_state, prev_state)
                                    lttng_ust_field_integer_hex(uint32_t, stack, stack)))

LTTNG_UST_TRACEPOINT_EVENT(costack, resume, LTTNG_UST_TP_ARGS(uint64_t, task),
                           LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, task, task)))

/* type: demangled; what: what() of a std::exception, else "". forced: a
 * forced unwind (a suspended coroutine destroyed). */
LTTNG_UST_TRACEPOINT_EVENT(
        costack, raise,
        LTTNG_UST_TP_ARGS(uint64_t, task, uint64_t, raise, uint64_t, origin, uint8_t, forced,
                          uint32_t, stack, uint8_t, truncated, const char *, type, const char *,
                          what),
        LTTNG_UST_TP_FIELDS(
                lttng_ust_field_integer(uint64_t, task, task) lttng_ust_field_integer(
                        uint64_t, raise, raise) lttng_ust_field_integer(uint64_t, origin, origin)
                        lttng_ust_field_integer(uint8_t, forced, forced)
                                lttng_ust_field_integer_hex(uint32_t, stack, stack)
                                        lttng_ust_field_integer(uint8_t, truncated, truncated)
                                                lttng_ust_field_string(type, type)
                                                        lttng_ust_field_string(what, what)))

LTTNG_UST_TRACEPOINT_EVENT(
        costack, task_end,
        LTTNG_UST_TP_ARGS(uint64_t, task, uint8_t, outcome, uint64_t, kept_raise),
        LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, task, task)
                                    lttng_ust_field_integer(uint8_t, outcome, outcome)
                                            lttng_ust_field_integer(uint64_t, kept_raise,
                                                                    kept_raise)))

#endif /* COSTACK_TP_H */

#include <lttng/tracepoint-event.h>
