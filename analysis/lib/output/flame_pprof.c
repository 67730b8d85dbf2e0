/* SPDX-License-Identifier: MIT */
/* flame_pprof.c - a flame profile as pprof's profile.proto (protobuf-c), gzip-compressed (zlib). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "flame_out.h"
#include "output.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

/* The string table: index 0 is "", each string once (by content). */
struct strings {
	char **s;
	size_t n, cap;
	struct hmap index; /* (hash, probe) -> index + 1 */
	bool failed;
};

static uint64_t hash_of(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int64_t string_index(struct strings *t, const char *s)
{
	uint64_t h;

	if (!s || !*s)
		return 0;
	h = hash_of(s);
	for (uint64_t b = 0;; b++) {
		uintptr_t found = (uintptr_t)hmap_get(&t->index, h, b);

		if (!found) {
			if (flame_room((void **)&t->s, t->n, &t->cap, sizeof(*t->s)) ||
			    hmap_put(&t->index, h, b, (void *)(uintptr_t)(t->n + 1))) {
				t->failed = true;
				return 0;
			}
			t->s[t->n] =
			        (char *)s; /* the profile's, or a constant: outlives the table */
			return (int64_t)t->n++;
		}
		if (!strcmp(t->s[found - 1], s))
			return (int64_t)found - 1;
	}
}

/* gzip data into out. 0, or -1. */
static int write_gzip(FILE *out, const uint8_t *data, size_t n)
{
	z_stream z = {0};
	uint8_t buf[65536];
	int status = -1, rc;

	/* windowBits 15 + 16: a gzip header and trailer, as pprof reads. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	z.next_in = (uint8_t *)data;
	z.avail_in = (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			goto end;
		if (fwrite(buf, 1, sizeof(buf) - z.avail_out, out) != sizeof(buf) - z.avail_out)
			goto end;
	} while (rc != Z_STREAM_END);
	status = 0;
end:
	deflateEnd(&z);
	return status;
}

int flame_write_pprof(FILE *out, const struct flame_profile *p)
{
	Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType types[2] = {PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
	                      PERFTOOLS__PROFILES__VALUE_TYPE__INIT};
	ValueType *type_ptrs[2] = {&types[0], &types[1]};
	ValueType period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	struct strings st = {0};
	Sample *samples = calloc(p->nsamples + 1, sizeof(*samples));
	Sample **sample_ptrs = calloc(p->nsamples + 1, sizeof(*sample_ptrs));
	Label *labels = calloc(5 * p->nsamples + 1, sizeof(*labels));
	Label **label_ptrs = calloc(5 * p->nsamples + 1, sizeof(*label_ptrs));
	int64_t *values = calloc(2 * p->nsamples + 1, sizeof(*values));
	uint64_t **loc_ids = calloc(p->nsamples + 1, sizeof(*loc_ids));
	Location *locs = calloc(p->nlocs + 1, sizeof(*locs));
	Location **loc_ptrs = calloc(p->nlocs + 1, sizeof(*loc_ptrs));
	Line *lines = calloc(p->nlocs * FLAME_INLINE_MAX + 1, sizeof(*lines));
	Line **line_ptrs = calloc(p->nlocs * FLAME_INLINE_MAX + 1, sizeof(*line_ptrs));
	Function *funcs = calloc(p->nfuncs + 1, sizeof(*funcs));
	Function **func_ptrs = calloc(p->nfuncs + 1, sizeof(*func_ptrs));
	Mapping *maps = calloc(p->nlocs + 1, sizeof(*maps));
	Mapping **map_ptrs = calloc(p->nlocs + 1, sizeof(*map_ptrs));
	struct hmap map_index = {0};
	int64_t comments[2];
	uint8_t *packed = NULL;
	size_t nlines = 0, nlabels = 0, nmaps = 0, size;
	bool both = p->o.wait && p->o.run;
	char comment[160], d[16];
	int status = -1;

	if (!samples || !sample_ptrs || !labels || !label_ptrs || !values || !loc_ids || !locs ||
	    !loc_ptrs || !lines || !line_ptrs || !funcs || !func_ptrs || !maps || !map_ptrs)
		goto end;
	if (flame_room((void **)&st.s, 0, &st.cap, sizeof(*st.s)))
		goto end;
	st.s[st.n++] = ""; /* index 0 */
	/* Sample types: a count, then nanoseconds ("wait" or "run"; with both kinds, the time in
	 * either, the kind being the root frame). */
	types[0].type = string_index(&st, both       ? "intervals"
	                                  : p->o.run ? "resumes"
	                                             : "suspensions");
	types[0].unit = string_index(&st, "count");
	types[1].type = string_index(&st, both ? "time" : p->o.run ? "run" : "wait");
	types[1].unit = string_index(&st, "nanoseconds");
	prof.n_sample_type = 2;
	prof.sample_type = type_ptrs;
	prof.default_sample_type = types[1].type;
	period.type = types[1].type;
	period.unit = types[1].unit;
	prof.period_type = &period;
	prof.period = 1;
	prof.time_nanos = (int64_t)p->first_ns;
	prof.duration_nanos = (int64_t)(p->last_ns - p->first_ns);

	for (size_t i = 0; i < p->nfuncs; i++) {
		perftools__profiles__function__init(&funcs[i]);
		funcs[i].id = i + 1;
		funcs[i].name = funcs[i].system_name = string_index(&st, p->funcs[i].name);
		funcs[i].filename = string_index(&st, p->funcs[i].file);
		func_ptrs[i] = &funcs[i];
	}
	for (size_t i = 0; i < p->nlocs; i++) {
		const struct flame_loc *l = &p->locs[i];

		perftools__profiles__location__init(&locs[i]);
		locs[i].id = i + 1;
		locs[i].address = l->address;
		if (l->module) {
			uintptr_t m = (uintptr_t)hmap_get(&map_index, (uintptr_t)l->module, 0);

			if (!m) {
				perftools__profiles__mapping__init(&maps[nmaps]);
				maps[nmaps].id = nmaps + 1;
				maps[nmaps].filename = string_index(&st, l->module);
				maps[nmaps].memory_start = l->address;
				maps[nmaps].memory_limit = l->address + 1;
				maps[nmaps].has_functions = maps[nmaps].has_filenames = true;
				maps[nmaps].has_line_numbers = maps[nmaps].has_inline_frames = true;
				map_ptrs[nmaps] = &maps[nmaps];
				m = ++nmaps;
				if (hmap_put(&map_index, (uintptr_t)l->module, 0, (void *)m))
					goto end;
			}
			if (l->address < maps[m - 1].memory_start)
				maps[m - 1].memory_start = l->address;
			if (l->address >= maps[m - 1].memory_limit)
				maps[m - 1].memory_limit = l->address + 1;
			locs[i].mapping_id = m;
		}
		/* pprof: inlined functions first, the caller last; ours are outermost first. */
		locs[i].n_line = l->nfuncs;
		locs[i].line = &line_ptrs[nlines];
		for (uint32_t j = l->nfuncs; j-- > 0;) {
			perftools__profiles__line__init(&lines[nlines]);
			lines[nlines].function_id = l->funcs[j] + 1;
			lines[nlines].line = l->lines[j];
			line_ptrs[nlines] = &lines[nlines];
			nlines++;
		}
		loc_ptrs[i] = &locs[i];
	}
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct flame_sample *s = &p->samples[i];
		const struct flame_task *t = &p->tasks[s->task];
		Sample *x = &samples[i];

		perftools__profiles__sample__init(x);
		if (!(loc_ids[i] = calloc(s->nlocs + 1, sizeof(**loc_ids))))
			goto end;
		/* The leaf first. */
		for (uint32_t j = 0; j < s->nlocs; j++)
			loc_ids[i][j] = s->locs[s->nlocs - 1 - j] + 1;
		x->n_location_id = s->nlocs;
		x->location_id = loc_ids[i];
		values[2 * i] = (int64_t)s->count;
		values[2 * i + 1] = (int64_t)s->ns;
		x->n_value = 2;
		x->value = &values[2 * i];
		x->label = &label_ptrs[nlabels];
		perftools__profiles__label__init(&labels[nlabels]);
		labels[nlabels].key = string_index(&st, "task_id");
		labels[nlabels].num = (int64_t)t->id;
		label_ptrs[nlabels] = &labels[nlabels];
		nlabels++;
		perftools__profiles__label__init(&labels[nlabels]);
		labels[nlabels].key = string_index(&st, "task_name");
		labels[nlabels].str = string_index(&st, t->name ? t->name : t->entry);
		label_ptrs[nlabels] = &labels[nlabels];
		nlabels++;
		perftools__profiles__label__init(&labels[nlabels]);
		labels[nlabels].key = string_index(&st, "runtime");
		labels[nlabels].str = string_index(&st, t->runtime ? t->runtime : "unknown");
		label_ptrs[nlabels] = &labels[nlabels];
		nlabels++;
		perftools__profiles__label__init(&labels[nlabels]);
		labels[nlabels].key = string_index(&st, "entry");
		labels[nlabels].str = string_index(&st, t->entry);
		label_ptrs[nlabels] = &labels[nlabels];
		nlabels++;
		perftools__profiles__label__init(&labels[nlabels]);
		labels[nlabels].key = string_index(&st, "pid");
		labels[nlabels].num = t->pid;
		label_ptrs[nlabels] = &labels[nlabels];
		nlabels++;
		x->n_label = 5;
		sample_ptrs[i] = x;
	}
	snprintf(comment, sizeof(comment),
	         "costack flame: %" PRIu64 " ns (%s) unknown, cut by lost events, left out",
	         p->unknown_ns[0] + p->unknown_ns[1],
	         format_duration(p->unknown_ns[0] + p->unknown_ns[1], d, sizeof(d)));
	comments[0] = string_index(&st, "costack flame: time per task stack, in nanoseconds");
	comments[1] = string_index(&st, comment);
	prof.n_comment = 2;
	prof.comment = comments;
	if (st.failed)
		goto end;
	prof.n_sample = p->nsamples;
	prof.sample = sample_ptrs;
	prof.n_location = p->nlocs;
	prof.location = loc_ptrs;
	prof.n_function = p->nfuncs;
	prof.function = func_ptrs;
	prof.n_mapping = nmaps;
	prof.mapping = map_ptrs;
	prof.n_string_table = st.n;
	prof.string_table = st.s;
	size = perftools__profiles__profile__get_packed_size(&prof);
	if (!(packed = malloc(size ? size : 1)))
		goto end;
	perftools__profiles__profile__pack(&prof, packed);
	if (write_gzip(out, packed, size))
		goto end;
	status = fflush(out) || ferror(out) ? -1 : 0;
end:
	for (size_t i = 0; loc_ids && i < p->nsamples; i++)
		free(loc_ids[i]);
	free(loc_ids);
	free(packed);
	free(samples);
	free(sample_ptrs);
	free(labels);
	free(label_ptrs);
	free(values);
	free(locs);
	free(loc_ptrs);
	free(lines);
	free(line_ptrs);
	free(funcs);
	free(func_ptrs);
	free(maps);
	free(map_ptrs);
	free(st.s);
	hmap_free(&st.index);
	hmap_free(&map_index);
	return status;
}
