/* SPDX-License-Identifier: MIT */
/* log.h - the preload's only way to speak: one line to stderr, via write(2). */
#ifndef COSTACK_LOG_H
#define COSTACK_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_threshold;

/* Format into a fixed buffer and write(2) it to stderr with a "costack: "
 * prefix; errno is preserved. Never allocates. */
void log_message(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_message(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_message(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_DEBUG, __VA_ARGS__)

#endif
