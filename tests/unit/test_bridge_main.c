/* test_bridge_main: runs the bridge modules' CUnit suites (test_bridge).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * One suite per bridge module that needs no lws context or broker; add
 * its init_<module>_tests() to the list.
 */
#include "tests.h"

int main(void)
{
	static int (*const inits[])(void) = {
		init_parse_tests, init_relay_tests,   init_queue_tests,
		init_db_tests,	  init_auth_tests,    init_authtoken_tests,
		init_tiles_tests, init_friends_tests, NULL};

	return run_suites(inits);
}
