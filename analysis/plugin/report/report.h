/* SPDX-License-Identifier: MIT */
/* report.h - sink.costack.report: `costack report TRACE` as a babeltrace2 sink component. */
#ifndef COSTACK_PLUGIN_REPORT_H
#define COSTACK_PLUGIN_REPORT_H

#include <babeltrace2/babeltrace.h>

bt_component_class_initialize_method_status
report_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
                  const bt_value *params, void *data);

#endif
