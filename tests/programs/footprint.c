/* SPDX-License-Identifier: MIT */
/* footprint.c - what a program can see of costack's footprint: descriptors, keys, address space. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

/*
 * Usage: footprint plain|coroutine. Prints what it observes; tests/e2e/ compares the output
 * with and without the preload, which must be the same.
 *
 * Both modes first lower their limits, as `ulimit -n 64 -v 2000000` would: 64 descriptors,
 * 2,000,000 KiB of address space. plain makes no coroutine: costack must be invisible (the
 * same descriptors, the same next pthread key, none of its libraries mapped, as many files
 * opened before EMFILE, a 1.5 GiB mapping that fits). coroutine first runs a ucontext task,
 * which makes costack active: the program's next descriptor is still the lowest free one, its
 * own descriptors are the same, and the 1.5 GiB mapping still fits.
 */

#define STACK_SIZE (64 * 1024)
#define BIG_MAPPING ((size_t)1536 << 20)

static ucontext_t main_context, task_context;

static void task_entry(void)
{
	swapcontext(&task_context, &main_context);
}

static void run_a_coroutine(void)
{
	static char stack[STACK_SIZE];

	getcontext(&task_context);
	task_context.uc_stack.ss_sp = stack;
	task_context.uc_stack.ss_size = STACK_SIZE;
	task_context.uc_link = &main_context;
	makecontext(&task_context, task_entry, 0);
	swapcontext(&main_context, &task_context); /* it suspends */
	swapcontext(&main_context, &task_context); /* it ends */
}

/* The process' descriptors but costack's live registry (coroutine mode only). */
static void print_descriptors(bool but_costack)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int own = d ? dirfd(d) : -1;

	printf("descriptors:");
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		ssize_t len;

		if (e->d_name[0] == '.' || fd == own)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		link[len > 0 ? len : 0] = '\0';
		if (but_costack && strstr(link, "memfd:costack-live"))
			continue;
		printf(" %d", fd);
	}
	putchar('\n');
	if (d)
		closedir(d);
}

/* Whether a mapping of the process names text (a library's path). */
static bool mapped(const char *text)
{
	char line[PATH_MAX + 128];
	FILE *maps = fopen("/proc/self/maps", "re");
	bool found = false;

	while (maps && !found && fgets(line, sizeof(line), maps))
		found = strstr(line, text) != NULL;
	if (maps)
		fclose(maps);
	return found;
}

int main(int argc, char **argv)
{
	struct rlimit files = {64, 64}, space = {2000000ull << 10, 2000000ull << 10};
	bool coroutine = argc > 1 && !strcmp(argv[1], "coroutine");
	pthread_key_t key;
	int fd, opened = 0;
	void *big;

	if (setrlimit(RLIMIT_NOFILE, &files) != 0 || setrlimit(RLIMIT_AS, &space) != 0) {
		printf("cannot lower the limits: %s\n", strerror(errno));
		return 2;
	}
	if (coroutine)
		run_a_coroutine();

	print_descriptors(coroutine);
	fd = open("/dev/null", O_RDONLY);
	printf("first open: descriptor %d\n", fd);
	close(fd);
	big = mmap(NULL, BIG_MAPPING, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("a 1.5 GiB mapping: %s\n", big == MAP_FAILED ? strerror(errno) : "made");
	if (big != MAP_FAILED)
		munmap(big, BIG_MAPPING);
	if (coroutine)
		return 0;

	/* Nothing of costack's a program without coroutines could see. */
	if (pthread_key_create(&key, NULL) == 0)
		printf("next pthread key: %u\n", (unsigned)key);
	printf("libunwind mapped: %s, libdw mapped: %s, a registry mapped: %s\n",
	       mapped("libunwind") ? "yes" : "no", mapped("libdw") ? "yes" : "no",
	       mapped("costack-live") ? "yes" : "no");
	while (open("/dev/null", O_RDONLY) >= 0)
		opened++;
	printf("opened %d more before %s\n", opened, strerror(errno));
	return 0;
}
