/* recorder: the OwnTracks Recorder's HTTP API (/api/0/) and /ws/last.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "recorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "bridge.h"
#include "export.h"
#include "http.h"
#include "isotime.h"
#include "log.h"
#include "ot.h"
#include "parse.h"
#include "recobj.h"
#include "utf8.h"

#ifndef MYTRACKS_VERSION
#define MYTRACKS_VERSION "0"
#endif

#define PREFIX "/api/0/"
/* Largest answer (like http.c's): narrow the range or use limit beyond. */
#define REC_MAX_RESPONSE (32u << 20)
/* Room for the status line and headers. */
#define REC_MAX_HEADERS 2048
/* Room for a query value: a name, a date, a fields list. */
#define REC_ARG_MAX 512
/* The Recorder's default range: the last six hours. */
#define REC_DEFAULT_RANGE (6 * 3600)

#define CT_JSON "application/json; charset=utf-8"

enum rec_format { F_JSON, F_CSV, F_GEOJSON, F_GPX, F_LINESTRING };

/* One request being answered. */
struct rec_req {
	struct bridge *b;
	struct lws *wsi;
	const char *cors; /* the request's Origin when it is an --allowed-origin */
	char origin[256];
	const char *users_json; /* visible users; NULL: all */
	struct jbuf out;
	/* /api/0/locations and /last */
	const char *fields;
	enum rec_format fmt;
	struct export ex;
	int64_t n;
	bool last; /* /last: card name and face too */
};

bool recorder_path(struct lws *wsi)
{
	static const enum lws_token_indexes toks[] = {WSI_TOKEN_GET_URI, WSI_TOKEN_POST_URI,
						      WSI_TOKEN_OPTIONS_URI};
	char uri[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
		n = lws_hdr_total_length(wsi, toks[i]);
		if (n <= 0)
			continue;
		/* a longer path is not one of ours: route() answers 414 */
		if (n >= (int)sizeof(uri) || lws_hdr_copy(wsi, uri, sizeof(uri), toks[i]) < 0)
			return false;
		return !strncmp(uri, PREFIX, sizeof(PREFIX) - 1) || !strcmp(uri, "/api/0");
	}
	return false;
}

/* --- answering ------------------------------------------------------------ */

static int add_hdr(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		   unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p,
					   end);
}

/* Write the status, headers and rq->out, and complete the transaction. */
static int respond(struct rec_req *rq, unsigned status, const char *ctype)
{
	struct lws *wsi = rq->wsi;
	size_t body = jbuf_len(&rq->out), hdr;
	unsigned char *buf, *start, *p, *end;
	int rc = -1;

	buf = malloc(LWS_PRE + REC_MAX_HEADERS + body);
	if (!buf)
		goto out;
	start = p = buf + LWS_PRE;
	end = start + REC_MAX_HEADERS - 1;
	if (lws_add_http_common_headers(wsi, status, ctype, body, &p, end) ||
	    add_hdr(wsi, "cache-control:", "no-store", &p, end))
		goto out;
	if (rq->cors && (add_hdr(wsi, "access-control-allow-origin:", rq->cors, &p, end) ||
			 add_hdr(wsi, "vary:", "Origin", &p, end) ||
			 add_hdr(wsi, "access-control-allow-credentials:", "true", &p, end)))
		goto out;
	if (rq->cors && lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0 &&
	    (add_hdr(wsi, "access-control-allow-methods:", "GET", &p, end) ||
	     add_hdr(wsi, "access-control-allow-headers:", "Authorization", &p, end) ||
	     add_hdr(wsi, "access-control-max-age:", "600", &p, end)))
		goto out;
	if (lws_finalize_http_header(wsi, &p, end))
		goto out;
	hdr = (size_t)(p - start);
	memcpy(p, jbuf_data(&rq->out), body);
	if (lws_write(wsi, start, hdr + body, LWS_WRITE_HTTP_FINAL) != (int)(hdr + body))
		goto out;
	rc = lws_http_transaction_completed(wsi) ? -1 : 0;
out:
	free(buf);
	jbuf_free(&rq->out);
	return rc;
}

static int fail(struct rec_req *rq, unsigned status, const char *msg)
{
	rq->b->metrics.api_errors++;
	api_error(&rq->out, msg);
	return respond(rq, status, CT_JSON);
}

static int unavailable(struct rec_req *rq)
{
	char err[192];

	rq->b->metrics.db_up = false;
	snprintf(err, sizeof(err), "database unavailable: %s", rq->b->db.error);
	return fail(rq, 503, err);
}

/* The request's Origin, when it is one of --allowed-origin. */
static void cors_origin(struct rec_req *rq)
{
	const struct bridge_config *c = rq->b->cfg;
	int i, n = lws_hdr_total_length(rq->wsi, WSI_TOKEN_ORIGIN);

	if (n <= 0 || n >= (int)sizeof(rq->origin) ||
	    lws_hdr_copy(rq->wsi, rq->origin, sizeof(rq->origin), WSI_TOKEN_ORIGIN) <= 0)
		return;
	for (i = 0; i < c->n_allowed_origins; i++)
		if (!strcasecmp(rq->origin, c->allowed_origins[i]))
			rq->cors = rq->origin;
}

/* With --users: the viewer from the session cookie, else from HTTP Basic
 * credentials (checked like HTTP mode's: under the failed-login limit,
 * verified passwords cached). Returns 0 with rq->users_json set, or the
 * status to refuse with. */
static unsigned authenticate(struct rec_req *rq, const char **why)
{
	struct bridge *b = rq->b;
	char hdr[1024], user[OT_NAME_MAX + 1] = "", pass[AUTH_PASSWORD_MAX + 1];
	char peer[64], xff[256], ip[64], esc[UTF8_LOG_LEN(OT_NAME_MAX)];
	const struct auth_user *u;
	int n = lws_hdr_total_length(rq->wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	int64_t now = (int64_t)lws_now_secs();
	bool log = false, cached = false, parsed;

	if (!b->auth_on)
		return 0;
	u = http_session_user(b, rq->wsi, NULL);
	if (!u && n > 0) {
		lws_get_peer_simple(rq->wsi, peer, sizeof(peer));
		if (lws_hdr_copy(rq->wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
			xff[0] = '\0';
		parse_client_ip(b->cfg, peer, xff[0] ? xff : NULL, ip, sizeof(ip));
		parsed =
			n < (int)sizeof(hdr) &&
			lws_hdr_copy(rq->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
			!parse_basic_auth(hdr, user, sizeof(user), pass, sizeof(pass));
		explicit_bzero(hdr, sizeof(hdr));
		if (!auth_limit_ok(&b->auth, ip, user, now, &log)) {
			explicit_bzero(pass, sizeof(pass));
			b->metrics.login_limited++;
			if (log)
				log_warn("recorder",
					 "too many failed logins from %s or for '%s': refusing "
					 "for up to %d s",
					 ip, utf8_log_str(esc, sizeof(esc), user),
					 AUTH_LIMIT_WINDOW);
			*why = "too many failed logins, try again later";
			return 429;
		}
		if (parsed)
			u = auth_check_basic(&b->auth, user, pass, now, &cached);
		explicit_bzero(pass, sizeof(pass));
		b->metrics.basic_cached += cached;
		if (!u) {
			auth_limit_fail(&b->auth, ip, user, now);
			b->metrics.login_failed++;
			log_info("recorder",
				 "API request from %s refused: wrong credentials for '%s'", ip,
				 utf8_log_str(esc, sizeof(esc), user));
		}
	}
	if (!u) {
		*why = "login required (a session cookie or HTTP Basic credentials)";
		return 401;
	}
	rq->users_json = u->admin ? NULL : u->sees_json;
	return 0;
}

/* --- the endpoints ---------------------------------------------------------- */

static int ep_list(struct rec_req *rq)
{
	char buf[REC_ARG_MAX];
	const char *user = NULL;
	enum db_result r;

	if (api_query_arg(rq->wsi, "user=", buf, sizeof(buf), &user) < 0)
		return fail(rq, 400, "query argument too long");
	jbuf_puts(&rq->out, "{\"results\":[");
	r = db_rec_names(&rq->b->db, user, rq->users_json, &rq->out);
	if (r == DB_NOMEM)
		return fail(rq, 500, "response too large");
	if (r != DB_OK)
		return unavailable(rq);
	jbuf_puts(&rq->out, "]}");
	return respond(rq, 200, CT_JSON);
}

static void rec_of_row(struct rec_req *rq, const struct db_rec_row *row, struct recobj_location *o)
{
	*o = (struct recobj_location){
		.prefix = rq->b->cfg->in_prefix,
		.user = row->d.user,
		.device = row->d.device,
		.loc = &row->loc,
		.received_at = row->d.received_at,
		.inregions = row->inregions,
		.poi = row->poi,
		.name = rq->last ? row->name : NULL,
		.face = rq->last ? row->face : NULL,
	};
}

/* One row of /last or /locations, in the request's format. */
static int row_cb(void *ctx, const struct db_rec_row *row)
{
	struct rec_req *rq = ctx;
	struct recobj_location o;
	char lat[32], lon[32];

	switch (rq->fmt) {
	case F_JSON:
		if (rq->n)
			jbuf_putc(&rq->out, ',');
		rec_of_row(rq, row, &o);
		recobj_location(&rq->out, &o, rq->fields);
		break;
	case F_LINESTRING:
		dataobj_fixed6(row->loc.lat, lat);
		dataobj_fixed6(row->loc.lon, lon);
		jbuf_printf(&rq->out, "%s[%s,%s]", rq->n ? "," : "", lon, lat);
		break;
	default:
		export_location(&rq->ex, &rq->out, &row->d);
		break;
	}
	rq->n++;
	return jbuf_failed(&rq->out);
}

static int ep_last(struct rec_req *rq)
{
	char ubuf[REC_ARG_MAX], dbuf[REC_ARG_MAX], fbuf[REC_ARG_MAX];
	const char *user = NULL, *device = NULL;
	enum db_result r;

	if (api_query_arg(rq->wsi, "user=", ubuf, sizeof(ubuf), &user) < 0 ||
	    api_query_arg(rq->wsi, "device=", dbuf, sizeof(dbuf), &device) < 0 ||
	    api_query_arg(rq->wsi, "fields=", fbuf, sizeof(fbuf), &rq->fields) < 0)
		return fail(rq, 400, "query argument too long");
	rq->last = true;
	jbuf_putc(&rq->out, '[');
	r = db_rec_last(&rq->b->db, user, device, rq->users_json, row_cb, rq);
	if (r != DB_OK)
		return unavailable(rq);
	jbuf_putc(&rq->out, ']');
	if (jbuf_failed(&rq->out))
		return fail(rq, 500, "response too large");
	return respond(rq, 200, CT_JSON);
}

static int parse_format(const char *s, enum rec_format *f)
{
	enum export_format ef;

	if (!strcmp(s, "json"))
		*f = F_JSON;
	else if (!strcmp(s, "linestring"))
		*f = F_LINESTRING;
	else if (!export_format_parse(s, &ef))
		*f = ef == EXPORT_GPX ? F_GPX : ef == EXPORT_CSV ? F_CSV : F_GEOJSON;
	else
		return -1;
	return 0;
}

static enum export_format export_of(enum rec_format f)
{
	return f == F_GPX ? EXPORT_GPX : f == F_CSV ? EXPORT_CSV : EXPORT_GEOJSON;
}

/* from/to in the Recorder's forms (core/isotime.h). Returns 0, 1 when
 * absent (`*t` untouched), or -1. */
static int time_arg(struct lws *wsi, const char *name, int64_t *t)
{
	char buf[REC_ARG_MAX];
	const char *v;
	int found = api_query_arg(wsi, name, buf, sizeof(buf), &v);

	if (found <= 0)
		return found ? -1 : 1;
	if (!*v)
		return 1; /* from= counts as not given, like the Recorder */
	return isotime_parse(v, t) ? -1 : 0;
}

static int ep_locations(struct rec_req *rq)
{
	char ubuf[REC_ARG_MAX], dbuf[REC_ARG_MAX], fbuf[REC_ARG_MAX], buf[REC_ARG_MAX];
	struct db_rec_query q = {0};
	const char *v = NULL;
	int64_t now = (int64_t)lws_now_secs();
	enum db_result r;

	q.to = now;
	q.from = now - REC_DEFAULT_RANGE;
	q.users_json = rq->users_json;
	if (api_query_arg(rq->wsi, "user=", ubuf, sizeof(ubuf), &q.user) < 0 ||
	    api_query_arg(rq->wsi, "device=", dbuf, sizeof(dbuf), &q.device) < 0 ||
	    api_query_arg(rq->wsi, "fields=", fbuf, sizeof(fbuf), &rq->fields) < 0)
		return fail(rq, 400, "query argument too long");
	if (!q.user || !q.device || !*q.user || !*q.device)
		return fail(rq, 416, "user and device are required");
	if (time_arg(rq->wsi, "from=", &q.from) < 0)
		return fail(rq, 400,
			    "from must be a date: YYYY-MM-DDTHH:MM:SS (UTC), shorter, "
			    "ISO-8601 or unix seconds");
	if (time_arg(rq->wsi, "to=", &q.to) < 0)
		return fail(rq, 400,
			    "to must be a date: YYYY-MM-DDTHH:MM:SS (UTC), shorter, "
			    "ISO-8601 or unix seconds");
	switch (api_query_arg(rq->wsi, "limit=", buf, sizeof(buf), &v)) {
	case -1:
		return fail(rq, 400, "query argument too long");
	case 1:
		if (parse_uint(v, INT32_MAX, &q.limit))
			return fail(rq, 400, "limit must be a non-negative integer");
		break;
	default:
		break;
	}
	switch (api_query_arg(rq->wsi, "format=", buf, sizeof(buf), &v)) {
	case -1:
		return fail(rq, 400, "query argument too long");
	case 1:
		if (parse_format(v, &rq->fmt))
			return fail(rq, 400,
				    "format must be json, csv, geojson, gpx or linestring");
		break;
	default:
		break;
	}

	if (rq->fmt == F_JSON)
		jbuf_puts(&rq->out, "{\"data\":[");
	else if (rq->fmt == F_LINESTRING)
		jbuf_puts(&rq->out, "{\"type\":\"LineString\",\"coordinates\":[");
	else
		export_begin(&rq->ex, export_of(rq->fmt), &rq->out);
	r = db_rec_locations(&rq->b->db, &q, row_cb, rq);
	if (r != DB_OK)
		return unavailable(rq);
	if (rq->fmt == F_JSON)
		jbuf_printf(&rq->out, "],\"count\":%lld,\"status\":200,\"version\":\"%s\"}",
			    (long long)rq->n, MYTRACKS_VERSION);
	else if (rq->fmt == F_LINESTRING)
		jbuf_puts(&rq->out, "]}");
	else
		export_end(&rq->ex, &rq->out);
	if (jbuf_failed(&rq->out))
		return fail(rq, 500, "response too large: narrow the range or set a limit");
	if (rq->fmt == F_JSON || rq->fmt == F_LINESTRING)
		return respond(rq, 200, CT_JSON);
	return respond(rq, 200, export_content_type(export_of(rq->fmt)));
}

static int ep_version(struct rec_req *rq)
{
	jbuf_puts(&rq->out,
		  "{\"version\":\"" MYTRACKS_VERSION "\",\"git\":\"" MYTRACKS_VERSION "\"}");
	return respond(rq, 200, CT_JSON);
}

int recorder_route(struct bridge *b, struct lws *wsi)
{
	struct rec_req rq = {.b = b, .wsi = wsi};
	char path[256];
	const char *why = NULL;
	unsigned st;
	int n;

	jbuf_init(&rq.out, 0, REC_MAX_RESPONSE);
	cors_origin(&rq);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0)
		return respond(&rq, 204, CT_JSON); /* a CORS preflight */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return fail(&rq, 405, "method not allowed: the Recorder API is GET only");
	n = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
	if (n >= (int)sizeof(path) || lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0)
		return fail(&rq, 404, "not found");
	if ((st = authenticate(&rq, &why)))
		return fail(&rq, st, why);
	if (!strcmp(path, PREFIX "list"))
		return ep_list(&rq);
	if (!strcmp(path, PREFIX "last"))
		return ep_last(&rq);
	if (!strcmp(path, PREFIX "locations"))
		return ep_locations(&rq);
	if (!strcmp(path, PREFIX "version"))
		return ep_version(&rq);
	return fail(&rq, 404, "not found");
}

/* --- /ws/last ------------------------------------------------------------- */

struct ws_last {
	struct rec_req rq;
	struct jbuf *out;
};

static int ws_last_cb(void *ctx, const struct db_rec_row *row)
{
	struct ws_last *w = ctx;
	struct recobj_location o;

	if (!strcmp(row->d.user, "ping") && !strcmp(row->d.device, "ping"))
		return 0;
	rec_of_row(&w->rq, row, &o);
	recobj_location(w->out, &o, NULL);
	jbuf_putc(w->out, '\n');
	return jbuf_failed(w->out);
}

int recorder_ws_last(struct bridge *b, const struct auth_user *viewer, struct jbuf *out)
{
	struct ws_last w = {.rq = {.b = b, .last = true}, .out = out};
	const char *users = viewer && !viewer->admin ? viewer->sees_json : NULL;

	if (db_rec_last(&b->db, NULL, NULL, users, ws_last_cb, &w) != DB_OK)
		return -1;
	return jbuf_failed(out) ? -1 : 0;
}

static int64_t num_or_none(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : OT_NONE;
}

static const char *str_or_null(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int ws_deg(const cJSON *o, const char *k, double *out)
{
	const char *s = str_or_null(o, k);
	char *end;

	if (!s)
		return -1;
	*out = strtod(s, &end);
	return end == s || *end ? -1 : 0;
}

bool recorder_committed(struct bridge *b, int64_t id, int64_t *known)
{
	int64_t max = 0;

	if (id <= *known)
		return true;
	if (db_rec_max_id(&b->db, &max) != DB_OK)
		return true;
	if (max > *known)
		*known = max;
	return id <= max;
}

int recorder_ws_location(struct bridge *b, const struct msg *m, struct jbuf *out, int64_t *id)
{
	static const char head[] = "{\"type\":\"location\",\"data\":";
	const char *frame = (const char *)m->buf + LWS_PRE, *user, *dn;
	struct ot_location loc = {0};
	struct recobj_location o = {0};
	cJSON *doc;
	int64_t rcv = OT_NONE;
	int rc = -1;

	if (m->len < sizeof(head) || memcmp(frame, head, sizeof(head) - 1))
		return -1;
	/* the data object, without the frame's closing brace */
	doc = cJSON_ParseWithLength(frame + sizeof(head) - 1, m->len - sizeof(head));
	if (!cJSON_IsObject(doc))
		goto out;
	user = str_or_null(doc, "user");
	dn = str_or_null(doc, "device_name");
	if (!user || !dn || strncmp(dn, user, strlen(user)) || dn[strlen(user)] != '/' ||
	    ws_deg(doc, "latitude", &loc.lat) || ws_deg(doc, "longitude", &loc.lon) ||
	    (loc.tst = num_or_none(doc, "timestamp_unix")) == OT_NONE ||
	    (*id = num_or_none(doc, "id")) == OT_NONE)
		goto out;
	loc.acc = num_or_none(doc, "accuracy");
	loc.alt = num_or_none(doc, "altitude");
	loc.vel = num_or_none(doc, "velocity");
	loc.batt = num_or_none(doc, "battery_level");
	loc.cog = num_or_none(doc, "course");
	loc.vac = num_or_none(doc, "vertical_accuracy");
	loc.bs = num_or_none(doc, "battery_status");
	loc.created_at = OT_NONE;
	loc.conn = str_or_null(doc, "connection_type");
	loc.tid = str_or_null(doc, "tid");
	loc.trigger = str_or_null(doc, "trigger");
	loc.ssid = str_or_null(doc, "ssid");
	loc.bssid = str_or_null(doc, "bssid");
	if (str_or_null(doc, "received_at") && isotime_parse(str_or_null(doc, "received_at"), &rcv))
		rcv = OT_NONE;
	o.prefix = b->cfg->in_prefix;
	o.user = user;
	o.device = dn + strlen(user) + 1;
	o.loc = &loc;
	o.received_at = rcv;
	o.name = str_or_null(doc, "display_name");
	recobj_location(out, &o, NULL);
	rc = jbuf_failed(out) ? -1 : 0;
out:
	cJSON_Delete(doc);
	return rc;
}
