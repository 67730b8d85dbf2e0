/* SPDX-License-Identifier: MIT */
/* output.h - what every writer of the costack command shares: JSON strings, safe text, times. */
#ifndef COSTACK_OUTPUT_H
#define COSTACK_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

/* s as a JSON string, quotes included: escaped, and invalid UTF-8 (a
 * target's bytes may be anything) replaced by U+FFFD. NULL: null. */
void json_string(FILE *out, const char *s);

/* s for a terminal: control characters (a target's name could hold escape
 * sequences) and bytes that are not UTF-8 shown as \xNN. */
void text_string(FILE *out, const char *s);
/* The columns text_string takes for s (a code point one). */
int text_width(const char *s);
/* text_string in at most max columns: a longer s is cut and ends with
 * '+'. Returns the columns taken. */
int text_string_cut(FILE *out, const char *s, int max);

/* ns since the epoch as "<seconds>.<9 digits>" (the schemas' time), into
 * buf of at least 32 bytes; returns buf. */
const char *format_timestamp(uint64_t ns, char *buf, size_t size);

/* A duration for people: 12us, 350ms, 1.2s, 3m12s, 2h05m, 3d04h; into buf
 * of at least 16 bytes; returns buf. */
const char *format_duration(uint64_t ns, char *buf, size_t size);

#endif
