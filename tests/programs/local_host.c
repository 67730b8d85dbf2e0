/* SPDX-License-Identifier: MIT */
/* local_host.c - a C program that dlopen()s a C++ plugin and a Boost.Context one RTLD_LOCAL. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/*
 * Usage: local_host LIBLOCAL_CXX LIBLOCAL_FIBERS [--quiet]. The program links neither libstdc++
 * nor Boost: they are in the plugins' own scopes, where a hook's dlsym(RTLD_NEXT) cannot see
 * them. The output is the same with and without the preload; with it, costack also saw the
 * plugins' raises and fibers.
 */

struct local_fibers_report {
	unsigned long long generator_task;
	int sum;
	int thrown_and_caught;
	int unwound;
};

static void *open_local(const char *path)
{
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!handle)
		printf("cannot load %s: %s\n", path, dlerror());
	return handle;
}

int main(int argc, char **argv)
{
	struct local_fibers_report report = {0};
	struct costack_task_info info = {.size = sizeof(info)};
	void *cxx, *fibers;
	int (*cxx_run)(void);
	void (*fibers_run)(struct local_fibers_report *);
	bool checking = check_init("local_host", argc, argv);
	int caught;

	if (argc < 3 || !(cxx = open_local(argv[1])) || !(fibers = open_local(argv[2])))
		return 2;
	cxx_run = (int (*)(void))dlsym(cxx, "local_cxx_run");
	fibers_run = (void (*)(struct local_fibers_report *))dlsym(fibers, "local_fibers_run");
	if (!cxx_run || !fibers_run)
		return 2;

	/* The fibers first: costack is active from the first task made on, and sees raises
	 * from then on. */
	fibers_run(&report);
	printf("host: sum %d, caught %d, unwound %d\n", report.sum, report.thrown_and_caught,
	       report.unwound);
	if (checking) {
		int known = costack_task_info(report.generator_task, &info);

		check(report.generator_task && report.generator_task != costack_current_task(),
		      "the generator fiber is a task of its own (%llu)", report.generator_task);
		check(known == 0 && info.runtime == COSTACK_RUNTIME_FCONTEXT && info.switches >= 6,
		      "an fcontext task switched in at least 6 times (runtime %d, %llu switches)",
		      info.runtime, (unsigned long long)info.switches);
		check(costack_task_state(report.generator_task) == COSTACK_DONE,
		      "the generator is done (%s)",
		      costack_state_name(costack_task_state(report.generator_task)));
	}
	caught = cxx_run();
	printf("host: the C++ plugin caught %d of 4\n", caught);
	if (checking) {
		int known = costack_task_info(costack_current_task(), &info);

		check(known == 0 && info.raises >= 4, "costack saw the plugin's raises (%llu)",
		      (unsigned long long)info.raises);
		/* The demangler is the plugin's libstdc++'s, found in its scope. */
		check(!strcmp(info.exception_type, "int"), "its latest exception is an int ('%s')",
		      info.exception_type);
	}

	return caught == 4 && report.sum == 15 && report.unwound == 1 ? check_finish() : 1;
}
