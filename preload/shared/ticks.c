/* SPDX-License-Identifier: MIT */
/* ticks.c - ticks to nanoseconds, defined for whatever values a target's registry holds. */
#include "ticks.h"

static uint64_t double_to_u64(double x)
{
	if (!(x > 0))
		return 0;
	return x >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)x;
}

static int64_t double_to_i64(double x)
{
	if (x != x)
		return 0;
	if (x >= 9223372036854775807.0)
		return INT64_MAX;
	return x <= -9223372036854775808.0 ? INT64_MIN : (int64_t)x;
}

uint64_t ticks_duration_ns(const struct tick_origin *o, double ns_per_tick, uint64_t ticks)
{
	return o->is_tsc ? double_to_u64((double)ticks * ns_per_tick) : ticks;
}

/* Sums wrap rather than overflow. */
uint64_t ticks_realtime_ns(const struct tick_origin *o, double ns_per_tick, uint64_t ticks)
{
	uint64_t monotonic;

	if (!ticks)
		return 0;
	monotonic =
	        o->is_tsc ? o->monotonic_at_load +
	                            (uint64_t)double_to_i64(
	                                    (double)(int64_t)(ticks - o->tsc_at_load) * ns_per_tick)
	                  : ticks;
	return monotonic + (uint64_t)o->realtime_minus_monotonic;
}
