/* SPDX-License-Identifier: MIT */
/* clock.h - monotonic nanoseconds for the switch path, and their conversion to wall-clock time. */
#ifndef COSTACK_CLOCK_H
#define COSTACK_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, sampled once at load. */
extern int64_t clock_realtime_offset_ns;

static inline uint64_t clock_to_realtime(uint64_t mono_ns)
{
	return mono_ns ? (uint64_t)((int64_t)mono_ns + clock_realtime_offset_ns) : 0;
}

#endif
