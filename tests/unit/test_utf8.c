/* test_utf8: strict UTF-8 validation.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"
#include "utf8.h"

#include <string.h>

#define VALID(s) CU_ASSERT_TRUE(utf8_valid(s, sizeof(s) - 1))
#define INVALID(s) CU_ASSERT_FALSE(utf8_valid(s, sizeof(s) - 1))

static void test_valid(void)
{
	VALID("");
	VALID("ascii {\"_type\":\"location\"}");
	VALID("\xc3\xa9");	   /* é */
	VALID("\xe2\x82\xac");	   /* € */
	VALID("\xf0\x9f\x98\x80"); /* emoji */
	VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	VALID("\xef\xbf\xbd");	   /* U+FFFD */
}

static void test_invalid(void)
{
	INVALID("a\0b");	     /* NUL */
	INVALID("\x80");	     /* lone continuation */
	INVALID("\xc3");	     /* truncated */
	INVALID("\xc0\x80");	     /* overlong NUL */
	INVALID("\xe0\x80\xaf");     /* overlong */
	INVALID("\xed\xa0\x80");     /* surrogate */
	INVALID("\xf4\x90\x80\x80"); /* above U+10FFFF */
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xff");
	INVALID("ok\xe2\x82"); /* truncated at the end */
}

#define ESC(in, want)                                                                              \
	do {                                                                                       \
		char out[UTF8_LOG_LEN(sizeof(in))];                                                \
		CU_ASSERT_STRING_EQUAL(utf8_log_escape(out, sizeof(out), in, sizeof(in) - 1),      \
				       want);                                                      \
	} while (0)

static void test_log_escape(void)
{
	char small[8];

	ESC("plain text", "plain text");
	ESC("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"); /* valid UTF-8 kept */
	ESC("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d");		     /* a forged log line */
	ESC("a\0b", "a\\x00b");
	ESC("back\\slash", "back\\\\slash");	/* "\x41" typed by a client stays apart */
	ESC("\x7f\xc2\x85", "\\x7f\\xc2\\x85"); /* DEL and C1 NEL */
	ESC("\xff\xc3", "\\xff\\xc3");		/* not UTF-8, truncated sequence */
	ESC("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
	/* cut at a whole escape, marked */
	CU_ASSERT_STRING_EQUAL(utf8_log_escape(small, sizeof(small), "abcdefghij", 10), "abcd...");
	CU_ASSERT_STRING_EQUAL(utf8_log_escape(small, sizeof(small), "abcdefg", 7), "abcdefg");
	CU_ASSERT_STRING_EQUAL(utf8_log_escape(small, sizeof(small), "ab\ncdef", 7), "ab...");
	CU_ASSERT_STRING_EQUAL(
		utf8_log_escape(small, sizeof(small), "\xe2\x82\xac\xe2\x82\xac\xe2", 7),
		"\xe2\x82\xac...");
	CU_ASSERT_STRING_EQUAL(utf8_log_escape(small, 1, "abc", 3), "");
	CU_ASSERT_STRING_EQUAL(utf8_log_escape(small, 3, "abc", 3), "ab");
	CU_ASSERT_STRING_EQUAL(utf8_log_str(small, sizeof(small), NULL), "(null)");
}

int init_utf8_tests(void)
{
	static const struct test_case cases[] = {
		{"valid sequences", test_valid},
		{"invalid sequences", test_invalid},
		{"escaping for log lines", test_log_escape},
		{NULL, NULL},
	};
	return add_suite("utf8", cases);
}
