/* SPDX-License-Identifier: MIT */
/* fd_place.h - where costack's own descriptors go: out of the way of the numbers a program gets
 * from open(). */
#ifndef COSTACK_FD_PLACE_H
#define COSTACK_FD_PLACE_H

/* The top of the descriptors a program counts on: below the soft RLIMIT_NOFILE, at most this. */
#define FD_CEILING 1024
#define FD_LOWEST 16

/*
 * Move fd to the highest free number below the soft RLIMIT_NOFILE (at most FD_CEILING), among
 * the top 64: the program's own descriptors keep the numbers they would have had. Returns the
 * new number (close-on-exec), or -1 when none is free that high: fd is then closed. errno is
 * preserved.
 */
int fd_out_of_the_way(int fd);

#endif
