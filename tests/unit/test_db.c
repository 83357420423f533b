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

/* A database with the real schema: devices 1 alice/phone, 2 bob/tab, 3
 * alice/watch; 10 fixes each at tst 1000, 1010, ... */
static void make_db(void)
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

int init_db_tests(void)
{
	static const struct test_case cases[] = {
		{"track, span and next-device statements use indexes", test_plans_use_indexes},
		{"track pages follow tst, keyset by the last tst", test_keyset_pages},
		{NULL, NULL},
	};
	return add_suite("db", cases);
}
