/* SPDX-License-Identifier: MIT */
/* timeline.h - sink.costack.timeline: `costack timeline TRACE` as a babeltrace2 sink component. */
#ifndef COSTACK_PLUGIN_TIMELINE_H
#define COSTACK_PLUGIN_TIMELINE_H

#include <babeltrace2/babeltrace.h>

bt_component_class_initialize_method_status
timeline_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                    const bt_value *params, void *data);

#endif
