/* test_db: the bridge's history statements use indexes, keyset pages.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"

#ifndef MYTRACKS_SCHEMA_FILE
#error "MYTRACKS_SCHEMA_FILE names schema/schema.sql"
#endif

static char path[64];

/* Version 3 of the schema as the plugin migrates to it (store.c). */
#define MIGRATE_V3                                                                                 \
	"ALTER TABLE locations ADD COLUMN decrypted INTEGER NOT NULL DEFAULT 0;"                   \
	"ALTER TABLE events ADD COLUMN decrypted INTEGER NOT NULL DEFAULT 0;"                      \
	"CREATE INDEX locations_tst ON locations(tst);"                                            \
	"CREATE INDEX events_tst ON events(tst); PRAGMA user_version = 3;"

/* A database with the real schema (version 1, or 3 with `v3`): devices 1
 * alice/phone, 2 bob/tab, 3 alice/watch; 10 fixes each at tst 1000, 1010,
 * ... */
static void make_db_v(bool v3)
{
	FILE *f = fopen(MYTRACKS_SCHEMA_FILE, "r");
	char *schema = calloc(1, 1 << 16);
	sqlite3 *h = NULL;
	size_t n;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(schema, 1, (1 << 16) - 1, f);
	fclose(f);
	CU_ASSERT_FATAL(n > 0);
	snprintf(path, sizeof(path), "/tmp/mytracks-test-db-%d.db", (int)getpid());
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(h, schema, NULL, NULL, NULL), SQLITE_OK);
	if (v3)
		CU_ASSERT_EQUAL_FATAL(sqlite3_exec(h, MIGRATE_V3, NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(
		sqlite3_exec(h,
			     "INSERT INTO devices(id, user, device, first_seen) VALUES"
			     " (1, 'alice', 'phone', 0), (2, 'bob', 'tab', 0),"
			     " (3, 'alice', 'watch', 0);",
			     NULL, NULL, NULL),
		SQLITE_OK);
	for (i = 0; i < 30; i++) {
		char q[256];

		/* inserted out of tst order: pages must follow tst, not id */
		snprintf(q, sizeof(q),
			 "INSERT INTO locations(device_id, tst, lat, lon, received_at, raw)"
			 " VALUES (%d, %d, 52.5, 13.4, 0, '{}')",
			 i % 3 + 1, 1000 + 10 * (9 - i / 3));
		CU_ASSERT_EQUAL(sqlite3_exec(h, q, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(h);
	free(schema);
}

static void make_db(void)
{
	make_db_v(false);
}

/* No step of the plan of `sql` scans a table (a json_each list is fine). */
static void assert_no_scan(sqlite3 *h, const char *sql)
{
	char q[4096];
	sqlite3_stmt *s;
	int rows = 0;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(s, 3);

		rows++;
		if (!strncmp(detail, "SCAN", 4) && !strstr(detail, "json_each")) {
			fprintf(stderr, "\n  plan scans: %s\n  for %s\n", detail, sql);
			CU_FAIL("a history statement scans a table");
		}
	}
	CU_ASSERT(rows > 0);
	sqlite3_finalize(s);
}

static void test_plans_use_indexes(void)
{
	static const enum db_stmt which[] = {DB_TRACK_PAGE, DB_TRACK_SPAN, DB_NEXT_DEVICE};
	struct db db;
	sqlite3 *h;
	size_t i;

	make_db();
	db_init(&db, path);
	CU_ASSERT_FATAL(db_ready(&db));
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++)
		assert_no_scan(h, sqldb_sql(db.stmt[which[i]]));
	sqlite3_close(h);
	db_close(&db);
	unlink(path);
}

struct seen {
	int n;
	int64_t tst[16], device[16];
};

static void seen_cb(void *ctx, const struct dataobj_location *d)
{
	struct seen *s = ctx;

	if (s->n < 16) {
		s->tst[s->n] = d->loc->tst;
		s->device[s->n] = d->device_id;
	}
	s->n++;
}

static void test_keyset_pages(void)
{
	struct seen s = {0};
	struct db db;
	int64_t id = 0, count, first, last;
	int n, i;

	make_db();
	db_init(&db, path);
	/* device 2 from tst 1020 (after 1010) to 1060: two pages of 3, one of 0 */
	CU_ASSERT_EQUAL(db_track_page(&db, 2, 1010, 1060, 3, seen_cb, &s, &n), DB_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(db_track_page(&db, 2, s.tst[2], 1060, 3, seen_cb, &s, &n), DB_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(s.n, 5);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(s.tst[i], 1020 + 10 * i);
		CU_ASSERT_EQUAL(s.device[i], 2);
	}
	CU_ASSERT_EQUAL(db_track_span(&db, 3, 1015, 1055, &count, &first, &last), DB_OK);
	CU_ASSERT_EQUAL(count, 4);
	CU_ASSERT_EQUAL(first, 1020);
	CU_ASSERT_EQUAL(last, 1050);
	/* alice sees devices 1 and 3 only */
	CU_ASSERT_EQUAL(db_next_device(&db, 0, "[\"alice\"]", &id), DB_OK);
	CU_ASSERT_EQUAL(id, 1);
	CU_ASSERT_EQUAL(db_next_device(&db, id, "[\"alice\"]", &id), DB_OK);
	CU_ASSERT_EQUAL(id, 3);
	CU_ASSERT_EQUAL(db_next_device(&db, id, "[\"alice\"]", &id), DB_NOT_FOUND);
	CU_ASSERT_EQUAL(db_next_device(&db, 1, NULL, &id), DB_OK);
	CU_ASSERT_EQUAL(id, 2);
	db_close(&db);
	unlink(path);
}

/* --- DB_LOC_FWD without a device: two plans, one page (issue 12) ------- */

/* The plan of `sql` mentions `want` in some step. */
static bool plan_has(sqlite3 *h, const char *sql, const char *want)
{
	char q[4096];
	sqlite3_stmt *s;
	bool found = false;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(s, 3), want))
			found = true;
	sqlite3_finalize(s);
	return found;
}

static void test_fwd_plans(void)
{
	struct db db;
	sqlite3 *h;

	make_db_v(true);
	db_init(&db, path);
	CU_ASSERT_FATAL(db_ready(&db));
	CU_ASSERT_PTR_NOT_NULL_FATAL(db.stmt[DB_LOC_FWD_TST]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db.stmt[DB_LOC_RANGE_IDS]);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
	/* the walk: a rowid range, in id order (no sort), locations outer */
	CU_ASSERT(
		plan_has(h, sqldb_sql(db.stmt[DB_LOC_FWD]), "SEARCH l USING INTEGER PRIMARY KEY"));
	CU_ASSERT(!plan_has(h, sqldb_sql(db.stmt[DB_LOC_FWD]), "TEMP B-TREE"));
	CU_ASSERT(!plan_has(h, sqldb_sql(db.stmt[DB_LOC_FWD]), "SCAN d"));
	/* the other: the tst range, sorted by id */
	CU_ASSERT(plan_has(h, sqldb_sql(db.stmt[DB_LOC_FWD_TST]),
			   "SEARCH l USING INDEX locations_tst"));
	CU_ASSERT(!plan_has(h, sqldb_sql(db.stmt[DB_LOC_FWD_TST]), "SCAN d"));
	CU_ASSERT(
		plan_has(h, sqldb_sql(db.stmt[DB_LOC_RANGE_IDS]), "COVERING INDEX locations_tst"));
	assert_no_scan(h, sqldb_sql(db.stmt[DB_LOC_FWD]));
	assert_no_scan(h, sqldb_sql(db.stmt[DB_LOC_FWD_TST]));
	sqlite3_close(h);
	db_close(&db);
	unlink(path);

	/* version 1 has no locations_tst: the walk alone, no failure */
	make_db_v(false);
	db_init(&db, path);
	CU_ASSERT_FATAL(db_ready(&db));
	CU_ASSERT_PTR_NULL(db.stmt[DB_LOC_FWD_TST]);
	CU_ASSERT_PTR_NULL(db.stmt[DB_LOC_RANGE_IDS]);
	db_close(&db);
	unlink(path);
}

/* Every page of a query from `since` to the end, by `plan`: the data
 * objects, then per page its count, has_more and last id, all in `out`. */
static void fwd_pages(struct db *db, enum db_fwd_plan plan, struct db_loc_query q, struct jbuf *out,
		      int *uses)
{
	struct db_loc_page page;
	char line[96];
	int pages = 0;

	db->fwd_plan = plan;
	do {
		CU_ASSERT_EQUAL_FATAL(db_locations(db, &q, out, &page), DB_OK);
		uses[db->fwd_used]++;
		snprintf(line, sizeof(line), "\n-- %d %d %lld\n", page.count, page.has_more,
			 (long long)page.last_id);
		jbuf_puts(out, line);
		CU_ASSERT(page.count <= q.limit);
		CU_ASSERT(page.has_more ? page.count == q.limit : true);
		q.since_id = page.last_id;
	} while (page.has_more && ++pages < 100);
	CU_ASSERT(!page.has_more);
}

/* The rows of `q` without paging, as the walk's pages list them. */
static int expected_ids(sqlite3 *h, const struct db_loc_query *q, int64_t *ids, int max)
{
	sqlite3_stmt *s;
	int n = 0;

	CU_ASSERT_EQUAL_FATAL(
		sqlite3_prepare_v2(
			h,
			"SELECT l.id FROM locations l JOIN devices d ON d.id = l.device_id"
			" WHERE l.id > ?1 AND l.tst BETWEEN ?2 AND ?3 AND (?4 IS NULL OR"
			" d.user IN (SELECT value FROM json_each(?4))) ORDER BY l.id",
			-1, &s, NULL),
		SQLITE_OK);
	sqlite3_bind_int64(s, 1, q->since_id);
	sqlite3_bind_int64(s, 2, q->start_time);
	sqlite3_bind_int64(s, 3, q->end_time);
	if (q->users_json)
		sqlite3_bind_text(s, 4, q->users_json, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW && n < max)
		ids[n++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* Device 1 (alice) reports in time order, ids 1..2000 at tst 10001..12000;
 * then device 2 (bob) uploads a backlog, ids 2001..2005 at tst
 * 10100..10104: a range there is sparse in id order. */
static void add_backlog(void)
{
	sqlite3 *h;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(
		sqlite3_exec(
			h,
			"DELETE FROM locations;"
			"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE"
			" i < 2000) INSERT INTO locations(id, device_id, tst, lat, lon,"
			" received_at, raw) SELECT i, 1, 10000 + i, 1, 2, 0, '{}' FROM n;"
			"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE"
			" i < 4) INSERT INTO locations(id, device_id, tst, lat, lon,"
			" received_at, raw) SELECT 2001 + i, 2, 10100 + i, 1, 2, 0, '{}' FROM n;",
			NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(h);
}

/* The pages of the walk, of the tst index and of the choice between them
 * are the same, and hold the rows they should; the choice uses each. */
static void check_fwd_pages(const struct db_loc_query *qs, size_t nq, int *auto_uses)
{
	static const char *const users[] = {NULL, "[\"alice\"]", "[\"bob\"]", "[]"};
	struct db db;
	sqlite3 *h;
	size_t i, u;

	db_init(&db, path);
	CU_ASSERT_FATAL(db_ready(&db));
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
	for (i = 0; i < nq; i++) {
		for (u = 0; u < sizeof(users) / sizeof(users[0]); u++) {
			struct db_loc_query q = qs[i];
			struct jbuf walk, tst, choice;
			int uses[3] = {0}, n, k, from = 0;
			const char *at;
			int64_t ids[4096];
			char want[32];

			q.users_json = users[u];
			jbuf_init(&walk, 0, 1 << 24);
			jbuf_init(&tst, 0, 1 << 24);
			jbuf_init(&choice, 0, 1 << 24);
			fwd_pages(&db, DB_FWD_ROWID, q, &walk, uses);
			fwd_pages(&db, DB_FWD_TST, q, &tst, uses);
			fwd_pages(&db, DB_FWD_AUTO, q, &choice, auto_uses);
			CU_ASSERT_FATAL(!jbuf_failed(&walk) && walk.len > 0);
			if (walk.len != tst.len || memcmp(walk.mem, tst.mem, walk.len) ||
			    walk.len != choice.len || memcmp(walk.mem, choice.mem, walk.len)) {
				fprintf(stderr, "\n  query %zu users %s: plans differ\n", i,
					users[u] ? users[u] : "all");
				CU_FAIL("the plans give different pages");
			}
			/* every expected row, in id order, once */
			n = expected_ids(h, &q, ids, 4096);
			for (k = 0; k < n; k++) {
				snprintf(want, sizeof(want), "{\"id\":%lld,", (long long)ids[k]);
				at = strstr(walk.mem + from, want);
				CU_ASSERT_PTR_NOT_NULL(at);
				if (at)
					from = (int)(at - walk.mem) + 1;
			}
			for (k = 0, at = walk.mem; (at = strstr(at, "{\"id\":")); at++)
				k++;
			CU_ASSERT_EQUAL(k, n);
			jbuf_free(&walk);
			jbuf_free(&tst);
			jbuf_free(&choice);
		}
	}
	sqlite3_close(h);
	db_close(&db);
}

static void test_fwd_pages_same(void)
{
	/* make_db(): ids 1-3 at tst 1090, ..., 28-30 at 1000 */
	static const struct db_loc_query small[] = {
		{.since_id = 0, .start_time = 1000, .end_time = 1090, .limit = 7},
		{.since_id = 0, .start_time = 1000, .end_time = 1000, .limit = 1},
		{.since_id = 0, .start_time = 1000, .end_time = 1000, .limit = 2},
		{.since_id = 5, .start_time = 1010, .end_time = 1050, .limit = 3},
		{.since_id = 0, .start_time = 1085, .end_time = 1090, .limit = 1},
		{.since_id = 0, .start_time = 1001, .end_time = 1009, .limit = 5}, /* empty */
		{.since_id = 0, .start_time = 1090, .end_time = 1000, .limit = 5}, /* empty */
		{.since_id = 30, .start_time = 0, .end_time = 2000, .limit = 5},   /* at the end */
		{.since_id = 0, .start_time = 0, .end_time = 2000, .limit = 1000},
		{.since_id = 12, .start_time = 1040, .end_time = 1040, .limit = 2},
	};
	static const struct db_loc_query backlog[] = {
		{.since_id = 0, .start_time = 10100, .end_time = 10104, .limit = 3},
		{.since_id = 0, .start_time = 10100, .end_time = 10104, .limit = 1},
		{.since_id = 0, .start_time = 10100, .end_time = 10104, .limit = 100},
		{.since_id = 0, .start_time = 11900, .end_time = 12000, .limit = 30},
		{.since_id = 0, .start_time = 10500, .end_time = 12000, .limit = 400},
		{.since_id = 150, .start_time = 10001, .end_time = 10150, .limit = 10},
		{.since_id = 1999, .start_time = 0, .end_time = 20000, .limit = 2},
		{.since_id = 0, .start_time = 12001, .end_time = 20000, .limit = 10}, /* empty */
	};
	int uses[3] = {0};

	make_db_v(true);
	check_fwd_pages(small, sizeof(small) / sizeof(small[0]), uses);
	add_backlog();
	memset(uses, 0, sizeof(uses));
	check_fwd_pages(backlog, sizeof(backlog) / sizeof(backlog[0]), uses);
	/* the backlog's range is read by the tst index, the rest walked */
	CU_ASSERT(uses[DB_FWD_TST] > 0);
	CU_ASSERT(uses[DB_FWD_ROWID] > 0);
	unlink(path);
	/* without locations_tst every plan is the walk, with the same pages */
	make_db_v(false);
	add_backlog();
	memset(uses, 0, sizeof(uses));
	check_fwd_pages(backlog, sizeof(backlog) / sizeof(backlog[0]), uses);
	CU_ASSERT_EQUAL(uses[DB_FWD_TST], 0);
	unlink(path);
}

int init_db_tests(void)
{
	static const struct test_case cases[] = {
		{"track, span and next-device statements use indexes", test_plans_use_indexes},
		{"track pages follow tst, keyset by the last tst", test_keyset_pages},
		{"a time-range page of all devices: the walk and the tst index plan",
		 test_fwd_plans},
		{"a time-range page of all devices is the same by either plan",
		 test_fwd_pages_same},
		{NULL, NULL},
	};
	return add_suite("db", cases);
}
