/* import_src: the readers of mytracks-import (Recorder .rec, GPX, Google Takeout).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The GPX reader is a small scanner, not an XML parser: it knows tags,
 * attributes, comments, CDATA sections, processing instructions and
 * declarations, which is all a GPX file from a phone, a watch or an
 * exporter holds, and it reads only the points' lat/lon attributes and
 * their <time> and <ele> children. Namespace prefixes are ignored.
 */
#define _GNU_SOURCE /* memmem */
#include "import_src.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "jbuf.h"
#include "utf8.h"

#define MSG_MAX 4096 /* bytes of a location made from a GPX or Takeout point */
#define FIELD_MAX 64 /* bytes of a lat, lon, ele or time we read */
#define WHY_MAX 256

/* Line numbers for positions that only move forward. */
struct lines {
	const char *doc;
	size_t pos;
	long line;
};

static long line_at(struct lines *l, size_t at)
{
	const char *p = l->doc + l->pos, *end = l->doc + at, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		l->line++;
		p = nl + 1;
	}
	l->pos = at;
	return l->line;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy `n` bytes of s, without surrounding white space, into out (cut at
 * `size` - 1 bytes). */
static void copy_trimmed(char *out, size_t size, const char *s, size_t n)
{
	while (n && is_ws(*s)) {
		s++;
		n--;
	}
	while (n && is_ws(s[n - 1]))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* ---- Recorder .rec ---- */

/* One line without its newline: 1 and the JSON when it is a message, 0
 * when blank, -1 with `why` when it is not a Recorder line. */
static int rec_line(const char *s, size_t n, const char **json, size_t *jlen, char *why,
		    size_t whylen)
{
	size_t i = 0, t0, t1;
	char tbuf[FIELD_MAX];
	int64_t when;

	while (n && is_ws(s[n - 1]))
		n--;
	while (i < n && is_ws(s[i]))
		i++;
	if (i == n)
		return 0;
	t0 = i;
	while (i < n && !is_ws(s[i]) && s[i] != '{')
		i++;
	copy_trimmed(tbuf, sizeof(tbuf), s + t0, i - t0);
	if (i == t0 || i - t0 >= sizeof(tbuf) || isotime_parse(tbuf, &when)) {
		snprintf(why, whylen,
			 "not a Recorder line (TIME TAB * TAB JSON): '%.40s' is not an ISO-8601 "
			 "time",
			 tbuf);
		return -1;
	}
	while (i < n && is_ws(s[i]))
		i++;
	t1 = i;
	while (i < n && !is_ws(s[i]) && s[i] != '{')
		i++;
	if (i == t1) {
		snprintf(
			why, whylen,
			"not a Recorder line (TIME TAB * TAB JSON): no topic field after the time");
		return -1;
	}
	while (i < n && is_ws(s[i]))
		i++;
	if (i == n || s[i] != '{') {
		snprintf(why, whylen,
			 "not a Recorder line (TIME TAB * TAB JSON): no JSON object "
			 "after the time and the topic");
		return -1;
	}
	if (s[n - 1] != '}') {
		snprintf(why, whylen, "the JSON object is cut off (no closing '}')");
		return -1;
	}
	if (!utf8_valid(s + i, n - i)) {
		snprintf(why, whylen, "the JSON object is not valid UTF-8 (or holds a NUL byte)");
		return -1;
	}
	*json = s + i;
	*jlen = n - i;
	return 1;
}

long imp_rec_read(const char *doc, size_t len, const struct imp_sink *sink)
{
	size_t pos = 0;
	long line = 0, lines = 0;
	char why[WHY_MAX];

	/* a UTF-8 byte order mark, as some editors write */
	if (len >= 3 && !memcmp(doc, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *s = doc + pos, *nl = memchr(s, '\n', len - pos), *json = NULL;
		size_t n = nl ? (size_t)(nl - s) : len - pos, jlen = 0;
		int r;

		line++;
		pos += n + (nl ? 1 : 0);
		r = rec_line(s, n, &json, &jlen, why, sizeof(why));
		if (!r)
			continue;
		lines++;
		if (r < 0)
			sink->bad(sink->arg, line, why);
		else if (sink->message(sink->arg, json, jlen, line))
			return -1;
	}
	return lines;
}

/* ---- a location made from a point ---- */

/* A coordinate in degrees: at most 8 decimals, no trailing zeros. */
static void put_degrees(struct jbuf *b, double v)
{
	char s[48];
	size_t n = (size_t)snprintf(s, sizeof(s), "%.8f", v);

	while (n > 1 && s[n - 1] == '0')
		n--;
	if (s[n - 1] == '.')
		n--;
	if (n == 2 && !memcmp(s, "-0", 2)) {
		s[0] = '0';
		n = 1;
	}
	jbuf_append(b, s, n);
}

/* The tracker id: the last two characters of the device name. */
static void put_tid(struct jbuf *b, const char *device)
{
	size_t n = strlen(device), start = n;
	int chars = 0;

	while (start > 0 && chars < 2) {
		start--;
		if (((unsigned char)device[start] & 0xc0) != 0x80)
			chars++;
	}
	jbuf_puts(b, ",\"tid\":");
	jbuf_json_str(b, device + start, n - start);
}

struct point {
	double lat, lon;
	int64_t tst;
	bool has_alt, has_acc, has_vel, has_cog, has_vac;
	long long alt, acc, vel, cog, vac;
};

/* Hand the location for `pt` to the sink. */
static int emit_point(struct jbuf *b, const struct point *pt, const char *device,
		      const struct imp_sink *sink, long line)
{
	jbuf_reset(b);
	jbuf_puts(b, "{\"_type\":\"location\",\"lat\":");
	put_degrees(b, pt->lat);
	jbuf_puts(b, ",\"lon\":");
	put_degrees(b, pt->lon);
	jbuf_printf(b, ",\"tst\":%" PRId64, pt->tst);
	if (pt->has_acc)
		jbuf_printf(b, ",\"acc\":%lld", pt->acc);
	if (pt->has_alt)
		jbuf_printf(b, ",\"alt\":%lld", pt->alt);
	if (pt->has_vel)
		jbuf_printf(b, ",\"vel\":%lld", pt->vel);
	if (pt->has_cog)
		jbuf_printf(b, ",\"cog\":%lld", pt->cog);
	if (pt->has_vac)
		jbuf_printf(b, ",\"vac\":%lld", pt->vac);
	put_tid(b, device);
	jbuf_putc(b, '}');
	if (jbuf_failed(b)) {
		sink->bad(sink->arg, line, "out of memory");
		return 0;
	}
	return sink->message(sink->arg, jbuf_data(b), jbuf_len(b), line);
}

/* A number that is all of `s` (after trimming), or false. */
static bool parse_number(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return false;
	v = strtod(s, &end);
	if (*end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool coords_ok(double lat, double lon)
{
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
}

/* ---- GPX ---- */

enum gpx_field { F_NONE, F_TIME, F_ELE };

struct gpx {
	const char *d;
	size_t n;
	struct lines lines;
	const char *device;
	const struct imp_sink *sink;
	struct jbuf msg;
	long points;
	bool seen_gpx;
	/* the point being read */
	bool in_point;
	char kind[16];
	long point_line;
	int depth;
	enum gpx_field field;
	size_t field_start;
	char lat[FIELD_MAX], lon[FIELD_MAX], time[FIELD_MAX], ele[FIELD_MAX];
	bool has_lat, has_lon, has_time, has_ele;
};

/* The local part of a tag or attribute name (after any "prefix:"). */
static void local_name(char *out, size_t size, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	if (colon) {
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	copy_trimmed(out, size, s, n);
}

static bool point_kind(const char *name)
{
	return !strcmp(name, "trkpt") || !strcmp(name, "rtept") || !strcmp(name, "wpt");
}

static int gpx_point_end(struct gpx *g)
{
	struct point pt = {0};
	double v;
	char why[WHY_MAX];

	g->in_point = false;
	g->points++;
	if (!g->has_lat || !g->has_lon || !parse_number(g->lat, &pt.lat) ||
	    !parse_number(g->lon, &pt.lon) || !coords_ok(pt.lat, pt.lon)) {
		snprintf(why, sizeof(why),
			 "<%s> without a valid lat and lon (lat=\"%.20s\" lon=\"%.20s\")", g->kind,
			 g->has_lat ? g->lat : "", g->has_lon ? g->lon : "");
		g->sink->bad(g->sink->arg, g->point_line, why);
		return 0;
	}
	if (!g->has_time || !g->time[0]) {
		g->sink->skipped(g->sink->arg, g->point_line);
		return 0;
	}
	if (isotime_parse(g->time, &pt.tst)) {
		snprintf(why, sizeof(why), "<%s>: <time> '%.40s' is not an ISO-8601 time", g->kind,
			 g->time);
		g->sink->bad(g->sink->arg, g->point_line, why);
		return 0;
	}
	if (g->has_ele && parse_number(g->ele, &v) && fabs(v) < 1e6) {
		pt.has_alt = true;
		pt.alt = llround(v);
	}
	return emit_point(&g->msg, &pt, g->device, g->sink, g->point_line);
}

/* A start tag from '<' at p: returns the position after its '>', or 0
 * when it is cut off. */
static size_t gpx_start_tag(struct gpx *g, size_t p, int *rc)
{
	const char *d = g->d;
	size_t i = p + 1, n0;
	char name[16], attr[16];
	bool empty = false, point;

	*rc = 0;
	n0 = i;
	while (i < g->n && !is_ws(d[i]) && d[i] != '>' && d[i] != '/')
		i++;
	local_name(name, sizeof(name), d + n0, i - n0);
	point = !g->in_point && point_kind(name);
	if (!strcmp(name, "gpx"))
		g->seen_gpx = true;
	if (point) {
		g->in_point = true;
		snprintf(g->kind, sizeof(g->kind), "%s", name);
		g->point_line = line_at(&g->lines, p);
		g->depth = 0;
		g->field = F_NONE;
		g->has_lat = g->has_lon = g->has_time = g->has_ele = false;
	}
	for (;;) {
		size_t a0, v0;
		char q;

		while (i < g->n && is_ws(d[i]))
			i++;
		if (i >= g->n)
			return 0;
		if (d[i] == '>')
			break;
		if (d[i] == '/' && i + 1 < g->n && d[i + 1] == '>') {
			empty = true;
			i++;
			break;
		}
		a0 = i;
		while (i < g->n && !is_ws(d[i]) && d[i] != '=' && d[i] != '>' && d[i] != '/')
			i++;
		if (i == a0)
			i++; /* a stray character: step over it */
		local_name(attr, sizeof(attr), d + a0, i - a0);
		while (i < g->n && is_ws(d[i]))
			i++;
		if (i >= g->n || d[i] != '=')
			continue;
		i++;
		while (i < g->n && is_ws(d[i]))
			i++;
		if (i >= g->n || (d[i] != '"' && d[i] != '\''))
			continue;
		q = d[i++];
		v0 = i;
		while (i < g->n && d[i] != q)
			i++;
		if (i >= g->n)
			return 0;
		if (point && !strcmp(attr, "lat")) {
			copy_trimmed(g->lat, sizeof(g->lat), d + v0, i - v0);
			g->has_lat = true;
		} else if (point && !strcmp(attr, "lon")) {
			copy_trimmed(g->lon, sizeof(g->lon), d + v0, i - v0);
			g->has_lon = true;
		}
		i++;
	}
	i++; /* past '>' */
	if (point) {
		if (empty)
			*rc = gpx_point_end(g);
		return i;
	}
	if (!g->in_point || empty)
		return i;
	if (g->depth++ == 0) {
		g->field = !strcmp(name, "time") ? F_TIME : !strcmp(name, "ele") ? F_ELE : F_NONE;
		g->field_start = i;
	}
	return i;
}

/* An end tag from "</" at p: returns the position after its '>', or 0. */
static size_t gpx_end_tag(struct gpx *g, size_t p, int *rc)
{
	const char *gt = memchr(g->d + p, '>', g->n - p);
	char name[16];

	*rc = 0;
	if (!gt)
		return 0;
	local_name(name, sizeof(name), g->d + p + 2, (size_t)(gt - (g->d + p + 2)));
	if (!g->in_point)
		return (size_t)(gt - g->d) + 1;
	if (g->depth == 0) {
		if (!strcmp(name, g->kind))
			*rc = gpx_point_end(g);
		return (size_t)(gt - g->d) + 1;
	}
	if (--g->depth == 0 && g->field != F_NONE) {
		char *dst = g->field == F_TIME ? g->time : g->ele;

		copy_trimmed(dst, FIELD_MAX, g->d + g->field_start, p - g->field_start);
		if (g->field == F_TIME)
			g->has_time = true;
		else
			g->has_ele = true;
		g->field = F_NONE;
	}
	return (size_t)(gt - g->d) + 1;
}

/* The position after `end` found from p, or 0. */
static size_t skip_past(const struct gpx *g, size_t p, const char *end)
{
	size_t k = strlen(end);
	const char *f = memmem(g->d + p, g->n - p, end, k);

	return f ? (size_t)(f - g->d) + k : 0;
}

long imp_gpx_read(const char *doc, size_t len, const char *device, const struct imp_sink *sink)
{
	struct gpx g = {.d = doc, .n = len, .lines = {doc, 0, 1}, .device = device, .sink = sink};
	size_t p = 0;
	long rc = 0;

	jbuf_init(&g.msg, 0, MSG_MAX);
	for (;;) {
		const char *lt = memchr(doc + p, '<', len - p);
		size_t at, next;
		int stop = 0;

		if (!lt)
			break;
		at = (size_t)(lt - doc);
		if (len - at >= 4 && !memcmp(lt, "<!--", 4))
			next = skip_past(&g, at + 4, "-->");
		else if (len - at >= 9 && !memcmp(lt, "<![CDATA[", 9))
			next = skip_past(&g, at + 9, "]]>");
		else if (len - at >= 2 && lt[1] == '?')
			next = skip_past(&g, at + 2, "?>");
		else if (len - at >= 2 && lt[1] == '!')
			next = skip_past(&g, at + 2, ">");
		else if (len - at >= 2 && lt[1] == '/')
			next = gpx_end_tag(&g, at, &stop);
		else
			next = gpx_start_tag(&g, at, &stop);
		if (stop) {
			rc = -1;
			goto out;
		}
		if (!next) {
			sink->bad(sink->arg, line_at(&g.lines, at),
				  "the GPX document is cut off inside this tag or comment");
			rc = -1;
			goto out;
		}
		p = next;
	}
	if (!g.seen_gpx) {
		sink->bad(sink->arg, 1, "not a GPX document: no <gpx> element");
		rc = -1;
	} else if (g.in_point) {
		sink->bad(sink->arg, g.point_line, "the GPX document ends inside this point");
		rc = -1;
	} else {
		rc = g.points;
	}
out:
	jbuf_free(&g.msg);
	return rc;
}

/* ---- Google Takeout Records.json ---- */

static size_t js_ws(const char *d, size_t n, size_t p)
{
	while (p < n && is_ws(d[p]))
		p++;
	return p;
}

/* From the '"' at p to after the closing quote, or n + 1 when cut off. */
static size_t js_string_end(const char *d, size_t n, size_t p)
{
	for (p++; p < n; p++) {
		if (d[p] == '\\')
			p++;
		else if (d[p] == '"')
			return p + 1;
	}
	return n + 1;
}

/* After the value at p (brackets counted, strings skipped), or n + 1. */
static size_t js_value_end(const char *d, size_t n, size_t p)
{
	int depth = 0;

	if (p >= n)
		return n + 1;
	if (d[p] == '"')
		return js_string_end(d, n, p);
	if (d[p] != '{' && d[p] != '[') {
		while (p < n && !is_ws(d[p]) && d[p] != ',' && d[p] != '}' && d[p] != ']')
			p++;
		return p;
	}
	while (p < n) {
		char c = d[p];

		if (c == '"') {
			p = js_string_end(d, n, p);
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return n + 1;
}

static bool js_num(const cJSON *o, const char *key, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return false;
	*out = it->valuedouble;
	return true;
}

/* An optional whole-number field, rounded (`scale` converts its unit). */
static void js_opt(const cJSON *o, const char *key, double scale, bool *has, long long *out)
{
	double v;

	if (js_num(o, key, &v) && fabs(v * scale) < 1e9) {
		*has = true;
		*out = llround(v * scale);
	}
}

/* When the entry was recorded: "timestamp" (ISO-8601) or "timestampMs".
 * 1 and *tst, 0 when it has neither, -1 when one is not a time. */
static int takeout_time(const cJSON *o, int64_t *tst)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "timestampMs");
	double v;
	char *end;

	if (cJSON_IsString(ts))
		return isotime_parse(ts->valuestring, tst) ? -1 : 1;
	if (cJSON_IsString(ms)) {
		v = strtod(ms->valuestring, &end);
		if (*end || !ms->valuestring[0])
			return -1;
	} else if (cJSON_IsNumber(ms)) {
		v = ms->valuedouble;
	} else {
		return ts || ms ? -1 : 0;
	}
	if (!(v >= 0 && v < 1e15))
		return -1;
	*tst = (int64_t)(v / 1000);
	return 1;
}

/* One entry of "locations" (`n` bytes at s). */
static int takeout_entry(struct jbuf *b, const char *s, size_t n, const char *device,
			 const struct imp_sink *sink, long line)
{
	cJSON *o = cJSON_ParseWithLength(s, n);
	struct point pt = {0};
	double lat, lon;
	int rc = 0, t;

	if (!cJSON_IsObject(o)) {
		sink->bad(sink->arg, line, "a \"locations\" entry that is not a JSON object");
		goto out;
	}
	if (!js_num(o, "latitudeE7", &lat) || !js_num(o, "longitudeE7", &lon)) {
		sink->bad(sink->arg, line, "a location without latitudeE7 and longitudeE7");
		goto out;
	}
	/* old exports wrote some negative values as unsigned 32-bit numbers */
	if (lat > 900000000)
		lat -= 4294967296.0;
	if (lon > 1800000000)
		lon -= 4294967296.0;
	pt.lat = lat / 1e7;
	pt.lon = lon / 1e7;
	if (!coords_ok(pt.lat, pt.lon)) {
		sink->bad(sink->arg, line, "latitudeE7/longitudeE7 out of range");
		goto out;
	}
	t = takeout_time(o, &pt.tst);
	if (t == 0) {
		sink->skipped(sink->arg, line);
		goto out;
	}
	if (t < 0) {
		sink->bad(sink->arg, line, "\"timestamp\" or \"timestampMs\" is not a time");
		goto out;
	}
	js_opt(o, "accuracy", 1, &pt.has_acc, &pt.acc);
	js_opt(o, "altitude", 1, &pt.has_alt, &pt.alt);
	js_opt(o, "velocity", 3.6, &pt.has_vel, &pt.vel); /* m/s to km/h */
	js_opt(o, "heading", 1, &pt.has_cog, &pt.cog);
	js_opt(o, "verticalAccuracy", 1, &pt.has_vac, &pt.vac);
	rc = emit_point(b, &pt, device, sink, line);
out:
	cJSON_Delete(o);
	return rc;
}

long imp_takeout_read(const char *d, size_t n, const char *device, const struct imp_sink *sink)
{
	struct lines lines = {d, 0, 1};
	struct jbuf b;
	size_t p = js_ws(d, n, 0);
	long entries = 0, rc = -1;
	bool found = false;

	jbuf_init(&b, 0, MSG_MAX);
	if (p >= n || d[p] != '{')
		goto bad;
	p = js_ws(d, n, p + 1);
	while (p < n && d[p] != '}') {
		size_t k0 = p, k1;

		if (d[p] != '"')
			goto bad;
		k1 = js_string_end(d, n, p);
		if (k1 > n)
			goto bad;
		p = js_ws(d, n, k1);
		if (p >= n || d[p] != ':')
			goto bad;
		p = js_ws(d, n, p + 1);
		if (k1 - k0 == 11 && !memcmp(d + k0, "\"locations\"", 11) && p < n && d[p] == '[') {
			found = true;
			p = js_ws(d, n, p + 1);
			while (p < n && d[p] != ']') {
				size_t e = js_value_end(d, n, p);

				if (e > n)
					goto bad;
				entries++;
				if (takeout_entry(&b, d + p, e - p, device, sink,
						  line_at(&lines, p)))
					goto out;
				p = js_ws(d, n, e);
				if (p < n && d[p] == ',')
					p = js_ws(d, n, p + 1);
				else if (p >= n || d[p] != ']')
					goto bad;
			}
			if (p >= n)
				goto bad;
			p++;
		} else {
			p = js_value_end(d, n, p);
			if (p > n)
				goto bad;
		}
		p = js_ws(d, n, p);
		if (p < n && d[p] == ',')
			p = js_ws(d, n, p + 1);
		else if (p >= n || d[p] != '}')
			goto bad;
	}
	if (p >= n || !found)
		goto bad;
	rc = entries;
	goto out;
bad:
	sink->bad(sink->arg, line_at(&lines, p < n ? p : n),
		  found ? "the Takeout file is not valid JSON here (cut off?)"
			: "not a Takeout location history: expected {\"locations\":[...]}");
out:
	jbuf_free(&b);
	return rc;
}
