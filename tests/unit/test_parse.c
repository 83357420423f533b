/* test_parse: the bridge's parsers of untrusted request bytes (bridge/parse.c).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Every parser, and every failure path: an output buffer is always
 * NUL-terminated, and empty when the parser failed (callers log it).
 */
#include "parse.h"
#include "tests.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Fill a buffer with 'X' (no terminator) before a call. */
#define DIRTY(buf) memset(buf, 'X', sizeof(buf))
/* Failed: the output is terminated and empty. */
#define EMPTY(buf) CU_ASSERT_EQUAL((buf)[0], '\0')

#define S(lit) lit, sizeof(lit) - 1

static const struct bridge_config cfg = {
	.in_prefix = "owntracks",
	.trusted_proxies = {"127.0.0.1", "::1"},
	.n_trusted_proxies = 2,
};

static void test_uint(void)
{
	int64_t v = -1;

	CU_ASSERT_EQUAL(parse_uint("0", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(parse_uint("10", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(parse_uint("11", 10, &v), -1);
	CU_ASSERT_EQUAL(parse_uint("", 10, &v), -1);
	CU_ASSERT_EQUAL(parse_uint("-1", 10, &v), -1);
	CU_ASSERT_EQUAL(parse_uint("+1", 10, &v), -1);
	CU_ASSERT_EQUAL(parse_uint(" 1", 10, &v), -1);
	CU_ASSERT_EQUAL(parse_uint("1x", 10, &v), -1);
	CU_ASSERT_EQUAL(parse_uint("99999999999999999999", INT64_MAX, &v), -1);
}

static void test_device_spec(void)
{
	char longspec[300];

	CU_ASSERT_TRUE(parse_device_spec("7"));
	CU_ASSERT_TRUE(parse_device_spec("alice/phone"));
	CU_ASSERT_FALSE(parse_device_spec("0"));
	CU_ASSERT_FALSE(parse_device_spec("x"));
	CU_ASSERT_FALSE(parse_device_spec("/phone"));
	CU_ASSERT_FALSE(parse_device_spec("alice/"));
	CU_ASSERT_FALSE(parse_device_spec("a/b/c"));
	memset(longspec, 'a', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	longspec[10] = '/';
	CU_ASSERT_FALSE(parse_device_spec(longspec));
}

static void test_name_ok(void)
{
	char big[130];

	CU_ASSERT_TRUE(parse_name_ok(S("alice")));
	CU_ASSERT_TRUE(parse_name_ok(S("caf\xc3\xa9")));
	CU_ASSERT_FALSE(parse_name_ok(S("")));
	CU_ASSERT_FALSE(parse_name_ok(S("a/b")));
	CU_ASSERT_FALSE(parse_name_ok(S("a+")));
	CU_ASSERT_FALSE(parse_name_ok(S("a#")));
	CU_ASSERT_FALSE(parse_name_ok(S("a\nb")));
	CU_ASSERT_FALSE(parse_name_ok(S("a\x7f")));
	CU_ASSERT_FALSE(parse_name_ok(S("\xff")));
	memset(big, 'a', sizeof(big));
	CU_ASSERT_TRUE(parse_name_ok(big, 128));
	CU_ASSERT_FALSE(parse_name_ok(big, 129));
}

static int topic_of(const char *body, const char *u, const char *d, char *topic, size_t tl,
		    char *err, size_t el)
{
	return parse_report_topic(&cfg, body, strlen(body), u, d, topic, tl, err, el);
}

static void test_pub_topic(void)
{
	char topic[400], err[128], small[12];

	DIRTY(topic);
	DIRTY(err);
	CU_ASSERT_EQUAL(topic_of("{}", "alice", "phone", topic, sizeof(topic), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(topic, "owntracks/alice/phone");
	EMPTY(err);
	CU_ASSERT_EQUAL(topic_of("{\"topic\":\"owntracks/bob/tab/event\"}", NULL, NULL, topic,
				 sizeof(topic), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(topic, "owntracks/bob/tab");
	/* a header wins over the topic field */
	CU_ASSERT_EQUAL(topic_of("{\"topic\":\"owntracks/bob/tab\"}", "alice", NULL, topic,
				 sizeof(topic), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(topic, "owntracks/alice/tab");

	/* failures: topic empty, err says why */
#define FAILS(body, u, d, want)                                                                    \
	do {                                                                                       \
		DIRTY(topic);                                                                      \
		DIRTY(err);                                                                        \
		CU_ASSERT_EQUAL(topic_of(body, u, d, topic, sizeof(topic), err, sizeof(err)), -1); \
		EMPTY(topic);                                                                      \
		CU_ASSERT_PTR_NOT_NULL(strstr(err, want));                                         \
	} while (0)
	FAILS("[]", "alice", "phone", "not a JSON object");
	FAILS("{", "alice", "phone", "not a JSON object");
	FAILS("{\"a\":\"\xff\"}", "alice", "phone", "UTF-8");
	FAILS("{}", NULL, NULL, "no user/device");
	FAILS("{\"topic\":\"owntracks\"}", NULL, NULL, "no user/device");
	FAILS("{\"topic\":7}", NULL, "phone", "no user/device");
	FAILS("{}", "a/b", "phone", "invalid user or device name");
	FAILS("{}", "alice", "ph\none", "invalid user or device name");
	FAILS("{\"topic\":\"owntracks//phone\"}", NULL, NULL, "invalid user or device name");
#undef FAILS
	DIRTY(small);
	DIRTY(err);
	CU_ASSERT_EQUAL(topic_of("{}", "alice", "phone", small, sizeof(small), err, sizeof(err)),
			-1);
	EMPTY(small);
	CU_ASSERT_STRING_EQUAL(err, "topic too long");
	/* an err buffer too small for the reason is still terminated */
	DIRTY(topic);
	DIRTY(small);
	CU_ASSERT_EQUAL(topic_of("[]", "a", "b", topic, sizeof(topic), small, sizeof(small)), -1);
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
}

static void test_topic_user(void)
{
	char out[8];

	DIRTY(out);
	CU_ASSERT_EQUAL(parse_topic_user("owntracks/alice/phone", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "alice");
	DIRTY(out);
	CU_ASSERT_EQUAL(parse_topic_user("owntracks", out, sizeof(out)), -1);
	EMPTY(out);
	DIRTY(out);
	CU_ASSERT_EQUAL(parse_topic_user("owntracks/alice", out, sizeof(out)), -1);
	EMPTY(out);
	DIRTY(out);
	CU_ASSERT_EQUAL(parse_topic_user("owntracks/alicealice/phone", out, sizeof(out)), -1);
	EMPTY(out);
}

static void test_client_ip(void)
{
	char out[64], tiny[8];

	parse_client_ip(&cfg, "10.0.0.1", "1.2.3.4", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "10.0.0.1"); /* not a trusted proxy */
	parse_client_ip(&cfg, "127.0.0.1", NULL, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
	parse_client_ip(&cfg, "127.0.0.1", "1.2.3.4", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "1.2.3.4");
	parse_client_ip(&cfg, "127.0.0.1", "9.9.9.9, 1.2.3.4 , ::1", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "1.2.3.4");
	parse_client_ip(&cfg, "127.0.0.1", "2001:db8::1", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2001:db8::1");
	/* not an address: the peer stays */
	parse_client_ip(&cfg, "127.0.0.1", "1.2.3.4\n", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
	parse_client_ip(&cfg, "127.0.0.1", "evil<b>", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
	parse_client_ip(&cfg, "127.0.0.1", "", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
	parse_client_ip(&cfg, "127.0.0.1", ",,,", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1");
	/* too long for the buffer: cut, terminated */
	parse_client_ip(&cfg, "127.0.0.1", "2001:db8::1234:5678", tiny, sizeof(tiny));
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
}

static void test_cookie(void)
{
	char out[65];

	DIRTY(out);
	CU_ASSERT_TRUE(parse_cookie("a=1; mytracks_session=abc ; b=2", "mytracks_session", out,
				    sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "abc");
	CU_ASSERT_TRUE(parse_cookie("mytracks_session=", "mytracks_session", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "");
#define NO_COOKIE(hdr, o, ol)                                                                      \
	do {                                                                                       \
		memset(o, 'X', ol);                                                                \
		CU_ASSERT_FALSE(parse_cookie(hdr, "mytracks_session", o, ol));                     \
		EMPTY(o);                                                                          \
	} while (0)
	NO_COOKIE("", out, sizeof(out));
	NO_COOKIE("other=1", out, sizeof(out));
	NO_COOKIE("mytracks_sessionx=1", out, sizeof(out));
	NO_COOKIE("mytracks_session", out, sizeof(out));
	NO_COOKIE(";;;", out, sizeof(out));
	{
		char small[4];

		NO_COOKIE("mytracks_session=abcd", small, sizeof(small));
	}
#undef NO_COOKIE
}

static void test_form_field(void)
{
	char out[16];

	DIRTY(out);
	CU_ASSERT_TRUE(parse_form_field(S("a=1&user=al+ice%21&b"), "user", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "al ice!");
	CU_ASSERT_TRUE(parse_form_field(S("user="), "user", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_TRUE(parse_form_field(S("user=%C3%a9"), "user", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "\xc3\xa9");
	/* the body need not be terminated: only len bytes are read */
	CU_ASSERT_TRUE(parse_form_field("user=abXXXX", 7, "user", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "ab");
#define NO_FIELD(body)                                                                             \
	do {                                                                                       \
		DIRTY(out);                                                                        \
		CU_ASSERT_FALSE(parse_form_field(S(body), "user", out, sizeof(out)));              \
		EMPTY(out);                                                                        \
	} while (0)
	NO_FIELD("");
	NO_FIELD("password=x");
	NO_FIELD("username=x");
	NO_FIELD("user");
	NO_FIELD("ab%zz&user=ab%zz");
	NO_FIELD("user=ab%zz");		   /* the bug of issue 9: partial "ab" left unterminated */
	NO_FIELD("user=ab%z");		   /* one hex digit */
	NO_FIELD("user=ab%");		   /* escape at the end */
	NO_FIELD("user=ab%4");		   /* cut escape */
	NO_FIELD("user=ab%4&x");	   /* escape cut by '&' */
	NO_FIELD("user=ab%00cd");	   /* NUL */
	NO_FIELD("user=0123456789abcdef"); /* 16 bytes: no room for the NUL */
#undef NO_FIELD
	/* 15 bytes fit */
	CU_ASSERT_TRUE(parse_form_field(S("user=0123456789abcde"), "user", out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "0123456789abcde");
	/* and the decoded failure leaves no bytes of the value behind */
	DIRTY(out);
	CU_ASSERT_FALSE(parse_form_field(S("user=secret%zz"), "user", out, sizeof(out)));
	CU_ASSERT_PTR_NULL(memchr(out, 's', sizeof(out)));
}

static void test_login(void)
{
	char user[129], pass[257], body[1200];

	DIRTY(user);
	DIRTY(pass);
	CU_ASSERT_EQUAL(parse_login(S("user=alice&password=a+b%26c"), false, user, sizeof(user),
				    pass, sizeof(pass)),
			0);
	CU_ASSERT_STRING_EQUAL(user, "alice");
	CU_ASSERT_STRING_EQUAL(pass, "a b&c");
	CU_ASSERT_EQUAL(parse_login(S("{\"user\":\"bob\",\"password\":\"p:w\"}"), true, user,
				    sizeof(user), pass, sizeof(pass)),
			0);
	CU_ASSERT_STRING_EQUAL(user, "bob");
	CU_ASSERT_STRING_EQUAL(pass, "p:w");
#define NO_LOGIN(b, n, json)                                                                       \
	do {                                                                                       \
		DIRTY(user);                                                                       \
		DIRTY(pass);                                                                       \
		CU_ASSERT_EQUAL(parse_login(b, n, json, user, sizeof(user), pass, sizeof(pass)),   \
				-1);                                                               \
		EMPTY(user);                                                                       \
		EMPTY(pass);                                                                       \
	} while (0)
	NO_LOGIN("", sizeof("") - 1, false);
	NO_LOGIN("user=alice", sizeof("user=alice") - 1, false);
	NO_LOGIN("password=x", sizeof("password=x") - 1, false);
	NO_LOGIN("user=ab%zz&password=x", sizeof("user=ab%zz&password=x") - 1, false);
	NO_LOGIN("user=alice&password=x%zz", sizeof("user=alice&password=x%zz") - 1, false);
	NO_LOGIN("user=al%0aice&password=x%00", sizeof("user=al%0aice&password=x%00") - 1, false);
	NO_LOGIN("", sizeof("") - 1, true);
	NO_LOGIN("[]", sizeof("[]") - 1, true);
	NO_LOGIN("{\"user\":\"alice\"}", sizeof("{\"user\":\"alice\"}") - 1, true);
	NO_LOGIN("{\"user\":\"alice\",\"password\":7}",
		 sizeof("{\"user\":\"alice\",\"password\":7}") - 1, true);
	NO_LOGIN("{\"user\":1,\"password\":\"x\"}", sizeof("{\"user\":1,\"password\":\"x\"}") - 1,
		 true);
	/* a user of 129 bytes (the bug of issue 9), as a form and as JSON */
	snprintf(body, sizeof(body), "user=%0129d&password=x", 0);
	NO_LOGIN(body, strlen(body), false);
	snprintf(body, sizeof(body), "{\"user\":\"%0129d\",\"password\":\"x\"}", 0);
	NO_LOGIN(body, strlen(body), true);
	/* a password longer than the buffer */
	snprintf(body, sizeof(body), "user=alice&password=%0*d", 257, 0);
	NO_LOGIN(body, strlen(body), false);
	snprintf(body, sizeof(body), "{\"user\":\"alice\",\"password\":\"%0*d\"}", 257, 0);
	NO_LOGIN(body, strlen(body), true);
	/* 128 and 256 bytes fit */
	snprintf(body, sizeof(body), "user=%0128d&password=%0*d", 0, 257 - 1, 0);
	CU_ASSERT_EQUAL(
		parse_login(body, strlen(body), false, user, sizeof(user), pass, sizeof(pass)), 0);
	CU_ASSERT_EQUAL(strlen(user), 128);
	CU_ASSERT_EQUAL(strlen(pass), 257 - 1);
#undef NO_LOGIN
}

static void test_basic_auth(void)
{
	char user[129], pass[257];

	DIRTY(user);
	DIRTY(pass);
	/* alice:s3cret:x */
	CU_ASSERT_EQUAL(parse_basic_auth("Basic YWxpY2U6czNjcmV0Ong=", user, sizeof(user), pass,
					 sizeof(pass)),
			0);
	CU_ASSERT_STRING_EQUAL(user, "alice");
	CU_ASSERT_STRING_EQUAL(pass, "s3cret:x");
	CU_ASSERT_EQUAL(parse_basic_auth("basic   YTo=", user, sizeof(user), pass, sizeof(pass)),
			0); /* a: */
	CU_ASSERT_STRING_EQUAL(user, "a");
	CU_ASSERT_STRING_EQUAL(pass, "");
#define NO_BASIC(hdr, ul, pl)                                                                      \
	do {                                                                                       \
		DIRTY(user);                                                                       \
		DIRTY(pass);                                                                       \
		CU_ASSERT_EQUAL(parse_basic_auth(hdr, user, ul, pass, pl), -1);                    \
		EMPTY(user);                                                                       \
		EMPTY(pass);                                                                       \
	} while (0)
	NO_BASIC("", sizeof(user), sizeof(pass));
	NO_BASIC("Bearer YTo=", sizeof(user), sizeof(pass));
	NO_BASIC("Basic YWxpY2U=", sizeof(user), sizeof(pass)); /* no colon */
	NO_BASIC("Basic YT!6", sizeof(user), sizeof(pass));	/* not base64 */
	NO_BASIC("Basic YTo=x", sizeof(user), sizeof(pass));	/* after padding */
	NO_BASIC("Basic YQA6eA==", sizeof(user), sizeof(pass)); /* a\0:x */
	NO_BASIC("Basic YWxpY2U6eA==", 5, sizeof(pass));	/* user too long */
	NO_BASIC("Basic YWxpY2U6czNjcmV0", sizeof(user), 6);	/* password too long */
	{
		char hdr[1000] = "Basic ";

		memset(hdr + 6, 'Q', sizeof(hdr) - 7); /* decodes to over 512 bytes */
		hdr[sizeof(hdr) - 1] = '\0';
		NO_BASIC(hdr, sizeof(user), sizeof(pass));
	}
#undef NO_BASIC
}

static void test_origin(void)
{
	static const char *const allowed[] = {"https://map.example.org"};

	CU_ASSERT_TRUE(parse_origin_allowed(NULL, "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(parse_origin_allowed("http://h:1", "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(parse_origin_allowed("HTTP://H:1", "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(parse_origin_allowed("https://h:1", "h:1", true, allowed, 1));
	CU_ASSERT_TRUE(parse_origin_allowed("https://map.example.org", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_origin_allowed("https://h:1", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_origin_allowed("http://h:2", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_origin_allowed("http://h:1.evil", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_origin_allowed("null", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_origin_allowed("http://h:1", "", false, allowed, 1));
	CU_ASSERT_FALSE(parse_origin_allowed("http://h:1", NULL, false, allowed, 0));
}

static void test_post_origin(void)
{
	static const char *const allowed[] = {"https://map.example.org"};

	/* phones and tools send neither header */
	CU_ASSERT_TRUE(parse_post_origin_ok(NULL, NULL, "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(parse_post_origin_ok(NULL, "none", "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(parse_post_origin_ok(NULL, "same-origin", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_post_origin_ok(NULL, "cross-site", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_post_origin_ok(NULL, "Same-Site", "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(parse_post_origin_ok("http://h:1", "cross-site", "h:1", false, allowed, 1));
	CU_ASSERT_TRUE(
		parse_post_origin_ok("https://map.example.org", NULL, "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(
		parse_post_origin_ok("http://evil.example", NULL, "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_post_origin_ok("null", NULL, "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_post_origin_ok("null", "cross-site", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_post_origin_ok("null", "none", "h:1", false, allowed, 1));
	/* our login form under Referrer-Policy: no-referrer */
	CU_ASSERT_TRUE(parse_post_origin_ok("null", "same-origin", "h:1", false, allowed, 1));
	CU_ASSERT_FALSE(parse_post_origin_ok("", NULL, "h:1", false, allowed, 1));
}

static void test_host(void)
{
	static const char *const names[] = {"map.example.org", "Tracks.LAN"};
	static const char *const origins[] = {"https://other.example.net:8443", "http://[::1]:80"};

#define HOST_OK(h) CU_ASSERT_TRUE(parse_host_allowed(h, names, 2, origins, 2))
#define HOST_NO(h) CU_ASSERT_FALSE(parse_host_allowed(h, names, 2, origins, 2))
	HOST_OK("localhost");
	HOST_OK("localhost:8080");
	HOST_OK("LOCALHOST.:8080");
	HOST_OK("127.0.0.1:8080");
	HOST_OK("127.0.0.1");
	HOST_OK("192.168.1.5:8080"); /* an address literal: no name was resolved */
	HOST_OK("[::1]:8080");
	HOST_OK("[::1]");
	HOST_OK("[2001:db8::5]:8080");
	HOST_OK("map.example.org");
	HOST_OK("map.example.org:443");
	HOST_OK("MAP.example.org.");
	HOST_OK("tracks.lan:8080");
	HOST_OK("other.example.net"); /* from --allowed-origin, any port */
	HOST_NO("evil.example");
	HOST_NO("evil.example:8080");
	HOST_NO("localhost.evil.example");
	HOST_NO("map.example.org.evil.example");
	HOST_NO("xmap.example.org");
	HOST_NO("127.0.0.1.nip.io");
	HOST_NO("127.1"); /* not an address inet_pton takes: a name */
	HOST_NO("0x7f000001");
	HOST_NO("::1"); /* IPv6 without brackets */
	HOST_NO("[::1");
	HOST_NO("[::1]x");
	HOST_NO("[evil.example]");
	HOST_NO("localhost:80x");
	HOST_OK("localhost:"); /* an empty port is valid (RFC 3986) */
	HOST_NO("");
	HOST_NO(":8080");
	HOST_NO(".");
	CU_ASSERT_FALSE(parse_host_allowed(NULL, names, 2, origins, 2));
	CU_ASSERT_FALSE(parse_host_allowed("map.example.org", NULL, 0, NULL, 0));
	CU_ASSERT_TRUE(parse_host_allowed("localhost", NULL, 0, NULL, 0));
#undef HOST_OK
#undef HOST_NO
}

static void test_users_line(void)
{
	struct users_line ul;
	const char *err = NULL;
	char line[256];

#define LINE(text) snprintf(line, sizeof(line), "%s", text)
	LINE("alice:$6$salt$hash:admin:share=bob,carol\n");
	CU_ASSERT_EQUAL(parse_users_line(line, &ul, &err), 0);
	CU_ASSERT_STRING_EQUAL(ul.name, "alice");
	CU_ASSERT_STRING_EQUAL(ul.hash, "$6$salt$hash");
	CU_ASSERT_TRUE(ul.admin);
	CU_ASSERT_STRING_EQUAL(ul.share, "bob,carol");
	LINE("bob:$y$j9T$abc\r\n");
	CU_ASSERT_EQUAL(parse_users_line(line, &ul, &err), 0);
	CU_ASSERT_FALSE(ul.admin);
	CU_ASSERT_PTR_NULL(ul.share);
	LINE("\n");
	CU_ASSERT_EQUAL(parse_users_line(line, &ul, &err), 1);
	LINE("  # comment");
	CU_ASSERT_EQUAL(parse_users_line(line, &ul, &err), 1);
#define BAD_LINE(text, want)                                                                       \
	do {                                                                                       \
		LINE(text);                                                                        \
		err = NULL;                                                                        \
		CU_ASSERT_EQUAL(parse_users_line(line, &ul, &err), -1);                            \
		CU_ASSERT_PTR_NOT_NULL_FATAL(err);                                                 \
		CU_ASSERT_PTR_NOT_NULL(strstr(err, want));                                         \
	} while (0)
	BAD_LINE("alice", "name:hash");
	BAD_LINE(":$6$salt$hash", "invalid user name");
	BAD_LINE("a/b:$6$salt$hash", "invalid user name");
	BAD_LINE("alice:plain", "salted crypt");
	BAD_LINE("alice:$6$s", "salted crypt");
	BAD_LINE("alice:$6$salt$hash:root", "unknown field");
	BAD_LINE("alice:$6$salt$hash:share=", "unknown field");
#undef BAD_LINE
#undef LINE
}

static void test_report_check(void)
{
	char body[256], err[128];
	long long now = (long long)time(NULL);

#define REPORT(ok, fmt, ...)                                                                       \
	do {                                                                                       \
		snprintf(body, sizeof(body), fmt, __VA_ARGS__);                                    \
		DIRTY(err);                                                                        \
		CU_ASSERT_EQUAL(parse_report_check(body, strlen(body), now, err, sizeof(err)),     \
				ok ? 0 : -1);                                                      \
		CU_ASSERT_PTR_NOT_NULL(memchr(err, '\0', sizeof(err)));                            \
		if (ok) {                                                                          \
			EMPTY(err);                                                                \
		} else {                                                                           \
			CU_ASSERT_NOT_EQUAL(err[0], '\0');                                         \
		}                                                                                  \
	} while (0)
	REPORT(true, "{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":%lld}", now);
	REPORT(true, "{\"_type\":\"status\",\"x\":%d}", 1); /* known, not stored: no error */
	/* what the plugin drops: the bridge must refuse it, not answer 200 */
	REPORT(false, "{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":%lld}garbage", now);
	REPORT(false, "{\"_type\":\"location\",\"lat\":91,\"lon\":2,\"tst\":%lld}", now);
	REPORT(false, "{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":%lld}", now + 3 * 86400);
	REPORT(false, "{\"_type\":\"location\",\"lon\":2,\"tst\":%lld}", now);
	REPORT(false, "{\"_type\":\"nonsense\",\"tst\":%lld}", now);
	REPORT(false, "{\"_type\":\"encrypted\",\"data\":\"%s\"}", "x");
	REPORT(false, "%s", "[1]");
	REPORT(false, "%s", "");
	/* the reason of a garbage report names it */
	snprintf(body, sizeof(body), "{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":%lld}x",
		 now);
	parse_report_check(body, strlen(body), now, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "after the JSON value"));
#undef REPORT
}

/* A query string "a=1&b=2" as parse_hist_args() reads it. */
struct fake_query {
	const char *q;
	char buf[HIST_ARG_MAX];
	int calls;
};

static int fake_get(void *ctx, const char *name, const char **val)
{
	struct fake_query *f = ctx;
	size_t nl = strlen(name);
	const char *p = f->q;

	f->calls++;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n >= sizeof(f->buf))
			return -1;
		if (n >= nl && !strncmp(p, name, nl)) {
			memcpy(f->buf, p, n);
			f->buf[n] = '\0';
			*val = f->buf + nl;
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

static int hist(const char *q, struct hist_args *a, char *err, size_t el)
{
	struct fake_query f = {.q = q};

	return parse_hist_args(fake_get, &f, a, err, el);
}

static void test_hist_args(void)
{
	static const struct {
		const char *q, *err;
	} bad[] = {
		{"start_time=yesterday", "start_time must be unix seconds or an ISO-8601 date"},
		{"end_time=-5", "end_time must be unix seconds or an ISO-8601 date"},
		{"limit=-1", "limit must be an integer from 0 to 2147483647"},
		{"since_id=1e3", "since_id must be an integer from 0 to"},
		{"max_acc=x", "max_acc must be an integer from 0 to 1000000"},
		{"resolution=31622401", "resolution must be an integer from 0 to 31622400"},
		{"start_time=200&end_time=100", "start_time is after end_time"},
		{"format=kml", "format must be gpx, geojson or csv"},
		{"device=0", "device must be an id or user/device"},
		{"device=a/b/c", "device must be an id or user/device"},
	};
	struct hist_args a;
	char err[192], longq[600];
	size_t i;

	/* nothing given: the defaults, not streamed */
	CU_ASSERT_EQUAL(hist("", &a, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_FALSE(a.have[HA_LIMIT]);
	CU_ASSERT_EQUAL(a.num[HA_START], 0);
	CU_ASSERT_EQUAL(a.num[HA_END], INT64_MAX);
	CU_ASSERT_FALSE(hist_args_streamed(&a));

	CU_ASSERT_EQUAL(hist("device=alice/phone&start_time=2024-01-15T00:00:00Z&end_time="
			     "1705363200&limit=7&since_id=3",
			     &a, err, sizeof(err)),
			0);
	CU_ASSERT_TRUE(a.have_device);
	CU_ASSERT_STRING_EQUAL(a.device, "alice/phone");
	CU_ASSERT_EQUAL(a.num[HA_START], 1705276800);
	CU_ASSERT_EQUAL(a.num[HA_END], 1705363200);
	CU_ASSERT_EQUAL(a.num[HA_LIMIT], 7);
	CU_ASSERT_EQUAL(a.num[HA_SINCE_ID], 3);
	CU_ASSERT_FALSE(hist_args_streamed(&a));

	/* any thinning argument, or a format, makes it a stream */
	CU_ASSERT_EQUAL(hist("max_speed=0", &a, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(hist_args_streamed(&a));
	CU_ASSERT_EQUAL(hist("format=csv&device=12", &a, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(a.have_format);
	CU_ASSERT_EQUAL(a.fmt, EXPORT_CSV);
	CU_ASSERT_STRING_EQUAL(a.device, "12");
	CU_ASSERT_TRUE(hist_args_streamed(&a));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 'X', sizeof(err));
		CU_ASSERT_EQUAL(hist(bad[i].q, &a, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(memchr(err, '\0', sizeof(err)));
		if (!strstr(err, bad[i].err))
			fprintf(stderr, "\n  %s: got '%s'\n", bad[i].q, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].err));
	}
	/* an argument too long to examine */
	snprintf(longq, sizeof(longq), "device=%0500d", 1);
	CU_ASSERT_EQUAL(hist(longq, &a, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "query argument too long");
}

int init_parse_tests(void)
{
	static const struct test_case cases[] = {
		{"uint", test_uint},
		{"device_spec", test_device_spec},
		{"name_ok", test_name_ok},
		{"parse_report_topic", test_pub_topic},
		{"topic_user", test_topic_user},
		{"client_ip", test_client_ip},
		{"cookie", test_cookie},
		{"form_field", test_form_field},
		{"login", test_login},
		{"basic_auth", test_basic_auth},
		{"origin", test_origin},
		{"post_origin", test_post_origin},
		{"host", test_host},
		{"users_line", test_users_line},
		{"report_check", test_report_check},
		{"hist_args", test_hist_args},
		{NULL, NULL},
	};

	return add_suite("parse", cases);
}
