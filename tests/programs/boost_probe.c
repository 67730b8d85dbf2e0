/* SPDX-License-Identifier: MIT */
/* boost_probe.c - test-only preload: whenever a program prints, every task's state and stack, into
 * a file. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COSTACK_OPTIONAL
#include <costack.h>

/*
 * Preloaded after libcostack.so (LD_PRELOAD="libcostack.so:probe.so") to look
 * at programs nobody here wrote, such as Boost's examples, without changing
 * them: at each of the first COSTACK_PROBE_MAX (default 64) outputs to
 * stdout, it appends to the file COSTACK_PROBE_OUT a snapshot of every
 * unfinished task (costack_all_tasks) and of every task seen before: its
 * costack_task_info, its costack_get_stack frames (each with the object
 * holding it and its address there, for addr2line), and, when the probe runs
 * on a thread's own stack, its costack_print_stack; at exit, one more. It
 * prints nothing else and passes every call through unchanged.
 *
 * Why print_stack only on a thread's own stack (unless COSTACK_PROBE_PRINT=
 * always): symbolizing reads DWARF line tables with libdw, whose
 * read_srclines() alone takes about 150 kB of stack, more than the 128 kB
 * Boost gives a coroutine; the frames need no symbolizer.
 *
 * Output reaches fd 1 through write(2) only for a program that calls it:
 * glibc's stdio calls its internal __write, which no preload can interpose.
 * So the probe also interposes the stdio functions through which a C
 * program (printf, puts, ...) and libstdc++'s std::cout (fwrite, putc,
 * fflush) reach stdout.
 *
 * The file:
 *   === snapshot N <function> thread=TID current=ID   (or: === exit ...)
 *   task ID STATE RUNTIME current=0|1 parent=ID thread=TID switches=N raises=N origin=ID
 *   exception TYPE: WHAT                   (when the task has seen one)
 *   frame PC OBJECT ADDRESS SYMBOL         (oldest first; ADDRESS in OBJECT, of the
 *                                           call for a return address; SYMBOL or -)
 *   <costack_print_stack's text>           (see above)
 *   ...
 *   === end
 */

#define EXPORT __attribute__((visibility("default")))
#define SEEN_MAX 1024

static const char *const runtime_names[] = {"thread", "ucontext", "fcontext"};

/* Set while the probe runs on this thread: its own stdio calls (and
 * costack_print_stack's) pass straight through. */
static __thread int in_probe __attribute__((tls_model("initial-exec")));
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *probe_out;
static int snapshots, max_snapshots = 64;
static int print_always; /* COSTACK_PROBE_PRINT=always */
static char exe_path[PATH_MAX];
static costack_task_t seen[SEEN_MAX];
static int nseen;

/* The next definition of a function, resolved once. */
#define REAL(name)                                                                                 \
	static __typeof__(name) *real_##name;                                                      \
	if (!real_##name)                                                                          \
	real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static void remember(costack_task_t id)
{
	for (int i = 0; i < nseen; i++)
		if (seen[i] == id)
			return;
	if (nseen < SEEN_MAX)
		seen[nseen++] = id;
}

/* The frames of a task, each with its object and address there. Under
 * probe_lock: the buffer is static, to take little of a coroutine's stack. */
static void print_frames(costack_task_t id, int state)
{
	static void *frames[COSTACK_MAX_FRAMES];
	int n = costack_get_stack(id, frames, sizeof(frames) / sizeof(*frames), 0);

	for (int i = 0; i < n; i++) {
		/* A return address is looked up at the call; a created task's
		 * one frame is its entry function itself. */
		uintptr_t pc = (uintptr_t)frames[i] - (state == COSTACK_CREATED ? 0 : 1);
		struct link_map *map = NULL;
		const char *object = "?";
		Dl_info info;

		if (!dladdr1((void *)pc, &info, (void **)&map, RTLD_DL_LINKMAP) || !map) {
			fprintf(probe_out, "frame %p ? 0x0 -\n", frames[i]);
			continue;
		}
		object = map->l_name && map->l_name[0] ? map->l_name : exe_path;
		fprintf(probe_out, "frame %p %s %#lx %s\n", frames[i], object,
		        (unsigned long)(pc - map->l_addr), info.dli_sname ? info.dli_sname : "-");
	}
}

static void print_task(costack_task_t id, costack_task_t current, int on_root_stack)
{
	struct costack_task_info info = {.size = sizeof(info)};

	if (costack_task_info(id, &info) != 0) {
		fprintf(probe_out, "task %llu unknown\n", (unsigned long long)id);
		return;
	}
	fprintf(probe_out,
	        "task %llu %s %s current=%d parent=%llu thread=%d switches=%llu raises=%llu "
	        "origin=%llu\n",
	        (unsigned long long)id, costack_state_name(info.state),
	        info.runtime >= 0 && info.runtime < 3 ? runtime_names[info.runtime] : "?",
	        id == current, (unsigned long long)info.parent, (int)info.thread,
	        (unsigned long long)info.switches, (unsigned long long)info.raises,
	        (unsigned long long)info.exception_origin);
	if (info.exception_type[0])
		fprintf(probe_out, "exception %s: %s\n", info.exception_type, info.exception_what);
	print_frames(id, info.state);
	if (on_root_stack || print_always)
		costack_print_stack(id, 0, probe_out);
}

/* A snapshot of every task the probe knows of; `full` for the exit one,
 * which ignores COSTACK_PROBE_MAX. */
static void snapshot(const char *what, int full)
{
	static costack_task_t ids[SEEN_MAX]; /* under probe_lock */
	struct costack_task_info self = {.size = sizeof(self)};
	costack_task_t current;
	int on_root_stack;
	size_t n;

	if (in_probe || !costack_available())
		return;
	in_probe = 1;
	pthread_mutex_lock(&probe_lock);
	current = costack_current_task();
	on_root_stack =
	        costack_task_info(current, &self) == 0 && self.runtime == COSTACK_RUNTIME_THREAD;
	n = costack_all_tasks(ids, SEEN_MAX);
	if (n > SEEN_MAX)
		n = SEEN_MAX;
	for (size_t i = 0; i < n; i++)
		remember(ids[i]);
	/* Past the limit, only the tasks are remembered, for the exit snapshot. */
	if (probe_out && (full || snapshots < max_snapshots)) {
		if (full)
			fprintf(probe_out, "=== exit thread=%d current=%llu\n", (int)gettid(),
			        (unsigned long long)current);
		else
			fprintf(probe_out, "=== snapshot %d %s thread=%d current=%llu\n",
			        ++snapshots, what, (int)gettid(), (unsigned long long)current);
		for (int i = 0; i < nseen; i++)
			print_task(seen[i], current, on_root_stack);
		fputs("=== end\n", probe_out);
		fflush(probe_out);
	}
	pthread_mutex_unlock(&probe_lock);
	in_probe = 0;
}

static void snapshot_at_exit(void)
{
	snapshot("exit", 1);
}

__attribute__((constructor)) static void probe_init(void)
{
	const char *path = getenv("COSTACK_PROBE_OUT");
	const char *max = getenv("COSTACK_PROBE_MAX");
	const char *print = getenv("COSTACK_PROBE_PRINT");
	ssize_t len = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

	exe_path[len > 0 ? len : 0] = '\0';
	if (max)
		max_snapshots = atoi(max);
	print_always = print && !strcmp(print, "always");
	if (!path || !*path)
		return;
	in_probe = 1;
	probe_out = fopen(path, "ae");
	in_probe = 0;
	/* Registered before the program's own static objects: runs after their
	 * destructors, and before libcostack.so's. */
	if (probe_out)
		atexit(snapshot_at_exit);
}

/* --- the interposed output functions ------------------------------------------------ */

EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	REAL(write);
	if (fd == STDOUT_FILENO)
		snapshot("write", 0);
	return real_write(fd, buf, count);
}

EXPORT size_t fwrite(const void *ptr, size_t size, size_t nmemb, FILE *stream)
{
	REAL(fwrite);
	if (stream == stdout)
		snapshot("fwrite", 0);
	return real_fwrite(ptr, size, nmemb, stream);
}

EXPORT int fputs(const char *s, FILE *stream)
{
	REAL(fputs);
	if (stream == stdout)
		snapshot("fputs", 0);
	return real_fputs(s, stream);
}

EXPORT int puts(const char *s)
{
	REAL(puts);
	snapshot("puts", 0);
	return real_puts(s);
}

EXPORT int fputc(int c, FILE *stream)
{
	REAL(fputc);
	if (stream == stdout)
		snapshot("fputc", 0);
	return real_fputc(c, stream);
}

EXPORT int putc(int c, FILE *stream)
{
	REAL(putc);
	if (stream == stdout)
		snapshot("putc", 0);
	return real_putc(c, stream);
}

EXPORT int putchar(int c)
{
	REAL(putchar);
	snapshot("putchar", 0);
	return real_putchar(c);
}

EXPORT int fflush(FILE *stream)
{
	REAL(fflush);
	if (stream == stdout)
		snapshot("fflush", 0);
	return real_fflush(stream);
}

EXPORT int vfprintf(FILE *stream, const char *format, va_list ap)
{
	REAL(vfprintf);
	if (stream == stdout)
		snapshot("vfprintf", 0);
	return real_vfprintf(stream, format, ap);
}

EXPORT int vprintf(const char *format, va_list ap)
{
	REAL(vprintf);
	snapshot("vprintf", 0);
	return real_vprintf(format, ap);
}

EXPORT int fprintf(FILE *stream, const char *format, ...)
{
	va_list ap;
	int n;

	REAL(vfprintf);
	if (stream == stdout)
		snapshot("fprintf", 0);
	va_start(ap, format);
	n = real_vfprintf(stream, format, ap);
	va_end(ap);
	return n;
}

EXPORT int printf(const char *format, ...)
{
	va_list ap;
	int n;

	REAL(vprintf);
	snapshot("printf", 0);
	va_start(ap, format);
	n = real_vprintf(format, ap);
	va_end(ap);
	return n;
}
