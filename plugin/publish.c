/* publish: the plugin's output, one data object on one topic.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "publish.h"

#include <mosquitto_broker.h>
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

#include "ot.h"

void publish_out(struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		 bool retain)
{
	char topic[64 + 16 + 2 * OT_NAME_MAX + 4];

	if (user)
		snprintf(topic, sizeof(topic), "%s/%s/%s/%s", ctx->cfg.output_prefix, kind, user,
			 device);
	else
		snprintf(topic, sizeof(topic), "%s/%s", ctx->cfg.output_prefix, kind);
	publish_to(ctx, topic, retain);
}

void publish_to(struct mt_ctx *ctx, const char *topic, bool retain)
{
	size_t len = jbuf_len(&ctx->out);
	void *payload;

	if (jbuf_failed(&ctx->out)) {
		ctx->c.publish_errors++;
		return;
	}
	payload = mosquitto_malloc(len);
	if (!payload) {
		ctx->c.publish_errors++;
		return;
	}
	memcpy(payload, jbuf_data(&ctx->out), len);
	if (mosquitto_broker_publish(NULL, topic, (int)len, payload, 1, retain, NULL) !=
	    MOSQ_ERR_SUCCESS) {
		mosquitto_free(payload);
		ctx->c.publish_errors++;
	}
}
