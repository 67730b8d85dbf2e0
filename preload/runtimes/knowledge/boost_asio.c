/* SPDX-License-Identifier: MIT */
/* boost_asio.c - what costack knows of Boost.Asio's spawn and the Boost.Coroutine (v1) it runs on:
 * their frames, their coroutines' entries, yields and end. */
#include "knowledge.h"

#include <string.h>

static const char *const scopes[] = {"boost::asio::", "boost::coroutines::", NULL};
static const char *const mangled_scopes[] = {"5boost4asio", "5boost10coroutines", NULL};
/* "/boost/coroutine/", not Coroutine2's "/boost/coroutine2/" */
static const char *const sources[] = {"/boost/asio/", "/boost/coroutine/", NULL};

const struct runtime_frames boost_asio_frames = {
        .runtime = "Boost.Asio",
        .scopes = scopes,
        .mangled_scopes = mangled_scopes,
        .sources = sources,
};

/* A v1 coroutine starts in trampoline_push_void / trampoline_pull (and their kin), of
 * boost::coroutines::detail, instantiated in the program for Asio's spawn. */
bool coroutine_v1_task(const char *module, const char *function)
{
	(void)module;
	return function && (strstr(function, "5boost10coroutines6detail") ||
	                    strstr(function, "boost::coroutines::"));
}

bool coroutine_v1_forced_unwind(const char *type)
{
	return type && !strcmp(type, "boost::coroutines::detail::forced_unwind");
}

/* Both directions of a v1 yield: pull_coroutine_impl<T>::pull() (Asio's yield_context waiting),
 * push_coroutine_impl<T>::push(). */
static bool yield_frame(const char *name)
{
	return strstr(name, "19pull_coroutine_impl") || strstr(name, "19push_coroutine_impl") ||
	       strstr(name, "pull_coroutine_impl<") || strstr(name, "push_coroutine_impl<");
}

/*
 * push_coroutine_object::run() (and pull_coroutine_object's) calls the body, sets
 * flag_complete and makes the coroutine's last switch itself: from Boost's frames only, none of
 * them a yield. A yield inlined with the body into run() shows the same physical frames; its
 * inlined frames (pull(), the body) tell it apart.
 */
bool coroutine_v1_body_ended(const uintptr_t *frames, uint32_t n, runtime_names_fn names, void *ctx)
{
	return runtime_frames_only(frames, n, names, ctx, yield_frame);
}
