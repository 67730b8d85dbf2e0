/* SPDX-License-Identifier: MIT */
/* ticks.h - the live registry's times (costack-live.h) in nanoseconds: one formula for the process
 * and its outside readers. */
#ifndef COSTACK_TICKS_H
#define COSTACK_TICKS_H

#include <stdbool.h>
#include <stdint.h>

/* Where a process' ticks start (costack-live.h's header fields). Ticks are the TSC when
 * is_tsc (ns = (ticks - tsc_at_load) * ns_per_tick + monotonic_at_load), else
 * CLOCK_MONOTONIC nanoseconds; CLOCK_REALTIME = CLOCK_MONOTONIC + realtime_minus_monotonic. */
struct tick_origin {
	bool is_tsc;
	uint64_t tsc_at_load;
	uint64_t monotonic_at_load;
	int64_t realtime_minus_monotonic;
};

/* A duration of ticks in nanoseconds (ns_per_tick: the TSC's rate, as measured by whoever
 * converts). Defined for any value, whatever a target wrote: saturated, never undefined. */
uint64_t ticks_duration_ns(const struct tick_origin *o, double ns_per_tick, uint64_t ticks);

/* A moment in ticks as nanoseconds since the epoch; 0 stays 0 (no time). */
uint64_t ticks_realtime_ns(const struct tick_origin *o, double ns_per_tick, uint64_t ticks);

#endif
