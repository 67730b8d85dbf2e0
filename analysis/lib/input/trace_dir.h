/* SPDX-License-Identifier: MIT */
/* trace_dir.h - the CTF traces under a directory, each found once, its metadata checked. */
#ifndef COSTACK_TRACE_DIR_H
#define COSTACK_TRACE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One trace: the directories holding it (a trace's UUID may be in several, as LTTng's
 * rotation writes it; babeltrace2 merges them, dropping packets they share). */
struct trace_group {
	uint8_t uuid[16];
	bool has_uuid;
	char **dirs;
	size_t ndirs;
};

struct trace_list {
	struct trace_group *groups;
	size_t ngroups;
};

/*
 * Find the traces under dir (dir included, at most 8 levels down): each
 * directory holding a file "metadata", visited once however many symbolic
 * links lead to it, grouped by trace UUID. Each metadata file is checked
 * before babeltrace2 reads it: CTF 1.8, text or packets, every packet whole
 * (babeltrace2 2.0 hangs on a truncated one), of one UUID.
 *
 * 0 and *list filled (free it with trace_list_free), or -1 and message holds
 * "cannot read trace DIR: why" (no such directory, not a directory, no trace
 * in it, a symbolic link loop, a metadata file that is not CTF 1.8 or is
 * truncated).
 */
int trace_dir_find(const char *dir, struct trace_list *list, char *message, size_t size);

void trace_list_free(struct trace_list *list);

/*
 * Check the CTF metadata of len bytes at data; 0 (with the trace's UUID in
 * uuid and *has_uuid when it tells one), or -1 with why in message.
 */
int trace_metadata_check(const unsigned char *data, size_t len, uint8_t uuid[16], bool *has_uuid,
                         char *message, size_t size);

#endif
