/* SPDX-License-Identifier: MIT */
/* offline_sym.c - a recording's addresses symbolized from its modules (statedump, dlopen). */
#include "offline_sym.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "knowledge.h"

int offline_sym_init(struct offline_sym *o, struct tm_model *m)
{
	o->model = m;
	o->symbolizer = symbolizer_new_files();
	return o->symbolizer ? 0 : -1;
}

void offline_sym_free(struct offline_sym *o)
{
	symbolizer_destroy(o->symbolizer);
	o->symbolizer = NULL;
}

int offline_sym_lookup(struct offline_sym *o, int32_t pid, uint64_t ts, uint64_t pc, bool is_return,
                       struct sym_frame *out, int cap)
{
	struct tm_module *mod = tm_module_at(o->model, pid, pc, ts);
	uint64_t addr;

	if (cap <= 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->offset = pc;
	if (!mod)
		return 1;
	if (mod->sym_file == -2)
		mod->sym_file =
		        symbolizer_add_file(o->symbolizer, mod->path, mod->build_id,
		                            mod->build_id_len, mod->debug_link, &mod->load_vaddr);
	/* A position-independent object's addresses are relative to where it was
	 * loaded (baddr: its first PT_LOAD's); an executable's are absolute. */
	addr = mod->is_pic ? pc - mod->baddr + mod->load_vaddr : pc;
	if (mod->sym_file >= 0)
		return symbolizer_lookup_file(o->symbolizer, mod->sym_file, addr, is_return, out,
		                              cap);
	out->module = mod->path;
	out->offset = addr;
	return 1;
}

int offline_symbolize(void *ctx, const struct stacks_task *t, uint64_t pc, bool is_return,
                      struct sym_frame *out, int cap)
{
	return offline_sym_lookup(ctx, t->pid, t->frames_ns, pc, is_return, out, cap);
}

const char *offline_sym_entry_name(struct offline_sym *o, const struct tm_task *t, char *buf,
                                   size_t size)
{
	struct sym_frame f[16];
	const char *slash;
	int n, k;

	if (!t->entry) {
		snprintf(buf, size, "[thread %" PRId32 "]", t->tid);
		return buf;
	}
	n = offline_sym_lookup(o, t->process->pid, t->created_ns, t->entry, false, f, 16);
	k = n > 0 ? program_frame_outermost(f, n) : -1;
	if (k < 0)
		k = 0;
	slash = n > 0 && f[k].module ? strrchr(f[k].module, '/') : NULL;
	if (n > 0 && f[k].function)
		snprintf(buf, size, "%s", f[k].function);
	else if (n > 0 && f[k].module)
		snprintf(buf, size, "%s+%#" PRIx64, slash ? slash + 1 : f[k].module, f[k].offset);
	else
		snprintf(buf, size, "%#" PRIx64, t->entry);
	return buf;
}
