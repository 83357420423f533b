/* metrics: the bridge's counters and their Prometheus text rendering.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Updated and read on the lws thread only.
 */
#ifndef MYTRACKS_BRIDGE_METRICS_H
#define MYTRACKS_BRIDGE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "jbuf.h"

#define METRICS_MAX_PLUGIN 48

struct metrics {
	uint64_t ws_clients;	  /* gauge */
	uint64_t ws_connections;  /* accepted WebSocket connections */
	uint64_t ws_refused;	  /* upgrades refused (wrong path) */
	uint64_t ws_cut_off;	  /* clients cut off for lagging */
	uint64_t ws_frames_sent;  /* frames written to clients */
	uint64_t relayed;	  /* messages put into the relay ring */
	uint64_t mqtt_received;	  /* messages from the broker */
	uint64_t mqtt_dropped;	  /* not relayed: invalid or too large */
	uint64_t broker_connects; /* successful (re)connections */
	uint64_t http_requests;
	uint64_t http_timeouts;		/* 408: a body not complete within --request-timeout */
	uint64_t http_shed;		/* 503: --max-body-memory spent by unfinished bodies */
	uint64_t reports_accepted;	/* HTTP-mode reports acknowledged by the broker */
	uint64_t deletes;		/* deletes the plugin committed (POST /api/delete) */
	uint64_t reports_invalid;	/* 400/413: bad body or missing user/device */
	uint64_t reports_unavailable;	/* 503: broker down, timeout, refused */
	uint64_t reports_decrypted;	/* encrypted reports opened with a --keys key */
	uint64_t reports_undecryptable; /* encrypted, no key or wrong key: kept as sent */
	uint64_t api_errors;		/* 4xx/5xx answers of the history API */
	/* request checks, sessions and logins (docs/security.md) */
	uint64_t host_refused;	      /* 421: a Host that is not this server's */
	uint64_t origin_refused;      /* 403: a POST from a foreign Origin */
	uint64_t login_failed;	      /* wrong password, unknown user, bad body */
	uint64_t login_limited;	      /* 429: too many failed logins */
	uint64_t basic_cached;	      /* HTTP-mode credentials verified without crypt */
	uint64_t ws_session_closed;   /* WebSockets closed as their session ended */
	uint64_t users;		      /* gauge: users loaded from --users */
	uint64_t users_reloads;	      /* SIGHUP: users file re-read */
	uint64_t users_reload_errors; /* SIGHUP: file unreadable or bad, old users kept */
	int64_t refusal_logged;	      /* unix second a refusal was last logged */
	bool broker_up;
	bool db_up;
	int64_t start_time;
	/* numeric fields of the plugin's retained stats message */
	int n_plugin;
	struct {
		char name[64];
		double value;
	} plugin[METRICS_MAX_PLUGIN];
};

/* Take the numeric top-level fields of the plugin's stats JSON. */
void metrics_set_plugin_stats(struct metrics *m, const char *json, size_t len);
/* Append the Prometheus text exposition. Check jbuf_failed() afterwards. */
void metrics_render(const struct metrics *m, struct jbuf *out);

#endif
