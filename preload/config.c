/* SPDX-License-Identifier: MIT */
/* config.c - COSTACK_* variables: a bad value never harms the target, it gets one line and the default. */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct config config = {
	.depth = 64,
	.ring = 8,
	.ended = 1024,
	.unwind = UNWIND_DEFAULT,
	.enabled = true,
};

static void load_int(const char *name, int *value, int min, int max)
{
	const char *text = getenv(name);
	char *end;
	long v;

	if (!text)
		return;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		log_warn("ignoring %s='%s': expected a whole number from %d to %d; using %d", name,
			 text, min, max, *value);
		return;
	}
	*value = (int)v;
}

static void load_choice(const char *name, int *value, const char *const *choices, int n)
{
	const char *text = getenv(name);
	char list[128] = "";

	if (!text)
		return;
	for (int i = 0; i < n; i++) {
		if (!strcmp(text, choices[i])) {
			*value = i;
			return;
		}
		strncat(list, i ? "|" : "", sizeof(list) - strlen(list) - 1);
		strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
	}
	log_warn("ignoring %s='%s': expected one of %s; using %s", name, text, list,
		 choices[*value]);
}

void config_load(void)
{
	static const char *const log_levels[] = { "error", "warn", "info", "debug" };
	static const char *const unwinders[] = { "default", "libunwind", "fp" };
	static const char *const booleans[] = { "0", "1" };
	int disable = 0;
	int trace = 0;

	/* The log level first, so that it governs the messages about the rest. */
	load_choice("COSTACK_LOG", &log_threshold, log_levels, 4);
	load_int("COSTACK_DEPTH", &config.depth, 1, CONFIG_DEPTH_MAX);
	load_int("COSTACK_RING", &config.ring, 1, CONFIG_RING_MAX);
	load_int("COSTACK_ENDED", &config.ended, 0, 1 << 24);
	load_choice("COSTACK_UNWIND", &config.unwind, unwinders, 3);
	load_choice("COSTACK_DISABLE", &disable, booleans, 2);
	config.enabled = !disable;
	load_choice("COSTACK_TRACE", &trace, booleans, 2);
	config.trace = trace;
}
