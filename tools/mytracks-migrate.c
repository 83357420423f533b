/* mytracks-migrate: copy a mytracks SQLite database into PostgreSQL.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Devices, locations and events are copied with their ids, so that data
 * objects, since_id cursors and exports stay what they were; the plugin on
 * PostgreSQL goes on from the largest id (the schema has no sequences:
 * the plugin counts from max(id) at start). Each batch is one transaction,
 * and every row goes in with ON CONFLICT DO NOTHING: a run that was
 * interrupted, or a second run, copies only what is missing. A row that is
 * already there is compared with the source (the same id must be the same
 * row, every column of a location or event; a (device, tst) stored under
 * another id is a conflict), and the first difference stops the copy with
 * the row and the column named. A device already there takes the source's
 * state (name, last seen, online) unless PostgreSQL's is newer; rows
 * deleted from the source since an earlier run are counted, and deleted
 * with --prune.
 *
 * While it copies it holds the writer lock of the PostgreSQL database
 * (core/sqldb.h): a running plugin makes it refuse, and a plugin started
 * meanwhile refuses to start. The SQLite file is opened read-only: it may
 * be the live database of a running plugin (WAL), which then goes on.
 */
#include "num.h"
#include "sqldb.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "mytracks-migrate"
#define SCHEMA_VERSION 3 /* of both schemas, as the plugin writes them */
#define BATCH_DEFAULT 5000
#define MAX_COLS 24

extern const char mytracks_schema_pg_sql[]; /* schema/schema_pg.sql, embedded */

/* A table and its columns in the order both schemas have them; `types`:
 * one letter per column, i (integer), d (double), t (text). */
struct table {
	const char *name;
	const char *cols;
	const char *types;
	/* a row already in PostgreSQL is the same row: these columns equal
	 * (NULL: every column) */
	const char *same;
	/* the other unique key: its columns, and as a condition on the row's
	 * parameters */
	const char *key_name, *key;
	/* devices only: what changes in a row over time, brought up to the
	 * source's state unless PostgreSQL's is newer */
	const char *refresh;
};

static const struct table tables[] = {
	{"devices",
	 "id, \"user\", device, display_name, tid, first_seen, last_seen, online, "
	 "status_changed",
	 "ittttiiii", "\"user\" IS NOT DISTINCT FROM ?2 AND device IS NOT DISTINCT FROM ?3",
	 "(user, device)", "\"user\" = ?2 AND device = ?3",
	 "UPDATE devices SET display_name = CAST(?4 AS TEXT), tid = CAST(?5 AS TEXT), "
	 "first_seen = CAST(?6 AS BIGINT), last_seen = CAST(?7 AS BIGINT), "
	 "online = CAST(?8 AS INTEGER), status_changed = CAST(?9 AS BIGINT) "
	 "WHERE id = ?1 AND coalesce(last_seen, 0) <= coalesce(CAST(?7 AS BIGINT), 0) "
	 "AND coalesce(status_changed, 0) <= coalesce(CAST(?9 AS BIGINT), 0) "
	 "AND (display_name IS DISTINCT FROM CAST(?4 AS TEXT) OR tid IS DISTINCT FROM "
	 "CAST(?5 AS TEXT) OR first_seen IS DISTINCT FROM CAST(?6 AS BIGINT) OR last_seen IS "
	 "DISTINCT FROM CAST(?7 AS BIGINT) OR online IS DISTINCT FROM CAST(?8 AS INTEGER) OR "
	 "status_changed IS DISTINCT FROM CAST(?9 AS BIGINT))"},
	/* rows nothing updates once stored: the same row is every column */
	{"locations",
	 "id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, trig, cog, vac, bs, "
	 "ssid, bssid, created_at, ip_address, received_at, raw, decrypted",
	 "iiiddiiiitttiiittititi", NULL, "(device_id, tst)", "device_id = ?2 AND tst = ?3", NULL},
	{"events", "id, device_id, type, tst, received_at, raw, decrypted", "iitiiti", NULL, NULL,
	 NULL, NULL},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

struct counts {
	int64_t copied, present, updated, pruned;
	int64_t extra;	/* in PostgreSQL only, ids up to the source's largest */
	int64_t max_id; /* the source's largest id, 0 if none */
};

static bool quiet;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [options] SQLITE_FILE POSTGRESQL\n"
		"\n"
		"Copies the mytracks database SQLITE_FILE (e.g. /var/lib/mytracks/mytracks.db)\n"
		"into the PostgreSQL database POSTGRESQL (a postgresql:// URL or libpq\n"
		"keywords; the password better in ~/.pgpass than here), creating the schema\n"
		"if the database is empty. Ids are kept. Interrupted or run again, it copies\n"
		"only what is missing (and a device's newer state); a row that differs from\n"
		"the copy already there stops it. Stop the plugin that writes to POSTGRESQL\n"
		"first (this tool refuses while one runs, and holds the plugin off while it\n"
		"copies); the plugin on SQLITE_FILE may keep running, but what it stores\n"
		"after the copy is not copied until the next run.\n"
		"\n"
		"Options:\n"
		"  -b, --batch N  rows per transaction (default %d)\n"
		"  -p, --prune    also delete from POSTGRESQL the rows (ids up to SQLITE_FILE's\n"
		"                 largest) that SQLITE_FILE no longer has: deleted there since\n"
		"                 an earlier run (without it, they are counted and kept)\n"
		"  -q, --quiet    print nothing but errors\n"
		"  -h, --help     show this text\n"
		"\n"
		"Exit status: 0 done, 1 failed (what was committed stays), 2 bad usage.\n",
		BATCH_DEFAULT);
}

/* The first column of `sql`'s first row, or -1 after printing why. */
static int64_t query_int(struct sqldb *db, const char *what, const char *sql)
{
	struct sqldb_stmt *st = sqldb_prepare(db, sql);
	int64_t v = -1;

	if (st && sqldb_step(st) == SQLDB_ROW)
		v = sqldb_col_int64(st, 0);
	else
		fprintf(stderr, PROG ": %s: %s\n", what, sqldb_errmsg(db));
	sqldb_finalize(st);
	return v;
}

static int check_source(struct sqldb *src, const char *file)
{
	int64_t v = query_int(src, "read the schema version", "PRAGMA user_version");

	if (v < 0)
		return -1;
	if (v == SCHEMA_VERSION)
		return 0;
	if (v > 0 && v < SCHEMA_VERSION)
		fprintf(stderr,
			PROG ": %s has schema version %" PRId64 ": start the plugin on it once "
			     "(it migrates the file to version %d), then run " PROG " again\n",
			file, v, SCHEMA_VERSION);
	else
		fprintf(stderr,
			PROG ": %s: schema version %" PRId64 " is not a mytracks database "
			     "this tool knows (want %d)\n",
			file, v, SCHEMA_VERSION);
	return -1;
}

/* Hold the writer lock, and create the schema if the database has none. */
static int prepare_target(struct sqldb *dst, const char *safe)
{
	char lock[96];
	int64_t v;
	int rc = sqldb_hold_lock(dst, SQLDB_LOCK_WRITER, false);

	if (rc) {
		fprintf(stderr, PROG ": %s: %s\n", safe,
			rc > 0 ? "a mytracks plugin is writing to this database: stop it first"
			       : sqldb_errmsg(dst));
		return -1;
	}
	if (sqldb_exec(dst, "BEGIN") != SQLDB_DONE)
		goto fail;
	snprintf(lock, sizeof(lock), "SELECT 1 FROM (SELECT pg_advisory_xact_lock(%d)) AS l",
		 SQLDB_LOCK_SCHEMA);
	if (query_int(dst, "schema lock", lock) < 0)
		goto fail;
	v = query_int(dst, "look for the schema",
		      "SELECT (to_regclass('mytracks_schema') IS NOT NULL)::int");
	if (v == 1)
		v = query_int(dst, "read the schema version",
			      "SELECT max(version) FROM mytracks_schema");
	else if (v == 0) {
		if (sqldb_exec(dst, mytracks_schema_pg_sql) != SQLDB_DONE)
			goto fail;
		if (!quiet)
			fprintf(stderr, PROG ": created the mytracks schema in %s\n", safe);
		v = SCHEMA_VERSION;
	}
	if (v != SCHEMA_VERSION) {
		if (v >= 0)
			fprintf(stderr, PROG ": %s has schema version %" PRId64 " (want %d)\n",
				safe, v, SCHEMA_VERSION);
		sqldb_exec(dst, "ROLLBACK");
		return -1;
	}
	if (sqldb_exec(dst, "COMMIT") == SQLDB_DONE)
		return 0;
fail:
	fprintf(stderr, PROG ": %s: prepare the schema: %s\n", safe, sqldb_errmsg(dst));
	sqldb_exec(dst, "ROLLBACK");
	return -1;
}

/* Column `i` of the source row as parameter i + 1 of `st`. */
static int bind_col(struct sqldb_stmt *st, struct sqldb_stmt *row, int i, char type)
{
	if (sqldb_col_null(row, i))
		return sqldb_bind_null(st, i + 1);
	switch (type) {
	case 'i':
		return sqldb_bind_int64(st, i + 1, sqldb_col_int64(row, i));
	case 'd':
		return sqldb_bind_double(st, i + 1, sqldb_col_double(row, i));
	default:
		return sqldb_bind_text(st, i + 1, sqldb_col_text(row, i), -1);
	}
}

/* The column names of `t` into `names` (pointers into `buf`): how many. */
static int split_cols(const struct table *t, char *buf, size_t len, const char **names)
{
	int n = 0;

	snprintf(buf, len, "%s", t->cols);
	for (char *p = buf; p && n < MAX_COLS; n++) {
		names[n] = p;
		p = strchr(p, ',');
		if (p) {
			*p++ = '\0';
			p += *p == ' ';
		}
	}
	return n;
}

/* Which column of the PostgreSQL row `pg` differs from the source row
 * `row`, or NULL if none does. */
static const char *first_difference(struct sqldb_stmt *pg, struct sqldb_stmt *row,
				    const struct table *t, const char **names, int ncols)
{
	for (int i = 0; i < ncols; i++) {
		bool same;

		if (sqldb_col_null(pg, i) || sqldb_col_null(row, i))
			same = sqldb_col_null(pg, i) == sqldb_col_null(row, i);
		else if (t->types[i] == 'i')
			same = sqldb_col_int64(pg, i) == sqldb_col_int64(row, i);
		else if (t->types[i] == 'd')
			same = sqldb_col_double(pg, i) == sqldb_col_double(row, i);
		else
			same = strcmp(sqldb_col_text(pg, i), sqldb_col_text(row, i)) == 0;
		if (!same)
			return names[i];
	}
	return NULL;
}

/* Say why the row `row`, which the insert skipped, is not the one in
 * PostgreSQL: a different row under its id (naming a column that
 * differs), or its unique key under another id. */
static void explain_conflict(struct sqldb *dst, struct sqldb_stmt *row, const struct table *t,
			     const char **names, int ncols)
{
	char q[1024];
	struct sqldb_stmt *st;
	int64_t id = sqldb_col_int64(row, 0);

	snprintf(q, sizeof(q), "SELECT %s FROM %s WHERE id = ?1", t->cols, t->name);
	st = sqldb_prepare(dst, q);
	if (st && sqldb_bind_int64(st, 1, id) == SQLDB_DONE && sqldb_step(st) == SQLDB_ROW) {
		const char *col = first_difference(st, row, t, names, ncols);

		fprintf(stderr,
			PROG ": %s id %" PRId64 ": PostgreSQL holds a different row under this id "
			     "(%s differs)",
			t->name, id, col ? col : "a column");
	} else {
		int64_t other = -1;

		sqldb_finalize(st);
		st = NULL;
		if (t->key) {
			snprintf(q, sizeof(q), "SELECT id FROM %s WHERE %s", t->name, t->key);
			st = sqldb_prepare(dst, q);
			for (int i = 0; st && i < ncols; i++)
				bind_col(st, row, i, t->types[i]);
			if (st && sqldb_step(st) == SQLDB_ROW)
				other = sqldb_col_int64(st, 0);
		}
		fprintf(stderr,
			PROG ": %s id %" PRId64 ": PostgreSQL holds its %s under id %" PRId64,
			t->name, id, t->key_name ? t->key_name : "unique key", other);
	}
	sqldb_finalize(st);
	fprintf(stderr, "; stopped there, what was copied before stays (compare the two "
			"databases, or copy into an empty one)\n");
}

/* " AND a IS NOT DISTINCT FROM CAST(?2 AS …) …" for every column but the
 * id, into `buf`. */
static void same_every_column(const struct table *t, const char **names, int ncols, char *buf,
			      size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 1; i < ncols && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s IS NOT DISTINCT FROM CAST(?%d AS %s)",
				      i > 1 ? " AND " : "", names[i], i + 1,
				      t->types[i] == 'i'   ? "BIGINT"
				      : t->types[i] == 'd' ? "DOUBLE PRECISION"
							   : "TEXT");
}

/* Bind every column of the source row `row` to `st` and step it: SQLDB_*. */
static int bind_step(struct sqldb_stmt *st, struct sqldb_stmt *row, const struct table *t,
		     int ncols)
{
	for (int i = 0; i < ncols; i++)
		if (bind_col(st, row, i, t->types[i]) != SQLDB_DONE)
			return SQLDB_ERROR;
	return sqldb_step(st);
}

/* Copy the rows of `t` that PostgreSQL lacks, `batch` per transaction,
 * checking the ones it has. 0, or -1 after printing why. */
static int copy_table(struct sqldb *src, struct sqldb *dst, const struct table *t, int batch,
		      struct counts *c)
{
	char names_buf[512], sel[1024], ins[1024], same[2048], ph[MAX_COLS * 5];
	const char *names[MAX_COLS];
	struct sqldb_stmt *rows = NULL, *put = NULL, *chk = NULL, *upd = NULL;
	int ncols = (int)strlen(t->types), n, rc = -1;
	int64_t last = -1;
	size_t o = 0;

	if (split_cols(t, names_buf, sizeof(names_buf), names) != ncols || ncols > MAX_COLS) {
		fprintf(stderr, PROG ": %s: the column types do not match the columns\n", t->name);
		return -1;
	}
	for (int i = 0; i < ncols; i++)
		o += (size_t)snprintf(ph + o, sizeof(ph) - o, "%s?%d", i ? ", " : "", i + 1);
	snprintf(sel, sizeof(sel), "SELECT %s FROM %s WHERE id > ?1 ORDER BY id LIMIT ?2", t->cols,
		 t->name);
	snprintf(ins, sizeof(ins), "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING",
		 t->name, t->cols, ph);
	/* every parameter is bound; the check reads the ones it names */
	o = (size_t)snprintf(same, sizeof(same), "SELECT 1 FROM %s WHERE id = ?1 AND ", t->name);
	if (t->same)
		snprintf(same + o, sizeof(same) - o, "%s", t->same);
	else
		same_every_column(t, names, ncols, same + o, sizeof(same) - o);
	rows = sqldb_prepare(src, sel);
	put = sqldb_prepare(dst, ins);
	chk = sqldb_prepare(dst, same);
	if (t->refresh)
		upd = sqldb_prepare(dst, t->refresh);
	if (!rows || !put || !chk || (t->refresh && !upd)) {
		fprintf(stderr, PROG ": %s: prepare: %s%s\n", t->name, sqldb_errmsg(src),
			sqldb_errmsg(dst));
		goto out;
	}
	do {
		int srow;

		if (sqldb_bind_int64(rows, 1, last) != SQLDB_DONE ||
		    sqldb_bind_int64(rows, 2, batch) != SQLDB_DONE ||
		    sqldb_exec(dst, "BEGIN") != SQLDB_DONE)
			goto fail;
		n = 0;
		while ((srow = sqldb_step(rows)) == SQLDB_ROW) {
			if (bind_step(put, rows, t, ncols) != SQLDB_DONE)
				goto fail;
			if (sqldb_changes(put) == 1) {
				c->copied++;
			} else {
				int found = bind_step(chk, rows, t, ncols);

				sqldb_reset(chk);
				if (found == SQLDB_DONE) {
					explain_conflict(dst, rows, t, names, ncols);
					goto rollback;
				}
				if (found != SQLDB_ROW)
					goto fail;
				c->present++;
				if (upd) {
					if (bind_step(upd, rows, t, ncols) != SQLDB_DONE)
						goto fail;
					c->updated += sqldb_changes(upd);
					sqldb_reset(upd);
				}
			}
			sqldb_reset(put);
			last = sqldb_col_int64(rows, 0);
			n++;
		}
		sqldb_reset(rows);
		if (srow != SQLDB_DONE || sqldb_exec(dst, "COMMIT") != SQLDB_DONE)
			goto fail;
		if (!quiet && n)
			fprintf(stderr,
				PROG ": %s: up to id %" PRId64 ", %" PRId64 " copied, %" PRId64
				     " already there\n",
				t->name, last, c->copied, c->present);
	} while (n == batch);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, PROG ": %s after id %" PRId64 ": %s%s%s\n", t->name, last,
		sqldb_errmsg(src), *sqldb_errmsg(src) ? " " : "", sqldb_errmsg(dst));
rollback:
	sqldb_exec(dst, "ROLLBACK");
out:
	sqldb_finalize(rows);
	sqldb_finalize(put);
	sqldb_finalize(chk);
	sqldb_finalize(upd);
	return rc;
}

/* c->max_id: the source's largest id of `t`. 0 or -1. */
static int source_max_id(struct sqldb *src, const struct table *t, struct counts *c)
{
	char q[128];

	snprintf(q, sizeof(q), "SELECT coalesce(max(id), 0) FROM %s", t->name);
	c->max_id = query_int(src, t->name, q);
	return c->max_id < 0 ? -1 : 0;
}

/* c->extra: PostgreSQL's rows of `t` with ids up to the source's largest
 * that the source does not have. After copy_table, which found every
 * source row in PostgreSQL. 0 or -1. */
static int count_extra(struct sqldb *src, struct sqldb *dst, const struct table *t,
		       struct counts *c)
{
	char q[128];
	struct sqldb_stmt *st;
	int64_t in_pg = -1;

	if (source_max_id(src, t, c))
		return -1;
	snprintf(q, sizeof(q), "SELECT count(*) FROM %s WHERE id <= ?1", t->name);
	st = sqldb_prepare(dst, q);
	if (st && sqldb_bind_int64(st, 1, c->max_id) == SQLDB_DONE && sqldb_step(st) == SQLDB_ROW)
		in_pg = sqldb_col_int64(st, 0);
	else
		fprintf(stderr, PROG ": %s: count: %s\n", t->name, sqldb_errmsg(dst));
	sqldb_finalize(st);
	if (in_pg < 0)
		return -1;
	c->extra = in_pg - c->copied - c->present;
	return 0;
}

/* --prune: delete PostgreSQL's rows of `t` with ids up to the source's
 * largest that the source does not have (deleted there since an earlier
 * run), `batch` per transaction. 0, or -1 after printing why. */
static int prune_table(struct sqldb *src, struct sqldb *dst, const struct table *t, int batch,
		       struct counts *c)
{
	char q[3][128];
	struct sqldb_stmt *ids, *has, *del;
	int64_t *gone = malloc(sizeof(*gone) * (size_t)batch), last = 0;
	int n, ngone, rc = -1;

	snprintf(q[0], sizeof(q[0]),
		 "SELECT id FROM %s WHERE id > ?1 AND id <= ?2 ORDER BY id "
		 "LIMIT ?3",
		 t->name);
	snprintf(q[1], sizeof(q[1]), "SELECT 1 FROM %s WHERE id = ?1", t->name);
	snprintf(q[2], sizeof(q[2]), "DELETE FROM %s WHERE id = ?1", t->name);
	ids = sqldb_prepare(dst, q[0]);
	has = sqldb_prepare(src, q[1]);
	del = sqldb_prepare(dst, q[2]);
	if (!gone || !ids || !has || !del) {
		fprintf(stderr, PROG ": %s: prepare the pruning: %s%s\n", t->name,
			sqldb_errmsg(src), sqldb_errmsg(dst));
		goto out;
	}
	do {
		int step;

		n = ngone = 0;
		sqldb_bind_int64(ids, 1, last);
		sqldb_bind_int64(ids, 2, c->max_id);
		sqldb_bind_int64(ids, 3, batch);
		while ((step = sqldb_step(ids)) == SQLDB_ROW) {
			last = sqldb_col_int64(ids, 0);
			n++;
			sqldb_bind_int64(has, 1, last);
			step = sqldb_step(has);
			sqldb_reset(has);
			if (step == SQLDB_DONE)
				gone[ngone++] = last;
			else if (step != SQLDB_ROW)
				break;
		}
		sqldb_reset(ids);
		if (step != SQLDB_DONE || sqldb_exec(dst, "BEGIN") != SQLDB_DONE)
			goto fail;
		for (int i = 0; i < ngone; i++) {
			sqldb_bind_int64(del, 1, gone[i]);
			step = sqldb_step(del);
			sqldb_reset(del);
			if (step != SQLDB_DONE) {
				fprintf(stderr, PROG ": %s id %" PRId64 ": delete: %s\n", t->name,
					gone[i], sqldb_errmsg(dst));
				sqldb_exec(dst, "ROLLBACK");
				goto out;
			}
		}
		if (sqldb_exec(dst, "COMMIT") != SQLDB_DONE)
			goto fail;
		c->pruned += ngone;
	} while (n == batch);
	if (!quiet && c->pruned)
		fprintf(stderr, PROG ": %s: deleted %" PRId64 " rows SQLite no longer has\n",
			t->name, c->pruned);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, PROG ": %s: prune after id %" PRId64 ": %s%s%s\n", t->name, last,
		sqldb_errmsg(src), *sqldb_errmsg(src) ? " " : "", sqldb_errmsg(dst));
	if (sqldb_in_txn(dst))
		sqldb_exec(dst, "ROLLBACK");
out:
	sqldb_finalize(ids);
	sqldb_finalize(has);
	sqldb_finalize(del);
	free(gone);
	return rc;
}

/* --prune first (children before devices, so a deleted device's rows go
 * before it, and a report stored again under a new id finds its old
 * copy gone), then the copy (devices first), then the rows PostgreSQL
 * has beyond the source's. 0 or -1. */
static int migrate(struct sqldb *src, struct sqldb *dst, int batch, bool prune, struct counts *c)
{
	if (prune)
		for (size_t i = NTABLES; i-- > 0;)
			if (source_max_id(src, &tables[i], &c[i]) ||
			    prune_table(src, dst, &tables[i], batch, &c[i]))
				return -1;
	for (size_t i = 0; i < NTABLES; i++)
		if (copy_table(src, dst, &tables[i], batch, &c[i]) ||
		    count_extra(src, dst, &tables[i], &c[i]))
			return -1;
	for (size_t i = 0; i < NTABLES; i++)
		if (c[i].extra > 0)
			fprintf(stderr,
				PROG ": %s: PostgreSQL has %" PRId64 " rows with ids up to %" PRId64
				     " that SQLite no longer has (deleted since an earlier run?); "
				     "--prune deletes them\n",
				tables[i].name, c[i].extra, c[i].max_id);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"batch", required_argument, NULL, 'b'},
		{"prune", no_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct counts c[NTABLES] = {{0}};
	struct sqldb *src = NULL, *dst = NULL;
	char err[512], safe[256];
	int64_t batch = BATCH_DEFAULT;
	bool prune = false;
	int opt, status = 1;

	while ((opt = getopt_long(argc, argv, "b:pqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (num_parse(optarg, 1, 1000000, &batch)) {
				fprintf(stderr, PROG ": --batch: a number from 1 to 1000000\n");
				return 2;
			}
			break;
		case 'p':
			prune = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || sqldb_kind_of(argv[optind]) != SQLDB_SQLITE ||
	    sqldb_kind_of(argv[optind + 1]) != SQLDB_POSTGRES) {
		usage(stderr);
		return 2;
	}
	sqldb_redact(argv[optind + 1], safe, sizeof(safe));
	src = sqldb_open(argv[optind], SQLDB_READONLY, 10000, err, sizeof(err));
	if (!src) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	dst = sqldb_open(argv[optind + 1], 0, 10000, err, sizeof(err));
	if (!dst) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	/* one snapshot of the source for the whole copy: rows the plugin
	 * commits meanwhile are left for the next run */
	if (check_source(src, argv[optind]) || prepare_target(dst, safe) ||
	    sqldb_exec(src, "BEGIN") != SQLDB_DONE || migrate(src, dst, (int)batch, prune, c))
		goto out;
	sqldb_exec(src, "COMMIT");
	status = 0;
	if (!quiet)
		for (size_t i = 0; i < NTABLES; i++) {
			printf("%s: %" PRId64 " copied, %" PRId64 " already there", tables[i].name,
			       c[i].copied, c[i].present);
			if (c[i].updated)
				printf(", %" PRId64 " updated", c[i].updated);
			if (c[i].pruned)
				printf(", %" PRId64 " deleted", c[i].pruned);
			printf("\n");
		}
out:
	sqldb_close(src);
	sqldb_close(dst);
	return status;
}
