/* SPDX-License-Identifier: MIT */
/* params.c - the plugin's component parameters, checked against what each class accepts. */
#include "params.h"

#include <string.h>

struct only {
	const char *const *keys;
	const char *bad;
};

static bt_value_map_foreach_entry_const_func_status check_key(const char *key,
                                                              const bt_value *value, void *data)
{
	struct only *o = data;

	(void)value;
	for (const char *const *k = o->keys; *k; k++)
		if (!strcmp(*k, key))
			return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
	o->bad = key;
	return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_INTERRUPT;
}

bool params_only(const bt_value *params, const char *const *keys, const char **bad)
{
	struct only o = {keys, NULL};

	if (!params || !bt_value_is_map(params))
		return true;
	bt_value_map_foreach_entry_const(params, check_key, &o);
	*bad = o.bad;
	return !o.bad;
}

static const bt_value *entry(const bt_value *params, const char *key)
{
	return params && bt_value_is_map(params)
	               ? bt_value_map_borrow_entry_value_const(params, key)
	               : NULL;
}

bool params_string(const bt_value *params, const char *key, const char **out)
{
	const bt_value *v = entry(params, key);

	*out = NULL;
	if (!v)
		return true;
	if (!bt_value_is_string(v))
		return false;
	*out = bt_value_string_get(v);
	return true;
}

bool params_bool(const bt_value *params, const char *key, bool *out)
{
	const bt_value *v = entry(params, key);

	if (!v)
		return true;
	if (!bt_value_is_bool(v))
		return false;
	*out = bt_value_bool_get(v);
	return true;
}

static bool uint_of(const bt_value *v, uint64_t max, uint64_t *out)
{
	if (bt_value_is_unsigned_integer(v)) {
		*out = bt_value_integer_unsigned_get(v);
	} else if (bt_value_is_signed_integer(v)) {
		if (bt_value_integer_signed_get(v) < 0)
			return false;
		*out = (uint64_t)bt_value_integer_signed_get(v);
	} else {
		return false;
	}
	return *out <= max;
}

bool params_uint(const bt_value *params, const char *key, uint64_t max, uint64_t *out)
{
	const bt_value *v = entry(params, key);

	return !v || uint_of(v, max, out);
}

bool params_uint_list(const bt_value *params, const char *key, uint64_t max, uint64_t *out,
                      size_t cap, size_t *n)
{
	const bt_value *v = entry(params, key);
	uint64_t len;

	*n = 0;
	if (!v)
		return true;
	if (!bt_value_is_array(v))
		return cap >= 1 && uint_of(v, max, &out[0]) && out[0] && (*n = 1);
	len = bt_value_array_get_length(v);
	if (len > cap)
		return false;
	for (uint64_t i = 0; i < len; i++)
		if (!uint_of(bt_value_array_borrow_element_by_index_const(v, i), max, &out[i]) ||
		    !out[i])
			return false;
	*n = (size_t)len;
	return true;
}

bool params_selection(const bt_value *params, struct selection *sel, const char **output)
{
	uint64_t pid = UINT64_MAX, task = UINT64_MAX;

	if (!params_uint(params, "pid", INT32_MAX, &pid) ||
	    !params_uint(params, "task", UINT64_MAX - 1, &task) ||
	    !params_string(params, "output", output))
		return false;
	sel->has_pid = pid != UINT64_MAX;
	sel->pid = (int32_t)(sel->has_pid ? pid : 0);
	sel->has_task = task != UINT64_MAX;
	sel->task = sel->has_task ? task : 0;
	return true;
}
