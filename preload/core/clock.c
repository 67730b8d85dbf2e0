/* SPDX-License-Identifier: MIT */
/* clock.c - the tick clock's choice (COSTACK_CLOCK) and its conversion to nanoseconds, measured
 * against CLOCK_MONOTONIC. */
#include "clock.h"
#include "switch_path.h"
#include "ticks.h"

#include <elf.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

SWITCH_DATA bool clock_use_tsc;
SWITCH_DATA clockid_t clock_moments = CLOCK_MONOTONIC_COARSE;
SWITCH_DATA int (*clock_gettime_fn)(clockid_t, struct timespec *) = clock_gettime;
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

/* __vdso_clock_gettime, from the vDSO's dynamic symbols (the kernel maps it as an ELF object
 * whose DT_HASH gives the number of symbols); NULL when there is none. Its result on failure is
 * the system call's, not errno: costack reads valid clocks only. */
static int (*vdso_clock_gettime(void))(clockid_t, struct timespec *)
{
	const Elf64_Ehdr *elf = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	const Elf64_Sym *symbols = NULL;
	const Elf64_Word *hash = NULL;
	const char *names = NULL;
	uintptr_t bias = 0;
	bool loaded = false;

	if (!elf || memcmp(elf->e_ident, ELFMAG, SELFMAG) || elf->e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	ph = (const Elf64_Phdr *)((uintptr_t)elf + elf->e_phoff);
	for (int i = 0; i < elf->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !loaded) {
			bias = (uintptr_t)elf + ph[i].p_offset - ph[i].p_vaddr;
			loaded = true;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)((uintptr_t)elf + ph[i].p_offset);
		}
	}
	for (; loaded && dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			symbols = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			names = (const char *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			hash = (const Elf64_Word *)(bias + dyn->d_un.d_ptr);
	}
	if (!symbols || !names || !hash)
		return NULL;
	for (Elf64_Word i = 0; i < hash[1]; i++)
		if (ELF64_ST_TYPE(symbols[i].st_info) == STT_FUNC &&
		    symbols[i].st_shndx != SHN_UNDEF &&
		    !strcmp(names + symbols[i].st_name, "__vdso_clock_gettime"))
			return (int (*)(clockid_t, struct timespec *))(bias + symbols[i].st_value);
	return NULL;
}

void clock_init(bool precise)
{
	struct timespec real;
	int (*vdso)(clockid_t, struct timespec *) = vdso_clock_gettime();

	if (vdso)
		clock_gettime_fn = vdso;
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
