/* SPDX-License-Identifier: MIT */
/* symbolize.c - code addresses of a process to function, file:line and inlined frames (libdwfl). */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <libelf.h>

/*
 * Two builds of this file: the analysis' has every mode; the preload's (COSTACK_PRELOAD) has
 * the calling process' only, reaches libdw through deps.h's pointers (it links none), and has
 * neither another process' mode nor the files' nor their demangler loader, which loads the
 * C++ runtime: a preload must not.
 */
#ifdef COSTACK_PRELOAD
#include "fd_place.h"
#include "deps.h"
#endif

/*
 * Results are cached per (pc, is_return_address). The table is flushed
 * whenever it reaches this size, which bounds memory for programs that
 * symbolize many distinct addresses; strings live on in the intern table
 * because callers may still hold pointers to them.
 */
#define CACHE_MAX (1u << 16)
/* Another process' maps are read again for an unknown address at most this often. */
#define REREPORT_NS 50000000u

typedef char *(*demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

struct cache_entry {
	uint64_t pc;
	bool ret;
	uint32_t file; /* 0: the process; else 1 + an index of files */
	int n;
	struct sym_frame frames[];
};

/* Snapshot of the dynamic loader's load/unload counters. */
struct dl_counts {
	unsigned long long adds;
	unsigned long long subs;
};

struct symbolizer {
	pthread_mutex_t lock;
	Dwfl *dwfl;
	bool reported;
	struct dl_counts dl;  /* loader counters at the last report */
	pid_t pid;            /* another process (symbolizer_new_pid); 0: this one */
	uint64_t reported_ns; /* CLOCK_MONOTONIC of the last report */

	/* Interned strings: every string handed out, freed only at destroy. */
	char **strs;
	size_t nstrs, strcap;

	/* symbolizer_new_files(): the files added, looked up by file address. */
	struct sym_file *files;
	size_t nfiles, filecap;

	/* Open-addressed cache of resolved addresses. */
	struct cache_entry **cache;
	size_t ncache, cachecap;

	/* Accessed atomically, outside lock: see probe_demangler(). */
	demangle_fn demangle;
	void *demangle_handle;
	unsigned long long demangle_probed; /* 1 + dl adds at last probe */
};

/* An ELF file of an offline symbolizer, alone in its Dwfl at bias 0. */
struct sym_file {
	Dwfl *dwfl;
	Dwfl_Module *mod;
};

/* Growable list of frames while resolving one address. */
struct frame_vec {
	struct sym_frame *v;
	int n, cap;
};

/* libdwfl keeps a pointer to this; NULL means its default search path. */
static char *debuginfo_path;

static int find_debuginfo_local(Dwfl_Module *mod, void **userdata, const char *modname,
                                GElf_Addr base, const char *file_name, const char *debuglink_file,
                                GElf_Word debuglink_crc, char **debuginfo_file_name);

/* Callbacks are constants, calls through deps.h's pointers are not. */
static int find_elf_proc(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                         char **file_name, Elf **elfp)
{
	int fd = dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);

#ifdef COSTACK_PRELOAD
	/* In a program of someone else's, no descriptor stays: the file is mapped whole, and
	 * the program's next open() gets the number it would have had. */
	if (fd >= 0 && !*elfp) {
		*elfp = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		if (*elfp) {
			elf_cntl(*elfp, ELF_C_FDDONE);
			close(fd);
			fd = -1;
		}
	}
#endif
	return fd;
}

#ifndef COSTACK_PRELOAD
static int find_elf_build_id(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, char **file_name, Elf **elfp)
{
	return dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
}
#endif

static const Dwfl_Callbacks proc_callbacks = {
        .find_elf = find_elf_proc,
        .find_debuginfo = find_debuginfo_local,
        .debuginfo_path = &debuginfo_path,
};

#ifndef COSTACK_PRELOAD
/* Files named by the caller: reported with their descriptor, so find_elf is unused. */
static const Dwfl_Callbacks file_callbacks = {
        .find_elf = find_elf_build_id,
        .find_debuginfo = find_debuginfo_local,
        .debuginfo_path = &debuginfo_path,
};
#endif

/* Open path if it is the separate debug file of mod: same build ID. */
static int open_if_same_build_id(Dwfl_Module *mod, const char *path, char **debuginfo_file_name)
{
	const unsigned char *want;
	const void *got = NULL;
	GElf_Addr vaddr;
	ssize_t got_len = -1;
	int want_len, fd;
	Elf *elf;

	want_len = dwfl_module_build_id(mod, &want, &vaddr);
	if (want_len <= 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf)
		got_len = dwelf_elf_gnu_build_id(elf, &got);
	if (got_len != want_len || memcmp(got, want, want_len)) {
		elf_end(elf);
		close(fd);
		return -1;
	}
	elf_end(elf);
	*debuginfo_file_name = strdup(path); /* libdwfl frees it */
	return fd;
}

static int try_debuglink(Dwfl_Module *mod, const char *prefix, const char *dir, int dirlen,
                         const char *sub, const char *link, const char *self,
                         char **debuginfo_file_name)
{
	char *path;
	int fd = -1;

	if (asprintf(&path, "%s%.*s%s/%s", prefix, dirlen, dir, sub, link) < 0)
		return -1;
	if (strcmp(path, self))
		fd = open_if_same_build_id(mod, path, debuginfo_file_name);
	free(path);
	return fd;
}

/*
 * dwfl_standard_find_debuginfo() without its last resort: in elfutils
 * 0.188, when nothing is found locally it dlopen()s libdebuginfod (with
 * libcurl, gnutls, krb5, ...) into the process and, if DEBUGINFOD_URLS is
 * set as Debian does for login shells, downloads debug info from the
 * network, all while this process' program waits on our lock. Inside
 * someone else's program we only look on disk: by build ID under
 * /usr/lib/debug/.build-id (how distributions ship debug info), then for
 * the .gnu_debuglink name next to the object, in .debug/ beside it, and
 * under /usr/lib/debug/<dir>/, accepting a file only with the object's
 * build ID.
 */
static int find_debuginfo_on_disk(Dwfl_Module *mod, void **userdata, const char *modname,
                                  GElf_Addr base, const char *file_name, const char *debuglink_file,
                                  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	char *canon = NULL, *deflink = NULL;
	const char *name, *link, *slash;
	int fd, dirlen;

	fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
	                                  debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !file_name)
		return fd;

	/* Debug files sit by the real file, not by a symlink to it. */
	canon = realpath(file_name, NULL);
	name = canon ? canon : file_name;
	slash = strrchr(name, '/');
	if (!slash)
		goto out;
	dirlen = (int)(slash - name);
	link = debuglink_file;
	if (!link) {
		if (asprintf(&deflink, "%s.debug", slash + 1) < 0)
			goto out;
		link = deflink;
	}
	/* An absolute name is a dwz alt file; those go by build ID above. */
	if (link[0] == '/')
		goto out;

	fd = try_debuglink(mod, "", name, dirlen, "", link, name, debuginfo_file_name);
	if (fd < 0)
		fd = try_debuglink(mod, "", name, dirlen, "/.debug", link, name,
		                   debuginfo_file_name);
	if (fd < 0)
		fd = try_debuglink(mod, "/usr/lib/debug", name, dirlen, "", link, name,
		                   debuginfo_file_name);
out:
	free(deflink);
	free(canon);
	return fd;
}

static int find_debuginfo_local(Dwfl_Module *mod, void **userdata, const char *modname,
                                GElf_Addr base, const char *file_name, const char *debuglink_file,
                                GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	int fd = find_debuginfo_on_disk(mod, userdata, modname, base, file_name, debuglink_file,
	                                debuglink_crc, debuginfo_file_name);

#ifdef COSTACK_PRELOAD
	/* libdwfl keeps a debug file's descriptor: in someone else's program, at the top of
	 * its range, not among the numbers its open() gets. */
	if (fd >= 0)
		fd = fd_out_of_the_way(fd);
#endif
	return fd;
}

static uint64_t hash_u64(uint64_t x)
{
	/* splitmix64 finalizer: code addresses share their high bits. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_str(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*p) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int strs_grow(struct symbolizer *s)
{
	size_t ncap = s->strcap ? s->strcap * 2 : 256;
	char **n = calloc(ncap, sizeof(*n));
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < s->strcap; i++) {
		size_t j;

		if (!s->strs[i])
			continue;
		j = hash_str(s->strs[i]) & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = s->strs[i];
	}
	free(s->strs);
	s->strs = n;
	s->strcap = ncap;
	return 0;
}

/*
 * Return a copy of str owned by the symbolizer, shared between all frames
 * that name it. NULL for NULL, and on allocation failure (the field is then
 * simply unknown).
 */
static const char *intern(struct symbolizer *s, const char *str)
{
	size_t i;
	char *dup;

	if (!str)
		return NULL;
	if ((s->nstrs + 1) * 2 > s->strcap && strs_grow(s))
		return NULL;
	i = hash_str(str) & (s->strcap - 1);
	while (s->strs[i]) {
		if (!strcmp(s->strs[i], str))
			return s->strs[i];
		i = (i + 1) & (s->strcap - 1);
	}
	dup = strdup(str);
	if (!dup)
		return NULL;
	s->strs[i] = dup;
	s->nstrs++;
	return dup;
}

static uint64_t cache_hash(uint64_t pc, bool ret, uint32_t file)
{
	return hash_u64(pc ^ (uint64_t)ret ^ ((uint64_t)file << 1));
}

static size_t cache_slot(const struct symbolizer *s, uint64_t pc, bool ret, uint32_t file)
{
	return cache_hash(pc, ret, file) & (s->cachecap - 1);
}

static struct cache_entry *cache_find(struct symbolizer *s, uint64_t pc, bool ret, uint32_t file)
{
	size_t i;

	if (!s->cachecap)
		return NULL;
	i = cache_slot(s, pc, ret, file);
	while (s->cache[i]) {
		if (s->cache[i]->pc == pc && s->cache[i]->ret == ret && s->cache[i]->file == file)
			return s->cache[i];
		i = (i + 1) & (s->cachecap - 1);
	}
	return NULL;
}

static void cache_flush(struct symbolizer *s)
{
	size_t i;

	for (i = 0; i < s->cachecap; i++) {
		free(s->cache[i]);
		s->cache[i] = NULL;
	}
	s->ncache = 0;
}

static int cache_grow(struct symbolizer *s)
{
	size_t ncap = s->cachecap ? s->cachecap * 2 : 256;
	struct cache_entry **n = calloc(ncap, sizeof(*n));
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < s->cachecap; i++) {
		struct cache_entry *e = s->cache[i];
		size_t j;

		if (!e)
			continue;
		j = cache_hash(e->pc, e->ret, e->file) & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = e;
	}
	free(s->cache);
	s->cache = n;
	s->cachecap = ncap;
	return 0;
}

/* Takes ownership of e; frees it when it cannot be stored. */
static void cache_insert(struct symbolizer *s, struct cache_entry *e)
{
	size_t i;

	if (s->ncache >= CACHE_MAX)
		cache_flush(s);
	if ((s->ncache + 1) * 2 > s->cachecap && cache_grow(s)) {
		free(e);
		return;
	}
	i = cache_slot(s, e->pc, e->ret, e->file);
	while (s->cache[i])
		i = (i + 1) & (s->cachecap - 1);
	s->cache[i] = e;
	s->ncache++;
}

static int dl_counts_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct dl_counts *c = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c->adds = info->dlpi_adds;
		c->subs = info->dlpi_subs;
	}
	return 1; /* the counters are the same in every entry */
}

/*
 * The loader's counters tell whether anything was dlopen()ed or dlclose()d
 * since the modules were last reported, without reading /proc/self/maps.
 */
static void get_dl_counts(struct dl_counts *c)
{
	c->adds = 0;
	c->subs = 0;
	dl_iterate_phdr(dl_counts_cb, c);
}

/*
 * __cxa_demangle lives in the C++ runtime, which the preload must not pull
 * into C programs. A C++ program has it loaded already; a C program may
 * dlopen() a C++ plugin later, RTLD_LOCAL and so out of RTLD_DEFAULT's
 * reach, hence the RTLD_NOLOAD look into the usual runtimes. Probe again
 * only when the loader has loaded something since the last probe. The
 * handle keeps the runtime from being unloaded under us.
 */
static void probe_demangler(struct symbolizer *s, const struct dl_counts *dl)
{
	static const char *const runtimes[] = {
	        "libstdc++.so.6",
	        "libc++abi.so.1",
	        "libc++.so.1",
	};
	demangle_fn fn, none = NULL;
	void *h = NULL;
	size_t i;

	if (__atomic_load_n(&s->demangle, __ATOMIC_ACQUIRE) ||
	    __atomic_exchange_n(&s->demangle_probed, dl->adds + 1, __ATOMIC_RELAXED) ==
	            dl->adds + 1)
		return;

	fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
	for (i = 0; !fn && i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
		h = dlopen(runtimes[i], RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			continue;
		fn = (demangle_fn)dlsym(h, "__cxa_demangle");
		if (!fn) {
			dlclose(h);
			h = NULL;
		}
	}
	if (!fn)
		return;
	/* Another thread may have found it meanwhile; one handle is enough. */
	if (__atomic_compare_exchange_n(&s->demangle, &none, fn, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE))
		__atomic_store_n(&s->demangle_handle, h, __ATOMIC_RELEASE);
	else if (h)
		dlclose(h);
}

/* Intern name, demangled when it is a C++ (Itanium ABI) symbol and we can. */
static const char *intern_name(struct symbolizer *s, const char *name)
{
	demangle_fn dem = __atomic_load_n(&s->demangle, __ATOMIC_ACQUIRE);
	const char *ret;
	char *d;
	int status = -1;

	if (!name || name[0] != '_' || name[1] != 'Z' || !dem)
		return intern(s, name);
	d = dem(name, NULL, NULL, &status);
	if (status != 0 || !d) {
		free(d);
		return intern(s, name);
	}
	ret = intern(s, d);
	free(d);
	return ret;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * (Re-)read the module list from /proc/PID/maps. dwfl_report_begin keeps
 * modules that are reported again unchanged, so their parsed DWARF is kept;
 * modules no longer mapped are dropped.
 */
static void report(struct symbolizer *s, bool flush)
{
	dwfl_report_begin(s->dwfl);
	/* On failure keep whatever part of the list got reported. */
	dwfl_linux_proc_report(s->dwfl, s->pid ? s->pid : getpid());
	dwfl_report_end(s->dwfl, NULL, NULL);
	s->reported = true;
	s->reported_ns = monotonic_ns();
	if (flush)
		cache_flush(s);
}

static struct sym_frame *vec_push(struct frame_vec *fv)
{
	struct sym_frame *f;

	if (fv->n == fv->cap) {
		int ncap = fv->cap ? fv->cap * 2 : 4;
		struct sym_frame *n = realloc(fv->v, ncap * sizeof(*n));

		if (!n)
			return NULL;
		fv->v = n;
		fv->cap = ncap;
	}
	f = &fv->v[fv->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

/* The name a DIE's function is known by to the linker, else its DWARF name. */
static const char *die_function_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	/*
	 * _integrate follows DW_AT_abstract_origin and DW_AT_specification,
	 * which is where inlined and out-of-class definitions keep names.
	 */
	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	return name;
}

/* File and line from which the inlined subroutine DIE was called. */
static void die_call_site(struct symbolizer *s, Dwarf_Die *die, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word val;
	Dwarf_Files *files;
	Dwarf_Die cu;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &val) == 0)
		*line = (int)val;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &val) != 0)
		return;
	/* The file index refers to the line table of the DIE's own unit. */
	if (!dwarf_diecu(die, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, NULL) != 0)
		return;
	*file = intern(s, dwarf_filesrc(files, val, NULL, NULL));
}

static bool is_function_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

/*
 * The innermost scope (function, inlined subroutine, lexical block) holding addr among the
 * descendants of parent, found by walking all of them: the fallback when dwarf_getscopes()
 * finds none. GCC nests a lambda's operator() in its closure type, inside the function that
 * made it, whose own ranges do not cover the lambda's code; dwarf_getscopes() prunes by those
 * ranges and never gets there. Bounded in depth; slow, but its answers are cached.
 */
static bool scope_by_walk(Dwarf_Die *parent, Dwarf_Addr addr, int depth, Dwarf_Die *found)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);

		if ((is_function_tag(tag) || tag == DW_TAG_lexical_block) &&
		    dwarf_haspc(&child, addr) > 0) {
			*found = child;
			scope_by_walk(&child, addr, depth + 1, found); /* anything deeper */
			return true;
		}
		if (dwarf_haschildren(&child) > 0 && scope_by_walk(&child, addr, depth + 1, found))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/*
 * Append the source frames for addr, outermost first, to fv.
 *
 * dwarf_getscopes() gives the innermost scope holding addr, but above an
 * inlined subroutine it continues with the scopes of the abstract
 * definition rather than the code the subroutine was inlined into. As
 * eu-addr2line -i does, ask again with dwarf_getscopes_die() from the
 * innermost scope, which walks the concrete tree: inlined subroutines
 * (and lexical blocks) out to the physical subprogram.
 *
 * With that chain d[0] (innermost) .. d[k] (the subprogram), the frame for
 * d[0] is at addr's own line table row, and the frame for every outer
 * d[j] is at the call site recorded on d[j-1] (DW_AT_call_file/line), that
 * is where d[j] called the function inlined into it. dwaddr is the address
 * in DWARF terms (bias removed). Returns the number of frames added; 0 when
 * there is no DWARF function for it.
 */
static int dwarf_frames(struct symbolizer *s, Dwarf_Die *cudie, Dwarf_Addr dwaddr,
                        const char *line_file, int line_no, struct frame_vec *fv)
{
	Dwarf_Die *scopes = NULL, *fns = NULL;
	Dwarf_Die inner;
	int nscopes, nfns = 0, i, added = 0;

	nscopes = dwarf_getscopes(cudie, dwaddr, &scopes);
	if (nscopes > 0)
		inner = scopes[0];
	else if (!scope_by_walk(cudie, dwaddr, 0, &inner))
		goto out;
	free(scopes);
	scopes = NULL;
	nscopes = dwarf_getscopes_die(&inner, &scopes);
	if (nscopes <= 0)
		goto out;

	fns = malloc(nscopes * sizeof(*fns));
	if (!fns)
		goto out;
	for (i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (!is_function_tag(tag))
			continue;
		fns[nfns++] = scopes[i];
		/*
		 * A subprogram is physical code: whatever encloses it (a GNU
		 * C nested function's parent) is not on this frame.
		 */
		if (tag != DW_TAG_inlined_subroutine)
			break;
	}

	for (i = nfns - 1; i >= 0; i--) {
		struct sym_frame *f = vec_push(fv);

		if (!f)
			break;
		f->function = intern_name(s, die_function_name(&fns[i]));
		f->inlined = i != nfns - 1;
		if (i == 0) {
			f->file = line_file;
			f->line = line_no;
		} else {
			die_call_site(s, &fns[i - 1], &f->file, &f->line);
		}
		added++;
	}
out:
	free(fns);
	free(scopes);
	return added;
}

/*
 * The compile unit holding addr. libdw 0.188 maps addresses to units only
 * through .debug_aranges, which clang and rustc do not emit by default
 * (and which may cover only some units), so when that fails ask every unit
 * whether its ranges hold addr: slower, but lookups are cached.
 */
static Dwarf_Die *find_cu(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);

	if (cu)
		return cu;
	while ((cu = dwfl_module_nextcu(mod, cu, bias)))
		if (dwarf_haspc(cu, addr - *bias) > 0)
			return cu;
	return NULL;
}

/*
 * Resolve addr (already pc - 1 for return addresses) in mod. Fills fv with
 * at least one frame unless out of memory.
 */
static void module_frames(struct symbolizer *s, Dwfl_Module *mod, uint64_t pc, Dwarf_Addr addr,
                          struct frame_vec *fv)
{
	const char *modname, *line_file = NULL, *symname;
	Dwarf_Addr start = 0, bias = 0, dwbias = 0;
	Dwarf_Die *cudie;
	Dwarf_Line *line;
	uint64_t offset;
	GElf_Off symoff;
	GElf_Sym sym;
	int line_no = 0, i, n;

	/*
	 * The load bias makes offsets match the addresses objdump and
	 * addr2line -e show for the file (for PIE and shared objects it is
	 * the load base). Without the ELF file, the lowest mapped address is
	 * the best guess at the base.
	 */
	modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	offset = pc - (dwfl_module_getelf(mod, &bias) ? bias : start);

	n = 0;
	cudie = find_cu(mod, addr, &dwbias);
	if (cudie) {
		/* The line row from the same unit the scopes come from. */
		line = dwarf_getsrc_die(cudie, addr - dwbias);
		if (line) {
			line_file = intern(s, dwarf_linesrc(line, NULL, NULL));
			if (dwarf_lineno(line, &line_no))
				line_no = 0;
		}
		n = dwarf_frames(s, cudie, addr - dwbias, line_file, line_no, fv);
	}
	if (n == 0) {
		struct sym_frame *f = vec_push(fv);

		if (!f)
			return;
		f->file = line_file;
		f->line = line_no;
		n = 1;
	}

	/*
	 * Stripped code, or a DIE without a name: the ELF symbol tables
	 * (.symtab, else .dynsym) still name the physical function.
	 */
	if (!fv->v[0].function) {
		symname = dwfl_module_addrinfo(mod, addr, &symoff, &sym, NULL, NULL, NULL);
		fv->v[0].function = intern_name(s, symname);
	}

	modname = intern(s, modname);
	for (i = 0; i < n; i++) {
		fv->v[i].module = modname;
		fv->v[i].offset = offset;
	}
}

/*
 * dwfl_addrmodule() answers the last module for any address above it
 * (elfutils 0.188), so check the module really spans addr.
 */
static Dwfl_Module *find_module(struct symbolizer *s, Dwarf_Addr addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	Dwarf_Addr start, end;

	if (!mod || !dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL))
		return NULL;
	return addr >= start && addr < end ? mod : NULL;
}

static struct cache_entry *resolve(struct symbolizer *s, uint64_t pc, bool ret,
                                   const struct dl_counts *dl)
{
	Dwarf_Addr addr = ret ? pc - 1 : pc;
	struct frame_vec fv = {NULL, 0, 0};
	struct cache_entry *e = NULL;
	bool reported_now = false;
	Dwfl_Module *mod;

	/*
	 * Something was dlopen()ed or dlclose()d: the module list and any
	 * cached result may be stale. (Our loader's counters say nothing of
	 * another process.)
	 */
	if (!s->reported || (!s->pid && (dl->adds != s->dl.adds || dl->subs != s->dl.subs))) {
		report(s, s->reported);
		s->dl = *dl;
		reported_now = true;
	}
	mod = find_module(s, addr);
	/*
	 * Mapped behind the loader's back, or (another process) loaded since
	 * the last report; the cache stays valid. Another process' junk
	 * addresses re-read its maps at most every REREPORT_NS.
	 */
	if (!mod && !reported_now && (!s->pid || monotonic_ns() - s->reported_ns >= REREPORT_NS)) {
		report(s, false);
		mod = find_module(s, addr);
	}

	if (mod) {
		module_frames(s, mod, pc, addr, &fv);
	} else {
		/*
		 * Unknown: cached too, so junk addresses do not re-read
		 * /proc/self/maps every time.
		 */
		struct sym_frame *f = vec_push(&fv);

		if (f)
			f->offset = pc;
	}
	if (fv.n == 0)
		goto out;

	e = malloc(sizeof(*e) + fv.n * sizeof(e->frames[0]));
	if (!e)
		goto out;
	e->pc = pc;
	e->ret = ret;
	e->file = 0;
	e->n = fv.n;
	memcpy(e->frames, fv.v, fv.n * sizeof(e->frames[0]));
	cache_insert(s, e);
	e = cache_find(s, pc, ret, 0);
out:
	free(fv.v);
	return e;
}

struct symbolizer *symbolizer_new_self(void)
{
	struct symbolizer *s;

#ifdef COSTACK_PRELOAD
	if (!deps_load() && !deps_dwarf())
		return NULL;
#endif
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dwfl = dwfl_begin(&proc_callbacks);
	if (!s->dwfl)
		goto fail;
	if (pthread_mutex_init(&s->lock, NULL))
		goto fail_dwfl;
	return s;

fail_dwfl:
	dwfl_end(s->dwfl);
fail:
	free(s);
	return NULL;
}

#ifndef COSTACK_PRELOAD
/*
 * A reader of another process is a program of our own (the costack
 * command), free to load the C++ runtime for its demangler: the target's
 * C++ names are demangled even where the reader is plain C.
 */
static void load_demangler(struct symbolizer *s)
{
	static const char *const runtimes[] = {"libstdc++.so.6", "libc++abi.so.1"};
	demangle_fn fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
	void *h = NULL;

	for (size_t i = 0; !fn && i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
		h = dlopen(runtimes[i], RTLD_LAZY | RTLD_LOCAL);
		fn = h ? (demangle_fn)dlsym(h, "__cxa_demangle") : NULL;
		if (h && !fn) {
			dlclose(h);
			h = NULL;
		}
	}
	s->demangle = fn;
	s->demangle_handle = h;
}

struct symbolizer *symbolizer_new_pid(pid_t pid)
{
	struct symbolizer *s;

	if (pid <= 0)
		return NULL;
	s = symbolizer_new_self();
	if (!s)
		return NULL;
	s->pid = pid;
	load_demangler(s);
	return s;
}
#endif /* !COSTACK_PRELOAD */

void symbolizer_destroy(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	cache_flush(s);
	free(s->cache);
	for (i = 0; i < s->strcap; i++)
		free(s->strs[i]);
	free(s->strs);
	for (i = 0; i < s->nfiles; i++)
		dwfl_end(s->files[i].dwfl);
	free(s->files);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	if (s->demangle_handle)
		dlclose(s->demangle_handle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void symbolizer_refresh(struct symbolizer *s)
{
	struct dl_counts dl;

	if (!s || !s->dwfl)
		return;
	get_dl_counts(&dl);
	pthread_mutex_lock(&s->lock);
	report(s, true);
	s->dl = dl;
	pthread_mutex_unlock(&s->lock);
}

static int copy_out(const struct cache_entry *e, struct sym_frame *out, int cap)
{
	int n = e->n < cap ? e->n : cap;

	memcpy(out, e->frames, n * sizeof(*out));
	return n;
}

int symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool is_return_address,
                      struct sym_frame *out, int cap)
{
	struct cache_entry *e;
	struct dl_counts dl;
	int n;

	if (!out || cap <= 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->offset = pc;
	if (!s)
		return 1;

	pthread_mutex_lock(&s->lock);
	e = cache_find(s, pc, is_return_address, 0);
	n = e ? copy_out(e, out, cap) : 0;
	pthread_mutex_unlock(&s->lock);
	if (n)
		return n;

	/*
	 * These take the dynamic loader's lock, so take it before ours: a
	 * thread holding the loader lock (in a constructor run by dlopen)
	 * may be waiting for ours.
	 */
	get_dl_counts(&dl);
	probe_demangler(s, &dl);

	pthread_mutex_lock(&s->lock);
	e = cache_find(s, pc, is_return_address, 0);
	if (!e)
		e = resolve(s, pc, is_return_address, &dl);
	n = e ? copy_out(e, out, cap) : 1;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* --- offline: ELF files named by the caller --------------------------------- */

#ifndef COSTACK_PRELOAD

struct symbolizer *symbolizer_new_files(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		return NULL;
	}
	/* libelf needs it before elf_begin; libdwfl does it for its own use only. */
	elf_version(EV_CURRENT);
	load_demangler(s);
	return s;
}

/*
 * Open path as an ELF file; with a build ID wanted, only a file that has
 * it. Returns the descriptor (elf set) or -1.
 */
static int open_elf_with_build_id(const char *path, const unsigned char *build_id,
                                  size_t build_id_len, Elf **elfp)
{
	const void *got = NULL;
	ssize_t got_len;
	int fd;
	Elf *elf;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto fail;
	if (build_id_len) {
		got_len = dwelf_elf_gnu_build_id(elf, &got);
		if (got_len != (ssize_t)build_id_len || memcmp(got, build_id, build_id_len))
			goto fail;
	}
	*elfp = elf;
	return fd;
fail:
	if (elf)
		elf_end(elf);
	close(fd);
	return -1;
}

/* The p_vaddr of elf's first PT_LOAD (what a load base is relative to). */
static uint64_t first_load_vaddr(Elf *elf)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (ph && ph->p_type == PT_LOAD)
			return ph->p_vaddr;
	}
	return 0;
}

/* Candidate files for a module recorded as path with this build ID and debug link. */
static int find_module_file(const char *path, const unsigned char *build_id, size_t build_id_len,
                            const char *debug_link, Elf **elfp, char **chosen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 0;
	char *candidate[5] = {NULL};
	size_t n = 0;
	int fd = -1;

	if (!(candidate[n++] = strdup(path)))
		return -1;
	if (build_id_len >= 2) {
		/* /usr/lib/debug/.build-id/xx/rest.debug: how distributions ship it. */
		char hex[2 * 64 + 1];
		size_t len = build_id_len < 64 ? build_id_len : 64;

		for (size_t i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", build_id[i]);
		if (asprintf(&candidate[n], "/usr/lib/debug/.build-id/%.2s/%s.debug", hex,
		             hex + 2) >= 0)
			n++;
	}
	if (debug_link && *debug_link && debug_link[0] != '/' && slash) {
		if (asprintf(&candidate[n], "%.*s/%s", dirlen, path, debug_link) >= 0)
			n++;
		if (asprintf(&candidate[n], "%.*s/.debug/%s", dirlen, path, debug_link) >= 0)
			n++;
		if (asprintf(&candidate[n], "/usr/lib/debug%.*s/%s", dirlen, path, debug_link) >= 0)
			n++;
	}
	for (size_t i = 0; i < n && fd < 0; i++) {
		/* A debug link without a build ID to check it by could be anything. */
		if (i >= 2 && !build_id_len)
			break;
		fd = open_elf_with_build_id(candidate[i], build_id, build_id_len, elfp);
		if (fd >= 0) {
			*chosen = candidate[i];
			candidate[i] = NULL;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(candidate[i]);
	return fd;
}

int symbolizer_add_file(struct symbolizer *s, const char *path, const void *build_id,
                        size_t build_id_len, const char *debug_link, uint64_t *load_vaddr)
{
	struct sym_file f = {NULL, NULL};
	char *chosen = NULL;
	Elf *elf = NULL;
	int fd, index = -1;

	if (!s || !path || path[0] != '/')
		return -1;
	fd = find_module_file(path, build_id, build_id_len, debug_link, &elf, &chosen);
	if (fd < 0)
		return -1;
	*load_vaddr = first_load_vaddr(elf);
	elf_end(elf);
	f.dwfl = dwfl_begin(&file_callbacks);
	if (!f.dwfl)
		goto out;
	dwfl_report_begin(f.dwfl);
	/* Named as recorded; opened from the file found. libdwfl owns fd now. */
	f.mod = dwfl_report_elf(f.dwfl, path, chosen, fd, 0, true);
	fd = -1;
	dwfl_report_end(f.dwfl, NULL, NULL);
	if (!f.mod)
		goto out;
	pthread_mutex_lock(&s->lock);
	if (s->nfiles == s->filecap) {
		size_t ncap = s->filecap ? 2 * s->filecap : 16;
		struct sym_file *files = realloc(s->files, ncap * sizeof(*files));

		if (files) {
			s->files = files;
			s->filecap = ncap;
		}
	}
	if (s->nfiles < s->filecap) {
		s->files[s->nfiles] = f;
		index = (int)s->nfiles++;
		f.dwfl = NULL;
	}
	pthread_mutex_unlock(&s->lock);
out:
	if (fd >= 0)
		close(fd);
	if (f.dwfl)
		dwfl_end(f.dwfl);
	free(chosen);
	return index;
}

int symbolizer_lookup_file(struct symbolizer *s, int file, uint64_t addr, bool is_return_address,
                           struct sym_frame *out, int cap)
{
	struct frame_vec fv = {NULL, 0, 0};
	Dwarf_Addr lookup = is_return_address ? addr - 1 : addr;
	Dwarf_Addr start, end;
	struct cache_entry *e;
	Dwfl_Module *mod;
	int n = 1;

	if (!out || cap <= 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->offset = addr;
	if (!s || file < 0)
		return 1;
	pthread_mutex_lock(&s->lock);
	if ((size_t)file >= s->nfiles)
		goto out;
	e = cache_find(s, addr, is_return_address, (uint32_t)file + 1);
	if (e) {
		n = copy_out(e, out, cap);
		goto out;
	}
	mod = s->files[file].mod;
	if (dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL) && lookup >= start &&
	    lookup < end) {
		module_frames(s, mod, addr, lookup, &fv);
	} else {
		struct sym_frame *f = vec_push(&fv);

		if (f) {
			f->module = intern(
			        s, dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
			f->offset = addr;
		}
	}
	if (!fv.n)
		goto out;
	e = malloc(sizeof(*e) + fv.n * sizeof(e->frames[0]));
	if (e) {
		e->pc = addr;
		e->ret = is_return_address;
		e->file = (uint32_t)file + 1;
		e->n = fv.n;
		memcpy(e->frames, fv.v, fv.n * sizeof(e->frames[0]));
		cache_insert(s, e);
	}
	n = fv.n < cap ? fv.n : cap;
	memcpy(out, fv.v, n * sizeof(*out));
out:
	pthread_mutex_unlock(&s->lock);
	free(fv.v);
	return n;
}
#endif /* !COSTACK_PRELOAD */
