/* will: Last Wills the broker publishes for clients that drop (will.h).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "will.h"

#include "ingest.h"

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#include <string.h>

static int acl_check_cb(int event, void *event_data, void *userdata)
{
	const struct mosquitto_evt_acl_check *ed = event_data;
	struct mt_ctx *ctx = userdata;
	struct mosquitto_evt_message msg;
	const void *client = ctx->will_client;

	(void)event;
	/* the hot path: every publish and every delivery asks */
	if (!client)
		return MOSQ_ERR_PLUGIN_DEFER;
	ctx->will_client = NULL; /* only the very next check can be the will */
	if (ed->client != client || ed->access != MOSQ_ACL_WRITE || !ed->topic)
		return MOSQ_ERR_PLUGIN_DEFER;
	memset(&msg, 0, sizeof(msg));
	msg.client = ed->client;
	msg.topic = (char *)ed->topic;
	msg.payload = (void *)ed->payload;
	msg.payloadlen = ed->payloadlen;
	msg.qos = ed->qos;
	msg.retain = ed->retain;
	/* as if the client had published it; nothing to refuse to a dead
	 * client, so the result only counts */
	(void)ingest_message(ctx, &msg);
	/* the ingest remembered the dead client as the device's connection */
	ingest_disconnect(ctx, client);
	return MOSQ_ERR_PLUGIN_DEFER;
}

int will_register(struct mt_ctx *ctx)
{
	if (!ctx->cfg.wills)
		return 0;
	if (mosquitto_callback_register(ctx->pid, MOSQ_EVT_ACL_CHECK, acl_check_cb, NULL, ctx))
		return -1;
	ctx->will_registered = true;
	return 0;
}

void will_unregister(struct mt_ctx *ctx)
{
	if (!ctx->will_registered)
		return;
	mosquitto_callback_unregister(ctx->pid, MOSQ_EVT_ACL_CHECK, acl_check_cb, NULL);
	ctx->will_registered = false;
}

void will_disconnect(struct mt_ctx *ctx, const void *client)
{
	if (ctx->will_registered)
		ctx->will_client = client;
}

void will_tick(struct mt_ctx *ctx)
{
	ctx->will_client = NULL;
}
