/* test_config: plugin_opt_* parsing (plugin/config.c).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <string.h>

#include "config.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_defaults(void)
{
	struct mt_option o[] = {{"database", "/tmp/x.db"}};
	struct mt_config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_parse(&c, o, N(o), err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.database, "/tmp/x.db");
	CU_ASSERT_STRING_EQUAL(c.input_prefix, "owntracks");
	CU_ASSERT_STRING_EQUAL(c.output_prefix, "mytracks");
	CU_ASSERT_PTR_NULL(c.trusted_user);
	CU_ASSERT_PTR_NULL(c.keys_file);
	CU_ASSERT_EQUAL(c.max_payload, 262144);
	CU_ASSERT_EQUAL(c.commit_window_ms, 100);
	CU_ASSERT_TRUE(c.topic_user_check);
	CU_ASSERT_FALSE(c.shared_writers);
	CU_ASSERT_EQUAL(c.buffer_max, 100000);
	CU_ASSERT_EQUAL(c.buffer_per_user, 10000); /* buffer_max / 10 */
	CU_ASSERT_EQUAL(c.max_devices, 10000);
	CU_ASSERT_EQUAL(c.max_devices_per_user, 100);
	CU_ASSERT_EQUAL(c.max_future, 86400);
	CU_ASSERT_EQUAL(c.stats_interval, 10);
	CU_ASSERT_STRING_EQUAL(c.control_prefix, "mytracks-control");
	CU_ASSERT_EQUAL(c.retention_days, 0);
	CU_ASSERT_EQUAL(c.retention_batch, 1000);
	CU_ASSERT_EQUAL(c.retention_interval, 60);
	config_free(&c);
}

/* Mosquitto keeps the whitespace around a value; the plugin must not. */
static void test_values_trimmed(void)
{
	struct mt_option o[] = {
		{"database", "  /d b.db \t"},	       {"commit_window", "0 "},
		{"topic_user_check", " off"},	       {"shared_writers", "true"},
		{"trusted_user", "mytracks-bridge  "}, {"output_prefix", "out/live"}};
	struct mt_config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_parse(&c, o, N(o), err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.database, "/d b.db");
	CU_ASSERT_EQUAL(c.commit_window_ms, 0);
	CU_ASSERT_FALSE(c.topic_user_check);
	CU_ASSERT_TRUE(c.shared_writers);
	CU_ASSERT_STRING_EQUAL(c.trusted_user, "mytracks-bridge");
	CU_ASSERT_STRING_EQUAL(c.output_prefix, "out/live");
	config_free(&c);
}

/* The later of two occurrences wins, and the earlier one is not leaked
 * (the ASan build checks). */
static void test_repeated_option(void)
{
	struct mt_option o[] = {{"database", "a.db"}, {"database", "b.db"}};
	struct mt_config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_parse(&c, o, N(o), err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.database, "b.db");
	config_free(&c);
}

/* Each bad value fails, and the message names the option. */
static void test_bad_values(void)
{
	static const struct {
		const char *key, *value, *want;
	} bad[] = {
		{"commit_window", "-1", "plugin_opt_commit_window"},
		{"commit_window", "10001", "plugin_opt_commit_window"},
		{"commit_window", "12ms", "plugin_opt_commit_window"},
		{"max_payload", "63", "plugin_opt_max_payload"},
		{"max_payload", "", "plugin_opt_max_payload"},
		{"buffer_max", "0", "plugin_opt_buffer_max"},
		{"topic_user_check", "maybe", "plugin_opt_topic_user_check"},
		{"shared_writers", "2", "plugin_opt_shared_writers"},
		{"input_prefix", "own/+/x", "plugin_opt_input_prefix"},
		{"input_prefix", "a//b", "plugin_opt_input_prefix"},
		{"input_prefix", "/owntracks", "plugin_opt_input_prefix"},
		{"output_prefix", "mytracks/", "plugin_opt_output_prefix"},
		{"output_prefix", "#", "plugin_opt_output_prefix"},
		{"trusted_user", "  ", "plugin_opt_trusted_user"},
		{"database", "", "plugin_opt_database"},
		{"no_such_option", "1", "plugin_opt_no_such_option"},
		{"max_future", "99999999999999999999", "plugin_opt_max_future"},
		{"control_prefix", "a/#", "plugin_opt_control_prefix"},
		{"retention_days", "-1", "plugin_opt_retention_days"},
		{"retention_days", "36601", "plugin_opt_retention_days"},
		{"retention_batch", "0", "plugin_opt_retention_batch"},
		{"retention_interval", "0", "plugin_opt_retention_interval"},
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mt_option o[] = {{"database", "x.db"}, {bad[i].key, bad[i].value}};
		struct mt_config c;
		char err[256] = "";

		CU_ASSERT_EQUAL(config_parse(&c, o, N(o), err, sizeof(err)), -1);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "\n  %s=%s: error '%s' does not name %s\n", bad[i].key,
				bad[i].value, err, bad[i].want);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
		config_free(&c);
	}
}

/* Rules between options. */
static void test_cross_checks(void)
{
	struct mt_option none[] = {{"commit_window", "5"}};
	struct mt_option share[] = {
		{"database", "x.db"}, {"buffer_max", "10"}, {"buffer_per_user", "11"}};
	struct mt_option devs[] = {
		{"database", "x.db"}, {"max_devices", "5"}, {"max_devices_per_user", "6"}};
	struct mt_option loop[] = {
		{"database", "x.db"}, {"input_prefix", "same"}, {"output_prefix", "same"}};
	struct mt_option ctl[] = {{"database", "x.db"}, {"control_prefix", "mytracks"}};
	struct mt_option ok[] = {
		{"database", "x.db"}, {"buffer_max", "10"}, {"buffer_per_user", "10"}};
	struct mt_config c;
	char err[256];

	CU_ASSERT_EQUAL(config_parse(&c, none, N(none), err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin_opt_database is required"));
	config_free(&c);
	CU_ASSERT_EQUAL(config_parse(&c, share, N(share), err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin_opt_buffer_per_user"));
	config_free(&c);
	CU_ASSERT_EQUAL(config_parse(&c, devs, N(devs), err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin_opt_max_devices_per_user"));
	config_free(&c);
	CU_ASSERT_EQUAL(config_parse(&c, loop, N(loop), err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "must differ"));
	config_free(&c);
	CU_ASSERT_EQUAL(config_parse(&c, ctl, N(ctl), err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin_opt_control_prefix must differ"));
	config_free(&c);
	CU_ASSERT_EQUAL(config_parse(&c, ok, N(ok), err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.buffer_per_user, 10);
	config_free(&c);
}

/* A small buffer_max still leaves every user a share of at least one row. */
static void test_share_default_floor(void)
{
	struct mt_option o[] = {{"database", "x.db"}, {"buffer_max", "5"}};
	struct mt_config c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(config_parse(&c, o, N(o), err, sizeof(err)), 0);
	CU_ASSERT_TRUE(c.buffer_per_user >= 1 && c.buffer_per_user <= 5);
	config_free(&c);
}

int init_config_tests(void)
{
	static const struct test_case cases[] = {
		{"defaults", test_defaults},
		{"values are trimmed", test_values_trimmed},
		{"a repeated option: the last wins", test_repeated_option},
		{"bad values name their option", test_bad_values},
		{"rules between options", test_cross_checks},
		{"the per-user share is never 0", test_share_default_floor},
		{NULL, NULL},
	};
	return add_suite("plugin/config", cases);
}
