/* SPDX-License-Identifier: MIT */
/* dump.c - every task's stack, written from a signal handler: on a signal of choice, on a crash. */
#define _GNU_SOURCE
#include "dump.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "task.h"
#include "costack-live.h"
#include "deps.h"
#include "live.h"
#include "log.h"
#include "task_view.h"
#include "unwind.h"

/*
 * Everything from here to the handlers runs inside a signal handler that
 * may have interrupted anything, costack included: no malloc, no stdio, no
 * lock that the interrupted code may hold. Only system calls (open, read,
 * pread, write, close), string functions on buffers of our own, and
 * libunwind's local unwinding, which it documents as safe in a handler. The
 * memory is static, owned by the one dump that runs at a time (dump_owner).
 * Tasks are read as an outside reader reads them (costack-live.h): a record
 * is copied, then its seqlock checked; the registry lock is never taken.
 */

/* The thread that dumps now (its tid), 0 when none does. */
static atomic_int dump_owner;

/* --- output: a static buffer and write(2) ------------------------------------- */

static int out_fd = STDERR_FILENO;
static char out_buf[4096];
static size_t out_len;

/* All of buf to fd; false when fd takes no more (a full disk, a reader gone). */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void out_flush(void)
{
	static const char why[] = "costack: cannot write the dump to COSTACK_DUMP_FILE (";
	static const char where[] = "): the rest of it goes to stderr\n";
	const char *name;

	if (!write_all(out_fd, out_buf, out_len) && out_fd != STDERR_FILENO) {
		/* The file takes no more (/dev/full, a full disk): stderr gets the rest, after
		 * a line that says so. On stderr itself, the rest is lost, nothing else. */
		name = strerrorname_np(errno);
		close(out_fd);
		out_fd = STDERR_FILENO;
		if (write_all(out_fd, why, sizeof(why) - 1) &&
		    write_all(out_fd, name ? name : "error", strlen(name ? name : "error")) &&
		    write_all(out_fd, where, sizeof(where) - 1))
			write_all(out_fd, out_buf, out_len);
	}
	out_len = 0;
}

static void out_mem(const char *s, size_t n)
{
	while (n) {
		size_t room = sizeof(out_buf) - out_len;
		size_t k = n < room ? n : room;

		memcpy(out_buf + out_len, s, k);
		out_len += k;
		s += k;
		n -= k;
		if (out_len == sizeof(out_buf))
			out_flush();
	}
}

static void out_str(const char *s)
{
	out_mem(s, strlen(s));
}

static void out_char(char c)
{
	out_mem(&c, 1);
}

static void out_dec(uint64_t v)
{
	char digits[24];
	int n = 0;

	do
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10));
	out_mem(digits + sizeof(digits) - n, (size_t)n);
}

static void out_hex(uint64_t v)
{
	char digits[16];
	int n = 0;

	do
		digits[sizeof(digits) - 1 - n++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4));
	out_str("0x");
	out_mem(digits + sizeof(digits) - n, (size_t)n);
}

/* A task's name as it is, but for quotes, backslashes and control bytes. */
static void out_escaped(const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out_char('\\');
			out_char((char)c);
		} else if (c < 0x20 || c == 0x7f) {
			out_str("\\x");
			out_char("0123456789abcdef"[c >> 4]);
			out_char("0123456789abcdef"[c & 15]);
		} else {
			out_char((char)c);
		}
	}
}

/* COSTACK_DUMP_FILE, opened anew for each dump (a file rotated away between
 * two dumps is made again), else stderr. O_NONBLOCK: a FIFO with no reader
 * must not hang the program. */
static void out_open(void)
{
	int fd;

	out_len = 0;
	out_fd = STDERR_FILENO;
	if (!config_dump_file[0])
		return;
	do
		fd = open(config_dump_file,
		          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0) {
		out_fd = fd;
		return;
	}
	out_str("costack: cannot open COSTACK_DUMP_FILE ");
	out_str(config_dump_file);
	out_str(" (");
	out_str(strerrorname_np(errno) ? strerrorname_np(errno) : "error");
	out_str("): the dump goes to stderr\n");
}

static void out_close(void)
{
	out_flush();
	if (out_fd != STDERR_FILENO)
		close(out_fd);
	out_fd = STDERR_FILENO;
}

/* --- modules and their symbols: /proc/self/maps, ELF files read with pread ------ */

#define MAPPINGS_MAX 4096
#define OBJECTS_MAX 512
#define PATHS_SIZE (128 * 1024)
#define LOADS_MAX 16
#define SYMBOLS_MAX 1024
#define NAMES_SIZE (64 * 1024)
#define NAME_MAX_LEN 512

struct mapping {
	uintptr_t start, end;
	uint64_t offset; /* in the file */
	int object;
};

enum object_state { OBJECT_UNREAD, OBJECT_READ, OBJECT_UNUSABLE };

/* A file mapped (or a [vdso]-like name): what symbolizing needs of it. */
struct object {
	uint32_t path; /* in paths[] */
	uint8_t state;
	uint8_t nloads, nsymtabs;
	int fd;
	struct {
		uint64_t offset, filesz, vaddr;
	} loads[LOADS_MAX];
	struct {
		uint64_t offset, count, str_offset, str_size;
	} symtabs[2]; /* .symtab first: it has the static functions too */
};

static struct mapping mappings[MAPPINGS_MAX];
static int nmappings;
static struct object objects[OBJECTS_MAX];
static int nobjects;
static char paths[PATHS_SIZE];
static uint32_t paths_used;
static bool maps_read;

/* Symbols found during this dump: tasks share most frames. */
struct symbol {
	int object;
	uint64_t value, size;
	uint32_t name; /* in names[]; UINT32_MAX: no symbol there */
};
static struct symbol symbols[SYMBOLS_MAX];
static int nsymbols;
static char names[NAMES_SIZE];
static uint32_t names_used;

static char maps_buf[8192];
static Elf64_Shdr shdr_buf[32];
static Elf64_Sym sym_buf[256];
static char name_buf[NAME_MAX_LEN];

static const char *parse_hex(const char *p, uint64_t *v)
{
	const char *start = p;

	*v = 0;
	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			*v = *v << 4 | (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			*v = *v << 4 | (uint64_t)(*p - 'a' + 10);
		else
			break;
	}
	return p > start ? p : NULL;
}

static const char *skip_field(const char *p)
{
	while (*p && *p != ' ')
		p++;
	while (*p == ' ')
		p++;
	return p;
}

static int object_of_path(const char *path)
{
	size_t len = strlen(path);

	if (nmappings && mappings[nmappings - 1].object >= 0 &&
	    !strcmp(paths + objects[mappings[nmappings - 1].object].path, path))
		return mappings[nmappings - 1].object;
	for (int i = 0; i < nobjects; i++)
		if (!strcmp(paths + objects[i].path, path))
			return i;
	if (nobjects == OBJECTS_MAX || paths_used + len + 1 > PATHS_SIZE)
		return -1;
	memcpy(paths + paths_used, path, len + 1);
	objects[nobjects] = (struct object){.path = paths_used, .fd = -1};
	paths_used += (uint32_t)len + 1;
	return nobjects++;
}

/* "start-end perms offset dev inode   path": mappings of a file or a named region. */
static void maps_line(const char *line)
{
	uint64_t start, end, offset;
	const char *p = parse_hex(line, &start);
	int object;

	if (!p || *p != '-' || !(p = parse_hex(p + 1, &end)) || *p != ' ')
		return;
	p = skip_field(p + 1); /* perms */
	if (!(p = parse_hex(p, &offset)))
		return;
	p = skip_field(skip_field(skip_field(p))); /* offset, dev, inode */
	if (!*p || nmappings == MAPPINGS_MAX)
		return; /* anonymous */
	object = object_of_path(p);
	if (object >= 0)
		mappings[nmappings++] = (struct mapping){start, end, offset, object};
}

static void maps_load(void)
{
	size_t have = 0;
	bool too_long = false;
	int fd;

	nmappings = nobjects = nsymbols = 0;
	paths_used = names_used = 0;
	do
		fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	maps_read = fd >= 0;
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, maps_buf + have, sizeof(maps_buf) - 1 - have);
		char *line, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		maps_buf[have] = '\0';
		for (line = maps_buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			if (!too_long)
				maps_line(line);
			too_long = false;
		}
		have = (size_t)(maps_buf + have - line);
		memmove(maps_buf, line, have);
		if (have == sizeof(maps_buf) - 1) {
			have = 0; /* a line longer than the buffer: dropped */
			too_long = true;
		}
	}
	close(fd);
}

static const struct mapping *mapping_of(uintptr_t addr)
{
	int lo = 0, hi = nmappings;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (addr < mappings[mid].start)
			hi = mid;
		else if (addr >= mappings[mid].end)
			lo = mid + 1;
		else
			return &mappings[mid];
	}
	return NULL;
}

static bool pread_full(int fd, void *buf, size_t size, uint64_t offset)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static bool read_shdr(int fd, const Elf64_Ehdr *eh, uint64_t index, Elf64_Shdr *out)
{
	return pread_full(fd, out, sizeof(*out), eh->e_shoff + index * sizeof(*out));
}

static void object_add_symtab(struct object *o, int fd, const Elf64_Ehdr *eh, uint64_t shnum,
                              const Elf64_Shdr *sh)
{
	Elf64_Shdr str;
	int at = sh->sh_type == SHT_SYMTAB ? 0 : o->nsymtabs;

	if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_link >= shnum || o->nsymtabs == 2 ||
	    !read_shdr(fd, eh, sh->sh_link, &str) || str.sh_type != SHT_STRTAB)
		return;
	if (at == 0 && o->nsymtabs)
		o->symtabs[1] = o->symtabs[0];
	o->symtabs[at].offset = sh->sh_offset;
	o->symtabs[at].count = sh->sh_size / sizeof(Elf64_Sym);
	o->symtabs[at].str_offset = str.sh_offset;
	o->symtabs[at].str_size = str.sh_size;
	o->nsymtabs++;
}

/* Its load segments (to turn an address into the ELF's own) and symbol
 * tables, from the file: the memory image may lack them, and a read of the
 * file cannot fault. */
static void object_read(struct object *o)
{
	const char *path = paths + o->path;
	size_t len = strlen(path);
	Elf64_Ehdr eh;
	uint64_t shnum;
	int fd;

	o->state = OBJECT_UNUSABLE;
	if (path[0] != '/' || (len > 10 && !strcmp(path + len - 10, " (deleted)")))
		return;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return;
	o->fd = fd;
	if (!pread_full(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return;
	for (unsigned i = 0;
	     eh.e_phentsize == sizeof(Elf64_Phdr) && i < eh.e_phnum && o->nloads < LOADS_MAX; i++) {
		Elf64_Phdr ph;

		if (!pread_full(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)))
			break;
		if (ph.p_type == PT_LOAD) {
			o->loads[o->nloads].offset = ph.p_offset;
			o->loads[o->nloads].filesz = ph.p_filesz;
			o->loads[o->nloads].vaddr = ph.p_vaddr;
			o->nloads++;
		}
	}
	shnum = eh.e_shnum;
	if (eh.e_shoff && eh.e_shentsize == sizeof(Elf64_Shdr)) {
		/* More sections than e_shnum holds: the count is in section 0. */
		if (!shnum && read_shdr(fd, &eh, 0, &shdr_buf[0]))
			shnum = shdr_buf[0].sh_size;
		for (uint64_t i = 0; i < shnum && i < 65536; i += 32) {
			uint64_t k = shnum - i < 32 ? shnum - i : 32;

			if (!pread_full(fd, shdr_buf, k * sizeof(Elf64_Shdr),
			                eh.e_shoff + i * sizeof(Elf64_Shdr)))
				break;
			for (uint64_t j = 0; j < k; j++) {
				Elf64_Shdr sh = shdr_buf[j];

				if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
					object_add_symtab(o, fd, &eh, shnum, &sh);
			}
		}
	}
	o->state = OBJECT_READ;
}

/* addr's address in the ELF file's own terms (what addr2line and gdb take). */
static uint64_t object_vaddr(const struct object *o, const struct mapping *m, uintptr_t addr)
{
	uint64_t file_offset = addr - m->start + m->offset;

	for (int i = 0; i < o->nloads; i++)
		if (file_offset >= o->loads[i].offset &&
		    file_offset < o->loads[i].offset + o->loads[i].filesz)
			return file_offset - o->loads[i].offset + o->loads[i].vaddr;
	return file_offset;
}

/* The function symbol holding vaddr: its name into name_buf. */
static bool elf_symbol(const struct object *o, uint64_t vaddr, uint64_t *value, uint64_t *size)
{
	for (int t = 0; t < o->nsymtabs; t++) {
		uint64_t count = o->symtabs[t].count;

		for (uint64_t i = 0; i < count; i += 256) {
			uint64_t k = count - i < 256 ? count - i : 256;

			if (!pread_full(o->fd, sym_buf, k * sizeof(Elf64_Sym),
			                o->symtabs[t].offset + i * sizeof(Elf64_Sym)))
				break;
			for (uint64_t j = 0; j < k; j++) {
				const Elf64_Sym *s = &sym_buf[j];
				int type = ELF64_ST_TYPE(s->st_info);
				ssize_t n;

				if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
				    s->st_shndx == SHN_UNDEF || vaddr < s->st_value ||
				    vaddr - s->st_value >= s->st_size ||
				    s->st_name >= o->symtabs[t].str_size)
					continue;
				do
					n = pread(o->fd, name_buf, sizeof(name_buf) - 1,
					          (off_t)(o->symtabs[t].str_offset + s->st_name));
				while (n < 0 && errno == EINTR);
				if (n <= 0)
					return false;
				name_buf[n] = '\0';
				*value = s->st_value;
				*size = s->st_size;
				return true;
			}
		}
	}
	return false;
}

/* The name of the function at vaddr of object, and where it starts; NULL if none. */
static const char *symbol_of(int object, uint64_t vaddr, uint64_t *value)
{
	struct object *o = &objects[object];
	uint64_t size;
	size_t len;

	for (int i = 0; i < nsymbols; i++) {
		if (symbols[i].object == object && vaddr >= symbols[i].value &&
		    vaddr - symbols[i].value < symbols[i].size) {
			*value = symbols[i].value;
			return symbols[i].name == UINT32_MAX ? NULL : names + symbols[i].name;
		}
	}
	if (!elf_symbol(o, vaddr, value, &size)) {
		if (nsymbols < SYMBOLS_MAX)
			symbols[nsymbols++] = (struct symbol){object, vaddr, 1, UINT32_MAX};
		return NULL;
	}
	len = strlen(name_buf);
	if (nsymbols < SYMBOLS_MAX && names_used + len + 1 <= NAMES_SIZE) {
		memcpy(names + names_used, name_buf, len + 1);
		symbols[nsymbols++] = (struct symbol){object, *value, size, names_used};
		names_used += (uint32_t)len + 1;
		return names + symbols[nsymbols - 1].name;
	}
	return name_buf;
}

static void objects_close(void)
{
	for (int i = 0; i < nobjects; i++)
		if (objects[i].fd >= 0)
			close(objects[i].fd);
	nobjects = 0;
}

/* "  #3 0x55d0c0a011e9  /path/prog+0x11e9  sleeper_b+0x19": a return
 * address is looked up at the call (addr - 1), an entry or the
 * interrupted instruction at addr itself. */
static void out_frame(int index, uintptr_t addr, bool is_return)
{
	uintptr_t probe = addr - (is_return ? 1 : 0);
	const struct mapping *m = mapping_of(probe);
	struct object *o;
	const char *name;
	uint64_t vaddr, value;

	out_str("  #");
	out_dec((uint64_t)index);
	out_char(' ');
	out_hex(addr);
	if (!m) {
		out_str("  ?\n");
		return;
	}
	o = &objects[m->object];
	if (o->state == OBJECT_UNREAD)
		object_read(o);
	vaddr = o->state == OBJECT_READ ? object_vaddr(o, m, addr) : addr - m->start + m->offset;
	out_str("  ");
	out_str(paths + o->path);
	out_char('+');
	out_hex(vaddr);
	if (o->state == OBJECT_READ &&
	    (name = symbol_of(m->object, vaddr - (is_return ? 1 : 0), &value))) {
		out_str("  ");
		out_str(name);
		out_char('+');
		out_hex(vaddr - value);
	}
	out_char('\n');
}

/* --- task records, read as an outside reader does --------------------------------- */

/* A consistent copy of the record at rec (task_view.h: bounded, since the writer may be the
 * very code this handler interrupted, on this thread, which cannot finish before we return). */
static bool copy_record(const struct costack_live_header *h, const char *rec,
                        struct task_record *out)
{
	struct task_ring_layout ring = {h->ring, h->ring_offset, h->snapshot_size};

	return task_record_copy(rec, &ring, out, 0);
}

static uint64_t task_id(const char *rec)
{
	return __atomic_load_n(&((const struct costack_live_task *)rec)->id, __ATOMIC_RELAXED);
}

/* Calls fn on every task record of the live region. */
static void for_each_record(const struct costack_live_header *h,
                            void (*fn)(const struct costack_live_header *, const char *, void *),
                            void *arg)
{
	uint32_t nslabs = __atomic_load_n(&h->nslabs, __ATOMIC_ACQUIRE);

	if (nslabs > COSTACK_LIVE_MAX_SLABS)
		nslabs = COSTACK_LIVE_MAX_SLABS;
	/* A slab is counted once its memory is ours: its records can be read. */
	for (uint32_t i = 0; i < nslabs; i++) {
		const struct costack_live_slab *slab = &h->slabs[i];

		for (uint32_t j = 0; j < slab->slots; j++)
			fn(h, (const char *)(uintptr_t)slab->address + (uint64_t)j * h->task_size,
			   arg);
	}
}

/* --- the dump ------------------------------------------------------------------- */

struct dump_reason {
	int sig;
	bool crash;
	const siginfo_t *info;
	void *context; /* the interrupted code's ucontext_t, for a crash */
};

/* The crashed thread's frames, walked from the signal's context. */
static uintptr_t interrupted[CONFIG_DEPTH_MAX];
static int ninterrupted;
static bool interrupted_truncated, interrupted_broken;
/* A fault while libunwind walks a broken stack comes back here. */
static sigjmp_buf walk_escape;
static volatile sig_atomic_t walk_escape_armed;

static void walk_interrupted(void *context)
{
	memset(interrupted, 0, sizeof(interrupted));
	ninterrupted = 0;
	interrupted_truncated = interrupted_broken = false;
	if (sigsetjmp(walk_escape, 1) == 0) {
		walk_escape_armed = 1;
		ninterrupted = unwind_signal_frames(context, interrupted, config.depth,
		                                    &interrupted_truncated);
		walk_escape_armed = 0;
	} else {
		interrupted_broken = true;
		while (ninterrupted < config.depth && interrupted[ninterrupted])
			ninterrupted++;
	}
}

static void out_interrupted(void)
{
	if (!ninterrupted && !interrupted_broken)
		out_str("  (libunwind found no frame there)\n");
	for (int i = 0; i < ninterrupted; i++) {
		int k = ninterrupted - 1 - i; /* innermost first: k == 0 is the instruction */

		if (i == 0 && interrupted_truncated)
			out_str("  (older frames not shown: COSTACK_DEPTH)\n");
		out_frame(i, interrupted[k], k != 0);
	}
	if (interrupted_broken)
		out_str("  (the walk stopped at a fault: the stack is broken)\n");
}

/* A stack record's frames (innermost first), oldest first. */
static void out_stack(const struct costack_live_stack *s, bool truncated)
{
	uint32_t n;

	if (!s)
		return;
	n = s->nframes < COSTACK_LIVE_MAX_FRAMES ? s->nframes : COSTACK_LIVE_MAX_FRAMES;
	if (truncated)
		out_str("  (older frames not kept: COSTACK_DEPTH)\n");
	for (uint32_t i = 0; i < n; i++)
		out_frame((int)i, (uintptr_t)s->frames[n - 1 - i], true);
}

static void out_exception(const struct costack_live_exception *e)
{
	size_t type_len, what_len;

	if (!e)
		return;
	type_len = strnlen(e->type, sizeof(e->type));
	what_len = strnlen(e->what, sizeof(e->what));
	out_str("  ");
	if (type_len)
		out_mem(e->type, type_len);
	else
		out_str("exception");
	if (what_len) {
		out_str(": ");
		out_escaped(e->what, what_len);
	}
	out_char('\n');
}

struct dump_walk {
	uint64_t crashed; /* the task the crash interrupted, 0 if none */
	uintptr_t sp;     /* the interrupted stack pointer */
	uint64_t current; /* this thread's current task, as costack knows it */
	uint64_t by_range, by_current;
	uint64_t count;
};

static void count_record(const struct costack_live_header *h, const char *rec, void *arg)
{
	struct dump_walk *w = arg;
	struct task_record r;

	if (!task_id(rec))
		return;
	w->count++;
	if (!w->sp || !copy_record(h, rec, &r) || !r.task.id)
		return;
	if (!task_state_ended(r.task.state) && w->sp >= r.task.stack_lo && w->sp < r.task.stack_hi)
		w->by_range = r.task.id;
	if (r.task.id == w->current)
		w->by_current = r.task.id;
}

static void out_task_line(const struct costack_live_header *h, const struct costack_live_task *t,
                          const char *note)
{
	const char *name = task_view_name(h, t->name);

	out_str("Task id=");
	out_dec(t->id);
	out_str(" name=\"");
	out_escaped(name, strnlen(name, COSTACK_LIVE_NAME_MAX));
	out_str("\" state=");
	out_str(task_state_name(t->state) ? task_state_name(t->state) : "?");
	out_str(" runtime=");
	out_str(task_runtime_name(t->runtime) ? task_runtime_name(t->runtime) : "?");
	out_str(" thread=");
	out_dec((uint64_t)(uint32_t)t->tid);
	if (note) {
		out_str(" (");
		out_str(note);
		out_char(')');
	}
	out_char('\n');
}

/* One task with get_stack()'s frames (task_view.h): the crashed task asks about itself (its
 * frames are those the crash interrupted); a running task other than the crashed one shows
 * where it was last resumed, as get_stack() does from another thread. */
static void out_record(const struct costack_live_header *h, const char *rec, void *arg)
{
	const struct dump_walk *w = arg;
	struct task_record r;
	const struct costack_live_task *t = &r.task;
	const struct costack_live_snapshot *s;
	struct task_view_parts parts;
	enum task_frames source;

	if (!task_id(rec))
		return;
	if (!copy_record(h, rec, &r)) {
		out_str("Task id=");
		out_dec(task_id(rec));
		out_str(" (its record is being changed by the code the signal interrupted: "
		        "not shown)\n");
		return;
	}
	if (!t->id)
		return;
	source = task_frames_of(t->state, w->crashed && t->id == w->crashed, t->switches);
	s = task_record_frames(&r, source);
	if (s)
		task_view_snapshot(h, s, &parts);
	switch (source) {
	case TASK_FRAMES_LIVE:
		out_task_line(h, t, "crashed here");
		out_interrupted();
		break;
	case TASK_FRAMES_ENTRY:
		out_task_line(h, t,
		              t->state == COSTACK_RUNNING ? "running: not suspended yet, resumed "
		                                            "at its entry"
		                                          : NULL);
		if (t->entry)
			out_frame(0, (uintptr_t)t->entry, false);
		break;
	case TASK_FRAMES_SUSPENSION:
		out_task_line(h, t,
		              t->state != COSTACK_RUNNING ? NULL
		              : s ? "running: the stack it was last resumed at"
		                  : "running: no stack recorded yet");
		if (s)
			out_stack(parts.stack, parts.truncated);
		break;
	case TASK_FRAMES_TRACEBACK:
		out_task_line(h, t, NULL);
		if (s) {
			out_stack(parts.stack, parts.truncated);
			out_exception(parts.exception);
		}
		break;
	default:
		out_task_line(h, t, NULL);
		break;
	}
}

static void out_reason(const struct dump_reason *r)
{
	char name[16];

	config_signal_name(r->sig, name);
	if (!r->crash) {
		out_str("signal ");
		out_str(name);
		return;
	}
	out_str("crash ");
	out_str(name);
	if (!r->info)
		return;
	if (r->info->si_code > 0 && r->sig != SIGABRT) {
		out_str(" at ");
		out_hex((uintptr_t)r->info->si_addr);
	} else if (r->info->si_pid != getpid()) {
		out_str(" sent by process ");
		out_dec((uint64_t)(uint32_t)r->info->si_pid);
	}
}

static void dump_all(const struct dump_reason *r)
{
	const struct costack_live_header *h = live_header();
	struct dump_walk w = {0};
	const struct task *current;
	sigset_t pipe_set, pending, saved_mask;
	bool pipe_was_pending;

	/* A reader gone from stderr must cost the dump, not the program (SIGPIPE). */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &saved_mask);

	out_open();
	maps_load();
	if (r->crash && r->context) {
		walk_interrupted(r->context);
		w.sp = (uintptr_t)((ucontext_t *)r->context)->uc_mcontext.gregs[REG_RSP];
		current = core_current();
		w.current = current ? current->id : 0;
	}
	if (h)
		for_each_record(h, count_record, &w);
	/* The stack the crash is on; else, as after a stack overflow (the
	 * stack pointer below the stack), the task costack last ran here. */
	w.crashed = w.by_range ? w.by_range : w.by_current;

	out_str("costack: dump of process ");
	out_dec((uint64_t)getpid());
	out_str(" (reason: ");
	out_reason(r);
	if (!h) {
		/* costack becomes active at the first task made (core.c). */
		out_str("): no task was made in this process yet\n");
	} else {
		out_str("), ");
		out_dec(w.count);
		out_str(w.count == 1 ? " task" : " tasks");
		out_str(maps_read ? "\n" : "; addresses only (no /proc/self/maps)\n");
		for_each_record(h, out_record, &w);
	}
	if (r->crash && !w.crashed) {
		out_str("Thread tid=");
		out_dec((uint64_t)syscall(SYS_gettid));
		out_str(" (on no task's stack; crashed here)\n");
		out_interrupted();
	}
	out_str("costack: end of dump of process ");
	out_dec((uint64_t)getpid());
	out_char('\n');
	out_close();
	objects_close();

	if (!pipe_was_pending) {
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE)) {
			struct timespec none = {0, 0};

			sigtimedwait(&pipe_set, NULL, &none);
		}
	}
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

/* One dump at a time: a thread that finds another one dumping waits for it
 * (a second crash must not kill the process in the middle of the first
 * one's dump), ten seconds at most. */
static bool dump_lock(int tid)
{
	struct timespec start, now;
	int expected = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!atomic_compare_exchange_weak(&dump_owner, &expected, tid)) {
		expected = 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 10)
			return false;
		sched_yield();
	}
	return true;
}

static void dump_unlock(void)
{
	atomic_store(&dump_owner, 0);
}

/* --- the handlers -------------------------------------------------------------- */

static struct sigaction previous[NSIG]; /* what each signal did before costack's handler */
static bool dumps_on;                   /* some handler is installed: threads get a signal stack */
/* The process whose crash was dumped: a fork child is another one. */
static atomic_int crash_dumped_by;

static bool is_ignore(const struct sigaction *sa)
{
	return sa->sa_handler == SIG_IGN;
}

static bool is_handler(const struct sigaction *sa)
{
	return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN && sa->sa_handler != SIG_ERR;
}

/* A fault of the instruction at hand: it faults again when it runs again. */
static bool is_fault(int sig, const siginfo_t *info)
{
	return sig != SIGABRT && info && info->si_code > 0;
}

/*
 * Run the program's handler as the kernel would have: its mask (the
 * interrupted code's, its sa_mask and, unless SA_NODEFER, the signal), its
 * SA_RESETHAND, the same siginfo and ucontext, so that what it changes in
 * the context takes effect when costack's handler returns.
 */
static void call_previous(int sig, siginfo_t *info, void *context, const struct sigaction *prev)
{
	const ucontext_t *uc = context;
	sigset_t mask, saved;

	if (uc)
		mask = uc->uc_sigmask;
	else
		pthread_sigmask(SIG_BLOCK, NULL, &mask);
	sigorset(&mask, &mask, &prev->sa_mask);
	if (!(prev->sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	if (prev->sa_flags & SA_RESETHAND) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &mask, &saved);
	if (prev->sa_flags & SA_SIGINFO)
		prev->sa_sigaction(sig, info, context);
	else
		prev->sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/*
 * After a crash dump, the signal does what it did without costack:
 * - the program's own handler (installed before costack's) is called;
 * - ignored: ignored, unless it is a fault, which the kernel kills for;
 * - default: the default disposition is put back; a fault returns, and the
 *   instruction faults again, now killed (core dump and status as without
 *   costack); a signal sent (abort's raise, kill) is sent again, blocked
 *   until this handler returns, so that it strikes where it struck first.
 */
static void pass_on_crash(int sig, siginfo_t *info, void *context)
{
	const struct sigaction *prev = &previous[sig];
	sigset_t only;

	if (is_handler(prev)) {
		call_previous(sig, info, context, prev);
		return;
	}
	if (is_ignore(prev) && !is_fault(sig, info))
		return;
	sigaction(sig, prev, NULL);
	if (is_fault(sig, info))
		return;
	sigemptyset(&only);
	sigaddset(&only, sig);
	pthread_sigmask(SIG_BLOCK, &only, NULL);
	raise(sig);
}

static void crash_handler(int sig, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	int tid = (int)syscall(SYS_gettid);
	int pid = getpid();

	if (atomic_load(&dump_owner) == tid) {
		/* The dump on this thread faulted: walking a broken stack. */
		if (walk_escape_armed) {
			walk_escape_armed = 0;
			siglongjmp(walk_escape, 1);
		}
		/* Else costack's own dump crashed: no second dump, and the
		 * dump given up, should the program's handler go on. */
		dump_unlock();
	} else if (!(is_ignore(&previous[sig]) && !is_fault(sig, info)) && dump_lock(tid)) {
		/* One crash dump per process: a handler of the program's that
		 * returns makes a fault fault again, and again. */
		if (atomic_load(&crash_dumped_by) != pid) {
			atomic_store(&crash_dumped_by, pid);
			dump_all(&(struct dump_reason){
			        .sig = sig, .crash = true, .info = info, .context = context});
		}
		dump_unlock();
	}
	errno = saved_errno;
	pass_on_crash(sig, info, context);
}

static void dump_signal_handler(int sig, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	int tid = (int)syscall(SYS_gettid);

	if (atomic_load(&dump_owner) != tid && dump_lock(tid)) {
		dump_all(&(struct dump_reason){.sig = sig, .info = info});
		dump_unlock();
	}
	errno = saved_errno;
	/* A handler the program had before costack's runs after the dump. */
	if (is_handler(&previous[sig]))
		call_previous(sig, info, context, &previous[sig]);
}

/* --- set-up ---------------------------------------------------------------------- */

static bool install(int sig, void (*handler)(int, siginfo_t *, void *), int flags,
                    const sigset_t *mask)
{
	struct sigaction sa;
	char name[16];

	if (sigaction(sig, NULL, &previous[sig]) != 0)
		goto fail;
	/* Under a handler of the program's, its system calls are restarted or
	 * not as they were (SA_RESTART is the handler's); else as they are
	 * when no handler runs, always. */
	if (is_handler(&previous[sig]))
		flags = (flags & ~SA_RESTART) | (previous[sig].sa_flags & SA_RESTART);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | flags;
	sa.sa_mask = *mask;
	if (sigaction(sig, &sa, NULL) != 0)
		goto fail;
	return true;
fail:
	log_warn("cannot handle %s (%s): no dump on it", config_signal_name(sig, name),
	         strerror(errno));
	return false;
}

/* Whether the dump file can be written, said at load: a dump may come much later. Nothing
 * is created now; the dump opens (or makes) it each time. */
static void check_dump_file(void)
{
	char dir[CONFIG_PATH_MAX];
	const char *slash = strrchr(config_dump_file, '/');
	bool exists = access(config_dump_file, F_OK) == 0;

	if (exists ? access(config_dump_file, W_OK) == 0 : !slash) /* absolute: a '/' is there */
		return;
	if (!exists) {
		snprintf(dir, sizeof(dir), "%.*s",
		         (int)(slash - config_dump_file + (slash == config_dump_file)),
		         config_dump_file);
		if (access(dir, W_OK | X_OK) == 0)
			return;
	}
	log_warn("COSTACK_DUMP_FILE=%s cannot be written (%s): dumps will go to stderr",
	         config_dump_file, strerror(errno));
}

static const struct core_observer dump_observer;

void dump_attach(void)
{
	static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	int saved_errno = errno;
	sigset_t mask;

	if (!config.enabled)
		return;
	if (config_dump_file[0] && (config.dump_signal || config.dump_on_crash))
		check_dump_file();
	if (config.dump_signal) {
		/* SA_RESTART: the program's system calls go on as if nothing happened. */
		sigemptyset(&mask);
		dumps_on |= install(config.dump_signal, dump_signal_handler, SA_RESTART, &mask);
	}
	if (config.dump_on_crash) {
		/* A crash's own frames are walked with libunwind: loaded now, not in the handler.
		 */
		deps_load();
		/* SA_NODEFER for faults: a fault of the dump itself (a broken
		 * stack) comes back to the handler, which gives up the walk;
		 * SIGABRT stays blocked, so that the one sent again waits. */
		sigemptyset(&mask);
		if (config.dump_signal)
			sigaddset(&mask, config.dump_signal);
		for (size_t i = 0; i < sizeof(crash_signals) / sizeof(*crash_signals); i++)
			dumps_on |= install(crash_signals[i], crash_handler,
			                    crash_signals[i] == SIGABRT ? SA_RESTART
			                                                : SA_RESTART | SA_NODEFER,
			                    &mask);
	}
	if (dumps_on)
		core_observe(&dump_observer);
	errno = saved_errno;
}

/* --- alternate signal stacks ----------------------------------------------------- */

#define SIGNAL_STACK_SIZE ((size_t)256 << 10)
#define GUARD_SIZE ((size_t)4096)

static __thread char *signal_stack __attribute__((tls_model("initial-exec")));

/* A thread costack registers gets an alternate signal stack, unless it has one, so that a
 * crash dump survives a coroutine's stack overflow and a dump never runs on a small coroutine
 * stack. */
static void on_thread_start(void)
{
	int saved_errno = errno;
	stack_t ss, old;
	char *p;

	if (!dumps_on || signal_stack)
		return;
	/* The program's own signal stack stays. */
	if (sigaltstack(NULL, &old) != 0 || !(old.ss_flags & SS_DISABLE))
		goto end;
	/* Reserved, not committed: pages are touched by a dump only. */
	p = mmap(NULL, GUARD_SIZE + SIGNAL_STACK_SIZE, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		goto end;
	mprotect(p, GUARD_SIZE, PROT_NONE);
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = p + GUARD_SIZE;
	ss.ss_size = SIGNAL_STACK_SIZE;
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(p, GUARD_SIZE + SIGNAL_STACK_SIZE);
		goto end;
	}
	signal_stack = p;
end:
	errno = saved_errno;
}

/* At the thread's exit: its alternate signal stack, if costack's, is released. */
static void on_thread_stop(void)
{
	int saved_errno = errno;
	stack_t cur, off;

	if (!signal_stack || sigaltstack(NULL, &cur) != 0)
		goto end;
	if (cur.ss_sp == signal_stack + GUARD_SIZE) {
		if (cur.ss_flags & SS_ONSTACK)
			goto end; /* on it now: kept */
		memset(&off, 0, sizeof(off));
		off.ss_flags = SS_DISABLE;
		if (sigaltstack(&off, NULL) != 0)
			goto end;
	}
	/* Else the program put its own in place: ours is unused. */
	munmap(signal_stack, GUARD_SIZE + SIGNAL_STACK_SIZE);
	signal_stack = NULL;
end:
	errno = saved_errno;
}

static const struct core_observer dump_observer = {
        .thread_start = on_thread_start,
        .thread_stop = on_thread_stop,
};
