/* publish: the plugin's output, one data object on one topic.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Every object the plugin republishes (locations, transitions, cards,
 * status, stats) leaves through publish_out(), on the broker thread.
 */
#ifndef MYTRACKS_PUBLISH_H
#define MYTRACKS_PUBLISH_H

#include "context.h"

#include <stdbool.h>

/* Publish ctx->out on <output_prefix>/<kind>/<user>/<device> (or on
 * <output_prefix>/<kind> when user is NULL) at QoS 1, retained if asked.
 * The broker gets its own copy of the payload. Cannot fail from the
 * caller's view: a payload that cannot be built or published is counted
 * in ctx->c.publish_errors. */
void publish_out(struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		 bool retain);

/* The same on any topic (control replies). */
void publish_to(struct mt_ctx *ctx, const char *topic, bool retain);

/* Write publish_out()'s topic into buf (PUBLISH_TOPIC_MAX bytes). */
#define PUBLISH_TOPIC_MAX (64 + 16 + 2 * 256 + 4)
void publish_topic(const struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		   char *buf);

/* Shared writers: a location or event the writer has committed, with the
 * id it took (store.h, pub_rest). Counted like publish_out(). */
struct store_op;
void publish_committed(struct mt_ctx *ctx, const struct store_op *op);

#endif
