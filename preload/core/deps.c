/* SPDX-License-Identifier: MIT */
/* deps.c - libunwind and libdw loaded out of the program's sight (dlopen RTLD_LOCAL), once. */
#define _GNU_SOURCE
#define DEPS_FILLING
#include "deps.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "log.h"

struct deps deps;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool unwind_loaded, dwarf_loaded;

#define DEPS_FIND(name) deps.name = (__typeof__(deps.name))dlsym(handle, #name);
#define DEPS_FOUND(name) &&deps.name
#define DEPS_FORGET(name) deps.name = NULL;

/* The library soname, with every function of its list, or none of them. */
#define LOAD_GROUP(soname, FUNCTIONS, loses, loaded)                                               \
	do {                                                                                       \
		/* Not RTLD_DEEPBIND: the library must use the program's malloc, since costack     \
		 * frees what it allocates. */                                                     \
		void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);                              \
                                                                                                   \
		if (!handle) {                                                                     \
			log_error("cannot load %s (%s); %s", soname, dlerror(), loses);            \
			break;                                                                     \
		}                                                                                  \
		FUNCTIONS(DEPS_FIND)                                                               \
		(loaded) = true FUNCTIONS(DEPS_FOUND);                                             \
		if (!(loaded)) {                                                                   \
			FUNCTIONS(DEPS_FORGET)                                                     \
			log_error("%s lacks a function costack calls; %s", soname, loses);         \
		}                                                                                  \
	} while (0)

static void load(void)
{
	int saved_errno = errno;

	LOAD_GROUP(DEPS_LIBUNWIND, DEPS_LIBUNWIND_FUNCTIONS,
	           "frames that DWARF CFI rules cannot step are not followed", unwind_loaded);
	LOAD_GROUP(DEPS_LIBDW, DEPS_LIBDW_FUNCTIONS,
	           "stacks are walked by libunwind alone and print_stack shows addresses",
	           dwarf_loaded);
	errno = saved_errno;
}

bool deps_load(void)
{
	pthread_once(&load_once, load);
	return unwind_loaded && dwarf_loaded;
}

bool deps_unwind(void)
{
	return unwind_loaded;
}

bool deps_dwarf(void)
{
	return dwarf_loaded;
}
