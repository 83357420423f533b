/* sqldb: one small interface over the two storage engines, SQLite and
 * PostgreSQL (libpq).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The plugin's writer and the bridge's history queries are written once
 * against this interface; only the SQL that the two dialects spell
 * differently is given twice. It is deliberately the shape of SQLite's own
 * API (prepare, bind, step, column, reset), which the code was first
 * written against:
 *
 * - SQL uses `?N` parameters; for PostgreSQL they become `$N` (outside
 *   quoted strings). Write SQL both engines read: `ON CONFLICT DO
 *   NOTHING`, `IS NOT DISTINCT FROM`, `CAST(?N AS TEXT)` where a parameter's
 *   type cannot be inferred (PostgreSQL infers types; SQLite has none).
 * - Values are exchanged as SQLite's types: 64-bit integers, doubles, text.
 *   PostgreSQL sends and receives text; doubles go out with 17 significant
 *   digits and come back in PostgreSQL's shortest exact form, so a double
 *   survives either way bit for bit (the data objects are byte-identical).
 * - A PostgreSQL connection that broke is reset on the next statement
 *   (statements are prepared again lazily); the failing call reports
 *   SQLDB_ERROR with the reason, and the caller's retry policy applies.
 *
 * Not thread-safe: one connection per thread. Strings returned point into
 * the statement and are valid until the next step, reset or finalize.
 */
#ifndef MYTRACKS_SQLDB_H
#define MYTRACKS_SQLDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sqldb_kind {
	SQLDB_SQLITE,
	SQLDB_POSTGRES,
};

/* Results of sqldb_step() and sqldb_exec(). */
enum sqldb_rc {
	SQLDB_DONE = 0,	       /* the statement finished */
	SQLDB_ROW = 1,	       /* a row is ready: read it with sqldb_col_*() */
	SQLDB_BUSY = -1,       /* locked by another writer or a serialization
				  conflict: try again later */
	SQLDB_CONSTRAINT = -2, /* this row breaks a constraint or holds a value the
				 engine refuses: about this row alone */
	SQLDB_ERROR = -3,      /* anything else (I/O, connection lost, bad SQL, no
				  memory); the reason is in sqldb_errmsg() */
};

/* PostgreSQL advisory lock keys of mytracks: the writers of a database,
 * held for the whole session (exclusive by the one writer, the plugin or
 * mytracks-migrate while it copies; shared by plugins in shared-writer
 * mode, docs/scale-out.md); schema creation, and the ids of shared writers
 * (each a transaction's). */
#define SQLDB_LOCK_WRITER 7238518
#define SQLDB_LOCK_SCHEMA 7238517
#define SQLDB_LOCK_IDS 7238519

/* sqldb_open() flags */
#define SQLDB_READONLY                                                                             \
	0x1 /* SQLite: open read-only (never create); PostgreSQL:                                  \
	     * read-only transactions */
/* PostgreSQL: plan each execution of a prepared statement with its values
 * (plan_cache_mode = force_custom_plan), for queries whose best plan
 * depends on them: a generic plan of the history's since_id page walks
 * the tst index and sorts, 100 times slower (docs/bench.md). */
#define SQLDB_PLAN_EACH 0x2

struct sqldb;
struct sqldb_stmt;

/* Which engine a database spec names: a `postgresql://` or `postgres://`
 * URL, or a libpq keyword string starting with "host=", "dbname=" or
 * "service=", is PostgreSQL; anything else is a SQLite file path. */
enum sqldb_kind sqldb_kind_of(const char *spec);

/* Write `spec` into `buf` with any password replaced by "***" (URL
 * user:password@, password=… in a query or keyword string), for logs and
 * errors. Always terminated; truncated to `len`. */
void sqldb_redact(const char *spec, char *buf, size_t len);

/* Open a connection. SQLite: the file (created unless SQLDB_READONLY), a
 * busy timeout of `busy_ms`, extended result codes. PostgreSQL: connect
 * (libpq's connect_timeout applies), UTF-8 client encoding, and a
 * statement waits at most `busy_ms` for a lock (lock_timeout; then
 * SQLDB_BUSY), on this connection and every re-established one. NULL on
 * failure with the reason in `err` (never the password). */
struct sqldb *sqldb_open(const char *spec, int flags, int busy_ms, char *err, size_t errlen);
/* Finalize nothing: statements must be finalized first. NULL is fine. */
void sqldb_close(struct sqldb *db);
enum sqldb_kind sqldb_kind(const struct sqldb *db);
/* The reason for the last failure on this connection (empty if none). */
const char *sqldb_errmsg(const struct sqldb *db);
/* True inside a transaction (BEGIN run, no COMMIT/ROLLBACK yet); with
 * PostgreSQL also after a failed statement aborted the transaction. */
bool sqldb_in_txn(struct sqldb *db);

/* Run one or more statements without parameters or results. */
enum sqldb_rc sqldb_exec(struct sqldb *db, const char *sql);

/* PostgreSQL: take the session advisory lock `key` now, exclusive or
 * `shared` (0; 1 when another connection holds it in a conflicting mode,
 * -1 on another failure, sqldb_errmsg() says), and keep it:
 * after a lost connection is re-established, no statement runs on it
 * until the lock is taken again (each one fails while another connection
 * holds it). Does nothing and returns 0 on SQLite. */
int sqldb_hold_lock(struct sqldb *db, int64_t key, bool shared);

/* Prepare `sql` (`?N` parameters, N from 1 to 32). NULL on failure
 * (reason in sqldb_errmsg). PostgreSQL prepares on first use, per
 * connection. */
struct sqldb_stmt *sqldb_prepare(struct sqldb *db, const char *sql);
void sqldb_finalize(struct sqldb_stmt *st);
/* The statement's SQL as the engine got it (PostgreSQL: with $N). */
const char *sqldb_sql(struct sqldb_stmt *st);

/* Bind parameter `i` (from 1). Text is copied (`len` < 0: up to its NUL;
 * NULL text binds NULL). SQLDB_DONE, or SQLDB_ERROR for a bad index or no
 * memory. Bindings stay until changed or sqldb_reset(). */
enum sqldb_rc sqldb_bind_int64(struct sqldb_stmt *st, int i, int64_t v);
enum sqldb_rc sqldb_bind_double(struct sqldb_stmt *st, int i, double v);
enum sqldb_rc sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s, int len);
enum sqldb_rc sqldb_bind_null(struct sqldb_stmt *st, int i);

/* Run the statement or move to its next row: SQLDB_ROW, SQLDB_DONE, or an
 * error. After an error, reset before stepping again. */
enum sqldb_rc sqldb_step(struct sqldb_stmt *st);
/* Rows inserted, updated or deleted by the last completed step. */
int64_t sqldb_changes(struct sqldb_stmt *st);
/* Back to the start, every binding cleared (NULL). */
void sqldb_reset(struct sqldb_stmt *st);

/* Pipelining (PostgreSQL only; SQLDB_ERROR on SQLite): writes sent one
 * after the other without waiting for each answer, then answered in
 * order - one round trip for many rows.
 *
 *   sqldb_ready(st) for every statement the pipeline will send (it may
 *   reconnect and prepare; neither can happen inside), then
 *   sqldb_pipeline_begin(db); sqldb_send(st) per row, binding between
 *   sends (the values are copied at once); sqldb_pipeline_sync(db);
 *   sqldb_pipeline_result(db, &changes) per row sent, in order;
 *   sqldb_pipeline_end(db), always, also after an error (it reads what
 *   is left and leaves pipeline mode).
 *
 * A statement that fails aborts every later one up to the sync (their
 * results are SQLDB_ERROR), and an open transaction with it, as if each
 * had been stepped. Keep a pipeline to a few hundred statements: answers
 * are read only after the sync. */
enum sqldb_rc sqldb_ready(struct sqldb_stmt *st);
enum sqldb_rc sqldb_pipeline_begin(struct sqldb *db);
enum sqldb_rc sqldb_send(struct sqldb_stmt *st);
enum sqldb_rc sqldb_pipeline_sync(struct sqldb *db);
enum sqldb_rc sqldb_pipeline_result(struct sqldb *db, int64_t *changes);
void sqldb_pipeline_end(struct sqldb *db);

/* Column `i` (from 0) of the current row. NULL reads as 0 / NULL; a
 * PostgreSQL boolean as 1 / 0. */
bool sqldb_col_null(struct sqldb_stmt *st, int i);
int64_t sqldb_col_int64(struct sqldb_stmt *st, int i);
double sqldb_col_double(struct sqldb_stmt *st, int i);
const char *sqldb_col_text(struct sqldb_stmt *st, int i);

#endif
