/* api: the JSON endpoints' bodies (history, devices, health, metrics).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Each function appends the response body to `out` and returns the HTTP
 * status; errors have the body {"error":"..."}.
 */
#ifndef MYTRACKS_BRIDGE_API_H
#define MYTRACKS_BRIDGE_API_H

#include <libwebsockets.h>

#include "export.h"
#include "jbuf.h"
#include "track.h"

struct bridge;

/* Default and largest `limit` of GET /api/locations/. */
#define API_DEFAULT_LIMIT 100
#define API_MAX_LIMIT 1000

/* GET /api/locations/?device=&since_id=&start_time=&end_time=&limit=,
 * only of the users in `users_json` (a JSON array; NULL: everyone) */
unsigned api_locations(struct bridge *b, struct lws *wsi, const char *users_json, struct jbuf *out);
/* GET /api/devices/, only of the users in `users_json` */
unsigned api_devices(struct bridge *b, const char *users_json, struct jbuf *out);
/* GET /healthz: 200 while the broker connection is up, else 503. */
unsigned api_healthz(struct bridge *b, struct jbuf *out);

/* Find `name` (e.g. "limit=") among the URL-decoded query arguments.
 * Returns 1 with the value in *val (inside buf), 0 when absent, -1 when an
 * argument is too long to examine. */
int api_query_arg(struct lws *wsi, const char *name, char *buf, int len, const char **val);

/* --- history tracks and exports, streamed (issue 13) ---------------------
 *
 * GET /api/locations/ with format=gpx|geojson|csv (an export), or with
 * any of resolution=, max_points=, max_acc=, max_speed= (a track as JSON
 * with the distance and counts of the range) is streamed: http.c writes
 * the headers, then one api_stream_next() part per WRITEABLE. Rows come
 * one device at a time, in tst order, a page of API_STREAM_PAGE per part
 * (keyset by (device, tst)), so memory stays bounded for any range. */

/* Rows read per part. */
#define API_STREAM_PAGE 500
/* A JSON track's default and largest `limit` (points shown). */
#define API_TRACK_DEFAULT_LIMIT 5000
#define API_TRACK_MAX_LIMIT 50000
/* max_points the page asks for (told by /api/config). */
#define API_TRACK_MAX_POINTS 4000

enum api_stream_state { API_STREAM_BEGIN, API_STREAM_ROWS, API_STREAM_END, API_STREAM_DONE };

struct api_stream {
	bool json;		/* a JSON track, not an export */
	enum export_format fmt; /* an export's format */
	struct export ex;
	struct track_filter filter;
	struct track_state track; /* of the current device */
	enum api_stream_state state;
	bool one_device;    /* device= given */
	int64_t device_id;  /* the current device; 0: none (left) */
	int64_t start, end; /* tst range, inclusive */
	int64_t after;	    /* keyset: the last tst read of the current device */
	int64_t resolution; /* seconds, given or picked for max_points */
	char *users_json;   /* the viewer's visible users (owned copy); NULL: all */
	int limit;	    /* JSON: the most points shown */
	int64_t shown;	    /* JSON: points written */
	bool truncated;	    /* JSON: more than `limit` would have been shown */
	double distance_m;  /* totals of the finished devices */
	int64_t kept, dropped_acc, dropped_jump, thinned;
	char filename[200]; /* an export's Content-Disposition file name */
};

/* Is this GET /api/locations/ request streamed? Returns 0 when it is not
 * (answer it with api_locations()), 200 with `st` ready, or an error
 * status with the body in `out`. Free `st` with api_stream_free() in
 * every case. */
unsigned api_stream_open(struct bridge *b, struct lws *wsi, const char *users_json,
			 struct api_stream *st, struct jbuf *out);
/* The stream's media type. */
const char *api_stream_content_type(const struct api_stream *st);
/* Append the next part of the body (may be empty) to `out`. Returns 1 when
 * more follows, 0 when the body is complete, -1 when the database failed
 * (the response must be cut off: it cannot be completed). */
int api_stream_next(struct bridge *b, struct api_stream *st, struct jbuf *out);
/* Release what api_stream_open() allocated in `st` (the visible users);
 * `st` itself is the caller's. Safe to call twice. */
void api_stream_free(struct api_stream *st);

/* GET /api/config: the page's defaults (--hide-accuracy-over,
 * --hide-speed-over, max_points). */
unsigned api_config(struct bridge *b, struct jbuf *out);

/* {"error":<msg>} */
void api_error(struct jbuf *out, const char *msg);

#endif
