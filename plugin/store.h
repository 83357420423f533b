/* store: the database (SQLite or PostgreSQL, see core/sqldb.h), written by
 * one worker thread in grouped commits.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The broker thread builds store_op records and hands them over with
 * store_submit(); the writer thread applies them in order inside one
 * transaction and commits when the commit window has passed (or at once
 * when the window is 0). If a write fails (locked, disk full, read-only),
 * the transaction is rolled back, its ops are kept and retried with backoff,
 * and new ops are buffered up to a bound. No function here logs: the broker
 * thread polls store_take_error() and the counters and logs on its tick
 * (mosquitto's log functions are not thread-safe).
 */
#ifndef MYTRACKS_STORE_H
#define MYTRACKS_STORE_H

#include "ot.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_op_kind {
	STORE_DEVICE_NEW,    /* id, s1 = user, s2 = device, received_at */
	STORE_LOCATION,	     /* id, device_id, loc, s1 = ip, raw, received_at */
	STORE_DEVICE_STATUS, /* device_id, online, received_at */
	STORE_DEVICE_CARD,   /* device_id, s1 = display name, s2 = tid */
	STORE_DEVICE_TOUCH,  /* device_id, received_at = last seen, s2 = tid */
	STORE_EVENT,	     /* id, device_id, s1 = _type, tst, raw, received_at */
	/* Control requests (control.h): applied in order with the rest, and
	 * handed back through store_take_acks() once committed. */
	STORE_MARK,   /* start counting inserted/duplicate locations for the next ACK */
	STORE_ACK,    /* nothing to write: the ops queued before it are committed;
			 s1, s2 and tst are the submitter's */
	STORE_DELETE, /* device_id, and: whole_device (its locations, events and
			 row), or id > 0 (that location), or the locations and
			 events with tst from `tst` to `until` (inclusive); s1, s2
			 and raw are the submitter's */
};

/* One owner's share of the write buffer (a user's, see users.h): at most
 * `max` of its ops may be buffered at once. The owner sets max and must
 * outlive every op it charged (free it after store_close()). */
struct store_quota {
	atomic_uint_fast64_t pending; /* charged ops not yet committed or dropped */
	uint64_t max;
};

struct store_op {
	struct store_op *next;
	struct store_quota *quota; /* charged for this op, or NULL */
	enum store_op_kind kind;
	int64_t id, device_id, tst, received_at;
	int online;
	struct ot_location loc; /* strings point into data[] */
	const char *s1, *s2, *raw;
	size_t raw_len;
	bool decrypted; /* raw is the plaintext of an encrypted report */
	bool skip;	/* the writer's: refused by the database, not written again */
	/* Shared writers (store_open): a location or event is submitted with
	 * id 0, and the writer takes its id in the transaction that commits
	 * it. An op with pub_rest set comes back through store_take_acks()
	 * once committed, if its row was new (not a duplicate), to be
	 * published then: `{"id":<id>,` + pub_rest on pub_topic. */
	const char *pub_topic, *pub_rest;
	bool stored; /* the writer's: its row was inserted (not a duplicate) */
	/* STORE_ACK and STORE_DELETE come back from store_take_acks() with
	 * what the writer did: rows deleted, or locations inserted and found
	 * already stored since the last STORE_MARK. */
	int64_t until;	   /* STORE_DELETE: the range's end */
	bool whole_device; /* STORE_DELETE: everything of the device */
	int64_t deleted, inserted, duplicate;
	void *ack_arg; /* the submitter's, untouched by the store */
	size_t data_used, data_size;
	char data[];
};

/* Allocate an op with room for `strings` bytes of copied strings.
 * NULL when out of memory. Free with free() if not submitted. */
struct store_op *store_op_new(enum store_op_kind kind, size_t strings);
/* Copy `len` bytes of `s` into the op's space (NUL added). NULL in gives
 * NULL out. The op must have been sized for it. */
const char *store_op_copy(struct store_op *op, const char *s, size_t len);
/* The same for a NUL-terminated string. */
const char *store_op_copy_str(struct store_op *op, const char *s);

struct store_counters {
	uint64_t committed_rows;   /* ops committed */
	uint64_t locations_stored; /* location rows inserted */
	uint64_t duplicates;	   /* rows the database already had */
	uint64_t commits;	   /* transactions committed */
	uint64_t write_errors;	   /* failed attempts (each retried) */
	uint64_t rejected_full;	   /* ops refused because the buffer was full */
	uint64_t rejected_share;   /* ops refused because their owner's share was full */
	uint64_t lost;		   /* ops given up at shutdown */
	uint64_t pending;	   /* ops buffered, not yet committed */
	uint64_t deleted;	   /* rows removed by STORE_DELETE */
	uint64_t purged;	   /* rows removed by the retention policy */
};

struct store;

/* Open (creating or migrating) the database and start the writer thread.
 * `path` is a SQLite file (opened in WAL mode) or a PostgreSQL connection
 * string (sqldb_kind_of()). On PostgreSQL one plugin writes at a time,
 * or, with `shared`, any number of plugins that all open it shared
 * (docs/scale-out.md): then the writer takes the ids of locations and
 * events, and devices get theirs from store_device_id(). `shared` needs
 * PostgreSQL. NULL on failure with `err` set (never holding a password). */
struct store *store_open(const char *path, int commit_window_ms, size_t buffer_max, bool shared,
			 char *err, size_t errlen);

/* Shared writers: the id of device user/device, its row inserted now if
 * no writer has (first seen `now`). Broker thread, one round trip; -1 when
 * the database cannot be reached (sqldb's reason in store_take_error()). */
int64_t store_device_id(struct store *s, const char *user, const char *device, int64_t now);

/* Was the store opened shared? */
bool store_shared(const struct store *s);

/* Stop the writer after it has committed everything it holds (retrying
 * for up to `give_up_ms` if the database cannot be written), then close.
 * The final counters are copied to `final` when it is not NULL. */
void store_close(struct store *s, int give_up_ms, struct store_counters *final);

enum store_submit_result {
	STORE_OK = 0,
	STORE_FULL = -1,       /* the whole buffer is full */
	STORE_SHARE_FULL = -2, /* the op's quota is used up */
};

/* Hand an op to the writer, charged to `quota` (may be NULL); the
 * control kinds (STORE_MARK, STORE_ACK, STORE_DELETE) are never refused
 * for a full buffer. Takes
 * ownership on STORE_OK: the caller must not touch the op again (the
 * writer thread may have freed it already). On a refusal the op stays
 * with the caller, who frees it. */
enum store_submit_result store_submit(struct store *s, struct store_op *op,
				      struct store_quota *quota);

/* Broker-thread reads at start (before any submit), on a separate
 * connection: every device is marked offline (not when shared: the other
 * brokers' phones are connected), `cb` is called once per stored device
 * (strings valid during the call only), then the largest ids in use are
 * set. 0, or -1 when the database cannot be read. */
typedef void (*store_device_cb)(void *arg, int64_t id, const char *user, const char *device,
				const char *display_name, bool online, int64_t max_tst);
int store_load(struct store *s, store_device_cb cb, void *arg, int64_t *max_location_id,
	       int64_t *max_event_id, int64_t *max_device_id);

/* Is (device_id, tst) already committed? Broker thread only. -1 on error. */
int store_location_exists(struct store *s, int64_t device_id, int64_t tst);

/* Is an event of this device, type and tst already committed? Broker
 * thread only. -1 on error. */
int store_event_exists(struct store *s, int64_t device_id, const char *type, int64_t tst);

/* Committed STORE_ACK and STORE_DELETE ops, and shared writers' new
 * locations and events to publish (pub_rest), oldest first (a list linked by
 * `next`, owned by the caller, who frees each with free()), or NULL. Any
 * thread; the broker thread polls it on its tick. */
struct store_op *store_take_acks(struct store *s);

/* Remove locations and events whose tst is more than `days` days old
 * (0: keep everything), at most `batch` rows per transaction between the
 * writer's other work, checked every `interval_s` seconds. Set once,
 * before the first submit. */
void store_set_retention(struct store *s, int days, int batch, int interval_s);

/* A snapshot of the counters; any thread. */
void store_counters(struct store *s, struct store_counters *out);

/* Copy out the newest write error not yet taken; false if none. */
bool store_take_error(struct store *s, char *buf, size_t len);

#endif
