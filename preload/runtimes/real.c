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

/*
 * The C library's own dlopen and dlclose, past any interposer. costack's lookups open objects
 * that are loaded already (RTLD_NOLOAD) and map nothing, so a tracer's wrapper has nothing to
 * record of them, yet pays for each: under `costack record`, liblttng-ust-dl.so reads the ELF
 * file of every loaded object at each dlopen and dlclose, and the 30 calls of a task's first
 * raises took 84 ms. A program's own wrapper sees no call of costack's either. Interposers
 * define them unversioned, which dlvsym passes over; the plain functions where the C library
 * has no such version.
 */
static struct {
	bool resolved;
	void *(*open)(const char *, int);
	int (*close)(void *);
} loader;

static void resolve_loader(void)
{
	void *(*opener)(const char *, int);
	int (*closer)(void *);

	if (__atomic_load_n(&loader.resolved, __ATOMIC_ACQUIRE))
		return;
	opener = (void *(*)(const char *, int))dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34");
	closer = (int (*)(void *))dlvsym(RTLD_NEXT, "dlclose", "GLIBC_2.34");
	if (!opener || !closer) {
		opener = dlopen;
		closer = dlclose;
	}
	/* Threads racing here find the same pair: published whole, then the flag. */
	loader.open = opener;
	loader.close = closer;
	__atomic_store_n(&loader.resolved, true, __ATOMIC_RELEASE);
}

/* The base address of the object defining p; 0 if none. */
static uintptr_t object_of(const void *p)
{
	Dl_info info;

	return p && dladdr(p, &info) ? (uintptr_t)info.dli_fbase : 0;
}

/* The link map of the object defining p; NULL if none. */
static struct link_map *map_of(const void *p)
{
	Dl_info info;
	struct link_map *map = NULL;

	return p && dladdr1(p, &info, (void **)&map, RTLD_DL_LINKMAP) ? map : NULL;
}

/* Whether p lies in this library (a hook of ours, found again through a scope). */
static bool is_own(const void *p)
{
	return object_of(p) == object_of((const void *)is_own);
}

/*
 * Objects whose definitions costack calls stay loaded, whatever the program unloads: one
 * reference each, never closed, and its handle serves every later lookup in the object's
 * scope. A slot is claimed by its handle, then named by its map; a race takes at most a second
 * reference, which does no harm.
 */
#define KEPT_MAX 32
static struct kept {
	void *handle;
	struct link_map *map;
} kept[KEPT_MAX];

static void *kept_handle(const struct link_map *map)
{
	for (int i = 0; i < KEPT_MAX; i++)
		if (__atomic_load_n(&kept[i].map, __ATOMIC_ACQUIRE) == map)
			return kept[i].handle;
	return NULL;
}

/* name in the scope of the object (its own symbols, then its dependencies'), not ours. */
static void *in_scope_of(struct link_map *map, const char *name)
{
	void *handle, *found;

	if (!map || !map->l_name || !*map->l_name)
		return NULL; /* the program itself: its scope is the global one */
	handle = kept_handle(map);
	if (handle)
		found = dlsym(handle, name);
	else {
		resolve_loader();
		handle = loader.open(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
		if (!handle)
			return NULL;
		found = dlsym(handle, name);
		loader.close(handle); /* only the reference RTLD_NOLOAD took */
	}
	return found && !is_own(found) ? found : NULL;
}

static void keep_loaded(const void *p)
{
	struct link_map *map = map_of(p);
	void *handle;

	if (!map || !map->l_name || !*map->l_name || kept_handle(map))
		return; /* the program is loaded as long as it runs */
	resolve_loader();
	handle = loader.open(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
	for (int i = 0; handle && i < KEPT_MAX; i++) {
		void *expected = NULL;

		if (__atomic_compare_exchange_n(&kept[i].handle, &expected, handle, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&kept[i].map, map, __ATOMIC_RELEASE);
			return;
		}
	}
	/* All taken: still kept loaded; its later lookups take a reference of their own. */
}

/* The first object of the program's namespace (the program), from this library's own map. */
static struct link_map *first_object(void)
{
	struct link_map *map = map_of((const void *)first_object);

	while (map && map->l_prev)
		map = map->l_prev;
	return map;
}

/* Whether p is defined by another copy of costack (its object defines costack_get_stack). */
static bool in_another_costack(const void *p)
{
	struct link_map *map = map_of(p);
	void *api = in_scope_of(map, "costack_get_stack");

	return api && map_of(api) == map;
}

/*
 * The definition of name in the first object loaded after `after`, in load order, which for the
 * program's own libraries and LD_PRELOAD is the global search order: past another copy of
 * costack, where the program's call would have gone without any.
 */
static void *defined_after(const struct link_map *after, const char *name)
{
	void *found = NULL;
	bool past = false;

	for (struct link_map *map = first_object(); map && !found; map = map->l_next) {
		if (!past) {
			past = map == after;
			continue;
		}
		found = in_scope_of(map, name);
		if (found && map_of(found) != map)
			found = NULL; /* one of its dependencies': it comes in its own turn */
	}
	return found;
}

/* Any loaded object's definition: code costack cannot place (made at run time) called it. */
static void *in_any_object(const char *name)
{
	void *found = NULL;

	for (struct link_map *map = first_object(); map && !found; map = map->l_next)
		found = in_scope_of(map, name);
	return found;
}

void *real_function(const char *name, const void *caller)
{
	int saved_errno = errno;
	void *found = dlsym(RTLD_NEXT, name);

	/* Another costack after this one stands down (core.c): its hooks are skipped. */
	while (found && in_another_costack(found))
		found = defined_after(map_of(found), name);
	if (!found && caller)
		found = in_scope_of(map_of(caller), name);
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
	void *found = real ? in_scope_of(map_of(real), name) : NULL;

	dlerror();
	errno = saved_errno;
	return found;
}

void real_missing(const char *name)
{
	log_error("no definition of %s to call in this process", name);
	abort();
}
