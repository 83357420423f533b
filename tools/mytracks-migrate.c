/* mytracks-migrate: copy a mytracks SQLite database into PostgreSQL.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Devices, locations and events are copied with their ids, so that data
 * objects, since_id cursors and exports stay what they were; the plugin on
 * PostgreSQL goes on from the largest id. Each batch is one transaction,
 * and every row goes in with ON CONFLICT DO NOTHING: a run that was
 * interrupted, or a second run, copies only what is missing. A row that is
 * already there is compared with the source (the same id must be the same
 * row; a (device, tst) stored under another id is a conflict), and the
 * first difference stops the copy with the row named.
 *
 * While it copies it holds the writer lock of the PostgreSQL database
 * (core/sqldb.h): a running plugin makes it refuse, and a plugin started
 * meanwhile refuses to start. The SQLite file is opened read-only: it may
 * be the live database of a running plugin (WAL), which then goes on.
 */
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
	/* a row already in PostgreSQL is the same row: these columns equal */
	const char *same;
};

static const struct table tables[] = {
	{"devices",
	 "id, \"user\", device, display_name, tid, first_seen, last_seen, online, "
	 "status_changed",
	 "ittttiiii", "\"user\" IS NOT DISTINCT FROM ?2 AND device IS NOT DISTINCT FROM ?3"},
	{"locations",
	 "id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, trig, cog, vac, bs, "
	 "ssid, bssid, created_at, ip_address, received_at, raw, decrypted",
	 "iiiddiiiitttiiittititi",
	 "device_id IS NOT DISTINCT FROM ?2 AND tst IS NOT DISTINCT FROM ?3 AND raw IS NOT "
	 "DISTINCT FROM ?21"},
	{"events", "id, device_id, type, tst, received_at, raw, decrypted", "iitiiti",
	 "device_id IS NOT DISTINCT FROM ?2 AND type IS NOT DISTINCT FROM ?3 AND tst IS NOT "
	 "DISTINCT FROM ?4 AND raw IS NOT DISTINCT FROM ?6"},
};

struct counts {
	int64_t copied, present;
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
		"only what is missing; a row that differs from the copy already there stops\n"
		"it. Stop the plugin that writes to POSTGRESQL first (this tool refuses while\n"
		"one runs, and holds the plugin off while it copies); the plugin on\n"
		"SQLITE_FILE may keep running, but what it stores after the copy is not\n"
		"copied until the next run.\n"
		"\n"
		"Options:\n"
		"  -b, --batch N  rows per transaction (default %d)\n"
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
	int rc = sqldb_hold_lock(dst, SQLDB_LOCK_WRITER);

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

/* A row the insert skipped: the same row under its id, or a conflict
 * (printed). 0 or -1. */
static int check_present(struct sqldb_stmt *same, struct sqldb_stmt *row, const struct table *t,
			 int ncols)
{
	int rc;

	for (int i = 0; i < ncols; i++)
		if (bind_col(same, row, i, t->types[i]) != SQLDB_DONE)
			return -1;
	rc = sqldb_step(same);
	sqldb_reset(same);
	if (rc == SQLDB_ROW)
		return 0;
	fprintf(stderr,
		PROG ": %s id %" PRId64 ": PostgreSQL holds a different row under this id, or "
		     "this row under another id; nothing after it was copied (compare the two "
		     "databases, or copy into an empty one)\n",
		t->name, sqldb_col_int64(row, 0));
	return -1;
}

static int copy_table(struct sqldb *src, struct sqldb *dst, const struct table *t, int batch,
		      struct counts *c)
{
	char sel[512], ins[768], same[768], ph[MAX_COLS * 5];
	struct sqldb_stmt *rows = NULL, *put = NULL, *chk = NULL;
	int ncols = (int)strlen(t->types), n, rc = -1;
	int64_t last = -1;
	size_t o = 0;

	for (const char *p = t->cols; *p; p++)
		o += *p == ',';
	if ((int)o + 1 != ncols || ncols > MAX_COLS) {
		fprintf(stderr, PROG ": %s: %d column types for %zu columns\n", t->name, ncols,
			o + 1);
		return -1;
	}
	o = 0;
	for (int i = 0; i < ncols; i++)
		o += (size_t)snprintf(ph + o, sizeof(ph) - o, "%s?%d", i ? ", " : "", i + 1);
	snprintf(sel, sizeof(sel), "SELECT %s FROM %s WHERE id > ?1 ORDER BY id LIMIT ?2", t->cols,
		 t->name);
	snprintf(ins, sizeof(ins), "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING",
		 t->name, t->cols, ph);
	/* every parameter is bound; the check reads the ones it names */
	snprintf(same, sizeof(same), "SELECT 1 FROM %s WHERE id = ?1 AND %s", t->name, t->same);
	rows = sqldb_prepare(src, sel);
	put = sqldb_prepare(dst, ins);
	chk = sqldb_prepare(dst, same);
	if (!rows || !put || !chk) {
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
			bool bad = false;

			for (int i = 0; i < ncols; i++)
				bad |= bind_col(put, rows, i, t->types[i]) != SQLDB_DONE;
			if (bad || sqldb_step(put) != SQLDB_DONE)
				goto fail;
			if (sqldb_changes(put) == 1) {
				c->copied++;
			} else {
				if (check_present(chk, rows, t, ncols))
					goto rollback;
				c->present++;
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
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"batch", required_argument, NULL, 'b'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct counts c[sizeof(tables) / sizeof(tables[0])] = {{0}};
	struct sqldb *src = NULL, *dst = NULL;
	char err[512], safe[256];
	long batch = BATCH_DEFAULT;
	int opt, status = 1;

	while ((opt = getopt_long(argc, argv, "b:qh", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'b':
			batch = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || batch < 1 || batch > 1000000) {
				fprintf(stderr, PROG ": --batch: a number from 1 to 1000000\n");
				return 2;
			}
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
	    sqldb_exec(src, "BEGIN") != SQLDB_DONE)
		goto out;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (copy_table(src, dst, &tables[i], (int)batch, &c[i]))
			goto out;
	sqldb_exec(src, "COMMIT");
	status = 0;
	if (!quiet)
		for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
			printf("%s: %" PRId64 " copied, %" PRId64 " already there\n",
			       tables[i].name, c[i].copied, c[i].present);
out:
	sqldb_close(src);
	sqldb_close(dst);
	return status;
}
