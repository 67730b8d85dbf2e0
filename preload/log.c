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
	char buf[512];
	int saved_errno = errno;
	size_t len;
	va_list ap;

	if ((int)level > log_threshold)
		return;
	len = (size_t)snprintf(buf, sizeof(buf), "costack: ");
	va_start(ap, fmt);
	vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	va_end(ap);
	len = strlen(buf);
	if (len >= sizeof(buf) - 1)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	while (write(STDERR_FILENO, buf, len) < 0 && errno == EINTR)
		;
	errno = saved_errno;
}
