/* ingest: one OwnTracks message in, rows to the store, data objects out.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_INGEST_H
#define MYTRACKS_INGEST_H

#include "context.h"

#include <stdbool.h>

struct mosquitto_evt_message;

/* Handle one PUBLISH (MOSQ_EVT_MESSAGE). Always MOSQ_ERR_SUCCESS: the
 * original message is routed as usual whatever the plugin thinks of it. */
int ingest_message(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed);

/* A client went away: devices it published for are now offline. */
void ingest_disconnect(struct mt_ctx *ctx, const void *client);

/* Publish ctx->out on <output_prefix>/<kind>[/<user>/<device>] at QoS 1. */
void ingest_publish(struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		    bool retain);

#endif
