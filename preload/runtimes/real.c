/* SPDX-License-Identifier: MIT */
/* real.c - the real functions behind the hooks: RTLD_NEXT, else the caller's own scope. */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"

/* Whether p lies in this library (a hook of ours, found again through a scope). */
static bool is_own(const void *p)
{
	Dl_info self, other;

	return dladdr((const void *)is_own, &self) && dladdr(p, &other) &&
	       self.dli_fbase == other.dli_fbase;
}

/* name in the scope of the object file (its own symbols, then its dependencies'), not ours. */
static void *in_scope_of(const char *file, const char *name)
{
	void *handle, *found;

	if (!file || !*file)
		return NULL; /* the program itself: its scope is the global one */
	handle = dlopen(file, RTLD_LAZY | RTLD_NOLOAD);
	if (!handle)
		return NULL;
	found = dlsym(handle, name);
	dlclose(handle); /* only the reference RTLD_NOLOAD took */
	return found && !is_own(found) ? found : NULL;
}

/* The base address of the object defining p; 0 if none. */
static uintptr_t object_of(const void *p)
{
	Dl_info info;

	return p && dladdr(p, &info) ? (uintptr_t)info.dli_fbase : 0;
}

/* Whether p is defined by another copy of costack (its object defines costack_get_stack). */
static bool in_another_costack(const void *p)
{
	Dl_info info;
	void *api;

	if (!p || !dladdr(p, &info) || !info.dli_fname || !*info.dli_fname)
		return false;
	api = in_scope_of(info.dli_fname, "costack_get_stack");
	return api && object_of(api) == (uintptr_t)info.dli_fbase;
}

/*
 * The definition of name in the first object loaded after the one based at `after`, in load
 * order, which for the program's own libraries and LD_PRELOAD is the global search order: past
 * another copy of costack, where the program's call would have gone without any.
 */
static void *defined_after(uintptr_t after, const char *name)
{
	struct link_map *map = NULL;
	void *program = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
	void *found = NULL;
	bool past = false;

	if (!program || dlinfo(program, RTLD_DI_LINKMAP, &map) != 0)
		map = NULL;
	for (; map && !found; map = map->l_next) {
		uintptr_t base = object_of(map->l_ld);

		if (!past) {
			past = base == after;
			continue;
		}
		found = in_scope_of(map->l_name, name);
		if (found && object_of(found) != base)
			found = NULL; /* one of its dependencies': it comes in its own turn */
	}
	if (program)
		dlclose(program);
	return found;
}

/* The object defining p stays loaded: costack calls p later, whatever the program unloads. */
static void keep_loaded(const void *p)
{
	Dl_info info;

	if (dladdr(p, &info) && info.dli_fname && *info.dli_fname)
		(void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD); /* never closed */
}

/* Any loaded object's definition: code costack cannot place (made at run time) called it. */
static void *in_any_object(const char *name)
{
	struct link_map *map = NULL;
	void *program = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
	void *found = NULL;

	if (program && dlinfo(program, RTLD_DI_LINKMAP, &map) == 0)
		for (; map && !found; map = map->l_next)
			found = in_scope_of(map->l_name, name);
	if (program)
		dlclose(program);
	return found;
}

void *real_function(const char *name, const void *caller)
{
	int saved_errno = errno;
	Dl_info info;
	void *found = dlsym(RTLD_NEXT, name);

	/* Another costack after this one stands down (core.c): its hooks are skipped. */
	while (found && in_another_costack(found))
		found = defined_after(object_of(found), name);
	if (!found && caller && dladdr(caller, &info))
		found = in_scope_of(info.dli_fname, name);
	if (!found)
		found = in_any_object(name);
	if (found)
		keep_loaded(found);
	else
		log_debug("no definition of %s found to call", name);
	dlerror(); /* a failed lookup leaves no message for the program's own dlerror() */
	errno = saved_errno;
	return found;
}

void *real_companion(const void *real, const char *name)
{
	int saved_errno = errno;
	Dl_info info;
	void *found = real && dladdr(real, &info) ? in_scope_of(info.dli_fname, name) : NULL;

	dlerror();
	errno = saved_errno;
	return found;
}

void real_missing(const char *name)
{
	log_error("no definition of %s to call in this process", name);
	abort();
}
