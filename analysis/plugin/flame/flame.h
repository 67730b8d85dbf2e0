/* SPDX-License-Identifier: MIT */
/* flame.h - sink.costack.flame: `costack flame TRACE` as a babeltrace2 sink component. */
#ifndef COSTACK_PLUGIN_FLAME_H
#define COSTACK_PLUGIN_FLAME_H

#include <babeltrace2/babeltrace.h>

bt_component_class_initialize_method_status
flame_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                 const bt_value *params, void *data);

#endif
