/* sqldb: one small interface over SQLite and PostgreSQL.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "sqldb.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 32
#define PG_BOOLOID 16 /* pg_type.oid of boolean, fixed in every server */

struct sqldb {
	enum sqldb_kind kind;
	int flags;   /* of sqldb_open() */
	int busy_ms; /* of sqldb_open(): PostgreSQL's lock_timeout */
	sqlite3 *lite;
	PGconn *pg;
	unsigned gen;	    /* PostgreSQL: bumped on every reset (statements are gone) */
	unsigned next_name; /* PostgreSQL: prepared statement names */
	bool lock_wanted;   /* PostgreSQL: hold the advisory lock lock_key */
	bool lock_held;	    /* ... on the current connection */
	bool lock_shared;   /* ... in shared mode (pg_try_advisory_lock_shared) */
	bool err_busy;	    /* the last try found the lock held elsewhere */
	int pipe_unread;    /* pipeline: statements sent, answers not read */
	bool pipe_synced;   /* pipeline: the sync is sent, its answer not read */
	int64_t lock_key;
	char err[256];
};

struct sqldb_stmt {
	struct sqldb *db;
	sqlite3_stmt *lite;
	/* PostgreSQL */
	char *sql;	   /* translated to $N */
	char name[24];	   /* the prepared statement's name on the connection */
	unsigned prepared; /* db->gen it was prepared for, plus one (0: never) */
	int nparams;
	bool used[MAX_PARAMS]; /* appears in the SQL (an unused one is declared text) */
	char *val[MAX_PARAMS]; /* NULL: SQL NULL */
	size_t cap[MAX_PARAMS];
	bool bound[MAX_PARAMS]; /* val[i] holds a value (else NULL) */
	PGresult *res;
	int row, nrows;
	bool executed;
	int64_t changes;
};

static void set_err(struct sqldb *db, const char *what, const char *msg)
{
	size_t n;

	snprintf(db->err, sizeof(db->err), "%s%s%s", what, *what ? ": " : "", msg ? msg : "");
	n = strlen(db->err);
	while (n > 0 && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
		db->err[--n] = '\0'; /* libpq ends its messages with a newline */
}

enum sqldb_kind sqldb_kind_of(const char *spec)
{
	static const char *const pg[] = {
		"postgresql://", "postgres://", "host=", "dbname=", "service=", "user="};
	size_t i;

	for (i = 0; spec && i < sizeof(pg) / sizeof(pg[0]); i++)
		if (strncmp(spec, pg[i], strlen(pg[i])) == 0)
			return SQLDB_POSTGRES;
	return SQLDB_SQLITE;
}

void sqldb_redact(const char *spec, char *buf, size_t len)
{
	size_t o = 0;
	const char *p = spec ? spec : "", *at = NULL, *colon = NULL, *scheme = strstr(p, "://");

	if (len == 0)
		return;
#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (o + 1 < len)                                                                   \
			buf[o++] = (c);                                                            \
	} while (0)
	if (scheme) {
		/* user:password@ in the authority part (up to the first '/') */
		const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?");
		const char *q;

		for (q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		if (at)
			for (q = auth; q < at; q++)
				if (*q == ':') {
					colon = q;
					break;
				}
	}
	while (*p) {
		if (colon && p == colon) {
			const char *r = "***";

			PUT(':');
			while (*r)
				PUT(*r++);
			p = at;
			colon = NULL;
			continue;
		}
		if (strncmp(p, "password=", 9) == 0 && (p == spec || strchr("?& \t", p[-1]))) {
			const char *r = "password=***";

			while (*r)
				PUT(*r++);
			p += 9;
			if (*p == '\'') { /* a quoted keyword value */
				p++;
				while (*p && *p != '\'')
					p += (*p == '\\' && p[1]) ? 2 : 1;
				if (*p)
					p++;
			} else {
				p += strcspn(p, "& \t");
			}
			continue;
		}
		PUT(*p);
		p++;
	}
#undef PUT
	buf[o] = '\0';
}

static void quiet_notices(void *arg, const char *msg)
{
	(void)arg; /* NOTICEs ("no transaction in progress"): not for stderr */
	(void)msg;
}

/* What every new PostgreSQL connection is told first (sqldb_open flags).
 * A failure shows in the next statement. */
static void pg_session(struct sqldb *db)
{
	PGresult *res;
	char sql[64];

	PQsetClientEncoding(db->pg, "UTF8");
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", db->busy_ms);
	res = PQexec(db->pg, sql);
	PQclear(res);
	if (db->flags & SQLDB_READONLY) {
		res = PQexec(db->pg, "SET default_transaction_read_only = on");
		PQclear(res);
	}
	if (db->flags & SQLDB_PLAN_EACH) {
		res = PQexec(db->pg, "SET plan_cache_mode = force_custom_plan");
		PQclear(res);
	}
}

struct sqldb *sqldb_open(const char *spec, int flags, int busy_ms, char *err, size_t errlen)
{
	struct sqldb *db = calloc(1, sizeof(*db));
	char safe[256];

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->kind = sqldb_kind_of(spec);
	if (db->kind == SQLDB_SQLITE) {
		int rc = sqlite3_open_v2(spec, &db->lite,
					 ((flags & SQLDB_READONLY)
						  ? SQLITE_OPEN_READONLY
						  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
						 SQLITE_OPEN_NOMUTEX,
					 NULL);

		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "cannot open database %s: %s", spec,
				 db->lite ? sqlite3_errmsg(db->lite) : sqlite3_errstr(rc));
			sqlite3_close(db->lite);
			free(db);
			return NULL;
		}
		sqlite3_busy_timeout(db->lite, busy_ms);
		sqlite3_extended_result_codes(db->lite, 1);
		return db;
	}
	db->pg = PQconnectdb(spec);
	if (!db->pg || PQstatus(db->pg) != CONNECTION_OK) {
		sqldb_redact(spec, safe, sizeof(safe));
		snprintf(err, errlen, "cannot connect to PostgreSQL %s: %s", safe,
			 db->pg ? PQerrorMessage(db->pg) : "out of memory");
		errlen = strlen(err);
		while (errlen > 0 && err[errlen - 1] == '\n')
			err[--errlen] = '\0';
		PQfinish(db->pg);
		free(db);
		return NULL;
	}
	PQsetNoticeProcessor(db->pg, quiet_notices, NULL);
	db->flags = flags;
	db->busy_ms = busy_ms;
	pg_session(db);
	return db;
}

void sqldb_close(struct sqldb *db)
{
	if (!db)
		return;
	sqlite3_close(db->lite);
	PQfinish(db->pg);
	free(db);
}

enum sqldb_kind sqldb_kind(const struct sqldb *db)
{
	return db->kind;
}

const char *sqldb_errmsg(const struct sqldb *db)
{
	return db->err;
}

bool sqldb_in_txn(struct sqldb *db)
{
	if (db->kind == SQLDB_SQLITE)
		return !sqlite3_get_autocommit(db->lite);
	switch (PQtransactionStatus(db->pg)) {
	case PQTRANS_ACTIVE:
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		return true;
	default:
		return false;
	}
}

static enum sqldb_rc lite_rc(struct sqldb *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_ROW:
		return SQLDB_ROW;
	case SQLITE_DONE:
	case SQLITE_OK:
		return SQLDB_DONE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		set_err(db, "", sqlite3_errmsg(db->lite));
		return SQLDB_BUSY;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
		set_err(db, "", sqlite3_errmsg(db->lite));
		return SQLDB_CONSTRAINT;
	default:
		set_err(db, "", sqlite3_errmsg(db->lite));
		return SQLDB_ERROR;
	}
}

/* Take the session advisory lock db->lock_key on this connection. */
static bool pg_take_lock(struct sqldb *db)
{
	char sql[80];
	PGresult *res;

	db->err_busy = false;
	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock%s(%" PRId64 ")",
		 db->lock_shared ? "_shared" : "", db->lock_key);
	res = PQexec(db->pg, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(db, "take the advisory lock", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	db->lock_held = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!db->lock_held) {
		set_err(db, "", "another connection holds this database's advisory lock");
		db->err_busy = true;
	}
	return db->lock_held;
}

/* A new connection: no statement is prepared on it, no lock held. */
static bool pg_reset(struct sqldb *db)
{
	PQreset(db->pg);
	db->gen++;
	db->lock_held = false;
	if (PQstatus(db->pg) != CONNECTION_OK)
		return false;
	pg_session(db);
	return true;
}

/* A broken PostgreSQL connection is reset before the next statement; its
 * prepared statements are gone with it, and so is its advisory lock, which
 * is taken again before anything else runs on the new connection. */
static bool pg_alive(struct sqldb *db)
{
	if (PQstatus(db->pg) != CONNECTION_OK && !pg_reset(db)) {
		set_err(db, "PostgreSQL connection lost", PQerrorMessage(db->pg));
		return false;
	}
	return !db->lock_wanted || db->lock_held || pg_take_lock(db);
}

int sqldb_hold_lock(struct sqldb *db, int64_t key, bool shared)
{
	if (db->kind != SQLDB_POSTGRES)
		return 0;
	db->lock_wanted = true;
	db->lock_key = key;
	db->lock_shared = shared;
	db->lock_held = false;
	if (pg_alive(db))
		return 0;
	return PQstatus(db->pg) == CONNECTION_OK && db->err_busy ? 1 : -1;
}

/* Map a failed PostgreSQL result (consumed). */
static enum sqldb_rc pg_fail(struct sqldb *db, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	enum sqldb_rc rc = SQLDB_ERROR;

	set_err(db, "", res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg));
	if (!db->err[0])
		set_err(db, "", PQerrorMessage(db->pg));
	if (state && (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0))
		rc = SQLDB_CONSTRAINT;
	else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
			   strcmp(state, "55P03") == 0))
		rc = SQLDB_BUSY;
	PQclear(res);
	return rc;
}

enum sqldb_rc sqldb_exec(struct sqldb *db, const char *sql)
{
	PGresult *res;
	char *msg = NULL;
	int rc;

	if (db->kind == SQLDB_SQLITE) {
		rc = sqlite3_exec(db->lite, sql, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			enum sqldb_rc r = lite_rc(db, rc);

			if (msg)
				set_err(db, "", msg);
			sqlite3_free(msg);
			return r;
		}
		return SQLDB_DONE;
	}
	if (!pg_alive(db))
		return SQLDB_ERROR;
	res = PQexec(db->pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_fail(db, res);
	PQclear(res);
	return SQLDB_DONE;
}

/* `?N` to `$N` outside quoted strings and identifiers; the largest N, and
 * which appear. */
static char *pg_translate(const char *sql, int *nparams, bool used[MAX_PARAMS])
{
	size_t n = strlen(sql);
	char *out = malloc(n + 1), *o = out, quote = 0;
	const char *p;

	*nparams = 0;
	if (!out)
		return NULL;
	for (p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?' && p[1] >= '0' && p[1] <= '9') {
			int v = atoi(p + 1);

			if (v > *nparams)
				*nparams = v;
			if (v >= 1 && v <= MAX_PARAMS)
				used[v - 1] = true;
			*o++ = '$';
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

struct sqldb_stmt *sqldb_prepare(struct sqldb *db, const char *sql)
{
	struct sqldb_stmt *st = calloc(1, sizeof(*st));

	if (!st) {
		set_err(db, "prepare", "out of memory");
		return NULL;
	}
	st->db = db;
	if (db->kind == SQLDB_SQLITE) {
		int rc = sqlite3_prepare_v3(db->lite, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->lite,
					    NULL);

		if (rc != SQLITE_OK) {
			set_err(db, "prepare", sqlite3_errmsg(db->lite));
			free(st);
			return NULL;
		}
		return st;
	}
	st->sql = pg_translate(sql, &st->nparams, st->used);
	if (!st->sql || st->nparams > MAX_PARAMS) {
		set_err(db, "prepare", st->sql ? "too many parameters" : "out of memory");
		free(st->sql);
		free(st);
		return NULL;
	}
	snprintf(st->name, sizeof(st->name), "mt%u", db->next_name++);
	return st;
}

const char *sqldb_sql(struct sqldb_stmt *st)
{
	return st->lite ? sqlite3_sql(st->lite) : st->sql;
}

static void pg_clear_result(struct sqldb_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->executed = false;
	st->row = -1;
	st->nrows = 0;
}

void sqldb_finalize(struct sqldb_stmt *st)
{
	int i;

	if (!st)
		return;
	sqlite3_finalize(st->lite);
	pg_clear_result(st);
	for (i = 0; i < MAX_PARAMS; i++)
		free(st->val[i]);
	free(st->sql);
	free(st);
}

/* PostgreSQL: keep parameter `i` as text (copied). */
static enum sqldb_rc pg_bind(struct sqldb_stmt *st, int i, const char *s, size_t len)
{
	if (i < 1 || i > MAX_PARAMS) {
		set_err(st->db, "bind", "parameter index out of range");
		return SQLDB_ERROR;
	}
	i--;
	if (!s) {
		st->bound[i] = false;
		return SQLDB_DONE;
	}
	if (len + 1 > st->cap[i]) {
		size_t cap = len + 1 < 64 ? 64 : len + 1;
		char *v = realloc(st->val[i], cap);

		if (!v) {
			set_err(st->db, "bind", "out of memory");
			return SQLDB_ERROR;
		}
		st->val[i] = v;
		st->cap[i] = cap;
	}
	memcpy(st->val[i], s, len);
	st->val[i][len] = '\0';
	st->bound[i] = true;
	return SQLDB_DONE;
}

enum sqldb_rc sqldb_bind_int64(struct sqldb_stmt *st, int i, int64_t v)
{
	char b[24];
	int n;

	if (st->lite)
		return lite_rc(st->db, sqlite3_bind_int64(st->lite, i, v));
	n = snprintf(b, sizeof(b), "%" PRId64, v);
	return pg_bind(st, i, b, (size_t)n);
}

enum sqldb_rc sqldb_bind_double(struct sqldb_stmt *st, int i, double v)
{
	char b[40];
	int n;

	if (st->lite)
		return lite_rc(st->db, sqlite3_bind_double(st->lite, i, v));
	n = snprintf(b, sizeof(b), "%.17g", v);
	return pg_bind(st, i, b, (size_t)n);
}

enum sqldb_rc sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s, int len)
{
	if (st->lite)
		return lite_rc(st->db, s ? sqlite3_bind_text(st->lite, i, s, len, SQLITE_TRANSIENT)
					 : sqlite3_bind_null(st->lite, i));
	return pg_bind(st, i, s, s ? (len < 0 ? strlen(s) : (size_t)len) : 0);
}

enum sqldb_rc sqldb_bind_null(struct sqldb_stmt *st, int i)
{
	if (st->lite)
		return lite_rc(st->db, sqlite3_bind_null(st->lite, i));
	return pg_bind(st, i, NULL, 0);
}

/* Connected, and `st` prepared on this connection. */
static enum sqldb_rc pg_ready(struct sqldb_stmt *st)
{
	struct sqldb *db = st->db;
	Oid types[MAX_PARAMS];
	PGresult *res;
	int i;

	if (!pg_alive(db))
		return SQLDB_ERROR;
	if (st->prepared == db->gen + 1)
		return SQLDB_DONE;
	/* PostgreSQL infers the type of each parameter from its use; one the
	 * SQL skips (the same bindings serve several statements) has none,
	 * and is declared text */
	for (i = 0; i < st->nparams; i++)
		types[i] = st->used[i] ? 0 : 25 /* TEXTOID */;
	res = PQprepare(db->pg, st->name, st->sql, st->nparams, types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return pg_fail(db, res);
	PQclear(res);
	st->prepared = db->gen + 1;
	return SQLDB_DONE;
}

static void pg_values(struct sqldb_stmt *st, const char **vals)
{
	for (int i = 0; i < st->nparams; i++)
		vals[i] = st->bound[i] ? st->val[i] : NULL;
}

static enum sqldb_rc pg_execute(struct sqldb_stmt *st)
{
	struct sqldb *db = st->db;
	const char *vals[MAX_PARAMS];
	PGresult *res;
	enum sqldb_rc rc = pg_ready(st);

	if (rc != SQLDB_DONE)
		return rc;
	pg_values(st, vals);
	res = PQexecPrepared(db->pg, st->name, st->nparams, vals, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		st->nrows = PQntuples(res);
		st->changes = 0;
		break;
	case PGRES_COMMAND_OK:
		st->nrows = 0;
		st->changes = strtoll(PQcmdTuples(res), NULL, 10);
		break;
	default:
		if (PQstatus(db->pg) != CONNECTION_OK)
			db->gen++; /* the statements died with the connection */
		return pg_fail(db, res);
	}
	st->res = res;
	st->row = -1;
	st->executed = true;
	return SQLDB_DONE;
}

enum sqldb_rc sqldb_ready(struct sqldb_stmt *st)
{
	if (st->lite) {
		set_err(st->db, "pipeline", "not available on SQLite");
		return SQLDB_ERROR;
	}
	return pg_ready(st);
}

/* The connection died: its statements with it. */
static enum sqldb_rc pg_lost(struct sqldb *db, const char *what)
{
	if (PQstatus(db->pg) != CONNECTION_OK)
		db->gen++;
	set_err(db, what, PQerrorMessage(db->pg));
	return SQLDB_ERROR;
}

enum sqldb_rc sqldb_pipeline_begin(struct sqldb *db)
{
	db->pipe_unread = 0;
	db->pipe_synced = false;
	if (db->kind != SQLDB_POSTGRES) {
		set_err(db, "pipeline", "not available on SQLite");
		return SQLDB_ERROR;
	}
	if (PQstatus(db->pg) != CONNECTION_OK || !PQenterPipelineMode(db->pg))
		return pg_lost(db, "enter pipeline mode");
	return SQLDB_DONE;
}

enum sqldb_rc sqldb_send(struct sqldb_stmt *st)
{
	struct sqldb *db = st->db;
	const char *vals[MAX_PARAMS];

	if (st->lite || st->prepared != db->gen + 1 || PQpipelineStatus(db->pg) != PQ_PIPELINE_ON) {
		set_err(db, "send", "statement not ready, or no pipeline");
		return SQLDB_ERROR;
	}
	pg_values(st, vals);
	if (!PQsendQueryPrepared(db->pg, st->name, st->nparams, vals, NULL, NULL, 0))
		return pg_lost(db, "send");
	db->pipe_unread++;
	return SQLDB_DONE;
}

enum sqldb_rc sqldb_pipeline_sync(struct sqldb *db)
{
	if (db->kind != SQLDB_POSTGRES || !PQpipelineSync(db->pg))
		return pg_lost(db, "pipeline sync");
	db->pipe_synced = true;
	return SQLDB_DONE;
}

enum sqldb_rc sqldb_pipeline_result(struct sqldb *db, int64_t *changes)
{
	PGresult *res, *end;
	enum sqldb_rc rc = SQLDB_DONE;

	*changes = 0;
	if (db->kind != SQLDB_POSTGRES || db->pipe_unread <= 0 || !db->pipe_synced) {
		set_err(db, "pipeline", "no answer to read");
		return SQLDB_ERROR;
	}
	res = PQgetResult(db->pg);
	if (!res)
		return pg_lost(db, "pipeline answer");
	db->pipe_unread--;
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		*changes = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		break;
	case PGRES_PIPELINE_ABORTED: /* an earlier one failed: its error stands */
		PQclear(res);
		rc = SQLDB_ERROR;
		break;
	default:
		rc = pg_fail(db, res);
		break;
	}
	/* each statement's answer ends with a NULL */
	end = PQgetResult(db->pg);
	if (end) {
		PQclear(end);
		set_err(db, "pipeline", "more than one answer to a statement");
		return SQLDB_ERROR;
	}
	return rc;
}

void sqldb_pipeline_end(struct sqldb *db)
{
	PGresult *res;

	if (db->kind != SQLDB_POSTGRES || PQpipelineStatus(db->pg) == PQ_PIPELINE_OFF)
		return;
	if (!db->pipe_synced && db->pipe_unread > 0 && !PQpipelineSync(db->pg))
		db->pipe_unread = 0; /* the connection is gone */
	else if (db->pipe_unread > 0)
		db->pipe_synced = true;
	/* what was not read: each answer and its NULL, then the sync's */
	while (PQstatus(db->pg) == CONNECTION_OK && (db->pipe_unread > 0 || db->pipe_synced)) {
		res = PQgetResult(db->pg);
		if (!res) {
			if (db->pipe_unread > 0)
				db->pipe_unread--;
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			db->pipe_synced = false;
			db->pipe_unread = 0;
		}
		PQclear(res);
	}
	if (!PQexitPipelineMode(db->pg) && PQstatus(db->pg) == CONNECTION_OK)
		pg_reset(db); /* out of step with the server: start over */
	db->pipe_unread = 0;
	db->pipe_synced = false;
}

enum sqldb_rc sqldb_step(struct sqldb_stmt *st)
{
	enum sqldb_rc rc;

	if (st->lite) {
		rc = lite_rc(st->db, sqlite3_step(st->lite));
		if (rc == SQLDB_DONE)
			st->changes = sqlite3_changes(sqlite3_db_handle(st->lite));
		return rc;
	}
	if (!st->executed) {
		rc = pg_execute(st);
		if (rc != SQLDB_DONE)
			return rc;
	}
	if (++st->row < st->nrows)
		return SQLDB_ROW;
	st->row = st->nrows;
	return SQLDB_DONE;
}

int64_t sqldb_changes(struct sqldb_stmt *st)
{
	return st->changes;
}

void sqldb_reset(struct sqldb_stmt *st)
{
	int i;

	if (st->lite) {
		sqlite3_reset(st->lite);
		sqlite3_clear_bindings(st->lite);
		return;
	}
	pg_clear_result(st);
	for (i = 0; i < MAX_PARAMS; i++)
		st->bound[i] = false;
}

static bool pg_on_row(struct sqldb_stmt *st, int i)
{
	return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 && i < PQnfields(st->res);
}

bool sqldb_col_null(struct sqldb_stmt *st, int i)
{
	if (st->lite)
		return sqlite3_column_type(st->lite, i) == SQLITE_NULL;
	return !pg_on_row(st, i) || PQgetisnull(st->res, st->row, i);
}

int64_t sqldb_col_int64(struct sqldb_stmt *st, int i)
{
	if (st->lite)
		return sqlite3_column_int64(st->lite, i);
	if (sqldb_col_null(st, i))
		return 0;
	/* a boolean reads as 1 or 0, as SQLite's do (text "t" and "f") */
	if (PQftype(st->res, i) == PG_BOOLOID)
		return PQgetvalue(st->res, st->row, i)[0] == 't';
	return strtoll(PQgetvalue(st->res, st->row, i), NULL, 10);
}

double sqldb_col_double(struct sqldb_stmt *st, int i)
{
	if (st->lite)
		return sqlite3_column_double(st->lite, i);
	return sqldb_col_null(st, i) ? 0 : strtod(PQgetvalue(st->res, st->row, i), NULL);
}

const char *sqldb_col_text(struct sqldb_stmt *st, int i)
{
	if (st->lite)
		return (const char *)sqlite3_column_text(st->lite, i);
	return sqldb_col_null(st, i) ? NULL : PQgetvalue(st->res, st->row, i);
}
