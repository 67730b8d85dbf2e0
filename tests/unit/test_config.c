/* SPDX-License-Identifier: MIT */
/* test_config.c - unit test of the COSTACK_* variables: defaults, good values, and one warning line
 * per bad one. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"

static const char *const variables[] = {
        "COSTACK_DEPTH",         "COSTACK_RING",    "COSTACK_ENDED",       "COSTACK_UNWIND",
        "COSTACK_LOG",           "COSTACK_DISABLE", "COSTACK_DUMP_SIGNAL", "COSTACK_DUMP_FILE",
        "COSTACK_DUMP_ON_CRASH", "COSTACK_CLOCK"};
#define NVARIABLES (sizeof(variables) / sizeof(*variables))

/* The documented defaults (README "Configuration"). */
static const struct config defaults = {
        .depth = 64,
        .ring = 8,
        .ended = 1024,
        .unwind = UNWIND_DEFAULT,
        .clock = CLOCK_CHOICE_COARSE,
        .enabled = true,
};

static char captured[4096];

/* config_load() with exactly the given variables set (name, value, ...,
 * NULL) and the rest unset, from the defaults; what it wrote on fd 2 is
 * left in `captured`. */
static void load(const char *name, ...)
{
	FILE *tmp = tmpfile();
	int saved_fd;
	size_t len;
	va_list ap;

	for (size_t i = 0; i < NVARIABLES; i++)
		unsetenv(variables[i]);
	va_start(ap, name);
	for (const char *n = name; n; n = va_arg(ap, const char *))
		setenv(n, va_arg(ap, const char *), 1);
	va_end(ap);
	config = defaults;
	config_dump_file[0] = '\0';
	log_threshold = LOG_WARN;

	captured[0] = '\0';
	if (!tmp) {
		CHECK(0, "tmpfile() failed");
		config_load();
		return;
	}
	fflush(stderr);
	saved_fd = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	config_load();
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	rewind(tmp);
	len = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[len] = '\0';
	fclose(tmp);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static bool config_equal(const struct config *a, const struct config *b)
{
	return a->depth == b->depth && a->ring == b->ring && a->ended == b->ended &&
	       a->unwind == b->unwind && a->clock == b->clock && a->enabled == b->enabled &&
	       a->dump_signal == b->dump_signal && a->dump_on_crash == b->dump_on_crash;
}

static void show_config(const char *what, const struct config *c)
{
	fprintf(stderr,
	        "  %s: depth=%d ring=%d ended=%d unwind=%d clock=%d enabled=%d dump_signal=%d "
	        "dump_on_crash=%d\n",
	        what, c->depth, c->ring, c->ended, c->unwind, c->clock, (int)c->enabled,
	        c->dump_signal, (int)c->dump_on_crash);
}

#define CHECK_CONFIG(expected)                                                                     \
	do {                                                                                       \
		const struct config check_want_ = (expected);                                      \
		CHECK(config_equal(&config, &check_want_), "config differs from %s", #expected);   \
		if (!config_equal(&config, &check_want_)) {                                        \
			show_config("got", &config);                                               \
			show_config("expected", &check_want_);                                     \
		}                                                                                  \
		/* no COSTACK_DUMP_FILE, or a bad one: stderr */                                   \
		CHECK_STR_EQ(config_dump_file, "");                                                \
	} while (0)

#define CHECK_SILENT(what)                                                                         \
	CHECK(captured[0] == '\0', "%s: unexpected output on stderr: \"%s\"", what, captured)

static void test_defaults(void)
{
	load(NULL);
	CHECK_CONFIG(defaults);
	CHECK_SILENT("no variable set");
	CHECK_EQ(log_threshold, LOG_WARN);
}

static void test_good_values(void)
{
	struct config want;

	struct {
		const char *name, *value;
		int *field;
		int expected;
	} cases[] = {
	        {"COSTACK_DEPTH", "1", &want.depth, 1},
	        {"COSTACK_DEPTH", "32", &want.depth, 32},
	        {"COSTACK_DEPTH", "512", &want.depth, CONFIG_DEPTH_MAX},
	        {"COSTACK_RING", "1", &want.ring, 1},
	        {"COSTACK_RING", "100", &want.ring, 100},
	        {"COSTACK_RING", "1024", &want.ring, CONFIG_RING_MAX},
	        {"COSTACK_ENDED", "0", &want.ended, 0},
	        {"COSTACK_ENDED", "5", &want.ended, 5},
	        {"COSTACK_ENDED", "16777216", &want.ended, 1 << 24},
	        {"COSTACK_UNWIND", "default", &want.unwind, UNWIND_DEFAULT},
	        {"COSTACK_UNWIND", "libunwind", &want.unwind, UNWIND_LIBUNWIND},
	        {"COSTACK_UNWIND", "fp", &want.unwind, UNWIND_FP},
	        {"COSTACK_CLOCK", "coarse", &want.clock, CLOCK_CHOICE_COARSE},
	        {"COSTACK_CLOCK", "precise", &want.clock, CLOCK_CHOICE_PRECISE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		load(cases[i].name, cases[i].value, NULL);
		want = defaults;
		*cases[i].field = cases[i].expected;
		CHECK(config_equal(&config, &want), "%s=%s not taken", cases[i].name,
		      cases[i].value);
		CHECK(captured[0] == '\0', "%s=%s: unexpected output on stderr: \"%s\"",
		      cases[i].name, cases[i].value, captured);
	}

	load("COSTACK_DISABLE", "1", NULL);
	want = defaults;
	want.enabled = false;
	CHECK_CONFIG(want);
	CHECK_SILENT("COSTACK_DISABLE=1");
	load("COSTACK_DISABLE", "0", NULL);
	CHECK_CONFIG(defaults);
	CHECK_SILENT("COSTACK_DISABLE=0");

	static const char *const levels[] = {"error", "warn", "info", "debug"};
	for (int level = 0; level < 4; level++) {
		load("COSTACK_LOG", levels[level], NULL);
		CHECK(log_threshold == level, "COSTACK_LOG=%s: threshold %d", levels[level],
		      log_threshold);
		CHECK_CONFIG(defaults);
		CHECK_SILENT(levels[level]);
	}

	/* All at once. */
	load("COSTACK_DEPTH", "16", "COSTACK_RING", "2", "COSTACK_ENDED", "7", "COSTACK_UNWIND",
	     "libunwind", "COSTACK_DISABLE", "1", "COSTACK_LOG", "info", NULL);
	want = (struct config){
	        .depth = 16, .ring = 2, .ended = 7, .unwind = UNWIND_LIBUNWIND, .enabled = false};
	CHECK_CONFIG(want);
	CHECK_EQ(log_threshold, LOG_INFO);
	CHECK_SILENT("all variables set");
}

/* COSTACK_DUMP_*: a signal by name or number, with or without "SIG"; a file
 * made absolute at load time; on-crash 0 or 1. */
static void test_dump_settings(void)
{
	struct config want;
	char cwd[CONFIG_PATH_MAX], name[16];
	struct {
		const char *value;
		int sig;
	} signals[] = {
	        {"USR2", SIGUSR2},   {"SIGUSR2", SIGUSR2},
	        {"usr1", SIGUSR1},   {"sigquit", SIGQUIT},
	        {"12", SIGUSR2},     {"1", SIGHUP},
	        {"TERM", SIGTERM},   {"PROF", SIGPROF},
	        {"RTMIN", SIGRTMIN}, {"SIGRTMIN+3", SIGRTMIN + 3},
	        {"RTMAX", SIGRTMAX}, {"SIGRTMAX-2", SIGRTMAX - 2},
	        {"64", SIGRTMAX},
	};

	for (size_t i = 0; i < sizeof(signals) / sizeof(*signals); i++) {
		load("COSTACK_DUMP_SIGNAL", signals[i].value, NULL);
		want = defaults;
		want.dump_signal = signals[i].sig;
		CHECK(config_equal(&config, &want),
		      "COSTACK_DUMP_SIGNAL=%s: signal %d, expected %d", signals[i].value,
		      config.dump_signal, signals[i].sig);
		CHECK_SILENT(signals[i].value);
	}

	load("COSTACK_DUMP_ON_CRASH", "1", NULL);
	want = defaults;
	want.dump_on_crash = true;
	CHECK_CONFIG(want);
	CHECK_SILENT("COSTACK_DUMP_ON_CRASH=1");

	load("COSTACK_DUMP_FILE", "/var/tmp/costack dumps.txt", NULL);
	CHECK_STR_EQ(config_dump_file, "/var/tmp/costack dumps.txt");
	CHECK_SILENT("an absolute COSTACK_DUMP_FILE");
	load("COSTACK_DUMP_FILE", "dumps/today.txt", NULL);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
	strncat(cwd, "/dumps/today.txt", sizeof(cwd) - strlen(cwd) - 1);
	CHECK_STR_EQ(config_dump_file, cwd);
	CHECK_SILENT("a relative COSTACK_DUMP_FILE");

	/* The names a dump shows. */
	CHECK_STR_EQ(config_signal_name(SIGUSR2, name), "SIGUSR2");
	CHECK_STR_EQ(config_signal_name(SIGABRT, name), "SIGABRT");
	CHECK_STR_EQ(config_signal_name(SIGIO, name), "SIGIO");
	CHECK_STR_EQ(config_signal_name(SIGRTMIN, name), "SIGRTMIN");
	CHECK_STR_EQ(config_signal_name(SIGRTMIN + 12, name), "SIGRTMIN+12");
	CHECK_STR_EQ(config_signal_name(33, name), "signal 33");
}

/* One line on stderr that names the variable, the value and the default used. */
static void check_warning(const char *name, const char *value, const char *default_text)
{
	char quoted[256];

	snprintf(quoted, sizeof(quoted), "'%s'", value);
	CHECK(count_lines(captured) == 1 && captured[strlen(captured) - 1] == '\n',
	      "%s=\"%s\": %d lines on stderr, expected one: \"%s\"", name, value,
	      count_lines(captured), captured);
	CHECK(strstr(captured, name) != NULL, "%s=\"%s\": the warning does not name %s: \"%s\"",
	      name, value, name, captured);
	CHECK(strstr(captured, quoted) != NULL,
	      "%s=\"%s\": the warning does not show the value: \"%s\"", name, value, captured);
	/* The default, as a word of its own after "using". */
	const char *using = strstr(captured, "using ");
	size_t dlen = strlen(default_text);
	CHECK(using && !strncmp(using + 6, default_text, dlen) &&
	              (using[6 + dlen] == '\n' || using[6 + dlen] == ' ' ||
	               using[6 + dlen] == ')' || using[6 + dlen] == '.'),
	      "%s=\"%s\": the warning does not give the default %s: \"%s\"", name, value,
	      default_text, captured);
	CHECK(!strncmp(captured, "costack: ", 9), "%s=\"%s\": no \"costack: \" prefix: \"%s\"",
	      name, value, captured);
}

static void test_bad_values(void)
{
	static const struct {
		const char *name, *value, *default_text;
	} cases[] = {
	        /* not numbers */
	        {"COSTACK_DEPTH", "abc", "64"},
	        {"COSTACK_DEPTH", "-", "64"},
	        {"COSTACK_RING", "eight", "8"},
	        {"COSTACK_ENDED", "lots", "1024"},
	        /* empty */
	        {"COSTACK_DEPTH", "", "64"},
	        {"COSTACK_RING", "", "8"},
	        {"COSTACK_ENDED", "", "1024"},
	        {"COSTACK_UNWIND", "", "default"},
	        {"COSTACK_LOG", "", "warn"},
	        {"COSTACK_DISABLE", "", "0"},
	        /* junk suffix */
	        {"COSTACK_DEPTH", "12x", "64"},
	        {"COSTACK_DEPTH", "12 ", "64"},
	        {"COSTACK_DEPTH", "0x10", "64"},
	        {"COSTACK_DEPTH", "1.5", "64"},
	        {"COSTACK_RING", "4k", "8"},
	        {"COSTACK_ENDED", "10 tasks", "1024"},
	        /* out of range */
	        {"COSTACK_DEPTH", "0", "64"},
	        {"COSTACK_DEPTH", "-1", "64"},
	        {"COSTACK_DEPTH", "513", "64"},
	        {"COSTACK_DEPTH", "99999999999999999999", "64"},
	        {"COSTACK_DEPTH", "4294967360", "64"}, /* 2^32 + 64: must not wrap to 64 */
	        {"COSTACK_RING", "0", "8"},
	        {"COSTACK_RING", "1025", "8"},
	        {"COSTACK_ENDED", "-1", "1024"},
	        {"COSTACK_ENDED", "16777217", "1024"},
	        /* not one of the choices */
	        {"COSTACK_UNWIND", "gdb", "default"},
	        {"COSTACK_UNWIND", "libunwind2", "default"},
	        {"COSTACK_CLOCK", "tsc", "coarse"},
	        {"COSTACK_CLOCK", "", "coarse"},
	        {"COSTACK_LOG", "loud", "warn"},
	        {"COSTACK_DISABLE", "yes", "0"},
	        {"COSTACK_DISABLE", "2", "0"},
	        {"COSTACK_DISABLE", "10", "0"},
	        /* dump settings: not a signal, or one that cannot be the dump signal */
	        {"COSTACK_DUMP_SIGNAL", "", "none"},
	        {"COSTACK_DUMP_SIGNAL", "SIG", "none"},
	        {"COSTACK_DUMP_SIGNAL", "USR3", "none"},
	        {"COSTACK_DUMP_SIGNAL", "0", "none"},
	        {"COSTACK_DUMP_SIGNAL", "65", "none"},
	        {"COSTACK_DUMP_SIGNAL", "-12", "none"},
	        {"COSTACK_DUMP_SIGNAL", "SIG12", "none"},
	        {"COSTACK_DUMP_SIGNAL", "12 ", "none"},
	        {"COSTACK_DUMP_SIGNAL", "RTMIN-1", "none"},
	        {"COSTACK_DUMP_SIGNAL", "RTMAX+1", "none"},
	        {"COSTACK_DUMP_SIGNAL", "RTMIN+31", "none"},
	        {"COSTACK_DUMP_SIGNAL", "KILL", "none"},
	        {"COSTACK_DUMP_SIGNAL", "SIGSTOP", "none"},
	        {"COSTACK_DUMP_SIGNAL", "SEGV", "none"},
	        {"COSTACK_DUMP_SIGNAL", "SIGBUS", "none"},
	        {"COSTACK_DUMP_SIGNAL", "ILL", "none"},
	        {"COSTACK_DUMP_SIGNAL", "8", "none"},
	        {"COSTACK_DUMP_SIGNAL", "ABRT", "none"},
	        {"COSTACK_DUMP_SIGNAL", "IOT", "none"},
	        {"COSTACK_DUMP_SIGNAL", "PIPE", "none"},
	        {"COSTACK_DUMP_SIGNAL", "CHLD", "none"},
	        {"COSTACK_DUMP_SIGNAL", "TRAP", "none"},
	        {"COSTACK_DUMP_SIGNAL", "TSTP", "none"},
	        {"COSTACK_DUMP_SIGNAL", "32", "none"},
	        {"COSTACK_DUMP_SIGNAL", "33", "none"},
	        {"COSTACK_DUMP_ON_CRASH", "yes", "0"},
	        {"COSTACK_DUMP_ON_CRASH", "", "0"},
	        {"COSTACK_DUMP_ON_CRASH", "2", "0"},
	        {"COSTACK_DUMP_FILE", "", "stderr"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		load(cases[i].name, cases[i].value, NULL);
		CHECK(config_equal(&config, &defaults), "%s=\"%s\" changed the config",
		      cases[i].name, cases[i].value);
		CHECK(log_threshold == LOG_WARN, "%s=\"%s\" changed the log level to %d",
		      cases[i].name, cases[i].value, log_threshold);
		check_warning(cases[i].name, cases[i].value, cases[i].default_text);
	}

	/* A bad value keeps what was there, not the built-in default. */
	load("COSTACK_DEPTH", "bad", NULL);
	CHECK_EQ(config.depth, 64);

	/* Two bad variables: one line each; the good one beside them is taken. */
	load("COSTACK_DEPTH", "zero", "COSTACK_RING", "16", "COSTACK_ENDED", "-5", NULL);
	CHECK_EQ(count_lines(captured), 2);
	CHECK(strstr(captured, "COSTACK_DEPTH") && strstr(captured, "COSTACK_ENDED") &&
	              !strstr(captured, "COSTACK_RING"),
	      "two bad variables: \"%s\"", captured);
	CHECK_EQ(config.depth, 64);
	CHECK_EQ(config.ring, 16);
	CHECK_EQ(config.ended, 1024);
}

static void test_log_levels(void)
{
	struct config want = defaults;

	/* error: the warnings about the other variables are silenced... */
	load("COSTACK_LOG", "error", "COSTACK_DEPTH", "huge", "COSTACK_UNWIND", "magic",
	     "COSTACK_RING", "3", NULL);
	want.ring = 3;
	CHECK_CONFIG(want);
	CHECK_SILENT("COSTACK_LOG=error with bad values");
	CHECK_EQ(log_threshold, LOG_ERROR);

	/* ... and the bad values still fall back to their defaults. */
	CHECK_EQ(config.depth, 64);
	CHECK_EQ(config.unwind, UNWIND_DEFAULT);

	/* warn and more verbose levels do show them. */
	load("COSTACK_LOG", "debug", "COSTACK_DEPTH", "huge", NULL);
	check_warning("COSTACK_DEPTH", "huge", "64");
	load("COSTACK_LOG", "warn", "COSTACK_DEPTH", "huge", NULL);
	check_warning("COSTACK_DEPTH", "huge", "64");

	/* A bad COSTACK_LOG keeps the level at warn, so the other warnings show. */
	load("COSTACK_LOG", "quiet", "COSTACK_RING", "x", NULL);
	CHECK_EQ(log_threshold, LOG_WARN);
	CHECK_EQ(count_lines(captured), 2);
}

int main(void)
{
	test_defaults();
	test_good_values();
	test_bad_values();
	test_dump_settings();
	test_log_levels();
	return check_finish("test_config");
}
