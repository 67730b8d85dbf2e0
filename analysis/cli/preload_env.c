/* SPDX-License-Identifier: MIT */
/* preload_env.c - find costack's libraries (build tree or installed) and add them to LD_PRELOAD. */
#define _GNU_SOURCE
#include "preload_env.h"

#include "analysis-config.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct costack_library costack_preload_library = {
        "COSTACK_LIBRARY",
        COSTACK_BUILD_LIBRARY,
        COSTACK_INSTALLED_LIBRARY,
};

const struct costack_library costack_lttng_library = {
        "COSTACK_LTTNG_LIBRARY",
        COSTACK_BUILD_LTTNG_LIBRARY,
        COSTACK_INSTALLED_LTTNG_LIBRARY,
};

static bool running_from_build_tree(void)
{
	char self[PATH_MAX], built[PATH_MAX];

	return realpath("/proc/self/exe", self) && realpath(COSTACK_BUILD_EXE, built) &&
	       !strcmp(self, built);
}

int find_costack_library(const struct costack_library *lib, char *path)
{
	const char *library = getenv(lib->env);
	bool from_env = library && *library;
	bool from_build = false;
	int status = COSTACK_EXIT_INPUT;
	const char *problem;
	struct stat st;
	char cwd[PATH_MAX];

	if (!from_env) {
		from_build = running_from_build_tree();
		library = from_build ? lib->build : lib->installed;
	}
	if (library[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		problem = strerror(errno);
		goto end;
	}
	if (snprintf(path, PATH_MAX, "%s%s%s", library[0] == '/' ? "" : cwd,
	             library[0] == '/' ? "" : "/", library) >= PATH_MAX) {
		problem = strerror(ENAMETOOLONG);
		goto end;
	}
	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		problem = strerror(errno);
		goto end;
	}
	if (!S_ISREG(st.st_mode)) {
		problem = "not a regular file";
		goto end;
	}
	if (strpbrk(path, PRELOAD_SEPARATORS)) {
		problem = "LD_PRELOAD cannot hold a path with ':' or ' '";
		goto end;
	}
	status = COSTACK_EXIT_OK;
end:
	if (status != COSTACK_EXIT_OK && from_env)
		fprintf(stderr, "costack: cannot use %s=%s: %s\n", lib->env, library, problem);
	else if (status != COSTACK_EXIT_OK && from_build)
		fprintf(stderr,
		        "costack: cannot use %s: %s; build it (meson compile -C " COSTACK_BUILD_ROOT
		        "), or set %s to its path\n",
		        library, problem, lib->env);
	else if (status != COSTACK_EXIT_OK)
		fprintf(stderr,
		        "costack: cannot use %s: %s; install costack, or set %s to its path\n",
		        library, problem, lib->env);
	return status;
}

/* Whether the LD_PRELOAD list already names entry (by name, or as the same file). */
static bool preload_list_has(const char *list, const char *entry)
{
	char *copy = strdup(list);
	char *saveptr = NULL;
	char real_path[PATH_MAX], real_item[PATH_MAX];
	bool found = false;
	bool have_real_path = strchr(entry, '/') && realpath(entry, real_path) != NULL;

	if (!copy)
		return false;
	for (char *item = strtok_r(copy, PRELOAD_SEPARATORS, &saveptr); item && !found;
	     item = strtok_r(NULL, PRELOAD_SEPARATORS, &saveptr)) {
		/* An item without '/' is searched for by ld.so, not relative to the cwd. */
		found = !strcmp(item, entry) ||
		        (have_real_path && strchr(item, '/') && realpath(item, real_item) &&
		         !strcmp(real_item, real_path));
	}
	free(copy);
	return found;
}

/* Whether path is a costack preload: an ELF object whose dynamic symbols define
 * costack_get_stack, whatever its name or build. */
static bool is_costack_library(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	bool found = false;

	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE ||
	    !(elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)))
		goto end;
	while (!found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNSYM || !shdr.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; !found && i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			found = gelf_getsym(data, (int)i, &sym) && sym.st_shndx != SHN_UNDEF &&
			        (name = elf_strptr(elf, shdr.sh_link, sym.st_name)) &&
			        !strcmp(name, "costack_get_stack");
		}
	}
end:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return found;
}

/* The first item of the LD_PRELOAD list that is a costack preload, into item[PATH_MAX];
 * false when none is. An item without '/' is a name ld.so searches for: judged by name. */
static bool preload_list_costack(const char *list, char *item_out)
{
	char *copy = strdup(list);
	char *saveptr = NULL;
	bool found = false;

	if (!copy)
		return false;
	for (char *item = strtok_r(copy, PRELOAD_SEPARATORS, &saveptr); item && !found;
	     item = strtok_r(NULL, PRELOAD_SEPARATORS, &saveptr)) {
		found = strchr(item, '/')
		                ? is_costack_library(item)
		                : !strncmp(item, "libcostack.so", strlen("libcostack.so"));
		if (found)
			snprintf(item_out, PATH_MAX, "%s", item);
	}
	free(copy);
	return found;
}

int preload_append_costack(const char *verb, const char *entry)
{
	const char *list = getenv("LD_PRELOAD");
	char present[PATH_MAX];

	if (list && preload_list_costack(list, present)) {
		if (!preload_list_has(present, entry))
			fprintf(stderr,
			        "costack %s: LD_PRELOAD already loads costack (%s); %s is not "
			        "added\n",
			        verb, present, entry);
		return 0;
	}
	return preload_append(entry);
}

int preload_append(const char *entry)
{
	const char *list = getenv("LD_PRELOAD");
	char *value;
	int ret;

	if (!list || !list[strspn(list, PRELOAD_SEPARATORS)])
		return setenv("LD_PRELOAD", entry, 1);
	if (preload_list_has(list, entry))
		return 0;
	if (asprintf(&value, "%s:%s", list, entry) < 0)
		return -1;
	ret = setenv("LD_PRELOAD", value, 1);
	free(value);
	return ret;
}
