/* SPDX-License-Identifier: MIT */
/* params.h - the plugin's component parameters, checked against what each class accepts. */
#ifndef COSTACK_PLUGIN_PARAMS_H
#define COSTACK_PLUGIN_PARAMS_H

#include <babeltrace2/babeltrace.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "selection.h"

/* Every key of params is one of keys (NULL-terminated); else false and *bad is the key. */
bool params_only(const bt_value *params, const char *const *keys, const char **bad);

/* The string key, NULL when absent; false when present but not a string. */
bool params_string(const bt_value *params, const char *key, const char **out);
/* The boolean key, unchanged when absent; false when not a boolean. */
bool params_bool(const bt_value *params, const char *key, bool *out);
/* The non-negative integer key, unchanged when absent; false when not one or above max. */
bool params_uint(const bt_value *params, const char *key, uint64_t max, uint64_t *out);
/* An integer or an array of integers (each in [1, max]) into out (room for cap): their
 * count in *n (0: absent); false when not so, or more than cap. */
bool params_uint_list(const bt_value *params, const char *key, uint64_t max, uint64_t *out,
                      size_t cap, size_t *n);

/* What the flame and timeline sinks read of a trace and where they write: parameters pid and
 * task (each optional) into sel's, and output (NULL: standard output). False when one of them
 * is not what it must be (integers, a path). */
bool params_selection(const bt_value *params, struct selection *sel, const char **output);

#endif
