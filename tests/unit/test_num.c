/* test_num: the one decimal-integer reader (core/num.c).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "num.h"
#include "tests.h"

#include <stdint.h>

static void test_accepts(void)
{
	int64_t v = -7;

	CU_ASSERT_EQUAL(num_parse("0", 0, 10, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(num_parse("10", 0, 10, &v), 0);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(num_parse("-5", -5, 5, &v), 0);
	CU_ASSERT_EQUAL(v, -5);
	CU_ASSERT_EQUAL(num_parse("007", 0, 10, &v), 0);
	CU_ASSERT_EQUAL(v, 7);
	CU_ASSERT_EQUAL(num_parse("9223372036854775807", 0, INT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, INT64_MAX);
	CU_ASSERT_EQUAL(num_parse("-9223372036854775808", INT64_MIN, 0, &v), 0);
	CU_ASSERT_EQUAL(v, INT64_MIN);
}

/* Everything else is refused and leaves the output alone. */
static void test_refuses(void)
{
	static const char *const bad[] = {
		"",
		" 1",
		"1 ",
		"+1",
		"--1",
		"-",
		"1e3",
		"0x10",
		"1.0",
		"12ms",
		"١",
		"\t2",
		"2\n",
		"-11",
		"11",
		"9223372036854775808",
		"-9223372036854775809",
		"99999999999999999999",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 42;

		CU_ASSERT_EQUAL(num_parse(bad[i], -10, 10, &v), -1);
		CU_ASSERT_EQUAL(v, 42);
	}
	{
		int64_t v = 42;

		CU_ASSERT_EQUAL(num_parse(NULL, 0, 10, &v), -1);
		CU_ASSERT_EQUAL(num_parse("-1", 0, 10, &v), -1); /* below min */
		CU_ASSERT_EQUAL(v, 42);
	}
}

int init_num_tests(void)
{
	static const struct test_case cases[] = {
		{"accepted forms and bounds", test_accepts},
		{"refused forms leave the output alone", test_refuses},
		{NULL, NULL},
	};
	return add_suite("num", cases);
}
