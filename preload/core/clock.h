/* SPDX-License-Identifier: MIT */
/* clock.h - time on the switch path: TSC ticks where the kernel keeps time with the TSC, else CLOCK_MONOTONIC ns; nanoseconds only when read. */
#ifndef COSTACK_CLOCK_H
#define COSTACK_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

/* Chosen once at load: the kernel's own clocksource is the TSC, so it is
 * constant-rate and the same on every CPU (half the cost of the vDSO). */
extern bool clock_use_tsc;

static inline uint64_t clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Now, in ticks. */
static inline uint64_t clock_now(void)
{
	return clock_use_tsc ? __rdtsc() : clock_monotonic_ns();
}

void clock_init(void);
/* A duration in ticks, in nanoseconds. */
uint64_t clock_ticks_to_ns(uint64_t ticks);
/* What an outside reader needs to turn ticks into time (costack-live.h). */
void clock_origin(uint32_t *is_tsc, uint64_t *tsc, uint64_t *monotonic, int64_t *realtime_minus);
/* A moment in ticks, in nanoseconds since the epoch (0 stays 0). */
uint64_t clock_to_realtime_ns(uint64_t ticks);

#endif
