/* SPDX-License-Identifier: MIT */
/* lttng_control.c - record's side of LTTng: lttng(1) run quietly, a session, a shared daemon. */
#define _GNU_SOURCE
#include "lttng_control.h"

#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL "costack"
#define EVENTS "costack:*,lttng_ust_statedump:*,lttng_ust_dl:*"
#define MAX_ARGS 24
/* How long a daemon we stop may take to exit before we give up on it. */
#define SESSIOND_STOP_TIMEOUT_MS 10000

/* --- running a program quietly ------------------------------------------------------------ */

struct captured {
	int status; /* wait status; -1 when it could not be run */
	int error;  /* when it could not be run: errno (ENOENT: not found) */
	char *text; /* what it printed on stdout and stderr, NUL-terminated, never NULL */
};

static char *read_all(int fd)
{
	size_t size = 0, cap = 4096;
	char *text = malloc(cap);
	ssize_t n;

	if (!text)
		return NULL;
	if (lseek(fd, 0, SEEK_SET) == 0) {
		for (;;) {
			if (size + 1 >= cap) {
				char *bigger = realloc(text, cap * 2);

				if (!bigger)
					break;
				text = bigger;
				cap *= 2;
			}
			n = read(fd, text + size, cap - size - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			size += (size_t)n;
		}
	}
	text[size] = '\0';
	return text;
}

/* The child's side of run_captured: never returns. */
static void exec_captured(char *const argv[], int output_fd, int error_fd)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sigset_t none;
	int error;

	/* Out of the foreground process group: a Ctrl-C is for the recorded program. */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0 ||
	    dup2(output_fd, STDERR_FILENO) < 0 || dup2(error_fd, 3) < 0)
		goto fail;
	/* Nothing of ours, nor of the user's, is left open: a daemon would
	 * keep an inherited pipe open for ever. fd 3 closes at exec. */
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0) {
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	}
	execvp(argv[0], argv);
fail:
	error = errno;
	if (write(3, &error, sizeof(error)) < 0)
		_exit(127);
	_exit(127);
}

/* Run argv (argv[0] looked up in PATH) to its end with no input, its output
 * captured, no descriptor of ours, in a process group of its own. */
static void run_captured(char *const argv[], struct captured *c)
{
	int output_fd = memfd_create("costack-record-output", MFD_CLOEXEC);
	int error_pipe[2] = {-1, -1};
	int error = 0;
	ssize_t n;
	pid_t pid = -1;

	c->status = -1;
	c->error = 0;
	c->text = NULL;
	if (output_fd < 0 || pipe2(error_pipe, O_CLOEXEC) < 0) {
		c->error = errno;
		goto end;
	}
	pid = fork();
	if (pid < 0) {
		c->error = errno;
		goto end;
	}
	if (pid == 0)
		exec_captured(argv, output_fd, error_pipe[1]);
	close(error_pipe[1]);
	error_pipe[1] = -1;
	do
		n = read(error_pipe[0], &error, sizeof(error));
	while (n < 0 && errno == EINTR);
	while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(error)) {
		c->status = -1;
		c->error = error;
	}
end:
	if (output_fd >= 0)
		c->text = read_all(output_fd);
	if (!c->text)
		c->text = strdup("");
	for (int i = 0; i < 2; i++) {
		if (error_pipe[i] >= 0)
			close(error_pipe[i]);
	}
	if (output_fd >= 0)
		close(output_fd);
}

static bool exited_ok(const struct captured *c)
{
	return c->status >= 0 && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

/* argv as one line, for messages. */
static void print_command(FILE *out, char *const argv[])
{
	for (int i = 0; argv[i]; i++)
		fprintf(out, "%s%s", i ? " " : "", argv[i]);
}

/* "costack record: COMMAND failed (exit 1):" and its output, indented. */
static void report_failure(char *const argv[], const struct captured *c)
{
	const char *line = c->text;

	fputs("costack record: '", stderr);
	print_command(stderr, argv);
	if (c->status < 0)
		fprintf(stderr, "' cannot be run: %s\n", strerror(c->error));
	else if (WIFEXITED(c->status))
		fprintf(stderr, "' failed (exit status %d)%s\n", WEXITSTATUS(c->status),
		        *line ? ":" : "");
	else
		fprintf(stderr, "' was killed by signal %d (%s)%s\n", WTERMSIG(c->status),
		        strsignal(WTERMSIG(c->status)), *line ? ":" : "");
	while (*line) {
		size_t len = strcspn(line, "\n");

		fprintf(stderr, "    %.*s\n", (int)len, line);
		line += len + (line[len] == '\n');
	}
}

/* The message for lttng(1) not found, the usual case of LTTng not installed. */
static void report_no_lttng(void)
{
	fputs("costack record: cannot run lttng: not found in PATH\n"
	      "costack record drives LTTng with the lttng command of lttng-tools: install\n"
	      "it (Debian: apt-get install lttng-tools).\n",
	      stderr);
}

/* lttng ARG... (NULL-terminated), never spawning a session daemon itself
 * (sessiond_acquire does that). Its output in *text if text is not NULL
 * (free it), shown on stderr if it fails. */
static int lttng(char **text, const char *arg, ...)
{
	char *argv[MAX_ARGS];
	int argc = 0;
	struct captured c;
	va_list ap;
	int status = COSTACK_EXIT_OK;

	argv[argc++] = (char *)"lttng";
	argv[argc++] = (char *)"--no-sessiond";
	va_start(ap, arg);
	for (const char *a = arg; a && argc < MAX_ARGS - 1; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	run_captured(argv, &c);
	if (c.status < 0 && c.error == ENOENT) {
		report_no_lttng();
		status = COSTACK_EXIT_INPUT;
	} else if (!exited_ok(&c)) {
		report_failure(argv, &c);
		status = COSTACK_EXIT_INPUT;
	}
	if (text)
		*text = c.text;
	else
		free(c.text);
	return status;
}

/* --- the session daemon, shared by concurrent records ------------------------------------------
 *
 * A record uses the session daemon lttng(1) connects to: the root one for
 * root, the user's own otherwise. When none runs, the record starts one
 * (lttng-sessiond --daemonize --no-kernel), and the last record out stops
 * it, so that nothing is left behind; a daemon that was running already is
 * never stopped. The records of a user agree through three files in a
 * directory of theirs (STATE_DIR below):
 *
 *   lock      taken exclusively while the daemon is checked, started, or
 *             stopped: a record that starts never races one that stops;
 *   users     each record holds a shared lock on it while it uses the
 *             daemon; the last one out is the one that gets it exclusively;
 *   sessiond  "PID STARTTIME" of the daemon a record started (absent when
 *             the running daemon is not costack's).
 *
 * flock(2) locks go with the process: a record that dies (even by SIGKILL)
 * counts no more, and the next record out stops the daemon instead. A
 * daemon that has recording sessions of someone else when the last record
 * ends is left running, and stopped by a later last record.
 */

static const char *home_dir(void)
{
	const char *home = getenv("LTTNG_HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	home = getenv("HOME");
	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : "/tmp";
}

/* lttng-sessiond's run directory, where it writes lttng-sessiond.pid. */
static void sessiond_rundir(char *buf, size_t size)
{
	if (getuid() == 0)
		snprintf(buf, size, "/var/run/lttng");
	else
		snprintf(buf, size, "%s/.lttng", home_dir());
}

static void state_dir(char *buf, size_t size)
{
	if (getuid() == 0)
		snprintf(buf, size, "/var/run/costack");
	else
		snprintf(buf, size, "%s/.lttng/costack", home_dir());
}

/* mkdir -p for a directory of ours. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0700) < 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (!c)
				return 0;
		}
	}
}

/* A file of the state directory opened for flock, or -1 after saying why. */
static int open_state_file(const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int fd;

	state_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (make_dirs(dir) < 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		fprintf(stderr, "costack record: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

static int lock_file(int fd, int how)
{
	int ret;

	while ((ret = flock(fd, how)) < 0 && errno == EINTR)
		;
	return ret;
}

/* The start time of process pid (field 22 of /proc/PID/stat), 0 if it is
 * gone or a zombie: with the pid, it names one process for ever. */
static unsigned long long process_start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	const char *p;
	char state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the command name, which may hold anything: state, then 19 fields. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c", &state) != 1 || state == 'Z')
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

static pid_t read_pid_file(const char *path, unsigned long long *start_time)
{
	FILE *f = fopen(path, "re");
	long pid = 0;
	unsigned long long start = 0;
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%ld %llu", &pid, &start);
	fclose(f);
	if (n < 1 || pid <= 0 || pid > INT_MAX)
		return 0;
	if (start_time)
		*start_time = n == 2 ? start : 0;
	return (pid_t)pid;
}

static void sessiond_state_path(char *path, size_t size)
{
	char dir[PATH_MAX];

	state_dir(dir, sizeof(dir));
	snprintf(path, size, "%s/sessiond", dir);
}

/* Whether lttng(1) finds a session daemon: 1 yes, 0 no, -1 it cannot tell
 * (said on stderr). */
static int sessiond_alive(void)
{
	char *argv[] = {(char *)"lttng", (char *)"--no-sessiond", (char *)"list", NULL};
	struct captured c;
	int alive = -1;

	run_captured(argv, &c);
	if (c.status < 0 && c.error == ENOENT)
		report_no_lttng();
	else if (exited_ok(&c))
		alive = 1;
	else if (strstr(c.text, "No session daemon"))
		alive = 0;
	else
		report_failure(argv, &c);
	free(c.text);
	return alive;
}

/* Start a session daemon; remember it as costack's in the state directory. */
static int sessiond_start(void)
{
	const char *binary = getenv("LTTNG_SESSIOND_PATH");
	char *argv[] = {(char *)(binary && *binary ? binary : "lttng-sessiond"),
	                (char *)"--daemonize", (char *)"--no-kernel", NULL};
	char rundir[PATH_MAX], pid_path[PATH_MAX + 32], state[PATH_MAX + 16], tmp[PATH_MAX + 32];
	unsigned long long start;
	struct captured c;
	pid_t pid;
	FILE *f;

	/* --daemonize returns once the daemon takes commands; it runs in a
	 * session of its own (setsid), out of reach of the terminal's signals. */
	run_captured(argv, &c);
	if (!exited_ok(&c)) {
		if (c.status < 0 && c.error == ENOENT)
			fprintf(stderr,
			        "costack record: no LTTng session daemon is running, and %s cannot "
			        "be "
			        "started: not found in PATH\n"
			        "Install lttng-tools (Debian: apt-get install lttng-tools), or "
			        "start a "
			        "session daemon (lttng-sessiond --daemonize).\n",
			        argv[0]);
		else
			report_failure(argv, &c);
		free(c.text);
		/* Someone else's may have won a race with ours: use it. */
		return sessiond_alive() == 1 ? COSTACK_EXIT_OK : COSTACK_EXIT_INPUT;
	}
	free(c.text);
	sessiond_rundir(rundir, sizeof(rundir));
	snprintf(pid_path, sizeof(pid_path), "%s/lttng-sessiond.pid", rundir);
	pid = read_pid_file(pid_path, NULL);
	start = pid ? process_start_time(pid) : 0;
	if (!start) {
		fprintf(stderr,
		        "costack record: started lttng-sessiond, but cannot tell its pid from %s; "
		        "it will be left running\n",
		        pid_path);
		return COSTACK_EXIT_OK;
	}
	sessiond_state_path(state, sizeof(state));
	snprintf(tmp, sizeof(tmp), "%s.%d", state, (int)getpid());
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%d %llu\n", (int)pid, start) < 0 || fclose(f) != 0 ||
	    rename(tmp, state) < 0) {
		fprintf(stderr,
		        "costack record: cannot write %s (%s); the lttng-sessiond started (pid %d) "
		        "will be left running\n",
		        state, strerror(errno), (int)pid);
		unlink(tmp);
	}
	return COSTACK_EXIT_OK;
}

#define SESSION_PREFIX "costack-record-"

/* Whether the record that named a session NAME (SESSION_PREFIX "PID-START", START its start
 * time, or 8 hex digits of costack's before) is gone. */
static bool session_orphaned(const char *name)
{
	char *end;
	long pid = strtol(name + strlen(SESSION_PREFIX), &end, 10);
	unsigned long long start, now;

	if (pid <= 0 || pid > INT_MAX || *end != '-')
		return false;
	now = process_start_time((pid_t)pid);
	if (!now)
		return true;
	start = strtoull(end + 1, &end, 10);
	/* An older name holds no start time: a live process of that pid may be the record. */
	return !*end && start && start != now;
}

/* Destroy the sessions of records that are gone (killed by SIGKILL, they could not). */
static void destroy_orphaned_sessions(void)
{
	static const char open_tag[] = "<session><name>" SESSION_PREFIX;
	char *text = NULL;

	if (lttng(&text, "--mi", "xml", "list", NULL) != COSTACK_EXIT_OK) {
		free(text);
		return;
	}
	for (char *p = strstr(text, open_tag); p; p = strstr(p, open_tag)) {
		char *name = p + strlen("<session><name>"), *close = strchr(name, '<');

		if (!close)
			break;
		*close = '\0';
		p = close + 1;
		if (!session_orphaned(name) ||
		    lttng(NULL, "destroy", name, NULL) != COSTACK_EXIT_OK)
			continue;
		fprintf(stderr,
		        "costack record: destroyed the session %s of a record that is gone "
		        "(killed?)\n",
		        name);
	}
	free(text);
}

int sessiond_acquire(struct sessiond_use *use)
{
	int lock_fd = open_state_file("lock");
	int status = COSTACK_EXIT_INPUT;
	int alive;

	use->users_fd = -1;
	use->others = false;
	if (lock_fd < 0)
		return COSTACK_EXIT_INPUT;
	if (lock_file(lock_fd, LOCK_EX) < 0) {
		fprintf(stderr, "costack record: cannot lock the state of the session daemon: %s\n",
		        strerror(errno));
		goto end;
	}
	alive = sessiond_alive();
	if (alive < 0)
		goto end;
	if (!alive && sessiond_start() != COSTACK_EXIT_OK)
		goto end;
	if (alive)
		destroy_orphaned_sessions();
	use->users_fd = open_state_file("users");
	if (use->users_fd < 0)
		goto end;
	/* Others use the daemon if they hold users shared. Never waits: an exclusive lock on
	 * users is only taken under lock. */
	use->others = flock(use->users_fd, LOCK_EX | LOCK_NB) < 0;
	if (lock_file(use->users_fd, LOCK_SH) < 0) {
		fprintf(stderr, "costack record: cannot lock the users of the session daemon: %s\n",
		        strerror(errno));
		close(use->users_fd);
		use->users_fd = -1;
		goto end;
	}
	status = COSTACK_EXIT_OK;
end:
	close(lock_fd); /* unlocks */
	return status;
}

/* Whether the daemon has recording sessions: 1 yes, 0 no, -1 unknown. */
static int sessiond_has_sessions(void)
{
	char *text = NULL;
	int has = -1;

	if (lttng(&text, "--mi", "xml", "list", NULL) == COSTACK_EXIT_OK)
		has = strstr(text, "<session>") != NULL;
	free(text);
	return has;
}

/* SIGTERM to the daemon, then wait for it to exit (it stops its consumer
 * daemons first). */
static void sessiond_stop(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct timespec tick = {0, 10 * 1000 * 1000};
	int waited = 0;

	if (kill(pid, SIGTERM) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return;
	}
	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int n;

		while ((n = poll(&p, 1, SESSIOND_STOP_TIMEOUT_MS)) < 0 && errno == EINTR)
			;
		close(pidfd);
		if (n > 0)
			return;
	} else {
		/* No pidfd (Linux < 5.3): look every 10 ms. */
		while (kill(pid, 0) == 0 && process_start_time(pid) &&
		       waited < SESSIOND_STOP_TIMEOUT_MS) {
			nanosleep(&tick, NULL);
			waited += 10;
		}
		if (waited < SESSIOND_STOP_TIMEOUT_MS)
			return;
	}
	fprintf(stderr, "costack record: lttng-sessiond (pid %d) did not stop within %d s\n",
	        (int)pid, SESSIOND_STOP_TIMEOUT_MS / 1000);
}

void sessiond_release(struct sessiond_use *use)
{
	char state[PATH_MAX + 16];
	unsigned long long start = 0;
	int lock_fd, last_fd = -1;
	pid_t pid;

	if (use->users_fd < 0)
		return;
	lock_fd = open_state_file("lock");
	close(use->users_fd); /* this record's shared lock goes */
	use->users_fd = -1;
	if (lock_fd < 0 || lock_file(lock_fd, LOCK_EX) < 0)
		goto end;
	last_fd = open_state_file("users");
	if (last_fd < 0 || lock_file(last_fd, LOCK_EX | LOCK_NB) < 0)
		goto end; /* another record still uses the daemon */
	sessiond_state_path(state, sizeof(state));
	pid = read_pid_file(state, &start);
	if (!pid)
		goto end; /* the daemon is not costack's */
	if (process_start_time(pid) != start) {
		unlink(state); /* costack's daemon is gone already */
		goto end;
	}
	if (sessiond_has_sessions() != 0) {
		fprintf(stderr,
		        "costack record: leaving the lttng-sessiond that costack started (pid %d) "
		        "running: it has recording sessions (lttng list)\n",
		        (int)pid);
		goto end;
	}
	sessiond_stop(pid);
	unlink(state);
end:
	if (last_fd >= 0)
		close(last_fd);
	if (lock_fd >= 0)
		close(lock_fd);
}

/* --- the recording session ------------------------------------------------------------------- */

/* lttng create makes the new session the user's current one in
 * $LTTNG_HOME/.lttngrc, and lttng destroy of the current session deletes the
 * file: what it held before is put back. */
static void lttngrc_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/.lttngrc", home_dir());
}

static char *lttngrc_save(void)
{
	char path[PATH_MAX];
	int fd;
	char *text;

	lttngrc_path(path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	text = read_all(fd);
	close(fd);
	return text;
}

static void lttngrc_restore(char *saved)
{
	char path[PATH_MAX];
	int fd;

	if (!saved)
		return;
	lttngrc_path(path, sizeof(path));
	/* Only if no one made another session current since. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, saved, strlen(saved)) < 0)
			unlink(path);
		close(fd);
	}
	free(saved);
}

int session_start(struct record_session *session, const struct session_config *config)
{
	char output[PATH_MAX + 16], subbuf[32], nsubbuf[32], filter[64];
	int status;

	session->created = session->started = false;
	/* The pid and its start time name one process for ever: a later record tells whether
	 * this one is gone (destroy_orphaned_sessions). */
	snprintf(session->name, sizeof(session->name), SESSION_PREFIX "%d-%llu", (int)getpid(),
	         process_start_time(getpid()));
	snprintf(filter, sizeof(filter), "--filter=$ctx.time_ns == %llu", config->time_ns);
	snprintf(output, sizeof(output), "--output=%s", config->output);
	snprintf(subbuf, sizeof(subbuf), "--subbuf-size=%llu", config->subbuf_size);
	snprintf(nsubbuf, sizeof(nsubbuf), "--num-subbuf=%llu", config->num_subbuf);

	session->lttngrc = lttngrc_save();
	status = lttng(NULL, "create", session->name, output, NULL);
	if (status != COSTACK_EXIT_OK) {
		lttngrc_restore(session->lttngrc);
		session->lttngrc = NULL;
		return status;
	}
	session->created = true;
	/* Discard mode: a full buffer loses events, never slows the program. */
	/* Per-process buffers: each process' trace has its vpid and procname once, in its
	 * environment, rather than in every event (20 bytes of each switch's 57); a process that
	 * fills its buffers loses its own events only. */
	status = lttng(NULL, "enable-channel", "--userspace", "--session", session->name,
	               "--buffers-pid", "--discard", subbuf, nsubbuf, CHANNEL, NULL);
	if (status == COSTACK_EXIT_OK)
		status = lttng(NULL, "enable-event", "--userspace", "--session", session->name,
		               "--channel", CHANNEL, EVENTS, config->time_ns ? filter : NULL, NULL);
	if (status == COSTACK_EXIT_OK)
		status = lttng(NULL, "add-context", "--userspace", "--session", session->name,
		               "--channel", CHANNEL, "--type=vtid", NULL);
	if (status == COSTACK_EXIT_OK)
		status = lttng(NULL, "start", session->name, NULL);
	if (status == COSTACK_EXIT_OK) {
		session->started = true;
		return status;
	}
	lttng(NULL, "destroy", session->name, NULL);
	session->created = false;
	lttngrc_restore(session->lttngrc);
	session->lttngrc = NULL;
	return status;
}

/* lttng's "Warning: ..." lines (events discarded), shown with what to do. */
static void show_warnings(const char *text)
{
	bool discarded = false;

	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");

		if (!strncmp(line, "Warning:", 8)) {
			fprintf(stderr, "costack record: lttng: %.*s\n", (int)len, line);
			discarded |= memmem(line, len, "discarded", 9) != NULL;
		}
		line += len + (line[len] == '\n');
	}
	if (discarded)
		fputs("costack record: the trace misses events: give the buffers more room "
		      "(--subbuf-size, --num-subbuf)\n",
		      stderr);
}

int session_end(struct record_session *session)
{
	char *text = NULL;
	int status = COSTACK_EXIT_OK;

	if (session->started) {
		/* Waits until every event is written to the trace. */
		status = lttng(&text, "stop", session->name, NULL);
		if (status == COSTACK_EXIT_OK)
			show_warnings(text);
		free(text);
		session->started = false;
	}
	if (session->created) {
		int destroyed = lttng(NULL, "destroy", session->name, NULL);

		if (status == COSTACK_EXIT_OK)
			status = destroyed;
		session->created = false;
		lttngrc_restore(session->lttngrc);
		session->lttngrc = NULL;
	}
	return status;
}
