/* SPDX-License-Identifier: MIT */
/* fd_place.c - costack's own descriptors moved to the top of the program's range. */
#define _GNU_SOURCE
#include "fd_place.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int fd_out_of_the_way(int fd)
{
	struct rlimit limit;
	rlim_t top = FD_CEILING;
	int saved_errno = errno, placed = -1;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < top)
		top = limit.rlim_cur;
	for (rlim_t want = top; want-- > FD_LOWEST && want + 64 > top && placed < 0;) {
		int moved = fcntl(fd, F_DUPFD_CLOEXEC, (int)want);

		if (moved == (int)want)
			placed = moved;
		else if (moved >= 0)
			close(moved);
	}
	close(fd);
	errno = saved_errno;
	return placed;
}
