/* parse: the bridge's parsing of untrusted request bytes, without lws.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>

#include "isotime.h"
#include "num.h"
#include "ot.h"
#include "utf8.h"

int parse_uint(const char *s, int64_t max, int64_t *out)
{
	return num_parse(s, 0, max, out);
}

int parse_hist_args(query_get_fn get, void *ctx, struct hist_args *a, char *err, size_t errlen)
{
	static const char *const names[HA_COUNT] = {
		[HA_SINCE_ID] = "since_id=",	 [HA_START] = "start_time=",
		[HA_END] = "end_time=",		 [HA_LIMIT] = "limit=",
		[HA_RESOLUTION] = "resolution=", [HA_MAX_POINTS] = "max_points=",
		[HA_MAX_ACC] = "max_acc=",	 [HA_MAX_SPEED] = "max_speed=",
	};
	static const int64_t maxima[HA_COUNT] = {
		[HA_SINCE_ID] = INT64_MAX / 2,	 [HA_LIMIT] = INT32_MAX,
		[HA_RESOLUTION] = 366LL * 86400, [HA_MAX_POINTS] = 1000000,
		[HA_MAX_ACC] = 1000000,		 [HA_MAX_SPEED] = 100000,
	};
	const char *v = NULL;
	int i, found;

	memset(a, 0, sizeof(*a));
	a->num[HA_END] = INT64_MAX;
	if (errlen)
		err[0] = '\0';
	for (i = 0; i < HA_COUNT; i++) {
		int namelen = (int)strlen(names[i]) - 1;

		found = get(ctx, names[i], &v);
		if (found < 0)
			goto too_long;
		if (!found)
			continue;
		a->have[i] = true;
		if (i == HA_START || i == HA_END) {
			if (isotime_parse(v, &a->num[i]) || a->num[i] < 0) {
				snprintf(err, errlen,
					 "%.*s must be unix seconds or an ISO-8601 date", namelen,
					 names[i]);
				return -1;
			}
		} else if (parse_uint(v, maxima[i], &a->num[i])) {
			snprintf(err, errlen, "%.*s must be an integer from 0 to %lld", namelen,
				 names[i], (long long)maxima[i]);
			return -1;
		}
	}
	if (a->num[HA_START] > a->num[HA_END]) {
		snprintf(err, errlen, "start_time is after end_time");
		return -1;
	}
	found = get(ctx, "format=", &v);
	if (found < 0)
		goto too_long;
	if (found) {
		if (export_format_parse(v, &a->fmt)) {
			snprintf(err, errlen, "format must be gpx, geojson or csv");
			return -1;
		}
		a->have_format = true;
	}
	found = get(ctx, "device=", &v);
	if (found < 0)
		goto too_long;
	if (found) {
		if (strlen(v) >= sizeof(a->device) || !parse_device_spec(v)) {
			snprintf(err, errlen, "device must be an id or user/device");
			return -1;
		}
		strcpy(a->device, v);
		a->have_device = true;
	}
	return 0;
too_long:
	snprintf(err, errlen, "query argument too long");
	return -1;
}

bool hist_args_streamed(const struct hist_args *a)
{
	return a->have_format || a->have[HA_RESOLUTION] || a->have[HA_MAX_POINTS] ||
	       a->have[HA_MAX_ACC] || a->have[HA_MAX_SPEED];
}

bool parse_device_spec(const char *v)
{
	const char *slash = strchr(v, '/');
	int64_t id;

	if (!slash)
		return !parse_uint(v, INT64_MAX, &id) && id != 0;
	return slash != v && slash[1] && !strchr(slash + 1, '/') &&
	       strlen(v) <= 2 * OT_NAME_MAX + 1;
}

bool parse_name_ok(const char *s, size_t n)
{
	return ot_name_ok(s, n);
}

/* Split "<prefix>/<user>/<device>[/...]" into the user and device levels. */
static int topic_levels(const char *t, const char **u, size_t *ul, const char **d, size_t *dl)
{
	const char *s1 = strchr(t, '/'), *s2, *s3;

	if (!s1)
		return -1;
	s2 = strchr(s1 + 1, '/');
	if (!s2)
		return -1;
	s3 = strchr(s2 + 1, '/');
	*u = s1 + 1;
	*ul = (size_t)(s2 - s1 - 1);
	*d = s2 + 1;
	*dl = s3 ? (size_t)(s3 - s2 - 1) : strlen(s2 + 1);
	return 0;
}

int parse_report_topic(const struct bridge_config *cfg, const char *body, size_t len,
		       const char *hdr_user, const char *hdr_device, char *topic, size_t topic_len,
		       char *err, size_t err_len)
{
	const char *u = hdr_user, *d = hdr_device;
	size_t ul = u ? strlen(u) : 0, dl = d ? strlen(d) : 0;
	cJSON *doc, *t;
	int rc = -1, n;

	topic[0] = err[0] = '\0';
	if (!utf8_valid(body, len)) {
		snprintf(err, err_len, "body is not valid UTF-8");
		return -1;
	}
	doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		snprintf(err, err_len, "body is not a JSON object");
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(doc, "topic");
	if ((!u || !d) && cJSON_IsString(t)) {
		const char *tu, *td;
		size_t tul, tdl;

		if (!topic_levels(t->valuestring, &tu, &tul, &td, &tdl)) {
			if (!u) {
				u = tu;
				ul = tul;
			}
			if (!d) {
				d = td;
				dl = tdl;
			}
		}
	}
	if (!u || !d) {
		snprintf(err, err_len, "no user/device: send X-Limit-U and X-Limit-D or a topic");
		goto out;
	}
	if (!parse_name_ok(u, ul) || !parse_name_ok(d, dl)) {
		snprintf(err, err_len, "invalid user or device name");
		goto out;
	}
	n = snprintf(topic, topic_len, "%s/%.*s/%.*s", cfg->in_prefix, (int)ul, u, (int)dl, d);
	if (n < 0 || (size_t)n >= topic_len) {
		topic[0] = '\0';
		snprintf(err, err_len, "topic too long");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

int parse_report_check(const char *body, size_t len, int64_t now, char *err, size_t err_len)
{
	struct ot_msg msg;
	enum ot_result r;

	err[0] = '\0';
	r = ot_parse(body, len, now, OT_DEFAULT_MAX_FUTURE_S, &msg, err, err_len);
	if (r != OT_OK) {
		if (!err[0])
			snprintf(err, err_len, "%s", ot_result_name(r));
		return -1;
	}
	ot_msg_free(&msg);
	return 0;
}

static bool trusted(const struct bridge_config *cfg, const char *addr, size_t n)
{
	int i;

	for (i = 0; i < cfg->n_trusted_proxies; i++)
		if (strlen(cfg->trusted_proxies[i]) == n &&
		    !strncmp(cfg->trusted_proxies[i], addr, n))
			return true;
	return false;
}

void parse_client_ip(const struct bridge_config *cfg, const char *peer, const char *xff, char *out,
		     size_t out_len)
{
	const char *end;

	snprintf(out, out_len, "%s", peer);
	if (!xff || !trusted(cfg, peer, strlen(peer)))
		return;
	/* walk X-Forwarded-For from the right, skipping trusted proxies */
	end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end, *a, *b;

		while (start > xff && start[-1] != ',')
			start--;
		a = start;
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a && !trusted(cfg, a, (size_t)(b - a))) {
			size_t n = (size_t)(b - a), i;

			if (n >= out_len || n > 45)
				return;
			for (i = 0; i < n; i++) /* an address: hex digits, '.', ':' */
				if (!strchr("0123456789abcdefABCDEF.:", a[i]))
					return;
			memcpy(out, a, n);
			out[n] = '\0';
			return;
		}
		end = start > xff ? start - 1 : xff;
	}
}

int parse_topic_user(const char *topic, char *out, size_t out_len)
{
	const char *u = strchr(topic, '/'), *e;

	out[0] = '\0';
	if (!u)
		return -1;
	u++;
	e = strchr(u, '/');
	if (!e || (size_t)(e - u) >= out_len)
		return -1;
	memcpy(out, u, (size_t)(e - u));
	out[e - u] = '\0';
	return 0;
}

bool parse_cookie(const char *hdr, const char *name, char *out, size_t out_len)
{
	size_t nl = strlen(name);
	const char *p = hdr;

	out[0] = '\0';
	while (*p) {
		const char *end;
		size_t vl;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			vl = (size_t)(end - p) - nl - 1;
			while (vl && (p[nl + 1 + vl - 1] == ' ' || p[nl + 1 + vl - 1] == '\t'))
				vl--;
			if (vl >= out_len)
				return false;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool parse_form_field(const char *body, size_t len, const char *name, char *out, size_t out_len)
{
	size_t nl = strlen(name), i = 0, o = 0;

	out[0] = '\0';
	while (i < len) {
		size_t end = i, j;

		while (end < len && body[end] != '&')
			end++;
		if (end - i > nl && !memcmp(body + i, name, nl) && body[i + nl] == '=') {
			for (j = i + nl + 1; j < end; j++) {
				char c = body[j];

				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int h, l;

					if (j + 2 >= end)
						goto fail;
					h = hexval(body[j + 1]);
					l = hexval(body[j + 2]);
					if (h < 0 || l < 0)
						goto fail;
					c = (char)(h << 4 | l);
					j += 2;
				}
				if (!c || o + 1 >= out_len)
					goto fail;
				out[o++] = c;
			}
			out[o] = '\0';
			return true;
		}
		i = end + 1;
	}
	return false;
fail:
	/* never leave a partial value behind: callers may log `out` */
	memset(out, 0, o);
	return false;
}

static bool json_field(const cJSON *doc, const char *name, char *out, size_t out_len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
	size_t n;

	if (!cJSON_IsString(v))
		return false;
	n = strlen(v->valuestring);
	if (n >= out_len)
		return false;
	memcpy(out, v->valuestring, n + 1);
	return true;
}

int parse_login(const char *body, size_t len, bool json, char *user, size_t user_len, char *pass,
		size_t pass_len)
{
	cJSON *doc;
	bool ok;

	user[0] = pass[0] = '\0';
	if (!json) {
		ok = parse_form_field(body, len, "user", user, user_len) &&
		     parse_form_field(body, len, "password", pass, pass_len);
	} else {
		doc = cJSON_ParseWithLength(body, len);
		ok = cJSON_IsObject(doc) && json_field(doc, "user", user, user_len) &&
		     json_field(doc, "password", pass, pass_len);
		cJSON_Delete(doc);
	}
	if (ok)
		return 0;
	explicit_bzero(pass, pass_len);
	explicit_bzero(user, user_len);
	return -1;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int parse_basic_auth(const char *hdr, char *user, size_t user_len, char *pass, size_t pass_len)
{
	char dec[512];
	size_t o = 0, n;
	unsigned acc = 0;
	int bits = 0, rc = -1;
	const char *p, *colon;

	user[0] = pass[0] = '\0';
	if (strncasecmp(hdr, "Basic ", 6))
		return -1;
	for (p = hdr + 6; *p == ' '; p++)
		;
	for (; *p && *p != '='; p++) {
		int v = b64val(*p);

		if (v < 0)
			goto out;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= sizeof(dec))
				goto out;
			dec[o++] = (char)(acc >> bits & 0xff);
		}
	}
	while (*p == '=')
		p++;
	if (*p)
		goto out;
	dec[o] = '\0';
	if (memchr(dec, '\0', o))
		goto out;
	colon = strchr(dec, ':');
	if (!colon)
		goto out;
	n = (size_t)(colon - dec);
	if (n >= user_len || o - n - 1 >= pass_len)
		goto out;
	memcpy(user, dec, n);
	user[n] = '\0';
	memcpy(pass, colon + 1, o - n - 1);
	pass[o - n - 1] = '\0';
	rc = 0;
out:
	explicit_bzero(dec, sizeof(dec)); /* holds the password */
	return rc;
}

bool parse_origin_allowed(const char *origin, const char *host, bool tls,
			  const char *const *allowed, int n_allowed)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t sl = strlen(scheme);
	int i;

	if (!origin)
		return true;
	for (i = 0; i < n_allowed; i++)
		if (!strcasecmp(origin, allowed[i]))
			return true;
	return host && *host && !strncasecmp(origin, scheme, sl) && !strcasecmp(origin + sl, host);
}

/* The host part of a Host header or an origin's authority, without the
 * port, brackets and one trailing dot: [*start, *start + *n). Returns 0,
 * or -1 when malformed. */
static int host_part(const char *h, const char **start, size_t *n)
{
	const char *end, *port;

	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return -1;
		*start = h + 1;
		*n = (size_t)(end - h - 1);
		port = end + 1;
	} else {
		end = strchr(h, ':');
		if (!end)
			end = h + strlen(h);
		*start = h;
		*n = (size_t)(end - h);
		port = end;
	}
	if (*port == ':')
		for (port++; *port; port++)
			if (*port < '0' || *port > '9')
				return -1;
	if (*port)
		return -1;
	if (*n && (*start)[*n - 1] == '.')
		(*n)--;
	return *n && *n < 254 ? 0 : -1;
}

static bool host_is(const char *h, size_t n, const char *name)
{
	const char *s;
	size_t sn;

	if (!host_part(name, &s, &sn))
		return sn == n && !strncasecmp(h, s, n);
	return false;
}

bool parse_host_allowed(const char *host, const char *const *names, int n_names,
			const char *const *origins, int n_origins)
{
	unsigned char addr[16];
	char lit[64];
	const char *h;
	size_t n;
	int i;

	if (!host || host_part(host, &h, &n))
		return false;
	if (n < sizeof(lit)) {
		memcpy(lit, h, n);
		lit[n] = '\0';
		if (host[0] == '[' ? inet_pton(AF_INET6, lit, addr) == 1
				   : inet_pton(AF_INET, lit, addr) == 1)
			return true;
	}
	if (n == 9 && !strncasecmp(h, "localhost", 9))
		return true;
	for (i = 0; i < n_names; i++)
		if (host_is(h, n, names[i]))
			return true;
	for (i = 0; i < n_origins; i++) {
		const char *a = strstr(origins[i], "://");

		if (a && host_is(h, n, a + 3))
			return true;
	}
	return false;
}

bool parse_post_origin_ok(const char *origin, const char *sec_fetch_site, const char *host,
			  bool tls, const char *const *allowed, int n_allowed)
{
	if (origin && strcmp(origin, "null"))
		return parse_origin_allowed(origin, host, tls, allowed, n_allowed);
	/* "null": an opaque origin (a sandboxed frame, a data: URL) or our own
	 * login form under Referrer-Policy: no-referrer; only Sec-Fetch-Site
	 * tells them apart */
	if (origin)
		return sec_fetch_site && !strcasecmp(sec_fetch_site, "same-origin");
	return !sec_fetch_site || (strcasecmp(sec_fetch_site, "cross-site") &&
				   strcasecmp(sec_fetch_site, "same-site"));
}

int parse_users_line(char *line, struct users_line *out, const char **err)
{
	char *p, *f;
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
	memset(out, 0, sizeof(*out));
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (!*p || *p == '#')
		return 1;
	out->name = line;
	p = strchr(line, ':');
	if (!p) {
		*err = "expected name:hash";
		return -1;
	}
	*p++ = '\0';
	if (!parse_name_ok(out->name, strlen(out->name))) {
		*err = "invalid user name (1-128 bytes, no / + # : or control characters)";
		return -1;
	}
	out->hash = p;
	p = strchr(p, ':');
	if (p)
		*p++ = '\0';
	if (out->hash[0] != '$' || strlen(out->hash) < 8) {
		*err = "the password hash must be a salted crypt(3) hash ($6$..., $y$...)";
		return -1;
	}
	while (p) {
		f = p;
		p = strchr(p, ':');
		if (p)
			*p++ = '\0';
		if (!strcmp(f, "admin")) {
			out->admin = true;
		} else if (!strncmp(f, "share=", 6) && f[6]) {
			out->share = f + 6;
		} else {
			*err = "unknown field (expected admin or share=user,...)";
			return -1;
		}
	}
	return 0;
}

/* A whole number in [0, 2^40] (unix seconds or a row id). */
static int json_count(const cJSON *it, int64_t *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return -1;
	v = it->valuedouble;
	if (!(v >= 0 && v <= 1099511627776.0) || v != (double)(int64_t)v)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int parse_delete(const char *body, size_t len, struct delete_req *out, char *err, size_t errlen)
{
	const cJSON *dev, *id, *from, *to, *all;
	const char *slash;
	cJSON *doc;
	int forms, rc = -1;

	memset(out, 0, sizeof(*out));
	doc = utf8_valid(body, len) ? cJSON_ParseWithLength(body, len) : NULL;
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "body is not a JSON object");
		goto out;
	}
	dev = cJSON_GetObjectItemCaseSensitive(doc, "device");
	slash = cJSON_IsString(dev) ? strchr(dev->valuestring, '/') : NULL;
	if (!slash || !parse_name_ok(dev->valuestring, (size_t)(slash - dev->valuestring)) ||
	    !parse_name_ok(slash + 1, strlen(slash + 1))) {
		snprintf(err, errlen, "\"device\" must be \"user/device\"");
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	from = cJSON_GetObjectItemCaseSensitive(doc, "from");
	to = cJSON_GetObjectItemCaseSensitive(doc, "to");
	all = cJSON_GetObjectItemCaseSensitive(doc, "all");
	forms = (id != NULL) + (from || to) + (all != NULL);
	if (forms != 1 || (all && !cJSON_IsTrue(all)) ||
	    (id && (json_count(id, &out->id) || !out->id)) ||
	    ((from || to) &&
	     (json_count(from, &out->from) || json_count(to, &out->to) || out->from > out->to))) {
		snprintf(err, errlen,
			 "give one of \"id\", \"from\" and \"to\" (unix seconds, from <= to), or "
			 "\"all\": true");
		goto out;
	}
	out->all = all != NULL;
	memcpy(out->user, dev->valuestring, (size_t)(slash - dev->valuestring));
	memcpy(out->device, slash + 1, strlen(slash + 1) + 1);
	rc = 0;
out:
	if (rc)
		memset(out, 0, sizeof(*out));
	cJSON_Delete(doc);
	return rc;
}
