/* test_plugin_main: runs the plugin modules' CUnit suites (test_plugin).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * One suite per plugin module that needs no running broker; add its
 * init_<module>_tests() to the list.
 */
#include "tests.h"

int main(void)
{
	static int (*const inits[])(void) = {
		init_config_tests, init_devices_tests, init_users_tests,  init_ratelimit_tests,
		init_dblock_tests, init_store_tests,   init_ingest_tests, NULL};

	return run_suites(inits);
}
