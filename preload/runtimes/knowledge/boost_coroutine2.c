/* SPDX-License-Identifier: MIT */
/* boost_coroutine2.c - what costack knows of Boost.Coroutine2: its frames, its yields, how its
 * coroutines end. */
#include "knowledge.h"

#include <string.h>

static const char *const scopes[] = {"boost::coroutines2::detail::", NULL};
static const char *const mangled_scopes[] = {"5boost11coroutines26detail", NULL};
static const char *const sources[] = {"/boost/coroutine2/", NULL};

const struct runtime_frames boost_coroutine2_frames = {
        .runtime = "Boost.Coroutine2",
        .scopes = scopes,
        .mangled_scopes = mangled_scopes,
        .sources = sources,
};

/* A yield goes through the control block's resume: push_coroutine<T>::control_block::resume
 * (a push_type's operator()) and pull_coroutine<T>::control_block::resume. */
static bool yield_frame(const char *name)
{
	return strstr(name, "13control_block6resume") || strstr(name, "::control_block::resume(");
}

/*
 * Coroutine2 keeps a coroutine whose body ended suspended in its control block until the
 * coroutine object dies: the body's frames are gone, and every frame left is Boost's (or std's
 * between them). The control block's lambda makes that last switch itself, after setting
 * `complete`; a yield goes through control_block::resume, which, with the body, still shows in
 * the DWARF inline information at its return address when the compiler inlined them into
 * Boost's frames.
 */
bool coroutine2_body_ended_inline(const uintptr_t *frames, uint32_t n, runtime_names_fn names,
                                  void *ctx)
{
	return runtime_frames_only(frames, n, names, ctx, yield_frame);
}

/* Its entry is boost::context's fiber_entry instantiated for Coroutine2's control block, which
 * its mangled name spells. */
bool coroutine2_task(const char *outermost)
{
	return outermost && (strstr(outermost, "11coroutines26detail") ||
	                     strstr(outermost, "boost::coroutines2::"));
}
