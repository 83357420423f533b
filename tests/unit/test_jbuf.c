/* test_jbuf: the capped buffer and JSON string escaping.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "jbuf.h"
#include "tests.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_append_and_cap(void)
{
	struct jbuf b;

	jbuf_init(&b, 0, 8);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "");
	jbuf_puts(&b, "abcd");
	jbuf_puts(&b, "efgh");
	CU_ASSERT_FALSE(jbuf_failed(&b));
	CU_ASSERT_EQUAL(jbuf_len(&b), 8);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "abcdefgh");
	jbuf_putc(&b, 'i'); /* over the cap: fails, content kept */
	CU_ASSERT_TRUE(jbuf_failed(&b));
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "abcdefgh");
	jbuf_puts(&b, "x"); /* later appends are no-ops */
	CU_ASSERT_EQUAL(jbuf_len(&b), 8);
	jbuf_reset(&b);
	CU_ASSERT_FALSE(jbuf_failed(&b));
	CU_ASSERT_EQUAL(jbuf_len(&b), 0);
	jbuf_free(&b);
}

static void test_headroom_and_growth(void)
{
	struct jbuf b;
	char *m;
	int i;

	jbuf_init(&b, 16, 100000);
	for (i = 0; i < 10000; i++)
		jbuf_putc(&b, (char)('a' + i % 26));
	CU_ASSERT_EQUAL(jbuf_len(&b), 10000);
	CU_ASSERT_EQUAL(jbuf_data(&b)[9999], 'a' + 9999 % 26);
	m = jbuf_steal(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m[16], 'a'); /* data starts after the headroom */
	CU_ASSERT_EQUAL(jbuf_len(&b), 0);
	free(m);
	jbuf_free(&b);
}

static void test_int_and_printf(void)
{
	struct jbuf b;

	jbuf_init(&b, 0, 1024);
	jbuf_int(&b, 0);
	jbuf_putc(&b, ' ');
	jbuf_int(&b, -42);
	jbuf_putc(&b, ' ');
	jbuf_int(&b, INT64_MIN);
	jbuf_putc(&b, ' ');
	jbuf_int(&b, INT64_MAX);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "0 -42 -9223372036854775808 9223372036854775807");
	jbuf_reset(&b);
	jbuf_printf(&b, "%s-%d", "x", 7);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "x-7");
	jbuf_reset(&b);
	/* longer than printf's small stack buffer */
	jbuf_printf(&b, "%0300d", 1);
	CU_ASSERT_EQUAL(jbuf_len(&b), 300);
	jbuf_free(&b);
}

static const char *escaped(const char *s, size_t len)
{
	static struct jbuf b;

	jbuf_free(&b);
	jbuf_init(&b, 0, 4096);
	jbuf_json_str(&b, s, len);
	return jbuf_data(&b);
}

static void test_json_escaping(void)
{
	CU_ASSERT_STRING_EQUAL(escaped("plain", 5), "\"plain\"");
	CU_ASSERT_STRING_EQUAL(escaped("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	CU_ASSERT_STRING_EQUAL(escaped("l1\nl2\r\t", 7), "\"l1\\nl2\\r\\t\"");
	CU_ASSERT_STRING_EQUAL(escaped("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	/* NUL inside the given length is escaped, not a terminator */
	CU_ASSERT_STRING_EQUAL(escaped("a\0b", 3), "\"a\\u0000b\"");
	/* hostile markup passes through as text: the page renders it as text */
	CU_ASSERT_STRING_EQUAL(escaped("<script>alert(1)</script>", 25),
			       "\"<script>alert(1)</script>\"");
	/* valid UTF-8 is kept, invalid bytes become U+FFFD */
	CU_ASSERT_STRING_EQUAL(escaped("K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x93\x8d", 14),
			       "\"K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x93\x8d\"");
	CU_ASSERT_STRING_EQUAL(escaped("a\xff"
				       "b",
				       3),
			       "\"a\\ufffdb\"");
	CU_ASSERT_STRING_EQUAL(escaped("\xc3", 1), "\"\\ufffd\"");	      /* truncated */
	CU_ASSERT_STRING_EQUAL(escaped("\xc0\xaf", 2), "\"\\ufffd\\ufffd\""); /* overlong */
	CU_ASSERT_STRING_EQUAL(escaped("\xed\xa0\x80", 3),
			       "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	{
		struct jbuf b;

		jbuf_init(&b, 0, 64);
		jbuf_json_cstr(&b, NULL);
		CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "null");
		jbuf_free(&b);
	}
	CU_ASSERT_STRING_EQUAL(escaped("", 0), "\"\"");
}

int init_jbuf_tests(void)
{
	static const struct test_case cases[] = {
		{"append and cap", test_append_and_cap},
		{"headroom and growth", test_headroom_and_growth},
		{"integers and printf", test_int_and_printf},
		{"JSON string escaping", test_json_escaping},
		{NULL, NULL},
	};
	return add_suite("jbuf", cases);
}
