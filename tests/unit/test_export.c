/* test_export: GPX, GeoJSON and CSV writers.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "export.h"

static struct ot_location loc_at(double lat, double lon, int64_t tst, int64_t alt)
{
	struct ot_location l = {.lat = lat,
				.lon = lon,
				.tst = tst,
				.acc = 5,
				.alt = alt,
				.vel = OT_NONE,
				.batt = 80,
				.cog = OT_NONE,
				.vac = OT_NONE,
				.bs = OT_NONE,
				.created_at = OT_NONE};
	return l;
}

static void test_formats(void)
{
	enum export_format f;

	CU_ASSERT_EQUAL(export_format_parse("gpx", &f), 0);
	CU_ASSERT_EQUAL(f, EXPORT_GPX);
	CU_ASSERT_EQUAL(export_format_parse("geojson", &f), 0);
	CU_ASSERT_STRING_EQUAL(export_content_type(f), "application/geo+json");
	CU_ASSERT_EQUAL(export_format_parse("csv", &f), 0);
	CU_ASSERT_STRING_EQUAL(export_extension(f), "csv");
	CU_ASSERT_EQUAL(export_format_parse("GPX", &f), -1);
	CU_ASSERT_EQUAL(export_format_parse("kml", &f), -1);
	CU_ASSERT_EQUAL(export_format_parse("", &f), -1);
}

static void test_xml_escaping(void)
{
	struct jbuf b;

	jbuf_init(&b, 0, 1024);
	export_xml_str(&b, "<a href=\"x\">&'</a>", 18);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
	jbuf_reset(&b);
	/* not allowed in XML 1.0 even as a reference: replaced; tab/LF kept */
	export_xml_str(&b,
		       "a\x01"
		       "b\tc\nd\xff"
		       "e",
		       9);
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "a\xef\xbf\xbd"
					      "b\tc\nd\xef\xbf\xbd"
					      "e");
	jbuf_reset(&b);
	export_xml_str(&b, "caf\xc3\xa9", 5); /* valid UTF-8 passes */
	CU_ASSERT_STRING_EQUAL(jbuf_data(&b), "caf\xc3\xa9");
	jbuf_free(&b);
}

static void test_gpx(void)
{
	struct ot_location a = loc_at(52.5, 13.4, 1705329000, 34),
			   b2 = loc_at(52.51, 13.41, 1705329060, OT_NONE),
			   c = loc_at(-33.8688, 151.2093, 1705329000, 5);
	struct dataobj_location d[3] = {
		{.id = 1, .device_id = 1, .user = "al&ce", .device = "<phone>", .loc = &a},
		{.id = 2, .device_id = 1, .user = "al&ce", .device = "<phone>", .loc = &b2},
		{.id = 3, .device_id = 2, .user = "bob", .device = "tab", .loc = &c},
	};
	struct export e;
	struct jbuf b;
	int i;

	jbuf_init(&b, 0, 1 << 16);
	export_begin(&e, EXPORT_GPX, &b);
	for (i = 0; i < 3; i++)
		export_location(&e, &b, &d[i]);
	export_end(&e, &b);
	CU_ASSERT_FALSE(jbuf_failed(&b));
	CU_ASSERT_EQUAL(e.count, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(
		jbuf_data(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\""));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(jbuf_data(&b),
		       "<trk><name>al&amp;ce/&lt;phone&gt;</name><trkseg>\n"
		       "<trkpt lat=\"52.500000\" "
		       "lon=\"13.400000\"><ele>34</ele><time>2024-01-15T14:30:00Z</time></trkpt>\n"
		       "<trkpt lat=\"52.510000\" "
		       "lon=\"13.410000\"><time>2024-01-15T14:31:00Z</time></trkpt>\n"
		       "</trkseg></trk>\n"
		       "<trk><name>bob/tab</name><trkseg>\n"
		       "<trkpt lat=\"-33.868800\" "
		       "lon=\"151.209300\"><ele>5</ele><time>2024-01-15T14:30:00Z</time></trkpt>\n"
		       "</trkseg></trk>\n</gpx>\n"));
	jbuf_reset(&b);
	/* nothing to export is still a valid document */
	export_begin(&e, EXPORT_GPX, &b);
	export_end(&e, &b);
	CU_ASSERT_PTR_NULL(strstr(jbuf_data(&b), "<trk>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jbuf_data(&b), "</metadata>\n</gpx>\n"));
	jbuf_free(&b);
}

static void test_geojson(void)
{
	struct ot_location a = loc_at(52.5, 13.4, 1705329000, 34),
			   c = loc_at(-1, -2, 1705329001, OT_NONE);
	struct dataobj_location d[2] = {
		{.id = 1, .device_id = 1, .user = "u", .device = "d", .loc = &a},
		{.id = 2, .device_id = 1, .user = "u", .device = "d", .loc = &c},
	};
	struct export e;
	struct jbuf b;
	cJSON *doc, *feats, *f0, *coords;

	jbuf_init(&b, 0, 1 << 16);
	export_begin(&e, EXPORT_GEOJSON, &b);
	export_location(&e, &b, &d[0]);
	export_location(&e, &b, &d[1]);
	export_end(&e, &b);
	doc = cJSON_Parse(jbuf_data(&b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(doc, "type")->valuestring, "FeatureCollection");
	feats = cJSON_GetObjectItem(doc, "features");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(feats), 2);
	f0 = cJSON_GetArrayItem(feats, 0);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(f0, "type")->valuestring, "Feature");
	coords = cJSON_GetObjectItem(cJSON_GetObjectItem(f0, "geometry"), "coordinates");
	/* RFC 7946: longitude first */
	CU_ASSERT_EQUAL(cJSON_GetArraySize(coords), 3);
	CU_ASSERT_DOUBLE_EQUAL(cJSON_GetArrayItem(coords, 0)->valuedouble, 13.4, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(cJSON_GetArrayItem(coords, 1)->valuedouble, 52.5, 1e-9);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(
				cJSON_GetObjectItem(cJSON_GetArrayItem(feats, 1), "geometry"),
				"coordinates")),
			2); /* no altitude: two positions */
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(f0, "properties"), "id")->valueint,
			1);
	cJSON_Delete(doc);
	jbuf_reset(&b);
	export_begin(&e, EXPORT_GEOJSON, &b);
	export_end(&e, &b);
	doc = cJSON_Parse(jbuf_data(&b));
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "features")), 0);
	cJSON_Delete(doc);
	jbuf_free(&b);
}

static void test_csv(void)
{
	struct ot_location a = loc_at(52.5, 13.4, 1705329000, OT_NONE);
	struct dataobj_location d = {.id = 7,
				     .device_id = 2,
				     .user = "=cmd|' /C calc'!A0",
				     .device = "a,\"b\"",
				     .ip_address = "127.0.0.1",
				     .loc = &a};
	struct export e;
	struct jbuf b;

	a.ssid = "home\nnet";
	a.conn = "w";
	jbuf_init(&b, 0, 1 << 16);
	export_begin(&e, EXPORT_CSV, &b);
	export_location(&e, &b, &d);
	export_end(&e, &b);
	CU_ASSERT_STRING_EQUAL(
		jbuf_data(&b),
		"id,device,user,device_name,timestamp,timestamp_unix,latitude,longitude,accuracy,"
		"altitude,velocity,course,battery_level,connection_type,tid,trigger,ssid,ip_"
		"address\r\n"
		"7,2,'=cmd|' /C calc'!A0,\"'=cmd|' /C calc'!A0/a,\"\"b\"\"\",2024-01-15T14:30:00Z,"
		"1705329000,52.500000,13.400000,5,,,,80,w,,,\"home\nnet\",127.0.0.1\r\n");
	jbuf_free(&b);
}

int init_export_tests(void)
{
	static const struct test_case cases[] = {
		{"format names and media types", test_formats},
		{"XML escaping", test_xml_escaping},
		{"GPX: a track per device, schema order", test_gpx},
		{"GeoJSON: RFC 7946 points", test_geojson},
		{"CSV: quoting and formula injection", test_csv},
		{NULL, NULL},
	};
	return add_suite("export", cases);
}
