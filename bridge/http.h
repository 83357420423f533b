/* http: the bridge's dynamic HTTP endpoints and HTTP-mode reports.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Routes (static files are a separate lws file mount):
 *   GET  /api/locations/   history (api.c); with format= or thinning
 *                          parameters streamed in chunks (api_stream_*)
 *   GET  /api/config       the page's history defaults (api.c)
 *   GET  /api/devices/     devices with their last location (api.c)
 *   POST /api/locations/, POST /pub   OwnTracks HTTP mode (pub.c); the
 *                          answer holds the friends and queued commands
 *   POST /api/delete       deletes, through the plugin's control channel
 *   POST /api/command      {"device":"u/d","action":"reportLocation"}
 *   GET  /healthz, GET /metrics
 * Responses are built whole and written in one go from the request's own
 * callback, except streamed history answers (headers at once, then one
 * HTTP/1.1 chunk per WRITEABLE); HTTP-mode reports are answered from WRITEABLE once the broker
 * acknowledged them, with reading paused meanwhile.
 */
#ifndef MYTRACKS_BRIDGE_HTTP_H
#define MYTRACKS_BRIDGE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#define HTTP_PROTOCOL_NAME "mytracks-http"

/* Commands queued for HTTP-mode phones (POST /api/command), each handed
 * out once in the device's next reply to a report: at most HTTP_CMD_SLOTS
 * devices at a time (a new one takes the oldest slot), each kept for
 * HTTP_CMD_TTL seconds. In struct bridge, lws thread only. */
#define HTTP_CMD_SLOTS 64
#define HTTP_CMD_TTL (24 * 3600)
struct http_cmd {
	char user[129], device[129]; /* OT_NAME_MAX + 1 */
	int64_t queued;		     /* unix seconds; 0: a free slot */
};

struct bridge;

/* The lws callback of the HTTP protocol: routing, the API, HTTP-mode
 * reports, login and deletes. Returns what lws expects (0 go on, -1 close
 * the connection). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len);
/* Bytes of per-connection state lws allocates for http_callback. */
size_t http_session_size(void);

struct auth_ref;

/* With --users: the user of the request's session cookie, or NULL; fills
 * `ref` (may be NULL) with the session's reference. */
const struct auth_user *http_session_user(struct bridge *b, struct lws *wsi, struct auth_ref *ref);

/* Is the request's Host one this server answers to (parse_host_allowed()
 * with --server-name and --allowed-origin)? True without a Host header. */
bool http_host_ok(struct bridge *b, struct lws *wsi);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, for whichever protocol gets it:
 * `in` is the Upgrade token. An h2c upgrade is ignored (answered as
 * HTTP/1.1); a WebSocket upgrade ws_upgrade_ok() refuses is answered 403.
 * Returns the callback's value (0: go on, 1: answered, -1: close). */
int http_confirm_upgrade(struct bridge *b, struct lws *wsi, void *in);

/* The broker acknowledged `mid` (reason code `reason`): answer its report. */
void http_report_acked(struct bridge *b, int mid, int reason);
/* The plugin answered control request `n` (a delete): pass it on to
 * the waiting client (200 {"deleted":N}, or the plugin's status). */
void http_control_answered(struct bridge *b, int n, const char *answer, size_t len);
/* The broker went away: answer every waiting report with 503 (and every
 * waiting delete with 504). */
void http_reports_fail_all(struct bridge *b);
/* Answer 503 to reports waiting since before `now` - --pub-timeout. */
void http_reports_expire(struct bridge *b, int64_t now);

#endif
