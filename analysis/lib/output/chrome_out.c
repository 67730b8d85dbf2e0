/* SPDX-License-Identifier: MIT */
/* chrome_out.c - Chrome trace-event JSON (chrome://tracing, Perfetto UI), written as it comes. */
#include "chrome_out.h"

#include <inttypes.h>

#include "output.h"

void chrome_begin(struct chrome_out *c, FILE *out, uint64_t origin_ns)
{
	c->out = out;
	c->origin_ns = origin_ns;
	c->any = false;
	c->events = 0;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", out);
}

void chrome_us(FILE *out, uint64_t ns)
{
	fprintf(out, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

void chrome_event(struct chrome_out *c, char ph, const char *name, const char *cat, int64_t pid,
                  uint64_t tid, uint64_t ts_ns)
{
	FILE *out = c->out;

	fputs(c->any ? ",\n{\"ph\":\"" : "\n{\"ph\":\"", out);
	c->any = true;
	c->events++;
	fprintf(out, "%c\",\"name\":", ph);
	json_string(out, name);
	if (cat) {
		fputs(",\"cat\":", out);
		json_string(out, cat);
	}
	fprintf(out, ",\"pid\":%" PRId64 ",\"tid\":%" PRIu64 ",\"ts\":", pid, tid);
	chrome_us(out, ts_ns > c->origin_ns ? ts_ns - c->origin_ns : 0);
}

void chrome_event_end(struct chrome_out *c)
{
	putc('}', c->out);
}

void chrome_name(struct chrome_out *c, bool process, int64_t pid, uint64_t tid, const char *name,
                 int64_t sort_index)
{
	chrome_event(c, 'M', process ? "process_name" : "thread_name", NULL, pid, tid,
	             c->origin_ns);
	fputs(",\"args\":{\"name\":", c->out);
	json_string(c->out, name);
	fputs("}}", c->out);
	chrome_event(c, 'M', process ? "process_sort_index" : "thread_sort_index", NULL, pid, tid,
	             c->origin_ns);
	fprintf(c->out, ",\"args\":{\"sort_index\":%" PRId64 "}}", sort_index);
}

int chrome_end(struct chrome_out *c, const char *other_json)
{
	fputs("\n],\"otherData\":{", c->out);
	if (other_json)
		fputs(other_json, c->out);
	fputs("}}\n", c->out);
	return fflush(c->out) || ferror(c->out) ? -1 : 0;
}
