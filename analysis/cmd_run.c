/* SPDX-License-Identifier: MIT */
/* cmd_run.c - costack run: become COMMAND, with libcostack.so appended to LD_PRELOAD. */
#define _GNU_SOURCE
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

/* ld.so splits LD_PRELOAD at colons and spaces. */
#define PRELOAD_SEPARATORS ": "

static void print_run_help(FILE *out)
{
	fputs("Usage: costack run [--] COMMAND [ARG...]\n"
	      "\n"
	      "Run COMMAND with libcostack.so preloaded, so that its coroutines are tracked\n"
	      "and the program can read their stacks through <costack.h>. costack executes\n"
	      "COMMAND in its own process (no fork): the exit status, signals, standard\n"
	      "input and output, and other file descriptors are COMMAND's own.\n"
	      "\n"
	      "The first argument that does not start with '-' is COMMAND, looked up in PATH\n"
	      "unless it holds a '/'; every argument after it is COMMAND's.\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help  Show this help and exit.\n"
	      "  --          End of options; needed when COMMAND starts with '-'.\n"
	      "\n"
	      "Environment:\n"
	      "  COSTACK_LIBRARY  The preload to use. Default: the one of the build tree when\n"
	      "                   this costack runs from its build tree, else\n"
	      "                   " COSTACK_INSTALLED_LIBRARY "\n"
	      "  LD_PRELOAD       The preload is appended; libraries already listed stay\n"
	      "                   first, and it is not added twice.\n"
	      "  COSTACK_*        Passed through to libcostack.so (see 'costack --help').\n"
	      "\n"
	      "Exit status:\n"
	      "  COMMAND's own (a signal N that ends it, a shell shows as 128+N); 126 when\n"
	      "  COMMAND cannot be executed, 127 when it is not found; 2 on a usage error; 3\n"
	      "  when the preload cannot be used.\n"
	      "\n"
	      "Example:\n"
	      "  COSTACK_LOG=info costack run -- ./server --port 8080\n",
	      out);
}

static bool running_from_build_tree(void)
{
	char self[PATH_MAX], built[PATH_MAX];

	return realpath("/proc/self/exe", self) && realpath(COSTACK_BUILD_EXE, built) &&
	       !strcmp(self, built);
}

/*
 * Which preload to use, as an absolute path in path[PATH_MAX]: COSTACK_LIBRARY,
 * else the build tree's when this costack is the build tree's (so a build is
 * usable without installing), else the installed one. The name is kept as
 * given (not resolved): a symlink such as libcostack.so stays as it is.
 */
static int find_preload(char *path)
{
	const char *library = getenv("COSTACK_LIBRARY");
	bool from_env = library && *library;
	bool from_build = false;
	int status = COSTACK_EXIT_INPUT;
	const char *problem;
	struct stat st;
	char cwd[PATH_MAX];

	if (!from_env) {
		from_build = running_from_build_tree();
		library = from_build ? COSTACK_BUILD_LIBRARY : COSTACK_INSTALLED_LIBRARY;
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
		fprintf(stderr, "costack: cannot use COSTACK_LIBRARY=%s: %s\n", library, problem);
	else if (status != COSTACK_EXIT_OK)
		fprintf(stderr, "costack: cannot use the preload %s: %s\n%s\n", library, problem,
		        from_build ? "Build it (meson compile -C " COSTACK_BUILD_ROOT
		                     "), or set COSTACK_LIBRARY to its path."
		                   : "Install costack, or set COSTACK_LIBRARY to the path of "
		                     "libcostack.so.");
	return status;
}

/* Whether the LD_PRELOAD list already names the library at path. */
static bool preload_list_has(const char *list, const char *path)
{
	char *copy = strdup(list);
	char *saveptr = NULL;
	char real_path[PATH_MAX], real_entry[PATH_MAX];
	bool found = false;
	bool have_real_path = realpath(path, real_path) != NULL;

	if (!copy)
		return false;
	for (char *entry = strtok_r(copy, PRELOAD_SEPARATORS, &saveptr); entry && !found;
	     entry = strtok_r(NULL, PRELOAD_SEPARATORS, &saveptr)) {
		/* An entry without '/' is searched for by ld.so, not relative to the cwd. */
		found = !strcmp(entry, path) ||
		        (have_real_path && strchr(entry, '/') && realpath(entry, real_entry) &&
		         !strcmp(real_entry, real_path));
	}
	free(copy);
	return found;
}

/* Append path to LD_PRELOAD unless it is already there. 0, or -1 with errno. */
static int add_to_preload(const char *path)
{
	const char *list = getenv("LD_PRELOAD");
	char *value;
	int ret;

	if (!list || !list[strspn(list, PRELOAD_SEPARATORS)])
		return setenv("LD_PRELOAD", path, 1);
	if (preload_list_has(list, path))
		return 0;
	if (asprintf(&value, "%s:%s", list, path) < 0)
		return -1;
	ret = setenv("LD_PRELOAD", value, 1);
	free(value);
	return ret;
}

int command_run(int argc, char **argv)
{
	char preload[PATH_MAX];
	int first = 1;
	int status;

	/* -h and -- are the only options of run: at most one comes before COMMAND. */
	if (first < argc && !strcmp(argv[first], "--")) {
		first++;
	} else if (first < argc && (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help"))) {
		print_run_help(stdout);
		return COSTACK_EXIT_OK;
	} else if (first < argc && argv[first][0] == '-') {
		fprintf(stderr, "costack run: unknown option '%s'\nTry 'costack run --help'.\n",
		        argv[first]);
		return COSTACK_EXIT_USAGE;
	}
	if (first >= argc) {
		fputs("costack run: no command given\nTry 'costack run --help'.\n", stderr);
		return COSTACK_EXIT_USAGE;
	}

	status = find_preload(preload);
	if (status != COSTACK_EXIT_OK)
		return status;
	if (add_to_preload(preload) < 0) {
		fprintf(stderr, "costack: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return COSTACK_EXIT_INPUT;
	}

	execvp(argv[first], argv + first);
	/* Like a shell: 127 when the command is not found, 126 when it cannot run. */
	status = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "costack: cannot run '%s': %s\n", argv[first], strerror(errno));
	return status;
}
