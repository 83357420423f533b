/* tests.h: the CUnit suites of the core library, one per module.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_TESTS_H
#define MYTRACKS_TESTS_H

#include <CUnit/CUnit.h>

int init_jbuf_tests(void);
int init_utf8_tests(void);
int init_ot_tests(void);
int init_dataobj_tests(void);
int init_export_tests(void);
int init_track_tests(void);
int init_isotime_tests(void);

/* Add a suite with its tests; returns 0 or -1 (CUnit's error is set). */
struct test_case {
	const char *name;
	CU_TestFunc fn;
};
int add_suite(const char *name, const struct test_case *cases);

#endif
