/* SPDX-License-Identifier: MIT */
/* flame_svg.c - a flame profile as one self-contained interactive SVG (no network, no tool):
 * hover tells a frame's time and share, a click zooms, a search highlights; and the same graph
 * as a differential one, BASE's traces against NEW's. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame_out.h"
#include "output.h"

#define WIDTH 1200
#define MARGIN 10
#define FRAME_HEIGHT 16
#define TOP 60        /* title, subtitle, buttons */
#define BOTTOM 34     /* the details line */
#define MIN_WIDTH 0.1 /* px: narrower frames are left out, as flamegraph.pl does */

/* A frame of the graph: a function at a depth, over [start, end) of the weight drawn; in a
 * differential graph, its time per run on each side too. */
struct box {
	uint32_t func, depth;
	uint64_t start, end;
	uint64_t base, new_;
};

struct boxes {
	struct box *b;
	size_t n, cap;
	uint32_t max_depth;
};

static int add_box(struct boxes *bs, const struct box *b)
{
	if (flame_room((void **)&bs->b, bs->n, &bs->cap, sizeof(*bs->b)))
		return -1;
	bs->b[bs->n++] = *b;
	if (b->depth > bs->max_depth)
		bs->max_depth = b->depth;
	return 0;
}

/* A sample as the functions of its stack, root first; its weight on each side (a flame graph's
 * is all NEW's), and the weight drawn. */
struct path {
	uint32_t *funcs;
	uint32_t n;
	uint64_t base, new_, drawn;
};

static const struct flame_profile *sorting;

static int compare_paths(const void *a, const void *b)
{
	const struct path *x = a, *y = b;

	for (uint32_t i = 0; i < x->n && i < y->n; i++) {
		int c;

		if (x->funcs[i] == y->funcs[i])
			continue;
		c = strcmp(sorting->funcs[x->funcs[i]].name, sorting->funcs[y->funcs[i]].name);
		if (c)
			return c;
		return x->funcs[i] < y->funcs[i] ? -1 : 1;
	}
	return x->n < y->n ? -1 : x->n > y->n;
}

/* ns of a side of n runs, per run; at least 1 when there was any. */
static uint64_t per_run(uint64_t ns, uint32_t n)
{
	uint64_t v = n > 1 ? (ns + n / 2) / n : ns;

	return ns && !v ? 1 : v;
}

/* Each stack's weight drawn: in a differential graph (d), NEW's, or BASE's for a stack only
 * BASE has (vanished), the runs of one stack summed into its first. */
static void weigh(struct path *paths, size_t n, const struct flame_diff *d)
{
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		for (; d && j < n && !compare_paths(&paths[i], &paths[j]); j++) {
			paths[i].base += paths[j].base;
			paths[i].new_ += paths[j].new_;
			paths[j].base = paths[j].new_ = 0;
		}
		for (size_t k = i; k < j; k++)
			paths[k].drawn = paths[k].new_ ? paths[k].new_ : paths[k].base;
		i = j;
	}
}

/* The boxes of the graph: the paths sorted by name (as flamegraph.pl), merged where they
 * share a prefix; d: a differential graph's. */
static int layout(const struct flame_profile *p, const struct flame_diff *d, struct boxes *bs,
                  uint64_t *total)
{
	struct path *paths = calloc(p->nsamples + 1, sizeof(*paths));
	/* where each open frame started, and the weight drawn and each side's so far */
	struct box *open = NULL, at = {0};
	uint32_t prev_n = 0, *prev = NULL, cap = 0;
	uint32_t nbase = d ? d->base_traces : 0, nnew = p->traces - nbase;
	int status = -1;

	if (!paths)
		return -1;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct flame_sample *s = &p->samples[i];
		uint32_t n = 0;

		for (uint32_t j = 0; j < s->nlocs; j++)
			n += p->locs[s->locs[j]].nfuncs;
		if (!(paths[i].funcs = calloc(n + 1, sizeof(uint32_t))))
			goto end;
		for (uint32_t j = 0; j < s->nlocs; j++)
			for (uint32_t k = 0; k < p->locs[s->locs[j]].nfuncs; k++)
				paths[i].funcs[paths[i].n++] = p->locs[s->locs[j]].funcs[k];
		if (!d)
			paths[i].new_ = s->ns;
		else if (p->tasks[s->task].trace < nbase)
			paths[i].base = per_run(s->ns, nbase);
		else
			paths[i].new_ = per_run(s->ns, nnew);
		if (paths[i].n > cap)
			cap = paths[i].n;
	}
	sorting = p;
	if (p->nsamples > 1)
		qsort(paths, p->nsamples, sizeof(*paths), compare_paths);
	weigh(paths, p->nsamples, d);
	open = calloc(cap + 1, sizeof(*open));
	if (!open)
		goto end;
	for (size_t i = 0; i <= p->nsamples; i++) {
		const struct path *cur = i < p->nsamples ? &paths[i] : NULL;
		uint32_t common = 0;

		if (cur && !cur->drawn)
			continue;
		while (cur && common < prev_n && common < cur->n &&
		       prev[common] == cur->funcs[common])
			common++;
		/* Close the previous path's frames past the common prefix, innermost first. */
		for (uint32_t k = prev_n; k-- > common;) {
			struct box b = {.func = prev[k],
			                .depth = k,
			                .start = open[k].start,
			                .end = at.start,
			                .base = at.base - open[k].base,
			                .new_ = at.new_ - open[k].new_};

			if (add_box(bs, &b))
				goto end;
		}
		if (!cur)
			break;
		for (uint32_t k = common; k < cur->n; k++)
			open[k] = at;
		at.start += cur->drawn;
		at.base += cur->base;
		at.new_ += cur->new_;
		prev = cur->funcs;
		prev_n = cur->n;
	}
	*total = at.start;
	status = 0;
end:
	for (size_t i = 0; i < p->nsamples; i++)
		free(paths[i].funcs);
	free(paths);
	free(open);
	return status;
}

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '<')
			fputs("&lt;", out);
		else if (c == '>')
			fputs("&gt;", out);
		else if (c == '&')
			fputs("&amp;", out);
		else if (c == '"')
			fputs("&quot;", out);
		else if (c < 0x20 || c == 0x7f)
			putc('?', out); /* XML 1.0 has no place for control characters */
		else
			putc(c, out);
	}
}

/* The name as it fits in w px (7 px a character), cut with "..": the graph reads without
 * scripts too; the script fits it again on zoom. */
static void fit_text(FILE *out, const char *name, double w)
{
	size_t chars = w > 6 ? (size_t)((w - 6) / 7) : 0, n = strlen(name);
	char cut[512];

	if (chars < 3)
		return;
	if (n <= chars) {
		xml_text(out, name);
		return;
	}
	n = chars - 2 < sizeof(cut) - 3 ? chars - 2 : sizeof(cut) - 3;
	while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--; /* not inside a UTF-8 sequence */
	memcpy(cut, name, n);
	strcpy(cut + n, "..");
	xml_text(out, cut);
}

/* flamegraph.pl's "hot" palette, by a hash of the name: the same function, the same colour. */
static void colour(const char *name, int *r, int *g, int *b)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	*r = 205 + (int)(h % 50);
	*g = (int)((h >> 8) % 230);
	*b = (int)((h >> 16) % 55);
}

static const char script[] =
        "<script type=\"text/ecmascript\"><![CDATA[\n"
        "'use strict';\n"
        "var W, X0 = "
        "10"
        ", details, matchedText, zoomed = null, searching = null;\n"
        "function frames() { return document.querySelectorAll('g.f'); }\n"
        "function num(g, k) { return +g.getAttribute('data-' + k); }\n"
        "function fit(g) {\n"
        "  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
        "  var w = +r.getAttribute('width'), name = g.getAttribute('data-n');\n"
        "  var chars = Math.floor((w - 6) / 7);\n"
        "  t.setAttribute('x', +r.getAttribute('x') + 3);\n"
        "  t.textContent = chars < 3 ? '' : name.length <= chars ? name : name.substring(0, chars "
        "- 2) + '..';\n"
        "}\n"
        "function place(s, e, d) {\n"
        "  frames().forEach(function (g) {\n"
        "    var gs = num(g, 's'), ge = num(g, 'e'), gd = num(g, 'd'), r = "
        "g.querySelector('rect');\n"
        "    if (ge <= s || gs >= e) { g.style.display = 'none'; return; }\n"
        "    g.style.display = '';\n"
        "    var a = Math.max(gs, s), b = Math.min(ge, e);\n"
        "    r.setAttribute('x', X0 + (a - s) / (e - s) * W);\n"
        "    r.setAttribute('width', (b - a) / (e - s) * W);\n"
        "    g.style.opacity = gd < d ? 0.5 : 1;\n"
        "    fit(g);\n"
        "  });\n"
        "}\n"
        "function zoom(g) {\n"
        "  zoomed = g;\n"
        "  place(num(g, 's'), num(g, 'e'), num(g, 'd'));\n"
        "  document.getElementById('unzoom').style.display = '';\n"
        "}\n"
        "function unzoom() {\n"
        "  zoomed = null;\n"
        "  place(0, TOTAL, 0);\n"
        "  document.getElementById('unzoom').style.display = 'none';\n"
        "}\n"
        "function search() {\n"
        "  if (searching) { reset(); return; }\n"
        "  var term = prompt('Search for a function (a regular expression):', '');\n"
        "  if (!term) return;\n"
        "  var re;\n"
        "  try { re = new RegExp(term); } catch (e) { alert('Not a regular expression: ' + "
        "e.message); return; }\n"
        "  searching = term;\n"
        "  var spans = [];\n"
        "  frames().forEach(function (g) {\n"
        "    var r = g.querySelector('rect');\n"
        "    if (!re.test(g.getAttribute('data-n'))) return;\n"
        "    r.setAttribute('data-fill', r.getAttribute('fill'));\n"
        "    r.setAttribute('fill', 'rgb(230,0,230)');\n"
        "    spans.push([num(g, 's'), num(g, 'e')]);\n"
        "  });\n"
        "  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
        "  var covered = 0, end = 0;\n"
        "  spans.forEach(function (x) { if (x[1] > end) { covered += x[1] - Math.max(x[0], end); "
        "end = x[1]; } });\n"
        "  matchedText.nodeValue = 'Matched: ' + (100 * covered / TOTAL).toFixed(2) + '% (' + "
        "human(covered) + ')';\n"
        "  document.getElementById('search').firstChild.nodeValue = 'Reset search';\n"
        "}\n"
        "function reset() {\n"
        "  searching = null;\n"
        "  document.querySelectorAll('rect[data-fill]').forEach(function (r) {\n"
        "    r.setAttribute('fill', r.getAttribute('data-fill')); r.removeAttribute('data-fill'); "
        "});\n"
        "  matchedText.nodeValue = ' ';\n"
        "  document.getElementById('search').firstChild.nodeValue = 'Search';\n"
        "}\n"
        "function human(ns) {\n"
        "  if (ns >= 1e9) return (ns / 1e9).toFixed(3) + ' s';\n"
        "  if (ns >= 1e6) return (ns / 1e6).toFixed(3) + ' ms';\n"
        "  if (ns >= 1e3) return (ns / 1e3).toFixed(3) + ' us';\n"
        "  return ns + ' ns';\n"
        "}\n"
        "window.addEventListener('load', function () {\n"
        "  W = WIDTH - 2 * X0;\n"
        "  details = document.getElementById('details').firstChild;\n"
        "  matchedText = document.getElementById('matched').firstChild;\n"
        "  frames().forEach(fit);\n"
        "  document.addEventListener('mouseover', function (e) {\n"
        "    var g = e.target.closest && e.target.closest('g.f');\n"
        "    if (!g) return;\n"
        "    if (g.hasAttribute('data-i')) details.nodeValue = g.getAttribute('data-n') + ': ' "
        "+ g.getAttribute('data-i');\n"
        "    else details.nodeValue = g.getAttribute('data-n') + ' (' + human(num(g, 'e') - "
        "num(g, 's')) + ', ' +\n"
        "      (100 * (num(g, 'e') - num(g, 's')) / TOTAL).toFixed(2) + '%)';\n"
        "  });\n"
        "  document.addEventListener('mouseout', function () { details.nodeValue = ' '; });\n"
        "  document.addEventListener('click', function (e) {\n"
        "    var g = e.target.closest && e.target.closest('g.f');\n"
        "    if (g) zoom(g);\n"
        "  });\n"
        "  document.getElementById('unzoom').addEventListener('click', unzoom);\n"
        "  document.getElementById('search').addEventListener('click', search);\n"
        "  document.addEventListener('keydown', function (e) {\n"
        "    if ((e.ctrlKey && e.key === 'f') || e.key === 'F3') { e.preventDefault(); search(); "
        "}\n"
        "    if (e.key === 'Escape') { unzoom(); reset(); }\n"
        "  });\n"
        "});\n"
        "]]></script>\n";

/* A time for the hover, as precise as the script's human(). */
static const char *precise(uint64_t ns, char *buf, size_t size)
{
	if (ns >= 1000000000)
		snprintf(buf, size, "%.3f s", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, size, "%.3f ms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, size, "%.3f us", (double)ns / 1e3);
	else
		snprintf(buf, size, "%" PRIu64 " ns", ns);
	return buf;
}

static double change_of(uint64_t base, uint64_t new_)
{
	return ((double)new_ - (double)base) / (double)base;
}

/* A differential frame's colour, from neutral grey (no change, or one under min_change_ns) to
 * red (grew by 100% or more, or only NEW has it) or blue (shrank by 100%, or nearly all); a
 * frame only BASE has (vanished): the hatch pattern. */
static void diff_fill(const struct box *b, const struct flame_diff *d, char *fill, size_t size)
{
	uint64_t delta = b->new_ > b->base ? b->new_ - b->base : b->base - b->new_;
	double s;
	int hue, grey;

	if (!b->new_) {
		snprintf(fill, size, "url(#vanished)");
		return;
	}
	s = !b->base ? 1 : delta < d->min_change_ns ? 0 : fabs(change_of(b->base, b->new_));
	s = s > 1 ? 1 : s;
	hue = (int)lround(220 + 35 * s);
	grey = (int)lround(220 - 180 * s);
	if (b->new_ >= b->base)
		snprintf(fill, size, "rgb(%d,%d,%d)", hue, grey, grey);
	else
		snprintf(fill, size, "rgb(%d,%d,%d)", grey, grey, hue);
}

/* A differential frame's hover: its time per run on each side and the change. */
static void diff_info(FILE *out, const struct box *b)
{
	char x[32], y[32];

	if (!b->new_)
		fprintf(out, "vanished: was %s per run", precise(b->base, x, sizeof(x)));
	else if (!b->base)
		fprintf(out, "new: %s per run, not in BASE", precise(b->new_, x, sizeof(x)));
	else
		fprintf(out, "base %s, new %s per run, %+.1f%%", precise(b->base, x, sizeof(x)),
		        precise(b->new_, y, sizeof(y)), 100 * change_of(b->base, b->new_));
}

/* The subtitle of a differential graph: each side's total per run. */
static void diff_subtitle(FILE *out, const struct boxes *bs, const struct flame_profile *p,
                          const struct flame_diff *d)
{
	uint64_t base = 0, new_ = 0;
	uint32_t nnew = p->traces - d->base_traces;
	char x[32], y[32];

	for (size_t i = 0; i < bs->n; i++)
		if (!bs->b[i].depth) {
			base += bs->b[i].base;
			new_ += bs->b[i].new_;
		}
	fprintf(out, "Per run: BASE %s (%" PRIu32 " run%s), NEW %s (%" PRIu32 " run%s)",
	        precise(base, x, sizeof(x)), d->base_traces, d->base_traces == 1 ? "" : "s",
	        precise(new_, y, sizeof(y)), nnew, nnew == 1 ? "" : "s");
	if (base)
		fprintf(out, ", %+.1f%%", 100 * change_of(base, new_));
	fputs(". Widths: NEW's time; red: grew, blue: shrank; hatched: vanished (BASE's time)",
	      out);
}

/* The graph of p; d: a differential one. */
static int write_svg(FILE *out, const struct flame_profile *p, const char *title,
                     const struct flame_diff *d)
{
	struct boxes bs = {0};
	uint64_t total = 0, unknown = p->unknown_ns[0] + p->unknown_ns[1];
	double scale;
	int height, top = TOP + (d ? 16 : 0);
	char dur[16], u[16];

	if (layout(p, d, &bs, &total)) {
		free(bs.b);
		return -1;
	}
	scale = total ? (double)(WIDTH - 2 * MARGIN) / (double)total : 0;
	height = top + (int)(bs.max_depth + 1) * FRAME_HEIGHT + BOTTOM;
	fprintf(out,
	        "<?xml version=\"1.0\" standalone=\"no\"?>\n"
	        "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "xmlns=\"http://www.w3.org/2000/svg\">\n"
	        "<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: black; }\n"
	        "g.f:hover rect { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
	        "#title { font-size: 17px; } .button { cursor: pointer; fill: #2060a0; }</style>\n",
	        WIDTH, height, WIDTH, height);
	if (d)
		fputs("<defs><pattern id=\"vanished\" width=\"6\" height=\"6\" "
		      "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		      "<rect width=\"6\" height=\"6\" fill=\"rgb(214,220,235)\"/>"
		      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"rgb(110,130,180)\" "
		      "stroke-width=\"2\"/></pattern></defs>\n",
		      out);
	fprintf(out,
	        "<script type=\"text/ecmascript\">var TOTAL = %" PRIu64 ", WIDTH = %d;</script>\n",
	        total, WIDTH);
	fputs(script, out);
	fprintf(out,
	        "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f0\"/>\n"
	        "<text id=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">",
	        WIDTH, height, WIDTH / 2);
	xml_text(out, title);
	fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\" text-anchor=\"middle\">",
	        WIDTH / 2);
	if (d)
		diff_subtitle(out, &bs, p, d);
	else
		fprintf(out, "%s in total", format_duration(total, dur, sizeof(dur)));
	if (unknown)
		fprintf(out, "; %s unknown (intervals cut by lost events, left out)",
		        format_duration(unknown, u, sizeof(u)));
	fputs("</text>\n", out);
	if (d && d->verdict) {
		fprintf(out, "<text id=\"verdict\" x=\"%d\" y=\"60\" text-anchor=\"middle\">",
		        WIDTH / 2);
		xml_text(out, d->verdict);
		fputs("</text>\n", out);
	}
	fprintf(out,
	        "<text id=\"unzoom\" class=\"button\" x=\"%d\" y=\"24\" style=\"display:none\">"
	        "Reset zoom</text>\n"
	        "<text id=\"search\" class=\"button\" x=\"%d\" y=\"24\" text-anchor=\"end\">"
	        "Search</text>\n"
	        "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n"
	        "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n",
	        MARGIN, WIDTH - MARGIN, WIDTH - MARGIN, height - 12, MARGIN, height - 12);
	for (size_t i = 0; i < bs.n; i++) {
		const struct box *b = &bs.b[i];
		const char *name = p->funcs[b->func].name;
		double x = MARGIN + (double)b->start * scale,
		       w = (double)(b->end - b->start) * scale;
		int y = height - BOTTOM - (int)(b->depth + 1) * FRAME_HEIGHT, r, g, bl;
		char fill[32];

		if (w < MIN_WIDTH)
			continue;
		if (d) {
			diff_fill(b, d, fill, sizeof(fill));
		} else {
			colour(name, &r, &g, &bl);
			snprintf(fill, sizeof(fill), "rgb(%d,%d,%d)", r, g, bl);
		}
		fprintf(out,
		        "<g class=\"f%s\" data-s=\"%" PRIu64 "\" data-e=\"%" PRIu64
		        "\" data-d=\"%" PRIu32 "\"",
		        d && !b->new_ ? " vanished" : "", b->start, b->end, b->depth);
		if (d) {
			fprintf(out, " data-b=\"%" PRIu64 "\" data-w=\"%" PRIu64 "\" data-i=\"",
			        b->base, b->new_);
			diff_info(out, b);
			fputs("\"", out);
		}
		fputs(" data-n=\"", out);
		xml_text(out, name);
		fputs("\"><title>", out);
		xml_text(out, name);
		if (d) {
			fputs(": ", out);
			diff_info(out, b);
		} else {
			fprintf(out, " (%" PRIu64 " ns, %s, %.2f%%)", b->end - b->start,
			        format_duration(b->end - b->start, dur, sizeof(dur)),
			        total ? 100.0 * (double)(b->end - b->start) / (double)total : 0.0);
		}
		fprintf(out,
		        "</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
		        "fill=\"%s\" rx=\"2\"/><text x=\"%.2f\" y=\"%d\">",
		        x, y, w, FRAME_HEIGHT - 1, fill, x + 3, y + FRAME_HEIGHT - 4);
		fit_text(out, name, w);
		fputs("</text></g>\n", out);
	}
	fputs("</svg>\n", out);
	free(bs.b);
	return fflush(out) || ferror(out) ? -1 : 0;
}

int flame_write_svg(FILE *out, const struct flame_profile *p, const char *title)
{
	return write_svg(out, p, title, NULL);
}

int flame_write_svg_diff(FILE *out, const struct flame_profile *p, const char *title,
                         const struct flame_diff *d)
{
	return write_svg(out, p, title, d);
}
