/* SPDX-License-Identifier: MIT */
/* log.c - signal-safe enough logging: a stack buffer and one write(2). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int log_threshold = LOG_WARN;

void log_message(enum log_level level, const char *fmt, ...)
{
	char text[512], buf[512];
	int saved_errno = errno;
	size_t len = 0;
	va_list ap;

	if ((int)level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(buf, "costack: ", 9);
	len = 9;
	/* One line, whatever a value quoted in it holds (an environment variable's newline):
	 * control characters are written \xNN. */
	for (const char *c = text; *c && len < sizeof(buf) - 5; c++) {
		unsigned char b = (unsigned char)*c;

		if (b < 0x20 || b == 0x7f) {
			buf[len++] = '\\';
			buf[len++] = 'x';
			buf[len++] = "0123456789abcdef"[b >> 4];
			buf[len++] = "0123456789abcdef"[b & 15];
		} else {
			buf[len++] = (char)b;
		}
	}
	buf[len++] = '\n';
	while (write(STDERR_FILENO, buf, len) < 0 && errno == EINTR)
		;
	errno = saved_errno;
}
