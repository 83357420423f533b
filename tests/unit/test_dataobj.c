/* test_dataobj: the data object's formats, key order and escaping.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "dataobj.h"
#include "tests.h"

#include <cjson/cJSON.h>
#include <string.h>

static const char *fixed6(double v)
{
	static char buf[32];

	dataobj_fixed6(v, buf);
	return buf;
}

static const char *iso(int64_t t)
{
	static char buf[32];

	dataobj_iso8601(t, buf);
	return buf;
}

static void test_fixed6(void)
{
	CU_ASSERT_STRING_EQUAL(fixed6(37.7749), "37.774900");
	CU_ASSERT_STRING_EQUAL(fixed6(-122.4194), "-122.419400");
	CU_ASSERT_STRING_EQUAL(fixed6(0), "0.000000");
	CU_ASSERT_STRING_EQUAL(fixed6(-0.0), "0.000000");
	CU_ASSERT_STRING_EQUAL(fixed6(-0.0000001), "0.000000"); /* never "-0.000000" */
	CU_ASSERT_STRING_EQUAL(fixed6(90), "90.000000");
	CU_ASSERT_STRING_EQUAL(fixed6(-180), "-180.000000");
	CU_ASSERT_STRING_EQUAL(fixed6(52.5200089), "52.520009"); /* rounds up */
	CU_ASSERT_STRING_EQUAL(fixed6(52.5200084), "52.520008"); /* rounds down */
	CU_ASSERT_STRING_EQUAL(fixed6(-52.5200089), "-52.520009");
	CU_ASSERT_STRING_EQUAL(fixed6(0.0000015), "0.000002");	 /* half away from zero */
	CU_ASSERT_STRING_EQUAL(fixed6(12.9999996), "13.000000"); /* carry into the integer */
	CU_ASSERT_STRING_EQUAL(fixed6(0.000001), "0.000001");
}

static void test_iso8601(void)
{
	CU_ASSERT_STRING_EQUAL(iso(0), "1970-01-01T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(iso(1705329000), "2024-01-15T14:30:00Z"); /* the seed's tst */
	CU_ASSERT_STRING_EQUAL(iso(951782400), "2000-02-29T00:00:00Z");	 /* leap day */
	CU_ASSERT_STRING_EQUAL(iso(2147483647), "2038-01-19T03:14:07Z"); /* 32-bit limit */
	CU_ASSERT_STRING_EQUAL(iso(2147483648LL), "2038-01-19T03:14:08Z");
	CU_ASSERT_STRING_EQUAL(iso(4102444800LL), "2100-01-01T00:00:00Z"); /* not a leap year */
	CU_ASSERT_STRING_EQUAL(iso(4107542399LL), "2100-02-28T23:59:59Z");
	CU_ASSERT_STRING_EQUAL(iso(253402300799LL), "9999-12-31T23:59:59Z");
	CU_ASSERT_STRING_EQUAL(iso(-1), "1969-12-31T23:59:59Z");
}

static struct ot_location sample(void)
{
	struct ot_location l = {
		.lat = 37.7749,
		.lon = -122.4194,
		.tst = 1705329000,
		.acc = 10,
		.alt = 50,
		.vel = 5,
		.batt = 85,
		.cog = OT_NONE,
		.vac = OT_NONE,
		.bs = OT_NONE,
		.created_at = OT_NONE,
		.conn = "w",
	};
	return l;
}

static void test_location_exact(void)
{
	struct ot_location l = sample();
	struct dataobj_location d = {
		.id = 123,
		.device_id = 1,
		.user = "house",
		.device = "meister",
		.ip_address = "192.168.1.100",
		.received_at = 1705329001,
		.loc = &l,
	};
	struct jbuf b;

	jbuf_init(&b, 0, 4096);
	dataobj_location(&b, &d);
	CU_ASSERT_FALSE(jbuf_failed(&b));
	CU_ASSERT_STRING_EQUAL(
		jbuf_data(&b),
		"{\"id\":123,\"device\":1,\"device_name\":\"house/meister\","
		"\"latitude\":\"37.774900\",\"longitude\":\"-122.419400\","
		"\"timestamp\":\"2024-01-15T14:30:00Z\",\"timestamp_unix\":1705329000,"
		"\"accuracy\":10,\"altitude\":50,\"velocity\":5,\"battery_level\":85,"
		"\"connection_type\":\"w\",\"ip_address\":\"192.168.1.100\","
		"\"user\":\"house\",\"display_name\":null,\"tid\":null,\"trigger\":null,"
		"\"course\":null,\"vertical_accuracy\":null,\"battery_status\":null,"
		"\"ssid\":null,\"bssid\":null,\"received_at\":\"2024-01-15T14:30:01Z\","
		"\"inregions\":null,\"inrids\":null,\"poi\":null,\"tag\":null,"
		"\"monitoring_mode\":null,\"source\":null}");
	jbuf_free(&b);
}

/* The extra keys, read by the parser from a phone's report (the same
 * reader gives the bridge's history objects): lenient, exact bytes. */
static void test_location_extras(void)
{
	static const char report[] =
		"{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":1705329000,"
		"\"inregions\":[\"Home\",7,\"Caf\\u00e9 \\\"Z\\\"\"],\"inrids\":[],"
		"\"poi\":\"Caf\u00e9\",\"tag\":\"work\",\"m\":-1,\"source\":\"fused\"}";
	static const char odd[] = "{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":1705329000,"
				  "\"inregions\":\"Home\",\"poi\":5,\"m\":3,\"tag\":null}";
	struct ot_msg m;
	struct ot_extras x;
	char reason[128];
	struct jbuf a, b;
	void *doc;
	struct dataobj_location d = {.id = 1, .device_id = 2, .user = "u", .device = "d"};
	const char *tail;

	CU_ASSERT_EQUAL_FATAL(
		ot_parse(report, strlen(report), 1705329000, 0, &m, reason, sizeof(reason)), OT_OK);
	jbuf_init(&a, 0, 4096);
	jbuf_init(&b, 0, 4096);
	d.loc = &m.u.loc;
	d.extras = &m.extras;
	dataobj_location(&a, &d);
	tail = strstr(jbuf_data(&a), ",\"inregions\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
	CU_ASSERT_STRING_EQUAL(tail,
			       ",\"inregions\":[\"Home\",\"Caf\u00e9 \\\"Z\\\"\"],\"inrids\":[],"
			       "\"poi\":\"Caf\u00e9\",\"tag\":\"work\",\"monitoring_mode\":-1,"
			       "\"source\":\"fused\"}");
	/* the bridge's path: the stored raw, read again */
	doc = ot_extras_parse(report, strlen(report), &x);
	d.extras = &x;
	dataobj_location(&b, &d);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&a), jbuf_data(&b));
	ot_extras_free(doc);
	ot_msg_free(&m);
	/* wrong types are absent, never a refusal */
	CU_ASSERT_EQUAL_FATAL(ot_parse(odd, strlen(odd), 1705329000, 0, &m, reason, sizeof(reason)),
			      OT_OK);
	CU_ASSERT_EQUAL(m.extras.n_inregions, -1);
	CU_ASSERT_EQUAL(m.extras.n_inrids, -1);
	CU_ASSERT_PTR_NULL(m.extras.poi);
	CU_ASSERT_PTR_NULL(m.extras.tag);
	CU_ASSERT_EQUAL(m.extras.m, OT_NONE);
	ot_msg_free(&m);
	/* not JSON at all: all absent */
	doc = ot_extras_parse("nope", 4, &x);
	CU_ASSERT_PTR_NULL(doc);
	CU_ASSERT_EQUAL(x.n_inregions, -1);
	CU_ASSERT_EQUAL(x.m, OT_NONE);
	jbuf_free(&a);
	jbuf_free(&b);
}

static void test_key_order_and_nulls(void)
{
	static const char *seed_keys[] = {
		"id",	      "device",	   "device_name",    "latitude",
		"longitude",  "timestamp", "timestamp_unix", "accuracy",
		"altitude",   "velocity",  "battery_level",  "connection_type",
		"ip_address",
	};
	struct ot_location l = sample();
	struct dataobj_location d = {
		.id = 1, .device_id = 2, .user = "u", .device = "d", .received_at = 5, .loc = &l};
	struct jbuf b;
	cJSON *o, *it;
	size_t i = 0;

	l.acc = l.alt = l.vel = l.batt = OT_NONE;
	l.conn = NULL;
	jbuf_init(&b, 0, 4096);
	dataobj_location(&b, &d);
	o = cJSON_Parse(jbuf_data(&b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	for (it = o->child; it && i < sizeof(seed_keys) / sizeof(seed_keys[0]); it = it->next, i++)
		CU_ASSERT_STRING_EQUAL(it->string, seed_keys[i]);
	CU_ASSERT_EQUAL(i, sizeof(seed_keys) / sizeof(seed_keys[0]));
	CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "accuracy")));
	CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "battery_level")));
	CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "connection_type")));
	CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "ip_address")));
	CU_ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(o, "latitude")));
	CU_ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItem(o, "timestamp_unix")));
	cJSON_Delete(o);
	jbuf_free(&b);
}

static void test_hostile_strings(void)
{
	struct ot_location l = sample();
	struct dataobj_location d = {.id = 1,
				     .device_id = 2,
				     .user = "<script>alert(\"x\")</script>",
				     .device = "d\\\n\x01",
				     .display_name = "\"},{\"id\":666",
				     .received_at = 5,
				     .loc = &l};
	struct jbuf b;
	cJSON *o;

	l.tid = "\xff\xfe";
	l.ssid = "a\"b";
	jbuf_init(&b, 0, 4096);
	dataobj_location(&b, &d);
	o = cJSON_Parse(jbuf_data(&b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(o); /* still one valid JSON object */
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "device_name")->valuestring,
			       "<script>alert(\"x\")</script>/d\\\n\x01");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "display_name")->valuestring,
			       "\"},{\"id\":666");
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "id")->valueint, 1);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "tid")->valuestring,
			       "\xef\xbf\xbd\xef\xbf\xbd");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "ssid")->valuestring, "a\"b");
	cJSON_Delete(o);
	jbuf_free(&b);
}

static void test_status_and_transition(void)
{
	struct ot_transition t = {.event = "leave",
				  .lat = 1.5,
				  .lon = -2.25,
				  .tst = 1705329000,
				  .wtst = OT_NONE,
				  .acc = OT_NONE,
				  .desc = "Home"};
	struct jbuf b;

	jbuf_init(&b, 0, 4096);
	dataobj_status(&b, 3, "u", "d", false, 1705329000);
	CU_ASSERT_STRING_EQUAL(
		jbuf_data(&b),
		"{\"device\":3,\"device_name\":\"u/d\",\"user\":\"u\",\"online\":false,"
		"\"timestamp\":\"2024-01-15T14:30:00Z\",\"timestamp_unix\":1705329000}");
	jbuf_reset(&b);
	dataobj_transition(&b, 9, 3, "u", "d", &t);
	CU_ASSERT_STRING_EQUAL(
		jbuf_data(&b),
		"{\"id\":9,\"device\":3,\"device_name\":\"u/d\",\"user\":\"u\",\"event\":\"leave\","
		"\"desc\":\"Home\",\"rid\":null,\"latitude\":\"1.500000\",\"longitude\":\"-2."
		"250000\","
		"\"accuracy\":null,\"timestamp\":\"2024-01-15T14:30:00Z\",\"timestamp_unix\":"
		"1705329000,"
		"\"trigger\":null}");
	jbuf_free(&b);
}

static void test_card_and_device(void)
{
	struct ot_location loc = {.lat = 1,
				  .lon = 2,
				  .tst = 1705329000,
				  .acc = OT_NONE,
				  .alt = OT_NONE,
				  .vel = OT_NONE,
				  .batt = OT_NONE,
				  .cog = OT_NONE,
				  .vac = OT_NONE,
				  .bs = OT_NONE,
				  .created_at = OT_NONE};
	struct dataobj_location last = {.id = 7,
					.device_id = 3,
					.user = "u",
					.device = "d",
					.received_at = 1705329001,
					.loc = &loc};
	struct dataobj_device dev = {.id = 3,
				     .user = "u",
				     .device = "d",
				     .display_name = "<b>U</b>",
				     .tid = "ud",
				     .last_seen = OT_NONE,
				     .online = false};
	struct jbuf b, want;

	jbuf_init(&b, 0, 4096);
	jbuf_init(&want, 0, 4096);
	dataobj_deleted(&b, 3, "u", "d", false, 42, 0, 0, 1);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b),
			       "{\"device\":3,\"device_name\":\"u/d\",\"user\":\"u\","
			       "\"id\":42,\"deleted\":1}");
	jbuf_reset(&b);
	dataobj_deleted(&b, 3, "u", "d", false, 0, 1705300000, 1705386399, 7);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b),
			       "{\"device\":3,\"device_name\":\"u/d\",\"user\":\"u\","
			       "\"from\":1705300000,\"to\":1705386399,\"deleted\":7}");
	jbuf_reset(&b);
	dataobj_deleted(&b, 3, "u<x>", "d", true, 9, 1, 2, 0);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "{\"device\":3,\"device_name\":\"u<x>/d\",\"user\":"
					      "\"u<x>\",\"all\":true,\"deleted\":0}");
	jbuf_reset(&b);
	dataobj_card(&b, 3, "u", "d", "Jane \"J\"", NULL);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b),
			       "{\"device\":3,\"device_name\":\"u/d\",\"user\":\"u\","
			       "\"display_name\":\"Jane \\\"J\\\"\",\"tid\":null}");
	jbuf_reset(&b);
	dataobj_device(&b, &dev);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b),
			       "{\"id\":3,\"user\":\"u\",\"device\":\"d\",\"device_name\":\"u/d\","
			       "\"display_name\":\"<b>U</b>\",\"tid\":\"ud\",\"last_seen\":null,"
			       "\"last_seen_unix\":null,\"online\":false,\"last_location\":null}");
	/* with a last location: the location data object, byte for byte */
	dev.last = &last;
	dev.last_seen = 1705329000;
	dev.online = true;
	dev.display_name = NULL;
	jbuf_reset(&b);
	dataobj_device(&b, &dev);
	jbuf_puts(&want,
		  "{\"id\":3,\"user\":\"u\",\"device\":\"d\",\"device_name\":\"u/d\","
		  "\"display_name\":null,\"tid\":\"ud\",\"last_seen\":\"2024-01-15T14:30:00Z\","
		  "\"last_seen_unix\":1705329000,\"online\":true,\"last_location\":");
	dataobj_location(&want, &last);
	jbuf_putc(&want, '}');
	CU_ASSERT_FALSE(jbuf_failed(&b));
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), jbuf_data(&want));
	jbuf_free(&b);
	jbuf_free(&want);
}

int init_dataobj_tests(void)
{
	static const struct test_case cases[] = {
		{"six decimals and rounding", test_fixed6},
		{"ISO-8601 time, past 2038", test_iso8601},
		{"location object, exact bytes", test_location_exact},
		{"location extras, live and from raw", test_location_extras},
		{"key order and nulls", test_key_order_and_nulls},
		{"hostile strings stay inside JSON strings", test_hostile_strings},
		{"status and transition objects", test_status_and_transition},
		{"card and device objects", test_card_and_device},
		{NULL, NULL},
	};
	return add_suite("dataobj", cases);
}
