/* test_ot: OwnTracks parsing, validation and topics.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "ot.h"
#include "tests.h"

#include <stdio.h>
#include <string.h>

#define NOW 1800000000LL
static char reason[160];

static enum ot_result parse(const char *json, struct ot_msg *m)
{
	reason[0] = '\0';
	return ot_parse(json, strlen(json), NOW, OT_DEFAULT_MAX_FUTURE_S, m, reason,
			sizeof(reason));
}

/* Parse a location with lat/lon given as JSON text; return the result. */
static enum ot_result loc_latlon(const char *lat, const char *lon)
{
	char json[256];
	struct ot_msg m;
	enum ot_result r;

	snprintf(json, sizeof(json),
		 "{\"_type\":\"location\",\"lat\":%s,\"lon\":%s,\"tst\":1705329000}", lat, lon);
	r = parse(json, &m);
	if (r == OT_OK)
		ot_msg_free(&m);
	return r;
}

static enum ot_result loc_with(const char *extra)
{
	char json[512];
	struct ot_msg m;
	enum ot_result r;

	snprintf(json, sizeof(json),
		 "{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":1705329000%s}", extra);
	r = parse(json, &m);
	if (r == OT_OK)
		ot_msg_free(&m);
	return r;
}

static void test_full_location(void)
{
	struct ot_msg m;
	const char *json =
		"{\"_type\":\"location\",\"lat\":37.7749,\"lon\":-122.4194,\"tst\":1705329000,"
		"\"acc\":10,\"alt\":50,\"vel\":5,\"batt\":85,\"conn\":\"w\",\"tid\":\"hm\",\"t\":"
		"\"u\","
		"\"cog\":270,\"vac\":3,\"bs\":2,\"SSID\":\"home\",\"BSSID\":\"aa:bb\",\"created_"
		"at\":1705329001,"
		"\"inregions\":[\"home\"],\"m\":1}";

	CU_ASSERT_EQUAL_FATAL(parse(json, &m), OT_OK);
	CU_ASSERT_EQUAL(m.type, OT_LOCATION);
	CU_ASSERT_DOUBLE_EQUAL(m.u.loc.lat, 37.7749, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(m.u.loc.lon, -122.4194, 1e-12);
	CU_ASSERT_EQUAL(m.u.loc.tst, 1705329000);
	CU_ASSERT_EQUAL(m.tst, 1705329000);
	CU_ASSERT_EQUAL(m.u.loc.acc, 10);
	CU_ASSERT_EQUAL(m.u.loc.alt, 50);
	CU_ASSERT_EQUAL(m.u.loc.vel, 5);
	CU_ASSERT_EQUAL(m.u.loc.batt, 85);
	CU_ASSERT_EQUAL(m.u.loc.cog, 270);
	CU_ASSERT_EQUAL(m.u.loc.vac, 3);
	CU_ASSERT_EQUAL(m.u.loc.bs, 2);
	CU_ASSERT_EQUAL(m.u.loc.created_at, 1705329001);
	CU_ASSERT_STRING_EQUAL(m.u.loc.conn, "w");
	CU_ASSERT_STRING_EQUAL(m.u.loc.tid, "hm");
	CU_ASSERT_STRING_EQUAL(m.u.loc.trigger, "u");
	CU_ASSERT_STRING_EQUAL(m.u.loc.ssid, "home");
	CU_ASSERT_STRING_EQUAL(m.u.loc.bssid, "aa:bb");
	ot_msg_free(&m);
}

static void test_minimal_location(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":1}", &m),
			      OT_OK);
	CU_ASSERT_EQUAL(m.u.loc.acc, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.batt, OT_NONE);
	CU_ASSERT_PTR_NULL(m.u.loc.conn);
	CU_ASSERT_PTR_NULL(m.u.loc.tid);
	ot_msg_free(&m);
	/* null counts as absent */
	CU_ASSERT_EQUAL(loc_with(",\"acc\":null,\"conn\":null"), OT_OK);
}

static void test_latlon_boundaries(void)
{
	CU_ASSERT_EQUAL(loc_latlon("90", "180"), OT_OK);
	CU_ASSERT_EQUAL(loc_latlon("-90", "-180"), OT_OK);
	CU_ASSERT_EQUAL(loc_latlon("0", "0"), OT_OK);
	CU_ASSERT_EQUAL(loc_latlon("-0.0", "0.0"), OT_OK);
	CU_ASSERT_EQUAL(loc_latlon("90.0000001", "0"), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "lat"));
	CU_ASSERT_EQUAL(loc_latlon("-90.0000001", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("0", "180.0000001"), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "lon"));
	CU_ASSERT_EQUAL(loc_latlon("0", "-180.0000001"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("1e999", "0"), OT_ERR_FIELD); /* parses as infinity */
	CU_ASSERT_EQUAL(loc_latlon("-1e999", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("NaN", "0"), OT_ERR_JSON); /* not JSON */
	CU_ASSERT_EQUAL(loc_latlon("Infinity", "0"), OT_ERR_JSON);
}

static void test_missing_and_mistyped(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lon\":0,\"tst\":1}", &m), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "'lat' is missing"));
	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lat\":0,\"tst\":1}", &m), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0}", &m), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "'tst' is missing"));
	CU_ASSERT_EQUAL(loc_latlon("\"52.5x\"", "13.4"), OT_ERR_FIELD); /* not a plain number */
	CU_ASSERT_EQUAL(loc_latlon("true", "13.4"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("[1]", "13.4"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_with(",\"acc\":\"ten\""), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "'acc'"));
	CU_ASSERT_EQUAL(loc_with(",\"conn\":1"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_with(",\"tid\":{}"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_with(",\"SSID\":"
				 "\"012345678901234567890123456789012345678901234567890123456789012"
				 "3456789\""),
			OT_ERR_FIELD); /* too long */
	CU_ASSERT_EQUAL(
		parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":\"1705329000s\"}", &m),
		OT_ERR_FIELD);
	CU_ASSERT_EQUAL(
		parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":1705329000.5}", &m),
		OT_ERR_FIELD);
	/* fractional optional numbers round to integers */
	CU_ASSERT_EQUAL_FATAL(
		parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":5,\"acc\":9.6}", &m),
		OT_OK);
	CU_ASSERT_EQUAL(m.u.loc.acc, 10);
	ot_msg_free(&m);
}

static void test_batt_and_ranges(void)
{
	CU_ASSERT_EQUAL(loc_with(",\"batt\":0"), OT_OK);
	CU_ASSERT_EQUAL(loc_with(",\"batt\":100"), OT_OK);
	CU_ASSERT_EQUAL(loc_with(",\"batt\":101"), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "batt"));
	CU_ASSERT_EQUAL(loc_with(",\"cog\":361"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_with(",\"bs\":4"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_with(",\"alt\":-400"), OT_OK);
	CU_ASSERT_EQUAL(loc_with(",\"alt\":1e300"), OT_ERR_FIELD); /* beyond any integer we keep */
}

/* Older iOS and imported histories send -1 (or -3) for "not known". */
static void test_negative_is_unknown(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL_FATAL(
		parse("{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":1705329000,"
		      "\"vel\":-1,\"cog\":-1,\"batt\":-1,\"vac\":-3,\"acc\":-1,\"bs\":-1,"
		      "\"created_at\":-1,\"alt\":-28}",
		      &m),
		OT_OK);
	CU_ASSERT_EQUAL(m.u.loc.vel, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.cog, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.batt, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.vac, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.acc, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.bs, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.created_at, OT_NONE);
	CU_ASSERT_EQUAL(m.u.loc.alt, -28); /* below sea level is a real altitude */
	ot_msg_free(&m);
	/* the position itself is still checked */
	CU_ASSERT_EQUAL(loc_latlon("-91", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":-1}", &m),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"transition\",\"event\":\"enter\",\"lat\":1,"
				    "\"lon\":2,\"tst\":1705329000,\"acc\":-1}",
				    &m),
			      OT_OK);
	CU_ASSERT_EQUAL(m.u.tr.acc, OT_NONE);
	ot_msg_free(&m);
}

/* Older apps send numbers as strings; only plain decimal numbers count. */
static void test_numbers_as_strings(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL_FATAL(
		parse("{\"_type\":\"location\",\"lat\":\"52.520008\",\"lon\":"
		      "\"-13.4\",\"tst\":\"1705329000\",\"acc\":\"9.6\",\"batt\":\"85\"}",
		      &m),
		OT_OK);
	CU_ASSERT_DOUBLE_EQUAL(m.u.loc.lat, 52.520008, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(m.u.loc.lon, -13.4, 1e-12);
	CU_ASSERT_EQUAL(m.u.loc.tst, 1705329000);
	CU_ASSERT_EQUAL(m.u.loc.acc, 10);
	CU_ASSERT_EQUAL(m.u.loc.batt, 85);
	ot_msg_free(&m);
	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"lwt\",\"tst\":\"1526617158\"}", &m), OT_OK);
	CU_ASSERT_EQUAL(m.tst, 1526617158);
	ot_msg_free(&m);
	/* anything that is not a plain decimal number is still refused */
	CU_ASSERT_EQUAL(loc_latlon("\"\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\" 52.5\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"+52.5\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"5e1\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"0x10\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"nan\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"inf\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"52.\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"-\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_latlon("\"95.5\"", "0"), OT_ERR_FIELD); /* a number, out of range */
	CU_ASSERT_EQUAL(loc_latlon("\"1.00000000000000000000000000000000\"", "0"), OT_ERR_FIELD);
	CU_ASSERT_EQUAL(loc_with(",\"tst\":\"1705329000.5\""), OT_OK); /* the first tst counts */
	CU_ASSERT_EQUAL(
		parse("{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":\"17053290.5\"}", &m),
		OT_ERR_FIELD);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"lwt\",\"tst\":\"soon\"}", &m), OT_ERR_FIELD);
}

/* iOS 18.3 sends lowercase ssid/bssid, Android SSID/BSSID. */
static void test_ssid_spellings(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":5,"
				    "\"ssid\":\"home\",\"bssid\":\"aa:bb:cc:dd:ee:ff\"}",
				    &m),
			      OT_OK);
	CU_ASSERT_STRING_EQUAL(m.u.loc.ssid, "home");
	CU_ASSERT_STRING_EQUAL(m.u.loc.bssid, "aa:bb:cc:dd:ee:ff");
	ot_msg_free(&m);
	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":5,"
				    "\"SSID\":\"android\",\"BSSID\":\"11:22:33:44:55:66\"}",
				    &m),
			      OT_OK);
	CU_ASSERT_STRING_EQUAL(m.u.loc.ssid, "android");
	CU_ASSERT_STRING_EQUAL(m.u.loc.bssid, "11:22:33:44:55:66");
	ot_msg_free(&m);
	/* both spellings: the first one in the message counts */
	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":5,"
				    "\"ssid\":\"first\",\"SSID\":\"second\"}",
				    &m),
			      OT_OK);
	CU_ASSERT_STRING_EQUAL(m.u.loc.ssid, "first");
	ot_msg_free(&m);
	CU_ASSERT_EQUAL(loc_with(",\"ssid\":7"), OT_ERR_FIELD);
}

static void test_tst_bounds(void)
{
	char json[128];
	struct ot_msg m;

	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":0}", &m),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":-5}", &m),
			OT_ERR_FIELD);
	snprintf(json, sizeof(json), "{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":%lld}",
		 NOW + OT_DEFAULT_MAX_FUTURE_S);
	CU_ASSERT_EQUAL(parse(json, &m), OT_OK);
	ot_msg_free(&m);
	snprintf(json, sizeof(json), "{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":%lld}",
		 NOW + OT_DEFAULT_MAX_FUTURE_S + 1);
	CU_ASSERT_EQUAL(parse(json, &m), OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "future"));
	/* year 5000 */
	CU_ASSERT_EQUAL(
		parse("{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":95617584000}", &m),
		OT_ERR_FIELD);
}

static void test_payload_shapes(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL(ot_parse("", 0, NOW, 0, &m, reason, sizeof(reason)), OT_ERR_EMPTY);
	CU_ASSERT_EQUAL(ot_parse(NULL, 0, NOW, 0, &m, reason, sizeof(reason)), OT_ERR_EMPTY);
	CU_ASSERT_EQUAL(parse("not json", &m), OT_ERR_JSON);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"location\",\"lat\":1", &m),
			OT_ERR_JSON); /* truncated */
	CU_ASSERT_EQUAL(parse("[1,2,3]", &m), OT_ERR_JSON);
	CU_ASSERT_EQUAL(parse("{} trailing", &m), OT_ERR_JSON);
	CU_ASSERT_EQUAL(parse("{\"lat\":1}", &m), OT_ERR_TYPE);
	CU_ASSERT_EQUAL(parse("{\"_type\":5}", &m), OT_ERR_TYPE);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"teleport\"}", &m), OT_ERR_TYPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "unknown _type"));
	CU_ASSERT_EQUAL(parse("{\"_type\":\"encrypted\",\"data\":\"AAAA\"}", &m), OT_ERR_TYPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "encrypted"));
	CU_ASSERT_EQUAL(ot_parse("{\"_type\":\"lwt\",\"x\":\"\xff\"}", 22, NOW, 0, &m, reason,
				 sizeof(reason)),
			OT_ERR_UTF8);
	/* only the given length is read: no NUL terminator needed */
	CU_ASSERT_EQUAL(
		ot_parse("{\"_type\":\"lwt\"}garbage", 15, NOW, 0, &m, reason, sizeof(reason)),
		OT_OK);
	ot_msg_free(&m);
}

static void test_other_types(void)
{
	struct ot_msg m;

	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"lwt\",\"tst\":1705329000}", &m), OT_OK);
	CU_ASSERT_EQUAL(m.type, OT_LWT);
	CU_ASSERT_EQUAL(m.tst, 1705329000);
	ot_msg_free(&m);
	CU_ASSERT_EQUAL_FATAL(
		parse("{\"_type\":\"card\",\"name\":\"Alice <b>\",\"tid\":\"AL\"}", &m), OT_OK);
	CU_ASSERT_EQUAL(m.type, OT_CARD);
	CU_ASSERT_STRING_EQUAL(m.u.card.name, "Alice <b>");
	CU_ASSERT_STRING_EQUAL(m.u.card.tid, "AL");
	ot_msg_free(&m);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"card\",\"name\":7}", &m), OT_ERR_FIELD);
	CU_ASSERT_EQUAL_FATAL(
		parse("{\"_type\":\"transition\",\"event\":\"enter\",\"lat\":1,\"lon\":2,"
		      "\"tst\":1705329000,\"wtst\":1705000000,\"acc\":5,\"desc\":\"Home\"}",
		      &m),
		OT_OK);
	CU_ASSERT_EQUAL(m.type, OT_TRANSITION);
	CU_ASSERT_STRING_EQUAL(m.u.tr.event, "enter");
	CU_ASSERT_STRING_EQUAL(m.u.tr.desc, "Home");
	CU_ASSERT_EQUAL(m.u.tr.wtst, 1705000000);
	ot_msg_free(&m);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"transition\",\"event\":\"hover\",\"lat\":1,\"lon\":2,"
			      "\"tst\":5}",
			      &m),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL(parse("{\"_type\":\"transition\",\"event\":\"leave\",\"lat\":91,\"lon\":2,"
			      "\"tst\":5}",
			      &m),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"cmd\",\"action\":\"dump\"}", &m), OT_OK);
	CU_ASSERT_EQUAL(m.type, OT_IGNORED);
	ot_msg_free(&m);
	CU_ASSERT_EQUAL_FATAL(parse("{\"_type\":\"waypoints\",\"waypoints\":[]}", &m), OT_OK);
	CU_ASSERT_EQUAL(m.type, OT_WAYPOINTS);
	ot_msg_free(&m);
}

static void test_topics(void)
{
	struct ot_topic t;

	CU_ASSERT_EQUAL_FATAL(
		ot_topic_parse("owntracks/alice/phone", "owntracks", &t, reason, sizeof(reason)),
		OT_OK);
	CU_ASSERT_STRING_EQUAL(t.user, "alice");
	CU_ASSERT_STRING_EQUAL(t.device, "phone");
	CU_ASSERT_STRING_EQUAL(t.sub, "");
	CU_ASSERT_EQUAL_FATAL(ot_topic_parse("owntracks/alice/phone/event", "owntracks", &t, reason,
					     sizeof(reason)),
			      OT_OK);
	CU_ASSERT_STRING_EQUAL(t.sub, "event");
	CU_ASSERT_EQUAL(ot_topic_parse("owntracks/alice", "owntracks", &t, reason, sizeof(reason)),
			OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "too few"));
	CU_ASSERT_EQUAL(
		ot_topic_parse("owntracks/a/b/c/d", "owntracks", &t, reason, sizeof(reason)),
		OT_ERR_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(reason, "too many"));
	CU_ASSERT_EQUAL(ot_topic_parse("owntracks//phone", "owntracks", &t, reason, sizeof(reason)),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL(ot_topic_parse("owntracks/a/", "owntracks", &t, reason, sizeof(reason)),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL(ot_topic_parse("owntracksX/a/b", "owntracks", &t, reason, sizeof(reason)),
			OT_ERR_FIELD);
	CU_ASSERT_EQUAL_FATAL(
		ot_topic_parse("my/tracks/u/d", "my/tracks", &t, reason, sizeof(reason)), OT_OK);
	CU_ASSERT_STRING_EQUAL(t.user, "u");
	{
		char topic[400];

		memset(topic, 'x', sizeof(topic));
		memcpy(topic, "owntracks/", 10);
		topic[10 + OT_NAME_MAX + 1] = '/';
		topic[sizeof(topic) - 1] = '\0';
		CU_ASSERT_EQUAL(ot_topic_parse(topic, "owntracks", &t, reason, sizeof(reason)),
				OT_ERR_FIELD);
	}
}

/* One rule for topic prefixes, in the plugin and the bridge alike. */
static void test_prefixes(void)
{
	static const char *const good[] = {"owntracks", "a/b", "out/live/x", "\xc3\xa9t\xc3\xa9",
					   "x-y_z.1"};
	static const char *const bad[] = {"",  "/a",   "a/",   "a//b", "a/+/b",
					  "#", "a\tb", "\xff", "a\x7f"};
	char big[OT_PREFIX_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_TRUE(ot_prefix_ok(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ot_prefix_ok(bad[i]))
			fprintf(stderr, "\n  prefix '%s' was accepted\n", bad[i]);
		CU_ASSERT_FALSE(ot_prefix_ok(bad[i]));
	}
	memset(big, 'p', sizeof(big) - 1);
	big[OT_PREFIX_MAX] = '\0';
	CU_ASSERT_TRUE(ot_prefix_ok(big));
	big[OT_PREFIX_MAX] = 'p';
	big[OT_PREFIX_MAX + 1] = '\0';
	CU_ASSERT_FALSE(ot_prefix_ok(big));
}

int init_ot_tests(void)
{
	static const struct test_case cases[] = {
		{"full location", test_full_location},
		{"minimal location", test_minimal_location},
		{"lat/lon boundaries", test_latlon_boundaries},
		{"missing and mistyped fields", test_missing_and_mistyped},
		{"batt and other ranges", test_batt_and_ranges},
		{"negative optional values mean unknown", test_negative_is_unknown},
		{"numbers sent as strings", test_numbers_as_strings},
		{"ssid and SSID", test_ssid_spellings},
		{"tst bounds", test_tst_bounds},
		{"payload shapes", test_payload_shapes},
		{"other message types", test_other_types},
		{"topics", test_topics},
		{"topic prefixes", test_prefixes},
		{NULL, NULL},
	};
	return add_suite("ot", cases);
}
