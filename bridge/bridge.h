/* bridge: the process-wide context every module is handed.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * One `struct bridge` lives in main() and is the lws context's user
 * pointer. Everything in it belongs to the lws thread, except `queue`
 * (shared with the MQTT thread, locked) and `mqtt` (libmosquitto is
 * thread-safe for publishing).
 */
#ifndef MYTRACKS_BRIDGE_BRIDGE_H
#define MYTRACKS_BRIDGE_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "friends.h"
#include "http.h"
#include "metrics.h"
#include "pub.h"
#include "queue.h"
#include "relay.h"

struct mqtt_link;
struct otkeys;

/* A log budget: `lines` logged since `window_start`, `suppressed` not. */
struct transport_ratelimit {
	int64_t window_start;
	unsigned lines, suppressed;
};

struct bridge {
	const struct bridge_config *cfg;
	struct lws_context *lws;
	struct queue queue;	/* MQTT thread -> lws thread */
	struct mqtt_link *mqtt; /* the broker connection */
	struct relay relay;	/* framed messages for WebSocket clients */
	/* taken from the queue, waiting for room in the relay ring */
	struct msg *inbox, *inbox_tail;
	lws_usec_t blocked_since; /* the inbox has waited for clients since; 0: not */
	struct db db;		  /* read-only history */
	struct friends friends;	  /* HTTP mode's friends, between reports */
	struct pub pub;		  /* HTTP-mode reports awaiting their PUBACK */
	struct pub ctl;		  /* deletes awaiting the plugin's answer (by request number) */
	int ctl_seq;		  /* the last control request's number */
	struct http_cmd cmds[HTTP_CMD_SLOTS]; /* commands for HTTP-mode phones (http.c) */
	/* unfinished request bodies (http.c) and the bytes they reserved */
	struct lws_dll2_owner bodies;
	size_t body_bytes;
	struct transport_ratelimit transport_rl; /* refusals and time-outs */
	struct metrics metrics;
	struct auth auth;		      /* users and sessions, with --users */
	bool auth_on;			      /* --users given: login required */
	struct otkeys *keys;		      /* --keys: payload encryption keys, or NULL */
	struct transport_ratelimit crypto_rl; /* reports that did not decrypt */
	int64_t startup;		      /* unix seconds */
	bool broker_up;			      /* connected and subscribed, as last reported */
	lws_sorted_usec_list_t tick;	      /* once a second: PUBACK timeouts */
	lws_sorted_usec_list_t drain_retry;   /* while the inbox waits for clients */
	/* what lws reads for the context's lifetime */
	struct lws_protocols protocols[3];
	lws_retry_bo_t retry;
	struct lws_http_mount mount_files;
	/* with --users: the page's assets as files, "/" as a callback */
	struct lws_http_mount mount_asset[3], mount_root;
	char asset_dir[3][4096];
	/* {"type":"welcome","server_startup":N}, after LWS_PRE bytes */
	unsigned char welcome[LWS_PRE + 64];
	size_t welcome_len;
};

static inline struct bridge *bridge_from_wsi(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

#endif
