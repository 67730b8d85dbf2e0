/* SPDX-License-Identifier: MIT */
/* symbolize.h - code addresses of a process to function, file:line and inlined frames (libdw). */
#ifndef COSTACK_SYMBOLIZE_H
#define COSTACK_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One source-level frame. Strings point into the symbolizer's cache and stay
 * valid until symbolizer_destroy(); any of them may be NULL when unknown. */
struct sym_frame {
	const char *function; /* demangled when a demangler is loaded in the process */
	const char *file;     /* source file, as recorded in DWARF */
	int line;             /* 0 if unknown */
	bool inlined;         /* true for a frame that was inlined into the next one out */
	const char *module;   /* path of the ELF object holding the address */
	uint64_t offset;      /* address relative to the module's load base */
};
/*
 * offset is pc minus the module's load bias, i.e. the address as objdump and
 * addr2line -e show it in the file (for PIE and shared objects: pc minus the
 * load base). It is always computed from pc as passed, also when
 * is_return_address makes the lookup use pc - 1. With no module known,
 * offset is pc itself. All frames of one lookup share module and offset.
 */

struct symbolizer;

/* A symbolizer for the calling process (reads /proc/self/maps lazily). NULL on failure. */
struct symbolizer *symbolizer_new_self(void);
/*
 * A symbolizer for process pid, read from outside (/proc/PID/maps, lazily;
 * the caller must be allowed to ptrace it for that). Its module list is
 * read again when an address is in no known module (at most every 50 ms).
 * It loads the C++ runtime into the calling process for __cxa_demangle,
 * which a preload must not do: for readers such as the costack command.
 * NULL on failure.
 */
struct symbolizer *symbolizer_new_pid(pid_t pid);
void symbolizer_destroy(struct symbolizer *s);
/* Forget the module list, so objects dlopen()ed since are seen. */
void symbolizer_refresh(struct symbolizer *s);

/*
 * Describe the code address pc. When is_return_address is true, pc is a
 * return address and the call instruction before it is looked up (pc - 1).
 * Writes up to cap frames, outermost first: the physical function, then the
 * functions inlined into it down to the innermost one holding pc. Returns
 * the number written (at least 1 when cap >= 1: a frame with only module and
 * offset, or nothing known at all, when no symbol covers pc). When there are
 * more than cap frames, the innermost ones are left out.
 *
 * Modules are read from /proc/self/maps on first use and again when the
 * dynamic loader's dlopen/dlclose counters have moved or pc is in no known
 * module (another process': from /proc/PID/maps, again only for such a pc).
 * Results are cached; call symbolizer_refresh() after objects were unmapped
 * and others mapped at the same addresses behind the loader's back.
 * Thread-safe.
 */
int symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool is_return_address,
                      struct sym_frame *out, int cap);

/*
 * Offline: ELF files named by the caller (a recorded trace's modules), no
 * process. Like symbolizer_new_pid(), it loads the C++ runtime for the
 * demangler: for readers only. NULL on failure.
 */
struct symbolizer *symbolizer_new_files(void);
/*
 * Add the module recorded as path (absolute) with this build ID (len 0:
 * none recorded) and .gnu_debuglink name (NULL: none). Tried in turn: path
 * itself, /usr/lib/debug/.build-id/xx/rest.debug, and the debug link next
 * to path, in .debug/ beside it and under /usr/lib/debug/DIR; with a build
 * ID, a file counts only if it has the same one (a binary rebuilt since the
 * recording is not used). The file found gets its DWARF as a process'
 * objects do (build ID, debug link). Frames name the module path, as
 * recorded. Returns the file's index, with *load_vaddr the p_vaddr of its
 * first PT_LOAD (an address in the file is pc - load base + *load_vaddr),
 * or -1 when no file fits.
 */
int symbolizer_add_file(struct symbolizer *s, const char *path, const void *build_id,
                        size_t build_id_len, const char *debug_link, uint64_t *load_vaddr);
/*
 * symbolizer_lookup() for the address addr of file (symbolizer_add_file's
 * index), in the file's own terms (as objdump shows it); offset is addr.
 */
int symbolizer_lookup_file(struct symbolizer *s, int file, uint64_t addr, bool is_return_address,
                           struct sym_frame *out, int cap);

#endif
