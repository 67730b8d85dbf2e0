/* SPDX-License-Identifier: MIT */
/* trace_dir.c - the CTF traces under a directory, each found once, its metadata checked. */
#define _GNU_SOURCE
#include "trace_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashmap.h"

#define MAX_DEPTH 8
/* A metadata file larger than this is no LTTng trace's (they hold a few hundred KiB). */
#define METADATA_MAX (256u << 20)

/* --- metadata --------------------------------------------------------------------- */

#define PACKET_MAGIC 0x75d11d57u
#define PACKET_HEADER 37 /* magic, uuid[16], checksum, content and packet size, 5 bytes */
#define TEXT_START "/* CTF 1.8"

static uint32_t load32(const unsigned char *p, bool swap)
{
	uint32_t v =
	        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	return swap ? __builtin_bswap32(v) : v;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The UUID of the text's trace block (`trace { ... uuid = "..."; ... }`), if it has one. */
static bool text_uuid(const char *text, size_t len, uint8_t uuid[16])
{
	const char *trace = memmem(text, len, "trace {", 7);
	const char *p, *end = text + len;
	int n = 0;

	if (!trace)
		return false;
	p = memmem(trace, (size_t)(end - trace), "uuid = \"", 8);
	if (!p)
		return false;
	for (p += 8; p < end && *p != '"' && n < 32; p++) {
		int hi, lo;

		if (*p == '-')
			continue;
		if (p + 1 >= end || (hi = hex_digit(p[0])) < 0 || (lo = hex_digit(p[1])) < 0)
			return false;
		uuid[n / 2] = (uint8_t)(hi << 4 | lo);
		n += 2;
		p++;
	}
	return n == 32 && p < end && *p == '"';
}

int trace_metadata_check(const unsigned char *data, size_t len, uint8_t uuid[16], bool *has_uuid,
                         char *message, size_t size)
{
	size_t off = 0, packets = 0;
	bool swap;

	*has_uuid = false;
	if (len < 4 ||
	    (load32(data, false) != PACKET_MAGIC && load32(data, true) != PACKET_MAGIC)) {
		if (len < sizeof(TEXT_START) - 1 ||
		    memcmp(data, TEXT_START, sizeof(TEXT_START) - 1)) {
			snprintf(message, size,
			         "not CTF 1.8 metadata (it starts with neither "
			         "\"" TEXT_START "\" nor a metadata packet)");
			return -1;
		}
		*has_uuid = text_uuid((const char *)data, len, uuid);
		return 0;
	}
	swap = load32(data, false) != PACKET_MAGIC;
	while (off < len) {
		const unsigned char *h = data + off;
		uint32_t content, packet;

		if (len - off < PACKET_HEADER) {
			snprintf(message, size,
			         "truncated: %zu bytes after packet %zu, less than a packet header",
			         len - off, packets);
			return -1;
		}
		content = load32(h + 24, swap);
		packet = load32(h + 28, swap);
		if (load32(h, swap) != PACKET_MAGIC) {
			snprintf(message, size, "packet %zu (at byte %zu) has no packet magic",
			         packets + 1, off);
			return -1;
		}
		if (content % 8 || packet % 8 || content < PACKET_HEADER * 8 || content > packet) {
			snprintf(message, size,
			         "packet %zu (at byte %zu) has content size %u and packet size %u "
			         "bits",
			         packets + 1, off, content, packet);
			return -1;
		}
		if (h[32] || h[33] || h[34] || h[35] != 1 || h[36] != 8) {
			snprintf(message, size,
			         "packet %zu (at byte %zu) is not plain CTF 1.8 (version %u.%u, "
			         "compression %u, encryption %u, checksum %u)",
			         packets + 1, off, h[35], h[36], h[32], h[33], h[34]);
			return -1;
		}
		if (packet / 8 > len - off) {
			snprintf(message, size,
			         "truncated: packet %zu (at byte %zu) has %u bytes, the file ends "
			         "after %zu",
			         packets + 1, off, packet / 8, len - off);
			return -1;
		}
		if (!packets) {
			if (content / 8 - PACKET_HEADER < sizeof(TEXT_START) - 1 ||
			    memcmp(h + PACKET_HEADER, TEXT_START, sizeof(TEXT_START) - 1)) {
				snprintf(message, size,
				         "its text does not start with \"" TEXT_START "\"");
				return -1;
			}
			memcpy(uuid, h + 4, 16);
		} else if (memcmp(uuid, h + 4, 16)) {
			snprintf(message, size,
			         "packet %zu (at byte %zu) belongs to another trace (UUID)",
			         packets + 1, off);
			return -1;
		}
		off += packet / 8;
		packets++;
	}
	*has_uuid = true;
	return 0;
}

/* Read and check the metadata file at path; -1 with why in message. */
static int check_metadata_file(const char *path, uint8_t uuid[16], bool *has_uuid, char *message,
                               size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	unsigned char *data = NULL;
	struct stat st;
	size_t len = 0;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(message, size, "%s", strerror(errno));
		goto end;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > METADATA_MAX) {
		snprintf(message, size, "%s",
		         S_ISREG(st.st_mode) ? "larger than any trace's" : "not a regular file");
		goto end;
	}
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		snprintf(message, size, "out of memory");
		goto end;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(message, size, "%s", n ? strerror(errno) : "it shrank while read");
			goto end;
		}
		len += (size_t)n;
	}
	ret = trace_metadata_check(data, len, uuid, has_uuid, message, size);
end:
	free(data);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* --- the walk ---------------------------------------------------------------------- */

struct dir_id {
	dev_t dev;
	ino_t ino;
};

struct walk {
	const char *top;
	struct trace_list *list;
	struct hmap seen;                  /* (dev, inode) of every directory visited */
	struct dir_id path[MAX_DEPTH + 1]; /* the directories from top down to the current one */
	char *message;
	size_t size;
};

static int oom(struct walk *w)
{
	snprintf(w->message, w->size, "cannot read trace %s: out of memory", w->top);
	return -1;
}

/* Add dir (holding a trace of uuid) to its group. */
static int add_trace(struct walk *w, const char *dir, const uint8_t uuid[16], bool has_uuid)
{
	struct trace_list *l = w->list;
	struct trace_group *g = NULL;
	char **dirs;

	for (size_t i = 0; has_uuid && i < l->ngroups && !g; i++)
		if (l->groups[i].has_uuid && !memcmp(l->groups[i].uuid, uuid, 16))
			g = &l->groups[i];
	if (!g) {
		struct trace_group *groups =
		        realloc(l->groups, (l->ngroups + 1) * sizeof(*l->groups));

		if (!groups)
			return oom(w);
		l->groups = groups;
		g = &l->groups[l->ngroups++];
		memset(g, 0, sizeof(*g));
		g->has_uuid = has_uuid;
		if (has_uuid)
			memcpy(g->uuid, uuid, 16);
	}
	dirs = realloc(g->dirs, (g->ndirs + 1) * sizeof(*g->dirs));
	if (!dirs)
		return oom(w);
	g->dirs = dirs;
	g->dirs[g->ndirs] = strdup(dir);
	if (!g->dirs[g->ndirs])
		return oom(w);
	g->ndirs++;
	return 0;
}

/* dir (its stat st) at depth: its trace if it holds one, then its subdirectories. */
static int walk_dir(struct walk *w, const char *dir, const struct stat *st, int depth)
{
	struct dirent *e;
	struct stat sub;
	char *path = NULL;
	int ret = 0;
	DIR *d;

	if (hmap_put(&w->seen, st->st_dev, st->st_ino, (void *)1))
		return oom(w);
	w->path[depth] = (struct dir_id){st->st_dev, st->st_ino};
	d = opendir(dir);
	if (!d)
		return 0; /* unreadable below the top: not ours to read */
	if (asprintf(&path, "%s/metadata", dir) < 0) {
		path = NULL;
		ret = oom(w);
		goto end;
	}
	if (stat(path, &sub) == 0 && S_ISREG(sub.st_mode)) {
		uint8_t uuid[16];
		bool has_uuid;
		char why[384];

		if (check_metadata_file(path, uuid, &has_uuid, why, sizeof(why))) {
			snprintf(w->message, w->size, "cannot read trace %s: %s: %s", w->top, path,
			         why);
			ret = -1;
			goto end;
		}
		ret = add_trace(w, dir, uuid, has_uuid);
	}
	while (!ret && depth < MAX_DEPTH && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			path = NULL;
			ret = oom(w);
			break;
		}
		if (stat(path, &sub) || !S_ISDIR(sub.st_mode))
			continue;
		for (int i = 0; i <= depth; i++) {
			if (w->path[i].dev == sub.st_dev && w->path[i].ino == sub.st_ino) {
				snprintf(
				        w->message, w->size,
				        "cannot read trace %s: a symbolic link loop: %s leads back "
				        "to a directory that holds it",
				        w->top, path);
				ret = -1;
				goto end;
			}
		}
		/* Reached again by another link: its traces are listed once. */
		if (!hmap_get(&w->seen, sub.st_dev, sub.st_ino))
			ret = walk_dir(w, path, &sub, depth + 1);
	}
end:
	free(path);
	closedir(d);
	return ret;
}

int trace_dir_find(const char *dir, struct trace_list *list, char *message, size_t size)
{
	struct walk w = {.top = dir, .list = list, .message = message, .size = size};
	struct stat st;
	int ret = -1;

	memset(list, 0, sizeof(*list));
	if (stat(dir, &st) != 0) {
		snprintf(message, size, "cannot read trace %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(message, size,
		         "cannot read trace %s: not a directory (a trace is the directory "
		         "`costack record -o DIR` or lttng wrote)",
		         dir);
		return -1;
	}
	if (walk_dir(&w, dir, &st, 0))
		goto end;
	if (!list->ngroups) {
		snprintf(message, size,
		         "cannot read trace %s: no CTF trace in it (no metadata file)", dir);
		goto end;
	}
	ret = 0;
end:
	hmap_free(&w.seen);
	if (ret)
		trace_list_free(list);
	return ret;
}

void trace_list_free(struct trace_list *list)
{
	for (size_t i = 0; i < list->ngroups; i++) {
		for (size_t j = 0; j < list->groups[i].ndirs; j++)
			free(list->groups[i].dirs[j]);
		free(list->groups[i].dirs);
	}
	free(list->groups);
	memset(list, 0, sizeof(*list));
}
