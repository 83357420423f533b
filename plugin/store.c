/* store: the database (SQLite or PostgreSQL), written by one worker thread in grouped commits.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "store.h"

#include "sqldb.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char mytracks_schema_sql[];    /* generated from schema/schema.sql */
extern const char mytracks_schema_pg_sql[]; /* generated from schema/schema_pg.sql */
#define SCHEMA_VERSION 3
#define STR_(x) #x
#define STR(x) STR_(x) /* a number macro as a string literal */
#define LOCK_SCHEMA_STR STR(SQLDB_LOCK_SCHEMA)
#define WAKE_BATCH 2048 /* queued ops that wake a writer inside a window */

enum {
	ST_INS_DEVICE,
	ST_INS_LOCATION,
	ST_UPD_STATUS,
	ST_UPD_CARD,
	ST_UPD_TOUCH,
	ST_INS_EVENT,
	ST_DEL_LOC_ID,
	ST_DEL_LOC_RANGE,
	ST_DEL_EV_RANGE,
	ST_DEL_LOC_DEVICE,
	ST_DEL_EV_DEVICE,
	ST_DEL_DEVICE,
	ST_PURGE_LOC,
	ST_PURGE_EV,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT
};

/* SQL both engines read (sqldb.h); ST_BEGIN is the one that differs. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_INS_DEVICE] = "INSERT INTO devices(id, \"user\", device, first_seen, last_seen) "
			  "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT DO NOTHING",
	[ST_INS_LOCATION] =
		"INSERT INTO locations(id, device_id, tst, lat, lon, acc, alt, vel, "
		"batt, conn, tid, trig, cog, vac, bs, ssid, bssid, created_at, ip_address, "
		"received_at, raw, decrypted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) ON CONFLICT DO "
		"NOTHING",
	[ST_UPD_STATUS] = "UPDATE devices SET online = ?2, status_changed = ?3, last_seen = "
			  "CASE WHEN coalesce(last_seen, 0) > ?3 THEN last_seen ELSE ?3 END "
			  "WHERE id = ?1",
	[ST_UPD_CARD] =
		"UPDATE devices SET display_name = ?2, tid = coalesce(?3, tid) WHERE id = ?1",
	[ST_UPD_TOUCH] = "UPDATE devices SET last_seen = "
			 "CASE WHEN coalesce(last_seen, 0) > ?2 THEN last_seen ELSE ?2 END, "
			 "tid = coalesce(?3, tid) WHERE id = ?1",
	[ST_INS_EVENT] = "INSERT INTO events(id, device_id, type, tst, received_at, raw, "
			 "decrypted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
	[ST_DEL_LOC_ID] = "DELETE FROM locations WHERE device_id = ?1 AND id = ?2",
	[ST_DEL_LOC_RANGE] = "DELETE FROM locations WHERE device_id = ?1 AND tst BETWEEN ?2 AND ?3",
	[ST_DEL_EV_RANGE] = "DELETE FROM events WHERE device_id = ?1 AND tst BETWEEN ?2 AND ?3",
	[ST_DEL_LOC_DEVICE] = "DELETE FROM locations WHERE device_id = ?1",
	[ST_DEL_EV_DEVICE] = "DELETE FROM events WHERE device_id = ?1",
	[ST_DEL_DEVICE] = "DELETE FROM devices WHERE id = ?1",
	/* retention: the oldest rows first, a bounded batch (index on tst) */
	[ST_PURGE_LOC] = "DELETE FROM locations WHERE id IN "
			 "(SELECT id FROM locations WHERE tst < ?1 ORDER BY tst LIMIT ?2)",
	[ST_PURGE_EV] = "DELETE FROM events WHERE id IN "
			"(SELECT id FROM events WHERE tst < ?1 ORDER BY tst LIMIT ?2)",
	[ST_BEGIN] = "BEGIN IMMEDIATE", /* PostgreSQL: "BEGIN" */
	[ST_COMMIT] = "COMMIT",
};

struct store {
	struct sqldb *wdb; /* writer thread's connection */
	struct sqldb *rdb; /* broker thread's connection (reads) */
	struct sqldb_stmt *st[ST_COUNT];
	struct sqldb_stmt *exists;	 /* on rdb */
	struct sqldb_stmt *event_exists; /* on rdb */
	/* shared writers (PostgreSQL) */
	bool shared;
	struct sqldb_stmt *lock_ids, *max_ids; /* on wdb */
	struct sqldb_stmt *device_id;	       /* on rdb */
	int window_ms;
	size_t buffer_max;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store_op *head, **tail; /* submitted, not yet taken by the writer */
	size_t qlen;		       /* ops in that list */
	bool idle;		       /* the writer waits for work */
	bool sleeping;		       /* the writer sleeps out a commit window */
	bool stopping;
	int give_up_ms;
	char error[256]; /* newest error, under lock */
	bool error_new;

	atomic_uint_fast64_t pending; /* submitted and not yet committed or dropped */
	atomic_uint_fast64_t committed_rows, locations_stored, duplicates, commits;
	atomic_uint_fast64_t write_errors, rejected_full, rejected_share, lost;
	atomic_uint_fast64_t deleted, purged;

	/* committed STORE_ACK/STORE_DELETE ops for the broker thread, under lock */
	struct store_op *acks, **acks_tail;
	/* writer thread only: counters at the last STORE_MARK, and what the
	 * open transaction added (moved to the counters at its commit, dropped
	 * at a rollback, so a retried transaction counts once) */
	uint64_t mark_inserted, mark_duplicates;
	uint64_t txn_stored, txn_duplicates;
	/* retention (store_set_retention), read by the writer thread */
	int retention_days, retention_batch, retention_interval_s;
};

struct store_op *store_op_new(enum store_op_kind kind, size_t strings)
{
	struct store_op *op = malloc(sizeof(*op) + strings);

	if (!op)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->data_size = strings;
	op->loc.acc = op->loc.alt = op->loc.vel = op->loc.batt = OT_NONE;
	op->loc.cog = op->loc.vac = op->loc.bs = op->loc.created_at = OT_NONE;
	op->tst = OT_NONE;
	return op;
}

const char *store_op_copy(struct store_op *op, const char *s, size_t len)
{
	char *d;

	if (!s || op->data_used + len + 1 > op->data_size)
		return NULL;
	d = op->data + op->data_used;
	memcpy(d, s, len);
	d[len] = '\0';
	op->data_used += len + 1;
	return d;
}

const char *store_op_copy_str(struct store_op *op, const char *s)
{
	return s ? store_op_copy(op, s, strlen(s)) : NULL;
}

static void now_ts(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts); /* pthread_cond_timedwait's clock */
}

static void ts_add_ms(struct timespec *ts, int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool ts_reached(const struct timespec *deadline)
{
	struct timespec now;

	now_ts(&now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void set_error(struct store *s, const char *what, struct sqldb *db)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->error, sizeof(s->error), "%s: %s", what, db ? sqldb_errmsg(db) : "");
	s->error_new = true;
	pthread_mutex_unlock(&s->lock);
}

bool store_take_error(struct store *s, char *buf, size_t len)
{
	bool had;

	pthread_mutex_lock(&s->lock);
	had = s->error_new;
	if (had)
		snprintf(buf, len, "%s", s->error);
	s->error_new = false;
	pthread_mutex_unlock(&s->lock);
	return had;
}

void store_counters(struct store *s, struct store_counters *c)
{
	c->committed_rows = atomic_load(&s->committed_rows);
	c->locations_stored = atomic_load(&s->locations_stored);
	c->duplicates = atomic_load(&s->duplicates);
	c->commits = atomic_load(&s->commits);
	c->write_errors = atomic_load(&s->write_errors);
	c->rejected_full = atomic_load(&s->rejected_full);
	c->rejected_share = atomic_load(&s->rejected_share);
	c->lost = atomic_load(&s->lost);
	c->pending = atomic_load(&s->pending);
	c->deleted = atomic_load(&s->deleted);
	c->purged = atomic_load(&s->purged);
}

/* ---- writer thread ---- */

/* The bind helpers return SQLDB_DONE (0) or an error, like sqldb_bind_*. */
static int bind_opt_int(struct sqldb_stmt *st, int i, int64_t v)
{
	return v == OT_NONE ? sqldb_bind_null(st, i) : sqldb_bind_int64(st, i, v);
}

static int bind_text(struct sqldb_stmt *st, int i, const char *v)
{
	return sqldb_bind_text(st, i, v, -1);
}

/* Run statement `which` with up to three integer parameters (NULL: none
 * past the first) and add the rows it changed to *changed. */
static int run_delete(struct store *s, int which, int64_t a, const int64_t *b, const int64_t *c,
		      int64_t *changed)
{
	struct sqldb_stmt *st = s->st[which];
	int rc;

	if (sqldb_bind_int64(st, 1, a) != SQLDB_DONE ||
	    (b && sqldb_bind_int64(st, 2, *b) != SQLDB_DONE) ||
	    (c && sqldb_bind_int64(st, 3, *c) != SQLDB_DONE)) {
		sqldb_reset(st);
		return SQLDB_ERROR;
	}
	rc = sqldb_step(st);
	if (rc == SQLDB_DONE)
		*changed += sqldb_changes(st);
	sqldb_reset(st);
	return rc;
}

/* A STORE_DELETE: op->deleted is set again on every attempt (a rolled-back
 * transaction is applied again from the start). */
static int apply_delete(struct store *s, struct store_op *op)
{
	int64_t n = 0;
	int rc;

	if (op->whole_device) {
		rc = run_delete(s, ST_DEL_LOC_DEVICE, op->device_id, NULL, NULL, &n);
		if (rc == SQLDB_DONE)
			rc = run_delete(s, ST_DEL_EV_DEVICE, op->device_id, NULL, NULL, &n);
		if (rc == SQLDB_DONE) {
			int64_t rows = 0; /* the device's own row is not counted */

			rc = run_delete(s, ST_DEL_DEVICE, op->device_id, NULL, NULL, &rows);
		}
	} else if (op->id > 0) {
		rc = run_delete(s, ST_DEL_LOC_ID, op->device_id, &op->id, NULL, &n);
	} else {
		rc = run_delete(s, ST_DEL_LOC_RANGE, op->device_id, &op->tst, &op->until, &n);
		if (rc == SQLDB_DONE)
			rc = run_delete(s, ST_DEL_EV_RANGE, op->device_id, &op->tst, &op->until,
					&n);
	}
	op->deleted = n;
	return rc;
}

/* Apply one op. SQLDB_DONE on success (or a row that is already there). */
/* Bind the row `op` writes to its statement. NULL when `op` is not a row
 * write (control ops, deletes); *bad when a value would not bind. */
static struct sqldb_stmt *bind_row(struct store *s, const struct store_op *op, bool *bad)
{
	const struct ot_location *l = &op->loc;
	struct sqldb_stmt *st;
	int b = 0; /* any bind that failed (SQLDB_DONE is 0) */

	switch (op->kind) {
	case STORE_DEVICE_NEW:
		st = s->st[ST_INS_DEVICE];
		b |= sqldb_bind_int64(st, 1, op->id);
		b |= bind_text(st, 2, op->s1);
		b |= bind_text(st, 3, op->s2);
		b |= sqldb_bind_int64(st, 4, op->received_at);
		break;
	case STORE_LOCATION:
		st = s->st[ST_INS_LOCATION];
		b |= sqldb_bind_int64(st, 1, op->id);
		b |= sqldb_bind_int64(st, 2, op->device_id);
		b |= sqldb_bind_int64(st, 3, l->tst);
		b |= sqldb_bind_double(st, 4, l->lat);
		b |= sqldb_bind_double(st, 5, l->lon);
		b |= bind_opt_int(st, 6, l->acc);
		b |= bind_opt_int(st, 7, l->alt);
		b |= bind_opt_int(st, 8, l->vel);
		b |= bind_opt_int(st, 9, l->batt);
		b |= bind_text(st, 10, l->conn);
		b |= bind_text(st, 11, l->tid);
		b |= bind_text(st, 12, l->trigger);
		b |= bind_opt_int(st, 13, l->cog);
		b |= bind_opt_int(st, 14, l->vac);
		b |= bind_opt_int(st, 15, l->bs);
		b |= bind_text(st, 16, l->ssid);
		b |= bind_text(st, 17, l->bssid);
		b |= bind_opt_int(st, 18, l->created_at);
		b |= bind_text(st, 19, op->s1);
		b |= sqldb_bind_int64(st, 20, op->received_at);
		b |= sqldb_bind_text(st, 21, op->raw, (int)op->raw_len);
		b |= sqldb_bind_int64(st, 22, op->decrypted);
		break;
	case STORE_DEVICE_STATUS:
		st = s->st[ST_UPD_STATUS];
		b |= sqldb_bind_int64(st, 1, op->device_id);
		b |= sqldb_bind_int64(st, 2, op->online);
		b |= sqldb_bind_int64(st, 3, op->received_at);
		break;
	case STORE_DEVICE_CARD:
		st = s->st[ST_UPD_CARD];
		b |= sqldb_bind_int64(st, 1, op->device_id);
		b |= bind_text(st, 2, op->s1);
		b |= bind_text(st, 3, op->s2);
		break;
	case STORE_DEVICE_TOUCH:
		st = s->st[ST_UPD_TOUCH];
		b |= sqldb_bind_int64(st, 1, op->device_id);
		b |= sqldb_bind_int64(st, 2, op->received_at);
		b |= bind_text(st, 3, op->s2);
		break;
	case STORE_EVENT:
		st = s->st[ST_INS_EVENT];
		b |= sqldb_bind_int64(st, 1, op->id);
		b |= sqldb_bind_int64(st, 2, op->device_id);
		b |= bind_text(st, 3, op->s1);
		b |= bind_opt_int(st, 4, op->tst);
		b |= sqldb_bind_int64(st, 5, op->received_at);
		b |= sqldb_bind_text(st, 6, op->raw, (int)op->raw_len);
		b |= sqldb_bind_int64(st, 7, op->decrypted);
		break;
	default:
		return NULL;
	}
	*bad = b != 0;
	return st;
}

/* A value the engine will not take is about this row alone: the row is
 * skipped, counted and logged as a write error, rather than retried
 * forever. */
static void bind_failed(struct store *s, struct sqldb_stmt *st)
{
	atomic_fetch_add(&s->write_errors, 1);
	set_error(s, "bind a row's values (row skipped)", s->wdb);
	sqldb_reset(st);
}

/* Count a row write's outcome `rc` (`changes` rows changed); the rc to go
 * on with. */
static int row_done(struct store *s, struct store_op *op, int rc, int64_t changes)
{
	if (rc == SQLDB_DONE && (op->kind == STORE_LOCATION || op->kind == STORE_EVENT))
		op->stored = changes > 0;
	if (rc == SQLDB_DONE && op->kind == STORE_LOCATION) {
		if (changes == 0)
			s->txn_duplicates++;
		else
			s->txn_stored++;
	}
	/* A constraint failure is about this row alone: SQLite skips it and
	 * goes on; PostgreSQL has aborted the transaction, so the op is
	 * marked and the batch is written again without it. */
	if (rc == SQLDB_CONSTRAINT) {
		if (sqldb_kind(s->wdb) == SQLDB_SQLITE) {
			s->txn_duplicates++;
			return SQLDB_DONE;
		}
		op->skip = true; /* counted when the transaction without it commits */
	}
	return rc;
}

static int apply(struct store *s, struct store_op *op)
{
	struct sqldb_stmt *st;
	bool bad = false;
	int rc;

	if (op->skip) {
		s->txn_duplicates++; /* refused by PostgreSQL in an earlier attempt */
		return SQLDB_DONE;
	}
	switch (op->kind) {
	case STORE_MARK:
		s->mark_inserted = atomic_load(&s->locations_stored) + s->txn_stored;
		s->mark_duplicates = atomic_load(&s->duplicates) + s->txn_duplicates;
		return SQLDB_DONE;
	case STORE_ACK:
		op->inserted = (int64_t)(atomic_load(&s->locations_stored) + s->txn_stored -
					 s->mark_inserted);
		op->duplicate = (int64_t)(atomic_load(&s->duplicates) + s->txn_duplicates -
					  s->mark_duplicates);
		return SQLDB_DONE;
	case STORE_DELETE:
		return apply_delete(s, op);
	default:
		break;
	}
	st = bind_row(s, op, &bad);
	if (!st)
		return SQLDB_ERROR;
	if (bad) {
		bind_failed(s, st);
		return SQLDB_DONE;
	}
	rc = sqldb_step(st);
	rc = row_done(s, op, rc, rc == SQLDB_DONE ? sqldb_changes(st) : 0);
	sqldb_reset(st); /* every parameter is bound again next time */
	return rc;
}

struct writer {
	struct store *s;
	struct store_op *done, **done_tail; /* applied, not committed */
	struct store_op *held, **held_tail; /* shared: taken, written when the window closes */
	struct timespec deadline;	    /* the open transaction's commit time */
	struct timespec stop_deadline;	    /* when stopping: give up writing after */
	struct timespec retry_at;	    /* after a failure: try again at */
	struct timespec purge_at;	    /* the next retention batch */
	bool in_txn, stopping, have_stop_deadline, retrying, purging;
	int backoff_ms;
};

/* PostgreSQL: row writes go through a pipeline, up to PIPE_MAX a round
 * trip, instead of one round trip each (docs/bench.md has the numbers). */
#define PIPE_MAX 256

static bool pipelinable(const struct store_op *op)
{
	return !op->skip && op->kind != STORE_MARK && op->kind != STORE_ACK &&
	       op->kind != STORE_DELETE;
}

/* Write the row ops at the front of `*batch` (up to PIPE_MAX) in one
 * pipeline inside the open transaction. On success they move to w->done;
 * on failure *batch is unchanged and the caller rolls back and requeues
 * (a failed statement aborts the transaction). */
static int apply_pipelined(struct writer *w, struct store_op **batch)
{
	static const int row_stmts[] = {ST_INS_DEVICE, ST_INS_LOCATION, ST_UPD_STATUS,
					ST_UPD_CARD,   ST_UPD_TOUCH,	ST_INS_EVENT};
	struct store *s = w->s;
	struct store_op *first = *batch, *end, *op;
	bool sent[PIPE_MAX];
	int rc = SQLDB_DONE, n = 0, k;

	for (size_t i = 0; i < sizeof(row_stmts) / sizeof(row_stmts[0]); i++) {
		rc = sqldb_ready(s->st[row_stmts[i]]);
		if (rc != SQLDB_DONE)
			return rc;
	}
	rc = sqldb_pipeline_begin(s->wdb);
	for (op = first; rc == SQLDB_DONE && op && pipelinable(op) && n < PIPE_MAX;
	     op = op->next, n++) {
		bool bad = false;
		struct sqldb_stmt *st = bind_row(s, op, &bad);

		sent[n] = !bad;
		if (bad) {
			bind_failed(s, st);
			continue;
		}
		rc = sqldb_send(st);
		sqldb_reset(st);
	}
	end = op;
	if (rc == SQLDB_DONE)
		rc = sqldb_pipeline_sync(s->wdb);
	for (op = first, k = 0; rc == SQLDB_DONE && op != end; op = op->next, k++) {
		int64_t changes;

		if (!sent[k])
			continue;
		/* two statements: the answer must be read before `changes` */
		rc = sqldb_pipeline_result(s->wdb, &changes);
		rc = row_done(s, op, rc, changes);
	}
	/* after a failure, the later rows' answers are read (and dropped) */
	sqldb_pipeline_end(s->wdb);
	if (rc != SQLDB_DONE)
		return rc;
	for (op = first; op != end; op = op->next) {
		*w->done_tail = op;
		w->done_tail = &op->next;
	}
	*batch = end;
	return SQLDB_DONE;
}

static int exec_simple(struct store *s, int which)
{
	int rc = sqldb_step(s->st[which]);

	sqldb_reset(s->st[which]);
	return rc;
}

/* Ops leave the buffer (committed, given up, or never written at close):
 * give their owner's share back. */
static void free_list(struct store_op *op)
{
	while (op) {
		struct store_op *next = op->next;

		if (op->quota)
			atomic_fetch_sub(&op->quota->pending, 1);
		free(op);
		op = next;
	}
}

/* A transaction committed: STORE_ACK and STORE_DELETE ops, and new rows
 * to publish (shared writers), go to the broker thread (store_take_acks);
 * the rest are freed. */
static void finish_committed(struct store *s, struct store_op *op)
{
	struct store_op *keep = NULL, **keep_tail = &keep;

	while (op) {
		struct store_op *next = op->next;

		if (op->kind == STORE_ACK || op->kind == STORE_DELETE ||
		    (op->pub_rest && op->stored)) {
			if (op->quota)
				atomic_fetch_sub(&op->quota->pending, 1);
			op->quota = NULL;
			if (op->kind == STORE_DELETE)
				atomic_fetch_add(&s->deleted, (uint64_t)op->deleted);
			op->next = NULL;
			*keep_tail = op;
			keep_tail = &op->next;
		} else {
			op->next = NULL;
			free_list(op);
		}
		op = next;
	}
	if (!keep)
		return;
	pthread_mutex_lock(&s->lock);
	*s->acks_tail = keep;
	s->acks_tail = keep_tail;
	pthread_mutex_unlock(&s->lock);
}

struct store_op *store_take_acks(struct store *s)
{
	struct store_op *list;

	pthread_mutex_lock(&s->lock);
	list = s->acks;
	s->acks = NULL;
	s->acks_tail = &s->acks;
	pthread_mutex_unlock(&s->lock);
	return list;
}

void store_set_retention(struct store *s, int days, int batch, int interval_s)
{
	pthread_mutex_lock(&s->lock);
	s->retention_days = days;
	s->retention_batch = batch > 0 ? batch : 1000;
	s->retention_interval_s = interval_s > 0 ? interval_s : 60;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* One retention batch in its own transaction: at most retention_batch
 * locations and as many events older than the cut-off. Returns the rows
 * removed, or -1 after a failure (logged through set_error; the next try
 * is at the next interval). */
static int64_t purge_batch(struct store *s)
{
	int64_t cutoff = (int64_t)time(NULL) - (int64_t)s->retention_days * 86400, n = 0;
	int64_t limit = s->retention_batch;
	int rc = exec_simple(s, ST_BEGIN);

	if (rc == SQLDB_DONE)
		rc = run_delete(s, ST_PURGE_LOC, cutoff, &limit, NULL, &n);
	if (rc == SQLDB_DONE)
		rc = run_delete(s, ST_PURGE_EV, cutoff, &limit, NULL, &n);
	if (rc == SQLDB_DONE)
		rc = exec_simple(s, ST_COMMIT);
	if (rc != SQLDB_DONE) {
		atomic_fetch_add(&s->write_errors, 1);
		set_error(s, "retention", s->wdb);
		if (sqldb_in_txn(s->wdb))
			sqldb_exec(s->wdb, "ROLLBACK");
		return -1;
	}
	atomic_fetch_add(&s->purged, (uint64_t)n);
	return n;
}

static size_t list_len(const struct store_op *op)
{
	size_t n = 0;

	for (; op; op = op->next)
		n++;
	return n;
}

/* Put a list back at the front of the queue (after a failed transaction). */
static void requeue_front(struct store *s, struct store_op *list)
{
	struct store_op *last;
	size_t n = 1;

	if (!list)
		return;
	for (last = list; last->next; last = last->next)
		n++;
	pthread_mutex_lock(&s->lock);
	s->qlen += n;
	last->next = s->head;
	if (!s->head)
		s->tail = &last->next;
	s->head = list;
	pthread_mutex_unlock(&s->lock);
}

/* The writer thread's own state between its steps. */

static void take_stop_deadline(struct writer *w)
{
	if (w->stopping && !w->have_stop_deadline) {
		now_ts(&w->stop_deadline);
		ts_add_ms(&w->stop_deadline, w->s->give_up_ms);
		w->have_stop_deadline = true;
	}
}

/* With the lock held: wait until there is something to do (ops, a commit
 * due, a retry, a retention batch, or stopping), then take the queue.
 * Returns the ops taken, oldest first, or NULL. */
static struct store_op *wait_for_work(struct writer *w)
{
	struct store *s = w->s;
	struct store_op *batch;

	for (;;) {
		w->stopping = s->stopping;
		w->purging = s->retention_days > 0;
		take_stop_deadline(w);
		if (w->retrying) {
			/* after a failure: wait for the retry time, sooner when stopping */
			if (w->stopping) {
				struct timespec soon;

				now_ts(&soon);
				ts_add_ms(&soon, 50);
				if (soon.tv_sec < w->retry_at.tv_sec ||
				    (soon.tv_sec == w->retry_at.tv_sec &&
				     soon.tv_nsec < w->retry_at.tv_nsec))
					w->retry_at = soon;
			}
			if (ts_reached(&w->retry_at))
				break;
			pthread_cond_timedwait(&s->cond, &s->lock, &w->retry_at);
			continue;
		}
		if ((w->in_txn || w->held) && !w->stopping) {
			/* inside a transaction: sleep until the window closes, not
			 * woken by every new row, unless the queue grows big */
			if (ts_reached(&w->deadline) || s->qlen >= WAKE_BATCH)
				break;
			s->sleeping = true;
			pthread_cond_timedwait(&s->cond, &s->lock, &w->deadline);
			s->sleeping = false;
			continue;
		}
		if (s->head || w->stopping || (w->purging && ts_reached(&w->purge_at)))
			break;
		s->idle = true;
		if (w->purging)
			pthread_cond_timedwait(&s->cond, &s->lock, &w->purge_at);
		else
			pthread_cond_wait(&s->cond, &s->lock);
		s->idle = false;
	}
	w->retrying = false;
	batch = s->head;
	s->head = NULL;
	s->tail = &s->head;
	s->qlen = 0;
	return batch;
}

/* Apply `*batch` in the open transaction. Applied ops move to w->done; on
 * failure *batch holds the rest and `*what` names the step. */
static int apply_ops(struct writer *w, struct store_op **batch, const char **what)
{
	bool pipelined = sqldb_kind(w->s->wdb) == SQLDB_POSTGRES;
	int rc;

	while (*batch) {
		struct store_op *op = *batch;

		if (pipelined && pipelinable(op)) {
			rc = apply_pipelined(w, batch);
			if (rc != SQLDB_DONE) {
				*what = "write";
				return rc;
			}
			continue;
		}
		rc = apply(w->s, op);
		if (rc != SQLDB_DONE) {
			*what = "write";
			return rc;
		}
		*batch = op->next;
		op->next = NULL;
		*w->done_tail = op;
		w->done_tail = &op->next;
	}
	return SQLDB_DONE;
}

static int begin(struct writer *w, const char **what)
{
	int rc = exec_simple(w->s, ST_BEGIN);

	if (rc != SQLDB_DONE) {
		*what = "begin transaction";
		return rc;
	}
	w->in_txn = true;
	return SQLDB_DONE;
}

static void start_window(struct writer *w)
{
	now_ts(&w->deadline);
	ts_add_ms(&w->deadline, w->s->window_ms);
}

/* Apply `*batch` inside the open transaction (opening one if needed), as
 * apply_ops(). Shared writers only hold the ops until the window closes
 * (write_held()). SQLDB_DONE when all went in. */
static int apply_batch(struct writer *w, struct store_op **batch, const char **what)
{
	int rc;

	if (!*batch)
		return SQLDB_DONE;
	if (w->s->shared) {
		if (!w->held)
			start_window(w);
		*w->held_tail = *batch;
		while (*w->held_tail)
			w->held_tail = &(*w->held_tail)->next;
		*batch = NULL;
		return SQLDB_DONE;
	}
	if (!w->in_txn) {
		rc = begin(w, what);
		if (rc != SQLDB_DONE)
			return rc;
		start_window(w);
	}
	return apply_ops(w, batch, what);
}

static bool window_closed(const struct writer *w)
{
	return w->s->window_ms == 0 || w->stopping || ts_reached(&w->deadline);
}

/* Step `st` for one row: SQLDB_DONE when it has one (the caller reads it,
 * then resets), else the error (no row is an error). */
static int step_row(struct sqldb_stmt *st)
{
	int rc = sqldb_step(st);

	if (rc == SQLDB_DONE)
		rc = SQLDB_ERROR; /* no row */
	else if (rc == SQLDB_ROW)
		rc = SQLDB_DONE;
	return rc;
}

/* Shared writers, at the end of the window: one transaction that takes
 * the id lock, reads the largest ids, numbers the held locations and
 * events after them and writes everything. The lock is held until the
 * commit is visible, so the committed ids of all writers are always a
 * prefix of all ids (docs/scale-out.md has the argument). On failure the
 * ops not yet applied stay held, in order. */
static int write_held(struct writer *w, const char **what)
{
	struct store *s = w->s;
	struct store_op *batch, *op;
	int64_t loc_id, ev_id;
	int rc;

	if (!w->held || !window_closed(w))
		return SQLDB_DONE;
	rc = begin(w, what);
	if (rc != SQLDB_DONE)
		return rc;
	*what = "take the id lock";
	rc = step_row(s->lock_ids);
	sqldb_reset(s->lock_ids);
	if (rc != SQLDB_DONE)
		return rc;
	*what = "read the largest ids";
	rc = step_row(s->max_ids);
	if (rc == SQLDB_DONE) {
		loc_id = sqldb_col_int64(s->max_ids, 0);
		ev_id = sqldb_col_int64(s->max_ids, 1);
	}
	sqldb_reset(s->max_ids);
	if (rc != SQLDB_DONE)
		return rc;
	for (op = w->held; op; op = op->next) {
		if (op->kind == STORE_LOCATION)
			op->id = ++loc_id;
		else if (op->kind == STORE_EVENT)
			op->id = ++ev_id;
	}
	batch = w->held;
	w->held = NULL;
	w->held_tail = &w->held;
	rc = apply_ops(w, &batch, what);
	if (rc != SQLDB_DONE) {
		w->held = batch;
		while (*w->held_tail)
			w->held_tail = &(*w->held_tail)->next;
	}
	return rc;
}

/* Commit when the window has passed (at once with a window of 0, or when
 * stopping). SQLDB_DONE when committed or not due yet. */
static int commit_if_due(struct writer *w, const char **what)
{
	struct store *s = w->s;
	size_t n;
	int rc;

	if (s->shared) {
		rc = write_held(w, what);
		if (rc != SQLDB_DONE)
			return rc;
	}
	if (!w->in_txn || !window_closed(w))
		return SQLDB_DONE;
	n = list_len(w->done);
	rc = exec_simple(s, ST_COMMIT);
	if (rc != SQLDB_DONE) {
		*what = "commit";
		return rc;
	}
	w->in_txn = false;
	atomic_fetch_add(&s->locations_stored, s->txn_stored);
	atomic_fetch_add(&s->duplicates, s->txn_duplicates);
	s->txn_stored = s->txn_duplicates = 0;
	atomic_fetch_add(&s->commits, 1);
	atomic_fetch_add(&s->committed_rows, n);
	atomic_fetch_sub(&s->pending, n);
	finish_committed(s, w->done);
	w->done = NULL;
	w->done_tail = &w->done;
	w->backoff_ms = 0;
	return SQLDB_DONE;
}

/* Retention between transactions: a full batch means more is due, taken
 * after the next transaction (ingestion goes first). */
static void purge_if_due(struct writer *w)
{
	int64_t n;

	if (!w->purging || w->in_txn || w->held || w->stopping || !ts_reached(&w->purge_at))
		return;
	n = purge_batch(w->s);
	now_ts(&w->purge_at);
	if (n < (int64_t)w->s->retention_batch)
		ts_add_ms(&w->purge_at, w->s->retention_interval_s * 1000);
}

/* A write failed: roll back, put everything of the transaction (and the
 * rest of the batch) back at the front of the queue in order, and retry
 * after a backoff (100 ms doubling to 5 s). */
static void fail_and_requeue(struct writer *w, struct store_op *rest, const char *what)
{
	struct store *s = w->s;

	atomic_fetch_add(&s->write_errors, 1);
	set_error(s, what, s->wdb);
	if (w->in_txn)
		sqldb_exec(s->wdb, "ROLLBACK");
	w->in_txn = false;
	s->txn_stored = s->txn_duplicates = 0; /* counted again on the retry */
	/* in order: applied and rolled back, held (shared), the batch's rest */
	*w->done_tail = w->held;
	if (w->held)
		w->done_tail = w->held_tail;
	*w->done_tail = rest;
	w->held = NULL;
	w->held_tail = &w->held;
	requeue_front(s, w->done);
	w->done = NULL;
	w->done_tail = &w->done;
	w->backoff_ms = w->backoff_ms ? (w->backoff_ms * 2 > 5000 ? 5000 : w->backoff_ms * 2) : 100;
	now_ts(&w->retry_at);
	ts_add_ms(&w->retry_at, w->backoff_ms);
	w->retrying = true;
}

/* Stopping and past the give-up time: what is still queued is lost
 * (counted; the plugin logs it at shutdown). */
static void drop_queue(struct store *s)
{
	struct store_op *rest;
	size_t n;

	pthread_mutex_lock(&s->lock);
	rest = s->head;
	s->head = NULL;
	s->tail = &s->head;
	s->qlen = 0;
	pthread_mutex_unlock(&s->lock);
	n = list_len(rest);
	atomic_fetch_add(&s->lost, n);
	atomic_fetch_sub(&s->pending, n);
	free_list(rest);
}

static bool queue_empty(struct store *s)
{
	bool empty;

	pthread_mutex_lock(&s->lock);
	empty = s->head == NULL;
	pthread_mutex_unlock(&s->lock);
	return empty;
}

static void *writer_main(void *arg)
{
	struct writer w = {.s = arg};

	w.done_tail = &w.done;
	w.held_tail = &w.held;
	now_ts(&w.purge_at); /* the first retention batch at start */
	for (;;) {
		struct store_op *batch;
		const char *what = NULL;

		pthread_mutex_lock(&w.s->lock);
		batch = wait_for_work(&w);
		pthread_mutex_unlock(&w.s->lock);
		if (apply_batch(&w, &batch, &what) != SQLDB_DONE ||
		    commit_if_due(&w, &what) != SQLDB_DONE) {
			fail_and_requeue(&w, batch, what);
			if (w.stopping && ts_reached(&w.stop_deadline)) {
				drop_queue(w.s);
				break;
			}
			continue;
		}
		purge_if_due(&w);
		if (w.stopping && !w.in_txn && !w.held && queue_empty(w.s))
			break;
	}
	return NULL;
}

enum store_submit_result store_submit(struct store *s, struct store_op *op,
				      struct store_quota *quota)
{
	/* Control ops are always taken: a request makes at most two, and
	 * only the trusted client sends requests. */
	bool control = op->kind == STORE_MARK || op->kind == STORE_ACK || op->kind == STORE_DELETE;

	if (!control && atomic_load(&s->pending) >= s->buffer_max) {
		atomic_fetch_add(&s->rejected_full, 1);
		return STORE_FULL;
	}
	if (quota && atomic_load(&quota->pending) >= quota->max) {
		atomic_fetch_add(&s->rejected_share, 1);
		return STORE_SHARE_FULL;
	}
	op->next = NULL;
	op->quota = quota;
	if (quota)
		atomic_fetch_add(&quota->pending, 1);
	atomic_fetch_add(&s->pending, 1);
	pthread_mutex_lock(&s->lock);
	*s->tail = op;
	s->tail = &op->next;
	s->qlen++;
	/* Wake the writer only when it waits for work, or when it sleeps out
	 * a commit window and the queue has grown big: one wake per batch. */
	if (s->idle || (s->sleeping && s->qlen == WAKE_BATCH))
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return STORE_OK;
}

/* ---- opening, schema, loading ---- */

static int exec_or_fail(struct sqldb *db, const char *sql, const char *what, char *err,
			size_t errlen)
{
	if (sqldb_exec(db, sql) != SQLDB_DONE) {
		snprintf(err, errlen, "%s: %s", what, sqldb_errmsg(db));
		return -1;
	}
	return 0;
}

/* The first column of the first row of `sql` as an integer, or `dflt`
 * when there is no row; -1 on error. */
static int64_t query_int(struct sqldb *db, const char *sql, int64_t dflt)
{
	struct sqldb_stmt *st = sqldb_prepare(db, sql);
	int64_t v = -1;
	int rc;

	if (!st)
		return -1;
	rc = sqldb_step(st);
	if (rc == SQLDB_ROW)
		v = sqldb_col_int64(st, 0);
	else if (rc == SQLDB_DONE)
		v = dflt;
	sqldb_finalize(st);
	return v;
}

/* Create the SQLite schema, or migrate an older one. Future migrations go
 * in the switch, each moving user_version one step up inside the
 * transaction. */
static int migrate_sqlite(struct sqldb *db, char *err, size_t errlen)
{
	int64_t v;

	if (exec_or_fail(db, "BEGIN IMMEDIATE", "begin schema transaction", err, errlen))
		return -1;
	v = query_int(db, "PRAGMA user_version", 0);
	if (v < 0 || v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %lld is not supported (want <= %d)",
			 (long long)v, SCHEMA_VERSION);
		goto fail;
	}
	if (v == 0) {
		if (exec_or_fail(db, mytracks_schema_sql, "create schema", err, errlen))
			goto fail;
		if (exec_or_fail(db, "PRAGMA user_version = 1", "set schema version", err, errlen))
			goto fail;
		v = 1;
	}
	if (v == 1) {
		/* 2: which rows were decrypted (raw is then the plaintext) */
		if (exec_or_fail(
			    db,
			    "ALTER TABLE locations ADD COLUMN decrypted INTEGER NOT NULL DEFAULT 0;"
			    "ALTER TABLE events ADD COLUMN decrypted INTEGER NOT NULL DEFAULT 0;"
			    "PRAGMA user_version = 2",
			    "migrate schema to version 2", err, errlen))
			goto fail;
		v = 2;
	}
	if (v == 2) {
		/* 3: time ranges across devices and retention by age */
		if (exec_or_fail(db,
				 "CREATE INDEX IF NOT EXISTS locations_tst ON locations(tst);"
				 "CREATE INDEX IF NOT EXISTS events_tst ON events(tst);"
				 "PRAGMA user_version = 3",
				 "migrate schema to version 3", err, errlen))
			goto fail;
	}
	return exec_or_fail(db, "COMMIT", "commit schema", err, errlen);
fail:
	sqldb_exec(db, "ROLLBACK");
	return -1;
}

/* The same for PostgreSQL: schema/schema_pg.sql starts at version 3. Two
 * plugins starting at once on a new database are serialized by a
 * transaction-level advisory lock. */
static int migrate_pg(struct sqldb *db, char *err, size_t errlen)
{
	int64_t v;

	if (exec_or_fail(db, "BEGIN; SELECT pg_advisory_xact_lock(" STR(SQLDB_LOCK_SCHEMA) ")",
			 "begin schema transaction", err, errlen))
		return -1;
	v = query_int(db, "SELECT (to_regclass('mytracks_schema') IS NOT NULL)::int", 0);
	if (v == 1)
		v = query_int(db, "SELECT max(version) FROM mytracks_schema", -1);
	if (v < 0 || v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %lld is not supported (want <= %d)",
			 (long long)v, SCHEMA_VERSION);
		goto fail;
	}
	if (v == 0 && exec_or_fail(db, mytracks_schema_pg_sql, "create schema", err, errlen))
		goto fail;
	return exec_or_fail(db, "COMMIT", "commit schema", err, errlen);
fail:
	sqldb_exec(db, "ROLLBACK");
	return -1;
}

static struct sqldb_stmt *prepare_or_fail(struct sqldb *db, const char *sql, char *err,
					  size_t errlen)
{
	struct sqldb_stmt *st = sqldb_prepare(db, sql);

	if (!st)
		snprintf(err, errlen, "prepare statement: %s", sqldb_errmsg(db));
	return st;
}

/* PostgreSQL takes one writer, or any number of shared writers: a second
 * plugin that is not shared would hand out the same ids (they are then
 * assigned by the broker thread from the largest in use). The
 * session-level advisory lock (exclusive, or shared) is released when the
 * connection closes, and taken again by sqldb on a new connection before
 * anything is written. */
static int claim_pg_writer(struct sqldb *db, bool shared, char *err, size_t errlen)
{
	int rc = sqldb_hold_lock(db, SQLDB_LOCK_WRITER, shared);

	if (rc < 0)
		snprintf(err, errlen, "take the writer lock: %s", sqldb_errmsg(db));
	else if (rc > 0)
		snprintf(err, errlen,
			 shared ? "a mytracks plugin without plugin_opt_shared_writers (or "
				  "mytracks-migrate) is writing to this PostgreSQL database"
				: "another mytracks plugin is already writing to this PostgreSQL "
				  "database (one writer per database, unless every plugin has "
				  "plugin_opt_shared_writers true)");
	return rc == 0 ? 0 : -1;
}

/* Shared writers: device ids come from a sequence, brought up to the
 * largest id in use (a single writer may have added devices since). */
static int prepare_shared(struct store *s, char *err, size_t errlen)
{
	/* an unused sequence is left alone: its first id is 1 */
	static const char seq_sql[] =
		"BEGIN; SELECT pg_advisory_xact_lock(" LOCK_SCHEMA_STR ");"
		"CREATE SEQUENCE IF NOT EXISTS mytracks_device_ids;"
		"SELECT setval('mytracks_device_ids', n) FROM (SELECT greatest("
		"(SELECT coalesce(max(id), 0) FROM devices), "
		"(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM mytracks_device_ids)"
		") AS n) AS t WHERE n > 0;"
		"COMMIT";

	if (exec_or_fail(s->wdb, seq_sql, "set up the device id sequence", err, errlen))
		return -1;
	s->lock_ids = prepare_or_fail(
		s->wdb, "SELECT pg_advisory_xact_lock(" STR(SQLDB_LOCK_IDS) ")", err, errlen);
	s->max_ids = prepare_or_fail(s->wdb,
				     "SELECT (SELECT coalesce(max(id), 0) FROM locations), "
				     "(SELECT coalesce(max(id), 0) FROM events)",
				     err, errlen);
	s->device_id = prepare_or_fail(
		s->rdb,
		"INSERT INTO devices(id, \"user\", device, first_seen, last_seen) VALUES "
		"(nextval('mytracks_device_ids'), ?1, ?2, ?3, ?3) ON CONFLICT (\"user\", device) "
		"DO UPDATE SET device = excluded.device RETURNING id",
		err, errlen);
	return s->lock_ids && s->max_ids && s->device_id ? 0 : -1;
}

int64_t store_device_id(struct store *s, const char *user, const char *device, int64_t now)
{
	struct sqldb_stmt *st = s->device_id;
	int64_t id = -1;

	/* A second try: the first use of a connection PostgreSQL has dropped
	 * (a restart) fails, and sqldb connects again on the next. */
	for (int attempt = 0; attempt < 2 && id < 0; attempt++) {
		if (sqldb_bind_text(st, 1, user, -1) == SQLDB_DONE &&
		    sqldb_bind_text(st, 2, device, -1) == SQLDB_DONE &&
		    sqldb_bind_int64(st, 3, now) == SQLDB_DONE && step_row(st) == SQLDB_DONE)
			id = sqldb_col_int64(st, 0);
		sqldb_reset(st);
	}
	if (id < 0)
		set_error(s, "add a device", s->rdb);
	return id;
}

bool store_shared(const struct store *s)
{
	return s->shared;
}

struct store *store_open(const char *path, int commit_window_ms, size_t buffer_max, bool shared,
			 char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	bool pg = sqldb_kind_of(path) == SQLDB_POSTGRES;
	int i;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->window_ms = commit_window_ms;
	s->buffer_max = buffer_max;
	s->shared = shared;
	s->tail = &s->head;
	s->acks_tail = &s->acks;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);

	if (shared && !pg) {
		snprintf(err, errlen, "plugin_opt_shared_writers needs a PostgreSQL database");
		goto fail;
	}
	s->wdb = sqldb_open(path, 0, 2000, err, errlen);
	if (!s->wdb)
		goto fail;
	if (pg ? claim_pg_writer(s->wdb, shared, err, errlen) || migrate_pg(s->wdb, err, errlen)
	       : exec_or_fail(s->wdb, "PRAGMA journal_mode = WAL", "set WAL mode", err, errlen) ||
			    exec_or_fail(s->wdb, "PRAGMA synchronous = NORMAL", "set synchronous",
					 err, errlen) ||
			    exec_or_fail(s->wdb, "PRAGMA foreign_keys = ON", "enable foreign keys",
					 err, errlen) ||
			    migrate_sqlite(s->wdb, err, errlen))
		goto fail;
	for (i = 0; i < ST_COUNT; i++) {
		s->st[i] = prepare_or_fail(s->wdb, i == ST_BEGIN && pg ? "BEGIN" : stmt_sql[i], err,
					   errlen);
		if (!s->st[i])
			goto fail;
	}
	s->rdb = sqldb_open(path, 0, 2000, err, errlen);
	if (!s->rdb)
		goto fail;
	s->exists = prepare_or_fail(
		s->rdb, "SELECT 1 FROM locations WHERE device_id = ?1 AND tst = ?2", err, errlen);
	if (!s->exists)
		goto fail;
	s->event_exists = prepare_or_fail(s->rdb,
					  "SELECT 1 FROM events WHERE device_id = ?1 AND type = ?2 "
					  "AND tst IS NOT DISTINCT FROM ?3",
					  err, errlen);
	if (!s->event_exists || (shared && prepare_shared(s, err, errlen)))
		goto fail;
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	s->thread_started = true;
	return s;
fail:
	store_close(s, 0, NULL);
	return NULL;
}

int store_load(struct store *s, store_device_cb cb, void *arg, int64_t *max_location_id,
	       int64_t *max_event_id, int64_t *max_device_id)
{
	static const char *q =
		"SELECT d.id, d.\"user\", d.device, d.display_name, d.online, "
		"(SELECT max(tst) FROM locations l WHERE l.device_id = d.id) FROM devices d";
	struct sqldb_stmt *st;
	int rc;

	/* Every device is offline until heard from: no client is connected
	 * yet, and an HTTP-mode phone's window did not survive the restart.
	 * last_seen is left alone (a restart is not news from the device).
	 * Before the first op is queued, so the writer thread is idle. */
	if (!s->shared) {
		st = sqldb_prepare(s->rdb, "UPDATE devices SET online = 0, status_changed = ?1 "
					   "WHERE online <> 0");
		if (!st)
			return -1;
		sqldb_bind_int64(st, 1, (int64_t)time(NULL));
		rc = sqldb_step(st);
		sqldb_finalize(st);
		if (rc != SQLDB_DONE)
			return -1;
	}
	st = sqldb_prepare(s->rdb, q);
	if (!st)
		return -1;
	while ((rc = sqldb_step(st)) == SQLDB_ROW)
		cb(arg, sqldb_col_int64(st, 0), sqldb_col_text(st, 1), sqldb_col_text(st, 2),
		   sqldb_col_text(st, 3), sqldb_col_int64(st, 4) != 0, sqldb_col_int64(st, 5));
	sqldb_finalize(st);
	if (rc != SQLDB_DONE)
		return -1;
	st = sqldb_prepare(s->rdb, "SELECT (SELECT coalesce(max(id), 0) FROM locations), "
				   "(SELECT coalesce(max(id), 0) FROM events), "
				   "(SELECT coalesce(max(id), 0) FROM devices)");
	if (!st)
		return -1;
	rc = sqldb_step(st);
	if (rc == SQLDB_ROW) {
		*max_location_id = sqldb_col_int64(st, 0);
		*max_event_id = sqldb_col_int64(st, 1);
		*max_device_id = sqldb_col_int64(st, 2);
	}
	sqldb_finalize(st);
	return rc == SQLDB_ROW ? 0 : -1;
}

/* The first row's existence: 1, 0, or -1 on error. */
static int step_exists(struct sqldb_stmt *st)
{
	int rc = sqldb_step(st);

	sqldb_reset(st);
	if (rc == SQLDB_ROW)
		return 1;
	return rc == SQLDB_DONE ? 0 : -1;
}

int store_location_exists(struct store *s, int64_t device_id, int64_t tst)
{
	if (sqldb_bind_int64(s->exists, 1, device_id) != SQLDB_DONE ||
	    sqldb_bind_int64(s->exists, 2, tst) != SQLDB_DONE) {
		sqldb_reset(s->exists);
		return -1;
	}
	return step_exists(s->exists);
}

int store_event_exists(struct store *s, int64_t device_id, const char *type, int64_t tst)
{
	struct sqldb_stmt *st = s->event_exists;

	if (sqldb_bind_int64(st, 1, device_id) != SQLDB_DONE ||
	    sqldb_bind_text(st, 2, type, -1) != SQLDB_DONE ||
	    (tst == OT_NONE ? sqldb_bind_null(st, 3) : sqldb_bind_int64(st, 3, tst)) !=
		    SQLDB_DONE) {
		sqldb_reset(st);
		return -1;
	}
	return step_exists(st);
}

void store_close(struct store *s, int give_up_ms, struct store_counters *final)
{
	int i;

	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		s->give_up_ms = give_up_ms;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (final)
		store_counters(s, final);
	free_list(s->head);
	free_list(s->acks);
	for (i = 0; i < ST_COUNT; i++)
		sqldb_finalize(s->st[i]);
	sqldb_finalize(s->exists);
	sqldb_finalize(s->event_exists);
	sqldb_finalize(s->lock_ids);
	sqldb_finalize(s->max_ids);
	sqldb_finalize(s->device_id);
	/* SQLite: fold the WAL back so the file is complete on its own. */
	if (s->wdb && sqldb_kind(s->wdb) == SQLDB_SQLITE)
		sqldb_exec(s->wdb, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqldb_close(s->wdb);
	sqldb_close(s->rdb);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
