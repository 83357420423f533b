/* test_main: runs the core library's CUnit suites; non-zero exit on failure.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

int main(void)
{
	static int (*const inits[])(void) = {
		init_jbuf_tests,     init_jdoc_tests,	init_utf8_tests,  init_ot_tests,
		init_dataobj_tests,  init_export_tests, init_track_tests, init_isotime_tests,
		init_otcrypto_tests, init_recobj_tests, init_num_tests,	  NULL,
	};

	return run_suites(inits);
}
