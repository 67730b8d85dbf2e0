/* SPDX-License-Identifier: MIT */
/* clock.h - time on the switch path: the kernel's coarse clock by default (COSTACK_CLOCK), or TSC
 * ticks where the kernel keeps time with the TSC, else CLOCK_MONOTONIC ns; nanoseconds only when
 * read. */
#ifndef COSTACK_CLOCK_H
#define COSTACK_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

/*
 * Chosen once, when costack becomes active (clock_init):
 * - coarse (the default): CLOCK_MONOTONIC_COARSE, the time of the kernel's last tick (1 to
 *   10 ms apart: clock_getres tells), read from the vDSO without a clocksource read. It costs a
 *   fraction of a switch, where a precise clock costs several switches on a machine whose
 *   clocksource is not the TSC (README, Figures). A moment is up to a tick early, and a run's
 *   time up to a tick off (unbiased: the ticks a run straddles).
 * - precise: the TSC when the kernel's own clocksource is the TSC (constant-rate and the same
 *   on every CPU), else CLOCK_MONOTONIC.
 * Either way ticks are CLOCK_MONOTONIC nanoseconds unless clock_use_tsc.
 */
extern bool clock_use_tsc;
extern clockid_t clock_moments; /* CLOCK_MONOTONIC_COARSE or CLOCK_MONOTONIC */
/* The vDSO's clock_gettime, called directly: through the C library's, a reading also touches
 * its code, its GOT and the loader's data, three pages more per switch (switch_path.h). The
 * C library's before clock_init, or where there is no vDSO (valgrind). */
extern int (*clock_gettime_fn)(clockid_t, struct timespec *);

static inline uint64_t clock_read_ns(clockid_t id)
{
	struct timespec ts = {0, 0};

	clock_gettime_fn(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_monotonic_ns(void)
{
	return clock_read_ns(CLOCK_MONOTONIC);
}

/* Now, in ticks: a moment the registry keeps (a switch, a state's start). */
static inline uint64_t clock_now(void)
{
	return clock_use_tsc ? __rdtsc() : clock_read_ns(clock_moments);
}

/* precise: COSTACK_CLOCK=precise. */
void clock_init(bool precise);
/* A duration in ticks, in nanoseconds. */
uint64_t clock_ticks_to_ns(uint64_t ticks);
/* What an outside reader needs to turn ticks into time (costack-live.h). */
void clock_origin(uint32_t *is_tsc, uint64_t *tsc, uint64_t *monotonic, int64_t *realtime_minus);
/* A moment in ticks, in nanoseconds since the epoch (0 stays 0). */
uint64_t clock_to_realtime_ns(uint64_t ticks);

#endif
