/* suite: registering and running CUnit suites, shared by the test programs.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <CUnit/Basic.h>
#include <stdio.h>

int add_suite(const char *name, const struct test_case *cases)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	if (!s)
		return -1;
	for (; cases->name; cases++) {
		if (!CU_add_test(s, cases->name, cases->fn))
			return -1;
	}
	return 0;
}

int run_suites(int (*const *inits)(void))
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (; *inits; inits++) {
		if ((*inits)()) {
			fprintf(stderr, "cannot register tests: %s\n", CU_get_error_msg());
			CU_cleanup_registry();
			return 1;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	failed += CU_get_run_summary()->nSuitesFailed;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
