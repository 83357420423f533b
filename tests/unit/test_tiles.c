/* test_tiles: the tile server option's checks and CSP source (bridge/tiles.c).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tiles.h"
#include "tests.h"

#include <stdio.h>
#include <string.h>

static void ok(const char *url)
{
	char err[160] = "x";

	CU_ASSERT_EQUAL(tiles_url_check(url, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
}

/* Refused, with a reason holding `why`. */
static void refused(const char *url, const char *why)
{
	char err[160] = "";

	CU_ASSERT_EQUAL(tiles_url_check(url, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
	if (!strstr(err, why))
		fprintf(stderr, "\n%s: '%s' lacks '%s'\n", url, err, why);
}

static void test_url_accepted(void)
{
	ok(TILES_DEFAULT_URL);
	ok("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png");
	ok("https://{s}.tile.example.org/{z}/{x}/{y}{r}.png");
	ok("https://tiles{s}.example.org/{z}/{x}/{-y}.jpg");
	ok("https://[::1]:9000/{z}/{x}/{y}");
	ok("https://tiles.example.org/map?z={z}&x={x}&y={y}&key=abc%20d");
	ok("http://localhost/{z}/{x}/{y}.png");
}

static void test_url_refused(void)
{
	char longurl[600];

	refused("", "1 to 512");
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	memcpy(longurl, "https://x.org/{z}/{x}/{y}/", 26);
	refused(longurl, "1 to 512");
	refused("ftp://tiles.example.org/{z}/{x}/{y}.png", "http:// or https://");
	refused("tiles.example.org/{z}/{x}/{y}.png", "http:// or https://");
	refused("https:///{z}/{x}/{y}.png", "expected a host");
	refused("https://tiles.example.org", "expected a path");
	refused("https://tiles.example.org#{z}{x}{y}", "expected a path");
	refused("https://tiles.example.org/{z}/{x}.png", "{z}, {x} and {y}");
	refused("https://tiles.example.org/{z}/{x}/{y}/{apikey}.png", "unknown placeholder");
	refused("https://tiles.example.org/{z}/{x}/{y}}.png", "'}' without");
	refused("https://tiles.example.org/{z}/{x}/{y}.png\"", "quotes");
	refused("https://tiles.example.org/{z}/{x}/{y}.png'; script-src *", "quotes");
	refused("https://tiles.example.org/{z}/{x}/ {y}.png", "spaces");
	refused("https://tiles.example.org/{z}/{x}/{y}.png\n", "control");
	refused("https://tiles.example.org/{z}/{x}/{y}.png\x7f", "control");
	refused("https://tiles.example.org/<{z}>/{x}/{y}.png", "'<'");
	refused("https://tiles.exämple.org/{z}/{x}/{y}.png", "non-ASCII");
	refused("https://tiles.example.org;/{z}/{x}/{y}.png", "only letters");
	refused("https://tiles.example.org,x.org/{z}/{x}/{y}.png", "only letters");
	refused("https://*.example.org/{z}/{x}/{y}.png", "only letters");
	refused("https://user:pw@tiles.example.org/{z}/{x}/{y}.png", "user:password@");
	refused("https://tiles..example.org/{z}/{x}/{y}.png", "empty label");
	refused("https://tiles.example.org:0/{z}/{x}/{y}.png", "port");
	refused("https://tiles.example.org:65536/{z}/{x}/{y}.png", "port");
	refused("https://tiles.example.org:/{z}/{x}/{y}.png", "port");
	refused("https://tiles.example.org:8a/{z}/{x}/{y}.png", "port");
	refused("https://a.{s}.example.org/{z}/{x}/{y}.png", "first label");
	refused("https://{s}/{z}/{x}/{y}.png", "needs a domain");
	refused("https://[fe80::1%eth0]/{z}/{x}/{y}.png", "IPv6");
	refused("https://[::1/{z}/{x}/{y}.png", "IPv6");
}

static void source_is(const char *url, const char *want)
{
	char out[TILES_ORIGIN_MAX];

	CU_ASSERT_EQUAL(tiles_csp_source(url, out, sizeof(out)), (int)strlen(want));
	CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_csp_source(void)
{
	char tiny[8] = "x";

	source_is(TILES_DEFAULT_URL, "https://tile.openstreetmap.org");
	source_is("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8081");
	source_is("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org");
	source_is("https://tiles{s}.example.org:8443/{z}/{x}/{y}.png",
		  "https://*.example.org:8443");
	source_is("https://[::1]:9000/{z}/{x}/{y}", "https://[::1]:9000");
	source_is("https://tiles.example.org?z={z}&x={x}&y={y}", "https://tiles.example.org");
	/* a refused URL or a short buffer gives -1 and "" */
	CU_ASSERT_EQUAL(tiles_csp_source("https://x.org/{z}/{x}/{y}'", tiny, sizeof(tiny)), -1);
	CU_ASSERT_STRING_EQUAL(tiny, "");
	tiny[0] = 'x';
	CU_ASSERT_EQUAL(tiles_csp_source(TILES_DEFAULT_URL, tiny, sizeof(tiny)), -1);
	CU_ASSERT_STRING_EQUAL(tiny, "");
	CU_ASSERT_EQUAL(tiles_csp_source(TILES_DEFAULT_URL, tiny, 0), -1);
}

static void test_csp(void)
{
	char out[TILES_CSP_MAX], tiny[16];

	/* the policy the bridge sent before --tile-url existed */
	CU_ASSERT(tiles_csp("https://tile.openstreetmap.org", out, sizeof(out)) > 0);
	CU_ASSERT_STRING_EQUAL(out, "default-src 'self'; script-src 'self'; style-src 'self'; "
				    "img-src 'self' data: https://tile.openstreetmap.org; "
				    "connect-src 'self'; object-src 'none'; base-uri 'none'; "
				    "form-action 'self'; frame-ancestors 'none'");
	CU_ASSERT(tiles_csp("https://*.tile.example.org", out, sizeof(out)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "img-src 'self' data: https://*.tile.example.org; "));
	CU_ASSERT_EQUAL(tiles_csp("https://tile.openstreetmap.org", tiny, sizeof(tiny)), -1);
	CU_ASSERT_STRING_EQUAL(tiny, "");
}

static void test_attribution(void)
{
	char err[80];
	char longtext[600];

	CU_ASSERT_EQUAL(tiles_attribution_check(TILES_DEFAULT_ATTRIBUTION, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tiles_attribution_check("© Example Tiles, \"quoted\"", err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(tiles_attribution_check("", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(tiles_attribution_check("a\tb", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "control"));
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	CU_ASSERT_EQUAL(tiles_attribution_check(longtext, err, sizeof(err)), -1);
}

int init_tiles_tests(void)
{
	static const struct test_case cases[] = {
		{"URLs accepted", test_url_accepted},
		{"URLs refused, with the reason", test_url_refused},
		{"CSP source of a URL", test_csp_source},
		{"CSP policy", test_csp},
		{"attribution", test_attribution},
		{NULL, NULL},
	};

	return add_suite("tiles", cases);
}
