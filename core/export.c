/* export: locations as GPX 1.1, GeoJSON (RFC 7946) or CSV (RFC 4180).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "export.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

static const char *const names[] = {"gpx", "geojson", "csv"};
static const char *const types[] = {
	"application/gpx+xml",
	"application/geo+json",
	"text/csv; charset=utf-8; header=present",
};

int export_format_parse(const char *s, enum export_format *out)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum export_format)i;
			return 0;
		}
	}
	return -1;
}

const char *export_content_type(enum export_format f)
{
	return types[f];
}

const char *export_extension(enum export_format f)
{
	return names[f];
}

void export_xml_str(struct jbuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	if (!s)
		return;
	while (p < end) {
		size_t n = utf8_seq_len(p, (size_t)(end - p));

		if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')) {
			jbuf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		}
		switch (*p) {
		case '&':
			jbuf_puts(b, "&amp;");
			break;
		case '<':
			jbuf_puts(b, "&lt;");
			break;
		case '>':
			jbuf_puts(b, "&gt;");
			break;
		case '"':
			jbuf_puts(b, "&quot;");
			break;
		case '\'':
			jbuf_puts(b, "&apos;");
			break;
		default:
			jbuf_append(b, p, n);
			break;
		}
		p += n;
	}
}

static void xml_cstr(struct jbuf *b, const char *s)
{
	if (s)
		export_xml_str(b, s, strlen(s));
}

static void put_fixed6(struct jbuf *b, double v)
{
	char tmp[32];
	size_t n = dataobj_fixed6(v, tmp);

	jbuf_append(b, tmp, n);
}

static void put_time(struct jbuf *b, int64_t t)
{
	char tmp[32];
	size_t n = dataobj_iso8601(t, tmp);

	jbuf_append(b, tmp, n);
}

/* --- GPX ----------------------------------------------------------------- */

static void gpx_trkpt(struct export *e, struct jbuf *b, const struct dataobj_location *d)
{
	const struct ot_location *l = d->loc;

	if (e->device_id != d->device_id) {
		if (e->device_id)
			jbuf_puts(b, "</trkseg></trk>\n");
		jbuf_puts(b, "<trk><name>");
		xml_cstr(b, d->user);
		jbuf_putc(b, '/');
		xml_cstr(b, d->device);
		jbuf_puts(b, "</name><trkseg>\n");
		e->device_id = d->device_id;
	}
	jbuf_puts(b, "<trkpt lat=\"");
	put_fixed6(b, l->lat);
	jbuf_puts(b, "\" lon=\"");
	put_fixed6(b, l->lon);
	jbuf_puts(b, "\">");
	if (l->alt != OT_NONE) {
		jbuf_puts(b, "<ele>");
		jbuf_int(b, l->alt);
		jbuf_puts(b, "</ele>");
	}
	jbuf_puts(b, "<time>");
	put_time(b, l->tst);
	jbuf_puts(b, "</time></trkpt>\n");
}

/* --- GeoJSON ------------------------------------------------------------- */

static void geojson_feature(struct export *e, struct jbuf *b, const struct dataobj_location *d)
{
	const struct ot_location *l = d->loc;

	if (e->count)
		jbuf_puts(b, ",\n");
	jbuf_puts(b, "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[");
	put_fixed6(b, l->lon);
	jbuf_putc(b, ',');
	put_fixed6(b, l->lat);
	if (l->alt != OT_NONE) {
		jbuf_putc(b, ',');
		jbuf_int(b, l->alt);
	}
	jbuf_puts(b, "]},\"properties\":");
	/* the data object is the properties: one definition of every field */
	dataobj_location(b, d);
	jbuf_putc(b, '}');
}

/* --- CSV ----------------------------------------------------------------- */

#define CSV_HEADER                                                                                 \
	"id,device,user,device_name,timestamp,timestamp_unix,latitude,longitude,accuracy,"         \
	"altitude,velocity,course,battery_level,connection_type,tid,trigger,ssid,ip_address\r\n"

/* A text field: quoted when it holds a comma, quote, CR or LF; a leading
 * = + - @ tab or CR (a spreadsheet formula) gets an apostrophe first. */
static void csv_str(struct jbuf *b, const char *s)
{
	bool quote;
	const char *p;

	if (!s)
		return;
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		jbuf_putc(b, '"');
	if (strchr("=+-@\t\r", s[0]) && s[0])
		jbuf_putc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '"')
			jbuf_putc(b, '"');
		jbuf_putc(b, *p);
	}
	if (quote)
		jbuf_putc(b, '"');
}

static void csv_int(struct jbuf *b, int64_t v)
{
	if (v != OT_NONE)
		jbuf_int(b, v);
}

static void csv_row(struct jbuf *b, const struct dataobj_location *d)
{
	const struct ot_location *l = d->loc;

	jbuf_int(b, d->id);
	jbuf_putc(b, ',');
	jbuf_int(b, d->device_id);
	jbuf_putc(b, ',');
	csv_str(b, d->user);
	jbuf_putc(b, ',');
	if (d->user && d->device) {
		char name[2 * OT_NAME_MAX + 2];

		snprintf(name, sizeof(name), "%s/%s", d->user, d->device);
		csv_str(b, name);
	}
	jbuf_putc(b, ',');
	put_time(b, l->tst);
	jbuf_putc(b, ',');
	jbuf_int(b, l->tst);
	jbuf_putc(b, ',');
	put_fixed6(b, l->lat);
	jbuf_putc(b, ',');
	put_fixed6(b, l->lon);
	jbuf_putc(b, ',');
	csv_int(b, l->acc);
	jbuf_putc(b, ',');
	csv_int(b, l->alt);
	jbuf_putc(b, ',');
	csv_int(b, l->vel);
	jbuf_putc(b, ',');
	csv_int(b, l->cog);
	jbuf_putc(b, ',');
	csv_int(b, l->batt);
	jbuf_putc(b, ',');
	csv_str(b, l->conn);
	jbuf_putc(b, ',');
	csv_str(b, l->tid);
	jbuf_putc(b, ',');
	csv_str(b, l->trigger);
	jbuf_putc(b, ',');
	csv_str(b, l->ssid);
	jbuf_putc(b, ',');
	csv_str(b, d->ip_address);
	jbuf_puts(b, "\r\n");
}

/* --- the stream ---------------------------------------------------------- */

void export_begin(struct export *e, enum export_format fmt, struct jbuf *b)
{
	memset(e, 0, sizeof(*e));
	e->fmt = fmt;
	switch (fmt) {
	case EXPORT_GPX:
		jbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<gpx version=\"1.1\" creator=\"mytracks\" "
			     "xmlns=\"http://www.topografix.com/GPX/1/1\" "
			     "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
			     "xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 "
			     "http://www.topografix.com/GPX/1/1/gpx.xsd\">\n"
			     "<metadata><name>mytracks export</name></metadata>\n");
		break;
	case EXPORT_GEOJSON:
		jbuf_puts(b, "{\"type\":\"FeatureCollection\",\"features\":[\n");
		break;
	case EXPORT_CSV:
		jbuf_puts(b, CSV_HEADER);
		break;
	}
}

void export_location(struct export *e, struct jbuf *b, const struct dataobj_location *d)
{
	switch (e->fmt) {
	case EXPORT_GPX:
		gpx_trkpt(e, b, d);
		break;
	case EXPORT_GEOJSON:
		geojson_feature(e, b, d);
		break;
	case EXPORT_CSV:
		csv_row(b, d);
		break;
	}
	e->count++;
}

void export_end(struct export *e, struct jbuf *b)
{
	switch (e->fmt) {
	case EXPORT_GPX:
		if (e->device_id)
			jbuf_puts(b, "</trkseg></trk>\n");
		jbuf_puts(b, "</gpx>\n");
		break;
	case EXPORT_GEOJSON:
		jbuf_puts(b, "\n]}\n");
		break;
	case EXPORT_CSV:
		break;
	}
}
