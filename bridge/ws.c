/* ws: the /ws/locations/ and /ws/last WebSocket protocols: each client's
 * writes from the relay's ring (inbox.c fills it).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "ot.h"
#include "parse.h"
#include "recorder.h"

/* Frames written per WRITEABLE callback while the socket takes them. */
#define WS_WRITE_BURST 16
/* /ws/last: a location is pushed once committed (polled every
 * WS_COMMIT_POLL_US), or after WS_COMMIT_WAIT_US anyway. */
#define WS_COMMIT_POLL_US (20 * LWS_US_PER_MS)
#define WS_COMMIT_WAIT_US (1 * LWS_US_PER_SEC)
/* /ws/last: the objects one "LAST" sends, at most this many bytes. */
#define WS_LAST_MAX (4u << 20)

struct ws_session {
	struct relay_client rc;
	/* with --users: the session it came with (its user, looked up when
	 * needed, says whose frames it gets: a reload may change that) and,
	 * for the log, the user's name */
	bool authed;
	struct auth_ref session;
	char name[OT_NAME_MAX + 1];
	bool established; /* CLOSED also comes for refused upgrades */
	bool culled;
	bool ended; /* its login session ended: close with 1008 */
	/* /ws/last (the Recorder's): no welcome, "LAST" is answered, relayed
	 * locations go out converted (recorder.c), other frames not at all */
	bool recorder;
	bool want_last;	       /* "LAST" received, not answered yet */
	bool last_told;	       /* a LAST that could not be answered was logged */
	struct jbuf last;      /* the objects answering it, '\n'-separated */
	size_t last_off;       /* ...sent up to here */
	struct jbuf conv;      /* the converted frame being written */
	int64_t committed;     /* the largest location id seen committed */
	lws_usec_t wait_since; /* waiting for the commit of the next one since */
};

size_t ws_session_size(void)
{
	return sizeof(struct ws_session);
}

/* The request path must be exactly /ws/locations/ (or without the slash),
 * or the Recorder's /ws/last (`*last` then true). */
static bool path_is_ws(struct lws *wsi, bool *last)
{
	char uri[64];
	int n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);

	*last = n > 0 && !strcmp(uri, RECORDER_WS_PATH);
	return n > 0 && (!strcmp(uri, WS_PATH) || !strcmp(uri, "/ws/locations") || *last);
}

static bool path_ok(struct lws *wsi)
{
	bool last;

	return path_is_ws(wsi, &last);
}

/* The Origin header must be absent (not a browser), this server's own, or
 * an --allowed-origin: a page elsewhere must not read the locations with
 * the visitor's cookie (cross-site WebSocket hijacking). */
static bool origin_ok(struct bridge *b, struct lws *wsi)
{
	char origin[256], host[256];
	int on = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

	if (on <= 0)
		return true;
	if (on >= (int)sizeof(origin) ||
	    lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return false;
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		host[0] = '\0';
	return parse_origin_allowed(origin, host, b->cfg->tls_cert != NULL, b->cfg->allowed_origins,
				    b->cfg->n_allowed_origins);
}

bool ws_upgrade_ok(struct bridge *b, struct lws *wsi)
{
	const char *why = NULL;

	if (!path_ok(wsi)) {
		why = "on another path";
	} else if (!http_host_ok(b, wsi)) {
		why = "for a foreign Host";
		b->metrics.host_refused++;
	} else if (!origin_ok(b, wsi)) {
		why = "from a foreign Origin";
	} else if (b->auth_on && !http_session_user(b, wsi, NULL)) {
		why = "without a session";
	}
	if (!why)
		return true;
	b->metrics.ws_refused++;
	log_debug("ws", "refusing a WebSocket upgrade %s (403)", why);
	return false;
}

/* The login session of `s` ended (logout, expiry, eviction, a reload that
 * removed its user): nothing more for it, out of the ring now; its next
 * WRITEABLE sends the close frame. */
static void session_gone(struct bridge *b, struct ws_session *s)
{
	relay_remove(&b->relay, &s->rc);
	s->culled = s->ended = true;
	b->metrics.ws_session_closed++;
	log_info("ws", "closing a WebSocket of %s: the session ended", s->name);
}

void ws_close_ended_sessions(struct bridge *b)
{
	int64_t now = (int64_t)lws_now_secs();

	if (!b->auth_on || !auth_sessions_ended(&b->auth, now))
		return;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&b->relay.clients))
	{
		struct relay_client *c = lws_container_of(d, struct relay_client, list);
		struct ws_session *s = lws_container_of(c, struct ws_session, rc);

		if (s->authed && !s->culled && !auth_session_live(&b->auth, &s->session, now)) {
			struct lws *wsi = c->wsi;

			session_gone(b, s);
			/* a close frame from WRITEABLE; killed anyway if it never comes */
			lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
			lws_callback_on_writable(wsi);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

void ws_cut_off(struct bridge *b, struct relay_client *c)
{
	struct ws_session *s = lws_container_of(c, struct ws_session, rc);

	relay_remove(&b->relay, &s->rc);
	s->culled = true;
	b->metrics.ws_cut_off++;
	log_info("ws", "cutting off a client %llu messages behind",
		 (unsigned long long)(b->relay.head - s->rc.next));
	lws_set_timeout(s->rc.wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
}

static int write_frame(struct lws *wsi, unsigned char *data, size_t len)
{
	int n = lws_write(wsi, data, len, LWS_WRITE_TEXT);

	return n < (int)len ? -1 : 0;
}

/* /ws/last: a client's text frame. "LAST" (in one frame) asks for every
 * device's last location; anything else is ignored (the Recorder echoes
 * it; the frontend ignores the echo). */
static void recorder_receive(struct ws_session *s, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) && !lws_frame_is_binary(wsi) &&
	    len == 4 && !memcmp(in, "LAST", 4)) {
		s->want_last = true;
		lws_callback_on_writable(wsi);
	}
}

/* /ws/last: may the location `id` go out? The frontend fetches
 * /api/0/last on every push, so it waits for the plugin's commit (at most
 * WS_COMMIT_WAIT_US); meanwhile a timer brings WRITEABLE back. */
static bool recorder_ws_commit_ok(struct bridge *b, struct ws_session *s, struct lws *wsi,
				  int64_t id)
{
	lws_usec_t now = lws_now_usecs();

	if (recorder_committed(b, id, &s->committed))
		goto go;
	if (!s->wait_since)
		s->wait_since = now;
	if (now - s->wait_since >= WS_COMMIT_WAIT_US)
		goto go;
	lws_set_timer_usecs(wsi, WS_COMMIT_POLL_US);
	return false;
go:
	s->wait_since = 0;
	return true;
}

/* /ws/last: answer a "LAST" (built now, from the database) and write its
 * objects, one frame each, as the socket takes them. */
static int write_last(struct bridge *b, struct ws_session *s, struct lws *wsi,
		      const struct auth_user *viewer)
{
	char *data;
	size_t len;
	int i;

	if (s->want_last && !jbuf_len(&s->last)) {
		s->want_last = false;
		s->last_off = 0;
		if (recorder_ws_last(b, viewer, &s->last)) {
			if (!s->last_told) /* once a socket: clients may repeat LAST */
				log_warn("ws", "/ws/last: cannot answer LAST: %s",
					 jbuf_failed(&s->last) ? "over 4 MiB of devices"
							       : b->db.error);
			s->last_told = true;
			jbuf_reset(&s->last);
			return 0;
		}
	}
	/* each frame is written in place: lws puts its header into the
	 * LWS_PRE bytes before it (the headroom, then bytes already sent) and
	 * copies what the socket does not take */
	data = (char *)jbuf_data(&s->last);
	len = jbuf_len(&s->last);
	for (i = 0; i < WS_WRITE_BURST && s->last_off < len; i++) {
		char *p = data + s->last_off, *nl = memchr(p, '\n', len - s->last_off);
		size_t n = nl ? (size_t)(nl - p) : len - s->last_off;

		if (i && lws_send_pipe_choked(wsi))
			break;
		if (write_frame(wsi, (unsigned char *)p, n))
			return -1;
		s->last_off += n + 1;
		b->metrics.ws_frames_sent++;
	}
	if (s->last_off >= len) {
		jbuf_reset(&s->last);
		s->last_off = 0;
	}
	return 0;
}

static int writeable(struct bridge *b, struct ws_session *s, struct lws *wsi)
{
	const struct auth_user *viewer = NULL;
	struct msg *m;
	int i;

	if (s->authed && !s->culled &&
	    !(viewer = auth_ref_user(&b->auth, &s->session, (int64_t)lws_now_secs()))) {
		session_gone(b, s); /* since the last tick: close now */
	}
	if (s->ended) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				 (unsigned char *)"session ended", 13);
		return -1;
	}
	if (s->culled)
		return 0;
	if (!s->rc.welcomed) {
		s->rc.welcomed = true;
		if (write_frame(wsi, b->welcome + LWS_PRE, b->welcome_len))
			return -1;
		b->metrics.ws_frames_sent++;
	}
	if (s->recorder && (s->want_last || jbuf_len(&s->last))) {
		if (write_last(b, s, wsi, viewer))
			return -1;
		if (jbuf_len(&s->last)) {
			lws_callback_on_writable(wsi); /* the rest of LAST first */
			return 0;
		}
	}
	if (relay_lagging(&b->relay, &s->rc)) {
		ws_cut_off(b, &s->rc);
		return 0;
	}
	for (i = 0; i < WS_WRITE_BURST && (m = relay_peek(&b->relay, &s->rc)); i++) {
		int64_t id = 0;

		if ((viewer && !(m->user && auth_may_see(viewer, m->user))) ||
		    (s->recorder &&
		     (jbuf_reset(&s->conv), recorder_ws_location(b, m, &s->conv, &id)))) {
			relay_consumed(&s->rc); /* not this user's to see, or not for /ws/last */
			s->rc.progress = lws_now_usecs();
			continue;
		}
		if (s->recorder && !recorder_ws_commit_ok(b, s, wsi, id))
			return 0; /* called again by the timer */
		if (i && lws_send_pipe_choked(wsi))
			break;
		if (s->recorder ? write_frame(wsi, (unsigned char *)jbuf_data(&s->conv),
					      jbuf_len(&s->conv))
				: write_frame(wsi, msg_data(m), m->len))
			return -1;
		relay_consumed(&s->rc);
		s->rc.progress = lws_now_usecs();
		b->metrics.ws_frames_sent++;
	}
	if (relay_peek(&b->relay, &s->rc))
		lws_callback_on_writable(wsi);
	if (b->inbox) /* room in the ring now? */
		inbox_drain(b);
	return 0;
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct bridge *b = bridge_from_wsi(wsi);
	struct ws_session *s = user;
	bool last;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (b)
			inbox_drain(b);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (!path_is_ws(wsi, &last)) {
			b->metrics.ws_refused++;
			log_debug("ws", "refusing a WebSocket upgrade on another path");
			return 1;
		}
		if (s)
			s->recorder = last;
		if (!http_host_ok(b, wsi)) {
			b->metrics.ws_refused++;
			b->metrics.host_refused++;
			log_info("ws", "refusing a WebSocket upgrade for a foreign Host");
			return 1;
		}
		if (!origin_ok(b, wsi)) {
			b->metrics.ws_refused++;
			log_info("ws", "refusing a WebSocket upgrade from a foreign Origin");
			return 1;
		}
		if (b->auth_on) {
			/* the headers are gone by ESTABLISHED: keep the user now */
			const struct auth_user *u = http_session_user(b, wsi, &s->session);

			if (!u || !s) {
				b->metrics.ws_refused++;
				log_debug("ws", "refusing a WebSocket upgrade without a session");
				return 1;
			}
			s->authed = true;
			snprintf(s->name, sizeof(s->name), "%s", u->name);
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		/* the session may have ended during the upgrade */
		if (b->auth_on && (!s->authed || !auth_session_live(&b->auth, &s->session,
								    (int64_t)lws_now_secs())))
			return -1;
		relay_add(&b->relay, &s->rc, wsi);
		if (s->recorder) {
			s->rc.welcomed = true; /* the Recorder sends none */
			jbuf_init(&s->last, LWS_PRE, WS_LAST_MAX);
			jbuf_init(&s->conv, LWS_PRE, 2 * b->cfg->max_message + 4096);
		}
		s->established = true;
		s->culled = s->ended = false;
		b->metrics.ws_clients++;
		b->metrics.ws_connections++;
		log_debug("ws", "client connected (%llu now)",
			  (unsigned long long)b->metrics.ws_clients);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return writeable(b, s, wsi);
	case LWS_CALLBACK_TIMER: /* /ws/last: look for the commit again */
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (s && s->recorder) {
			recorder_receive(s, wsi, in, len);
			return 0;
		}
		/* Clients have nothing to say: any data frame closes the socket.
		 * lws 4.1 does not check that client frames are masked (RFC 6455
		 * section 5.1), so this is also what closes an unmasked one. */
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				 (unsigned char *)"send-only", 9);
		return -1;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return http_confirm_upgrade(b, wsi, in);
	case LWS_CALLBACK_CLOSED:
		if (!s || !s->established)
			return 0;
		s->established = false;
		relay_remove(&b->relay, &s->rc);
		jbuf_free(&s->last);
		jbuf_free(&s->conv);
		b->metrics.ws_clients--;
		log_debug("ws", "client gone (%llu left)",
			  (unsigned long long)b->metrics.ws_clients);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
