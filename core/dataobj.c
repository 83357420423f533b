/* dataobj: the JSON objects mytracks publishes and serves.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "dataobj.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Write `width` decimal digits of v (zero-padded) at p; return p + width. */
static char *put_digits(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* Decimal digits of v, no padding. */
static char *put_uint(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

size_t dataobj_fixed6(double v, char out[32])
{
	long long scaled;
	unsigned long long a;
	char *p = out;

	if (!isfinite(v) || fabs(v) > 1e12)
		v = 0.0;
	scaled = llround(v * 1e6);
	if (scaled < 0) {
		*p++ = '-';
		a = (unsigned long long)-scaled;
	} else {
		a = (unsigned long long)scaled;
	}
	p = put_uint(p, a / 1000000ULL);
	*p++ = '.';
	p = put_digits(p, a % 1000000ULL, 6);
	*p = '\0';
	return (size_t)(p - out);
}

/* Days since 1970-01-01 to civil date (Howard Hinnant's algorithm), so the
 * result does not depend on the width of time_t or on gmtime's range. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

size_t dataobj_iso8601(int64_t t, char out[32])
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m, d;
	char *p = out;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) { /* outside ISO-8601's four digits: clamp */
		y = y < 0 ? 0 : 9999;
	}
	p = put_digits(p, (uint64_t)y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, (uint64_t)(secs / 3600), 2);
	*p++ = ':';
	p = put_digits(p, (uint64_t)(secs / 60 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (uint64_t)(secs % 60), 2);
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - out);
}

/* `k` is the key with its punctuation: ,"name": (ours: no escaping needed) */
#define KEY(name) ",\"" name "\":"
static void key(struct jbuf *b, const char *k)
{
	jbuf_append(b, k, strlen(k));
}

/* Each member is put together in a small buffer and appended at once:
 * a location has 26 members, and an append per piece was a third of
 * the formatting's cost. */
#define MEMBER_MAX 160

/* Copy the key into m; the position after it. */
static char *put_key(char *m, const char *k)
{
	size_t n = strlen(k);

	memcpy(m, k, n);
	return m + n;
}

/* Decimal digits of v, with its sign. */
static char *put_int(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_uint(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_uint(p, (uint64_t)v);
}

static void put_opt_int(struct jbuf *b, const char *k, int64_t v)
{
	char m[MEMBER_MAX], *p = put_key(m, k);

	if (v == OT_NONE) {
		memcpy(p, "null", 4);
		p += 4;
	} else {
		p = put_int(p, v);
	}
	jbuf_append(b, m, (size_t)(p - m));
}

/* True for a string that is its own JSON body: printable ASCII without
 * '"' or '\\', short enough for a member buffer. */
static bool plain_ascii(const char *v, size_t *len)
{
	size_t i;

	for (i = 0; v[i]; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || i >= MEMBER_MAX - 48)
			return false;
	}
	*len = i;
	return true;
}

static void put_str(struct jbuf *b, const char *k, const char *v)
{
	char m[MEMBER_MAX], *p;
	size_t n;

	if (!v || !plain_ascii(v, &n)) {
		key(b, k);
		jbuf_json_cstr(b, v);
		return;
	}
	p = put_key(m, k);
	*p++ = '"';
	memcpy(p, v, n);
	p += n;
	*p++ = '"';
	jbuf_append(b, m, (size_t)(p - m));
}

static void put_fixed6(struct jbuf *b, const char *k, double v)
{
	char m[MEMBER_MAX], *p = put_key(m, k);

	*p++ = '"';
	p += dataobj_fixed6(v, p);
	*p++ = '"';
	jbuf_append(b, m, (size_t)(p - m));
}

static void put_time(struct jbuf *b, const char *k, int64_t t)
{
	char m[MEMBER_MAX], *p = put_key(m, k);

	*p++ = '"';
	p += dataobj_iso8601(t, p);
	*p++ = '"';
	jbuf_append(b, m, (size_t)(p - m));
}

void dataobj_device_name(struct jbuf *b, const char *user, const char *device)
{
	size_t ul = strlen(user), dl = strlen(device);
	char small[2 * OT_NAME_MAX + 2];

	if (ul + dl + 1 < sizeof(small)) {
		memcpy(small, user, ul);
		small[ul] = '/';
		memcpy(small + ul + 1, device, dl);
		jbuf_json_str(b, small, ul + dl + 1);
	} else {
		jbuf_json_cstr(b, "?");
	}
}

/* id, device, device_name, user: shared opening of every object */
static void open_object(struct jbuf *b, int64_t id, int64_t device_id, const char *user,
			const char *device, bool with_id)
{
	if (with_id) {
		jbuf_puts(b, DATAOBJ_ID_OPEN);
		jbuf_int(b, id);
		jbuf_putc(b, ',');
	} else {
		jbuf_putc(b, '{');
	}
	jbuf_puts(b, "\"device\":");
	jbuf_int(b, device_id);
	key(b, KEY("device_name"));
	dataobj_device_name(b, user, device);
}

static void put_list(struct jbuf *b, const char *k, const char *const *v, int n)
{
	int i;

	key(b, k);
	if (n < 0) {
		jbuf_append(b, "null", 4);
		return;
	}
	jbuf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			jbuf_putc(b, ',');
		jbuf_json_cstr(b, v[i]);
	}
	jbuf_putc(b, ']');
}

void dataobj_location(struct jbuf *b, const struct dataobj_location *d)
{
	static const struct ot_extras none = {.n_inregions = -1, .n_inrids = -1, .m = OT_NONE};
	const struct ot_extras *x = d->extras ? d->extras : &none;
	const struct ot_location *l = d->loc;

	open_object(b, d->id, d->device_id, d->user, d->device, true);
	put_fixed6(b, KEY("latitude"), l->lat);
	put_fixed6(b, KEY("longitude"), l->lon);
	put_time(b, KEY("timestamp"), l->tst);
	put_opt_int(b, KEY("timestamp_unix"), l->tst);
	put_opt_int(b, KEY("accuracy"), l->acc);
	put_opt_int(b, KEY("altitude"), l->alt);
	put_opt_int(b, KEY("velocity"), l->vel);
	put_opt_int(b, KEY("battery_level"), l->batt);
	put_str(b, KEY("connection_type"), l->conn);
	put_str(b, KEY("ip_address"), d->ip_address);
	put_str(b, KEY("user"), d->user);
	put_str(b, KEY("display_name"), d->display_name);
	put_str(b, KEY("tid"), l->tid);
	put_str(b, KEY("trigger"), l->trigger);
	put_opt_int(b, KEY("course"), l->cog);
	put_opt_int(b, KEY("vertical_accuracy"), l->vac);
	put_opt_int(b, KEY("battery_status"), l->bs);
	put_str(b, KEY("ssid"), l->ssid);
	put_str(b, KEY("bssid"), l->bssid);
	put_time(b, KEY("received_at"), d->received_at);
	put_list(b, KEY("inregions"), x->inregions, x->n_inregions);
	put_list(b, KEY("inrids"), x->inrids, x->n_inrids);
	put_str(b, KEY("poi"), x->poi);
	put_str(b, KEY("tag"), x->tag);
	put_opt_int(b, KEY("monitoring_mode"), x->m);
	put_str(b, KEY("source"), x->source);
	jbuf_putc(b, '}');
}

void dataobj_status(struct jbuf *b, int64_t device_id, const char *user, const char *device,
		    bool online, int64_t when)
{
	open_object(b, 0, device_id, user, device, false);
	put_str(b, KEY("user"), user);
	key(b, KEY("online"));
	jbuf_puts(b, online ? "true" : "false");
	put_time(b, KEY("timestamp"), when);
	put_opt_int(b, KEY("timestamp_unix"), when);
	jbuf_putc(b, '}');
}

void dataobj_card(struct jbuf *b, int64_t device_id, const char *user, const char *device,
		  const char *name, const char *tid)
{
	open_object(b, 0, device_id, user, device, false);
	put_str(b, KEY("user"), user);
	put_str(b, KEY("display_name"), name);
	put_str(b, KEY("tid"), tid);
	jbuf_putc(b, '}');
}

void dataobj_deleted(struct jbuf *b, int64_t device_id, const char *user, const char *device,
		     bool all, int64_t id, int64_t from, int64_t to, int64_t deleted)
{
	open_object(b, 0, device_id, user, device, false);
	put_str(b, KEY("user"), user);
	if (all) {
		jbuf_puts(b, ",\"all\":true");
	} else if (id > 0) {
		jbuf_puts(b, ",\"id\":");
		jbuf_int(b, id);
	} else {
		jbuf_puts(b, ",\"from\":");
		jbuf_int(b, from);
		jbuf_puts(b, ",\"to\":");
		jbuf_int(b, to);
	}
	jbuf_puts(b, ",\"deleted\":");
	jbuf_int(b, deleted);
	jbuf_putc(b, '}');
}

void dataobj_device(struct jbuf *b, const struct dataobj_device *d)
{
	jbuf_puts(b, "{\"id\":");
	jbuf_int(b, d->id);
	put_str(b, KEY("user"), d->user);
	put_str(b, KEY("device"), d->device);
	key(b, KEY("device_name"));
	dataobj_device_name(b, d->user, d->device);
	put_str(b, KEY("display_name"), d->display_name);
	put_str(b, KEY("tid"), d->tid);
	if (d->last_seen == OT_NONE) {
		jbuf_puts(b, KEY("last_seen") "null");
	} else {
		put_time(b, KEY("last_seen"), d->last_seen);
	}
	put_opt_int(b, KEY("last_seen_unix"), d->last_seen);
	key(b, KEY("online"));
	jbuf_puts(b, d->online ? "true" : "false");
	key(b, KEY("last_location"));
	if (d->last)
		dataobj_location(b, d->last);
	else
		jbuf_puts(b, "null");
	jbuf_putc(b, '}');
}

void dataobj_transition(struct jbuf *b, int64_t id, int64_t device_id, const char *user,
			const char *device, const struct ot_transition *t)
{
	open_object(b, id, device_id, user, device, true);
	put_str(b, KEY("user"), user);
	put_str(b, KEY("event"), t->event);
	put_str(b, KEY("desc"), t->desc);
	put_str(b, KEY("rid"), t->rid);
	put_fixed6(b, KEY("latitude"), t->lat);
	put_fixed6(b, KEY("longitude"), t->lon);
	put_opt_int(b, KEY("accuracy"), t->acc);
	put_time(b, KEY("timestamp"), t->tst);
	put_opt_int(b, KEY("timestamp_unix"), t->tst);
	put_str(b, KEY("trigger"), t->trigger);
	jbuf_putc(b, '}');
}
