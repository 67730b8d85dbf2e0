/* SPDX-License-Identifier: MIT */
/* cancel_host.c - a C program cancels a thread that waits in C++ code: its destructors must run. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

/* cancel_guard.cpp: the thread's C++ frames unwind with libgcc_s's unwinder when cancelled,
 * running the guard's destructor; another unwinder bound to libstdc++ would skip it. */
void guarded_wait(int ready_fd, int wait_fd);

static int ready[2], wait_pipe[2];

static void *waiter(void *arg)
{
	(void)arg;
	guarded_wait(ready[1], wait_pipe[0]);
	return NULL;
}

int main(void)
{
	pthread_t thread;
	void *result;
	char c;

	if (pipe(ready) || pipe(wait_pipe) || pthread_create(&thread, NULL, waiter, NULL))
		return 2;
	if (read(ready[0], &c, 1) != 1) /* it waits in C++ code now, or is about to */
		return 2;
	pthread_cancel(thread);
	pthread_join(thread, &result);
	printf("host: joined, %s\n", result == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
	return result == PTHREAD_CANCELED ? 0 : 1;
}
