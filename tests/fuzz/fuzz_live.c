/* SPDX-License-Identifier: MIT */
/* fuzz_live.c - libFuzzer target: the live registry's reader on any bytes, in memory and in a
 * memfd that shrinks while it is read, and on files that are no memfd. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live_read.h"
#include "task_view.h"

/*
 * Built with clang -fsanitize=fuzzer,address,undefined (tests/fuzz/meson.build):
 * any read outside the image or the reader's own buffers, any overflow or
 * misaligned access is a crash. Beyond memory safety, the snapshot must
 * hold together: every task's frames exist and a limit stays inside them,
 * every string is terminated where its array ends.
 *
 * Each input is read three ways: as an image in memory (live_parse); as
 * a memfd read with pread (live_parse_file) that is cut, at a call and to
 * a length the input's hash picks, while it is read, as a hostile process
 * may do (a mapping's reader died of SIGBUS); and through
 * live_open_registry, as one of a fifo, a directory, a character device, a
 * file linked in a directory (none of them opened: LIVE_NOT_MEMFD) or a
 * memfd (then read with live_read_registry).
 */

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_task(const struct live_task *t)
{
	volatile uint64_t sink = 0;
	uint32_t first, keep;

	check(t->id != 0);
	check(t->state >= 0 && t->state <= COSTACK_STATE_UNKNOWN); /* unknown: a newer costack's */
	check(memchr(t->name, '\0', sizeof(t->name)) != NULL);
	check(memchr(t->exception_type, '\0', sizeof(t->exception_type)) != NULL);
	check(memchr(t->exception_what, '\0', sizeof(t->exception_what)) != NULL);
	check(t->nframes <= COSTACK_LIVE_MAX_FRAMES);
	check(!t->nframes || t->frames);
	for (uint32_t i = 0; i < t->nframes; i++)
		sink ^= t->frames[i]; /* ASan: every frame is ours to read */
	for (int limit = -1; limit <= 3; limit++) {
		keep = live_task_limit(t, limit, &first);
		check(keep <= t->nframes && first <= t->nframes - keep);
		check(limit <= 0 ? keep == t->nframes : keep <= (uint32_t)limit);
	}
	(void)sink;
}

/* A read's result holds together (ret: the reader's return). */
static void check_result(int ret, struct live_snapshot *snap, const struct live_error *err)
{
	if (ret == 0) {
		check(err->status == LIVE_OK);
		for (size_t i = 0; i < snap->ntasks; i++) {
			check_task(&snap->tasks[i]);
			check(!i || snap->tasks[i - 1].id <= snap->tasks[i].id);
		}
		live_snapshot_free(snap);
	} else {
		check(err->status != LIVE_OK);
		check(memchr(err->message, '\0', sizeof(err->message)) != NULL);
		check(snap->ntasks == 0 && snap->tasks == NULL);
	}
}

/* The memfd cut to `to` bytes at the `at`-th question the reader asks of it. */
struct shrink {
	int fd;
	unsigned calls, at;
	off_t to;
};

static bool shrink_has_data(void *ctx, uint64_t off, uint64_t size)
{
	struct shrink *s = ctx;

	(void)off;
	(void)size;
	if (s->calls++ == s->at)
		check(ftruncate(s->fd, s->to) == 0);
	return true;
}

/* Files that are no memfd, made once: a fifo, a directory, a file linked in a directory. */
static char impostors[64];

static void remove_impostors(void)
{
	char path[128];

	for (const char *const *n = (const char *const[]){"fifo", "file", NULL}; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", impostors, *n);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/dir", impostors);
	rmdir(path);
	rmdir(impostors);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[128];
	int fd;

	(void)argc;
	(void)argv;
	snprintf(impostors, sizeof(impostors), "/tmp/costack-fuzz-live-XXXXXX");
	check(mkdtemp(impostors) != NULL);
	atexit(remove_impostors);
	snprintf(path, sizeof(path), "%s/fifo", impostors);
	check(mkfifo(path, 0600) == 0);
	snprintf(path, sizeof(path), "%s/dir", impostors);
	check(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/file", impostors);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	check(fd >= 0 && ftruncate(fd, 1 << 16) == 0);
	close(fd);
	return 0;
}

static uint64_t hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h;
}

/* The bytes in a memfd, read with pread while it is cut; then opened as one of the files that
 * may stand where a registry's memfd would. */
static void through_files(const uint8_t *data, size_t size, uint64_t h)
{
	static const char *const kinds[] = {"fifo", "dir", "/dev/null", "file", NULL};
	struct shrink s = {.at = (unsigned)(h % 64), .to = (off_t)((h >> 8) % (size + 1))};
	struct live_parse_options opt = {.tries = 2, .has_data = shrink_has_data, .ctx = &s};
	const char *kind = kinds[(h >> 40) % 5];
	struct live_snapshot snap;
	struct live_error err;
	char path[160];
	int fd;

	s.fd = memfd_create("costack-live", MFD_CLOEXEC);
	check(s.fd >= 0 && (!size || write(s.fd, data, size) == (ssize_t)size));
	check_result(live_parse_file(s.fd, size, &opt, &snap, &err), &snap, &err);
	check(ftruncate(s.fd, 0) == 0 && (!size || pwrite(s.fd, data, size, 0) == (ssize_t)size));
	if (!kind)
		snprintf(path, sizeof(path), "/proc/self/fd/%d", s.fd);
	else if (kind[0] == '/')
		snprintf(path, sizeof(path), "%s", kind);
	else
		snprintf(path, sizeof(path), "%s/%s", impostors, kind);
	fd = live_open_registry(0, path, &err);
	if (kind) {
		check(fd < 0 && err.status == LIVE_NOT_MEMFD);
	} else {
		uint64_t claimed = 0;

		check(fd >= 0);
		/* A header of size 0 is one being made, waited for 100 ms: not each input. */
		if (size >= offsetof(struct costack_live_header, slabs))
			memcpy(&claimed, data + offsetof(struct costack_live_header, size),
			       sizeof(claimed));
		if (claimed)
			check_result(live_read_registry(0, fd, &snap, &err), &snap, &err);
		close(fd);
	}
	close(s.fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* live_parse wants its image 8-byte aligned, as a mapping is: an
	 * exact-size copy keeps ASan's eye on its end. */
	uint8_t *image = malloc(size ? size : 1);
	struct live_parse_options opt = {.tries = 2};
	struct live_snapshot snap;
	struct live_error err;

	if (!image)
		return 0;
	memcpy(image, data, size);
	check_result(live_parse(image, size, &opt, &snap, &err), &snap, &err);
	free(image);
	through_files(data, size, hash(data, size));
	return 0;
}
