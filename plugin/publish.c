/* publish: the plugin's output, one data object on one topic.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "publish.h"

#include <mosquitto_broker.h>
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

#include "dataobj.h"
#include "ot.h"
#include "store.h"

_Static_assert(PUBLISH_TOPIC_MAX >= 64 + 16 + 2 * OT_NAME_MAX + 4, "room for the topic");

void publish_topic(const struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		   char *buf)
{
	if (user)
		snprintf(buf, PUBLISH_TOPIC_MAX, "%s/%s/%s/%s", ctx->cfg.output_prefix, kind, user,
			 device);
	else
		snprintf(buf, PUBLISH_TOPIC_MAX, "%s/%s", ctx->cfg.output_prefix, kind);
}

void publish_out(struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		 bool retain)
{
	char topic[PUBLISH_TOPIC_MAX];

	publish_topic(ctx, kind, user, device, topic);
	publish_to(ctx, topic, retain);
}

void publish_committed(struct mt_ctx *ctx, const struct store_op *op)
{
	jbuf_reset(&ctx->out);
	jbuf_puts(&ctx->out, DATAOBJ_ID_OPEN);
	jbuf_int(&ctx->out, op->id);
	jbuf_putc(&ctx->out, ',');
	jbuf_puts(&ctx->out, op->pub_rest);
	publish_to(ctx, op->pub_topic, false);
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
