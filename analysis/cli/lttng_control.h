/* SPDX-License-Identifier: MIT */
/* lttng_control.h - what costack record asks of LTTng: commands, a session, a shared daemon. */
#ifndef COSTACK_LTTNG_CONTROL_H
#define COSTACK_LTTNG_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Every call prints its own errors on stderr, prefixed "costack record: ",
 * with lttng's own output when a command failed, and returns a COSTACK_EXIT_*
 * status. Every lttng or lttng-sessiond it runs gets no input, no descriptor
 * of ours, and a process group of its own, so that a Ctrl-C meant for the
 * recorded program never interrupts it; its output is shown only on failure.
 */

/* The session daemon, started by the first record that needs one and
 * stopped by the last one out (lttng_control.c tells how). */
struct sessiond_use {
	int users_fd; /* held shared while this record uses the daemon; -1: none */
	bool others;  /* other records used it when this one started */
};

/* Make sure an LTTng session daemon is there for lttng(1), starting one if
 * none runs, and count this record among its users. The sessions of records
 * that are gone (killed: they could not destroy theirs) are destroyed, so
 * that the last record out can stop the daemon. */
int sessiond_acquire(struct sessiond_use *use);

/* This record no longer uses the daemon: the last record out stops the
 * daemon if a record started it and it has no recording session left. */
void sessiond_release(struct sessiond_use *use);

/* The recording session of one record, in the channel "costack". */
struct record_session {
	char name[64];
	bool created;
	bool started;
	char *lttngrc; /* the user's ~/.lttngrc before `lttng create` named ours current */
};

struct session_config {
	const char *output; /* the trace directory, absolute */
	unsigned long long subbuf_size;
	unsigned long long num_subbuf;
	/* Only the events of processes in this time namespace (its inode); 0: of every
	 * process of the user. */
	unsigned long long time_ns;
};

/* Create a session named after this process (costack-record-PID-STARTTIME)
 * writing into config->output, with the events costack's analysis reads
 * (costack:*, lttng_ust_statedump:*, lttng_ust_dl:*), of config->time_ns
 * only when it is not 0, and the contexts vpid, vtid and procname in a
 * channel of its own (per-user buffers, discard mode), and start it. On
 * failure, what was made is destroyed. */
int session_start(struct record_session *session, const struct session_config *config);

/* Stop the session, waiting until its data is written, and destroy it.
 * lttng's warnings (events discarded for a full buffer) are shown on stderr. */
int session_end(struct record_session *session);

#endif
