/* SPDX-License-Identifier: MIT */
/* hostile_target.c - a process that pretends to run under libcostack.so, to hurt its readers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "costack-live.h"

/*
 * hostile_target MODE: what `costack ps/stacks PID` may meet in a process
 * that is not libcostack.so's, or not only. It prints "READY" and waits
 * until its standard input ends.
 *   shrink SEED  a memfd named costack-live holding SEED (a registry image
 *                of tests/fuzz/corpus) with its pid made this one's; then,
 *                until the end, its size cut to a header and restored, over
 *                and over (a mapping's reader dies of SIGBUS).
 *   fifo, chardev, directory
 *                a file of that kind named memfd:costack-live, opened and
 *                unlinked in the root of a mount namespace of its own (an
 *                empty tmpfs): /proc/PID/fd/N then reads
 *                "/memfd:costack-live (deleted)", as libcostack.so's memfd
 *                does. Opening the fifo for reading blocked its reader for
 *                ever. Needs root.
 */

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "hostile_target: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The end of stdin ends the process, whatever the main thread does. */
static void *wait_for_end(void *arg)
{
	char c;

	(void)arg;
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	_exit(0);
	return NULL;
}

static void ready(void)
{
	pthread_t t;

	printf("READY\n");
	fflush(stdout);
	if (pthread_create(&t, NULL, wait_for_end, NULL))
		die("pthread_create");
}

static _Noreturn void shrink(const char *seed)
{
	int in = open(seed, O_RDONLY | O_CLOEXEC), fd = memfd_create(COSTACK_LIVE_NAME, 0);
	const size_t fixed = offsetof(struct costack_live_header, slabs);
	static _Alignas(16) unsigned char image[1 << 20];
	struct costack_live_header *h = (struct costack_live_header *)image;
	ssize_t n;

	if (in < 0 || fd < 0)
		die(seed);
	n = read(in, image, sizeof(image));
	if (n < (ssize_t)fixed)
		die("a seed as long as a header");
	h->pid = getpid();
	if (write(fd, image, (size_t)n) != n)
		die("write");
	ready();
	for (;;) {
		if (ftruncate(fd, (off_t)fixed) || ftruncate(fd, (off_t)n) ||
		    pwrite(fd, image, (size_t)n, 0) != n)
			die("ftruncate");
	}
}

/* In a mount namespace of its own, an empty tmpfs for root. */
static void own_root(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0700") || mkdir("/tmp/old", 0700) ||
	    syscall(SYS_pivot_root, "/tmp", "/tmp/old") || chdir("/") ||
	    umount2("/old", MNT_DETACH) || rmdir("/old"))
		die("a root of its own");
}

static _Noreturn void pretend(const char *kind)
{
	const char *name = "/memfd:" COSTACK_LIVE_NAME;
	int fd;

	own_root();
	if (!strcmp(kind, "fifo")) {
		if (mkfifo(name, 0600))
			die("mkfifo");
		/* The reading end only, which does not wait: a reader's open waits for a
		 * writer, for ever. */
		fd = open(name, O_RDONLY | O_NONBLOCK);
	} else if (!strcmp(kind, "chardev")) {
		if (mknod(name, S_IFCHR | 0600, makedev(1, 3))) /* /dev/null's */
			die("mknod");
		fd = open(name, O_RDWR);
	} else {
		if (mkdir(name, 0700))
			die("mkdir");
		fd = open(name, O_RDONLY | O_DIRECTORY);
	}
	if (fd < 0 || (!strcmp(kind, "directory") ? rmdir(name) : unlink(name)))
		die(name);
	ready();
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "shrink"))
		shrink(argv[2]);
	if (argc == 2 && (!strcmp(argv[1], "fifo") || !strcmp(argv[1], "chardev") ||
	                  !strcmp(argv[1], "directory")))
		pretend(argv[1]);
	fputs("usage: hostile_target shrink SEED | fifo | chardev | directory\n", stderr);
	return 2;
}
