/* SPDX-License-Identifier: MIT */
/* hang_plugin.c - a babeltrace2 plugin that never finishes loading: babeltrace2 hung, for sure. */
#include <babeltrace2/babeltrace.h>
#include <unistd.h>

/*
 * With BABELTRACE_PLUGIN_PATH naming its directory, babeltrace2 loads it
 * while it looks for the ctf plugin, and waits in its initialize function
 * for ever: what the truncated metadata of issue 13 did inside src.ctf.fs,
 * before costack checked metadata files. costack must say the trace cannot
 * be read within seconds (its watchdog), not wait with it.
 */

BT_PLUGIN_MODULE();
BT_PLUGIN(costack_test_hang);

static bt_plugin_initialize_func_status hang(bt_self_plugin *self)
{
	(void)self;
	for (;;)
		pause();
	return BT_PLUGIN_INITIALIZE_FUNC_STATUS_OK;
}

BT_PLUGIN_INITIALIZE_FUNC(hang);

static bt_component_class_sink_consume_method_status consume(bt_self_component_sink *self)
{
	(void)self;
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
}

BT_PLUGIN_SINK_COMPONENT_CLASS(nothing, consume);
