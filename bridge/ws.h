/* ws: the /ws/locations/ WebSocket protocol and the relay's fan-out.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * On connect a client gets {"type":"welcome","server_startup":N}; then
 * every relayed frame, in broker order, the same bytes for every client.
 * A client more than the ring's limits behind is cut off. A data frame
 * from a client closes its socket (1008): the socket is send-only.
 * Upgrades on any other path, from a foreign Origin or (with --users)
 * without a session are refused with 403.
 *
 * /ws/last (the OwnTracks Recorder's, recorder.h) is the same protocol
 * with a per-session flag: no welcome, "LAST" answered, other client
 * frames ignored, relayed locations converted to the Recorder's shape and
 * pushed once committed, other relayed types not sent.
 */
#ifndef MYTRACKS_BRIDGE_WS_H
#define MYTRACKS_BRIDGE_WS_H

#include <stdbool.h>

#include <libwebsockets.h>

#define WS_PROTOCOL_NAME "mytracks-locations"
#define WS_PATH "/ws/locations/"

struct ws_session;
struct bridge;

/* The lws callback of the /ws/locations/ protocol: upgrade checks, the
 * welcome frame, relaying frames from the relay ring, pings and closing.
 * Returns what lws expects (0 go on, -1 close). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		size_t len);
/* Bytes of per-connection state lws allocates for ws_callback. */
size_t ws_session_size(void);

/* Whether a WebSocket upgrade request may proceed: the path, the Host, the Origin
 * and, with --users, the session. Counts and logs a refusal. */
bool ws_upgrade_ok(struct bridge *b, struct lws *wsi);

/* With --users: close the WebSockets whose login session ended (logout,
 * expiry, eviction). Cheap when none ended; called from the 1 s tick and
 * right after a logout or login. */
void ws_close_ended_sessions(struct bridge *b);

/* Cut off a client that stopped reading (inbox.c decides): it leaves the
 * relay at once and its socket is closed asynchronously. */
struct relay_client;
void ws_cut_off(struct bridge *b, struct relay_client *c);

#endif
