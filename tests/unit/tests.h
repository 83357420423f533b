/* tests.h: the CUnit suites, one per module (core: test_core; bridge:
 * test_bridge; plugin: test_plugin).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_TESTS_H
#define MYTRACKS_TESTS_H

#include <CUnit/CUnit.h>

int init_jbuf_tests(void);
int init_jdoc_tests(void);
int init_utf8_tests(void);
int init_num_tests(void);
int init_toolutil_tests(void);
int init_ingest_tests(void);
int init_ot_tests(void);
int init_dataobj_tests(void);
int init_export_tests(void);
int init_track_tests(void);
int init_isotime_tests(void);
int init_otcrypto_tests(void);
int init_recobj_tests(void);
int init_parse_tests(void);	/* bridge/parse.c */
int init_relay_tests(void);	/* bridge/relay.c */
int init_queue_tests(void);	/* bridge/queue.c */
int init_db_tests(void);	/* bridge/db.c */
int init_auth_tests(void);	/* bridge/auth.c */
int init_authtoken_tests(void); /* bridge/auth.c: signed sessions */
int init_tiles_tests(void);	/* bridge/tiles.c */
int init_friends_tests(void);	/* bridge/friends.c */
int init_config_tests(void);	/* plugin/config.c */
int init_devices_tests(void);	/* plugin/devices.c */
int init_users_tests(void);	/* plugin/users.c */
int init_ratelimit_tests(void); /* plugin/ratelimit.c */
int init_dblock_tests(void);	/* plugin/dblock.c */
int init_store_tests(void);	/* plugin/store.c */

/* Add a suite with its tests; returns 0 or -1 (CUnit's error is set). */
struct test_case {
	const char *name;
	CU_TestFunc fn;
};
int add_suite(const char *name, const struct test_case *cases);

/* Register the suites of the NULL-terminated `inits`, run them, and return
 * the exit status: 0 when every test passed. */
int run_suites(int (*const *inits)(void));

/* The first column of the first row of `sql` on the SQLite file `path`,
 * opened read-only on its own connection; -1 on any error (testdb.c). */
long long test_db_int(const char *path, const char *sql);

#endif
