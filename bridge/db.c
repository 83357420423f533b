/* db: read-only history queries on the plugin's database (SQLite or PostgreSQL).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataobj.h"
#include "ot.h"

/* The columns dataobj_location() needs, in the order row_location() reads.
 * `user` is a reserved word in PostgreSQL: it is written "user". */
#define LOC_COLS                                                                                   \
	"l.id, l.device_id, d.\"user\", d.device, d.display_name, l.tst, l.lat, l.lon, l.acc, "    \
	"l.alt, l.vel, l.batt, l.conn, l.tid, l.trig, l.cog, l.vac, l.bs, l.ssid, l.bssid, "       \
	"l.ip_address, l.received_at, l.raw"
#define LOC_FROM " FROM locations l JOIN devices d ON d.id = l.device_id"

/* What the two dialects spell differently (the rest is SQL both read):
 *
 * VISIBLE: rows of users the viewer may see; ?9 is a JSON array of user
 * names, or NULL for everyone (no login, or an admin).
 *
 * JSON_ARRAY / JSON_STR: a key of the stored report, when the report is
 * valid JSON and the value has that type, else NULL (one odd report must
 * not fail a whole query: SQLite's CASE evaluates lazily so json_type never
 * sees bad JSON; PostgreSQL's mytracks_json() (schema_pg.sql) gives NULL).
 * The array comes back as JSON text (recobj parses it again). */
#define SQLITE_VISIBLE "(?9 IS NULL OR d.\"user\" IN (SELECT value FROM json_each(?9)))"
#define SQLITE_JSON_ARRAY(raw, key)                                                                \
	"CASE WHEN json_valid(" raw ") THEN CASE WHEN json_type(" raw ", '$." key                  \
	"') = 'array' THEN json_extract(" raw ", '$." key "') END END"
#define SQLITE_JSON_STR(raw, key)                                                                  \
	"CASE WHEN json_valid(" raw ") THEN CASE WHEN json_type(" raw ", '$." key                  \
	"') = 'text' THEN json_extract(" raw ", '$." key "') END END"
#define PG_VISIBLE                                                                                 \
	"(CAST(?9 AS TEXT) IS NULL OR d.\"user\" IN "                                              \
	"(SELECT json_array_elements_text(CAST(?9 AS JSON))))"
#define PG_JSON_ARRAY(raw, key)                                                                    \
	"CASE WHEN json_typeof(mytracks_json(" raw ")->'" key "') = 'array' THEN "                 \
	"CAST(mytracks_json(" raw ")->'" key "' AS TEXT) END"
#define PG_JSON_STR(raw, key)                                                                      \
	"CASE WHEN json_typeof(mytracks_json(" raw ")->'" key "') = 'string' THEN "                \
	"mytracks_json(" raw ")->>'" key "' END"

/* The Recorder API's columns, in the order rec_row() reads: what recobj
 * and dataobj need, then the card's name and face. */
#define REC_COLS(JSON_ARRAY, JSON_STR)                                                             \
	"d.\"user\", d.device, l.tst, l.lat, l.lon, l.acc, l.alt, l.vel, l.batt, l.conn, l.tid, "  \
	"l.trig, l.cog, l.vac, l.bs, l.ssid, l.bssid, l.received_at, " JSON_ARRAY(                 \
		"l.raw", "inregions") ", " JSON_STR("l.raw",                                       \
						    "poi") ", l.id, l.device_id, d.display_name, " \
							   "l.ip_address"

/* A page of all devices (DB_LOC_FWD). PostgreSQL plans each execution
 * with its values (SQLDB_PLAN_EACH) and picks its index itself. SQLite's
 * plan does not depend on the values: the rowid walk from since_id, or
 * (INDEXED BY) the rows of the time range sorted by id; db_locations()
 * chooses, and ?6 bounds the ids. CROSS JOIN keeps locations the outer
 * loop whatever statistics say (with sqlite_stat1 SQLite 3.40 scans
 * devices and sorts instead, docs/bench.md). */
#define FWD_WHERE(VISIBLE) " WHERE l.id > ?1 AND l.tst >= ?2 AND l.tst <= ?3 AND " VISIBLE
#define PG_LOC_FWD "SELECT " LOC_COLS LOC_FROM FWD_WHERE(PG_VISIBLE) " ORDER BY l.id LIMIT ?4"
#define SQLITE_LOC_FWD(INDEX)                                                                      \
	"SELECT " LOC_COLS " FROM locations l " INDEX                                              \
	" CROSS JOIN devices d ON d.id = l.device_id" FWD_WHERE(                                   \
		SQLITE_VISIBLE) " AND l.id <= ?6 ORDER BY l.id LIMIT ?4"
/* The statements only SQLite has (the rest of enum db_stmt is NULL). */
#define SQLITE_ONLY                                                                                \
	[DB_LOC_FWD_TST] = SQLITE_LOC_FWD("INDEXED BY locations_tst"),                             \
	[DB_LOC_RANGE_IDS] = "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM "   \
			     "(SELECT id FROM locations INDEXED BY locations_tst WHERE tst >= ?2 " \
			     "AND tst <= ?3 AND id > ?1 LIMIT ?4)"

/* ?1 since_id, ?2 start_time, ?3 end_time, ?4 limit, ?5 device id, ?9 users */
#define STMT_SQL(VISIBLE, JSON_ARRAY, JSON_STR, LOC_FWD, ONLY)                                     \
	{                                                                                          \
		[DB_LOC_FWD] = LOC_FWD,                                                            \
		[DB_LOC_FWD_DEV] = "SELECT " LOC_COLS LOC_FROM                                     \
				   " WHERE l.device_id = ?5 AND l.id > ?1 AND l.tst >= ?2 AND "    \
				   "l.tst <= ?3 AND " VISIBLE " ORDER BY l.id LIMIT ?4",           \
		[DB_LOC_LATEST] = "SELECT * FROM (SELECT " LOC_COLS LOC_FROM " WHERE " VISIBLE     \
				  " ORDER BY l.id DESC LIMIT ?4) AS t ORDER BY 1",                 \
		[DB_LOC_LATEST_DEV] = "SELECT * FROM (SELECT " LOC_COLS LOC_FROM                   \
				      " WHERE l.device_id = ?5 AND " VISIBLE                       \
				      " ORDER BY l.id DESC LIMIT ?4) AS t ORDER BY 1",             \
		[DB_DEVICES] =                                                                     \
			"SELECT d.id, d.\"user\", d.device, d.display_name, d.tid, "               \
			"d.last_seen, d.online, " LOC_COLS                                         \
			" FROM devices d LEFT JOIN locations l ON l.id = "                         \
			"(SELECT MAX(id) FROM locations WHERE device_id = d.id) WHERE " VISIBLE    \
			" ORDER BY d.id",                                                          \
		[DB_DEVICE_BY_ID] = "SELECT id FROM devices d WHERE id = ?1 AND " VISIBLE,         \
		[DB_DEVICE_BY_NAME] = "SELECT id FROM devices d WHERE d.\"user\" = ?1 AND "        \
				      "d.device = ?2 AND " VISIBLE,                                \
		[DB_REC_USERS] =                                                                   \
			"SELECT DISTINCT d.\"user\" FROM devices d WHERE " VISIBLE " ORDER BY 1",  \
		[DB_REC_DEVICES] =                                                                 \
			"SELECT d.device FROM devices d WHERE d.\"user\" = ?1 AND " VISIBLE        \
			" ORDER BY 1",                                                             \
		[DB_REC_LAST] = "SELECT " REC_COLS(JSON_ARRAY, JSON_STR) ", " JSON_STR(            \
			"c.raw",                                                                   \
			"name") ", " JSON_STR("c.raw",                                             \
					      "face") " FROM devices d JOIN locations l ON l.id "  \
						      "= (SELECT id FROM locations "               \
						      "WHERE device_id = d.id ORDER BY tst DESC, " \
						      "id DESC LIMIT 1) LEFT JOIN "                \
						      "events c ON c.id = (SELECT MAX(id) FROM "   \
						      "events WHERE device_id = d.id "             \
						      "AND type = 'card') WHERE " VISIBLE          \
						      " AND (CAST(?1 AS TEXT) IS NULL OR "         \
						      "d.\"user\" = ?1) AND (CAST(?2 AS "          \
						      "TEXT) IS NULL OR d.device = ?2) ORDER BY "  \
						      "d.\"user\", d.device",                      \
		[DB_REC_LOCATIONS] = "SELECT * FROM (SELECT " REC_COLS(                            \
			JSON_ARRAY,                                                                \
			JSON_STR) ", NULL, NULL" LOC_FROM                                          \
				  " WHERE d.\"user\" = ?1 AND d.device = ?2 AND " VISIBLE          \
				  " AND l.tst > ?3 AND l.tst < ?4 ORDER BY l.tst DESC LIMIT ?5) "  \
				  "AS t "                                                          \
				  "ORDER BY 3",                                                    \
		[DB_REC_MAX_ID] =                                                                  \
			"SELECT coalesce(MAX(id), 0) FROM locations", /* Tracks and exports go     \
								       * device by device along    \
								       * the (device_id, tst)      \
								       * unique index: a range     \
								       * search with or without a  \
								       * device, never a scan      \
								       * (?1 device, ?2 after /    \
								       * start, ?3 end, ?4 limit). \
								       */                          \
			[DB_TRACK_PAGE] = "SELECT " LOC_COLS LOC_FROM                              \
					  " WHERE l.device_id = ?1 AND l.tst > ?2 AND l.tst <= ?3" \
					  " ORDER BY l.tst LIMIT ?4",                              \
		[DB_TRACK_SPAN] = "SELECT count(*), min(tst), max(tst) FROM locations"             \
				  " WHERE device_id = ?1 AND tst >= ?2 AND tst <= ?3",             \
		[DB_NEXT_DEVICE] = "SELECT id FROM devices d WHERE id > ?1 AND " VISIBLE           \
				   " ORDER BY id LIMIT 1",                                         \
		ONLY                                                                               \
	}

static const char *const sqlite_sql[DB_N_STMTS] =
	STMT_SQL(SQLITE_VISIBLE, SQLITE_JSON_ARRAY, SQLITE_JSON_STR, SQLITE_LOC_FWD("NOT INDEXED"),
		 SQLITE_ONLY);
static const char *const pg_sql[DB_N_STMTS] =
	STMT_SQL(PG_VISIBLE, PG_JSON_ARRAY, PG_JSON_STR, PG_LOC_FWD, );

void db_init(struct db *db, const char *spec)
{
	memset(db, 0, sizeof(*db));
	db->spec = spec;
}

void db_close(struct db *db)
{
	int i;

	for (i = 0; i < DB_N_STMTS; i++) {
		sqldb_finalize(db->stmt[i]);
		db->stmt[i] = NULL;
	}
	sqldb_close(db->h);
	db->h = NULL;
}

bool db_ready(struct db *db)
{
	const char *const *sql;
	int i;

	if (db->h)
		return true;
	db->h = sqldb_open(db->spec, SQLDB_READONLY | SQLDB_PLAN_EACH, 1000, db->error,
			   sizeof(db->error));
	if (!db->h)
		return false;
	sql = sqldb_kind(db->h) == SQLDB_POSTGRES ? pg_sql : sqlite_sql;
	if (sqldb_kind(db->h) == SQLDB_POSTGRES &&
	    sqldb_exec(db->h, "SET default_transaction_read_only = on") != SQLDB_DONE)
		goto fail;
	for (i = 0; i < DB_N_STMTS; i++) {
		if (!sql[i])
			continue;
		db->stmt[i] = sqldb_prepare(db->h, sql[i]);
		/* a database of schema < 3 has no locations_tst: walk the rowid */
		if (!db->stmt[i] && (i == DB_LOC_FWD_TST || i == DB_LOC_RANGE_IDS))
			continue;
		if (!db->stmt[i])
			goto fail;
	}
	db->error[0] = '\0';
	return true;
fail:
	snprintf(db->error, sizeof(db->error), "%s", sqldb_errmsg(db->h));
	db_close(db);
	return false;
}

/* A failed step: keep the reason, and close on errors that reopening may
 * cure (file replaced, I/O error, corruption, connection lost). */
static enum db_result step_failed(struct db *db, int rc)
{
	snprintf(db->error, sizeof(db->error), "%s", sqldb_errmsg(db->h));
	if (rc != SQLDB_BUSY)
		db_close(db);
	return DB_UNAVAILABLE;
}

static int64_t col_opt_int(struct sqldb_stmt *s, int i)
{
	return sqldb_col_null(s, i) ? OT_NONE : sqldb_col_int64(s, i);
}

static const char *col_str(struct sqldb_stmt *s, int i)
{
	return sqldb_col_text(s, i); /* NULL for NULL */
}

/* Fill `d` (and `loc` and `x`, which it points to) from the row's LOC_COLS
 * starting at column `c`; strings point into the row, and the extra keys
 * into the stored report parsed by the plugin's own reader (core/ot.c),
 * so that history objects are the live ones. Returns what to release
 * with ot_extras_free() once `d` is used. */
static void *row_location_fill(struct sqldb_stmt *s, int c, struct dataobj_location *d,
			       struct ot_location *loc, struct ot_extras *x)
{
	const char *raw = sqldb_col_text(s, c + 22);
	void *doc = ot_extras_parse(raw, raw ? strlen(raw) : 0, x);

	memset(loc, 0, sizeof(*loc));
	memset(d, 0, sizeof(*d));

	loc->tst = sqldb_col_int64(s, c + 5);
	loc->lat = sqldb_col_double(s, c + 6);
	loc->lon = sqldb_col_double(s, c + 7);
	loc->acc = col_opt_int(s, c + 8);
	loc->alt = col_opt_int(s, c + 9);
	loc->vel = col_opt_int(s, c + 10);
	loc->batt = col_opt_int(s, c + 11);
	loc->conn = col_str(s, c + 12);
	loc->tid = col_str(s, c + 13);
	loc->trigger = col_str(s, c + 14);
	loc->cog = col_opt_int(s, c + 15);
	loc->vac = col_opt_int(s, c + 16);
	loc->bs = col_opt_int(s, c + 17);
	loc->ssid = col_str(s, c + 18);
	loc->bssid = col_str(s, c + 19);
	loc->created_at = OT_NONE;
	d->id = sqldb_col_int64(s, c);
	d->device_id = sqldb_col_int64(s, c + 1);
	d->user = col_str(s, c + 2);
	d->device = col_str(s, c + 3);
	d->display_name = col_str(s, c + 4);
	d->ip_address = col_str(s, c + 20);
	d->received_at = sqldb_col_int64(s, c + 21);
	d->loc = loc;
	d->extras = x;
	if (!d->user)
		d->user = "";
	if (!d->device)
		d->device = "";
	return doc;
}

/* Append the data object of the row's LOC_COLS starting at column `c`. */
static void row_location(struct sqldb_stmt *s, int c, struct jbuf *out)
{
	struct ot_location loc;
	struct dataobj_location d;
	struct ot_extras x;
	void *doc = row_location_fill(s, c, &d, &loc, &x);

	dataobj_location(out, &d);
	ot_extras_free(doc);
}

static enum db_result lookup_id(struct db *db, struct sqldb_stmt *s, int64_t *id)
{
	int rc = sqldb_step(s);
	enum db_result r;

	if (rc == SQLDB_ROW) {
		*id = sqldb_col_int64(s, 0);
		r = DB_OK;
	} else if (rc == SQLDB_DONE) {
		r = DB_NOT_FOUND;
	} else {
		r = step_failed(db, rc);
		return r; /* statements may be finalized now */
	}
	sqldb_reset(s);
	return r;
}

static enum sqldb_rc bind_visible(struct sqldb_stmt *s, const char *users_json)
{
	if (users_json)
		return sqldb_bind_text(s, 9, users_json, -1);
	return sqldb_bind_null(s, 9);
}

enum db_result db_device_id(struct db *db, const char *spec, const char *users_json, int64_t *id)
{
	const char *slash = strchr(spec, '/');
	struct sqldb_stmt *s;

	if (!db_ready(db))
		return DB_UNAVAILABLE;
	if (!slash) {
		s = db->stmt[DB_DEVICE_BY_ID];
		sqldb_bind_int64(s, 1, strtoll(spec, NULL, 10));
	} else {
		s = db->stmt[DB_DEVICE_BY_NAME];
		sqldb_bind_text(s, 1, spec, (int)(slash - spec));
		sqldb_bind_text(s, 2, slash + 1, -1);
	}
	bind_visible(s, users_json);
	return lookup_id(db, s, id);
}

/* Step `s` (bound), appending its rows to the page up to `limit` rows in
 * all; a row beyond that sets has_more. Resets `s`. */
static enum db_result loc_rows(struct db *db, struct sqldb_stmt *s, int limit, struct jbuf *out,
			       struct db_loc_page *page)
{
	int rc;

	while ((rc = sqldb_step(s)) == SQLDB_ROW) {
		if (page->count == limit) {
			page->has_more = true;
			break;
		}
		if (page->count)
			jbuf_putc(out, ',');
		row_location(s, 0, out);
		page->last_id = sqldb_col_int64(s, 0);
		page->count++;
	}
	if (rc != SQLDB_ROW && rc != SQLDB_DONE)
		return step_failed(db, rc);
	sqldb_reset(s);
	return DB_OK;
}

/* SQLite's page of all devices (issue 12). The rowid walk from since_id
 * tests tst row by row: it costs the rows it passes until the page is
 * full, all those after since_id when the range is near the end. The tst
 * index costs the rows of the range (each one read from the table, then
 * sorted by id), about FWD_TST_COST times a walked row (docs/bench.md).
 * So: first walk FWD_PROBE rows, which serves polling and ranges that
 * follow since_id. Then, unless the range holds many of the rows left,
 * count its rows on the covering tst index with their smallest and
 * largest id: no row outside those ids can match, so the walk starts at
 * the smallest and stops at the largest, and the tst index is used only
 * when the range is so sparse in id order that walking it costs more.
 * Every part reads id order, so the page is the same whichever runs (the
 * ids in between have no row of the range). */
#define FWD_PROBE(limit) (8 * ((int64_t)(limit) + 1))
#define FWD_TST_COST 4
#define FWD_COUNT_SHARE 8 /* count at most 1/8 of the rows after since_id */

/* Rows with id in (after, upto] of the range, by `s` (DB_LOC_FWD or
 * DB_LOC_FWD_TST), onto the page. */
static enum db_result fwd_part(struct db *db, struct sqldb_stmt *s, const struct db_loc_query *q,
			       int64_t after, int64_t upto, struct jbuf *out,
			       struct db_loc_page *page)
{
	if (sqldb_bind_int64(s, 1, after) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 2, q->start_time) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 3, q->end_time) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 4, (int64_t)q->limit - page->count + 1) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 6, upto) != SQLDB_DONE ||
	    bind_visible(s, q->users_json) != SQLDB_DONE) {
		sqldb_reset(s);
		return step_failed(db, SQLDB_ERROR);
	}
	return loc_rows(db, s, q->limit, out, page);
}

/* How many rows of the range have an id > after (at most `cap`), and
 * their smallest and largest id. */
static enum db_result fwd_range_ids(struct db *db, const struct db_loc_query *q, int64_t after,
				    int64_t cap, int64_t *n, int64_t *lo, int64_t *hi)
{
	struct sqldb_stmt *s = db->stmt[DB_LOC_RANGE_IDS];
	int rc;

	if (sqldb_bind_int64(s, 1, after) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 2, q->start_time) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 3, q->end_time) != SQLDB_DONE ||
	    sqldb_bind_int64(s, 4, cap) != SQLDB_DONE) {
		sqldb_reset(s);
		return step_failed(db, SQLDB_ERROR);
	}
	rc = sqldb_step(s);
	if (rc != SQLDB_ROW)
		return step_failed(db, rc == SQLDB_DONE ? SQLDB_ERROR : rc);
	*n = sqldb_col_int64(s, 0);
	*lo = sqldb_col_int64(s, 1);
	*hi = sqldb_col_int64(s, 2);
	sqldb_reset(s);
	return DB_OK;
}

static enum db_result fwd_sqlite(struct db *db, const struct db_loc_query *q, struct jbuf *out,
				 struct db_loc_page *page)
{
	struct sqldb_stmt *walk = db->stmt[DB_LOC_FWD], *tst = db->stmt[DB_LOC_FWD_TST];
	int64_t after = q->since_id, top = 0, cap, n = 0, lo = 0, hi = 0;
	double need, walk_cost;
	enum db_result r;

	db->fwd_used = DB_FWD_ROWID;
	if (!tst || !db->stmt[DB_LOC_RANGE_IDS] || db->fwd_plan == DB_FWD_ROWID)
		return fwd_part(db, walk, q, after, INT64_MAX, out, page);
	if (db->fwd_plan == DB_FWD_TST) {
		db->fwd_used = DB_FWD_TST;
		return fwd_part(db, tst, q, after, INT64_MAX, out, page);
	}
	if (after >= INT64_MAX - FWD_PROBE(q->limit))
		return fwd_part(db, walk, q, after, INT64_MAX, out, page);
	r = fwd_part(db, walk, q, after, after + FWD_PROBE(q->limit), out, page);
	if (r != DB_OK || page->has_more)
		return r;
	after += FWD_PROBE(q->limit);
	r = lookup_id(db, db->stmt[DB_REC_MAX_ID], &top);
	if (r != DB_OK || top <= after)
		return r;
	/* an index entry costs about 1.5 walked rows: a range holding more
	 * than 1/FWD_COUNT_SHARE of the rows left is walked as before */
	cap = (top - after) / FWD_COUNT_SHARE + 1;
	r = fwd_range_ids(db, q, after, cap, &n, &lo, &hi);
	if (r != DB_OK || n == 0)
		return r;
	if (n >= cap)
		return fwd_part(db, walk, q, after, INT64_MAX, out, page);
	/* the ids the walk passes: all of lo..hi when the page takes every
	 * row left, else (a guess, as if evenly spread) until it is full */
	need = (double)q->limit - page->count + 1;
	walk_cost = (double)(hi - lo + 1);
	if (n > need)
		walk_cost *= need / (double)n;
	if ((double)n * FWD_TST_COST < walk_cost) {
		db->fwd_used = DB_FWD_TST;
		return fwd_part(db, tst, q, after, hi, out, page);
	}
	return fwd_part(db, walk, q, lo - 1, hi, out, page);
}

enum db_result db_locations(struct db *db, const struct db_loc_query *q, struct jbuf *out,
			    struct db_loc_page *page)
{
	enum db_stmt which;
	struct sqldb_stmt *s;
	enum db_result r;

	memset(page, 0, sizeof(*page));
	if (!db_ready(db))
		return DB_UNAVAILABLE;
	if (q->latest)
		which = q->device_id ? DB_LOC_LATEST_DEV : DB_LOC_LATEST;
	else
		which = q->device_id ? DB_LOC_FWD_DEV : DB_LOC_FWD;
	if (which == DB_LOC_FWD && sqldb_kind(db->h) == SQLDB_SQLITE) {
		r = fwd_sqlite(db, q, out, page);
		return r == DB_OK && jbuf_failed(out) ? DB_NOMEM : r;
	}
	s = db->stmt[which];
	sqldb_bind_int64(s, 1, q->since_id);
	sqldb_bind_int64(s, 2, q->start_time);
	sqldb_bind_int64(s, 3, q->end_time);
	/* one more than asked: tells whether there is more */
	sqldb_bind_int64(s, 4, q->latest ? q->limit : q->limit + 1);
	if (q->device_id)
		sqldb_bind_int64(s, 5, q->device_id);
	bind_visible(s, q->users_json);
	r = loc_rows(db, s, q->limit, out, page);
	return r == DB_OK && jbuf_failed(out) ? DB_NOMEM : r;
}

enum db_result db_devices(struct db *db, const char *users_json, struct jbuf *out)
{
	struct sqldb_stmt *s;
	int rc, n = 0;

	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[DB_DEVICES];
	bind_visible(s, users_json);
	while ((rc = sqldb_step(s)) == SQLDB_ROW) {
		struct dataobj_device dev = {
			.id = sqldb_col_int64(s, 0),
			.user = col_str(s, 1) ? col_str(s, 1) : "",
			.device = col_str(s, 2) ? col_str(s, 2) : "",
			.display_name = col_str(s, 3),
			.tid = col_str(s, 4),
			.last_seen = col_opt_int(s, 5),
			.online = sqldb_col_int64(s, 6) != 0,
		};
		struct dataobj_location last;
		struct ot_location loc;
		struct ot_extras x;
		void *doc = NULL;

		if (!sqldb_col_null(s, 7)) {
			doc = row_location_fill(s, 7, &last, &loc, &x);
			dev.last = &last;
		}
		if (n++)
			jbuf_putc(out, ',');
		dataobj_device(out, &dev);
		ot_extras_free(doc);
		if (jbuf_failed(out))
			break;
	}
	if (rc != SQLDB_ROW && rc != SQLDB_DONE)
		return step_failed(db, rc);
	sqldb_reset(s);
	return jbuf_failed(out) ? DB_NOMEM : DB_OK;
}

/* --- the Recorder-compatible API ---------------------------------------- */

static void rec_row(struct sqldb_stmt *s, struct db_rec_row *r)
{
	struct ot_location *l = &r->loc;

	memset(r, 0, sizeof(*r));
	l->tst = sqldb_col_int64(s, 2);
	l->lat = sqldb_col_double(s, 3);
	l->lon = sqldb_col_double(s, 4);
	l->acc = col_opt_int(s, 5);
	l->alt = col_opt_int(s, 6);
	l->vel = col_opt_int(s, 7);
	l->batt = col_opt_int(s, 8);
	l->conn = col_str(s, 9);
	l->tid = col_str(s, 10);
	l->trigger = col_str(s, 11);
	l->cog = col_opt_int(s, 12);
	l->vac = col_opt_int(s, 13);
	l->bs = col_opt_int(s, 14);
	l->ssid = col_str(s, 15);
	l->bssid = col_str(s, 16);
	l->created_at = OT_NONE;
	r->d.user = col_str(s, 0) ? col_str(s, 0) : "";
	r->d.device = col_str(s, 1) ? col_str(s, 1) : "";
	r->d.received_at = sqldb_col_int64(s, 17);
	r->inregions = col_str(s, 18);
	r->poi = col_str(s, 19);
	r->d.id = sqldb_col_int64(s, 20);
	r->d.device_id = sqldb_col_int64(s, 21);
	r->d.display_name = col_str(s, 22);
	r->d.ip_address = col_str(s, 23);
	r->name = col_str(s, 24);
	r->face = col_str(s, 25);
	r->d.loc = l;
}

static void bind_opt_text(struct sqldb_stmt *s, int i, const char *v)
{
	if (v)
		sqldb_bind_text(s, i, v, -1);
	else
		sqldb_bind_null(s, i);
}

/* Step `s` (bound), handing each row to `cb`; then reset it. */
static enum db_result rec_rows(struct db *db, struct sqldb_stmt *s, db_rec_cb cb, void *ctx)
{
	struct db_rec_row row;
	int rc;

	while ((rc = sqldb_step(s)) == SQLDB_ROW) {
		rec_row(s, &row);
		if (cb(ctx, &row))
			break;
	}
	if (rc != SQLDB_ROW && rc != SQLDB_DONE)
		return step_failed(db, rc);
	sqldb_reset(s);
	return DB_OK;
}

enum db_result db_rec_names(struct db *db, const char *user, const char *users_json,
			    struct jbuf *out)
{
	struct sqldb_stmt *s;
	int rc, n = 0;

	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[user ? DB_REC_DEVICES : DB_REC_USERS];
	if (user)
		sqldb_bind_text(s, 1, user, -1);
	bind_visible(s, users_json);
	while ((rc = sqldb_step(s)) == SQLDB_ROW) {
		if (n++)
			jbuf_putc(out, ',');
		jbuf_json_cstr(out, col_str(s, 0) ? col_str(s, 0) : "");
	}
	if (rc != SQLDB_DONE)
		return step_failed(db, rc);
	sqldb_reset(s);
	return jbuf_failed(out) ? DB_NOMEM : DB_OK;
}

enum db_result db_rec_last(struct db *db, const char *user, const char *device,
			   const char *users_json, db_rec_cb cb, void *ctx)
{
	struct sqldb_stmt *s;

	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[DB_REC_LAST];
	bind_opt_text(s, 1, user);
	bind_opt_text(s, 2, device);
	bind_visible(s, users_json);
	return rec_rows(db, s, cb, ctx);
}

enum db_result db_rec_locations(struct db *db, const struct db_rec_query *q, db_rec_cb cb,
				void *ctx)
{
	struct sqldb_stmt *s;

	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[DB_REC_LOCATIONS];
	sqldb_bind_text(s, 1, q->user, -1);
	sqldb_bind_text(s, 2, q->device, -1);
	sqldb_bind_int64(s, 3, q->from);
	sqldb_bind_int64(s, 4, q->to);
	sqldb_bind_int64(s, 5, q->limit > 0 ? q->limit : INT64_MAX);
	bind_visible(s, q->users_json);
	return rec_rows(db, s, cb, ctx);
}

enum db_result db_rec_max_id(struct db *db, int64_t *id)
{
	if (!db_ready(db))
		return DB_UNAVAILABLE;
	return lookup_id(db, db->stmt[DB_REC_MAX_ID], id);
}

/* --- history tracks and exports (issue 13) ----------------------------- */

enum db_result db_track_page(struct db *db, int64_t device_id, int64_t after, int64_t end,
			     int limit, db_track_row_fn fn, void *ctx, int *n)
{
	struct sqldb_stmt *s;
	int rc;

	*n = 0;
	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[DB_TRACK_PAGE];
	sqldb_bind_int64(s, 1, device_id);
	sqldb_bind_int64(s, 2, after);
	sqldb_bind_int64(s, 3, end);
	sqldb_bind_int64(s, 4, limit);
	while ((rc = sqldb_step(s)) == SQLDB_ROW) {
		struct ot_location loc;
		struct dataobj_location d;
		struct ot_extras x;
		void *doc = row_location_fill(s, 0, &d, &loc, &x);

		fn(ctx, &d);
		ot_extras_free(doc);
		(*n)++;
	}
	if (rc != SQLDB_DONE)
		return step_failed(db, rc);
	sqldb_reset(s);
	return DB_OK;
}

enum db_result db_track_span(struct db *db, int64_t device_id, int64_t start, int64_t end,
			     int64_t *count, int64_t *first, int64_t *last)
{
	struct sqldb_stmt *s;
	int rc;

	*count = *first = *last = 0;
	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[DB_TRACK_SPAN];
	sqldb_bind_int64(s, 1, device_id);
	sqldb_bind_int64(s, 2, start);
	sqldb_bind_int64(s, 3, end);
	rc = sqldb_step(s);
	if (rc != SQLDB_ROW)
		return step_failed(db, rc);
	*count = sqldb_col_int64(s, 0);
	*first = sqldb_col_int64(s, 1);
	*last = sqldb_col_int64(s, 2);
	sqldb_reset(s);
	return DB_OK;
}

enum db_result db_next_device(struct db *db, int64_t after, const char *users_json, int64_t *id)
{
	struct sqldb_stmt *s;

	if (!db_ready(db))
		return DB_UNAVAILABLE;
	s = db->stmt[DB_NEXT_DEVICE];
	sqldb_bind_int64(s, 1, after);
	bind_visible(s, users_json);
	return lookup_id(db, s, id);
}
