/* SPDX-License-Identifier: MIT */
/* cmd_record.c - costack record: COMMAND under the preload while an LTTng session records it. */
#define _GNU_SOURCE
#include "analysis-config.h"
#include "commands.h"
#include "lttng_control.h"
#include "options.h"
#include "preload_env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The buffers: 8 MiB per CPU and process, some 270 000 switches, while the consumer
 * daemon writes them out (tests/bench/bench_record.py loses none with these). */
#define DEFAULT_SUBBUF_SIZE (1024ULL * 1024)
#define DEFAULT_NUM_SUBBUF 8ULL

/* The libraries of lttng-ust that trace what the program does to its
 * mappings (dlopen) and to itself (fork), by soname. */
#define LTTNG_UST_DL "liblttng-ust-dl.so.1"
#define LTTNG_UST_FORK "liblttng-ust-fork.so.1"

static void print_record_help(FILE *out)
{
	fputs("Usage: costack record [-o DIR] [--subbuf-size SIZE] [--num-subbuf N]\n"
	      "                      [--] COMMAND [ARG...]\n"
	      "\n"
	      "Run COMMAND with libcostack.so preloaded and record its coroutines with LTTng:\n"
	      "every task made, every switch with the stack where the task was suspended,\n"
	      "every exception raised and every task's end, in COMMAND and in the programs it\n"
	      "forks and executes, until COMMAND exits. The trace is a directory that costack\n"
	      "stacks DIR, costack report DIR and babeltrace2 DIR read; its path is printed on\n"
	      "standard error at the end (standard output is COMMAND's alone).\n"
	      "\n"
	      "COMMAND runs as a child of costack with costack's standard input and output,\n"
	      "other open file descriptors and environment, and costack exits with COMMAND's\n"
	      "status once the trace is written, or dies of the signal that killed COMMAND.\n"
	      "A Ctrl-C at the terminal reaches COMMAND, and the trace keeps everything up to\n"
	      "its end: as a shell does, costack ignores SIGINT and SIGQUIT while COMMAND\n"
	      "runs. SIGTERM and SIGHUP sent to costack are passed on to COMMAND.\n"
	      "\n"
	      "The first argument that does not start with '-' is COMMAND, looked up in PATH\n"
	      "unless it holds a '/'; every argument after it is COMMAND's.\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output=DIR    Write the trace into DIR, created if missing; an existing\n"
	      "                      DIR must be empty. Default: a new directory in the\n"
	      "                      current one, named after COMMAND and the local time,\n"
	      "                      e.g. server-20261124-214351 (-2, -3, ... added if taken).\n"
	      "  --subbuf-size=SIZE  The size of one sub-buffer in bytes, with an optional k,\n"
	      "                      M or G suffix: a power of two, at least 4k. Default: 1M.\n"
	      "  --num-subbuf=N      Sub-buffers per CPU: a power of two, at least 2.\n"
	      "                      Default: 8.\n"
	      "  -h, --help          Show this help and exit.\n"
	      "  --                  End of options; needed when COMMAND starts with '-'.\n"
	      "\n"
	      "  The buffers take SIZE x N bytes per CPU for each process traced (COMMAND\n"
	      "  and each process it starts have their own: 16 MiB each on 2 CPUs by\n"
	      "  default). The defaults hold some 270 000 switches per CPU while the consumer\n"
	      "  daemon writes them to DIR. An event that finds them full is discarded rather\n"
	      "  than make COMMAND wait: costack then says how many were, and bigger buffers\n"
	      "  keep them.\n"
	      "\n"
	      "How:\n"
	      "  costack drives LTTng with lttng(1). It uses the session daemon that lttng\n"
	      "  connects to (for root, the root one) or, when none runs, starts one\n"
	      "  (lttng-sessiond --daemonize --no-kernel), which the last costack record to\n"
	      "  end stops: a daemon that was running already is left alone; the sessions\n"
	      "  of records that are gone (killed) are destroyed. It creates a session of\n"
	      "  its own, costack-record-PID-STARTTIME, with a channel \"costack\"\n"
	      "  (per-process buffers, discard mode), the events costack:*, and\n"
	      "  lttng_ust_statedump:* and lttng_ust_dl:* for the objects each program maps\n"
	      "  (to symbolize its stacks), and the context vtid (each process' trace has its\n"
	      "  vpid and procname once, in its environment); starts it; runs COMMAND with\n"
	      "    LD_PRELOAD                  + libcostack.so " LTTNG_UST_DL "\n"
	      "                                  " LTTNG_UST_FORK " (lttng-ust's: dlopen\n"
	      "                                  and fork traced too), after the libraries\n"
	      "                                  already listed\n"
	      "    COSTACK_TRACE=1             the preload fires the events of provider costack\n"
	      "    COSTACK_LTTNG_LIBRARY       the provider, libcostack-lttng.so\n"
	      "    LTTNG_UST_REGISTER_TIMEOUT  -1 unless set: every program waits until the\n"
	      "                                  session daemon registered it, so that its\n"
	      "                                  first events are recorded\n"
	      "  in a time namespace of its own (its clocks are everyone's), whose events\n"
	      "  alone the session keeps: the trace holds COMMAND and the processes it\n"
	      "  starts, not those of another record running meanwhile (the namespace\n"
	      "  needs CAP_SYS_ADMIN; without it, costack says when another record runs);\n"
	      "  and, once COMMAND has ended, stops the session, waiting until every event\n"
	      "  is written, and destroys it. Programs COMMAND leaves running are recorded\n"
	      "  until then only.\n"
	      "\n"
	      "Environment:\n"
	      "  COSTACK_LIBRARY        The preload to use. Default: the one of the build tree\n"
	      "                         when this costack runs from its build tree, else\n"
	      "                         " COSTACK_INSTALLED_LIBRARY "\n"
	      "  COSTACK_LTTNG_LIBRARY  The LTTng provider to use, likewise; else\n"
	      "                         " COSTACK_INSTALLED_LTTNG_LIBRARY "\n"
	      "  LTTNG_HOME             As for lttng(1): the home of a user's session daemon.\n"
	      "  LTTNG_SESSIOND_PATH    The lttng-sessiond to start. Default: from PATH.\n"
	      "  COSTACK_*              Passed through to libcostack.so (see 'costack --help').\n"
	      "\n"
	      "Exit status:\n"
	      "  COMMAND's own (a signal N that ends it ends costack too: a shell shows\n"
	      "  128+N); 126 when COMMAND cannot be executed, 127 when it is not found; 2 on\n"
	      "  a usage error; 3 when the trace cannot be made: a library missing, LTTng not\n"
	      "  installed or no session daemon to be had, lttng failing (its output is\n"
	      "  shown), DIR not empty or not writable.\n"
	      "\n"
	      "Example:\n"
	      "  costack record -o server.trace -- ./server --port 8080\n"
	      "  costack report server.trace\n",
	      out);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("costack record: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'costack record --help'.\n", stderr);
	return COSTACK_EXIT_USAGE;
}

/* SIZE[k|M|G], a power of two of at least min; 0 if it is not one. */
static unsigned long long parse_power_of_two(const char *text, bool suffix, unsigned long long min)
{
	char *end;
	unsigned long long value, unit = 1;

	if (!*text || *text == '-' || *text == '+')
		return 0;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text)
		return 0;
	if (suffix && *end) {
		switch (*end++) {
		case 'k':
		case 'K':
			unit = 1ULL << 10;
			break;
		case 'M':
			unit = 1ULL << 20;
			break;
		case 'G':
			unit = 1ULL << 30;
			break;
		default:
			return 0;
		}
	}
	if (*end || value > (1ULL << 40) / unit)
		return 0;
	value *= unit;
	if (value < min || (value & (value - 1)))
		return 0;
	return value;
}

/* --- the trace directory ------------------------------------------------------------------- */

/* "empty", "trace" (it holds one), "other", or NULL with errno. */
static const char *directory_content(const char *path)
{
	static const char *const trace_entries[] = {"ust", "kernel", "metadata"};
	DIR *dir = opendir(path);
	struct dirent *e;
	const char *what = "empty";

	if (!dir)
		return NULL;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		what = "other";
		for (size_t i = 0; i < sizeof(trace_entries) / sizeof(*trace_entries); i++) {
			if (!strcmp(e->d_name, trace_entries[i])) {
				closedir(dir);
				return "trace";
			}
		}
	}
	closedir(dir);
	return what;
}

/* The trace directory, absolute, in path[PATH_MAX]: -o's, which may exist
 * if empty, or a new one named after COMMAND. *created: whether this record
 * made it (and may remove it if nothing is recorded). */
static int make_output(const char *output, const char *command, char *path, bool *created)
{
	char cwd[PATH_MAX], base[NAME_MAX + 1], stamp[32];
	char *copy;
	const char *content;
	time_t now = time(NULL);
	struct tm tm;

	*created = false;
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "costack record: cannot tell the current directory: %s\n",
		        strerror(errno));
		return COSTACK_EXIT_INPUT;
	}
	if (output) {
		if (snprintf(path, PATH_MAX, "%s%s%s", output[0] == '/' ? "" : cwd,
		             output[0] == '/' ? "" : "/", output) >= PATH_MAX) {
			fprintf(stderr, "costack record: %s: %s\n", output, strerror(ENAMETOOLONG));
			return COSTACK_EXIT_INPUT;
		}
		if (mkdir(path, 0755) == 0) {
			*created = true;
			return COSTACK_EXIT_OK;
		}
		if (errno != EEXIST) {
			fprintf(stderr, "costack record: cannot create %s: %s\n", output,
			        strerror(errno));
			return COSTACK_EXIT_INPUT;
		}
		content = directory_content(path);
		if (!content) {
			fprintf(stderr, "costack record: cannot use %s: %s\n", output,
			        strerror(errno));
			return COSTACK_EXIT_INPUT;
		}
		if (!strcmp(content, "empty"))
			return COSTACK_EXIT_OK;
		fprintf(stderr,
		        !strcmp(content, "trace")
		                ? "costack record: %s already holds a trace: remove it, or choose "
		                  "another directory with -o\n"
		                : "costack record: %s is not empty: choose a new or empty "
		                  "directory "
		                  "with -o\n",
		        output);
		return COSTACK_EXIT_INPUT;
	}

	/* COMMAND's name, without anything a directory name cannot hold. */
	copy = strdup(command);
	if (!copy)
		return COSTACK_EXIT_INPUT;
	snprintf(base, sizeof(base), "%.64s", basename(copy));
	free(copy);
	if (!base[0] || !strcmp(base, ".") || !strcmp(base, ".."))
		snprintf(base, sizeof(base), "trace");
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int n = 1; n < 1000; n++) {
		int len = n == 1 ? snprintf(path, PATH_MAX, "%s/%s-%s", cwd, base, stamp)
		                 : snprintf(path, PATH_MAX, "%s/%s-%s-%d", cwd, base, stamp, n);

		if (len >= PATH_MAX) {
			errno = ENAMETOOLONG;
			break;
		}
		if (mkdir(path, 0755) == 0) {
			*created = true;
			return COSTACK_EXIT_OK;
		}
		if (errno != EEXIST)
			break;
	}
	fprintf(stderr, "costack record: cannot create %s: %s\n", path, strerror(errno));
	return COSTACK_EXIT_INPUT;
}

/* --- signals --------------------------------------------------------------------------------- */

/* The signals a terminal or a supervisor sends: while COMMAND runs, SIGINT
 * and SIGQUIT are left to it (the terminal sends them to it as well), SIGTERM
 * and SIGHUP are passed on; before, they stop the record once the session
 * is cleaned up; after, while the trace is finished, they are ignored. */
static const int handled_signals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
#define NHANDLED (sizeof(handled_signals) / sizeof(*handled_signals))

enum phase { PHASE_SETUP, PHASE_RUNNING, PHASE_FINISHING };

static volatile sig_atomic_t phase = PHASE_SETUP;
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t interrupted; /* the signal that stopped the set-up */
static struct sigaction original_actions[NHANDLED];
static struct sigaction original_sigchld;
static sigset_t original_mask;

static void on_signal(int sig)
{
	int saved_errno = errno;

	if (phase == PHASE_RUNNING) {
		if ((sig == SIGTERM || sig == SIGHUP) && child_pid > 0)
			kill((pid_t)child_pid, sig);
	} else if (phase == PHASE_SETUP && !interrupted) {
		interrupted = sig;
	}
	errno = saved_errno;
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	sigprocmask(SIG_SETMASK, NULL, &original_mask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < NHANDLED; i++) {
		sigaction(handled_signals[i], NULL, &original_actions[i]);
		/* A signal ignored when we started (nohup, `cmd &` without job
		 * control) stays ignored, for us and for COMMAND. */
		if (original_actions[i].sa_handler != SIG_IGN)
			sigaction(handled_signals[i], &sa, NULL);
	}
	/* waitpid needs SIGCHLD not ignored; COMMAND gets it as it was. */
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &original_sigchld);
}

/* In COMMAND's process: the dispositions and the mask costack started with. */
static void restore_signal_handlers(void)
{
	for (size_t i = 0; i < NHANDLED; i++)
		sigaction(handled_signals[i], &original_actions[i], NULL);
	sigaction(SIGCHLD, &original_sigchld, NULL);
	sigprocmask(SIG_SETMASK, &original_mask, NULL);
}

/* End as COMMAND did: by signal sig, without a core file of ours. */
static int die_of_signal(int sig)
{
	struct rlimit no_core = {0, 0};
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	setrlimit(RLIMIT_CORE, &no_core);
	fflush(NULL);
	raise(sig);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return 128 + sig; /* a signal that does not kill: as a shell shows it */
}

/* --- COMMAND --------------------------------------------------------------------------------- */

struct libraries {
	char preload[PATH_MAX];
	char provider[PATH_MAX];
};

/* The child's side: COMMAND's environment, then exec. Never returns. */
static void exec_command(char **command, const struct libraries *libs, int error_fd)
{
	int error;

	restore_signal_handlers();
	if (setenv("COSTACK_TRACE", "1", 1) < 0 ||
	    setenv("COSTACK_LTTNG_LIBRARY", libs->provider, 1) < 0 ||
	    setenv("LTTNG_UST_REGISTER_TIMEOUT", "-1", 0) < 0 ||
	    preload_append_costack("record", libs->preload) < 0 ||
	    preload_append(LTTNG_UST_DL) < 0 || preload_append(LTTNG_UST_FORK) < 0)
		goto fail;
	execvp(command[0], command);
fail:
	error = errno;
	if (write(error_fd, &error, sizeof(error)) < 0)
		_exit(127);
	_exit(127);
}

/* Run COMMAND to its end; its wait status, or -1 with *exec_error when it
 * could not be executed. */
static int run_command(char **command, const struct libraries *libs, int *exec_error)
{
	int error_pipe[2];
	int wait_status = -1, error = 0;
	sigset_t handled, before;
	ssize_t n;
	pid_t pid;

	*exec_error = 0;
	if (pipe2(error_pipe, O_CLOEXEC) < 0) {
		*exec_error = errno;
		return -1;
	}
	/* Held until COMMAND's pid is known: a SIGTERM then is passed on. */
	sigemptyset(&handled);
	for (size_t i = 0; i < NHANDLED; i++)
		sigaddset(&handled, handled_signals[i]);
	sigprocmask(SIG_BLOCK, &handled, &before);
	pid = fork();
	if (pid < 0) {
		*exec_error = errno;
		sigprocmask(SIG_SETMASK, &before, NULL);
		close(error_pipe[0]);
		close(error_pipe[1]);
		return -1;
	}
	if (pid == 0) {
		close(error_pipe[0]);
		exec_command(command, libs, error_pipe[1]);
	}
	child_pid = pid;
	phase = PHASE_RUNNING;
	sigprocmask(SIG_SETMASK, &before, NULL);
	close(error_pipe[1]);
	do
		n = read(error_pipe[0], &error, sizeof(error));
	while (n < 0 && errno == EINTR);
	close(error_pipe[0]);
	while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR)
		;
	phase = PHASE_FINISHING;
	child_pid = 0;
	if (n == (ssize_t)sizeof(error)) {
		*exec_error = error;
		return -1;
	}
	return wait_status;
}

/* --- COMMAND's processes only --------------------------------------------------------------- */

/*
 * Each record's session records only COMMAND and the processes it starts: they run in a time
 * namespace of their own, whose inode the session's filter names ($ctx.time_ns). Its clocks
 * are everyone's (offsets 0), and every process COMMAND forks or executes stays in it, where
 * LTTng's process tracker (by pid) would miss the forked ones. Without it, two records at once
 * each recorded the other's program. 0 when it cannot be made (CAP_SYS_ADMIN is needed).
 */
static unsigned long long own_time_namespace(void)
{
	struct stat st;

	/* costack's own children (lttng, COMMAND) are in it, not costack. */
	if (unshare(CLONE_NEWTIME) < 0 || stat("/proc/self/ns/time_for_children", &st) < 0)
		return 0;
	return (unsigned long long)st.st_ino;
}

/* --- the verb -------------------------------------------------------------------------------- */

struct record_options {
	const char *output;
	unsigned long long subbuf_size;
	unsigned long long num_subbuf;
	char **command;
};

enum { OPT_OUTPUT, OPT_SUBBUF_SIZE, OPT_NUM_SUBBUF }; /* in the table's order */

static int record_option(void *ctx, int option, const char *value)
{
	struct record_options *opts = ctx;

	switch (option) {
	case OPT_OUTPUT:
		if (!*value)
			return usage_error("-o needs a directory, not ''");
		opts->output = value;
		return 0;
	case OPT_SUBBUF_SIZE:
		opts->subbuf_size = parse_power_of_two(value, true, 4096);
		if (!opts->subbuf_size)
			return usage_error(
			        "--subbuf-size '%s' is not a power of two of at least 4k (a "
			        "number of bytes, or with k, M or G)",
			        value);
		return 0;
	default: /* OPT_NUM_SUBBUF */
		opts->num_subbuf = parse_power_of_two(value, false, 2);
		if (!opts->num_subbuf)
			return usage_error("--num-subbuf '%s' is not a power of two of at least 2",
			                   value);
		return 0;
	}
}

/* Options, then COMMAND: CLI_GO_ON, or the exit status to end with. */
static int parse_options(int argc, char **argv, struct record_options *opts)
{
	static const struct cli_option options[] = {
	        [OPT_OUTPUT] = {"output", 'o', true},
	        [OPT_SUBBUF_SIZE] = {"subbuf-size", 0, true},
	        [OPT_NUM_SUBBUF] = {"num-subbuf", 0, true},
	        {NULL, 0, false},
	};
	static const struct cli_verb verb = {"record",  options, print_record_help,
	                                     "command", true,    false};
	int operand, status;

	opts->output = NULL;
	opts->subbuf_size = DEFAULT_SUBBUF_SIZE;
	opts->num_subbuf = DEFAULT_NUM_SUBBUF;
	opts->command = NULL;
	status = cli_parse(&verb, argc, argv, record_option, opts, &operand);
	if (status == CLI_GO_ON)
		opts->command = argv + operand;
	return status;
}

/* Remove the directories of the tree at path that hold no file (lttng
 * makes ust/ before any event comes), path itself if remove_path: whether
 * the tree held no file. */
static bool prune_empty_tree(const char *path, bool remove_path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	bool empty = true;
	char sub[PATH_MAX];

	if (!dir)
		return false;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_DIR ||
		    snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub) ||
		    !prune_empty_tree(sub, true))
			empty = false;
	}
	closedir(dir);
	return empty && (!remove_path || rmdir(path) == 0);
}

int command_record(int argc, char **argv)
{
	struct record_options opts;
	struct libraries libs;
	struct sessiond_use sessiond = {.users_fd = -1};
	struct record_session session = {.created = false};
	struct session_config config;
	char output[PATH_MAX];
	bool created = false;
	int status, wait_status = -1, exec_error = 0;

	status = parse_options(argc, argv, &opts);
	if (status != CLI_GO_ON)
		return status;
	status = find_costack_library(&costack_preload_library, libs.preload);
	if (status == COSTACK_EXIT_OK)
		status = find_costack_library(&costack_lttng_library, libs.provider);
	if (status != COSTACK_EXIT_OK)
		return status;

	install_signal_handlers();
	status = make_output(opts.output, opts.command[0], output, &created);
	if (status == COSTACK_EXIT_OK && !interrupted)
		status = sessiond_acquire(&sessiond);
	config.output = output;
	config.subbuf_size = opts.subbuf_size;
	config.num_subbuf = opts.num_subbuf;
	config.time_ns = status == COSTACK_EXIT_OK ? own_time_namespace() : 0;
	if (status == COSTACK_EXIT_OK && !config.time_ns && sessiond.others)
		fputs("costack record: another costack record is running, and its programs will be "
		      "in this trace too (keeping them out takes a time namespace: root, or "
		      "CAP_SYS_ADMIN)\n",
		      stderr);
	if (status == COSTACK_EXIT_OK && !interrupted)
		status = session_start(&session, &config);
	if (status == COSTACK_EXIT_OK && !interrupted)
		wait_status = run_command(opts.command, &libs, &exec_error);
	phase = PHASE_FINISHING;

	if (session_end(&session) != COSTACK_EXIT_OK && status == COSTACK_EXIT_OK)
		status = COSTACK_EXIT_INPUT;
	sessiond_release(&sessiond);
	if (status == COSTACK_EXIT_OK && wait_status < 0 && !interrupted) {
		/* Like a shell: 127 when COMMAND is not found, 126 when it cannot run. */
		fprintf(stderr, "costack record: cannot run '%s': %s\n", opts.command[0],
		        strerror(exec_error));
		status = exec_error == ENOENT ? 127 : 126;
	}
	if (status != COSTACK_EXIT_OK || wait_status < 0) {
		if (created)
			prune_empty_tree(output, true);
		if (interrupted)
			return die_of_signal(interrupted);
		return status;
	}

	/* A DIR that existed was empty: what is in it now is lttng's. */
	if (prune_empty_tree(output, created))
		fprintf(stderr,
		        "costack record: no event was recorded, %s is left out: did '%s' run a "
		        "program under the preload? (a statically linked or setuid one is not)\n",
		        output, opts.command[0]);
	else
		fprintf(stderr, "costack record: trace written to %s\n", output);
	if (WIFSIGNALED(wait_status))
		return die_of_signal(WTERMSIG(wait_status));
	return WEXITSTATUS(wait_status);
}
