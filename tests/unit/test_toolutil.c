/* test_toolutil: the HTTP response reader the load tools share.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"
#include "toolutil.h"

#include <string.h>

static int parse(const char *s, struct tu_http_response *r)
{
	return tu_http_response(s, strlen(s), r);
}

static void test_content_length(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "content-length:  2\r\n\r\n[]HTTP/1.1 503";
	struct tu_http_response r;
	size_t i;

	CU_ASSERT_EQUAL(parse(ok, &r), 1);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.header_len, strlen(ok) - strlen("[]HTTP/1.1 503"));
	CU_ASSERT_EQUAL(r.total_len, r.header_len + 2); /* the next response is not eaten */
	CU_ASSERT_FALSE(r.chunked);
	CU_ASSERT_FALSE(r.close_after);
	/* every cut before the end of the body asks for more */
	for (i = 0; i < r.total_len; i++)
		CU_ASSERT_EQUAL(tu_http_response(ok, i, &r), 0);
	/* headers complete, body not yet: the length is known already */
	CU_ASSERT_EQUAL(tu_http_response(ok, strlen(ok) - strlen("[]HTTP/1.1 503") + 1, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.total_len, strlen(ok) - strlen("HTTP/1.1 503"));
	CU_ASSERT_EQUAL(parse("HTTP/1.0 404 Not Found\r\nConnection: close\r\n"
			      "Content-Length: 0\r\n\r\n",
			      &r),
			1);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_TRUE(r.close_after);
}

static void test_chunked(void)
{
	char buf[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	struct tu_http_response r;
	size_t i;

	CU_ASSERT_EQUAL(parse(buf, &r), 1);
	CU_ASSERT_TRUE(r.chunked);
	CU_ASSERT_EQUAL(r.total_len, strlen(buf));
	for (i = 0; i < r.total_len; i++)
		CU_ASSERT_EQUAL(tu_http_response(buf, i, &r), 0);
	CU_ASSERT_EQUAL(parse(buf, &r), 1);
	CU_ASSERT_EQUAL(tu_http_dechunk(buf + r.header_len, r.total_len - r.header_len), 11);
	CU_ASSERT_EQUAL(memcmp(buf + r.header_len, "hello world", 11), 0);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"HTTP/2 200\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 abc\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nxx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\n\r\nbody ended by closing",
	};
	struct tu_http_response r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &r) != -1)
			fprintf(stderr, "\n  accepted: %s\n", bad[i]);
		CU_ASSERT_EQUAL(parse(bad[i], &r), -1);
	}
	CU_ASSERT_EQUAL(parse("HTTP/1.1 204 No Content\r\n\r\n", &r), 1);
	CU_ASSERT_EQUAL(r.total_len, r.header_len);
}

int init_toolutil_tests(void)
{
	static const struct test_case cases[] = {
		{"Content-Length responses, cut anywhere", test_content_length},
		{"chunked responses, cut anywhere, joined", test_chunked},
		{"what cannot be read", test_refused},
		{NULL, NULL},
	};
	return add_suite("toolutil", cases);
}
