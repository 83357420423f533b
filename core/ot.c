/* ot: parse and validate OwnTracks JSON messages and topics.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "ot.h"
#include "jdoc.h"
#include "utf8.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers beyond this are not plausible in any OwnTracks field and would
 * lose precision as doubles. */
#define OT_INT_LIMIT 1e15

static enum ot_result fail(char *reason, size_t rlen, enum ot_result r, const char *fmt,
			   const char *field)
{
	if (reason && rlen)
		snprintf(reason, rlen, fmt, field);
	return r;
}

/* clang-format off */
static const struct {
	const char *name;
	enum ot_type type;
} ot_types[] = {
	{"location", OT_LOCATION},
	{"transition", OT_TRANSITION},
	{"lwt", OT_LWT},
	{"card", OT_CARD},
	{"waypoint", OT_WAYPOINT},
	{"waypoints", OT_WAYPOINTS},
	{"cmd", OT_IGNORED},
	{"status", OT_IGNORED},
	{"steps", OT_IGNORED},
	{"configuration", OT_IGNORED},
	{"beacon", OT_IGNORED},
	{"request", OT_IGNORED},
	{"dump", OT_IGNORED},
};
/* clang-format on */

/* Longest numeric string taken as a number ("-1234567.123456", "1526617158"). */
#define OT_NUMSTR_MAX 32

/* True when `s` is a plain decimal number: an optional '-', digits, and
 * optionally '.' and more digits. No sign '+', white space, exponent, hex,
 * "inf" or "nan": what older apps and imported histories really send. */
static bool plain_number(const char *s)
{
	size_t i = 0, digits = 0;

	if (s[i] == '-')
		i++;
	while (s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (!digits)
		return false;
	if (s[i] == '.') {
		size_t frac = 0;

		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			frac++;
		if (!frac)
			return false;
	}
	return s[i] == '\0' && i <= OT_NUMSTR_MAX;
}

/* The value of a numeric member: a finite JSON number, or a string holding
 * a plain number (older apps send "tst":"1526617158"; the Recorder takes
 * those too). Returns 1, or -1 for anything else. */
static int json_number(const struct jdoc_node *it, double *out)
{
	if (jdoc_is(it, JDOC_NUMBER)) {
		if (!isfinite(it->v.num))
			return -1;
		*out = it->v.num;
		return 1;
	}
	if (jdoc_is(it, JDOC_STRING) && plain_number(it->v.str)) {
		*out = strtod(it->v.str, NULL);
		return isfinite(*out) ? 1 : -1;
	}
	return -1;
}

/* Field readers: return 1 when read, 0 when absent, -1 when wrong. */

static int get_number(const struct jdoc *d, const struct jdoc_node *obj, const char *key,
		      double *out)
{
	const struct jdoc_node *it = jdoc_get(d, obj, key);

	if (!it || it->type == JDOC_NULL)
		return 0;
	return json_number(it, out);
}

static int get_int(const struct jdoc *d, const struct jdoc_node *obj, const char *key, int64_t *out)
{
	double v;
	int rc = get_number(d, obj, key, &v);

	if (rc <= 0) {
		*out = OT_NONE;
		return rc;
	}
	if (fabs(v) >= OT_INT_LIMIT)
		return -1;
	*out = (int64_t)llround(v);
	return 1;
}

static int get_str(const struct jdoc *d, const struct jdoc_node *obj, const char *key, size_t max,
		   const char **out)
{
	const struct jdoc_node *it = jdoc_get(d, obj, key);

	*out = NULL;
	if (!it || it->type == JDOC_NULL)
		return 0;
	if (it->type != JDOC_STRING || strlen(it->v.str) > max)
		return -1;
	*out = it->v.str;
	return 1;
}

#define NEED(expr, field, what)                                                                    \
	do {                                                                                       \
		if ((expr) < 0)                                                                    \
			return fail(reason, rlen, OT_ERR_FIELD, "field '%s': " what, field);       \
	} while (0)

static enum ot_result need_latlon(const struct jdoc *d, const struct jdoc_node *o, double *lat,
				  double *lon, char *reason, size_t rlen)
{
	int rc = get_number(d, o, "lat", lat);

	if (rc == 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s' is missing", "lat");
	NEED(rc, "lat", "expected a finite number");
	rc = get_number(d, o, "lon", lon);
	if (rc == 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s' is missing", "lon");
	NEED(rc, "lon", "expected a finite number");
	return OT_OK;
}

static enum ot_result need_tst(const struct jdoc *d, const struct jdoc_node *o, int64_t *tst,
			       char *reason, size_t rlen)
{
	double v;
	int rc = get_number(d, o, "tst", &v);

	if (rc == 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s' is missing", "tst");
	if (rc < 0 || v != floor(v) || fabs(v) >= OT_INT_LIMIT)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected an integer", "tst");
	*tst = (int64_t)v;
	return OT_OK;
}

static enum ot_result check_tst(int64_t tst, int64_t now, int64_t max_future, const char *field,
				char *reason, size_t rlen)
{
	if (tst <= 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': must be positive", field);
	if (tst > now + max_future)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': too far in the future", field);
	return OT_OK;
}

static enum ot_result check_latlon(double lat, double lon, char *reason, size_t rlen)
{
	if (lat < -90.0 || lat > 90.0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': out of range [-90, 90]",
			    "lat");
	if (lon < -180.0 || lon > 180.0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': out of range [-180, 180]",
			    "lon");
	return OT_OK;
}

enum ot_result ot_location_check(const struct ot_location *l, int64_t now, int64_t max_future,
				 char *reason, size_t rlen)
{
	enum ot_result r;

	if (!isfinite(l->lat) || !isfinite(l->lon))
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected a finite number",
			    isfinite(l->lat) ? "lon" : "lat");
	r = check_latlon(l->lat, l->lon, reason, rlen);
	if (r != OT_OK)
		return r;
	r = check_tst(l->tst, now, max_future, "tst", reason, rlen);
	if (r != OT_OK)
		return r;
	if (l->batt != OT_NONE && (l->batt < 0 || l->batt > 100))
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': out of range [0, 100]",
			    "batt");
	if (l->acc != OT_NONE && l->acc < 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': must not be negative", "acc");
	if (l->vac != OT_NONE && l->vac < 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': must not be negative", "vac");
	if (l->vel != OT_NONE && l->vel < 0)
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': must not be negative", "vel");
	if (l->cog != OT_NONE && (l->cog < 0 || l->cog > 360))
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': out of range [0, 360]", "cog");
	if (l->bs != OT_NONE && (l->bs < 0 || l->bs > 3))
		return fail(reason, rlen, OT_ERR_FIELD, "field '%s': out of range [0, 3]", "bs");
	return OT_OK;
}

/* The location's fields, read in one pass over the object (a lookup per
 * field would scan the member list each time). The first occurrence of a
 * key counts, as with jdoc_get(); a field with two spellings
 * (Android's "SSID", iOS 18.3's "ssid") takes whichever comes first. */
enum field_kind { F_LAT, F_LON, F_TST, F_INT, F_STR };

struct field {
	const char *key, *alias; /* alias: another spelling, or NULL */
	enum field_kind kind;
	size_t off; /* into struct ot_location */
};

/* clang-format off */
#define LOC_FIELD(k, a, kind, member) {k, a, kind, offsetof(struct ot_location, member)}
static const struct field loc_fields[] = {
	LOC_FIELD("lat", NULL, F_LAT, lat),	LOC_FIELD("lon", NULL, F_LON, lon),
	LOC_FIELD("tst", NULL, F_TST, tst),	LOC_FIELD("acc", NULL, F_INT, acc),
	LOC_FIELD("alt", NULL, F_INT, alt),	LOC_FIELD("vel", NULL, F_INT, vel),
	LOC_FIELD("batt", NULL, F_INT, batt),	LOC_FIELD("cog", NULL, F_INT, cog),
	LOC_FIELD("vac", NULL, F_INT, vac),	LOC_FIELD("bs", NULL, F_INT, bs),
	LOC_FIELD("created_at", NULL, F_INT, created_at), LOC_FIELD("conn", NULL, F_STR, conn),
	LOC_FIELD("tid", NULL, F_STR, tid),	LOC_FIELD("t", NULL, F_STR, trigger),
	LOC_FIELD("SSID", "ssid", F_STR, ssid), LOC_FIELD("BSSID", "bssid", F_STR, bssid),
};
/* clang-format on */
#define LOC_NFIELDS (sizeof(loc_fields) / sizeof(loc_fields[0]))

static int find_loc_field(const char *k)
{
	size_t i;

	for (i = 0; i < LOC_NFIELDS; i++) {
		const struct field *f = &loc_fields[i];

		if ((f->key[0] == k[0] && !strcmp(f->key, k)) ||
		    (f->alias && f->alias[0] == k[0] && !strcmp(f->alias, k)))
			return (int)i;
	}
	return -1;
}

/* Older iOS versions and imported histories send -1 (some -3) for "not
 * known" in optional fields: that is absent, not a reason to drop a fix.
 * (Altitude can be negative, and keeps its sign.) */
static void unknown_is_absent(int64_t *v)
{
	if (*v != OT_NONE && *v < 0)
		*v = OT_NONE;
}

/* Store one member's value. Returns OT_OK or OT_ERR_FIELD with a reason. */
static enum ot_result take_loc_field(const struct field *f, const struct jdoc_node *it,
				     struct ot_location *l, char *reason, size_t rlen)
{
	char *base = (char *)l; /* fields are written at their offsetof */
	int64_t i;
	double d;

	if (it->type == JDOC_NULL)
		return f->kind == F_LAT || f->kind == F_LON || f->kind == F_TST
			       ? fail(reason, rlen, OT_ERR_FIELD, "field '%s' is missing", f->key)
			       : OT_OK;
	if (f->kind == F_STR) {
		if (it->type != JDOC_STRING || strlen(it->v.str) > OT_SHORT_STR_MAX)
			return fail(reason, rlen, OT_ERR_FIELD,
				    "field '%s': expected a short string", f->key);
		memcpy(base + f->off, &it->v.str, sizeof(it->v.str));
		return OT_OK;
	}
	if (json_number(it, &d) < 0)
		return fail(reason, rlen, OT_ERR_FIELD,
			    f->kind == F_INT   ? "field '%s': expected a number"
			    : f->kind == F_TST ? "field '%s': expected an integer"
					       : "field '%s': expected a finite number",
			    f->key);
	switch (f->kind) {
	case F_LAT:
	case F_LON:
		memcpy(base + f->off, &d, sizeof(d));
		break;
	case F_TST:
		if (d != floor(d) || fabs(d) >= OT_INT_LIMIT)
			return fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected an integer",
				    f->key);
		i = (int64_t)d;
		memcpy(base + f->off, &i, sizeof(i));
		break;
	default:
		if (fabs(d) >= OT_INT_LIMIT)
			return fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected a number",
				    f->key);
		i = (int64_t)llround(d);
		memcpy(base + f->off, &i, sizeof(i));
		break;
	}
	return OT_OK;
}

static enum ot_result parse_location(const struct jdoc *d, const struct jdoc_node *o,
				     struct ot_location *l, int64_t now, int64_t max_future,
				     char *reason, size_t rlen)
{
	uint32_t seen = 0;
	const struct jdoc_node *it;
	enum ot_result r;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->acc = l->alt = l->vel = l->batt = OT_NONE;
	l->cog = l->vac = l->bs = l->created_at = OT_NONE;
	for (it = jdoc_child(d, o); it; it = jdoc_next(d, it)) {
		int f = find_loc_field(it->key);

		if (f < 0 || (seen & (1u << f)))
			continue;
		seen |= 1u << f;
		r = take_loc_field(&loc_fields[f], it, l, reason, rlen);
		if (r != OT_OK)
			return r;
	}
	for (i = 0; i < 3; i++) { /* lat, lon, tst are required */
		if (!(seen & (1u << i)))
			return fail(reason, rlen, OT_ERR_FIELD, "field '%s' is missing",
				    loc_fields[i].key);
	}
	unknown_is_absent(&l->acc);
	unknown_is_absent(&l->vel);
	unknown_is_absent(&l->batt);
	unknown_is_absent(&l->cog);
	unknown_is_absent(&l->vac);
	unknown_is_absent(&l->bs);
	unknown_is_absent(&l->created_at);
	return ot_location_check(l, now, max_future, reason, rlen);
}

static void extras_clear(struct ot_extras *x)
{
	memset(x, 0, sizeof(*x));
	x->n_inregions = x->n_inrids = -1;
	x->m = OT_NONE;
}

/* A string member of at most `max` bytes, else NULL. */
static const char *lenient_str(const struct jdoc *d, const struct jdoc_node *o, const char *key,
			       size_t max)
{
	const struct jdoc_node *it = jdoc_get(d, o, key);

	return jdoc_is(it, JDOC_STRING) && strlen(it->v.str) <= max ? it->v.str : NULL;
}

/* The string elements (at most OT_LIST_MAX, each at most OT_TEXT_MAX
 * bytes) of an array member; -1 when it is absent or not an array. */
static int lenient_list(const struct jdoc *d, const struct jdoc_node *o, const char *key,
			const char **out)
{
	const struct jdoc_node *arr = jdoc_get(d, o, key), *it;
	int n = 0;

	if (!jdoc_is(arr, JDOC_ARRAY))
		return -1;
	for (it = jdoc_child(d, arr); it && n < OT_LIST_MAX; it = jdoc_next(d, it)) {
		if (it->type == JDOC_STRING && strlen(it->v.str) <= OT_TEXT_MAX)
			out[n++] = it->v.str;
	}
	return n;
}

static void take_extras(const struct jdoc *d, const struct jdoc_node *o, struct ot_extras *x)
{
	const struct jdoc_node *m;
	double v;

	extras_clear(x);
	if (!jdoc_is(o, JDOC_OBJECT))
		return;
	x->n_inregions = lenient_list(d, o, "inregions", x->inregions);
	x->n_inrids = lenient_list(d, o, "inrids", x->inrids);
	x->poi = lenient_str(d, o, "poi", OT_TEXT_MAX);
	x->tag = lenient_str(d, o, "tag", OT_TEXT_MAX);
	x->source = lenient_str(d, o, "source", OT_SHORT_STR_MAX);
	m = jdoc_get(d, o, "m");
	if (m && json_number(m, &v) > 0 && v == floor(v) && v >= -1 && v <= 2)
		x->m = (int64_t)v;
}

void *ot_extras_parse(const char *raw, size_t len, struct ot_extras *x)
{
	struct jdoc *d = raw && len ? malloc(sizeof(*d)) : NULL;

	extras_clear(x);
	if (!d)
		return NULL;
	jdoc_init(d);
	if (!jdoc_parse(d, raw, len, NULL)) {
		ot_extras_free(d);
		return NULL;
	}
	take_extras(d, jdoc_root(d), x);
	return d;
}

void ot_extras_free(void *doc)
{
	if (!doc)
		return;
	jdoc_free(doc);
	free(doc);
}

static enum ot_result parse_transition(const struct jdoc *d, const struct jdoc_node *o,
				       struct ot_transition *t, int64_t now, int64_t max_future,
				       char *reason, size_t rlen)
{
	enum ot_result r;

	memset(t, 0, sizeof(*t));
	r = need_latlon(d, o, &t->lat, &t->lon, reason, rlen);
	if (r == OT_OK)
		r = check_latlon(t->lat, t->lon, reason, rlen);
	if (r == OT_OK)
		r = need_tst(d, o, &t->tst, reason, rlen);
	if (r == OT_OK)
		r = check_tst(t->tst, now, max_future, "tst", reason, rlen);
	if (r != OT_OK)
		return r;
	if (get_str(d, o, "event", OT_SHORT_STR_MAX, &t->event) <= 0 ||
	    (strcmp(t->event, "enter") != 0 && strcmp(t->event, "leave") != 0))
		return fail(reason, rlen, OT_ERR_FIELD,
			    "field '%s': expected \"enter\" or \"leave\"", "event");
	NEED(get_int(d, o, "wtst", &t->wtst), "wtst", "expected a number");
	NEED(get_int(d, o, "acc", &t->acc), "acc", "expected a number");
	unknown_is_absent(&t->acc);
	NEED(get_str(d, o, "desc", OT_TEXT_MAX, &t->desc), "desc", "expected a string");
	NEED(get_str(d, o, "rid", OT_SHORT_STR_MAX, &t->rid), "rid", "expected a short string");
	NEED(get_str(d, o, "t", OT_SHORT_STR_MAX, &t->trigger), "t", "expected a short string");
	NEED(get_str(d, o, "tid", OT_SHORT_STR_MAX, &t->tid), "tid", "expected a short string");
	return OT_OK;
}

/* Forget the message's fields; its document keeps its memory. */
static void msg_clear(struct ot_msg *msg)
{
	memset(msg, 0, offsetof(struct ot_msg, doc));
	msg->tst = OT_NONE;
	extras_clear(&msg->extras);
}

/* The document must be one object, with nothing but white space after it. */
static enum ot_result parse_object(struct jdoc *d, const char *payload, size_t len, char *reason,
				   size_t rlen)
{
	const char *end = NULL;

	if (!utf8_valid(payload, len))
		return fail(reason, rlen, OT_ERR_UTF8, "%s", "payload is not valid UTF-8");
	if (!jdoc_parse(d, payload, len, &end))
		return fail(reason, rlen, OT_ERR_JSON, "%s", "payload is not valid JSON");
	while (end < payload + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != payload + len)
		return fail(reason, rlen, OT_ERR_JSON, "%s",
			    "payload has data after the JSON value");
	if (!jdoc_is(jdoc_root(d), JDOC_OBJECT))
		return fail(reason, rlen, OT_ERR_JSON, "%s", "payload is not a JSON object");
	return OT_OK;
}

/* The _type member, looked up in ot_types. */
static enum ot_result take_type(const struct jdoc *d, struct ot_msg *msg, char *reason, size_t rlen)
{
	const struct jdoc_node *type = jdoc_get(d, jdoc_root(d), "_type");
	bool encrypted;
	size_t i;

	if (!jdoc_is(type, JDOC_STRING))
		return fail(reason, rlen, OT_ERR_TYPE, "%s",
			    "field '_type' is missing or not a string");
	for (i = 0; i < sizeof(ot_types) / sizeof(ot_types[0]); i++) {
		if (strcmp(type->v.str, ot_types[i].name) == 0) {
			msg->type = ot_types[i].type;
			msg->type_name = type->v.str;
			return OT_OK;
		}
	}
	encrypted = strcmp(type->v.str, "encrypted") == 0;
	return fail(reason, rlen, OT_ERR_TYPE, encrypted ? "%s" : "unknown _type (%.40s)",
		    encrypted ? "encrypted payloads are not supported" : type->v.str);
}

/* The fields of the message's type. */
static enum ot_result take_fields(const struct jdoc *d, struct ot_msg *msg, int64_t now,
				  int64_t max_future, char *reason, size_t rlen)
{
	const struct jdoc_node *o = jdoc_root(d);
	enum ot_result r = OT_OK;

	switch (msg->type) {
	case OT_LOCATION:
		r = parse_location(d, o, &msg->u.loc, now, max_future, reason, rlen);
		msg->tst = msg->u.loc.tst;
		if (r == OT_OK)
			take_extras(d, o, &msg->extras);
		break;
	case OT_TRANSITION:
		r = parse_transition(d, o, &msg->u.tr, now, max_future, reason, rlen);
		msg->tst = msg->u.tr.tst;
		break;
	case OT_CARD:
		if (get_str(d, o, "name", OT_TEXT_MAX, &msg->u.card.name) < 0)
			r = fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected a string",
				 "name");
		else if (get_str(d, o, "tid", OT_SHORT_STR_MAX, &msg->u.card.tid) < 0)
			r = fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected a short string",
				 "tid");
		break;
	default:
		/* lwt, waypoints and the rest: a tst is optional but must be sane */
		if (get_int(d, o, "tst", &msg->tst) < 0)
			r = fail(reason, rlen, OT_ERR_FIELD, "field '%s': expected a number",
				 "tst");
		break;
	}
	return r;
}

enum ot_result ot_parse(const char *payload, size_t len, int64_t now, int64_t max_future,
			struct ot_msg *msg, char *reason, size_t rlen)
{
	enum ot_result r;

	msg_clear(msg);
	jdoc_init(&msg->doc);
	if (!payload || len == 0)
		return fail(reason, rlen, OT_ERR_EMPTY, "%s", "empty payload");
	r = parse_object(&msg->doc, payload, len, reason, rlen);
	if (r == OT_OK)
		r = take_type(&msg->doc, msg, reason, rlen);
	if (r == OT_OK)
		r = take_fields(&msg->doc, msg, now, max_future, reason, rlen);
	if (r != OT_OK) {
		ot_msg_free(msg);
		msg_clear(msg);
	}
	return r;
}

void ot_msg_free(struct ot_msg *msg)
{
	jdoc_free(&msg->doc);
}

/* Copy the level [s, e) into dst; false if empty or too long. */
/* Copy one topic level; the user and device levels must be names
 * (ot_name_ok: the rule the bridge and the control channel use too). */
static bool take_level(const char *s, const char *e, char *dst, bool name)
{
	size_t n = (size_t)(e - s);

	if (n == 0 || n > OT_NAME_MAX || (name && !ot_name_ok(s, n)))
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

enum ot_result ot_topic_parse(const char *topic, const char *prefix, struct ot_topic *out,
			      char *reason, size_t rlen)
{
	size_t plen = strlen(prefix);
	const char *p, *slash;
	char *dst[3];
	int level;

	memset(out, 0, sizeof(*out));
	dst[0] = out->user;
	dst[1] = out->device;
	dst[2] = out->sub;
	if (strncmp(topic, prefix, plen) != 0 || topic[plen] != '/')
		return fail(reason, rlen, OT_ERR_FIELD, "topic does not start with '%s/'", prefix);
	p = topic + plen + 1;
	for (level = 0; level < 3; level++) {
		slash = strchr(p, '/');
		if (!slash)
			slash = p + strlen(p);
		if (!take_level(p, slash, dst[level], level < 2))
			return fail(reason, rlen, OT_ERR_FIELD,
				    "topic level %s is empty, too long or not a name",
				    level == 0	 ? "user"
				    : level == 1 ? "device"
						 : "sub-topic");
		if (*slash == '\0')
			break;
		p = slash + 1;
	}
	if (level == 0)
		return fail(reason, rlen, OT_ERR_FIELD, "%s",
			    "topic has too few levels (want <prefix>/<user>/<device>)");
	if (level == 3)
		return fail(reason, rlen, OT_ERR_FIELD, "%s", "topic has too many levels");
	return OT_OK;
}

const char *ot_result_name(enum ot_result r)
{
	switch (r) {
	case OT_OK:
		return "ok";
	case OT_ERR_EMPTY:
		return "empty";
	case OT_ERR_UTF8:
		return "invalid_utf8";
	case OT_ERR_JSON:
		return "invalid_json";
	case OT_ERR_TYPE:
		return "bad_type";
	case OT_ERR_FIELD:
		return "bad_field";
	}
	return "unknown";
}

bool ot_prefix_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > OT_PREFIX_MAX || !utf8_valid(s, n) || s[0] == '/' || s[n - 1] == '/' ||
	    strstr(s, "//"))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '+' || c == '#')
			return false;
	}
	return true;
}

bool ot_name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > OT_NAME_MAX || !utf8_valid(s, n))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
			return false;
	}
	return true;
}
