/* parse: the bridge's parsing of untrusted request bytes, without lws.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Everything a client controls that the bridge takes apart itself: query
 * values, HTTP-mode bodies, cookies, login forms, Basic credentials,
 * Origin headers and users-file lines. No I/O and no libwebsockets, so
 * tests/fuzz/fuzz_bridge.c can call every function on arbitrary bytes.
 * Functions that fill an output buffer always NUL-terminate it.
 */
#ifndef MYTRACKS_BRIDGE_PARSE_H
#define MYTRACKS_BRIDGE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "export.h"
#include "ot.h"

/* A non-negative decimal integer up to `max`, digits only: 0, or -1. */
int parse_uint(const char *s, int64_t max, int64_t *out);

/* A history `device` value: "<id>" (positive) or "<user>/<device>". */
bool parse_device_spec(const char *s);

/* --- GET /api/locations/ arguments -------------------------------------
 *
 * Read and checked here, apart from lws and the database, so that both
 * ways of answering (a page of JSON: api_locations(); a streamed track or
 * export: api_stream_open()) take the same arguments the same way, and
 * the fuzz target reaches them. */
enum hist_arg {
	HA_SINCE_ID,
	HA_START, /* start_time: unix seconds or ISO-8601 */
	HA_END,	  /* end_time: the same */
	HA_LIMIT,
	HA_RESOLUTION, /* seconds */
	HA_MAX_POINTS,
	HA_MAX_ACC,   /* metres */
	HA_MAX_SPEED, /* km/h */
	HA_COUNT
};

/* The longest argument examined (name, '=' and value). */
#define HIST_ARG_MAX (2 * OT_NAME_MAX + 32)

struct hist_args {
	bool have[HA_COUNT];
	int64_t num[HA_COUNT]; /* 0 when absent; end_time INT64_MAX */
	bool have_format;      /* format= given (an export) */
	enum export_format fmt;
	bool have_device;
	char device[HIST_ARG_MAX]; /* an id or "user/device", checked */
};

/* How parse_hist_args() reads one argument: `name` includes the '='
 * ("limit="). Returns 1 with *val set (valid until the next call), 0 when
 * absent, -1 when an argument is too long to examine. */
typedef int (*query_get_fn)(void *ctx, const char *name, const char **val);

/* Read every argument through `get` and check each on its own: numbers
 * within their range, dates, the format, the device spec, start_time not
 * after end_time. Returns 0, or -1 with the message of a 400 response in
 * `err` (always NUL-terminated). Limits and combinations that depend on
 * the kind of answer are the caller's. */
int parse_hist_args(query_get_fn get, void *ctx, struct hist_args *a, char *err, size_t errlen);

/* Is it answered as a stream: an export (format=) or a track (resolution=,
 * max_points=, max_acc= or max_speed=)? */
bool hist_args_streamed(const struct hist_args *a);

/* Work out the topic for a report: user and device from the X-Limit-U /
 * X-Limit-D headers (NULL when absent), else from the body's "topic"
 * field; the body must be a JSON object. Returns 0 and fills `topic`, or
 * -1 with the reason in `err`. */
int parse_report_topic(const struct bridge_config *cfg, const char *body, size_t len,
		       const char *hdr_user, const char *hdr_device, char *topic, size_t topic_len,
		       char *err, size_t err_len);

/* Would the plugin store this HTTP-mode report? The body goes through
 * the plugin's own parser (core ot_parse(), timestamps up to
 * OT_DEFAULT_MAX_FUTURE_S ahead of `now`). Returns 0 (valid, or a known
 * type the plugin ignores without error), or -1 with the reason in `err`
 * (always NUL-terminated). */
int parse_report_check(const char *body, size_t len, int64_t now, char *err, size_t err_len);

/* The user level of a topic parse_report_topic() made ("<prefix>/<user>/<device>"),
 * copied to `out`. Returns 0, or -1 when it does not fit. */
int parse_topic_user(const char *topic, char *out, size_t out_len);

/* The client address to store: the socket peer, or, when the peer is a
 * trusted proxy, the right-most X-Forwarded-For entry that is not one. */
void parse_client_ip(const struct bridge_config *cfg, const char *peer, const char *xff, char *out,
		     size_t out_len);

/* The value of cookie `name` in a Cookie header. True when found and it
 * fits in `out`. */
bool parse_cookie(const char *hdr, const char *name, char *out, size_t out_len);

/* The URL-decoded value of `name` in an application/x-www-form-urlencoded
 * body. True when found, it fits, and it has no NUL. */
bool parse_form_field(const char *body, size_t len, const char *name, char *out, size_t out_len);

/* A login body: a form (user=..&password=..) or, when `json`, the object
 * {"user":"..","password":".."}. Returns 0, or -1. */
int parse_login(const char *body, size_t len, bool json, char *user, size_t user_len, char *pass,
		size_t pass_len);

/* "Basic <base64 of user:password>" from an Authorization header. Returns
 * 0, or -1 when malformed or too long. */
int parse_basic_auth(const char *hdr, char *user, size_t user_len, char *pass, size_t pass_len);

/* May a WebSocket upgrade with this Origin proceed? True when `origin` is
 * NULL (not a browser), equals http(s)://<host> for the request's Host
 * (scheme by `tls`), or is one of `allowed`. */
bool parse_origin_allowed(const char *origin, const char *host, bool tls,
			  const char *const *allowed, int n_allowed);

/* May a request with this Host header be served (DNS rebinding)? `host`
 * is "name[:port]" or "[v6-address][:port]"; the port is not compared.
 * True for an IP address literal (a browser sends one only when it
 * connected to that address: no name was resolved), for "localhost", for
 * one of `names` (--server-name) and for the host of one of `origins`
 * (--allowed-origin, "scheme://host[:port]"); names compare without case
 * and without one trailing dot. False for anything else, a malformed
 * Host, and a missing or empty one. */
bool parse_host_allowed(const char *host, const char *const *names, int n_names,
			const char *const *origins, int n_origins);

/* May a state-changing request (a POST) from a browser proceed (CSRF)?
 * With an Origin header: parse_origin_allowed() of it. With "Origin: null"
 * (sent by our own form under Referrer-Policy: no-referrer, and by opaque
 * origins): true only with Sec-Fetch-Site: same-origin. Without an Origin:
 * false when `sec_fetch_site` is "cross-site" or "same-site", else true
 * (not a browser, e.g. a phone). Either header may be NULL. */
bool parse_post_origin_ok(const char *origin, const char *sec_fetch_site, const char *host,
			  bool tls, const char *const *allowed, int n_allowed);

/* One line of a users file, split in place:
 *   name:crypt-hash[:admin][:share=user1,user2]
 * Blank lines and lines starting with '#' give 1 (skip). Returns 0 with
 * the fields (pointing into `line`; `share` is NULL or a comma list), 1 to
 * skip, or -1 with the reason in `err`. */
struct users_line {
	char *name, *hash, *share;
	bool admin;
};
/* Split one line of the users file in place (`name:hash[:admin][:share=a,b]`;
 * NUL bytes are written into `line`, which `out` then points into). 0 for a
 * user, 1 for a blank or comment line, -1 with `*err` (a static text) for a
 * line that does not parse. */
int parse_users_line(char *line, struct users_line *out, const char **err);

/* True for a user name the bridge accepts (the MQTT topic-level rules). */
bool parse_name_ok(const char *s, size_t n);

/* A delete asked of POST /api/delete: {"device":"user/device"} with one of
 * "id":N, "from":T1,"to":T2 (unix seconds, T1 <= T2) or "all":true. */
struct delete_req {
	char user[OT_NAME_MAX + 1], device[OT_NAME_MAX + 1];
	int64_t id, from, to;
	bool all;
};
/* Parse a delete body. 0, or -1 with `err` set and `out` zeroed. */
int parse_delete(const char *body, size_t len, struct delete_req *out, char *err, size_t errlen);

#endif
