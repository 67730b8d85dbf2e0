/* SPDX-License-Identifier: MIT */
/* config.c - COSTACK_* variables: a bad value never harms the target, it gets one line and the
 * default. */
#define _GNU_SOURCE
#include "config.h"
#include "switch_path.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

SWITCH_DATA struct config config = {
        .depth = 64,
        .ring = 8,
        .ended = 1024,
        .unwind = UNWIND_DEFAULT,
        .clock = CLOCK_CHOICE_COARSE,
        .enabled = true,
};
char config_dump_file[CONFIG_PATH_MAX];

static void load_int(const char *name, int *value, int min, int max)
{
	const char *text = getenv(name);
	char *end;
	long v;

	if (!text)
		return;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		log_warn("ignoring %s='%s': expected a whole number from %d to %d; using %d", name,
		         text, min, max, *value);
		return;
	}
	*value = (int)v;
}

static void load_choice(const char *name, int *value, const char *const *choices, int n)
{
	const char *text = getenv(name);
	char list[128] = "";

	if (!text)
		return;
	for (int i = 0; i < n; i++) {
		if (!strcmp(text, choices[i])) {
			*value = i;
			return;
		}
		strncat(list, i ? "|" : "", sizeof(list) - strlen(list) - 1);
		strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
	}
	log_warn("ignoring %s='%s': expected one of %s; using %s", name, text, list,
	         choices[*value]);
}

/* --- COSTACK_DUMP_* ----------------------------------------------------------- */

/* The first name of a number is the one a dump shows. */
static const struct {
	const char *name;
	int sig;
} signal_names[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
        {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
        {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
        {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
        {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
        {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
        {"SYS", SIGSYS},
};
#define NSIGNAL_NAMES (sizeof(signal_names) / sizeof(*signal_names))

static char *put_text(char *at, const char *text)
{
	while (*text)
		*at++ = *text++;
	return at;
}

static char *put_decimal(char *at, unsigned v)
{
	char digits[12];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*at++ = digits[--n];
	return at;
}

const char *config_signal_name(int sig, char *buf)
{
	char *at = buf;

	for (size_t i = 0; i < NSIGNAL_NAMES; i++) {
		if (signal_names[i].sig == sig) {
			at = put_text(put_text(at, "SIG"), signal_names[i].name);
			*at = '\0';
			return buf;
		}
	}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		at = put_text(at, "SIGRTMIN");
		if (sig > SIGRTMIN)
			at = put_decimal(put_text(at, "+"), (unsigned)(sig - SIGRTMIN));
	} else {
		at = put_decimal(put_text(at, "signal "), (unsigned)sig);
	}
	*at = '\0';
	return buf;
}

/* "USR2", "SIGUSR2", "usr2", "12", "RTMIN+2", "SIGRTMAX-1": the signal, 0 if none. */
static int parse_signal(const char *text)
{
	const char *name = strncasecmp(text, "SIG", 3) ? text : text + 3;
	char *end;
	long v;

	if (*text >= '0' && *text <= '9') {
		errno = 0;
		v = strtol(text, &end, 10);
		return !errno && !*end && v > 0 && v < NSIG ? (int)v : 0;
	}
	for (size_t i = 0; i < NSIGNAL_NAMES; i++)
		if (!strcasecmp(name, signal_names[i].name))
			return signal_names[i].sig;
	if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
		bool max = name[4] == 'X' || name[4] == 'x';
		int base = max ? SIGRTMAX : SIGRTMIN;

		if (!name[5])
			return base;
		if (name[5] != (max ? '-' : '+') || name[6] < '0' || name[6] > '9')
			return 0;
		errno = 0;
		v = strtol(name + 6, &end, 10);
		if (errno || *end || v > SIGRTMAX - SIGRTMIN)
			return 0;
		return max ? base - (int)v : base + (int)v;
	}
	return 0;
}

/* Why sig cannot be the dump signal; NULL if it can. */
static const char *dump_signal_refused(int sig)
{
	switch (sig) {
	case SIGKILL:
	case SIGSTOP:
		return "it cannot be caught";
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
		return "it is a crash signal (COSTACK_DUMP_ON_CRASH=1 dumps on crashes)";
	case SIGTRAP:
	case SIGSYS:
	case SIGPIPE:
	case SIGCHLD:
	case SIGCONT:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGWINCH:
	case SIGURG:
	case SIGXCPU:
	case SIGXFSZ:
		return "the kernel sends it on events of the program's own";
	}
	if (sig > SIGSYS && sig < SIGRTMIN)
		return "glibc keeps it for itself";
	return NULL;
}

static void load_dump_signal(void)
{
	const char *text = getenv("COSTACK_DUMP_SIGNAL");
	const char *why;
	char name[16];
	int sig;

	if (!text)
		return;
	sig = parse_signal(text);
	if (!sig) {
		log_warn("ignoring COSTACK_DUMP_SIGNAL='%s': expected a signal name (USR2, "
		         "SIGUSR2, RTMIN+1) or number; using none",
		         text);
		return;
	}
	why = dump_signal_refused(sig);
	if (why) {
		log_warn("ignoring COSTACK_DUMP_SIGNAL='%s': %s cannot be the dump signal, %s; "
		         "using none",
		         text, config_signal_name(sig, name), why);
		return;
	}
	config.dump_signal = sig;
}

/* Relative to the working directory at load time, not at the dump's. */
static void load_dump_file(void)
{
	const char *text = getenv("COSTACK_DUMP_FILE");
	size_t len, dir_len;

	if (!text)
		return;
	len = strlen(text);
	if (!len) {
		log_warn("ignoring COSTACK_DUMP_FILE='': expected a path; using stderr");
		return;
	}
	if (text[0] == '/') {
		if (len >= sizeof(config_dump_file)) {
			log_warn("ignoring COSTACK_DUMP_FILE='%s': longer than %zu bytes; "
			         "using stderr",
			         text, sizeof(config_dump_file) - 1);
			return;
		}
		memcpy(config_dump_file, text, len + 1);
		return;
	}
	if (!getcwd(config_dump_file, sizeof(config_dump_file))) {
		log_warn("ignoring COSTACK_DUMP_FILE='%s': the working directory is unknown (%s); "
		         "using stderr",
		         text, strerror(errno));
		config_dump_file[0] = '\0';
		return;
	}
	dir_len = strlen(config_dump_file);
	if (dir_len + 1 + len >= sizeof(config_dump_file)) {
		log_warn("ignoring COSTACK_DUMP_FILE='%s': its absolute path is longer than %zu "
		         "bytes; using stderr",
		         text, sizeof(config_dump_file) - 1);
		config_dump_file[0] = '\0';
		return;
	}
	config_dump_file[dir_len] = '/';
	memcpy(config_dump_file + dir_len + 1, text, len + 1);
}

/*
 * In secure-execution mode (a set-user-ID or file-capability program), the
 * environment is the unprivileged caller's: a dump file it names would be
 * written with the program's privileges, and a dump would show it the
 * program's memory layout. So none of the dump settings are taken there.
 */
static void load_dump_settings(void)
{
	static const char *const booleans[] = {"0", "1"};
	static const char *const names[] = {"COSTACK_DUMP_SIGNAL", "COSTACK_DUMP_FILE",
	                                    "COSTACK_DUMP_ON_CRASH"};
	static const char *const defaults[] = {"none", "stderr", "0"};
	int on_crash = 0;

	if (getauxval(AT_SECURE)) {
		for (int i = 0; i < 3; i++)
			if (getenv(names[i]))
				log_warn("ignoring %s='%s': a program in secure-execution "
				         "mode (set-user-ID, capabilities) takes no dump setting "
				         "from the environment; using %s",
				         names[i], getenv(names[i]), defaults[i]);
		return;
	}
	load_dump_signal();
	load_dump_file();
	load_choice("COSTACK_DUMP_ON_CRASH", &on_crash, booleans, 2);
	config.dump_on_crash = on_crash;
}

void config_load_log_level(void)
{
	static const char *const log_levels[] = {"error", "warn", "info", "debug"};

	load_choice("COSTACK_LOG", &log_threshold, log_levels, 4);
}

void config_load(void)
{
	static const char *const unwinders[] = {"default", "libunwind", "fp"};
	static const char *const clocks[] = {"coarse", "precise"};
	static const char *const booleans[] = {"0", "1"};
	int disable = 0;
	int trace = 0;

	/* The log level first, so that it governs the messages about the rest. */
	config_load_log_level();
	load_int("COSTACK_DEPTH", &config.depth, 1, CONFIG_DEPTH_MAX);
	load_int("COSTACK_RING", &config.ring, 1, CONFIG_RING_MAX);
	load_int("COSTACK_ENDED", &config.ended, 0, 1 << 24);
	load_choice("COSTACK_UNWIND", &config.unwind, unwinders, 3);
	load_choice("COSTACK_CLOCK", &config.clock, clocks, 2);
	load_choice("COSTACK_DISABLE", &disable, booleans, 2);
	config.enabled = !disable;
	load_choice("COSTACK_TRACE", &trace, booleans, 2);
	config.trace = trace;
	load_dump_settings();
}
