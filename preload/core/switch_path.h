/* SPDX-License-Identifier: MIT */
/* switch_path.h - where the code and the variables of a hooked switch are placed. */
#ifndef COSTACK_SWITCH_PATH_H
#define COSTACK_SWITCH_PATH_H

/*
 * On every function a hooked switch runs. GCC places hot functions together
 * (.text.hot, grouped by the linker): a switch then touches two or three
 * pages of costack's code, not seven. Pages matter more than instructions
 * where a switch is a system call (swapcontext): on a kernel that flushes
 * the TLB at every system call (page-table isolation without PCID), each
 * page touched after it costs a page walk (README, "pages per switch").
 */
#define SWITCH_PATH __attribute__((hot))
/* The same for the variables a switch reads: one section, one or two pages. */
#define SWITCH_DATA __attribute__((section(".data.costack_switch")))

#endif
