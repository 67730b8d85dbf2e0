/* SPDX-License-Identifier: MIT */
/* flame_out.c - a profile of symbolized stacks weighted by time: folded and speedscope writers. */
#include "flame_out.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

const char *flame_kind_name(enum flame_kind k)
{
	return k == FLAME_RUN ? "run" : "wait";
}

int flame_format_of(const char *name)
{
	static const char *const names[] = {"folded", "speedscope", "pprof", "svg"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

int flame_write(FILE *out, const struct flame_profile *p, enum flame_format format,
                const char *title)
{
	switch (format) {
	case FLAME_FOLDED:
		return flame_write_folded(out, p);
	case FLAME_SPEEDSCOPE:
		return flame_write_speedscope(out, p);
	case FLAME_PPROF:
		return flame_write_pprof(out, p);
	default:
		return flame_write_svg(out, p, title);
	}
}

void flame_profile_init(struct flame_profile *p, const struct flame_options *o)
{
	memset(p, 0, sizeof(*p));
	p->o = *o;
	p->nroots = (o->wait && o->run) + (o->by != FLAME_BY_NONE);
}

void flame_profile_free(struct flame_profile *p)
{
	for (size_t i = 0; i < p->strings.cap; i++)
		free(p->strings.slots[i].value);
	for (size_t i = 0; i < p->nsamples; i++)
		free(p->samples[i].locs);
	hmap_free(&p->strings);
	hmap_free(&p->func_index);
	hmap_free(&p->loc_index);
	free(p->funcs);
	free(p->locs);
	free(p->tasks);
	free(p->samples);
	memset(p, 0, sizeof(*p));
}

static uint64_t hash_bytes(const void *data, size_t n, uint64_t h)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t hash_string(const char *s, uint64_t h)
{
	return s ? hash_bytes(s, strlen(s) + 1, h) : h ^ 0x5bd1e995;
}

int flame_room(void **array, size_t n, size_t *cap, size_t size)
{
	void *grown;

	if (n < *cap)
		return 0;
	grown = realloc(*array, (*cap ? 2 * *cap : 64) * size);
	if (!grown)
		return -1;
	*array = grown;
	*cap = *cap ? 2 * *cap : 64;
	return 0;
}

/* Strings by hash, probing b for the rare collision. */
const char *flame_string(struct flame_profile *p, const char *s)
{
	uint64_t h;
	char *copy;

	if (!s)
		return NULL;
	h = hash_string(s, 0xcbf29ce484222325ull);
	for (uint64_t b = 0;; b++) {
		const char *have = hmap_get(&p->strings, h, b);

		if (!have)
			break;
		if (!strcmp(have, s))
			return have;
	}
	copy = strdup(s);
	for (uint64_t b = 0; copy; b++)
		if (!hmap_get(&p->strings, h, b)) {
			if (hmap_put(&p->strings, h, b, copy))
				break;
			return copy;
		}
	free(copy);
	p->out_of_memory = true;
	return NULL;
}

/* Strings are interned: a pointer is their identity. */
int64_t flame_func_index(struct flame_profile *p, const char *name, const char *file)
{
	const char *n = flame_string(p, name), *f = flame_string(p, file);
	uintptr_t found;

	if (!n || (file && !f))
		return -1;
	found = (uintptr_t)hmap_get(&p->func_index, (uintptr_t)n, (uintptr_t)f);
	if (found)
		return (int64_t)found - 1;
	if (flame_room((void **)&p->funcs, p->nfuncs, &p->funccap, sizeof(*p->funcs)) ||
	    hmap_put(&p->func_index, (uintptr_t)n, (uintptr_t)f,
	             (void *)(uintptr_t)(p->nfuncs + 1))) {
		p->out_of_memory = true;
		return -1;
	}
	p->funcs[p->nfuncs] = (struct flame_func){n, f};
	return (int64_t)p->nfuncs++;
}

static bool same_loc(const struct flame_loc *a, const struct flame_loc *b)
{
	return a->address == b->address && a->module == b->module && a->nfuncs == b->nfuncs &&
	       !memcmp(a->funcs, b->funcs, a->nfuncs * sizeof(*a->funcs)) &&
	       !memcmp(a->lines, b->lines, a->nfuncs * sizeof(*a->lines));
}

/* Locations by content (the same code of two runs at other addresses stays two locations,
 * as pprof wants; its functions are shared). */
int64_t flame_loc_add(struct flame_profile *p, const struct flame_loc *l)
{
	uint64_t h = hash_bytes(&l->address, sizeof(l->address), 0xcbf29ce484222325ull);

	h = hash_bytes(&l->module, sizeof(l->module), h);
	h = hash_bytes(l->funcs, l->nfuncs * sizeof(*l->funcs), h);
	h = hash_bytes(l->lines, l->nfuncs * sizeof(*l->lines), h);
	for (uint64_t b = 0;; b++) {
		uintptr_t found = (uintptr_t)hmap_get(&p->loc_index, h, b);

		if (!found)
			break;
		if (same_loc(&p->locs[found - 1], l))
			return (int64_t)found - 1;
	}
	if (flame_room((void **)&p->locs, p->nlocs, &p->loccap, sizeof(*p->locs)))
		goto oom;
	for (uint64_t b = 0;; b++)
		if (!hmap_get(&p->loc_index, h, b)) {
			if (hmap_put(&p->loc_index, h, b, (void *)(uintptr_t)(p->nlocs + 1)))
				goto oom;
			break;
		}
	p->locs[p->nlocs] = *l;
	return (int64_t)p->nlocs++;
oom:
	p->out_of_memory = true;
	return -1;
}

int64_t flame_pseudo_loc(struct flame_profile *p, const char *name)
{
	struct flame_loc l = {0};
	int64_t f = flame_func_index(p, name, NULL);

	if (f < 0)
		return -1;
	l.nfuncs = 1;
	l.funcs[0] = (uint32_t)f;
	return flame_loc_add(p, &l);
}

/* --- folded ------------------------------------------------------------------------------- */

/* A function's name in a folded line: ';' separates frames and a line ends at a newline, so
 * those and other control characters become '?'. */
static void folded_name(FILE *out, const char *s)
{
	for (; *s; s++)
		putc(*s == ';' || (unsigned char)*s < 0x20 ? '?' : *s, out);
}

struct line {
	char *text;
	uint64_t ns;
};

static int compare_lines(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

/* The folded stack of sample s (without weight), in a new string; from its location first. */
static char *folded_stack(const struct flame_profile *p, const struct flame_sample *s,
                          uint32_t first)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	bool any = false;

	if (!f)
		return NULL;
	for (uint32_t i = first; i < s->nlocs; i++) {
		const struct flame_loc *l = &p->locs[s->locs[i]];

		for (uint32_t j = 0; j < l->nfuncs; j++) {
			if (any)
				putc(';', f);
			folded_name(f, p->funcs[l->funcs[j]].name);
			any = true;
		}
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* The samples' folded stacks, the same merged, sorted (as FlameGraph's tools write them). */
static struct line *folded_lines(const struct flame_profile *p, size_t *count)
{
	struct line *lines = calloc(p->nsamples ? p->nsamples : 1, sizeof(*lines));
	size_t n = 0;

	if (!lines)
		return NULL;
	for (size_t i = 0; i < p->nsamples; i++) {
		lines[i].text = folded_stack(p, &p->samples[i], 0);
		lines[i].ns = p->samples[i].ns;
		if (!lines[i].text) {
			for (size_t j = 0; j < i; j++)
				free(lines[j].text);
			free(lines);
			return NULL;
		}
	}
	if (p->nsamples > 1)
		qsort(lines, p->nsamples, sizeof(*lines), compare_lines);
	for (size_t i = 0; i < p->nsamples; i++) {
		if (n && !strcmp(lines[n - 1].text, lines[i].text)) {
			lines[n - 1].ns += lines[i].ns;
			free(lines[i].text);
			continue;
		}
		lines[n++] = lines[i];
	}
	*count = n;
	return lines;
}

static void free_lines(struct line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
}

int flame_write_folded(FILE *out, const struct flame_profile *p)
{
	size_t n = 0;
	struct line *lines = folded_lines(p, &n);

	if (!lines)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (lines[i].ns)
			fprintf(out, "%s %" PRIu64 "\n", lines[i].text, lines[i].ns);
	free_lines(lines, n);
	return fflush(out) || ferror(out) ? -1 : 0;
}

/* --- speedscope ----------------------------------------------------------------------------- */

/* A speedscope frame: a function at a line. */
struct sframe {
	uint32_t func;
	int line;
};

/* One profile of the file: the samples with the same roots. */
struct sprofile {
	const struct flame_sample *first; /* its roots name it */
	uint64_t total;
};

static bool same_roots(const struct flame_profile *p, const struct flame_sample *a,
                       const struct flame_sample *b)
{
	for (uint32_t i = 0; i < p->nroots; i++)
		if (i >= a->nlocs || i >= b->nlocs || a->locs[i] != b->locs[i])
			return false;
	return true;
}

int flame_write_speedscope(FILE *out, const struct flame_profile *p)
{
	struct hmap frame_index = {0};
	struct sframe *frames = NULL;
	size_t nframes = 0, framecap = 0, nprofiles = 0;
	struct sprofile *profiles = calloc(p->nsamples ? p->nsamples : 1, sizeof(*profiles));
	uint32_t *profile_of = calloc(p->nsamples ? p->nsamples : 1, sizeof(*profile_of));
	uint32_t **frame_ids = calloc(p->nsamples ? p->nsamples : 1, sizeof(*frame_ids));
	uint32_t *nframe_ids = calloc(p->nsamples ? p->nsamples : 1, sizeof(*nframe_ids));
	char title[128], d[16];
	int status = -1;

	if (!profiles || !profile_of || !frame_ids || !nframe_ids)
		goto end;
	/* Frames, each sample's frame list (roots left out: they name the profile), profiles. */
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct flame_sample *s = &p->samples[i];
		size_t k, total = 0;

		for (uint32_t j = p->nroots; j < s->nlocs; j++)
			total += p->locs[s->locs[j]].nfuncs;
		if (!(frame_ids[i] = calloc(total ? total : 1, sizeof(**frame_ids))))
			goto end;
		for (uint32_t j = p->nroots; j < s->nlocs; j++) {
			const struct flame_loc *l = &p->locs[s->locs[j]];

			for (uint32_t f = 0; f < l->nfuncs; f++) {
				uint64_t key_b = (uint64_t)(uint32_t)l->lines[f];
				uintptr_t found =
				        (uintptr_t)hmap_get(&frame_index, l->funcs[f], key_b);

				if (!found) {
					if (flame_room((void **)&frames, nframes, &framecap,
					               sizeof(*frames)) ||
					    hmap_put(&frame_index, l->funcs[f], key_b,
					             (void *)(uintptr_t)(nframes + 1)))
						goto end;
					frames[nframes] = (struct sframe){l->funcs[f], l->lines[f]};
					found = ++nframes;
				}
				frame_ids[i][nframe_ids[i]++] = (uint32_t)(found - 1);
			}
		}
		for (k = 0; k < nprofiles && !same_roots(p, profiles[k].first, s); k++)
			;
		if (k == nprofiles)
			profiles[nprofiles++] = (struct sprofile){s, 0};
		profiles[k].total += s->ns;
		profile_of[i] = (uint32_t)k;
	}
	/* version: of the file format, whose name and activeProfileIndex came with 0.6.0 */
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
	      "\"version\":\"0.6.0\",\"exporter\":\"costack flame\",\"name\":",
	      out);
	snprintf(title, sizeof(title), "costack %s%s%s", p->o.wait ? "wait" : "",
	         p->o.wait && p->o.run ? " and " : "", p->o.run ? "run" : "");
	if (p->unknown_ns[0] + p->unknown_ns[1])
		snprintf(title + strlen(title), sizeof(title) - strlen(title),
		         " (%s unknown: cut by lost events, left out)",
		         format_duration(p->unknown_ns[0] + p->unknown_ns[1], d, sizeof(d)));
	json_string(out, title);
	fputs(",\"activeProfileIndex\":0,\"shared\":{\"frames\":[", out);
	for (size_t i = 0; i < nframes; i++) {
		const struct flame_func *f = &p->funcs[frames[i].func];

		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		json_string(out, f->name);
		if (f->file) {
			fputs(",\"file\":", out);
			json_string(out, f->file);
		}
		if (frames[i].line > 0)
			fprintf(out, ",\"line\":%d", frames[i].line);
		putc('}', out);
	}
	fputs("]},\"profiles\":[", out);
	for (size_t k = 0; k < nprofiles; k++) {
		bool first = true;

		fputs(k ? ",\n{\"type\":\"sampled\",\"name\":"
		        : "\n{\"type\":\"sampled\",\"name\":",
		      out);
		if (p->nroots) {
			char *name = NULL;
			size_t size = 0;
			FILE *f = open_memstream(&name, &size);

			if (!f)
				goto end;
			for (uint32_t r = 0; r < p->nroots; r++)
				fprintf(f, "%s%s", r ? " / " : "",
				        p->funcs[p->locs[profiles[k].first->locs[r]].funcs[0]]
				                .name);
			if (fclose(f))
				goto end;
			json_string(out, name);
			free(name);
		} else {
			json_string(out, flame_kind_name(p->o.run ? FLAME_RUN : FLAME_WAIT));
		}
		fprintf(out,
		        ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":%" PRIu64
		        ",\"samples\":[",
		        profiles[k].total);
		for (size_t i = 0; i < p->nsamples; i++) {
			if (profile_of[i] != k)
				continue;
			fputs(first ? "\n[" : ",\n[", out);
			for (uint32_t j = 0; j < nframe_ids[i]; j++)
				fprintf(out, j ? ",%" PRIu32 : "%" PRIu32, frame_ids[i][j]);
			putc(']', out);
			first = false;
		}
		fputs("],\"weights\":[", out);
		first = true;
		for (size_t i = 0; i < p->nsamples; i++) {
			if (profile_of[i] != k)
				continue;
			fprintf(out, first ? "%" PRIu64 : ",%" PRIu64, p->samples[i].ns);
			first = false;
		}
		fputs("]}", out);
	}
	fputs("]}\n", out);
	status = fflush(out) || ferror(out) ? -1 : 0;
end:
	for (size_t i = 0; frame_ids && i < p->nsamples; i++)
		free(frame_ids[i]);
	free(frame_ids);
	free(nframe_ids);
	free(profile_of);
	free(profiles);
	free(frames);
	hmap_free(&frame_index);
	return status;
}
