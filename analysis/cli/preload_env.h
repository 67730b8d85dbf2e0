/* SPDX-License-Identifier: MIT */
/* preload_env.h - which of costack's libraries a program gets, and how LD_PRELOAD gets them. */
#ifndef COSTACK_PRELOAD_ENV_H
#define COSTACK_PRELOAD_ENV_H

/* ld.so splits LD_PRELOAD at colons and spaces. */
#define PRELOAD_SEPARATORS ": "

/* One of costack's libraries, as the command finds it. */
struct costack_library {
	const char *env;       /* the variable naming it, e.g. "COSTACK_LIBRARY" */
	const char *build;     /* its path in the build tree */
	const char *installed; /* its installed path */
};

extern const struct costack_library costack_preload_library; /* libcostack.so */
extern const struct costack_library costack_lttng_library;   /* libcostack-lttng.so */

/*
 * Where lib is, as an absolute path in path[PATH_MAX]: its environment
 * variable, else the build tree's when this costack is the build tree's (so a
 * build is usable without installing), else the installed one. The name is
 * kept as given (not resolved): a symlink such as libcostack.so stays as it
 * is. Returns COSTACK_EXIT_OK, or COSTACK_EXIT_INPUT after saying on stderr
 * why it cannot be used and what to do.
 */
int find_costack_library(const struct costack_library *lib, char *path);

/* Append entry (a path, or a name ld.so looks up) to the environment's
 * LD_PRELOAD unless it is already there: the libraries listed stay first.
 * 0, or -1 with errno. */
int preload_append(const char *entry);

/* preload_append for libcostack.so itself, unless LD_PRELOAD already loads a costack (any
 * copy: two in one process would each hook the program's calls; the first keeps the tasks,
 * the other stands down). Then the one there is kept, and when it is another file than entry,
 * "costack VERB: ..." on stderr says so. */
int preload_append_costack(const char *verb, const char *entry);

#endif
