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

int init_utf8_tests(void)
{
	static const struct test_case cases[] = {
		{"valid sequences", test_valid},
		{"invalid sequences", test_invalid},
		{NULL, NULL},
	};
	return add_suite("utf8", cases);
}
