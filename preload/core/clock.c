/* SPDX-License-Identifier: MIT */
/* clock.c - the tick clock's choice (COSTACK_CLOCK) and its conversion to nanoseconds, measured
 * against CLOCK_MONOTONIC. */
#include "clock.h"
#include "ticks.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

bool clock_use_tsc;
clockid_t clock_moments = CLOCK_MONOTONIC_COARSE;
static uint64_t tsc_at_load;
static uint64_t monotonic_at_load;
static int64_t realtime_minus_monotonic;
static _Atomic double cached_ns_per_tick; /* 0: not measured yet */

/* The rate is measured once, over at least 10 ms since load (5e-6 at worst
 * from the clocks' jitter), and then kept: the same ticks always give the
 * same nanoseconds. A process that reads no time before 10 ms after load
 * never waits; one that does, waits once. */
#define RATE_MEASURED_OVER_NS 10000000u

static bool kernel_clock_is_tsc(void)
{
	char name[16] = "";
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
	              O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return len >= 3 && !strncmp(name, "tsc", 3) && (len == 3 || name[3] == '\n');
}

void clock_init(bool precise)
{
	struct timespec real;

	clock_use_tsc = precise && kernel_clock_is_tsc();
	clock_moments = precise ? CLOCK_MONOTONIC : CLOCK_MONOTONIC_COARSE;
	clock_gettime(CLOCK_REALTIME, &real);
	monotonic_at_load = clock_monotonic_ns();
	tsc_at_load = __rdtsc();
	realtime_minus_monotonic =
	        (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (int64_t)monotonic_at_load;
}

/* Nanoseconds per tick, from the ticks and nanoseconds elapsed since load. */
static double ns_per_tick(void)
{
	double rate = atomic_load_explicit(&cached_ns_per_tick, memory_order_relaxed);
	uint64_t elapsed, ticks;

	if (!clock_use_tsc)
		return 1.0;
	if (rate > 0)
		return rate;
	do {
		elapsed = clock_monotonic_ns() - monotonic_at_load;
		ticks = __rdtsc() - tsc_at_load;
	} while (elapsed < RATE_MEASURED_OVER_NS);
	rate = (double)elapsed / (double)ticks;
	/* The first one measured wins, so that every reader uses the same. */
	double none = 0;
	if (!atomic_compare_exchange_strong(&cached_ns_per_tick, &none, rate))
		rate = none;
	return rate;
}

void clock_origin(uint32_t *is_tsc, uint64_t *tsc, uint64_t *monotonic, int64_t *realtime_minus)
{
	*is_tsc = clock_use_tsc;
	*tsc = tsc_at_load;
	*monotonic = monotonic_at_load;
	*realtime_minus = realtime_minus_monotonic;
}

static struct tick_origin origin(void)
{
	return (struct tick_origin){clock_use_tsc, tsc_at_load, monotonic_at_load,
	                            realtime_minus_monotonic};
}

uint64_t clock_ticks_to_ns(uint64_t ticks)
{
	struct tick_origin o = origin();

	return ticks_duration_ns(&o, ns_per_tick(), ticks);
}

uint64_t clock_to_realtime_ns(uint64_t ticks)
{
	struct tick_origin o = origin();

	return ticks_realtime_ns(&o, ns_per_tick(), ticks);
}
