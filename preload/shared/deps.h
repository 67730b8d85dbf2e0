/* SPDX-License-Identifier: MIT */
/*
 * deps.h - libunwind, libdw and libelf, loaded with dlopen(RTLD_LOCAL) so that none of their
 * symbols can interpose the program's.
 *
 * A library a preload links is loaded right after it, ahead of the program's own libraries in
 * the global search list: libunwind.so.8 would then give libstdc++ its _Unwind_* functions
 * instead of libgcc_s's (pthread_cancel skips destructors with libunwind's), and libdw would
 * bring libz, liblzma, libbz2 and libzstd ahead of the program's copies. So libcostack.so
 * links none of them: this header, included after their own headers, turns each function the
 * preload calls into a pointer that deps_load() fills from a handle of their own. The analysis
 * side, a program of its own, links them normally and does not include this header.
 */
#ifndef COSTACK_DEPS_H
#define COSTACK_DEPS_H

#include <stdbool.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

/* The sonames of Debian 12's libraries (ABI-stable for years). */
#define DEPS_LIBUNWIND "libunwind.so.8"
#define DEPS_LIBDW "libdw.so.1" /* it needs libelf.so.1, found through its handle */

#define DEPS_LIBUNWIND_FUNCTIONS(X)                                                                \
	X(_ULx86_64_init_local)                                                                    \
	X(_ULx86_64_init_local2)                                                                   \
	X(_ULx86_64_step)                                                                          \
	X(_ULx86_64_get_reg)                                                                       \
	X(unw_backtrace)

#define DEPS_LIBDW_FUNCTIONS(X)                                                                    \
	X(dwarf_attr)                                                                              \
	X(dwarf_attr_integrate)                                                                    \
	X(dwarf_cfi_addrframe)                                                                     \
	X(dwarf_child)                                                                             \
	X(dwarf_diecu)                                                                             \
	X(dwarf_diename)                                                                           \
	X(dwarf_filesrc)                                                                           \
	X(dwarf_formstring)                                                                        \
	X(dwarf_formudata)                                                                         \
	X(dwarf_frame_cfa)                                                                         \
	X(dwarf_frame_register)                                                                    \
	X(dwarf_getcfi_elf)                                                                        \
	X(dwarf_getscopes)                                                                         \
	X(dwarf_getscopes_die)                                                                     \
	X(dwarf_getsrc_die)                                                                        \
	X(dwarf_getsrcfiles)                                                                       \
	X(dwarf_haschildren)                                                                       \
	X(dwarf_haspc)                                                                             \
	X(dwarf_lineno)                                                                            \
	X(dwarf_linesrc)                                                                           \
	X(dwarf_siblingof)                                                                         \
	X(dwarf_tag)                                                                               \
	X(dwelf_elf_gnu_build_id)                                                                  \
	X(dwfl_addrmodule)                                                                         \
	X(dwfl_begin)                                                                              \
	X(dwfl_build_id_find_debuginfo)                                                            \
	X(dwfl_end)                                                                                \
	X(dwfl_linux_proc_find_elf)                                                                \
	X(dwfl_linux_proc_report)                                                                  \
	X(dwfl_module_addrdie)                                                                     \
	X(dwfl_module_addrinfo)                                                                    \
	X(dwfl_module_build_id)                                                                    \
	X(dwfl_module_getelf)                                                                      \
	X(dwfl_module_info)                                                                        \
	X(dwfl_module_nextcu)                                                                      \
	X(dwfl_report_begin)                                                                       \
	X(dwfl_report_end)                                                                         \
	X(elf_begin)                                                                               \
	X(elf_cntl)                                                                                \
	X(elf_end)                                                                                 \
	X(elf_getdata)                                                                             \
	X(elf_nextscn)                                                                             \
	X(elf_strptr)                                                                              \
	X(elf_version)                                                                             \
	X(gelf_getshdr)                                                                            \
	X(gelf_getsym)

#define DEPS_POINTER(name) __typeof__(name) *name;
struct deps {
	DEPS_LIBUNWIND_FUNCTIONS(DEPS_POINTER)
	DEPS_LIBDW_FUNCTIONS(DEPS_POINTER)
};
#undef DEPS_POINTER

extern struct deps deps;

/*
 * Load both libraries, once (thread-safe); later calls return the first answer. True when
 * every function was found. On failure, one line on stderr says which library is missing and
 * what that costs; the functions of a library that did not load stay NULL, and callers must
 * not call them: deps_unwind() and deps_dwarf() tell.
 */
bool deps_load(void);
/* Whether libunwind's functions, and libdw's and libelf's, can be called. */
bool deps_unwind(void);
bool deps_dwarf(void);

/* From here on, a call by name goes through the pointer (but in deps.c, which fills them). */
#ifndef DEPS_FILLING
#define _ULx86_64_init_local (deps._ULx86_64_init_local)
#define _ULx86_64_init_local2 (deps._ULx86_64_init_local2)
#define _ULx86_64_step (deps._ULx86_64_step)
#define _ULx86_64_get_reg (deps._ULx86_64_get_reg)
#define unw_backtrace (deps.unw_backtrace)
#define dwarf_attr (deps.dwarf_attr)
#define dwarf_attr_integrate (deps.dwarf_attr_integrate)
#define dwarf_cfi_addrframe (deps.dwarf_cfi_addrframe)
#define dwarf_child (deps.dwarf_child)
#define dwarf_diecu (deps.dwarf_diecu)
#define dwarf_diename (deps.dwarf_diename)
#define dwarf_filesrc (deps.dwarf_filesrc)
#define dwarf_formstring (deps.dwarf_formstring)
#define dwarf_formudata (deps.dwarf_formudata)
#define dwarf_frame_cfa (deps.dwarf_frame_cfa)
#define dwarf_frame_register (deps.dwarf_frame_register)
#define dwarf_getcfi_elf (deps.dwarf_getcfi_elf)
#define dwarf_getscopes (deps.dwarf_getscopes)
#define dwarf_getscopes_die (deps.dwarf_getscopes_die)
#define dwarf_getsrc_die (deps.dwarf_getsrc_die)
#define dwarf_getsrcfiles (deps.dwarf_getsrcfiles)
#define dwarf_haschildren (deps.dwarf_haschildren)
#define dwarf_haspc (deps.dwarf_haspc)
#define dwarf_lineno (deps.dwarf_lineno)
#define dwarf_linesrc (deps.dwarf_linesrc)
#define dwarf_siblingof (deps.dwarf_siblingof)
#define dwarf_tag (deps.dwarf_tag)
#define dwelf_elf_gnu_build_id (deps.dwelf_elf_gnu_build_id)
#define dwfl_addrmodule (deps.dwfl_addrmodule)
#define dwfl_begin (deps.dwfl_begin)
#define dwfl_build_id_find_debuginfo (deps.dwfl_build_id_find_debuginfo)
#define dwfl_end (deps.dwfl_end)
#define dwfl_linux_proc_find_elf (deps.dwfl_linux_proc_find_elf)
#define dwfl_linux_proc_report (deps.dwfl_linux_proc_report)
#define dwfl_module_addrdie (deps.dwfl_module_addrdie)
#define dwfl_module_addrinfo (deps.dwfl_module_addrinfo)
#define dwfl_module_build_id (deps.dwfl_module_build_id)
#define dwfl_module_getelf (deps.dwfl_module_getelf)
#define dwfl_module_info (deps.dwfl_module_info)
#define dwfl_module_nextcu (deps.dwfl_module_nextcu)
#define dwfl_report_begin (deps.dwfl_report_begin)
#define dwfl_report_end (deps.dwfl_report_end)
#define elf_begin (deps.elf_begin)
#define elf_cntl (deps.elf_cntl)
#define elf_end (deps.elf_end)
#define elf_getdata (deps.elf_getdata)
#define elf_nextscn (deps.elf_nextscn)
#define elf_strptr (deps.elf_strptr)
#define elf_version (deps.elf_version)
#define gelf_getshdr (deps.gelf_getshdr)
#define gelf_getsym (deps.gelf_getsym)
#endif

#endif
