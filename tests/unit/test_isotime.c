/* test_isotime: the one parser for client-supplied times.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include "isotime.h"

static int64_t t(const char *s)
{
	int64_t v = -12345;

	return isotime_parse(s, &v) ? -1 : v;
}

static void test_days(void)
{
	CU_ASSERT_EQUAL(isotime_days(1970, 1, 1), 0);
	CU_ASSERT_EQUAL(isotime_days(2000, 3, 1), 11017);
	CU_ASSERT_EQUAL(isotime_days(1969, 12, 31), -1);
	CU_ASSERT_EQUAL(isotime_days(2038, 1, 19), 24855); /* past the 32-bit limit next day */
	CU_ASSERT_EQUAL(isotime_days(9999, 12, 31), 2932896);
}

static void test_forms(void)
{
	int64_t v;

	CU_ASSERT_EQUAL(t("1705329000"), 1705329000);
	CU_ASSERT_EQUAL(t("0"), 0);
	CU_ASSERT_EQUAL(t("2024"), 2024); /* digits alone are unix seconds, not a year */
	CU_ASSERT_EQUAL(t("2024-01-15T14:30:00Z"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-01-15T14:30:00"), 1705329000); /* the Recorder's: UTC */
	CU_ASSERT_EQUAL(t("2024-01-15 14:30:00"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-01-15T14:30"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-01-15T14"), 1705327200);
	CU_ASSERT_EQUAL(t("2024-01-15"), 1705276800);
	CU_ASSERT_EQUAL(t("2024-01"), 1704067200);
	CU_ASSERT_EQUAL(t("2024-01-15T15:30:00+01:00"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-01-15T15:30:00+0100"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-01-15T09:30:00-05"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-01-15T14:30:00.123Z"), 1705329000);
	CU_ASSERT_EQUAL(t("2024-02-29T00:00:00Z"), 1709164800); /* a leap day */
	CU_ASSERT_EQUAL(t("2100-01-01"), 4102444800);		/* past 2038 */
	CU_ASSERT_EQUAL(isotime_parse("1969-12-31T23:59:59Z", &v), 0);
	CU_ASSERT_EQUAL(v, -1); /* before 1970 is negative */
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"",
		"abc",
		"2024-1-15",
		"2024-13-01",
		"2024-00-10",
		"2023-02-29",
		"2024-04-31",
		"2024-01-15T24:00",
		"2024-01-15T12:60",
		"2024-01-15T12:00:61",
		"2024-01-15T12:00:00Q",
		"2024-01-15T12:00:00+19:00",
		"2024-01-15T12:00:00+01:60",
		"2024-01-15T12:00:00.",
		"2024-01-15x",
		"1705329000.5",
		"-5",
		"1234567890123",
		"2024-01-15T",
		"2024-01-15T1",
		" 2024-01-15",
		"2024-01-15 ",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v;

		if (!isotime_parse(bad[i], &v))
			CU_FAIL(bad[i]);
	}
}

int init_isotime_tests(void)
{
	static const struct test_case cases[] = {
		{"days from a civil date", test_days},
		{"every accepted form", test_forms},
		{"refused forms", test_refused},
		{NULL, NULL},
	};
	return add_suite("isotime", cases);
}
