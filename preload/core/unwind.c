/* SPDX-License-Identifier: MIT */
/* unwind.c - stack capture: a bounded CFA-rule walk with rules cached per return address, libunwind
 * where rules are not simple. */
#define _GNU_SOURCE
#include "unwind.h"

#include <dwarf.h>
#include <emmintrin.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "config.h"
#include "deps.h" /* libunwind and libdw, last: their functions become pointers */

/*
 * How to find a frame's caller, for one return address, from the DWARF CFI
 * of its object: CFA = (rsp or rbp) + cfa_off; the return address sits at
 * CFA - 8 (x86-64); the caller's rbp is saved at CFA + rbp_off, or is the
 * same as this frame's when rbp_off is 0.
 */
enum rule_kind {
	RULE_NONE = 0,      /* slot empty or being written */
	RULE_STEP = 1,      /* a simple rule: step with it */
	RULE_OUTERMOST = 2, /* the return address is undefined: the stack's bottom */
	RULE_COMPLEX = 3,   /* needs libunwind from here on */
};

struct rule {
	int32_t cfa_off;
	int16_t rbp_off;
	uint8_t cfa_is_rbp;
	uint8_t kind;
};

struct rule_slot {
	_Atomic uintptr_t pc;
	_Atomic uint64_t rule; /* struct rule, published after pc */
};

#define RULE_BITS 16
#define RULE_SLOTS (1u << RULE_BITS)
#define RULE_PROBES 16
#define MODULES_MAX 512

struct module {
	uintptr_t lo, hi; /* executable segment */
	uintptr_t bias;
	Dwarf_CFI *cfi; /* NULL: no usable CFI */
	Elf *elf;       /* the file mapped; its descriptor closed */
};

SWITCH_DATA static uintptr_t own_lo, own_hi;
#define BOTTOMS_MAX 8
static struct {
	uintptr_t lo, hi;
} bottoms[BOTTOMS_MAX];
static atomic_int nbottoms;
static pthread_mutex_t bottoms_lock = PTHREAD_MUTEX_INITIALIZER;
/* The linker's bounds of the trampolines' section. */
/* Weak: a core without hooks (the unit tests') has no trampolines. */
extern const char __start_costack_tramp[] __attribute__((weak));
extern const char __stop_costack_tramp[] __attribute__((weak));
static struct rule_slot *rules;
static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module modules[MODULES_MAX];
static int nmodules;

/* --- costack's own code --------------------------------------------------------- */

static int find_own_text(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t probe = (uintptr_t)data;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && probe >= lo &&
		    probe < lo + ph->p_memsz) {
			own_lo = lo;
			own_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

void unwind_init(void)
{
	void *p;

	dl_iterate_phdr(find_own_text, (void *)(uintptr_t)&unwind_init);
	deps_load();
	if (deps_dwarf())
		elf_version(EV_CURRENT);
	p = mmap(NULL, RULE_SLOTS * sizeof(*rules), PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rules = p == MAP_FAILED ? NULL : p;
}

void unwind_add_bottom(uintptr_t lo, uintptr_t hi)
{
	int n;

	pthread_mutex_lock(&bottoms_lock);
	n = atomic_load_explicit(&nbottoms, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		if (bottoms[i].lo == lo)
			goto end;
	if (n < BOTTOMS_MAX) {
		bottoms[n].lo = lo;
		bottoms[n].hi = hi;
		atomic_store_explicit(&nbottoms, n + 1, memory_order_release);
	}
end:
	pthread_mutex_unlock(&bottoms_lock);
}

static inline bool is_bottom(uintptr_t ra)
{
	int n = atomic_load_explicit(&nbottoms, memory_order_acquire);

	for (int i = 0; i < n; i++)
		if (ra >= bottoms[i].lo && ra < bottoms[i].hi)
			return true;
	return false;
}

void unwind_after_fork(void)
{
	pthread_mutex_init(&module_lock, NULL);
	pthread_mutex_init(&bottoms_lock, NULL);
}

/* True when pc lies in costack's own code. */
SWITCH_PATH static bool unwind_is_own(uintptr_t pc)
{
	return pc >= own_lo && pc < own_hi;
}

void unwind_warm_thread(void)
{
	void *frames[4];

	if (deps_unwind())
		unw_backtrace(frames, 4);
}

/* --- rules from CFI (the slow path: once per distinct return address) --------- */

struct module_search {
	uintptr_t pc;
	struct module *found;
};

static int open_module(struct dl_phdr_info *info, size_t size, void *data)
{
	struct module_search *search = data;
	const char *path = info->dlpi_name;
	struct module *m;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || search->pc < lo ||
		    search->pc >= lo + ph->p_memsz)
			continue;
		if (nmodules == MODULES_MAX)
			return 1;
		m = &modules[nmodules++];
		m->lo = lo;
		m->hi = lo + ph->p_memsz;
		m->bias = info->dlpi_addr;
		if (!path || !*path)
			path = "/proc/self/exe";
		/* The vDSO has no file; its frames go to libunwind. */
		if (path[0] == '/' && deps_dwarf()) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			/* The file stays mapped, its descriptor does not stay: the program's
			 * next open() gets the number it would have had. */
			if (fd >= 0) {
				m->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
				if (m->elf)
					elf_cntl(m->elf, ELF_C_FDDONE);
				close(fd);
			}
		}
		if (m->elf)
			m->cfi = dwarf_getcfi_elf(m->elf);
		search->found = m;
		return 1;
	}
	return 0;
}

/* Called with module_lock held. */
static struct module *module_of(uintptr_t pc)
{
	struct module_search search = {pc, NULL};

	for (int i = 0; i < nmodules; i++)
		if (pc >= modules[i].lo && pc < modules[i].hi)
			return &modules[i];
	dl_iterate_phdr(open_module, &search);
	return search.found;
}

/* "Offset N from the CFA", as dwarf_frame_register spells it. */
static bool cfa_offset_of(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa) {
		*off = 0;
		return true;
	}
	if (nops == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return true;
	}
	return false;
}

static struct rule rule_from_cfi(uintptr_t ra)
{
	struct rule r = {.kind = RULE_COMPLEX};
	Dwarf_Op ops_mem[3], *ops;
	Dwarf_Frame *frame = NULL;
	struct module *m;
	size_t nops;
	int64_t off;

	pthread_mutex_lock(&module_lock);
	m = module_of(ra - 1);
	/* The call instruction's row describes the frame, not the return address's. */
	if (!m || !m->cfi || dwarf_cfi_addrframe(m->cfi, ra - 1 - m->bias, &frame) != 0)
		goto end;
	if (dwarf_frame_register(frame, 16, ops_mem, &ops, &nops) != 0)
		goto end;
	/* libdw: no operations at ops_mem is "undefined" (the stack's bottom,
	 * as _start and thread start code mark it); at NULL, "same value". */
	if (nops == 0 && ops == ops_mem) {
		r.kind = RULE_OUTERMOST;
		goto end;
	}
	if (!cfa_offset_of(ops, nops, &off) || off != -8)
		goto end;
	if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1 || ops[0].atom != DW_OP_bregx ||
	    (ops[0].number != 7 && ops[0].number != 6) || (int64_t)ops[0].number2 > INT32_MAX ||
	    (int64_t)ops[0].number2 < 0)
		goto end;
	r.cfa_is_rbp = ops[0].number == 6;
	r.cfa_off = (int32_t)ops[0].number2;
	if (dwarf_frame_register(frame, 6, ops_mem, &ops, &nops) != 0)
		goto end;
	if (nops == 0) {
		r.rbp_off = 0; /* same value (or undefined): left as it is */
	} else if (cfa_offset_of(ops, nops, &off) && off < 0 && off >= INT16_MIN) {
		r.rbp_off = (int16_t)off;
	} else {
		goto end;
	}
	r.kind = RULE_STEP;
end:
	pthread_mutex_unlock(&module_lock);
	free(frame);
	return r;
}

/* Called with module_lock held. */
static const char *symtab_name(Elf *elf, uint64_t offset)
{
	Elf_Scn *scn = NULL;

	for (int pass = 0; pass < 2; pass++) {
		Elf64_Word wanted = pass ? SHT_DYNSYM : SHT_SYMTAB;

		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr shdr;
			Elf_Data *data;

			if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != wanted ||
			    !shdr.sh_entsize || !(data = elf_getdata(scn, NULL)))
				continue;
			for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
				GElf_Sym sym;

				if (!gelf_getsym(data, (int)i, &sym) ||
				    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
				    offset < sym.st_value || offset >= sym.st_value + sym.st_size)
					continue;
				return elf_strptr(elf, shdr.sh_link, sym.st_name);
			}
			return NULL; /* a symbol table that does not cover it */
		}
	}
	return NULL;
}

bool unwind_symbol_name(uintptr_t ra, char *name, size_t size)
{
	struct module *m;
	const char *found = NULL;

	pthread_mutex_lock(&module_lock);
	m = module_of(ra - 1);
	if (m && m->elf)
		found = symtab_name(m->elf, ra - 1 - m->bias);
	if (found && size)
		snprintf(name, size, "%s", found);
	pthread_mutex_unlock(&module_lock);
	return found && size && strlen(found) < size;
}

static uint64_t pack(struct rule r)
{
	uint64_t v;

	memcpy(&v, &r, sizeof(v));
	return v;
}

static struct rule unpack(uint64_t v)
{
	struct rule r;

	memcpy(&r, &v, sizeof(r));
	return r;
}

/* Lock-free: a slot's pc is claimed once and its rule published after. */
static struct rule rule_for(uintptr_t ra)
{
	uint32_t slot = (uint32_t)((ra * 0x9e3779b97f4a7c15ull) >> (64 - RULE_BITS));
	struct rule r;

	for (int probe = 0; probe < RULE_PROBES; probe++, slot = (slot + 1) & (RULE_SLOTS - 1)) {
		uintptr_t pc = atomic_load_explicit(&rules[slot].pc, memory_order_acquire);

		if (pc == ra) {
			r = unpack(atomic_load_explicit(&rules[slot].rule, memory_order_acquire));
			if (r.kind != RULE_NONE)
				return r;
			return rule_from_cfi(ra); /* another thread is filling it */
		}
		if (pc)
			continue;
		if (!atomic_compare_exchange_strong(&rules[slot].pc, &pc, ra)) {
			if (pc != ra)
				continue;
			return rule_from_cfi(ra);
		}
		r = rule_from_cfi(ra);
		atomic_store_explicit(&rules[slot].rule, pack(r), memory_order_release);
		return r;
	}
	return rule_from_cfi(ra); /* table crowded here: no caching */
}

/* --- the walk ------------------------------------------------------------------- */

/*
 * The shape of a walk, relative to its start sp0 (the stack pointer of the
 * task's innermost frame): every word the walk read and what it held. A walk
 * is a function of its start and of those words, so when they all hold the
 * same again, relative to today's sp0, the walk would find the same frames: a
 * task suspending where it suspended before costs one load and compare per
 * word read, no lookups. Kept with the stack's record in the stack store.
 *
 * Laid out for that check (shape_holds): the values, then where each was
 * read, in three runs each: the frame-pointer frames' pairs (a saved rbp the
 * walk relied on and, right above it, the return address it read: one
 * 16-byte load), the other return addresses, the other saved rbps. A saved
 * rbp is kept as an offset from sp0, which is all a walk depends on.
 */
struct walk_shape {
	uintptr_t ra0;
	uintptr_t bp0_rel; /* the rbp register at the start (sp0 + bp0_rel), if relied on */
	uint32_t max_rel;  /* the farthest word read: one bounds check for all */
	uint16_t npairs;   /* (saved rbp, return address) pairs */
	uint16_t nras;     /* other return addresses read */
	uint16_t nbps;     /* other saved rbps relied on */
	uint8_t truncated;
	uint8_t bp0_used;
	uint8_t reserved[2];
	/* [2 * npairs] (saved rbp - sp0, return address), [nras] return addresses, [nbps]
	 * saved rbps - sp0; then uint32_t rels[npairs + nras + nbps]: each read at sp0 + rel */
	uintptr_t values[];
};

#define SHAPE_NONE UINT32_MAX
#define PAIRED 1u /* in a recorded rel (a multiple of 8) */

/* The stack being walked: no read leaves it. */
struct walk {
	uintptr_t lo, hi;
	uintptr_t *out;
	int room; /* frames wanted, one more than kept to tell truncation */
	int n;
	bool seen_task_frame;
	/* The shape being recorded; shape == NULL once it cannot be. Recorded in
	 * four runs of max_steps entries (return addresses in shape->values, and
	 * saved rbps, and where each was read: PAIRED marks the two of a pair),
	 * laid out in packed once the walk is over. */
	struct walk_shape *shape, *packed;
	uintptr_t *bp_values;
	uint32_t *ra_rels, *bp_rels;
	int max_steps;
	uint32_t bp_slot_rel; /* where the current bp was loaded from; SHAPE_NONE: the register */
};

static inline bool in_range(uintptr_t lo, uintptr_t hi, uintptr_t addr)
{
	return addr >= lo && addr <= hi - sizeof(uintptr_t) && !(addr & 7);
}

static inline bool readable(const struct walk *w, uintptr_t addr)
{
	return in_range(w->lo, w->hi, addr);
}

/* Keep ra unless it is costack's own; false when the walk is over: the
 * task's frames have ended at a task-start trampoline, or the room is full.
 * Other own frames are skipped: a hook's frame lies inside a suspended
 * task's stack, under what a runtime runs on top of it (ontop_fcontext). */
static inline bool keep(struct walk *w, uintptr_t ra)
{
	if (is_bottom(ra))
		return false;
	if (unwind_is_own(ra))
		return !(ra >= (uintptr_t)__start_costack_tramp &&
		         ra < (uintptr_t)__stop_costack_tramp);
	w->seen_task_frame = true;
	w->out[w->n++] = ra;
	return w->n < w->room;
}

/* Go on with libunwind from a frame whose rule is not simple (signal
 * frames, PLT stubs, realigned stacks): rare, and slower. */
static void walk_libunwind(struct walk *w, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
	unw_context_t context;
	unw_cursor_t cursor;
	unw_word_t pc;

	if (!deps_unwind())
		return;
	memset(&context, 0, sizeof(context));
	context.uc_mcontext.gregs[REG_RIP] = (greg_t)(ra - 1); /* look up the call */
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
	context.uc_mcontext.gregs[REG_RBP] = (greg_t)bp;
	if (unw_init_local(&cursor, &context) != 0)
		return;
	while (unw_step(&cursor) > 0 && unw_get_reg(&cursor, UNW_REG_IP, &pc) == 0 && pc &&
	       keep(w, pc))
		;
}

#define WORD_AT(sp0, rel) (*(const uintptr_t *)((sp0) + (rel)))

/*
 * Whether every word the shape's walk read holds what it held, relative to
 * sp0, inside [lo, hi). The switch path's one loop: independent loads, an
 * xor and an or per word (a pair's two words at once), no early exit (one
 * branch at the end).
 */
static inline __attribute__((always_inline)) bool shape_holds(const struct walk_shape *shape,
                                                              uintptr_t lo, uintptr_t hi,
                                                              uintptr_t sp0, uintptr_t bp0,
                                                              uintptr_t ra0)
{
	const uintptr_t *values = shape->values;
	const uint32_t *rels =
	        (const uint32_t *)(values + 2 * shape->npairs + shape->nras + shape->nbps);
	uintptr_t diff = 0;

	if (shape->ra0 != ra0 || (shape->bp0_used && bp0 - sp0 != shape->bp0_rel))
		return false;
	/* Every word lies in [sp0, sp0 + max_rel], 8-aligned as sp0 is. */
	if (!in_range(lo, hi, sp0) || !in_range(lo, hi, sp0 + shape->max_rel))
		return false;
	/* The first word read first, alone: another place's stack most often differs there, and
	 * a caller may try a few stacks. */
	if (shape->npairs ? WORD_AT(sp0, rels[0] + 8) != values[1]
	                  : shape->nras && WORD_AT(sp0, rels[0]) != values[0])
		return false;
	if (shape->npairs) {
		const __m128i bias = _mm_set_epi64x(0, (long long)sp0); /* the rbp, below */
		__m128i d = _mm_setzero_si128();
		size_t k = 0, npairs = shape->npairs;

#define PAIR_DIFF(k)                                                                               \
	_mm_xor_si128(_mm_sub_epi64(_mm_loadu_si128((const __m128i *)(sp0 + rels[k])), bias),      \
	              _mm_loadu_si128((const __m128i *)(values + 2 * (k))))
		/* Four at a time, as the return addresses below: a frame-pointer build's stack is
		 * mostly pairs, and the loop's own work was 4 of a pair's 10 instructions. */
		for (; k + 4 <= npairs; k += 4)
			d = _mm_or_si128(
			        d, _mm_or_si128(_mm_or_si128(PAIR_DIFF(k), PAIR_DIFF(k + 1)),
			                        _mm_or_si128(PAIR_DIFF(k + 2), PAIR_DIFF(k + 3))));
		for (; k < npairs; k++)
			d = _mm_or_si128(d, PAIR_DIFF(k));
#undef PAIR_DIFF
		d = _mm_or_si128(d, _mm_unpackhi_epi64(d, d));
		diff = (uintptr_t)_mm_cvtsi128_si64(d);
		values += 2 * shape->npairs;
		rels += shape->npairs;
	}
	/* Four at a time: the loop's own work is a fifth of the rest. (size_t indexes: the
	 * four addresses are one register and constant offsets.) */
	size_t i = 0, n = shape->nras;
	for (; i + 4 <= n; i += 4)
		diff |= (WORD_AT(sp0, rels[i]) ^ values[i]) |
		        (WORD_AT(sp0, rels[i + 1]) ^ values[i + 1]) |
		        (WORD_AT(sp0, rels[i + 2]) ^ values[i + 2]) |
		        (WORD_AT(sp0, rels[i + 3]) ^ values[i + 3]);
	for (; i < n; i++)
		diff |= WORD_AT(sp0, rels[i]) ^ values[i];
	values += n;
	rels += n;
	for (i = 0; i < shape->nbps; i++)
		diff |= (WORD_AT(sp0, rels[i]) - sp0) ^ values[i];
	return diff == 0;
}

static bool rel32(struct walk *w, uintptr_t addr, uintptr_t sp0, uint32_t *rel)
{
	if (addr < sp0 || addr - sp0 >= SHAPE_NONE || (addr & 7))
		return false;
	*rel = (uint32_t)(addr - sp0);
	if (*rel > w->shape->max_rel)
		w->shape->max_rel = *rel;
	return true;
}

/* The walk is about to rely on bp: note where bp came from. */
static void shape_use_bp(struct walk *w, uintptr_t bp, uintptr_t sp0)
{
	struct walk_shape *shape = w->shape;

	if (!shape)
		return;
	if (w->bp_slot_rel == SHAPE_NONE) {
		shape->bp0_used = 1;
		shape->bp0_rel = bp - sp0;
	} else if (shape->nbps == w->max_steps) {
		w->shape = NULL;
	} else {
		uint32_t rel = w->bp_slot_rel;

		/* Read right below the last return address read: a frame-pointer frame. */
		if (shape->nras && w->ra_rels[shape->nras - 1] == rel + sizeof(uintptr_t)) {
			w->ra_rels[shape->nras - 1] |= PAIRED;
			rel |= PAIRED;
		}
		w->bp_rels[shape->nbps] = rel;
		w->bp_values[shape->nbps] = bp - sp0;
		shape->nbps++;
	}
}

/* Record a read of a return address into the shape, if one is kept. */
static void shape_step(struct walk *w, uintptr_t slot, uintptr_t value, uintptr_t sp0)
{
	struct walk_shape *shape = w->shape;

	if (!shape)
		return;
	if (shape->nras == w->max_steps || !rel32(w, slot, sp0, &w->ra_rels[shape->nras])) {
		w->shape = NULL;
		return;
	}
	shape->values[shape->nras++] = value;
}

/* The shape recorded, laid out for shape_holds in w->packed. The k-th return address
 * marked PAIRED goes with the k-th saved rbp marked so: both were marked in walk order. */
static struct walk_shape *shape_pack(const struct walk *w)
{
	const struct walk_shape *rec = w->shape;
	struct walk_shape *out = w->packed;
	unsigned n = rec->nras, m = rec->nbps, npairs = 0, pair = 0, ra = 0, bp = 0;

	for (unsigned i = 0; i < n; i++)
		npairs += w->ra_rels[i] & PAIRED;
	*out = *rec;
	out->npairs = (uint16_t)npairs;
	out->nras = (uint16_t)(n - npairs);
	out->nbps = (uint16_t)(m - npairs);

	uintptr_t *pair_values = out->values, *ra_values = pair_values + 2 * npairs;
	uintptr_t *bp_values = ra_values + out->nras;
	uint32_t *pair_rels = (uint32_t *)(bp_values + out->nbps), *ra_rels = pair_rels + npairs;
	uint32_t *bp_rels = ra_rels + out->nras;

	for (unsigned i = 0; i < n; i++) {
		if (w->ra_rels[i] & PAIRED) {
			pair_rels[pair] = (w->ra_rels[i] & ~PAIRED) - sizeof(uintptr_t);
			pair_values[2 * pair++ + 1] = rec->values[i];
		} else {
			ra_rels[ra] = w->ra_rels[i];
			ra_values[ra++] = rec->values[i];
		}
	}
	pair = 0;
	for (unsigned j = 0; j < m; j++) {
		if (w->bp_rels[j] & PAIRED) {
			pair_values[2 * pair++] = w->bp_values[j];
		} else {
			bp_rels[bp] = w->bp_rels[j];
			bp_values[bp++] = w->bp_values[j];
		}
	}
	return out;
}

static uint32_t shape_size(const struct walk_shape *shape)
{
	unsigned words = 2u * shape->npairs + shape->nras + shape->nbps;
	unsigned rels = (unsigned)shape->npairs + shape->nras + shape->nbps;

	return (uint32_t)(sizeof(*shape) + words * sizeof(uintptr_t) + rels * sizeof(uint32_t));
}

enum step_result { STEP_ON, STEP_END, STEP_END_UNSHAPED };

/* A frame built with a frame pointer: CFA = rbp + 16, the caller's rbp
 * saved at CFA - 16. */
static const struct rule frame_pointer_rule = {
        .cfa_off = 16, .rbp_off = -16, .cfa_is_rbp = 1, .kind = RULE_STEP};

/* COSTACK_UNWIND=fp: a task's frame whose rbp points into the stack above
 * it is taken as a frame-pointer frame; any other, and costack's own,
 * follows its CFI rule. */
static inline struct rule rule_of_frame(const struct walk *w, uintptr_t ra, uintptr_t sp,
                                        uintptr_t bp)
{
	if (config.unwind == UNWIND_FP && bp >= sp && !(bp & 7) && bp + 16 <= w->hi &&
	    !unwind_is_own(ra))
		return frame_pointer_rule;
	return rule_for(ra);
}

/* One frame outwards with the rule of *ra; sp0 is where the shape starts
 * (0: before it, in costack's own frames). */
static inline enum step_result step(struct walk *w, uintptr_t *ra, uintptr_t *sp, uintptr_t *bp,
                                    uintptr_t sp0)
{
	struct rule r = rule_of_frame(w, *ra, *sp, *bp);
	uintptr_t cfa, slot;

	if (r.kind == RULE_OUTERMOST)
		return STEP_END;
	if (r.kind != RULE_STEP) {
		walk_libunwind(w, *ra, *sp, *bp);
		return STEP_END_UNSHAPED;
	}
	if (r.cfa_is_rbp && sp0)
		shape_use_bp(w, *bp, sp0);
	cfa = (r.cfa_is_rbp ? *bp : *sp) + (uintptr_t)(intptr_t)r.cfa_off;
	if (cfa <= *sp || !readable(w, cfa - 8))
		return STEP_END_UNSHAPED; /* ended by the range: not a shape to reuse */
	if (r.rbp_off) {
		slot = cfa + (uintptr_t)(intptr_t)r.rbp_off;
		if (!readable(w, slot))
			return STEP_END_UNSHAPED;
		*bp = *(uintptr_t *)slot;
		if (sp0 && w->shape && !rel32(w, slot, sp0, &w->bp_slot_rel))
			w->shape = NULL;
	}
	*ra = *(uintptr_t *)(cfa - 8);
	*sp = cfa;
	if (sp0)
		shape_step(w, cfa - 8, *ra, sp0);
	return STEP_ON;
}

/*
 * Walk from the caller of this function outwards, with the rules of each
 * return address; every read lies in the stack's range. costack's own
 * frames are walked first; from the task's innermost frame on, `hint`'s
 * shape is tried: when it holds, its frames are the stack's and true is
 * returned. Otherwise the walk goes on and records its own shape.
 */
__attribute__((noinline)) UNWIND_FRAME_POINTER static bool
walk(struct walk *w, const struct walk_shape *hint, const struct unwind_start *start)
{
	struct unwind_start here;
	uintptr_t sp, bp, ra;
	struct walk_shape *shape = w->shape;
	enum step_result result = STEP_ON;

	if (!start) {
		UNWIND_CALLER(here);
		start = &here;
	}
	sp = start->sp;
	bp = start->bp;
	ra = start->ra;

	if (!w->lo || w->lo >= w->hi) {
		/* Unknown range: accept the stack above us, up to a sane size. */
		w->lo = sp;
		w->hi = sp + (64u << 20);
	}
	while (result == STEP_ON && ra && unwind_is_own(ra))
		result = step(w, &ra, &sp, &bp, 0);
	if (result != STEP_ON || !ra) {
		w->shape = NULL;
		return false;
	}
	if (hint && shape_holds(hint, w->lo, w->hi, sp, bp, ra))
		return true;
	*shape = (struct walk_shape){.ra0 = ra};
	w->bp_slot_rel = SHAPE_NONE;
	const uintptr_t sp0 = sp;
	/* keep() last: it records the frame. */
	while (result == STEP_ON && ra && keep(w, ra))
		result = step(w, &ra, &sp, &bp, sp0);
	if (result == STEP_END_UNSHAPED)
		w->shape = NULL;
	if (w->shape) {
		shape->truncated = w->n == w->room;
		w->shape = shape_pack(w);
	}
	return false;
}

/* libunwind's own fast path, for COSTACK_UNWIND=libunwind. */
static void walk_backtrace(struct walk *w, uintptr_t *scratch, int cap)
{
	int total = deps_unwind() ? unw_backtrace((void **)scratch, cap) : 0;

	for (int i = 0; i < total && keep(w, scratch[i]); i++)
		;
}

void unwind_capture(uintptr_t *scratch, int max, uintptr_t stack_lo, uintptr_t stack_hi,
                    const struct stack_rec *hint, const struct unwind_start *start,
                    struct capture *out)
{
	int steps = max + UNWIND_SLACK;
	/* scratch: frames, then the shape being recorded (its header and return addresses,
	 * then the saved rbps, then where each was read), then the shape packed. */
	struct walk w = {
	        .lo = stack_lo,
	        .hi = stack_hi,
	        .out = scratch,
	        .room = max + 1,
	        .shape = (struct walk_shape *)(scratch + steps),
	        .max_steps = steps,
	};
	const struct walk_shape *hint_shape = NULL;

	w.bp_values = w.shape->values + steps;
	w.ra_rels = (uint32_t *)(w.bp_values + steps);
	w.bp_rels = w.ra_rels + steps;
	w.packed = (struct walk_shape *)(w.bp_rels + steps);
	memset(out, 0, sizeof(*out));
	if (config.unwind == UNWIND_LIBUNWIND || !rules) {
		/* unw_backtrace's raw list goes where a shape would. */
		walk_backtrace(&w, (uintptr_t *)w.shape, steps);
		w.shape = NULL;
	} else {
		if (hint && hint->extra_size >= sizeof(struct walk_shape))
			hint_shape = hint->extra;
		if (walk(&w, hint_shape, start)) {
			out->same = hint;
			out->frames = hint->frames;
			out->n = (int)hint->nframes;
			out->truncated = hint_shape->truncated;
			return;
		}
	}
	out->frames = w.out;
	out->truncated = w.n > max;
	out->n = w.n > max ? max : w.n;
	if (w.shape) {
		out->shape = w.shape;
		out->shape_size = shape_size(w.shape);
	}
}

SWITCH_PATH __attribute__((noinline)) bool unwind_still(const struct stack_rec *hint,
                                                        const struct unwind_start *start,
                                                        uintptr_t stack_lo, uintptr_t stack_hi,
                                                        bool *truncated)
{
	const struct walk_shape *shape = hint->extra;

	/* A start in costack's own code: the walk would skip its frames first. */
	if (hint->extra_size < sizeof(*shape) || unwind_is_own(start->ra))
		return false;
	if (!stack_lo || stack_lo >= stack_hi) {
		stack_lo = start->sp; /* as walk() takes an unknown range */
		stack_hi = start->sp + (64u << 20);
	}
	if (!shape_holds(shape, stack_lo, stack_hi, start->sp, start->bp, start->ra))
		return false;
	*truncated = shape->truncated;
	return true;
}

int unwind_signal_frames(void *ucontext, uintptr_t *frames, int max, bool *truncated)
{
	unw_cursor_t cursor;
	unw_word_t pc;
	int n = 0;

	*truncated = false;
	if (!deps_unwind())
		return 0;
	/* The interrupted instruction is not a return address: no "pc - 1" for
	 * the first frame's CFI row. */
	if (unw_init_local2(&cursor, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) != 0)
		return 0;
	for (int steps = 0; steps < max + UNWIND_SLACK; steps++) {
		if (unw_get_reg(&cursor, UNW_REG_IP, &pc) != 0 || !pc || is_bottom(pc))
			break;
		if (pc >= (uintptr_t)__start_costack_tramp && pc < (uintptr_t)__stop_costack_tramp)
			break; /* a task's start: what is older is glibc's */
		if (n == max) {
			*truncated = true;
			break;
		}
		frames[n++] = pc;
		if (unw_step(&cursor) <= 0)
			break;
	}
	return n;
}
