/* import_send: mytracks-import's batches and its requests on the plugin's control channel.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A batch holds up to N messages of one user and device, already escaped
 * as JSON strings, each with the file and line it came from. Sending it
 * publishes one "import" request (docs/control.md) on
 * <prefix>/req/<id>, waits for the answer on <prefix>/reply/<id>, sends
 * again what the plugin did not take when it was busy, and reports each
 * rejected message by its origin.
 */
#ifndef MYTRACKS_IMPORT_SEND_H
#define MYTRACKS_IMPORT_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"

#define IMP_MAX_MESSAGES 1000		 /* the plugin's limit for one request */
#define IMP_MAX_REQUEST ((4u << 20) - 1) /* under the plugin's 4 MiB */

/* Where a message came from. */
struct imp_origin {
	unsigned file; /* the caller's index of the file */
	long line;
};

struct imp_batch {
	char *user, *device; /* owned; NULL when empty */
	struct jbuf esc;     /* "m0","m1",...,  each followed by a comma */
	struct jbuf scratch;
	size_t *off; /* start of each message in esc */
	struct imp_origin *org;
	size_t n, alloc, max_n;
};

/* What every answer so far added up to. */
struct imp_totals {
	int64_t sent, stored, duplicates, events, ignored, rejected, busy_retries, requests;
};

/* The caller's view of what happens while a batch is sent; `arg` comes back. */
struct imp_report {
	/* The plugin rejected the message from `o` because of `why`. */
	void (*rejected)(void *arg, const struct imp_origin *o, const char *why);
	/* It rejected `count` more messages between `first` and `last`, not
	 * named in its answer (an answer names the first 20). */
	void (*unnamed)(void *arg, int64_t count, const struct imp_origin *first,
			const struct imp_origin *last);
	/* An answer arrived (totals updated). */
	void (*progress)(void *arg);
	void *arg;
};

/* Start an empty batch of at most max_n (1 to IMP_MAX_MESSAGES) messages. */
void imp_batch_init(struct imp_batch *b, size_t max_n);
void imp_batch_free(struct imp_batch *b);

/* Append a message for user/device. Returns 0 when added; 1 when it does
 * not fit (another device, the batch is full, or the request would reach
 * IMP_MAX_REQUEST): send the batch and add it again; -1 when it cannot
 * be sent even alone (too large) or out of memory. */
int imp_batch_add(struct imp_batch *b, const char *user, const char *device, const char *json,
		  size_t len, struct imp_origin o);

struct imp_conn_opts {
	const char *host;
	int port;
	const char *username, *password, *cafile;
	const char *prefix; /* plugin_opt_control_prefix */
	double timeout_s;   /* for connecting and for each answer */
};

struct imp_conn;

/* Connect to the broker and subscribe to this process's answers. Returns
 * the connection (free with imp_conn_close), or NULL with `err` set. */
struct imp_conn *imp_conn_open(const struct imp_conn_opts *o, char *err, size_t errlen);
void imp_conn_close(struct imp_conn *c);

/* Send the batch (and again what a busy plugin left), add the answers to
 * `t`, report through `r`, and empty the batch. Returns 0, or -1 with
 * `err` set when no answer came in time, the connection was lost, the
 * plugin refused the request or stayed busy: the batch is then left as it
 * was (its messages may or may not be stored). */
int imp_batch_send(struct imp_conn *c, struct imp_batch *b, struct imp_totals *t,
		   const struct imp_report *r, char *err, size_t errlen);

#endif
