/* ingest: one OwnTracks message in, rows to the store, data objects out.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_INGEST_H
#define MYTRACKS_INGEST_H

#include "context.h"

#include <stdbool.h>

struct mosquitto_evt_message;

/* Handle one PUBLISH (MOSQ_EVT_MESSAGE). MOSQ_ERR_SUCCESS routes the
 * original message as usual: for reports stored (or queued), duplicates,
 * messages that are not ours and invalid reports (counted and logged).
 * A valid report that could not be stored returns ingest_refusal(). */
int ingest_message(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed);

/* What the MESSAGE callback returns for a report it could not store, so
 * the client never takes it for stored (mosquitto 2.0.11): for QoS 0 and
 * for MQTT v5 MOSQ_ERR_ACL_DENIED (dropped; a v5 QoS 1 PUBACK carries
 * reason 0x87), for QoS 1/2 from v3.1/v3.1.1 clients an error that makes
 * the broker disconnect the client without acknowledging. */
int ingest_refusal(int qos, int protocol_version);

/* A client went away: devices it published for are now offline. */
void ingest_disconnect(struct mt_ctx *ctx, const void *client);

#endif
