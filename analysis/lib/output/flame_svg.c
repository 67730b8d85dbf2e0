/* SPDX-License-Identifier: MIT */
/* flame_svg.c - a flame profile as one self-contained interactive SVG (no network, no tool):
 * hover tells a frame's time and share, a click zooms, a search highlights. */
#include <inttypes.h>
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

/* A frame of the graph: a function at a depth, over [start, end) of the total weight. */
struct box {
	uint32_t func, depth;
	uint64_t start, end;
};

struct boxes {
	struct box *b;
	size_t n, cap;
	uint32_t max_depth;
};

static int add_box(struct boxes *bs, uint32_t func, uint32_t depth, uint64_t start, uint64_t end)
{
	if (flame_room((void **)&bs->b, bs->n, &bs->cap, sizeof(*bs->b)))
		return -1;
	bs->b[bs->n++] = (struct box){func, depth, start, end};
	if (depth > bs->max_depth)
		bs->max_depth = depth;
	return 0;
}

/* A sample as the functions of its stack, root first. */
struct path {
	uint32_t *funcs;
	uint32_t n;
	uint64_t ns;
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

/* The boxes of the graph: the paths sorted by name (as flamegraph.pl), merged where they
 * share a prefix. */
static int layout(const struct flame_profile *p, struct boxes *bs, uint64_t *total)
{
	struct path *paths = calloc(p->nsamples + 1, sizeof(*paths));
	uint64_t *open_start = NULL, x = 0;
	uint32_t prev_n = 0, *prev = NULL, cap = 0;
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
		paths[i].ns = s->ns;
		if (paths[i].n > cap)
			cap = paths[i].n;
	}
	sorting = p;
	if (p->nsamples > 1)
		qsort(paths, p->nsamples, sizeof(*paths), compare_paths);
	open_start = calloc(cap + 1, sizeof(*open_start));
	if (!open_start)
		goto end;
	for (size_t i = 0; i <= p->nsamples; i++) {
		const struct path *cur = i < p->nsamples ? &paths[i] : NULL;
		uint32_t common = 0;

		if (cur && !cur->ns)
			continue;
		while (cur && common < prev_n && common < cur->n &&
		       prev[common] == cur->funcs[common])
			common++;
		/* Close the previous path's frames past the common prefix, innermost first. */
		for (uint32_t d = prev_n; d-- > common;)
			if (add_box(bs, prev[d], d, open_start[d], x))
				goto end;
		if (!cur)
			break;
		for (uint32_t d = common; d < cur->n; d++)
			open_start[d] = x;
		x += cur->ns;
		prev = cur->funcs;
		prev_n = cur->n;
	}
	*total = x;
	status = 0;
end:
	for (size_t i = 0; i < p->nsamples; i++)
		free(paths[i].funcs);
	free(paths);
	free(open_start);
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
        "    if (g) details.nodeValue = g.getAttribute('data-n') + ' (' + human(num(g, 'e') - "
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

int flame_write_svg(FILE *out, const struct flame_profile *p, const char *title)
{
	struct boxes bs = {0};
	uint64_t total = 0;
	double scale;
	int height;
	char d[16], u[16];

	if (layout(p, &bs, &total)) {
		free(bs.b);
		return -1;
	}
	scale = total ? (double)(WIDTH - 2 * MARGIN) / (double)total : 0;
	height = TOP + (int)(bs.max_depth + 1) * FRAME_HEIGHT + BOTTOM;
	fprintf(out,
	        "<?xml version=\"1.0\" standalone=\"no\"?>\n"
	        "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "xmlns=\"http://www.w3.org/2000/svg\">\n"
	        "<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: black; }\n"
	        "g.f:hover rect { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
	        "#title { font-size: 17px; } .button { cursor: pointer; fill: #2060a0; }</style>\n",
	        WIDTH, height, WIDTH, height);
	fprintf(out,
	        "<script type=\"text/ecmascript\">var TOTAL = %" PRIu64 ", WIDTH = %d;</script>\n",
	        total, WIDTH);
	fputs(script, out);
	fprintf(out,
	        "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f0\"/>\n"
	        "<text id=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">",
	        WIDTH, height, WIDTH / 2);
	xml_text(out, title);
	fprintf(out, "</text>\n<text x=\"%d\" y=\"44\" text-anchor=\"middle\">%s in total",
	        WIDTH / 2, format_duration(total, d, sizeof(d)));
	if (p->unknown_ns[0] + p->unknown_ns[1])
		fprintf(out, "; %s unknown (intervals cut by lost events, left out)",
		        format_duration(p->unknown_ns[0] + p->unknown_ns[1], u, sizeof(u)));
	fprintf(out,
	        "</text>\n"
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

		if (w < MIN_WIDTH)
			continue;
		colour(name, &r, &g, &bl);
		fprintf(out,
		        "<g class=\"f\" data-s=\"%" PRIu64 "\" data-e=\"%" PRIu64
		        "\" data-d=\"%" PRIu32 "\" data-n=\"",
		        b->start, b->end, b->depth);
		xml_text(out, name);
		fputs("\"><title>", out);
		xml_text(out, name);
		fprintf(out,
		        " (%" PRIu64
		        " ns, %s, %.2f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
		        "height=\"%d\" fill=\"rgb(%d,%d,%d)\" rx=\"2\"/><text x=\"%.2f\" y=\"%d\">",
		        b->end - b->start, format_duration(b->end - b->start, d, sizeof(d)),
		        total ? 100.0 * (double)(b->end - b->start) / (double)total : 0.0, x, y, w,
		        FRAME_HEIGHT - 1, r, g, bl, x + 3, y + FRAME_HEIGHT - 4);
		fit_text(out, name, w);
		fputs("</text></g>\n", out);
	}
	fputs("</svg>\n", out);
	free(bs.b);
	return fflush(out) || ferror(out) ? -1 : 0;
}
