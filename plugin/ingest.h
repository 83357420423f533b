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

/* What ingest_import() did with one message. */
enum import_outcome {
	IMPORT_STORED,	  /* a location, queued for the store */
	IMPORT_EVENT,	  /* a transition (or an undecryptable report), queued */
	IMPORT_DUPLICATE, /* already stored */
	IMPORT_IGNORED,	  /* valid, but not kept by an import (card, lwt, waypoints...) */
	IMPORT_REJECTED,  /* invalid: `why` says why */
	IMPORT_BUSY,	  /* the write buffer is full: try again later */
};

/* Ingest one historical OwnTracks message of user/device (a control
 * request's, control.h) as if `client` had published it, but as history:
 * no data object is published, the device's online state, last_seen and
 * IP address are left alone, and transitions already stored are skipped.
 * A card sets the device's name (skipped when it is the name already).
 * `why` (at least 1 byte) gets the reason of a rejection, else "". */
enum import_outcome ingest_import(struct mt_ctx *ctx, const void *client, const char *user,
				  const char *device, const char *payload, size_t len, char *why,
				  size_t whylen);

/* Once a second or so (the broker's tick): HTTP-mode devices (locations
 * through plugin_opt_trusted_user, no MQTT client of their own) whose last
 * location is plugin_opt_http_online_window seconds old go offline. */
void ingest_tick(struct mt_ctx *ctx);

/* A client went away: devices it published for are now offline. */
void ingest_disconnect(struct mt_ctx *ctx, const void *client);

#endif
