/* test_store: the plugin's writer (plugin/store.c) against a temporary
 * SQLite file, and the helpers beside it (plugin/dblock.c,
 * plugin/ratelimit.c).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dblock.h"
#include "ratelimit.h"
#include "store.h"

/* A fresh temporary directory per test; *path gets "<dir>/t.db". */
static void temp_db(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	snprintf(dir, dirlen, "/tmp/mytracks-unit-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, pathlen, "%s/t.db", dir);
}

static void remove_db(const char *dir, const char *path)
{
	char p[512];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.lock", path);
	unlink(p);
	rmdir(dir);
}

static struct store_op *device_op(int64_t id, const char *user, const char *device)
{
	struct store_op *op = store_op_new(STORE_DEVICE_NEW, strlen(user) + strlen(device) + 2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	op->id = id;
	op->s1 = store_op_copy_str(op, user);
	op->s2 = store_op_copy_str(op, device);
	op->received_at = 1700000000;
	return op;
}

static struct store_op *location_op(int64_t id, int64_t device_id, int64_t tst)
{
	static const char raw[] = "{\"_type\":\"location\"}";
	struct store_op *op = store_op_new(STORE_LOCATION, sizeof(raw) + 16);

	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	op->id = id;
	op->device_id = device_id;
	op->loc.lat = 52.5;
	op->loc.lon = 13.4;
	op->loc.tst = tst;
	op->loc.acc = 7;
	op->loc.alt = op->loc.vel = op->loc.batt = op->loc.cog = OT_NONE;
	op->loc.vac = op->loc.bs = op->loc.created_at = OT_NONE;
	op->loc.conn = store_op_copy_str(op, "w");
	op->raw = store_op_copy(op, raw, sizeof(raw) - 1);
	op->raw_len = sizeof(raw) - 1;
	op->received_at = tst + 1;
	return op;
}

static void submit_ok(struct store *s, struct store_op *op, struct store_quota *q)
{
	enum store_submit_result r = store_submit(s, op, q);

	CU_ASSERT_EQUAL(r, STORE_OK);
	if (r != STORE_OK)
		free(op);
}

static void test_op_strings(void)
{
	struct store_op *op = store_op_new(STORE_EVENT, 8);
	const char *a, *b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	a = store_op_copy(op, "abcdef", 3);
	b = store_op_copy_str(op, "xy");
	CU_ASSERT_STRING_EQUAL(a, "abc");
	CU_ASSERT_STRING_EQUAL(b, "xy");
	CU_ASSERT_PTR_NULL(store_op_copy_str(op, NULL));
	CU_ASSERT_EQUAL(op->data_used, 7);
	free(op);
}

struct loaded {
	int count;
	int64_t id, max_tst;
	bool online;
	char user[32], device[32], name[32];
};

static void load_cb(void *arg, int64_t id, const char *user, const char *device,
		    const char *display_name, bool online, int64_t max_tst)
{
	struct loaded *l = arg;

	l->count++;
	l->id = id;
	l->online = online;
	l->max_tst = max_tst;
	snprintf(l->user, sizeof(l->user), "%s", user);
	snprintf(l->device, sizeof(l->device), "%s", device);
	snprintf(l->name, sizeof(l->name), "%s", display_name ? display_name : "(none)");
}

/* Rows reach the file; a repeated (device, tst) is stored once and
 * counted as a duplicate; everything is committed by store_close(); a
 * reopened store loads what was written. */
static void test_write_and_reload(void)
{
	char dir[64], path[128], err[256] = "";
	struct store_counters c;
	struct store_op *op;
	struct loaded l = {0};
	struct store *s;
	int64_t maxl = -1, maxe = -1, maxd = -1;

	temp_db(dir, sizeof(dir), path, sizeof(path));
	s = store_open(path, 50, 100, false, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	submit_ok(s, device_op(1, "alice", "phone"), NULL);
	submit_ok(s, location_op(1, 1, 1700000100), NULL);
	submit_ok(s, location_op(2, 1, 1700000200), NULL);
	submit_ok(s, location_op(3, 1, 1700000100), NULL); /* same tst */
	op = store_op_new(STORE_DEVICE_CARD, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	op->device_id = 1;
	op->s1 = store_op_copy_str(op, "Alice");
	op->s2 = store_op_copy_str(op, "AL");
	submit_ok(s, op, NULL);
	op = store_op_new(STORE_DEVICE_STATUS, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	op->device_id = 1;
	op->online = 1;
	op->received_at = 1700000300;
	submit_ok(s, op, NULL);
	store_close(s, 1000, &c);
	CU_ASSERT_EQUAL(c.locations_stored, 2);
	CU_ASSERT_EQUAL(c.duplicates, 1);
	CU_ASSERT_EQUAL(c.pending, 0);
	CU_ASSERT_EQUAL(c.lost, 0);
	CU_ASSERT_TRUE(c.commits >= 1);
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT count(*) FROM locations"), 2);
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT acc FROM locations WHERE id = 2"), 7);
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT alt IS NULL FROM locations WHERE id = 2"), 1);
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT last_seen FROM devices WHERE id = 1"),
			1700000300);

	/* Reopen: the schema is not created again, the rows are there. */
	s = store_open(path, 0, 100, false, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(store_location_exists(s, 1, 1700000200), 1);
	CU_ASSERT_EQUAL(store_location_exists(s, 1, 1700000300), 0);
	CU_ASSERT_EQUAL(store_load(s, load_cb, &l, &maxl, &maxe, &maxd), 0);
	CU_ASSERT_EQUAL(l.count, 1);
	CU_ASSERT_EQUAL(l.id, 1);
	CU_ASSERT_STRING_EQUAL(l.user, "alice");
	CU_ASSERT_STRING_EQUAL(l.device, "phone");
	CU_ASSERT_STRING_EQUAL(l.name, "Alice");
	CU_ASSERT_FALSE(l.online); /* every device starts offline, in the row too */
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT online FROM devices WHERE id = 1"), 0);
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT last_seen FROM devices WHERE id = 1"),
			1700000300);
	CU_ASSERT_EQUAL(l.max_tst, 1700000200);
	CU_ASSERT_EQUAL(maxl, 2);
	CU_ASSERT_EQUAL(maxe, 0);
	CU_ASSERT_EQUAL(maxd, 1);
	store_close(s, 1000, NULL);
	remove_db(dir, path);
}

/* A user's share bounds what it may have buffered; a refused op stays
 * with the caller, and the share comes back once the rows are committed. */
static void test_share(void)
{
	char dir[64], path[128], err[256] = "";
	struct store_quota q = {.max = 2};
	struct store_counters c;
	struct store_op *op;
	struct store *s;

	temp_db(dir, sizeof(dir), path, sizeof(path));
	/* a long commit window: nothing is committed while the test submits */
	s = store_open(path, 10000, 100, false, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	submit_ok(s, device_op(1, "bob", "phone"), &q);
	submit_ok(s, location_op(1, 1, 1700000100), &q);
	op = location_op(2, 1, 1700000200);
	CU_ASSERT_EQUAL(store_submit(s, op, &q), STORE_SHARE_FULL);
	free(op);					   /* still ours */
	submit_ok(s, location_op(3, 1, 1700000300), NULL); /* another owner: fine */
	store_counters(s, &c);
	CU_ASSERT_EQUAL(c.rejected_share, 1);
	store_close(s, 1000, &c);
	CU_ASSERT_EQUAL(c.locations_stored, 2);
	CU_ASSERT_EQUAL(atomic_load(&q.pending), 0);
	remove_db(dir, path);
}

/* The whole buffer is bounded too. */
static void test_buffer_full(void)
{
	char dir[64], path[128], err[256] = "";
	struct store_counters c;
	struct store_op *op;
	struct store *s;
	int i, full = 0;

	temp_db(dir, sizeof(dir), path, sizeof(path));
	s = store_open(path, 10000, 3, false, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	submit_ok(s, device_op(1, "carol", "phone"), NULL);
	for (i = 0; i < 10; i++) {
		op = location_op(i + 1, 1, 1700000000 + i);
		if (store_submit(s, op, NULL) == STORE_FULL) {
			full++;
			free(op);
		}
	}
	CU_ASSERT_TRUE(full >= 8); /* at most 3 ops buffered at once */
	store_close(s, 1000, &c);
	CU_ASSERT_EQUAL(c.rejected_full, (uint64_t)full);
	CU_ASSERT_EQUAL(test_db_int(path, "SELECT count(*) FROM locations"), 10 - full);
	remove_db(dir, path);
}

/* A database from a newer mytracks is refused, not damaged. */
static void test_newer_schema_refused(void)
{
	char dir[64], path[128], err[256] = "";
	sqlite3 *db;

	temp_db(dir, sizeof(dir), path, sizeof(path));
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT_PTR_NULL(store_open(path, 0, 10, false, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "999"));
	CU_ASSERT_EQUAL(test_db_int(path, "PRAGMA user_version"), 999);
	remove_db(dir, path);
}

/* Shared writers need PostgreSQL: a SQLite file is refused, not created. */
static void test_shared_needs_postgres(void)
{
	char dir[64], path[128], err[256] = "";

	temp_db(dir, sizeof(dir), path, sizeof(path));
	CU_ASSERT_PTR_NULL(store_open(path, 0, 10, true, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a PostgreSQL database"));
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	remove_db(dir, path);
}

/* One lock holder per database; the second is told who holds it. */
static void test_dblock(void)
{
	char dir[64], path[128], err[256] = "", pid[32];
	int a, b;

	temp_db(dir, sizeof(dir), path, sizeof(path));
	a = dblock_acquire(path, err, sizeof(err));
	CU_ASSERT_TRUE_FATAL(a >= 0);
	b = dblock_acquire(path, err, sizeof(err)); /* a second open file: refused */
	CU_ASSERT_EQUAL(b, -1);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(err, pid));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use"));
	dblock_release(a);
	b = dblock_acquire(path, err, sizeof(err));
	CU_ASSERT_TRUE(b >= 0);
	dblock_release(b);
	dblock_release(-1); /* ignored */
	CU_ASSERT_EQUAL(dblock_acquire("/nonexistent-dir/x.db", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open"));
	remove_db(dir, path);
}

static void test_ratelimit(void)
{
	struct ratelimit rl = {0};
	unsigned sup = 99;
	int i, allowed = 0;

	for (i = 0; i < 10; i++)
		allowed += ratelimit_allow(&rl, 1000, 3, 60, &sup);
	CU_ASSERT_EQUAL(allowed, 3);
	CU_ASSERT_EQUAL(sup, 0);
	CU_ASSERT_FALSE(ratelimit_allow(&rl, 1059, 3, 60, &sup)); /* same window */
	CU_ASSERT_TRUE(ratelimit_allow(&rl, 1060, 3, 60, &sup));  /* next window */
	CU_ASSERT_EQUAL(sup, 8); /* what the last window did not log */
	CU_ASSERT_TRUE(ratelimit_allow(&rl, 1061, 3, 60, &sup));
	CU_ASSERT_EQUAL(sup, 0);
	/* a clock that goes back starts a new window rather than locking up */
	CU_ASSERT_TRUE(ratelimit_allow(&rl, 500, 3, 60, &sup));
}

int init_store_tests(void)
{
	static const struct test_case cases[] = {
		{"op strings", test_op_strings},
		{"write and reload", test_write_and_reload},
		{"a user's share of the buffer", test_share},
		{"the buffer is bounded", test_buffer_full},
		{"a newer schema is refused", test_newer_schema_refused},
		{"shared writers need PostgreSQL", test_shared_needs_postgres},
		{NULL, NULL},
	};
	return add_suite("plugin/store", cases);
}

int init_dblock_tests(void)
{
	static const struct test_case cases[] = {
		{"one holder per database", test_dblock},
		{NULL, NULL},
	};
	return add_suite("plugin/dblock", cases);
}

int init_ratelimit_tests(void)
{
	static const struct test_case cases[] = {
		{"burst per window", test_ratelimit},
		{NULL, NULL},
	};
	return add_suite("plugin/ratelimit", cases);
}
