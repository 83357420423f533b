/* test_tools_main: runs the load tools' shared code's CUnit suites (test_tools).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

int main(void)
{
	static int (*const inits[])(void) = {init_toolutil_tests, NULL};

	return run_suites(inits);
}
