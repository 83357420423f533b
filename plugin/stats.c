/* stats: the plugin's counters, logged and published on <prefix>/stats.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "stats.h"
#include "publish.h"

#include <mosquitto_broker.h>
#include <mosquitto.h>
#include <inttypes.h>
#include <time.h>

#define FULL_LOG_PERIOD_S 10

static const char *const reject_names[REJ_COUNT] = {
	[REJ_OVERSIZED] = "oversized",
	[REJ_TOPIC] = "bad_topic",
	[REJ_UTF8] = "invalid_utf8",
	[REJ_JSON] = "invalid_json",
	[REJ_TYPE] = "bad_type",
	[REJ_FIELD] = "bad_field",
	[REJ_FORBIDDEN] = "forbidden",
	[REJ_BUFFER_FULL] = "buffer_full",
	[REJ_USER_SHARE] = "user_share_full",
	[REJ_DEVICE_CAP] = "too_many_devices",
};

const char *mt_reject_name(enum mt_reject r)
{
	return r < REJ_COUNT ? reject_names[r] : "unknown";
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void num(struct jbuf *b, const char *key, uint64_t v, bool first)
{
	jbuf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", key, v);
}

void stats_format(struct mt_ctx *ctx)
{
	struct store_counters sc;
	struct jbuf *b = &ctx->out;
	int i;

	store_counters(ctx->store, &sc);
	jbuf_putc(b, '{');
	num(b, "received", ctx->c.received, true);
	num(b, "accepted", ctx->c.accepted, false);
	num(b, "events", ctx->c.events, false);
	num(b, "duplicates", ctx->c.duplicates, false);
	num(b, "ignored", ctx->c.ignored, false);
	num(b, "rejected", ctx->c.rejected, false);
	num(b, "publish_errors", ctx->c.publish_errors, false);
	num(b, "refused", ctx->c.refused, false);
	num(b, "bad_ip_property", ctx->c.bad_ip_property, false);
	num(b, "decrypted", ctx->c.decrypted, false);
	num(b, "undecryptable", ctx->c.undecryptable, false);
	num(b, "imported", ctx->c.imported, false);
	num(b, "control_requests", ctx->c.control_requests, false);
	num(b, "control_refused", ctx->c.control_refused, false);
	num(b, "deleted", sc.deleted, false);
	num(b, "purged", sc.purged, false);
	num(b, "devices", ctx->devices.count, false);
	num(b, "stored_locations", sc.locations_stored, false);
	num(b, "stored_duplicates", sc.duplicates, false);
	num(b, "committed_rows", sc.committed_rows, false);
	num(b, "commits", sc.commits, false);
	num(b, "write_errors", sc.write_errors, false);
	num(b, "buffer_full", sc.rejected_full, false);
	num(b, "user_share_full", sc.rejected_share, false);
	num(b, "pending", sc.pending, false);
	jbuf_puts(b, ",\"rejected_by\":{");
	for (i = 0; i < REJ_COUNT; i++)
		num(b, mt_reject_name((enum mt_reject)i), ctx->c.rejected_by[i], i == 0);
	jbuf_puts(b, "}}");
}

void stats_tick(struct mt_ctx *ctx)
{
	struct store_counters sc;
	unsigned before;
	char err[256];
	int64_t now;

	store_counters(ctx->store, &sc);
	if (sc.write_errors != ctx->logged_write_errors &&
	    store_take_error(ctx->store, err, sizeof(err))) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "mytracks: database write failed (%" PRIu64
				     " failures so far, %" PRIu64 " rows buffered, retrying): %s",
				     sc.write_errors, sc.pending, err);
		ctx->logged_write_errors = sc.write_errors;
		ctx->store_failing = true;
		ctx->commits_at_failure = sc.commits;
	}
	if (ctx->store_failing && sc.commits != ctx->commits_at_failure) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "mytracks: database writable again, %" PRIu64
				     " rows still buffered",
				     sc.pending);
		ctx->store_failing = false;
	}
	/* At most one line per FULL_LOG_PERIOD_S however often it fills. */
	if (sc.rejected_full + sc.rejected_share != ctx->logged_full &&
	    ratelimit_allow(&ctx->full_rl, (int64_t)time(NULL), 1, FULL_LOG_PERIOD_S, &before)) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "mytracks: storage buffer full: %" PRIu64
				     " messages not stored so far (%" PRIu64
				     " over a user's share), %" PRIu64 " rows buffered",
				     sc.rejected_full + sc.rejected_share, sc.rejected_share,
				     sc.pending);
		ctx->logged_full = sc.rejected_full + sc.rejected_share;
	}
	if (ctx->cfg.stats_interval <= 0)
		return;
	now = monotonic_ms();
	if (now < ctx->next_stats)
		return;
	ctx->next_stats = now + (int64_t)ctx->cfg.stats_interval * 1000;
	jbuf_reset(&ctx->out);
	stats_format(ctx);
	publish_out(ctx, "stats", NULL, NULL, true);
}
