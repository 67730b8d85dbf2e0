/* SPDX-License-Identifier: MIT */
/* output.c - JSON strings, terminal-safe text and times for the costack command's writers. */
#include "output.h"

#include <inttypes.h>
#include <stddef.h>

/* The length of the valid UTF-8 sequence at s (1-4), 0 if it is none
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_length(const unsigned char *s)
{
	int n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", out);
		return;
	}
	putc('"', out);
	while (*p) {
		const unsigned char *run = p;
		int n;

		/* The bytes that go out as they are, in one write. */
		while (*p && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f &&
		       (n = utf8_length(p)) > 0)
			p += n;
		if (p > run)
			fwrite(run, 1, (size_t)(p - run), out);
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			putc('\\', out);
			putc(*p, out);
		} else if (*p == '\n') {
			fputs("\\n", out);
		} else if (*p == '\t') {
			fputs("\\t", out);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p);
		} else {
			fputs("\\ufffd", out); /* not UTF-8 */
		}
		p++;
	}
	putc('"', out);
}

/* The next piece of s as text_string shows it: its bytes and columns. */
static int text_piece(const unsigned char *p, int *columns)
{
	int n = utf8_length(p);

	if (!n || *p < 0x20 || *p == 0x7f) {
		*columns = 4; /* \xNN */
		return 1;
	}
	*columns = 1;
	return n;
}

static void text_put(FILE *out, const unsigned char *p, int n)
{
	if (n == 1 && (*p < 0x20 || *p >= 0x7f))
		fprintf(out, "\\x%02x", *p);
	else
		fwrite(p, 1, (size_t)n, out);
}

void text_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int columns;

	while (p && *p) {
		int n = text_piece(p, &columns);

		text_put(out, p, n);
		p += n;
	}
}

int text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int width = 0, columns;

	while (p && *p) {
		p += text_piece(p, &columns);
		width += columns;
	}
	return width;
}

int text_string_cut(FILE *out, const char *s, int max)
{
	const unsigned char *p = (const unsigned char *)s;
	int width = 0, columns;

	if (text_width(s) <= max) {
		text_string(out, s);
		return text_width(s);
	}
	while (*p) {
		int n = text_piece(p, &columns);

		if (width + columns > max - 1)
			break;
		text_put(out, p, n);
		width += columns;
		p += n;
	}
	putc('+', out);
	return width + 1;
}

const char *format_timestamp(uint64_t ns, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
	return buf;
}

const char *format_duration(uint64_t ns, char *buf, size_t size)
{
	uint64_t s = ns / 1000000000u;

	if (ns < 1000000u)
		snprintf(buf, size, "%" PRIu64 "us", ns / 1000u);
	else if (ns < 1000000000u)
		snprintf(buf, size, "%" PRIu64 "ms", ns / 1000000u);
	else if (s < 60)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", s, ns % 1000000000u / 100000000u);
	else if (s < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}
