/* will: Last Wills the broker publishes for clients that drop, stored.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Mosquitto 2.0.11 fires no MESSAGE event for a will. What a plugin sees
 * (src/context.c, context__disconnect): the DISCONNECT event (client only,
 * reason always -1), then at once, in the same call, context__send_will()
 * asks the ACL (MOSQ_EVT_ACL_CHECK, MOSQ_ACL_WRITE) about the will's topic
 * and payload. So with plugin_opt_wills on the plugin registers ACL_CHECK
 * and takes the first WRITE check for the client whose DISCONNECT just
 * fired as its will, ingested like a message that client published (an
 * OwnTracks lwt: stored as an lwt event, device offline). It answers
 * MOSQ_ERR_PLUGIN_DEFER to every check, so the decision stays with the
 * acl_file; but when every ACL callback defers mosquitto denies, so
 * without an acl_file (or another ACL plugin) every publish and every
 * delivery would be refused: the option is off by default.
 *
 * Not seen: wills delayed by an MQTT v5 Will Delay Interval (sent later
 * with no DISCONNECT before them) and the will of a session taken over by
 * a new connection with the same client id (the device is connected).
 */
#ifndef MYTRACKS_WILL_H
#define MYTRACKS_WILL_H

#include "context.h"

/* Register the ACL_CHECK callback when plugin_opt_wills is on (else do
 * nothing). Returns 0, or -1 if the broker refused it. */
int will_register(struct mt_ctx *ctx);

/* Unregister it (safe when it was never registered). */
void will_unregister(struct mt_ctx *ctx);

/* The DISCONNECT event of `client` (after ingest_disconnect): its will,
 * if it has one, is the next ACL write check. */
void will_disconnect(struct mt_ctx *ctx, const void *client);

/* The broker's tick: a DISCONNECT without a will is forgotten. */
void will_tick(struct mt_ctx *ctx);

#endif
