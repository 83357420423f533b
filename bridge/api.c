/* api: the JSON endpoints' bodies (history, devices, health, metrics).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "db.h"
#include "ot.h"
#include "parse.h"

void api_error(struct jbuf *out, const char *msg)
{
	jbuf_reset(out);
	jbuf_puts(out, "{\"error\":");
	jbuf_json_cstr(out, msg);
	jbuf_putc(out, '}');
}

static unsigned fail(struct bridge *b, struct jbuf *out, unsigned status, const char *msg)
{
	b->metrics.api_errors++;
	api_error(out, msg);
	return status;
}

/* Find `name` (e.g. "limit=") among the URL-decoded query arguments.
 * Returns 1 with the value in *val (inside buf), 0 when absent, -1 when an
 * argument is too long to examine. */
int api_query_arg(struct lws *wsi, const char *name, char *buf, int len, const char **val)
{
	size_t nl = strlen(name);
	int i, n;

	for (i = 0; (n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i)) > 0; i++) {
		if (n >= len ||
		    lws_hdr_copy_fragment(wsi, buf, len, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			return -1;
		if (!strncmp(buf, name, nl)) {
			*val = buf + nl;
			return 1;
		}
	}
	return 0;
}

/* parse_hist_args() reading the request's arguments. */
struct lws_args {
	struct lws *wsi;
	char buf[HIST_ARG_MAX];
};

static int lws_args_get(void *ctx, const char *name, const char **val)
{
	struct lws_args *g = ctx;

	return api_query_arg(g->wsi, name, g->buf, sizeof(g->buf), val);
}

/* Read the request's history arguments: 0, or a 400 already in `out`. */
static unsigned read_hist_args(struct bridge *b, struct lws *wsi, struct hist_args *a,
			       struct jbuf *out)
{
	struct lws_args g = {.wsi = wsi};
	char err[192];

	if (parse_hist_args(lws_args_get, &g, a, err, sizeof(err)))
		return fail(b, out, 400, err);
	return 0;
}

unsigned api_locations(struct bridge *b, struct lws *wsi, const char *users_json, struct jbuf *out)
{
	struct db_loc_query q = {0};
	struct db_loc_page page;
	struct hist_args a;
	char err[192];
	enum db_result r;
	unsigned status;

	status = read_hist_args(b, wsi, &a, out);
	if (status)
		return status;
	if (!a.have[HA_LIMIT])
		a.num[HA_LIMIT] = API_DEFAULT_LIMIT;
	if (a.num[HA_LIMIT] < 1 || a.num[HA_LIMIT] > API_MAX_LIMIT) {
		snprintf(err, sizeof(err), "limit must be from 1 to %d", API_MAX_LIMIT);
		return fail(b, out, 400, err);
	}
	q.since_id = a.num[HA_SINCE_ID];
	q.start_time = a.num[HA_START];
	q.end_time = a.num[HA_END];
	q.limit = (int)a.num[HA_LIMIT];
	q.latest = !a.have[HA_SINCE_ID] && !a.have[HA_START] && !a.have[HA_END];
	q.users_json = users_json;
	if (a.have_device) {
		r = db_device_id(&b->db, a.device, users_json, &q.device_id);
		if (r == DB_NOT_FOUND)
			return fail(b, out, 404, "unknown device");
		if (r != DB_OK)
			goto unavailable;
	}

	jbuf_puts(out, "{\"results\":[");
	r = db_locations(&b->db, &q, out, &page);
	if (r == DB_NOMEM)
		return fail(b, out, 500, "response too large");
	if (r != DB_OK)
		goto unavailable;
	jbuf_printf(out, "],\"count\":%d,\"has_more\":%s,\"next_since_id\":", page.count,
		    page.has_more ? "true" : "false");
	if (page.count)
		jbuf_int(out, page.last_id);
	else if (a.have[HA_SINCE_ID])
		jbuf_int(out, q.since_id);
	else
		jbuf_puts(out, "null");
	jbuf_putc(out, '}');
	return jbuf_failed(out) ? fail(b, out, 500, "response too large") : 200;
unavailable:
	b->metrics.db_up = false;
	snprintf(err, sizeof(err), "database unavailable: %s", b->db.error);
	return fail(b, out, 503, err);
}

unsigned api_devices(struct bridge *b, const char *users_json, struct jbuf *out)
{
	char err[192];
	enum db_result r;

	jbuf_puts(out, "{\"results\":[");
	r = db_devices(&b->db, users_json, out);
	if (r == DB_NOMEM)
		return fail(b, out, 500, "response too large");
	if (r != DB_OK) {
		b->metrics.db_up = false;
		snprintf(err, sizeof(err), "database unavailable: %s", b->db.error);
		return fail(b, out, 503, err);
	}
	jbuf_puts(out, "]}");
	return jbuf_failed(out) ? fail(b, out, 500, "response too large") : 200;
}

unsigned api_healthz(struct bridge *b, struct jbuf *out)
{
	bool db_ok = db_ready(&b->db);

	b->metrics.db_up = db_ok;
	jbuf_printf(out,
		    "{\"status\":\"%s\",\"broker\":\"%s\",\"database\":\"%s\","
		    "\"ws_clients\":%llu,\"server_startup\":%lld}",
		    b->broker_up ? "ok" : "unavailable",
		    b->broker_up ? "connected" : "disconnected", db_ok ? "ok" : "unavailable",
		    (unsigned long long)b->metrics.ws_clients, (long long)b->startup);
	return b->broker_up ? 200 : 503;
}

/* --- history tracks and exports, streamed (issue 13) -------------------- */

static void stream_device(struct api_stream *st, int64_t id)
{
	st->device_id = id;
	st->after = st->start - 1;
	track_start(&st->track);
}

/* The device's track is complete: add it to the totals. */
static void stream_device_done(struct api_stream *st)
{
	st->distance_m += st->track.distance_m;
	st->kept += st->track.kept;
	st->dropped_acc += st->track.dropped_acc;
	st->dropped_jump += st->track.dropped_jump;
	st->thinned += st->track.thinned;
}

struct stream_row_ctx {
	struct api_stream *st;
	struct jbuf *out;
};

static void stream_row_cb(void *ctx, const struct dataobj_location *d)
{
	struct stream_row_ctx *c = ctx;
	struct api_stream *st = c->st;

	st->after = d->loc->tst;
	if (track_step(&st->filter, &st->track, d->loc) != TRACK_KEEP)
		return;
	if (!st->json) {
		export_location(&st->ex, c->out, d);
		return;
	}
	if (st->shown >= st->limit) {
		st->truncated = true; /* still walked for the distance and counts */
		return;
	}
	if (st->shown++)
		jbuf_putc(c->out, ',');
	dataobj_location(c->out, d);
}

/* With max_points: a resolution (seconds) that leaves about that many
 * fixes over the range, from each device's count and time span. */
static enum db_result stream_pick_resolution(struct bridge *b, struct api_stream *st,
					     int64_t max_points, int64_t *res)
{
	int64_t id = st->device_id, count, first, last, total = 0, span = 0;
	enum db_result r;

	*res = 0;
	while (id) {
		r = db_track_span(&b->db, id, st->start, st->end, &count, &first, &last);
		if (r != DB_OK)
			return r;
		total += count;
		if (count)
			span += last - first;
		if (st->one_device)
			break;
		r = db_next_device(&b->db, id, st->users_json, &id);
		if (r == DB_NOT_FOUND)
			break;
		if (r != DB_OK)
			return r;
	}
	if (total > max_points)
		*res = (span + max_points - 1) / max_points;
	return DB_OK;
}

/* "mytracks-<device>-<from>-<to>.<ext>", with only [A-Za-z0-9._-]. */
static void stream_filename(struct api_stream *st, const char *spec, bool have_start, bool have_end)
{
	char dev[65], from[32], to[32];
	size_t i;

	snprintf(dev, sizeof(dev), "%.64s", spec ? spec : "all");
	for (i = 0; dev[i]; i++) {
		char c = dev[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_'))
			dev[i] = '-';
	}
	if (have_start)
		dataobj_iso8601(st->start, from);
	else
		snprintf(from, sizeof(from), "begin");
	if (have_end)
		dataobj_iso8601(st->end, to);
	else
		snprintf(to, sizeof(to), "now");
	from[10] = to[10] = '\0'; /* the dates */
	snprintf(st->filename, sizeof(st->filename), "mytracks-%s-%s-%s.%s", dev, from, to,
		 export_extension(st->fmt));
}

unsigned api_stream_open(struct bridge *b, struct lws *wsi, const char *users_json,
			 struct api_stream *st, struct jbuf *out)
{
	struct hist_args a;
	char err[192];
	enum db_result r;
	unsigned status;

	memset(st, 0, sizeof(*st));
	status = read_hist_args(b, wsi, &a, out);
	if (status)
		return status;
	/* anything else is a page of the plain history API, left to it */
	if (!hist_args_streamed(&a))
		return 0;
	if (a.have[HA_SINCE_ID])
		return fail(b, out, 400,
			    "since_id does not go with format or thinning: use start_time");
	st->json = !a.have_format;
	st->fmt = a.fmt;
	st->start = a.num[HA_START];
	st->end = a.num[HA_END];
	st->limit = a.have[HA_LIMIT] ? (int)a.num[HA_LIMIT] : API_TRACK_DEFAULT_LIMIT;
	if (st->limit < 1 || st->limit > API_TRACK_MAX_LIMIT) {
		snprintf(err, sizeof(err), "limit must be from 1 to %d", API_TRACK_MAX_LIMIT);
		return fail(b, out, 400, err);
	}
	st->filter.max_acc = a.num[HA_MAX_ACC];
	st->filter.max_speed_kmh = (double)a.num[HA_MAX_SPEED];
	if (a.have[HA_MAX_POINTS] && a.num[HA_MAX_POINTS] < 1)
		return fail(b, out, 400, "max_points must be at least 1");
	if (users_json) {
		st->users_json = strdup(users_json);
		if (!st->users_json)
			return fail(b, out, 500, "out of memory");
	}

	if (a.have_device) {
		r = db_device_id(&b->db, a.device, users_json, &st->device_id);
		if (r == DB_NOT_FOUND)
			return fail(b, out, 404, "unknown device");
		if (r != DB_OK)
			goto unavailable;
		st->one_device = true;
	} else {
		r = db_next_device(&b->db, 0, st->users_json, &st->device_id);
		if (r != DB_OK && r != DB_NOT_FOUND)
			goto unavailable;
	}
	st->resolution = a.num[HA_RESOLUTION];
	if (a.have[HA_MAX_POINTS] && st->device_id) {
		int64_t res;

		r = stream_pick_resolution(b, st, a.num[HA_MAX_POINTS], &res);
		if (r != DB_OK)
			goto unavailable;
		if (res > st->resolution)
			st->resolution = res;
	}
	st->filter.resolution = st->resolution;
	if (st->device_id)
		stream_device(st, st->device_id);
	if (!st->json)
		stream_filename(st, a.have_device ? a.device : NULL, a.have[HA_START],
				a.have[HA_END]);
	return 200;
unavailable:
	b->metrics.db_up = false;
	snprintf(err, sizeof(err), "database unavailable: %s", b->db.error);
	return fail(b, out, 503, err);
}

const char *api_stream_content_type(const struct api_stream *st)
{
	return st->json ? "application/json" : export_content_type(st->fmt);
}

/* The JSON track's closing part: totals for the whole range. */
static void stream_json_end(struct api_stream *st, struct jbuf *out)
{
	jbuf_printf(out,
		    "],\"count\":%lld,\"distance_m\":%.1f,\"kept\":%lld,\"dropped_accuracy\":%lld,"
		    "\"dropped_jump\":%lld,\"thinned\":%lld,\"resolution\":%lld,\"truncated\":%s}",
		    (long long)st->shown, st->distance_m, (long long)st->kept,
		    (long long)st->dropped_acc, (long long)st->dropped_jump, (long long)st->thinned,
		    (long long)st->resolution, st->truncated ? "true" : "false");
}

int api_stream_next(struct bridge *b, struct api_stream *st, struct jbuf *out)
{
	struct stream_row_ctx ctx = {st, out};
	enum db_result r;
	int n;

	switch (st->state) {
	case API_STREAM_BEGIN:
		if (st->json)
			jbuf_puts(out, "{\"results\":[");
		else
			export_begin(&st->ex, st->fmt, out);
		st->state = st->device_id ? API_STREAM_ROWS : API_STREAM_END;
		return 1;
	case API_STREAM_ROWS:
		r = db_track_page(&b->db, st->device_id, st->after, st->end, API_STREAM_PAGE,
				  stream_row_cb, &ctx, &n);
		if (r != DB_OK)
			goto failed;
		if (n == API_STREAM_PAGE)
			return 1;
		stream_device_done(st);
		if (st->one_device) {
			st->state = API_STREAM_END;
			return 1;
		}
		r = db_next_device(&b->db, st->device_id, st->users_json, &st->device_id);
		if (r == DB_NOT_FOUND)
			st->state = API_STREAM_END;
		else if (r == DB_OK)
			stream_device(st, st->device_id);
		else
			goto failed;
		return 1;
	case API_STREAM_END:
		if (st->json)
			stream_json_end(st, out);
		else
			export_end(&st->ex, out);
		st->state = API_STREAM_DONE;
		return 0;
	case API_STREAM_DONE:
		break;
	}
	return 0;
failed:
	b->metrics.db_up = false;
	b->metrics.api_errors++;
	return -1;
}

void api_stream_free(struct api_stream *st)
{
	free(st->users_json);
	st->users_json = NULL;
}

unsigned api_config(struct bridge *b, struct jbuf *out)
{
	jbuf_printf(out, "{\"hide_accuracy_over\":%d,\"hide_speed_over\":%d,\"max_points\":%d",
		    b->cfg->hide_accuracy_over, b->cfg->hide_speed_over, API_TRACK_MAX_POINTS);
	/* the map's tiles (--tile-url, --tile-attribution) */
	jbuf_puts(out, ",\"tile_url\":");
	jbuf_json_cstr(out, b->cfg->tile_url);
	jbuf_puts(out, ",\"tile_attribution\":");
	jbuf_json_cstr(out, b->cfg->tile_attribution);
	jbuf_putc(out, '}');
	return jbuf_failed(out) ? fail(b, out, 500, "response too large") : 200;
}
