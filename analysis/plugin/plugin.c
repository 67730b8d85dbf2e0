/* SPDX-License-Identifier: MIT */
/* plugin.c - the babeltrace2 plugin `costack`: its component classes, one folder each
 * (reader_sink.c: what they share). */
#include <babeltrace2/babeltrace.h>

#include "flame/flame.h"
#include "reader_sink.h"
#include "report/report.h"
#include "stacks/stacks.h"
#include "timeline/timeline.h"

BT_PLUGIN_MODULE();

BT_PLUGIN(costack);
BT_PLUGIN_DESCRIPTION("asyncio's Task.get_stack() for the coroutines of a recorded program");
BT_PLUGIN_AUTHOR("costack");
BT_PLUGIN_LICENSE("MIT");

BT_PLUGIN_SINK_COMPONENT_CLASS(stacks, reader_sink_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
        stacks, "Print every costack task's get_stack() at a time of the trace, as "
                "`costack stacks TRACE` does (text or costack.stacks/1 JSON).");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
        stacks,
        "Parameters (all optional):\n"
        "  at      string: TIME, seconds since the epoch (\"1795542309.164005327\") or an\n"
        "          offset from the trace's start (\"+1.5s\", \"+250ms\"); default: the end\n"
        "  task    integer, or array of integers: only these task ids\n"
        "  pid     integer, or array of integers: only these processes\n"
        "  limit   integer: at most N frames a task (newest of a stack, oldest of a\n"
        "          traceback); 0: all\n"
        "  group   boolean: fold tasks showing the same into one entry\n"
        "  format  \"text\" (default) or \"json\"\n"
        "Output on standard output. Example:\n"
        "  babeltrace2 --plugin-path=DIR TRACE -c sink.costack.stacks "
        "-p 'at=\"+1.5s\",format=\"json\"'\n"
        "See `costack stacks --help` for what each task shows.");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(stacks, stacks_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(stacks, reader_sink_graph_is_configured);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(stacks, reader_sink_finalize);

BT_PLUGIN_SINK_COMPONENT_CLASS(report, reader_sink_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
        report, "Summarise every costack task of the trace, as `costack report TRACE` does "
                "(text or costack.report/1 JSON).");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
        report, "Parameters (all optional):\n"
                "  top     integer: the suspension stacks shown, longest waited at first "
                "(default 10)\n"
                "  format  \"text\" (default) or \"json\"\n"
                "Output on standard output. See `costack report --help`.");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(report, report_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(report, reader_sink_graph_is_configured);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(report, reader_sink_finalize);

BT_PLUGIN_SINK_COMPONENT_CLASS(flame, reader_sink_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
        flame, "Where the costack tasks waited (or ran), weighted by time, as `costack flame "
               "TRACE` does (folded, speedscope, pprof or SVG).");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
        flame, "Parameters (all optional):\n"
               "  kind    \"wait\" (default), \"run\" or \"both\"\n"
               "  format  \"folded\" (default), \"speedscope\", \"pprof\" or \"svg\"\n"
               "  by      \"task\" (default), \"entry\" or \"none\": the root frames\n"
               "  pid     integer: only this process\n"
               "  task    integer: only this task id\n"
               "  output  string: the file to write (default: standard output)\n"
               "Example:\n"
               "  babeltrace2 --plugin-path=DIR TRACE -c sink.costack.flame "
               "-p 'format=\"svg\",output=\"waits.svg\"'\n"
               "See `costack flame --help`.");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(flame, flame_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(flame, reader_sink_graph_is_configured);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(flame, reader_sink_finalize);

BT_PLUGIN_SINK_COMPONENT_CLASS(timeline, reader_sink_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
        timeline, "Every costack task on a timeline, as `costack timeline TRACE` does "
                  "(Chrome trace-event JSON for Perfetto UI), written as the trace is read.");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
        timeline, "Parameters (all optional):\n"
                  "  pid     integer: only this process\n"
                  "  task    integer: only this task id\n"
                  "  output  string: the file to write (default: standard output)\n"
                  "See `costack timeline --help`.");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(timeline, timeline_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(timeline,
                                                          reader_sink_graph_is_configured);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(timeline, reader_sink_finalize);
