/* test_friends: HTTP mode's friends are read again exactly when the relayed
 * messages and the commits say, and otherwise served as read.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A real database with the real schema, written through a second
 * connection the way the plugin commits; the friends read it through the
 * bridge's read-only db module.
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "friends.h"

#ifndef MYTRACKS_SCHEMA_FILE
#error "MYTRACKS_SCHEMA_FILE names schema/schema.sql"
#endif

#define NOW 1700000000

static char path[64];
static sqlite3 *w; /* the writer's connection */
static struct db db;
static struct friends f;

static void exec(const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(w, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "\n  %s: %s\n", sql, err);
		CU_FAIL_FATAL("SQL failed");
	}
	sqlite3_free(err);
}

static void add_fix(int id, int device, int tst)
{
	char q[256];

	snprintf(q, sizeof(q),
		 "INSERT INTO locations(id, device_id, tst, lat, lon, tid, received_at, raw)"
		 " VALUES (%d, %d, %d, 52.5, 13.4, 'xx', %d, '{}')",
		 id, device, tst, NOW);
	exec(q);
}

static void add_card(int device, const char *name)
{
	char q[256];

	snprintf(q, sizeof(q),
		 "INSERT INTO events(device_id, type, received_at, raw) VALUES"
		 " (%d, 'card', %d, '{\"_type\":\"card\",\"name\":\"%s\"}')",
		 device, NOW, name);
	exec(q);
}

/* Devices 1 alice/phone (with a card), 2 alice/watch, 3 bob/phone, 4
 * ping/ping; one fix each, ids 1-4 at tst 1001-1004. */
static void setup(void)
{
	FILE *fp = fopen(MYTRACKS_SCHEMA_FILE, "r");
	char *schema = calloc(1, 1 << 16);
	size_t n;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	n = fread(schema, 1, (1 << 16) - 1, fp);
	fclose(fp);
	CU_ASSERT_FATAL(n > 0);
	snprintf(path, sizeof(path), "/tmp/mytracks-test-friends-%d.db", (int)getpid());
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &w), SQLITE_OK);
	exec(schema);
	free(schema);
	exec("INSERT INTO devices(id, user, device, first_seen) VALUES (1, 'alice', 'phone', 0),"
	     " (2, 'alice', 'watch', 0), (3, 'bob', 'phone', 0), (4, 'ping', 'ping', 0)");
	for (i = 1; i <= 4; i++)
		add_fix(i, i, 1000 + i);
	add_card(1, "Alice");
	db_init(&db, path);
	CU_ASSERT_FATAL(db_ready(&db));
	friends_init(&f, "owntracks");
}

static void teardown(void)
{
	friends_free(&f);
	db_close(&db);
	sqlite3_close(w);
	unlink(path);
}

/* The reply of user/device, as a string (static), or NULL on failure;
 * `*items` gets the number of objects. */
static const char *reply_of(const char *users, const char *user, const char *device, int max,
			    int64_t now, int *items)
{
	static char text[8192];
	struct jbuf out;
	int rc;

	*items = 0;
	jbuf_init(&out, 0, 1 << 20);
	rc = friends_reply(&f, &db, users, user, device, max, now, &out, items);
	snprintf(text, sizeof(text), "%s", jbuf_len(&out) ? jbuf_data(&out) : "");
	jbuf_free(&out);
	return rc ? NULL : text;
}

static const char *reply(const char *user, const char *device, int *items)
{
	return reply_of(NULL, user, device, 250, NOW, items);
}

/* The tst of user/device's location in `text`, or -1 when it is absent. */
static int tst_in(const char *text, const char *user, const char *device)
{
	char topic[96];
	const char *p, *t;

	snprintf(topic, sizeof(topic), "\"topic\":\"owntracks/%s/%s\"", user, device);
	for (p = text; (p = strstr(p, topic)); p++) {
		/* the card has a topic too: the location's object holds a tst */
		const char *open = p, *close = strchr(p, '}');

		while (open > text && *open != '{')
			open--;
		t = strstr(open, "\"tst\":");
		if (t && close && t < close)
			return atoi(t + 6);
	}
	return -1;
}

static void test_first_reply(void)
{
	const char *r;
	int items;

	setup();
	r = reply("bob", "phone", &items);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* alice's card, then her phone's fix, then her watch's; never the
	 * reporting device, never ping/ping */
	CU_ASSERT_EQUAL(items, 3);
	CU_ASSERT_EQUAL(
		strncmp(r,
			"{\"_type\":\"card\",\"name\":\"Alice\",\"tid\":\"xx\","
			"\"topic\":\"owntracks/alice/phone\"},{\"_type\":\"location\"",
			strlen("{\"_type\":\"card\",\"name\":\"Alice\",\"tid\":\"xx\","
			       "\"topic\":\"owntracks/alice/phone\"},{\"_type\":\"location\"")),
		0);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "phone"), 1001);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), 1002);
	CU_ASSERT(strstr(r, "alice/phone") < strstr(r, "alice/watch"));
	CU_ASSERT_EQUAL(tst_in(r, "bob", "phone"), -1);
	CU_ASSERT_PTR_NULL(strstr(r, "ping"));
	CU_ASSERT_EQUAL(friends_count(&f), 4);
	teardown();
}

static void test_location_after_commit(void)
{
	const char *r;
	int items;

	setup();
	CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
	/* published before its commit: the reply holds what was read */
	CU_ASSERT_EQUAL(friends_relayed(&f, "location", "alice", "watch", 11), 0);
	add_fix(10, 2, 2000); /* another row is committed meanwhile */
	r = reply("bob", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), 1002);
	/* committed: read again */
	add_fix(11, 2, 2001);
	r = reply("bob", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), 2001);
	/* clean now: a change nobody relayed shows only after FRIENDS_MAX_AGE */
	add_fix(12, 2, 3000);
	r = reply("bob", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), 2001);
	r = reply_of(NULL, "bob", "phone", 250, NOW + FRIENDS_MAX_AGE, &items);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), 3000);
	/* an older fix (a backlog) does not become the newest */
	CU_ASSERT_EQUAL(friends_relayed(&f, "location", "alice", "watch", 13), 0);
	add_fix(13, 2, 1500);
	r = reply_of(NULL, "bob", "phone", 250, NOW + FRIENDS_MAX_AGE, &items);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), 3000);
	teardown();
}

static void test_card_until_next_location(void)
{
	const char *r;
	int items;

	setup();
	CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
	/* a card has no id: read at every reply until a later location commits */
	CU_ASSERT_EQUAL(friends_relayed(&f, "card", "alice", "watch", 0), 0);
	r = reply("bob", "phone", &items);
	CU_ASSERT_PTR_NULL(strstr(r, "Watch"));
	add_card(2, "Watch 1");
	r = reply("bob", "phone", &items);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"name\":\"Watch 1\",\"tid\":\"xx\","
					 "\"topic\":\"owntracks/alice/watch\"}"));
	CU_ASSERT_EQUAL(items, 4);
	add_card(2, "Watch 2");
	r = reply("bob", "phone", &items);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "Watch 2"));
	/* bob's next location, relayed and committed after the card */
	CU_ASSERT_EQUAL(friends_relayed(&f, "location", "bob", "phone", 20), 0);
	add_fix(20, 3, 2000);
	r = reply("carol", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "bob", "phone"), 2000);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "Watch 2"));
	/* alice/watch is clean again: an unrelayed card waits for the age */
	add_card(2, "Watch 3");
	r = reply("carol", "phone", &items);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "Watch 2"));
	CU_ASSERT_EQUAL(f.pending, 0);
	teardown();
}

static void test_delete_and_new_device(void)
{
	const char *r;
	int items;

	setup();
	CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
	/* a delete is published after its commit: read at once */
	exec("DELETE FROM locations WHERE device_id = 2");
	CU_ASSERT_EQUAL(friends_relayed(&f, "deleted", "alice", "watch", 0), 0);
	r = reply("bob", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), -1);
	CU_ASSERT_EQUAL(items, 2);
	/* a new device takes its place in user and device order */
	exec("INSERT INTO devices(id, user, device, first_seen) VALUES (5, 'aaron', 'pad', 0)");
	CU_ASSERT_EQUAL(friends_relayed(&f, "location", "aaron", "pad", 30), 0);
	r = reply("bob", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "aaron", "pad"), -1); /* not committed yet */
	add_fix(30, 5, 5000);
	r = reply("bob", "phone", &items);
	CU_ASSERT_EQUAL(tst_in(r, "aaron", "pad"), 5000);
	CU_ASSERT(strstr(r, "aaron/pad") && strstr(r, "aaron/pad") < strstr(r, "alice/phone"));
	/* kinds that change no friend are ignored */
	CU_ASSERT_EQUAL(friends_relayed(&f, "device_status", "zed", "x", 0), 0);
	CU_ASSERT_EQUAL(friends_relayed(&f, "transition", "zed", "x", 0), 0);
	CU_ASSERT_EQUAL(friends_count(&f), 5);
	teardown();
}

static void test_visibility_and_limits(void)
{
	const char *r;
	int items;

	setup();
	r = reply_of("[\"alice\"]", "bob", "phone", 250, NOW, &items);
	CU_ASSERT_EQUAL(items, 3);
	r = reply_of("[\"bob\"]", "alice", "phone", 250, NOW, &items);
	CU_ASSERT_EQUAL(items, 1);
	CU_ASSERT_EQUAL(tst_in(r, "bob", "phone"), 1003);
	r = reply_of("[]", "alice", "phone", 250, NOW, &items);
	CU_ASSERT_STRING_EQUAL(r, "");
	CU_ASSERT_PTR_NULL(reply_of("{\"alice\":1}", "bob", "phone", 250, NOW, &items));
	CU_ASSERT_PTR_NULL(reply_of("[", "bob", "phone", 250, NOW, &items));
	/* at most `max` devices: a device's card and location go together */
	r = reply_of(NULL, "bob", "phone", 1, NOW, &items);
	CU_ASSERT_EQUAL(items, 2);
	CU_ASSERT_EQUAL(tst_in(r, "alice", "watch"), -1);
	r = reply_of(NULL, "bob", "phone", 0, NOW, &items);
	CU_ASSERT_EQUAL(items, 0);
	/* no reporting device (not known): everyone */
	r = reply_of(NULL, NULL, NULL, 250, NOW, &items);
	CU_ASSERT_EQUAL(items, 4);
	teardown();
}

static void test_failures(void)
{
	struct jbuf small;
	int items = 0;

	setup();
	/* the database is not there: a failure, then a reply once it is */
	db_close(&db);
	db_init(&db, "/nonexistent/mytracks.db");
	CU_ASSERT_PTR_NULL(reply("bob", "phone", &items));
	db_close(&db);
	db_init(&db, path);
	CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
	CU_ASSERT_EQUAL(items, 3);
	/* over the caller's cap */
	jbuf_init(&small, 0, 64);
	items = 0;
	CU_ASSERT_EQUAL(friends_reply(&f, &db, NULL, "bob", "phone", 250, NOW, &small, &items), -1);
	jbuf_free(&small);
	/* a reconnection forgets it all: read again although nothing relayed */
	add_fix(40, 2, 4000);
	friends_invalidate(&f);
	CU_ASSERT_EQUAL(tst_in(reply("bob", "phone", &items), "alice", "watch"), 4000);
	teardown();
}

/* A relayed message as mqtt.c frames it. */
static struct msg *relayed(const char *kind, const char *data, const char *user, const char *device)
{
	size_t dl = strlen(data), kl = strlen(kind), ul = strlen(user);
	struct msg *m = msg_new(MSG_RELAY, 9 + kl + 9 + dl + 1 + ul + 1 + strlen(device) + 1);
	char *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	p = (char *)msg_data(m);
	m->len = (size_t)sprintf(p, "{\"type\":\"%s\",\"data\":%s}", kind, data);
	strcpy(p + m->len + 1, user);
	m->user = p + m->len + 1;
	strcpy(p + m->len + 1 + ul + 1, device);
	m->device = m->user + ul + 1;
	return m;
}

static void test_relayed_frames(void)
{
	static const char *const bad[] = {
		"{\"device\":1,\"id\":7}",	    "{\"id\":}",      "{\"id\":-7}", "{\"id\":0}",
		"{\"id\":99999999999999999999999}", "{\"id\":\"7\"}", "7",
	};
	struct msg *m;
	size_t i;
	int items;

	setup();
	CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
	m = relayed("location", "{\"id\":50,\"device\":2}", "alice", "watch");
	CU_ASSERT_EQUAL(friends_relayed_msg(&f, m), 0);
	free(m);
	CU_ASSERT_FALSE(f.rebuild);
	add_fix(50, 2, 6000);
	CU_ASSERT_EQUAL(tst_in(reply("bob", "phone", &items), "alice", "watch"), 6000);
	/* a location whose id cannot be read: everything is read again */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
		CU_ASSERT_FALSE(f.rebuild);
		m = relayed("location", bad[i], "alice", "watch");
		CU_ASSERT_EQUAL(friends_relayed_msg(&f, m), 0);
		free(m);
		CU_ASSERT(f.rebuild);
	}
	/* other kinds need no id; a frame of another shape is ignored */
	CU_ASSERT_PTR_NOT_NULL(reply("bob", "phone", &items));
	m = relayed("card", "{\"device\":2}", "alice", "watch");
	CU_ASSERT_EQUAL(friends_relayed_msg(&f, m), 0);
	free(m);
	CU_ASSERT_EQUAL(f.pending, 1);
	CU_ASSERT_FALSE(f.rebuild);
	m = relayed("a-kind-name-too-long-to-be-one", "{}", "alice", "watch");
	CU_ASSERT_EQUAL(friends_relayed_msg(&f, m), 0);
	free(m);
	m = msg_new(MSG_RELAY, 3);
	memcpy(msg_data(m), "{\"t", 3);
	CU_ASSERT_EQUAL(friends_relayed_msg(&f, m), 0); /* no user: not from a topic */
	free(m);
	CU_ASSERT_FALSE(f.rebuild);
	CU_ASSERT_EQUAL(friends_count(&f), 4);
	teardown();
}

int init_friends_tests(void)
{
	static const struct test_case cases[] = {
		{"the first reply reads every device but the reporting one and ping",
		 test_first_reply},
		{"a relayed location is read again once committed, then kept",
		 test_location_after_commit},
		{"a card is read at every reply until a later location is committed",
		 test_card_until_next_location},
		{"a delete is read at once; a new device goes in order",
		 test_delete_and_new_device},
		{"only visible devices, at most max of them", test_visibility_and_limits},
		{"database and cap failures; invalidate reads everything", test_failures},
		{"relayed frames give the kind and the location's id", test_relayed_frames},
		{NULL, NULL},
	};

	return add_suite("friends", cases);
}
