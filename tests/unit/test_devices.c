/* test_devices: the plugin's device table (plugin/devices.c) and its
 * per-user limits (plugin/users.c).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "users.h"

static void count_cb(void *arg, struct device *dev)
{
	(void)dev;
	(*(size_t *)arg)++;
}

static void test_add_find(void)
{
	struct devices d;
	struct device *a, *b, *c;

	CU_ASSERT_EQUAL_FATAL(devices_init(&d), 0);
	CU_ASSERT_PTR_NULL(devices_find(&d, "alice", "phone"));
	a = devices_add(&d, 0, "alice", "phone");
	b = devices_add(&d, 0, "alice", "tablet");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(a->id, 1);
	CU_ASSERT_EQUAL(b->id, 2);
	CU_ASSERT_PTR_EQUAL(devices_find(&d, "alice", "phone"), a);
	CU_ASSERT_PTR_EQUAL(devices_find(&d, "alice", "tablet"), b);
	CU_ASSERT_STRING_EQUAL(a->user, "alice");
	CU_ASSERT_STRING_EQUAL(a->device, "phone");
	/* "a/bc" and "ab/c" hash over the separator: different devices */
	c = devices_add(&d, 0, "ab", "c");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NULL(devices_find(&d, "a", "bc"));
	CU_ASSERT_PTR_EQUAL(devices_find(&d, "ab", "c"), c);
	CU_ASSERT_EQUAL(d.count, 3);
	devices_free(&d);
}

/* Ids from the database are kept; new ones continue after the largest. */
static void test_known_ids(void)
{
	struct devices d;
	struct device *x;

	CU_ASSERT_EQUAL_FATAL(devices_init(&d), 0);
	CU_ASSERT_PTR_NOT_NULL(devices_add(&d, 41, "u", "old"));
	CU_ASSERT_PTR_NOT_NULL(devices_add(&d, 7, "u", "older"));
	x = devices_add(&d, 0, "u", "new");
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(x->id, 42);
	CU_ASSERT_EQUAL(d.max_id, 42);
	devices_free(&d);
}

/* The table grows past its first 256 buckets and finds every device. */
static void test_growth(void)
{
	struct devices d;
	char name[32];
	size_t i, seen = 0, found = 0;

	CU_ASSERT_EQUAL_FATAL(devices_init(&d), 0);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "dev%zu", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(devices_add(&d, 0, i % 2 ? "bob" : "alice", name));
	}
	CU_ASSERT_TRUE(d.nbuckets > 256);
	for (i = 0; i < 3000; i++) {
		struct device *dev;

		snprintf(name, sizeof(name), "dev%zu", i);
		dev = devices_find(&d, i % 2 ? "bob" : "alice", name);
		if (dev && dev->id == (int64_t)i + 1)
			found++;
	}
	CU_ASSERT_EQUAL(found, 3000);
	devices_each(&d, count_cb, &seen);
	CU_ASSERT_EQUAL(seen, 3000);
	devices_free(&d);
}

static void test_display_name(void)
{
	struct devices d;
	struct device *a;

	CU_ASSERT_EQUAL_FATAL(devices_init(&d), 0);
	a = devices_add(&d, 0, "alice", "phone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NULL(a->display_name);
	CU_ASSERT_EQUAL(device_set_display_name(a, "Alice"), 0);
	CU_ASSERT_STRING_EQUAL(a->display_name, "Alice");
	CU_ASSERT_EQUAL(device_set_display_name(a, "Alice B."), 0); /* old one freed */
	CU_ASSERT_STRING_EQUAL(a->display_name, "Alice B.");
	CU_ASSERT_EQUAL(device_set_display_name(a, NULL), 0);
	CU_ASSERT_PTR_NULL(a->display_name);
	devices_free(&d);
}

/* The recent-tst ring remembers exactly the last DEVICE_RECENT values. */
static void test_recent_ring(void)
{
	struct devices d;
	struct device *a;
	int64_t t;

	CU_ASSERT_EQUAL_FATAL(devices_init(&d), 0);
	a = devices_add(&d, 0, "alice", "phone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_FALSE(device_recent_has(a, 0)); /* empty slots are not values */
	for (t = 1000; t < 1000 + DEVICE_RECENT + 10; t++)
		device_recent_add(a, t);
	CU_ASSERT_FALSE(device_recent_has(a, 1009)); /* pushed out */
	CU_ASSERT_TRUE(device_recent_has(a, 1010));
	CU_ASSERT_TRUE(device_recent_has(a, 1000 + DEVICE_RECENT + 9));
	CU_ASSERT_EQUAL(a->recent_count, DEVICE_RECENT);
	CU_ASSERT_EQUAL(a->max_tst, 1000 + DEVICE_RECENT + 9);
	device_recent_add(a, 5); /* an old fix arriving late */
	CU_ASSERT_TRUE(device_recent_has(a, 5));
	CU_ASSERT_EQUAL(a->max_tst, 1000 + DEVICE_RECENT + 9);
	devices_free(&d);
}

/* Stored devices are loaded with their state and counted for their user. */
static void test_load(void)
{
	struct devices d;
	struct users u;
	struct device *a, *b;

	CU_ASSERT_EQUAL_FATAL(devices_init(&d), 0);
	CU_ASSERT_EQUAL_FATAL(users_init(&u, 10), 0);
	a = devices_load(&d, &u, 5, "alice", "phone", "Alice", true, 1700000000);
	b = devices_load(&d, &u, 9, "alice", "tablet", NULL, false, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(a->id, 5);
	CU_ASSERT_STRING_EQUAL(a->display_name, "Alice");
	CU_ASSERT_FALSE(a->online); /* stored online: offline until heard from */
	CU_ASSERT_TRUE(a->persisted);
	CU_ASSERT_EQUAL(a->max_tst, 1700000000);
	CU_ASSERT_PTR_NULL(b->display_name);
	CU_ASSERT_FALSE(b->online);
	CU_ASSERT_PTR_EQUAL(a->owner, users_find(&u, "alice"));
	CU_ASSERT_PTR_EQUAL(a->owner, b->owner);
	CU_ASSERT_EQUAL(a->owner->devices, 2);
	CU_ASSERT_EQUAL(d.max_id, 9);
	devices_free(&d);
	users_free(&u);
}

static void test_users(void)
{
	struct users u;
	struct mt_user *a, *b;
	char name[32];
	int i, ok = 0;

	CU_ASSERT_EQUAL_FATAL(users_init(&u, 25), 0);
	CU_ASSERT_PTR_NULL(users_find(&u, "alice"));
	a = users_get(&u, "alice");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_EQUAL(users_get(&u, "alice"), a); /* not created twice */
	CU_ASSERT_PTR_EQUAL(users_find(&u, "alice"), a);
	CU_ASSERT_EQUAL(a->quota.max, 25);
	CU_ASSERT_EQUAL(a->devices, 0);
	b = users_get(&u, "Alice"); /* names are case-sensitive, like topics */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(users_get(&u, name));
	}
	for (i = 0; i < 2000; i++) {
		struct mt_user *x;

		snprintf(name, sizeof(name), "user%d", i);
		x = users_find(&u, name);
		if (x && !strcmp(x->name, name))
			ok++;
	}
	CU_ASSERT_EQUAL(ok, 2000);
	CU_ASSERT_EQUAL(u.count, 2002);
	users_free(&u);
}

int init_devices_tests(void)
{
	static const struct test_case cases[] = {
		{"add and find", test_add_find},
		{"ids from the database", test_known_ids},
		{"the table grows", test_growth},
		{"display name", test_display_name},
		{"recent tst ring", test_recent_ring},
		{"devices from the database", test_load},
		{NULL, NULL},
	};
	return add_suite("plugin/devices", cases);
}

int init_users_tests(void)
{
	static const struct test_case cases[] = {
		{"find and get", test_users},
		{NULL, NULL},
	};
	return add_suite("plugin/users", cases);
}
