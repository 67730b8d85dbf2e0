/* SPDX-License-Identifier: MIT */
/* preload_env.c - find costack's libraries (build tree or installed) and add them to LD_PRELOAD. */
#define _GNU_SOURCE
#include "preload_env.h"

#include "analysis-config.h"
#include "commands.h"

#include <errno.h>
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
		        "costack: cannot use %s: %s\nBuild it (meson compile -C " COSTACK_BUILD_ROOT
		        "), or set %s to its path.\n",
		        library, problem, lib->env);
	else if (status != COSTACK_EXIT_OK)
		fprintf(stderr,
		        "costack: cannot use %s: %s\nInstall costack, or set %s to its path.\n",
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
