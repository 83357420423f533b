/* control: requests to the plugin from the trusted client (the bridge, the
 * import tool), answered once what they ask for is committed.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A request is one JSON object published on <control_prefix>/req/<id>
 * (any id of the requester's choosing, e.g. its client id and a counter)
 * by plugin_opt_trusted_user; the answer is published on
 * <control_prefix>/reply/<id> after the writer committed it, so a reader of
 * the database sees its effect once the answer arrives. Requests from any
 * other client are refused, counted and logged (the ACL should keep them
 * out already). The protocol is in docs/control.md.
 */
#ifndef MYTRACKS_CONTROL_H
#define MYTRACKS_CONTROL_H

#include "context.h"

#include <stdbool.h>

struct mosquitto_evt_message;

/* Is `topic` under <control_prefix>/? */
bool control_topic(const struct mt_ctx *ctx, const char *topic);

/* Serve one message on a control topic (control_topic() is true). Always
 * MOSQ_ERR_SUCCESS: the request is answered on its reply topic. */
int control_message(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed);

/* Broker tick: answer the requests the writer has committed since the
 * last tick, and publish the "deleted" objects of committed deletes. */
void control_tick(struct mt_ctx *ctx);

#endif
