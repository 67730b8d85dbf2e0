// SPDX-License-Identifier: MIT
// cancel_guard.cpp - a C++ library whose function waits with a RAII guard, for cancel_host.c.
#include <cstdio>
#include <unistd.h>

extern "C" __attribute__((visibility("default"))) void guarded_wait(int ready_fd, int wait_fd);

struct guard {
	~guard()
	{
		std::printf("guard: destructor ran\n");
		std::fflush(stdout);
	}
};

// Tells it waits, then blocks in read(2), a cancellation point, until cancelled.
void guarded_wait(int ready_fd, int wait_fd)
{
	guard g;
	char c = 'r';

	if (write(ready_fd, &c, 1) != 1)
		return;
	for (;;)
		if (read(wait_fd, &c, 1) <= 0)
			return;
}
