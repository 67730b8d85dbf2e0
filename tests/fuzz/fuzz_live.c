/* SPDX-License-Identifier: MIT */
/* fuzz_live.c - libFuzzer target: the live registry's reader (live_parse) on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "live_read.h"
#include "task_view.h"

/*
 * Built with clang -fsanitize=fuzzer,address,undefined (tests/fuzz/meson.build):
 * any read outside the image or the reader's own buffers, any overflow or
 * misaligned access is a crash. Beyond memory safety, the snapshot must
 * hold together: every task's frames exist and a limit stays inside them,
 * every string is terminated where its array ends.
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
	if (live_parse(image, size, &opt, &snap, &err) == 0) {
		check(err.status == LIVE_OK);
		for (size_t i = 0; i < snap.ntasks; i++) {
			check_task(&snap.tasks[i]);
			check(!i || snap.tasks[i - 1].id <= snap.tasks[i].id);
		}
		live_snapshot_free(&snap);
	} else {
		check(err.status != LIVE_OK);
		check(memchr(err.message, '\0', sizeof(err.message)) != NULL);
		check(snap.ntasks == 0 && snap.tasks == NULL);
	}
	free(image);
	return 0;
}
