/* SPDX-License-Identifier: MIT */
/* test_symbolize.c - unit test of symbolize.c on code in this file; build with -O2 -g. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define MAXF 16

static int passed, failed;
static int verbose;       /* -v: show every lookup */
static volatile int sink; /* stores after calls keep them out of tail position */

/* Lines of the interesting calls, set as the code runs. */
static int line_leaf_call;
static int line_inl_call, line_inl_inner;
static int line_deep_outer, line_deep_mid, line_deep_inner;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static void dump(const char *what, const struct sym_frame *f, int n)
{
	int i;

	fprintf(stderr, "  %s: %d frame(s)\n", what, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "    #%d %s%s at %s:%d  [%s+0x%llx]\n", i, str(f[i].function),
		        f[i].inlined ? " (inlined)" : "", str(f[i].file), f[i].line,
		        str(f[i].module), (unsigned long long)f[i].offset);
}

static int is_this_file(const char *file)
{
	const char *b;

	if (!file)
		return 0;
	b = strrchr(file, '/');
	return !strcmp(b ? b + 1 : file, "test_symbolize.c");
}

/* Check one frame's function, file (this file) and line. */
static int frame_is(const struct sym_frame *f, const char *fn, int line, int inlined)
{
	return f->function && !strcmp(f->function, fn) && is_this_file(f->file) &&
	       f->line == line && f->inlined == !!inlined;
}

/* Load bias (l_addr) of the object holding addr, as the loader sees it. */
static uint64_t load_bias(const void *addr, const char **path)
{
	struct link_map *lm = NULL;
	Dl_info info;

	if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 0;
	if (path)
		*path = info.dli_fname;
	return lm->l_addr;
}

static NOINLINE void *get_ra(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

/* Each call and the __LINE__ that names its line stay on one line. */
/* clang-format off */
/* A physical function. Its entry may be given the signature's line or the
 * first statement's, so any line from here to the brace is accepted. */
static const int line_leaf_def = __LINE__ + 1;
static NOINLINE void *leaf(void)
{
	void *ra;

	ra = get_ra(); line_leaf_call = __LINE__;
	sink++;
	return ra;
}
static const int line_leaf_end = __LINE__ - 1;

ALWAYS_INLINE void *inl(void)
{
	void *ra;

	ra = get_ra(); line_inl_inner = __LINE__;
	sink++;
	return ra;
}

static NOINLINE void *inl_outer(void)
{
	void *ra;

	ra = inl(); line_inl_call = __LINE__;
	sink++;
	return ra;
}

ALWAYS_INLINE void *deep_inner(void)
{
	void *ra;

	ra = get_ra(); line_deep_inner = __LINE__;
	sink++;
	return ra;
}

ALWAYS_INLINE void *deep_mid(void)
{
	void *ra;

	sink++;
	ra = deep_inner(); line_deep_mid = __LINE__;
	sink++;
	return ra;
}

static NOINLINE void *deep_outer(void)
{
	void *ra;

	sink++;
	ra = deep_mid(); line_deep_outer = __LINE__;
	sink++;
	return ra;
}
/* clang-format on */

static void test_function_address(struct symbolizer *s)
{
	struct sym_frame f[MAXF];
	const char *exe = NULL;
	char real[4096];
	ssize_t len;
	uint64_t pc = (uint64_t)(uintptr_t)&leaf;
	uint64_t bias = load_bias(&leaf, &exe);
	int n;

	n = symbolizer_lookup(s, pc, false, f, MAXF);
	check(n == 1 && f[0].function && !strcmp(f[0].function, "leaf") &&
	              is_this_file(f[0].file) && f[0].line >= line_leaf_def &&
	              f[0].line <= line_leaf_end && !f[0].inlined,
	      "function address: want leaf at test_symbolize.c:%d..%d", line_leaf_def,
	      line_leaf_end);
	if (failed || verbose)
		dump("leaf", f, n);

	/* The main program's module is its real path, not "[exe]". */
	len = readlink("/proc/self/exe", real, sizeof(real) - 1);
	real[len > 0 ? len : 0] = '\0';
	check(n >= 1 && f[0].module && !strcmp(f[0].module, real),
	      "main program module: got %s, want %s", str(f[0].module), real);
	check(n >= 1 && f[0].offset == pc - bias, "main program offset: got %#llx, want %#llx",
	      (unsigned long long)f[0].offset, (unsigned long long)(pc - bias));
	(void)exe;
}

static void test_return_address(struct symbolizer *s)
{
	struct sym_frame f[MAXF], g[MAXF];
	void *ra = leaf();
	uint64_t pc = (uint64_t)(uintptr_t)ra;
	uint64_t bias = load_bias(ra, NULL);
	int n, m;

	n = symbolizer_lookup(s, pc, true, f, MAXF);
	check(n == 1 && frame_is(&f[0], "leaf", line_leaf_call, 0),
	      "return address: want leaf at test_symbolize.c:%d", line_leaf_call);
	/* The offset is that of pc as given, not of pc - 1. */
	check(n >= 1 && f[0].offset == pc - bias, "return address offset: got %#llx, want %#llx",
	      (unsigned long long)f[0].offset, (unsigned long long)(pc - bias));
	if (verbose || n != 1 || !frame_is(&f[0], "leaf", line_leaf_call, 0))
		dump("leaf return address", f, n);

	/* Cached: the same strings come back. */
	m = symbolizer_lookup(s, pc, true, g, MAXF);
	check(m == n && g[0].function == f[0].function && g[0].file == f[0].file &&
	              g[0].module == f[0].module,
	      "second lookup differs from the first");
}

static void test_inlined(struct symbolizer *s)
{
	struct sym_frame f[MAXF];
	void *ra = inl_outer();
	uint64_t pc = (uint64_t)(uintptr_t)ra;
	int n, ok;

	n = symbolizer_lookup(s, pc, true, f, MAXF);
	ok = n == 2 && frame_is(&f[0], "inl_outer", line_inl_call, 0) &&
	     frame_is(&f[1], "inl", line_inl_inner, 1) && f[0].module == f[1].module &&
	     f[0].offset == f[1].offset;
	check(ok, "one inline level: want inl_outer:%d, inl:%d (inlined)", line_inl_call,
	      line_inl_inner);
	if (!ok || verbose)
		dump("inl_outer", f, n);

	/* cap smaller than the chain keeps the outermost frames. */
	n = symbolizer_lookup(s, pc, true, f, 1);
	check(n == 1 && frame_is(&f[0], "inl_outer", line_inl_call, 0),
	      "cap 1: want only inl_outer:%d", line_inl_call);
}

static void test_deep_inlined(struct symbolizer *s)
{
	struct sym_frame f[MAXF];
	void *ra = deep_outer();
	int n, ok;

	n = symbolizer_lookup(s, (uint64_t)(uintptr_t)ra, true, f, MAXF);
	ok = n == 3 && frame_is(&f[0], "deep_outer", line_deep_outer, 0) &&
	     frame_is(&f[1], "deep_mid", line_deep_mid, 1) &&
	     frame_is(&f[2], "deep_inner", line_deep_inner, 1);
	check(ok, "two inline levels: want deep_outer:%d, deep_mid:%d, deep_inner:%d",
	      line_deep_outer, line_deep_mid, line_deep_inner);
	if (!ok || verbose)
		dump("deep_outer", f, n);
}

static void test_libc(struct symbolizer *s)
{
	struct sym_frame f[MAXF];
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	const char *path = NULL;
	uint64_t pc = (uint64_t)(uintptr_t)fn;
	uint64_t bias = load_bias(fn, &path);
	int n, ok;

	n = symbolizer_lookup(s, pc, false, f, MAXF);
	ok = n >= 1 && f[0].module && strstr(f[0].module, "libc") && f[0].function &&
	     strstr(f[0].function, "getpid") && f[0].offset == pc - bias;
	check(ok, "libc: want getpid in libc (loader says %s)", str(path));
	if (!ok || verbose)
		dump("getpid", f, n);
}

static void test_garbage(struct symbolizer *s)
{
	struct sym_frame f[MAXF];
	int n;

	n = symbolizer_lookup(s, 0x10, false, f, MAXF);
	check(n == 1 && !f[0].function && !f[0].file && !f[0].module && f[0].line == 0 &&
	              !f[0].inlined,
	      "garbage 0x10: want one empty frame");
	n = symbolizer_lookup(s, 0, true, f, MAXF);
	check(n == 1 && !f[0].function && !f[0].module,
	      "garbage 0 as return address: want one empty frame");
	n = symbolizer_lookup(s, ~0ULL, false, f, MAXF);
	check(n == 1 && !f[0].function, "garbage ~0: want one empty frame");
	check(symbolizer_lookup(s, 0x10, false, f, 0) == 0, "cap 0: want nothing written");
	n = symbolizer_lookup(NULL, 0x10, false, f, MAXF);
	check(n == 1 && !f[0].function, "NULL symbolizer: want one empty frame");
}

/* A library loaded after the module list was read is found. */
static void test_dlopen(struct symbolizer *s)
{
	struct sym_frame f[MAXF];
	void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
	void *fn;
	int n, ok;

	if (!h) {
		fprintf(stderr, "test_symbolize: skip dlopen/demangle: %s\n", dlerror());
		return;
	}
	/* std::exception::~exception(), a mangled exported symbol. Being in
	 * the process now, __cxa_demangle is found as well. */
	fn = dlsym(h, "_ZNSt9exceptionD2Ev");
	n = symbolizer_lookup(s, (uint64_t)(uintptr_t)fn, false, f, MAXF);
	ok = fn && n >= 1 && f[0].module && strstr(f[0].module, "libstdc++") && f[0].function &&
	     !strcmp(f[0].function, "std::exception::~exception()");
	check(ok, "dlopen()ed library, demangled name");
	if (!ok || verbose)
		dump("std::exception::~exception", f, n);

	/* Explicit refresh keeps things working. */
	symbolizer_refresh(s);
	n = symbolizer_lookup(s, (uint64_t)(uintptr_t)fn, false, f, MAXF);
	check(n >= 1 && f[0].module && strstr(f[0].module, "libstdc++"), "lookup after refresh");
	dlclose(h);
}

struct thread_arg {
	struct symbolizer *s;
	uint64_t pc;
	int ok;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct sym_frame f[MAXF];
	int i, n;

	a->ok = 1;
	for (i = 0; i < 200; i++) {
		n = symbolizer_lookup(a->s, a->pc + (i % 7 == 0), true, f, MAXF);
		if (i % 7 == 0)
			continue;
		if (n != 3 || strcmp(str(f[2].function), "deep_inner"))
			a->ok = 0;
		if (i % 50 == 0)
			symbolizer_refresh(a->s);
	}
	return NULL;
}

static void test_threads(void)
{
	struct symbolizer *s = symbolizer_new_self();
	struct thread_arg a[4];
	pthread_t t[4];
	int i, ok = 1;

	for (i = 0; i < 4; i++) {
		a[i].s = s;
		a[i].pc = (uint64_t)(uintptr_t)deep_outer();
		pthread_create(&t[i], NULL, thread_main, &a[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok &= a[i].ok;
	}
	check(s && ok, "concurrent lookups");
	symbolizer_destroy(s);
}

int main(int argc, char **argv)
{
	struct symbolizer *s = symbolizer_new_self();

	verbose = argc > 1 && !strcmp(argv[1], "-v");

	if (!s) {
		fprintf(stderr, "test_symbolize: symbolizer_new_self failed\n");
		return 1;
	}
	test_function_address(s);
	test_return_address(s);
	test_inlined(s);
	test_deep_inlined(s);
	test_libc(s);
	test_garbage(s);
	test_dlopen(s);
	symbolizer_destroy(s);
	test_threads();
	symbolizer_destroy(NULL);

	printf("test_symbolize: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
