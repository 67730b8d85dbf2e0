/* SPDX-License-Identifier: MIT */
/* truth.c - the runtime test programs' side channel: what they know of their tasks, and costack's
 * in-process view. */
#define _GNU_SOURCE
#include "truth.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

/* costack_print_stack's text for id, NULL on failure (to free). */
static char *print_stack_text(costack_task_t id)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	if (costack_print_stack(id, 0, f) != 0) {
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

costack_task_t truth_self(void)
{
	return costack_available() && getenv("COSTACK_TRUTH") ? costack_current_task() : 0;
}

void truth_next_descriptor(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	printf("next descriptor: %d\n", fd);
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

/* Wait only where someone may be reading us: the input is a pipe (the test's). */
static int input_is_pipe(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
}

void truth_phase(const char *phase, const struct truth *tasks, int n)
{
	const char *path = getenv("COSTACK_TRUTH");
	struct timespec now;
	FILE *f;

	clock_gettime(CLOCK_REALTIME, &now);
	f = path ? fopen(path, "ae") : NULL;
	if (f) {
		fprintf(f, "{\"phase\":\"%s\",\"time\":\"%lld.%09ld\",\"pid\":%d,\"tasks\":[",
		        phase, (long long)now.tv_sec, now.tv_nsec, (int)getpid());
		for (int i = 0; i < n; i++) {
			const struct truth *t = &tasks[i];

			fprintf(f, "%s{\"role\":", i ? "," : "");
			json_string(f, t->role);
			fprintf(f, ",\"id\":%llu,\"state\":", (unsigned long long)t->id);
			json_string(f, t->state);
			fputs(",\"name\":", f);
			json_string(f, t->name);
			fputs(",\"entry\":", f);
			json_string(f, t->entry);
			fputs(",\"where\":", f);
			json_string(f, t->where);
			fputs(",\"api\":", f);
			if (costack_available() && t->id) {
				char *text = print_stack_text(t->id);

				fputs("{\"state\":", f);
				json_string(f, costack_state_name(costack_task_state(t->id)));
				fputs(",\"print_stack\":", f);
				json_string(f, text);
				putc('}', f);
				free(text);
			} else {
				fputs("null", f);
			}
			putc('}', f);
		}
		fputs("]}\n", f);
		fclose(f);
	}
	if (input_is_pipe()) {
		char line[64];

		fprintf(stderr, "READY %s\n", phase);
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin) && ferror(stdin))
			perror("truth: stdin");
	}
}
