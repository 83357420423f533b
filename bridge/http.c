/* http: the bridge's dynamic HTTP endpoints and HTTP-mode reports.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "http.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "bridge.h"
#include "log.h"
#include "mqtt.h"
#include "ot.h"
#include "otcrypto.h"
#include "parse.h"
#include "recorder.h"
#include "utf8.h"
#include "ws.h"

/* Largest response body (a page of 1000 locations is under 1 MiB). */
#define HTTP_MAX_RESPONSE (32u << 20)
/* A declared body this much over --max-body closes the connection at once. */
#define HTTP_ABSURD_BODY (64u << 20)

/* Room for the status line and headers before a body. */
#define HTTP_MAX_HEADERS 1024

#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct http_session {
	struct pub_pending pending; /* first: container_of from pub.c lists */
	struct lws *wsi;
	struct jbuf in;	 /* the POST body */
	struct jbuf out; /* the response body, after LWS_PRE headroom */
	unsigned status;
	const char *ctype;
	bool replying; /* a deferred answer is ready for WRITEABLE */
	bool too_large;
	bool in_body;	 /* between a report's headers and its body's end */
	bool login;	 /* the body is a login (POST /login), not a report */
	bool login_json; /* ...sent as JSON rather than a form */
	bool del;	 /* the body is a delete (POST /api/delete) */
	/* who asked for the delete (copied: a reload may free the user) */
	char viewer[OT_NAME_MAX + 1];
	bool viewer_admin;
	const char *location;		  /* a redirect's target */
	char cookie[AUTH_SETCOOKIE_MAX];  /* a Set-Cookie value to send */
	bool www_auth;			  /* a 401 asking for Basic credentials */
	char basic_user[OT_NAME_MAX + 1]; /* HTTP mode: who sent the report */
	size_t declared, got;		  /* Content-Length, and body bytes seen */
	char user[OT_NAME_MAX + 1], device[OT_NAME_MAX + 1];
	bool have_user, have_device;
	char ip[64];
	/* an unfinished body: on b->bodies, holding `reserved` bytes of
	 * --max-body-memory until `deadline` (lws_now_secs) */
	struct lws_dll2 body_list;
	size_t reserved;
	int64_t deadline;
	bool limited;	    /* HTTP mode: too many failed credential checks (429) */
	bool encrypt_reply; /* HTTP mode: the report decrypted; answer encrypted */
	bool cmd;	    /* the body is a command (POST /api/command) */
	/* HTTP mode with --users: the reporter's visible users (JSON, owned),
	 * or all of them (an admin) */
	char *sees;
	bool sees_all;
	char rep_user[OT_NAME_MAX + 1], rep_device[OT_NAME_MAX + 1]; /* the report's topic */
	struct api_stream *stream; /* a streamed history response, or NULL */
	bool stream_plain;	   /* ...to an HTTP/1.0 client: no chunks, ends by closing */
	bool stream_closing;	   /* ...complete: close once lws sent the rest */
};

size_t http_session_size(void)
{
	return sizeof(struct http_session);
}

/* --- transport limits: body deadline and memory budget ------------------ */

/* Log at most TRANSPORT_LOG_BURST refusals per TRANSPORT_LOG_PERIOD seconds,
 * then say how many were not logged. */
#define TRANSPORT_LOG_BURST 5
#define TRANSPORT_LOG_PERIOD 10

static bool transport_log_ok(struct bridge *b)
{
	struct transport_ratelimit *rl = &b->transport_rl;
	int64_t now = (int64_t)lws_now_secs();

	if (now - rl->window_start >= TRANSPORT_LOG_PERIOD) {
		if (rl->suppressed)
			log_warn("http", "%u more refused or timed-out requests not logged",
				 rl->suppressed);
		rl->window_start = now;
		rl->lines = rl->suppressed = 0;
	}
	if (rl->lines >= TRANSPORT_LOG_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->lines++;
	return true;
}

/* Admit a body of `declared` bytes: reserve what it will hold in memory
 * (--max-body-memory for all unfinished bodies together; a body over
 * --max-body is discarded as it comes and reserves nothing) and start its
 * --request-timeout deadline. Returns 0, or -1 when the budget is spent
 * (the caller answers 503). */
static int body_admit(struct bridge *b, struct http_session *s, size_t declared)
{
	size_t reserve = declared;

	if (declared > b->cfg->max_body) {
		s->too_large = true; /* read and discarded, never buffered */
		reserve = 0;
	}

	if (reserve > b->cfg->body_memory - b->body_bytes)
		return -1;
	b->body_bytes += reserve;
	s->reserved = reserve;
	s->deadline = (int64_t)lws_now_secs() + b->cfg->request_timeout;
	lws_dll2_add_tail(&s->body_list, &b->bodies);
	return 0;
}

/* The body is complete, or the request is gone: give its bytes back. */
static void body_release(struct bridge *b, struct http_session *s)
{
	if (!lws_dll2_is_detached(&s->body_list))
		lws_dll2_remove(&s->body_list);
	b->body_bytes -= s->reserved;
	s->reserved = 0;
}

static void stream_clear(struct http_session *s);

static void session_clear(struct bridge *b, struct http_session *s)
{
	stream_clear(s);
	body_release(b, s);
	pub_forget(&b->pub, &s->pending);
	pub_forget(&b->ctl, &s->pending);
	jbuf_free(&s->in);
	jbuf_free(&s->out);
	free(s->sees);
	memset(s, 0, sizeof(*s));
}

static void session_start(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	session_clear(b, s);
	s->wsi = wsi;
	jbuf_init(&s->in, 0, b->cfg->max_body);
	jbuf_init(&s->out, LWS_PRE, HTTP_MAX_RESPONSE);
}

/* Write headers and body in one lws_write (lws keeps what the socket does
 * not take yet) and, if `complete`, finish the transaction. Returns the
 * callback's value. */
static int write_response(struct bridge *b, struct http_session *s, struct lws *wsi, bool complete)
{
	size_t body = jbuf_len(&s->out), hdr;
	unsigned char *buf, *start, *p, *end;
	int rc = -1;

	buf = malloc(LWS_PRE + HTTP_MAX_HEADERS + body);
	if (!buf)
		return -1;
	start = p = buf + LWS_PRE;
	end = start + HTTP_MAX_HEADERS - 1;
	if (lws_add_http_common_headers(wsi, s->status, s->ctype, body, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    (s->location && lws_add_http_header_by_name(wsi, (const unsigned char *)"location:",
							(const unsigned char *)s->location,
							(int)strlen(s->location), &p, end)) ||
	    (s->cookie[0] && lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
							 (const unsigned char *)s->cookie,
							 (int)strlen(s->cookie), &p, end)) ||
	    (s->www_auth &&
	     lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
					 (const unsigned char *)"Basic realm=\"mytracks\"", 22, &p,
					 end)) ||
	    lws_finalize_http_header(wsi, &p, end))
		goto out;
	hdr = (size_t)(p - start);
	memcpy(p, jbuf_data(&s->out), body);
	if (lws_write(wsi, start, hdr + body, LWS_WRITE_HTTP_FINAL) != (int)(hdr + body))
		goto out;
	rc = 0;
out:
	free(buf);
	session_clear(b, s);
	s->wsi = wsi;
	if (rc)
		return -1;
	if (!complete)
		return 0;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int send_response(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	return write_response(b, s, wsi, true);
}

/* Answer now, from the request's own callback, with the body in s->out.
 * (Answering later would let lws parse a pipelined request meanwhile.) */
static int reply_now(struct bridge *b, struct http_session *s, unsigned status, const char *ctype)
{
	s->status = status;
	s->ctype = ctype;
	return send_response(b, s, s->wsi);
}

static int reply_error(struct bridge *b, struct http_session *s, unsigned status, const char *msg)
{
	api_error(&s->out, msg);
	return reply_now(b, s, status, CT_JSON);
}

/* Answer and close the connection: after a bad report body. (lws 4.1
 * hands a POST pipelined behind another request its own header bytes as
 * body, and spins on the real body left in its buffer if the connection is
 * kept.) */
static int reply_error_close(struct bridge *b, struct http_session *s, unsigned status,
			     const char *msg)
{
	api_error(&s->out, msg);
	s->status = status;
	s->ctype = CT_JSON;
	write_response(b, s, s->wsi, false);
	return -1;
}

/* Answer a waiting report from another callback: write when WRITEABLE. */
static void reply_later(struct http_session *s, unsigned status, const char *msg)
{
	if (msg)
		api_error(&s->out, msg);
	else
		jbuf_puts(&s->out, "[]");
	s->status = status;
	s->ctype = CT_JSON;
	s->replying = true;
	lws_callback_on_writable(s->wsi);
}

/* --- streamed history responses (issue 13) ----------------------------- */

/* Room before a part for its chunk-size line ("%zx\r\n"). */
#define STREAM_CHUNK_HEAD 16

static void stream_clear(struct http_session *s)
{
	if (!s->stream)
		return;
	api_stream_free(s->stream);
	free(s->stream);
	s->stream = NULL;
}

/* Headers of a streamed response: no Content-Length, the body goes out in
 * HTTP/1.1 chunks, so the connection stays usable and a client can tell a
 * complete body from one cut off. An HTTP/1.0 client (lws answers it with
 * an "HTTP/1.0" status line) gets the body as it is, ended by closing. */
static int stream_headers(struct http_session *s, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + HTTP_MAX_HEADERS], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = start + HTTP_MAX_HEADERS - 1;
	const char *ct = api_stream_content_type(s->stream);
	char disp[256];

	if (lws_add_http_header_status(wsi, 200, &p, end))
		return -1;
	s->stream_plain = p - start >= 8 && !memcmp(start, "HTTP/1.0", 8);
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)ct, (int)strlen(ct), &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    (s->stream_plain
		     ? lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
						   (const unsigned char *)"close", 5, &p, end)
		     : lws_add_http_header_by_name(wsi, (const unsigned char *)"transfer-encoding:",
						   (const unsigned char *)"chunked", 7, &p, end)))
		return -1;
	if (s->stream->filename[0]) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", s->stream->filename);
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-disposition:",
						(const unsigned char *)disp, (int)strlen(disp), &p,
						end))
			return -1;
	}
	if (lws_finalize_http_header(wsi, &p, end))
		return -1;
	return lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) ==
			       (int)(p - start)
		       ? 0
		       : -1;
}

/* GET /api/locations/ hook: start a streamed response if the request is
 * one (api_stream_open()). Returns 1 when it is not (answer as usual),
 * else the callback's value. */
static int stream_begin(struct bridge *b, struct http_session *s, struct lws *wsi,
			const char *users)
{
	unsigned status;

	s->stream = calloc(1, sizeof(*s->stream));
	if (!s->stream)
		return reply_error(b, s, 500, "out of memory");
	status = api_stream_open(b, wsi, users, s->stream, &s->out);
	if (status != 200) {
		stream_clear(s);
		return status ? reply_now(b, s, status, CT_JSON) : 1;
	}
	/* each part goes out with its chunk-size line in front */
	jbuf_free(&s->out);
	jbuf_init(&s->out, LWS_PRE + STREAM_CHUNK_HEAD, HTTP_MAX_RESPONSE);
	if (stream_headers(s, wsi))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* WRITEABLE: the next part as one chunk (the last one followed by the
 * empty chunk). A database failure cuts the body off without the empty
 * chunk and closes, so the client sees an incomplete response. */
static int stream_write(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	char head[STREAM_CHUNK_HEAD];
	unsigned char *p;
	size_t len, hl;
	int more;

	if (s->stream_closing)
		return -1; /* HTTP/1.0: everything is sent, the close ends the body */
	jbuf_reset(&s->out);
	more = api_stream_next(b, s->stream, &s->out);
	if (more < 0 || jbuf_failed(&s->out)) {
		log_warn("http", "history stream cut off: %s",
			 more < 0 ? b->db.error : "a part too large");
		return -1;
	}
	len = jbuf_len(&s->out);
	if (!len && !more && s->stream_plain) {
		s->stream_closing = true; /* nothing left to write: close next */
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!len && more) {
		lws_callback_on_writable(wsi); /* nothing shown from this page */
		return 0;
	}
	if (len && !s->stream_plain)
		jbuf_puts(&s->out, "\r\n");
	if (!more && !s->stream_plain)
		jbuf_puts(&s->out, "0\r\n\r\n");
	if (jbuf_failed(&s->out))
		return -1;
	hl = len && !s->stream_plain ? (size_t)snprintf(head, sizeof(head), "%zx\r\n", len) : 0;
	p = (unsigned char *)jbuf_data(&s->out) - hl;
	memcpy(p, head, hl);
	len = hl + jbuf_len(&s->out);
	if (lws_write(wsi, p, len, more ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) != (int)len)
		return -1;
	if (more || s->stream_plain) {
		s->stream_closing = !more;
		lws_callback_on_writable(wsi);
		return 0;
	}
	session_clear(b, s);
	s->wsi = wsi;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* --- OwnTracks HTTP mode ------------------------------------------------ */

static bool custom_header(struct lws *wsi, const char *name, char *out, size_t out_len)
{
	int nl = (int)strlen(name), n = lws_hdr_custom_length(wsi, name, nl);

	if (n <= 0 || (size_t)n >= out_len)
		return false;
	return lws_hdr_custom_copy(wsi, out, (int)out_len, name, nl) > 0;
}

/* With --users, an HTTP-mode report needs the Basic credentials of a user
 * in the file (kept in s->basic_user), checked under the failed-login
 * limit (s->limited when over it). Returns 0, or -1 when refused. */
static int report_auth(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	char hdr[1024], pass[AUTH_PASSWORD_MAX + 1], esc[UTF8_LOG_LEN(OT_NAME_MAX)];
	const struct auth_user *u = NULL;
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	int64_t now = (int64_t)lws_now_secs();
	bool parsed = false, log = false, cached = false;

	if (n > 0 && n < (int)sizeof(hdr) &&
	    lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
	    !parse_basic_auth(hdr, s->basic_user, sizeof(s->basic_user), pass, sizeof(pass)))
		parsed = true;
	if (n > 0 && !auth_limit_ok(&b->auth, s->ip, s->basic_user, now, &log)) {
		s->limited = true;
		b->metrics.login_limited++;
		if (log)
			log_warn("http",
				 "too many failed logins from %s or for '%s': refusing for "
				 "up to %d s",
				 s->ip, utf8_log_str(esc, sizeof(esc), s->basic_user),
				 AUTH_LIMIT_WINDOW);
	} else if (parsed) {
		u = auth_check_basic(&b->auth, s->basic_user, pass, now, &cached);
	}
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(hdr, sizeof(hdr));
	b->metrics.basic_cached += cached;
	if (u) {
		/* whose devices the reply's friends are (copied: a reload may
		 * free the user before the broker acknowledges) */
		s->sees_all = u->admin;
		s->sees = u->admin || !u->sees_json ? NULL : strdup(u->sees_json);
		return 0;
	}
	if (s->limited)
		return -1;
	if (n > 0) {
		auth_limit_fail(&b->auth, s->ip, s->basic_user, now);
		b->metrics.login_failed++;
	}
	log_info("http", "report from %s refused: %s '%s'", s->ip,
		 n > 0 ? "wrong user name or password for" : "no credentials",
		 utf8_log_str(esc, sizeof(esc), s->basic_user));
	return -1;
}

/* The Recorder's form, POST /pub?u=USER&d=DEVICE: the query names the
 * user and device where X-Limit-U / X-Limit-D do not (the headers win). A
 * value that does not fit is left out (parse_report_topic() then says what is
 * missing); parse_report_topic() checks the names either way. */
static void report_query_names(struct http_session *s, struct lws *wsi)
{
	char buf[OT_NAME_MAX + 3]; /* "u=" + a name + NUL */
	int i, n;

	for (i = 0; (n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i)) > 0; i++) {
		bool u, d;

		if (n >= (int)sizeof(buf) ||
		    lws_hdr_copy_fragment(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			continue;
		u = !strncmp(buf, "u=", 2);
		d = !strncmp(buf, "d=", 2);
		if (u && !s->have_user && buf[2]) {
			memcpy(s->user, buf + 2, strlen(buf + 2) + 1);
			s->have_user = true;
		} else if (d && !s->have_device && buf[2]) {
			memcpy(s->device, buf + 2, strlen(buf + 2) + 1);
			s->have_device = true;
		}
	}
}

static void reply_friends(struct bridge *b, struct http_session *s, const char *user,
			  const char *device);

/* A zero-length report (the apps send them, e.g. to fetch friends and
 * commands): nothing to publish; 200 with the friends and commands of the
 * user and device the headers (or /pub?u=&d=) name, [] without them,
 * unless the credentials are wrong (iOS shows an alert for any 4xx, and a
 * 2xx is all the phone needs). */
static int report_empty(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	const char *user;
	if (s->limited) {
		b->metrics.reports_invalid++;
		s->www_auth = false;
		return reply_error(b, s, 429, "too many failed logins, try again later");
	}
	if (s->www_auth) {
		b->metrics.reports_invalid++;
		return reply_error(b, s, 401, "HTTP Basic credentials of a user required");
	}
	s->have_user = custom_header(wsi, "x-limit-u:", s->user, sizeof(s->user));
	s->have_device = custom_header(wsi, "x-limit-d:", s->device, sizeof(s->device));
	report_query_names(s, wsi);
	user = b->auth_on ? s->basic_user : s->have_user ? s->user : NULL;
	if (!user || !ot_name_ok(user, strlen(user))) {
		jbuf_puts(&s->out, "[]");
		return reply_now(b, s, 200, CT_JSON);
	}
	reply_friends(b, s, user,
		      s->have_device && ot_name_ok(s->device, strlen(s->device)) ? s->device
										 : NULL);
	return 0;
}

/* Payload encryption (--keys, docs/security.md "Payload encryption"): an
 * encrypted report of a user/device with a key is decrypted into `plain`
 * so that the plaintext is what parse_report_topic() and parse_report_check()
 * look at; the ciphertext is what gets published (the plugin decrypts it
 * with the same keys file, like an MQTT phone's). Returns the result:
 * OTCRYPTO_PLAIN and OTCRYPTO_DECRYPTED go on as usual; OTCRYPTO_NO_KEY
 * and OTCRYPTO_AUTH_FAILED are published unchecked and kept (a key added
 * later recovers them); the others are refused (`err` says why: no key
 * could ever open them). */
static enum otcrypto_result report_decrypt(struct bridge *b, struct http_session *s,
					   struct jbuf *plain, char *err, size_t err_len)
{
	size_t len = jbuf_len(&s->in), n = 0;
	enum otcrypto_result r;
	char *out;

	/* the plaintext is shorter than the payload (otcrypto.h) */
	jbuf_init(plain, 0, len + 1);
	out = malloc(len + 1);
	if (!out)
		return OTCRYPTO_NO_ROOM;
	r = otcrypto_decrypt(b->keys, s->have_user ? s->user : NULL,
			     s->have_device ? s->device : NULL, jbuf_data(&s->in), len, out,
			     len + 1, &n, err, err_len);
	if (r == OTCRYPTO_DECRYPTED) {
		jbuf_append(plain, out, n);
		b->metrics.reports_decrypted++;
		s->encrypt_reply = true;
	}
	explicit_bzero(out, len + 1);
	free(out);
	return r;
}

/* Log a report kept undecrypted, at most TRANSPORT_LOG_BURST lines per
 * TRANSPORT_LOG_PERIOD seconds (the count is in the metrics). */
static void report_log_undecryptable(struct bridge *b, struct http_session *s,
				     enum otcrypto_result r)
{
	struct transport_ratelimit *rl = &b->crypto_rl;
	char esc_u[UTF8_LOG_LEN(OT_NAME_MAX)], esc_d[UTF8_LOG_LEN(OT_NAME_MAX)];
	int64_t now = (int64_t)lws_now_secs();

	if (now - rl->window_start >= TRANSPORT_LOG_PERIOD) {
		if (rl->suppressed)
			log_warn("http", "%u more encrypted reports kept undecrypted, not logged",
				 rl->suppressed);
		rl->window_start = now;
		rl->lines = rl->suppressed = 0;
	}
	if (rl->lines >= TRANSPORT_LOG_BURST) {
		rl->suppressed++;
		return;
	}
	rl->lines++;
	log_warn("http",
		 "encrypted report from %s for %s/%s kept undecrypted (%s): %s; published as "
		 "sent, a key added to --keys later recovers it",
		 s->ip, utf8_log_str(esc_u, sizeof(esc_u), s->have_user ? s->user : NULL),
		 utf8_log_str(esc_d, sizeof(esc_d), s->have_device ? s->device : NULL),
		 otcrypto_result_name(r),
		 r == OTCRYPTO_NO_KEY ? "no key for this user or device"
				      : "wrong key or altered data");
}

/* The 200 answer to an acknowledged report: the JSON array `arr`, as it
 * is to a phone that sent plaintext, and as one {"_type":"encrypted"}
 * object holding the whole array to a phone whose report decrypted (what
 * the Recorder sends, and what both apps take). */
static void reply_report_ok(struct bridge *b, struct http_session *s, const char *arr, size_t len)
{
	jbuf_reset(&s->out);
	if (!s->encrypt_reply ||
	    otcrypto_encrypt(b->keys, s->have_user ? s->user : NULL,
			     s->have_device ? s->device : NULL, arr, len, &s->out)) {
		jbuf_reset(&s->out);
		jbuf_append(&s->out, arr, len);
	}
	s->status = 200;
	s->ctype = CT_JSON;
	s->replying = true;
	lws_callback_on_writable(s->wsi);
}

static int report_begin(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	char cl[32], peer[64], xff[256];
	long long declared;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
		xff[0] = '\0';
	parse_client_ip(b->cfg, peer, xff[0] ? xff : NULL, s->ip, sizeof(s->ip));
	/* refused after the body was read, so the client sees the answer */
	if (b->auth_on && !s->login && !s->del && !s->cmd && report_auth(b, s, wsi))
		s->www_auth = true;
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		b->metrics.reports_invalid++;
		return reply_error(b, s, 411, "a Content-Length is required");
	}
	declared = strtoll(cl, NULL, 10);
	if (declared == 0 && !s->login && !s->del && !s->cmd)
		return report_empty(b, s, wsi);
	if (declared <= 0) {
		b->metrics.reports_invalid++;
		return reply_error(b, s, 400, "empty body");
	}
	if (declared > (long long)HTTP_ABSURD_BODY)
		return -1;
	if (body_admit(b, s, (size_t)declared)) {
		b->metrics.http_shed++;
		if (transport_log_ok(b))
			log_warn("http",
				 "request from %s refused: unfinished bodies hold "
				 "--max-body-memory (%zu bytes)",
				 s->ip, b->cfg->body_memory);
		return reply_error_close(b, s, 503, "server busy, try again later");
	}
	s->declared = (size_t)declared;
	s->in_body = true;
	s->have_user = custom_header(wsi, "x-limit-u:", s->user, sizeof(s->user));
	s->have_device = custom_header(wsi, "x-limit-d:", s->device, sizeof(s->device));
	report_query_names(s, wsi);
	return 0; /* the body follows */
}

static int report_body(struct bridge *b, struct http_session *s, const void *in, size_t len)
{
	/* a total deadline: lws's own time-out restarts with every chunk */
	if ((int64_t)lws_now_secs() >= s->deadline) {
		b->metrics.http_timeouts++;
		if (transport_log_ok(b))
			log_info("http", "request from %s: body not complete within %d s", s->ip,
				 b->cfg->request_timeout);
		return reply_error_close(b, s, 408, "request body too slow");
	}
	/* lws 4.1 may hand over bytes of a pipelined request after the body */
	if (len > s->declared - s->got)
		len = s->declared - s->got;
	s->got += len;
	if (s->too_large)
		return 0;
	jbuf_append(&s->in, in, len);
	if (jbuf_failed(&s->in)) {
		s->too_large = true;
		jbuf_free(&s->in);
	}
	return 0;
}

static int report_submit(struct bridge *b, struct http_session *s)
{
	char topic[2 * OT_NAME_MAX + 80], err[128];
	struct jbuf plain, *check;
	enum otcrypto_result cr;
	int mid = 0;

	if (s->too_large) {
		b->metrics.reports_invalid++;
		return reply_error_close(b, s, 413, "body too large");
	}
	if (s->got < s->declared) {
		b->metrics.reports_invalid++;
		return reply_error_close(b, s, 400, "body shorter than its Content-Length");
	}
	if (s->limited) {
		b->metrics.reports_invalid++;
		s->www_auth = false;
		return reply_error_close(b, s, 429, "too many failed logins, try again later");
	}
	if (s->www_auth) {
		b->metrics.reports_invalid++;
		return reply_error_close(b, s, 401, "HTTP Basic credentials of a user required");
	}
	cr = report_decrypt(b, s, &plain, err, sizeof(err));
	check = cr == OTCRYPTO_DECRYPTED ? &plain : &s->in;
	if ((cr != OTCRYPTO_PLAIN && cr != OTCRYPTO_DECRYPTED && cr != OTCRYPTO_NO_KEY &&
	     cr != OTCRYPTO_AUTH_FAILED) ||
	    parse_report_topic(b->cfg, jbuf_data(check), jbuf_len(check),
			       s->have_user ? s->user : NULL, s->have_device ? s->device : NULL,
			       topic, sizeof(topic), err, sizeof(err)) ||
	    (!otcrypto_failed(cr) &&
	     parse_report_check(jbuf_data(check), jbuf_len(check), (int64_t)lws_now_secs(), err,
				sizeof(err)))) {
		char esc[UTF8_LOG_LEN(sizeof(err))];

		jbuf_free(&plain);
		b->metrics.reports_invalid++;
		log_debug("http", "report from %s refused: %s", s->ip,
			  utf8_log_str(esc, sizeof(esc), err));
		return reply_error_close(b, s, 400, err);
	}
	jbuf_free(&plain);
	if (otcrypto_failed(cr)) {
		b->metrics.reports_undecryptable++;
		report_log_undecryptable(b, s, cr);
	}
	if (b->auth_on) {
		char user[OT_NAME_MAX + 1], esc_u[UTF8_LOG_LEN(OT_NAME_MAX)],
			esc_t[UTF8_LOG_LEN(sizeof(topic))];

		if (parse_topic_user(topic, user, sizeof(user)) || strcmp(user, s->basic_user)) {
			b->metrics.reports_invalid++;
			log_info("http", "report from %s refused: user %s may not publish on %s",
				 s->ip, utf8_log_str(esc_u, sizeof(esc_u), s->basic_user),
				 utf8_log_str(esc_t, sizeof(esc_t), topic));
			return reply_error(b, s, 403, "you may only report as your own user");
		}
	}
	{
		struct ot_topic t;

		if (ot_topic_parse(topic, b->cfg->in_prefix, &t, NULL, 0) == OT_OK) {
			memcpy(s->rep_user, t.user, sizeof(s->rep_user));
			memcpy(s->rep_device, t.device, sizeof(s->rep_device));
		}
	}
	if (!b->broker_up || b->pub.pending.count >= PUB_MAX_PENDING)
		goto unavailable;
	switch (mqtt_publish_report(b->mqtt, topic, jbuf_data(&s->in), jbuf_len(&s->in), s->ip,
				    &mid)) {
	case MQTT_PUB_OK:
		break;
	default:
		goto unavailable;
	}
	pub_wait(&b->pub, &s->pending, mid, (int64_t)lws_now_secs() + b->cfg->pub_timeout);
	jbuf_free(&s->in);
	{
		char esc[UTF8_LOG_LEN(sizeof(topic))];

		log_debug("http", "report from %s published on %s (mid %d)", s->ip,
			  utf8_log_str(esc, sizeof(esc), topic), mid);
	}
	return 0;
unavailable:
	b->metrics.reports_unavailable++;
	return reply_error(b, s, 503, "broker unavailable, try again later");
}

/* --- HTTP mode: friends and commands in the reply ------------------------ */

/* Devices whose card and location one reply carries at most. */
#define HTTP_FRIENDS_MAX 250

static const char cmd_report_location[] = "{\"_type\":\"cmd\",\"action\":\"reportLocation\"}";

/* Queue reportLocation for user/device's next HTTP-mode reply: its own
 * slot again, else a free or expired one, else the oldest. */
static void cmd_queue(struct bridge *b, const char *user, const char *device, int64_t now)
{
	struct http_cmd *slot = NULL;
	int i;

	for (i = 0; i < HTTP_CMD_SLOTS; i++) {
		struct http_cmd *c = &b->cmds[i];

		if (c->queued && now - c->queued >= HTTP_CMD_TTL)
			c->queued = 0;
		if (c->queued && !strcmp(c->user, user) && !strcmp(c->device, device)) {
			slot = c;
			break;
		}
		if (!slot || c->queued < slot->queued)
			slot = c;
	}
	snprintf(slot->user, sizeof(slot->user), "%s", user);
	snprintf(slot->device, sizeof(slot->device), "%s", device);
	slot->queued = now;
}

/* Take user/device's queued command (delivered once). True if there was
 * one, not expired. */
static bool cmd_take(struct bridge *b, const char *user, const char *device, int64_t now)
{
	int i;

	for (i = 0; i < HTTP_CMD_SLOTS; i++) {
		struct http_cmd *c = &b->cmds[i];

		if (c->queued && !strcmp(c->user, user) && !strcmp(c->device, device)) {
			bool live = now - c->queued < HTTP_CMD_TTL;

			c->queued = 0;
			return live;
		}
	}
	return false;
}

/* Answer a report of user/device (NULL: not known) with 200 and the JSON
 * array the apps read: the friends the reporting user may see (their
 * cards and last locations, kept by friends.c) and the device's queued
 * command. No friends when the database is unavailable: the report itself
 * was stored, and that is what the phone must hear. */
static void reply_friends(struct bridge *b, struct http_session *s, const char *user,
			  const char *device)
{
	const char *users = b->auth_on && !s->sees_all ? s->sees : NULL;
	struct jbuf arr;
	int items = 0;

	jbuf_init(&arr, 0, HTTP_MAX_RESPONSE / 2);
	jbuf_putc(&arr, '[');
	if (user && (!b->auth_on || s->sees_all || s->sees) &&
	    friends_reply(&b->friends, &b->db, users, user, device, HTTP_FRIENDS_MAX,
			  (int64_t)lws_now_secs(), &arr, &items)) {
		jbuf_reset(&arr);
		jbuf_putc(&arr, '[');
		items = 0;
	}
	if (user && device && cmd_take(b, user, device, (int64_t)lws_now_secs())) {
		if (items++)
			jbuf_putc(&arr, ',');
		jbuf_puts(&arr, cmd_report_location);
	}
	jbuf_putc(&arr, ']');
	if (jbuf_failed(&arr))
		reply_report_ok(b, s, "[]", 2);
	else
		reply_report_ok(b, s, jbuf_data(&arr), jbuf_len(&arr));
	jbuf_free(&arr);
}

/* POST /api/command's body: {"device":"user/device","action":"reportLocation"}.
 * Returns 0 with the names copied, or -1 with `err`. */
static int command_parse(const char *body, size_t len, char *user, char *device, char *err,
			 size_t errlen)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const char *dev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "device"));
	const char *action = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "action"));
	const char *slash = dev ? strchr(dev, '/') : NULL;
	int rc = -1;

	if (!cJSON_IsObject(doc))
		snprintf(err, errlen, "send a JSON object");
	else if (!action || strcmp(action, "reportLocation"))
		snprintf(err, errlen, "action: only \"reportLocation\" is supported");
	else if (!slash || !ot_name_ok(dev, (size_t)(slash - dev)) ||
		 !ot_name_ok(slash + 1, strlen(slash + 1)))
		snprintf(err, errlen, "device: expected \"user/device\"");
	else {
		memcpy(user, dev, (size_t)(slash - dev));
		user[slash - dev] = '\0';
		memcpy(device, slash + 1, strlen(slash + 1) + 1);
		rc = 0;
	}
	cJSON_Delete(doc);
	return rc;
}

/* POST /api/command, body complete: publish the command on the device's
 * <prefix>/<user>/<device>/cmd (QoS 1, not retained) for an MQTT phone,
 * queue it for an HTTP-mode phone's next reply, and answer once the
 * broker acknowledged the publish (command_acked). */
static int command_submit(struct bridge *b, struct http_session *s)
{
	char err[160], user[OT_NAME_MAX + 1], device[OT_NAME_MAX + 1];
	char spec[2 * OT_NAME_MAX + 2], topic[2 * OT_NAME_MAX + 80];
	int64_t devid, now = (int64_t)lws_now_secs();
	int mid = 0;

	if (s->too_large || s->got < s->declared)
		return reply_error_close(b, s, s->too_large ? 413 : 400, "bad command body");
	if (command_parse(jbuf_data(&s->in), jbuf_len(&s->in), user, device, err, sizeof(err)))
		return reply_error(b, s, 400, err);
	jbuf_free(&s->in);
	if (b->auth_on && !s->viewer_admin && strcmp(s->viewer, user))
		return reply_error(b, s, 403,
				   "only the device's owner or an admin may send it commands");
	snprintf(spec, sizeof(spec), "%s/%s", user, device);
	switch (db_device_id(&b->db, spec, NULL, &devid)) {
	case DB_OK:
		break;
	case DB_NOT_FOUND:
		return reply_error(b, s, 404, "no such device");
	default:
		return reply_error(b, s, 503, "database unavailable, try again later");
	}
	if (!b->broker_up || b->pub.pending.count >= PUB_MAX_PENDING)
		return reply_error(b, s, 503, "broker unavailable, try again later");
	snprintf(topic, sizeof(topic), "%s/%s/%s/cmd", b->cfg->in_prefix, user, device);
	if (mqtt_publish_report(b->mqtt, topic, cmd_report_location,
				sizeof(cmd_report_location) - 1, s->ip, &mid) != MQTT_PUB_OK)
		return reply_error(b, s, 503, "broker unavailable, try again later");
	cmd_queue(b, user, device, now);
	pub_wait(&b->pub, &s->pending, mid, now + b->cfg->pub_timeout);
	{
		char esc[UTF8_LOG_LEN(sizeof(spec))];

		log_info("http", "%s asked %s to report its location (mid %d)",
			 s->viewer[0] ? s->viewer : s->ip, utf8_log_str(esc, sizeof(esc), spec),
			 mid);
	}
	return 0;
}

/* The broker acknowledged a command's publish. */
static void command_acked(struct http_session *s, int reason)
{
	if (reason >= 0x80) {
		reply_later(s, 503, "the broker refused the command");
		return;
	}
	jbuf_reset(&s->out);
	jbuf_puts(&s->out, "{\"sent\":true}");
	s->status = 200;
	s->ctype = CT_JSON;
	s->replying = true;
	lws_callback_on_writable(s->wsi);
}

void http_report_acked(struct bridge *b, int mid, int reason)
{
	struct pub_pending *p = pub_take(&b->pub, mid);
	struct http_session *s;
	char err[96];

	if (!p)
		return; /* the client went away, or we gave up already */
	s = lws_container_of(p, struct http_session, pending);
	if (s->cmd) {
		command_acked(s, reason);
		return;
	}
	if (reason < 0x80) {
		b->metrics.reports_accepted++;
		reply_friends(b, s, s->rep_user[0] ? s->rep_user : NULL,
			      s->rep_device[0] ? s->rep_device : NULL);
		return;
	}
	b->metrics.reports_invalid++;
	snprintf(err, sizeof(err), "the broker refused the report (reason 0x%02x)", reason);
	reply_later(s, reason == 0x87 ? 403 : 503, err);
}

static void fail_pending(struct bridge *b, bool all, int64_t now)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&b->pub.pending))
	{
		struct pub_pending *p = lws_container_of(d, struct pub_pending, list);
		struct http_session *s = lws_container_of(p, struct http_session, pending);

		if (all || p->deadline <= now) {
			pub_forget(&b->pub, p);
			b->metrics.reports_unavailable++;
			reply_later(s, 503,
				    "broker did not acknowledge the report, try again later");
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

static void fail_control(struct bridge *b, bool all, int64_t now);

void http_reports_fail_all(struct bridge *b)
{
	fail_pending(b, true, 0);
	fail_control(b, true, 0);
}

void http_reports_expire(struct bridge *b, int64_t now)
{
	fail_pending(b, false, now);
	fail_control(b, false, now);
}

/* --- deletes, through the plugin's control channel (docs/control.md) ---- */

/* POST /api/delete, body complete: check it, ask the plugin, wait for its
 * answer (http_control_answered) until --pub-timeout. */
static int delete_submit(struct bridge *b, struct http_session *s)
{
	struct delete_req rq;
	char err[160], spec[2 * OT_NAME_MAX + 2];
	struct jbuf req;
	int64_t devid;
	int n;

	if (s->too_large || s->got < s->declared)
		return reply_error_close(b, s, s->too_large ? 413 : 400, "bad delete body");
	if (parse_delete(jbuf_data(&s->in), jbuf_len(&s->in), &rq, err, sizeof(err)))
		return reply_error(b, s, 400, err);
	jbuf_free(&s->in);
	/* a user deletes their own devices; an admin anybody's */
	if (b->auth_on && !s->viewer_admin && strcmp(s->viewer, rq.user))
		return reply_error(b, s, 403, "only the device's owner or an admin may delete");
	snprintf(spec, sizeof(spec), "%s/%s", rq.user, rq.device);
	switch (db_device_id(&b->db, spec, NULL, &devid)) {
	case DB_OK:
		break;
	case DB_NOT_FOUND:
		return reply_error(b, s, 404, "no such device");
	default:
		return reply_error(b, s, 503, "database unavailable, try again later");
	}
	if (!b->broker_up || b->ctl.pending.count >= PUB_MAX_PENDING)
		return reply_error(b, s, 503, "broker unavailable, try again later");
	jbuf_init(&req, 0, 1024);
	jbuf_puts(&req, "{\"op\":\"delete\",\"user\":");
	jbuf_json_cstr(&req, rq.user);
	jbuf_puts(&req, ",\"device\":");
	jbuf_json_cstr(&req, rq.device);
	if (rq.all)
		jbuf_puts(&req, ",\"all\":true}");
	else if (rq.id)
		jbuf_printf(&req, ",\"id\":%" PRId64 "}", rq.id);
	else
		jbuf_printf(&req, ",\"from\":%" PRId64 ",\"to\":%" PRId64 "}", rq.from, rq.to);
	n = ++b->ctl_seq > 0 ? b->ctl_seq : (b->ctl_seq = 1);
	if (jbuf_failed(&req) ||
	    mqtt_control_request(b->mqtt, n, jbuf_data(&req), jbuf_len(&req)) != MQTT_PUB_OK) {
		jbuf_free(&req);
		return reply_error(b, s, 503, "broker unavailable, try again later");
	}
	jbuf_free(&req);
	pub_wait(&b->ctl, &s->pending, n, (int64_t)lws_now_secs() + b->cfg->pub_timeout);
	{
		char esc[UTF8_LOG_LEN(sizeof(spec))];

		log_info("http", "%s asked to delete %s of %s (request %d)",
			 s->viewer[0] ? s->viewer : s->ip,
			 rq.all	 ? "everything"
			 : rq.id ? "a fix"
				 : "a range",
			 utf8_log_str(esc, sizeof(esc), spec), n);
	}
	return 0;
}

void http_control_answered(struct bridge *b, int n, const char *answer, size_t len)
{
	struct pub_pending *p = pub_take(&b->ctl, n);
	struct http_session *s;
	cJSON *doc, *st, *del;

	if (!p)
		return; /* the client went away, or we gave up already */
	s = lws_container_of(p, struct http_session, pending);
	doc = cJSON_ParseWithLength(answer, len);
	del = cJSON_GetObjectItemCaseSensitive(doc, "deleted");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "ok")) && cJSON_IsNumber(del)) {
		b->metrics.deletes++;
		/* committed: the next friends are read again, even before the
		 * plugin's "deleted" message (published after this answer) is in */
		friends_invalidate(&b->friends);
		jbuf_printf(&s->out, "{\"deleted\":%.0f}", del->valuedouble);
		s->status = 200;
		s->ctype = CT_JSON;
		s->replying = true;
		lws_callback_on_writable(s->wsi);
	} else {
		const char *e =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "error"));

		st = cJSON_GetObjectItemCaseSensitive(doc, "status");
		reply_later(s,
			    cJSON_IsNumber(st) && st->valuedouble >= 400 && st->valuedouble < 600
				    ? (unsigned)st->valuedouble
				    : 502,
			    e ? e : "the plugin refused the request");
	}
	cJSON_Delete(doc);
}

static void fail_control(struct bridge *b, bool all, int64_t now)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&b->ctl.pending))
	{
		struct pub_pending *p = lws_container_of(d, struct pub_pending, list);
		struct http_session *s = lws_container_of(p, struct http_session, pending);

		if (all || p->deadline <= now) {
			pub_forget(&b->ctl, p);
			reply_later(s, 504,
				    "the plugin did not answer; the delete may still happen");
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

/* --- login (with --users) ----------------------------------------------- */

/* The session token in the request's Cookie header: the one place it is
 * read. False when there is none (or the header does not fit). */
static bool session_token(struct lws *wsi, char tok[AUTH_COOKIE_VALUE_MAX + 1])
{
	char hdr[4096];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);

	return n > 0 && n < (int)sizeof(hdr) &&
	       lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) > 0 &&
	       parse_cookie(hdr, AUTH_COOKIE, tok, AUTH_COOKIE_VALUE_MAX + 1);
}

const struct auth_user *http_session_user(struct bridge *b, struct lws *wsi, struct auth_ref *ref)
{
	char tok[AUTH_COOKIE_VALUE_MAX + 1];

	if (!b->auth_on || !session_token(wsi, tok))
		return NULL;
	return auth_session_user(&b->auth, tok, (int64_t)lws_now_secs(), ref);
}

static int reply_redirect(struct bridge *b, struct http_session *s, unsigned status,
			  const char *location)
{
	jbuf_reset(&s->out);
	s->location = location;
	return reply_now(b, s, status, "text/plain; charset=utf-8");
}

/* Serve a file of the web root (a page: index.html or login.html). */
static int serve_page(struct bridge *b, struct lws *wsi, const char *name)
{
	char file[4096];
	int n;

	snprintf(file, sizeof(file), "%s/%s", b->cfg->web_root, name);
	n = lws_serve_http_file(wsi, file, "text/html; charset=utf-8", NULL, 0);
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

static int login_submit(struct bridge *b, struct http_session *s)
{
	char user[OT_NAME_MAX + 1], pass[AUTH_PASSWORD_MAX + 1], tok[AUTH_COOKIE_VALUE_MAX + 1];
	char esc[UTF8_LOG_LEN(OT_NAME_MAX)];
	const struct auth_user *u = NULL;
	int64_t now = (int64_t)lws_now_secs();
	bool log = false;
	int bad;

	if (s->too_large || s->got < s->declared)
		return reply_error_close(b, s, s->too_large ? 413 : 400, "bad login body");
	bad = parse_login(jbuf_data(&s->in), jbuf_len(&s->in), s->login_json, user, sizeof(user),
			  pass, sizeof(pass));
	explicit_bzero((char *)jbuf_data(&s->in), jbuf_len(&s->in));
	jbuf_free(&s->in);
	if (!auth_limit_ok(&b->auth, s->ip, user, now, &log)) {
		explicit_bzero(pass, sizeof(pass));
		b->metrics.login_limited++;
		if (log)
			log_warn("http",
				 "too many failed logins from %s or for '%s': refusing for "
				 "up to %d s",
				 s->ip, utf8_log_str(esc, sizeof(esc), user), AUTH_LIMIT_WINDOW);
		return reply_error(b, s, 429, "too many failed logins, try again later");
	}
	if (bad) {
		/* no crypt(3) for what cannot be a password of ours */
		auth_limit_fail(&b->auth, s->ip, "", now);
		b->metrics.login_failed++;
		log_info("http", "login refused from %s: malformed, or a field too long", s->ip);
		return reply_error(b, s, 400,
				   "send user and password (the user up to 128 bytes, the "
				   "password up to 256)");
	}
	u = auth_check_password(&b->auth, user, pass);
	explicit_bzero(pass, sizeof(pass));
	if (!u) {
		auth_limit_fail(&b->auth, s->ip, user, now);
		b->metrics.login_failed++;
		log_info("http", "login failed for '%s' from %s",
			 utf8_log_str(esc, sizeof(esc), user), s->ip);
		if (s->login_json)
			return reply_error(b, s, 401, "wrong user name or password");
		return reply_redirect(b, s, 303, "/login?failed=1");
	}
	if (auth_session_start(&b->auth, u, now, tok, sizeof(tok)))
		return reply_error(b, s, 503, "no random bytes for a session, try again");
	ws_close_ended_sessions(b); /* the one it may have evicted */
	snprintf(s->cookie, sizeof(s->cookie),
		 AUTH_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", tok,
		 b->auth.ttl, b->cfg->tls_cert ? "; Secure" : "");
	explicit_bzero(tok, sizeof(tok));
	log_info("http", "user %s logged in from %s", utf8_log_str(esc, sizeof(esc), u->name),
		 s->ip);
	if (!s->login_json)
		return reply_redirect(b, s, 303, "/");
	jbuf_puts(&s->out, "{\"user\":");
	jbuf_json_cstr(&s->out, u->name);
	jbuf_printf(&s->out, ",\"admin\":%s}", u->admin ? "true" : "false");
	return reply_now(b, s, 200, CT_JSON);
}

static int logout(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	char tok[AUTH_COOKIE_VALUE_MAX + 1];

	if (session_token(wsi, tok)) {
		auth_session_end(&b->auth, tok, (int64_t)lws_now_secs());
		ws_close_ended_sessions(b); /* its WebSockets stop now */
	}
	snprintf(s->cookie, sizeof(s->cookie),
		 AUTH_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
		 b->cfg->tls_cert ? "; Secure" : "");
	return reply_redirect(b, s, 303, "/login");
}

static bool is_json(struct lws *wsi)
{
	char ct[64];

	return lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) > 0 &&
	       !strncasecmp(ct, "application/json", 16);
}

/* --- request checks: Host (DNS rebinding), Origin (CSRF) ---------------- */

bool http_host_ok(struct bridge *b, struct lws *wsi)
{
	const struct bridge_config *c = b->cfg;
	char host[256];
	enum lws_token_indexes t = WSI_TOKEN_HOST;
	int n = lws_hdr_total_length(wsi, t);

	if (n <= 0) {
		t = WSI_TOKEN_HTTP_COLON_AUTHORITY;
		n = lws_hdr_total_length(wsi, t);
	}
	if (n <= 0)
		return true; /* no Host: not a browser, so not DNS rebinding */
	if (n >= (int)sizeof(host) || lws_hdr_copy(wsi, host, sizeof(host), t) <= 0)
		return false;
	return parse_host_allowed(host, c->server_names, c->n_server_names, c->allowed_origins,
				  c->n_allowed_origins);
}

/* Log a refused request, at most once a second (the rest are counted). */
static void log_refusal(struct bridge *b, struct lws *wsi, const char *what,
			enum lws_token_indexes t)
{
	char val[256], esc[UTF8_LOG_LEN(64)], peer[64];
	int64_t now = (int64_t)lws_now_secs();

	if (b->metrics.refusal_logged == now)
		return;
	b->metrics.refusal_logged = now;
	if (lws_hdr_copy(wsi, val, sizeof(val), t) <= 0)
		val[0] = '\0';
	lws_get_peer_simple(wsi, peer, sizeof(peer));
	log_info("http", "refused a request from %s: %s '%s'", peer, what,
		 utf8_log_escape(esc, sizeof(esc), val, strnlen(val, 64)));
}

/* Every request's Host, and a POST's Origin (or Sec-Fetch-Site). Returns
 * 0 to serve it, or the status to refuse it with (`why` says why). */
static unsigned request_check(struct bridge *b, struct lws *wsi, const char **why)
{
	const struct bridge_config *c = b->cfg;
	char origin[256], site[32], host[256];
	int on;

	if (!http_host_ok(b, wsi)) {
		b->metrics.host_refused++;
		log_refusal(b, wsi, "not a Host of this server:", WSI_TOKEN_HOST);
		*why = "unknown Host: give this name to the bridge with --server-name";
		return 421;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
		return 0;
	on = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		host[0] = '\0';
	if (on >= (int)sizeof(origin) ||
	    (on > 0 && lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0))
		goto foreign;
	if (!custom_header(wsi, "sec-fetch-site:", site, sizeof(site)))
		site[0] = '\0';
	if (parse_post_origin_ok(on > 0 ? origin : NULL, site[0] ? site : NULL, host,
				 c->tls_cert != NULL, c->allowed_origins, c->n_allowed_origins))
		return 0;
foreign:
	b->metrics.origin_refused++;
	log_refusal(b, wsi, "a POST from a foreign Origin:", WSI_TOKEN_ORIGIN);
	*why = "cross-site request refused (Origin is not this server's or an --allowed-origin)";
	return 403;
}

/* --- routing ------------------------------------------------------------ */

enum method { M_GET, M_POST, M_OTHER, M_TOO_LONG };

/* The request's method and path (copied into `path`): M_TOO_LONG when the
 * path does not fit, M_OTHER for methods other than GET and POST. */
static enum method request_path(struct lws *wsi, char *path, size_t size)
{
	static const struct {
		enum lws_token_indexes tok;
		enum method m;
	} methods[] = {{WSI_TOKEN_GET_URI, M_GET}, {WSI_TOKEN_POST_URI, M_POST}};
	size_t i;
	int n;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		n = lws_hdr_total_length(wsi, methods[i].tok);
		if (n <= 0)
			continue;
		if ((size_t)n >= size)
			return M_TOO_LONG;
		if (lws_hdr_copy(wsi, path, (int)size, methods[i].tok) < 0)
			return M_TOO_LONG;
		return methods[i].m;
	}
	return M_OTHER;
}

static bool path_is(const char *path, const char *want)
{
	size_t n = strlen(want);

	/* "/api/devices/" also answers as "/api/devices" */
	return !strcmp(path, want) ||
	       (want[n - 1] == '/' && strlen(path) == n - 1 && !strncmp(path, want, n - 1));
}

/* POST /api/delete and /api/command: a JSON body acted on for `viewer`
 * (copied: a users-file reload may free it before the body is complete).
 * `kind` is the session's flag saying which one it is. */
static int action_begin(struct bridge *b, struct http_session *s, struct lws *wsi, enum method m,
			const struct auth_user *viewer, bool *kind)
{
	if (m != M_POST)
		return reply_error(b, s, 405, "POST a JSON request here");
	if (!is_json(wsi))
		return reply_error(b, s, 415, "send the request as application/json");
	*kind = true;
	if (viewer)
		snprintf(s->viewer, sizeof(s->viewer), "%s", viewer->name);
	s->viewer_admin = !viewer || viewer->admin;
	return report_begin(b, s, wsi);
}

static int route(struct bridge *b, struct http_session *s, struct lws *wsi)
{
	const struct auth_user *viewer = NULL;
	const char *users = NULL; /* the viewer's visible users; NULL: all */
	char path[256];
	enum method m;
	const char *why;
	int n;

	if ((n = (int)request_check(b, wsi, &why)))
		return reply_error(b, s, (unsigned)n, why);
	if (recorder_path(wsi)) /* the Recorder's API, /api/0/: recorder.c */
		return recorder_route(b, wsi);
	m = request_path(wsi, path, sizeof(path));
	if (m == M_TOO_LONG)
		return reply_error(b, s, 414, "path too long");
	if (m == M_OTHER)
		return reply_error(b, s, 405, "method not allowed");

	if (b->auth_on) {
		viewer = http_session_user(b, wsi, NULL);
		if (path_is(path, "/login")) {
			if (m == M_GET)
				return serve_page(b, wsi, "login.html");
			s->login = true;
			s->login_json = is_json(wsi);
			return report_begin(b, s, wsi);
		}
		if (path_is(path, "/logout"))
			return m == M_POST ? logout(b, s, wsi)
					   : reply_error(b, s, 405, "POST to log out");
		if (m == M_GET && (!strcmp(path, "/") || !strcmp(path, "/index.html")))
			return viewer ? serve_page(b, wsi, "index.html")
				      : reply_redirect(b, s, 302, "/login");
		if (!strncmp(path, "/api", 4) && !viewer &&
		    (m == M_GET || path_is(path, "/api/delete") || path_is(path, "/api/command")))
			return reply_error(b, s, 401, "login required");
		if (viewer && !viewer->admin)
			users = viewer->sees_json;
	}
	if (path_is(path, "/api/me")) {
		if (m != M_GET)
			return reply_error(b, s, 405, "method not allowed");
		jbuf_puts(&s->out, "{\"user\":");
		jbuf_json_cstr(&s->out, viewer ? viewer->name : NULL);
		jbuf_printf(&s->out, ",\"admin\":%s,\"login\":%s}",
			    !viewer || viewer->admin ? "true" : "false",
			    b->auth_on ? "true" : "false");
		return reply_now(b, s, 200, CT_JSON);
	}
	if (path_is(path, "/api/locations/")) {
		if (m == M_POST)
			return report_begin(b, s, wsi);
		if ((n = stream_begin(b, s, wsi, users)) != 1)
			return n;
		return reply_now(b, s, api_locations(b, wsi, users, &s->out), CT_JSON);
	}
	if (path_is(path, "/api/delete"))
		return action_begin(b, s, wsi, m, viewer, &s->del);
	if (path_is(path, "/api/command"))
		return action_begin(b, s, wsi, m, viewer, &s->cmd);
	if (path_is(path, "/pub")) {
		if (m == M_POST)
			return report_begin(b, s, wsi);
		return reply_error(b, s, 405, "POST an OwnTracks message here");
	}
	if (m != M_GET)
		return reply_error(b, s, 405, "method not allowed");
	if (path_is(path, "/api/config"))
		return reply_now(b, s, api_config(b, &s->out), CT_JSON);
	if (path_is(path, "/api/devices/"))
		return reply_now(b, s, api_devices(b, users, &s->out), CT_JSON);
	if (path_is(path, "/healthz"))
		return reply_now(b, s, api_healthz(b, &s->out), CT_JSON);
	if (path_is(path, "/metrics")) {
		b->metrics.db_up = db_ready(&b->db);
		metrics_render(&b->metrics, &s->out);
		return reply_now(b, s, 200, CT_METRICS);
	}
	return reply_error(b, s, 404, "not found");
}

int http_confirm_upgrade(struct bridge *b, struct lws *wsi, void *in)
{
	char *up = in;

	if (up && !strcasecmp(up, "h2c")) {
		/* No h2c (responses built here are HTTP/1.1 only): `in` points
		 * into lws's parsed-header table, and with the token blanked
		 * lws 4.1.6 goes on as HTTP/1.1 instead of answering 101, as
		 * RFC 9110 section 7.8 lets a server ignore Upgrade. */
		up[0] = '\0';
		return 0;
	}
	if (up && !strcasecmp(up, "websocket") && !ws_upgrade_ok(b, wsi)) {
		if (lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL))
			return -1;
		return 1; /* answered: lws completes the transaction */
	}
	return 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct bridge *b = bridge_from_wsi(wsi);
	struct http_session *s = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		b->metrics.ws_refused++;
		return 1; /* no WebSocket on this protocol */
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return http_confirm_upgrade(b, wsi, in);
	case LWS_CALLBACK_HTTP:
		/* lws parses a request pipelined behind a report that still
		 * waits for its PUBACK: answers must keep their order, so the
		 * report is answered first (503 if not acknowledged yet: the
		 * phone resends it and the plugin stores it once). */
		if (pub_waiting(&s->pending)) {
			pub_forget(&b->pub, &s->pending);
			pub_forget(&b->ctl, &s->pending);
			b->metrics.reports_unavailable++;
			api_error(&s->out, "request pipelined behind a report, try again");
			s->status = 503;
			s->ctype = CT_JSON;
			s->replying = true;
		}
		if (s->replying && write_response(b, s, wsi, false))
			return -1;
		session_start(b, s, wsi);
		b->metrics.http_requests++;
		return route(b, s, wsi);
	/* lws 4.1 may signal a body again for a pipelined request's bytes */
	case LWS_CALLBACK_HTTP_BODY:
		return s->in_body ? report_body(b, s, in, len) : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!s->in_body)
			return 0;
		s->in_body = false;
		body_release(b, s);
		if (s->del)
			return delete_submit(b, s);
		if (s->cmd)
			return command_submit(b, s);
		return s->login ? login_submit(b, s) : report_submit(b, s);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (s->stream)
			return stream_write(b, s, wsi);
		if (!s->replying)
			return 0;
		return send_response(b, s, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (s)
			session_clear(b, s);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
