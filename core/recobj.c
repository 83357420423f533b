/* recobj: locations as the OwnTracks Recorder serves them (its HTTP API).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "recobj.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "dataobj.h"

size_t recobj_disptst(int64_t t, char out[32])
{
	size_t n = dataobj_iso8601(t, out); /* YYYY-MM-DDTHH:MM:SSZ */

	out[10] = ' ';
	out[--n] = '\0';
	return n;
}

/* Is `key` one of the comma-separated `fields` (NULL or "": all)? */
static bool wanted(const char *fields, const char *key)
{
	size_t kl = strlen(key);
	const char *p = fields;

	if (!fields || !*fields)
		return true;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == kl && !memcmp(p, key, kl))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

struct out {
	struct jbuf *b;
	const char *fields;
	bool first;
};

/* Start member `key` when it is wanted: true then, and the value follows. */
static bool key(struct out *o, const char *k)
{
	if (!wanted(o->fields, k))
		return false;
	jbuf_puts(o->b, o->first ? "\"" : ",\"");
	jbuf_puts(o->b, k); /* our own literals: nothing to escape */
	jbuf_puts(o->b, "\":");
	o->first = false;
	return true;
}

static void put_int(struct out *o, const char *k, int64_t v)
{
	if (v != OT_NONE && key(o, k))
		jbuf_int(o->b, v);
}

static void put_str(struct out *o, const char *k, const char *v)
{
	if (v && key(o, k))
		jbuf_json_cstr(o->b, v);
}

/* Degrees as a JSON number: six decimals, trailing zeros dropped. */
static void put_deg(struct out *o, const char *k, double v)
{
	char s[32];
	size_t n;

	if (!key(o, k))
		return;
	n = dataobj_fixed6(v, s);
	while (n && s[n - 1] == '0')
		n--;
	if (n && s[n - 1] == '.')
		n--;
	jbuf_append(o->b, s, n);
}

static void put_time(struct out *o, const char *k, int64_t t, bool disp)
{
	char s[32];
	size_t n;

	if (t == OT_NONE || !key(o, k))
		return;
	n = disp ? recobj_disptst(t, s) : dataobj_iso8601(t, s);
	jbuf_putc(o->b, '"');
	jbuf_append(o->b, s, n);
	jbuf_putc(o->b, '"');
}

/* The string elements of the JSON array `json` (NULL: none). */
static void put_regions(struct out *o, const char *json)
{
	cJSON *doc = json ? cJSON_Parse(json) : NULL, *it;
	bool first = true;

	if (!key(o, "inregions")) {
		cJSON_Delete(doc);
		return;
	}
	jbuf_putc(o->b, '[');
	if (cJSON_IsArray(doc)) {
		cJSON_ArrayForEach(it, doc)
		{
			if (!cJSON_IsString(it))
				continue;
			if (!first)
				jbuf_putc(o->b, ',');
			jbuf_json_cstr(o->b, it->valuestring);
			first = false;
		}
	}
	jbuf_putc(o->b, ']');
	cJSON_Delete(doc);
}

void recobj_location(struct jbuf *b, const struct recobj_location *r, const char *fields)
{
	const struct ot_location *l = r->loc;
	struct out o = {b, fields, true};

	jbuf_putc(b, '{');
	put_str(&o, "_type", "location");
	put_str(&o, "tid", l->tid);
	put_deg(&o, "lat", l->lat);
	put_deg(&o, "lon", l->lon);
	put_int(&o, "tst", l->tst);
	put_int(&o, "acc", l->acc);
	put_int(&o, "alt", l->alt);
	put_int(&o, "batt", l->batt);
	put_int(&o, "vel", l->vel);
	put_int(&o, "cog", l->cog);
	put_int(&o, "vac", l->vac);
	put_str(&o, "conn", l->conn);
	put_str(&o, "t", l->trigger);
	put_int(&o, "bs", l->bs);
	put_str(&o, "SSID", l->ssid);
	put_str(&o, "BSSID", l->bssid);
	put_str(&o, "poi", r->poi);
	put_regions(&o, r->inregions);
	if (key(&o, "topic")) {
		struct jbuf t;

		jbuf_init(&t, 0, 1024);
		jbuf_printf(&t, "%s/%s/%s", r->prefix, r->user, r->device);
		if (jbuf_failed(&t))
			b->failed = true; /* names are at most 128 bytes: not here */
		else
			jbuf_json_str(b, jbuf_data(&t), jbuf_len(&t));
		jbuf_free(&t);
	}
	put_str(&o, "username", r->user);
	put_str(&o, "device", r->device);
	put_time(&o, "isorcv", r->received_at, false);
	put_time(&o, "isotst", l->tst, false);
	put_time(&o, "disptst", l->tst, true);
	put_str(&o, "name", r->name);
	put_str(&o, "face", r->face);
	jbuf_putc(b, '}');
}
