/* test_recobj: locations in the OwnTracks Recorder's shape.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <string.h>

#include "recobj.h"

static struct ot_location bare(void)
{
	struct ot_location l = {
		.lat = 52.52,
		.lon = 13.405,
		.tst = 1705329000,
		.acc = OT_NONE,
		.alt = OT_NONE,
		.vel = OT_NONE,
		.batt = OT_NONE,
		.cog = OT_NONE,
		.vac = OT_NONE,
		.bs = OT_NONE,
		.created_at = OT_NONE,
	};

	return l;
}

static void check(const struct recobj_location *r, const char *fields, const char *want)
{
	struct jbuf b;

	jbuf_init(&b, 0, 1 << 16);
	recobj_location(&b, r, fields);
	CU_ASSERT_FALSE(jbuf_failed(&b));
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), want);
	if (strcmp(jbuf_data(&b), want))
		fprintf(stderr, "\n got: %s\nwant: %s\n", jbuf_data(&b), want);
	jbuf_free(&b);
}

static void test_minimal(void)
{
	struct ot_location l = bare();
	struct recobj_location r = {"owntracks", "alice", "phone", &l,	OT_NONE,
				    NULL,	 NULL,	  NULL,	   NULL};

	/* absent fields are left out, never null; inregions is always there */
	check(&r, NULL,
	      "{\"_type\":\"location\",\"lat\":52.52,\"lon\":13.405,\"tst\":1705329000,"
	      "\"inregions\":[],\"topic\":\"owntracks/alice/phone\",\"username\":\"alice\","
	      "\"device\":\"phone\",\"isotst\":\"2024-01-15T14:30:00Z\","
	      "\"disptst\":\"2024-01-15 14:30:00\"}");
}

static void test_full(void)
{
	struct ot_location l = bare();
	struct recobj_location r = {"owntracks", "alice",    "phone",
				    &l,		 1705329001, "[\"Home\",5,\"Work \\\"2\\\"\"]",
				    "Coffee",	 "Alice",    "iVBOR"};

	l.lat = -33.0;
	l.lon = 151.2093456;
	l.acc = 10;
	l.alt = 50;
	l.vel = 0;
	l.batt = 85;
	l.cog = 270;
	l.vac = 3;
	l.bs = 1;
	l.conn = "w";
	l.tid = "ph";
	l.trigger = "p";
	l.ssid = "home\"wifi";
	l.bssid = "aa:bb";
	check(&r, "",
	      "{\"_type\":\"location\",\"tid\":\"ph\",\"lat\":-33,\"lon\":151.209346,"
	      "\"tst\":1705329000,\"acc\":10,\"alt\":50,\"batt\":85,\"vel\":0,\"cog\":270,"
	      "\"vac\":3,\"conn\":\"w\",\"t\":\"p\",\"bs\":1,\"SSID\":\"home\\\"wifi\","
	      "\"BSSID\":\"aa:bb\",\"poi\":\"Coffee\",\"inregions\":[\"Home\",\"Work \\\"2\\\"\"],"
	      "\"topic\":\"owntracks/alice/phone\",\"username\":\"alice\",\"device\":\"phone\","
	      "\"isorcv\":\"2024-01-15T14:30:01Z\",\"isotst\":\"2024-01-15T14:30:00Z\","
	      "\"disptst\":\"2024-01-15 14:30:00\",\"name\":\"Alice\",\"face\":\"iVBOR\"}");
}

static void test_fields(void)
{
	struct ot_location l = bare();
	struct recobj_location r = {"owntracks", "a\"b", "d", &l, OT_NONE, "{}", NULL, NULL, NULL};

	check(&r, "lat,lon,topic,nosuch,inregions",
	      "{\"lat\":52.52,\"lon\":13.405,\"inregions\":[],\"topic\":\"owntracks/a\\\"b/d\"}");
	check(&r, "tst", "{\"tst\":1705329000}");
	check(&r, "acc", "{}"); /* asked for, but absent */
	check(&r, ",,la,latt", "{}");
}

static void test_regions_bad(void)
{
	struct ot_location l = bare();
	struct recobj_location r = {"p", "u", "d", &l, OT_NONE, "[\"x\"", NULL, NULL, NULL};

	check(&r, "inregions", "{\"inregions\":[]}"); /* not JSON */
	r.inregions = "\"Home\"";
	check(&r, "inregions", "{\"inregions\":[]}"); /* not an array */
}

static void test_disptst(void)
{
	char s[32];

	CU_ASSERT_EQUAL(recobj_disptst(0, s), 19);
	CU_ASSERT_STRING_EQUAL(s, "1970-01-01 00:00:00");
	recobj_disptst(1795922567, s);
	CU_ASSERT_STRING_EQUAL(s, "2026-11-29 03:22:47");
}

int init_recobj_tests(void)
{
	static const struct test_case cases[] = {
		{"minimal", test_minimal}, {"full", test_full},
		{"fields", test_fields},   {"regions_bad", test_regions_bad},
		{"disptst", test_disptst}, {NULL, NULL},
	};

	return add_suite("recobj", cases);
}
