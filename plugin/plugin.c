/* plugin: mytracks' Mosquitto plugin entry points (plugin API version 5).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Only start-up, shutdown and callback registration live here; the work is
 * in config (options), store (SQLite writer thread), ingest (messages) and
 * stats (counters). Only the three mosquitto_plugin_* symbols are exported.
 */
#include "config.h"
#include "context.h"
#include "control.h"
#include "dblock.h"
#include "ingest.h"
#include "otcrypto.h"
#include "sqldb.h"
#include "stats.h"
#include "store.h"
#include "will.h"

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define SHUTDOWN_GIVE_UP_MS 5000
#define PAYLOAD_CAP (1024 * 1024)

static int message_cb(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;

	(void)event;
	if (control_topic(userdata, ed->topic))
		return control_message(userdata, ed);
	return ingest_message(userdata, ed);
}

static int tick_cb(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	control_tick(userdata);
	ingest_tick(userdata);
	stats_tick(userdata);
	will_tick(userdata);
	return MOSQ_ERR_SUCCESS;
}

static int disconnect_cb(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ed = event_data;

	(void)event;
	ingest_disconnect(userdata, ed->client);
	will_disconnect(userdata, ed->client);
	return MOSQ_ERR_SUCCESS;
}

static void load_device_cb(void *arg, int64_t id, const char *user, const char *device,
			   const char *display_name, bool online, int64_t max_tst)
{
	struct mt_ctx *ctx = arg;

	if (user && device &&
	    !devices_load(&ctx->devices, &ctx->users, id, user, device, display_name, online,
			  max_tst))
		ctx->load_failed = true;
}

static void ctx_free(struct mt_ctx *ctx)
{
	if (!ctx)
		return;
	store_close(ctx->store, SHUTDOWN_GIVE_UP_MS, NULL);
	/* after the store: buffered ops point at their user's quota */
	users_free(&ctx->users);
	devices_free(&ctx->devices);
	dblock_release(ctx->lock_fd);
	jbuf_free(&ctx->out);
	otkeys_free(ctx->keys);
	config_free(&ctx->cfg);
	free(ctx);
}

/* SIGHUP: read plugin_opt_keys again; keep the old keys if the new file
 * is refused (the broker's thread is the only user of ctx->keys). */
static int reload_cb(int event, void *event_data, void *userdata)
{
	struct mt_ctx *ctx = userdata;
	struct otkeys *k;
	char err[256];

	(void)event;
	(void)event_data;
	if (!ctx->cfg.keys_file)
		return MOSQ_ERR_SUCCESS;
	k = otkeys_load(ctx->cfg.keys_file, err, sizeof(err));
	if (!k) {
		mosquitto_log_printf(
			MOSQ_LOG_WARNING,
			"mytracks: plugin_opt_keys not reloaded, keeping the old keys: %s", err);
		return MOSQ_ERR_SUCCESS;
	}
	otkeys_free(ctx->keys);
	ctx->keys = k;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "mytracks: reloaded %zu payload keys",
			     otkeys_count(k));
	return MOSQ_ERR_SUCCESS;
}

EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;

	for (i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5)
			return 5;
	}
	return -1;
}

EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
				 struct mosquitto_opt *opts, int opt_count)
{
	struct mt_option *o = NULL;
	struct mt_ctx *ctx;
	int64_t max_dev = 0;
	char err[512], dbname[256];
	int i;

	ctx = calloc(1, sizeof(*ctx));
	if (opt_count > 0)
		o = calloc((size_t)opt_count, sizeof(*o));
	if (!ctx || (opt_count > 0 && !o)) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: out of memory");
		free(ctx);
		free(o);
		return MOSQ_ERR_NOMEM;
	}
	for (i = 0; i < opt_count; i++) {
		o[i].key = opts[i].key;
		o[i].value = opts[i].value;
	}
	ctx->pid = identifier;
	ctx->lock_fd = -1;
	jbuf_init(&ctx->out, 0, PAYLOAD_CAP);
	if (config_parse(&ctx->cfg, o, opt_count, err, sizeof(err)) != 0) {
		free(o);
		mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: %s", err);
		ctx_free(ctx);
		return MOSQ_ERR_INVAL;
	}
	free(o);
	ctx->in_prefix_len = strlen(ctx->cfg.input_prefix);
	if (ctx->cfg.keys_file) {
		ctx->keys = otkeys_load(ctx->cfg.keys_file, err, sizeof(err));
		if (!ctx->keys) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: plugin_opt_keys: %s", err);
			ctx_free(ctx);
			return MOSQ_ERR_INVAL;
		}
	}
	if (devices_init(&ctx->devices) != 0 ||
	    users_init(&ctx->users, ctx->cfg.buffer_per_user) != 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: out of memory");
		ctx_free(ctx);
		return MOSQ_ERR_NOMEM;
	}
	/* what the logs say: a PostgreSQL connection string without its password */
	sqldb_redact(ctx->cfg.database, dbname, sizeof(dbname));
	/* A SQLite file has one writer per host by this lock; PostgreSQL one
	 * per database (or several shared writers) by the store's advisory
	 * lock. */
	if (sqldb_kind_of(ctx->cfg.database) == SQLDB_SQLITE) {
		ctx->lock_fd = dblock_acquire(ctx->cfg.database, err, sizeof(err));
		if (ctx->lock_fd < 0) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: plugin_opt_database: %s",
					     err);
			ctx_free(ctx);
			return MOSQ_ERR_UNKNOWN;
		}
	}
	ctx->store = store_open(ctx->cfg.database, ctx->cfg.commit_window_ms, ctx->cfg.buffer_max,
				ctx->cfg.shared_writers, err, sizeof(err));
	if (!ctx->store) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: plugin_opt_database: %s", err);
		ctx_free(ctx);
		return MOSQ_ERR_UNKNOWN;
	}
	store_set_retention(ctx->store, ctx->cfg.retention_days, ctx->cfg.retention_batch,
			    ctx->cfg.retention_interval);
	if (store_load(ctx->store, load_device_cb, ctx, &ctx->last_location_id, &ctx->last_event_id,
		       &max_dev) != 0 ||
	    ctx->load_failed) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: cannot read %s%s", dbname,
				     ctx->load_failed ? ": out of memory loading its devices" : "");
		ctx_free(ctx);
		return MOSQ_ERR_UNKNOWN;
	}
	if (max_dev > ctx->devices.max_id)
		ctx->devices.max_id = max_dev;

	if (mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, message_cb, NULL, ctx) ||
	    mosquitto_callback_register(identifier, MOSQ_EVT_TICK, tick_cb, NULL, ctx) ||
	    mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, disconnect_cb, NULL,
					ctx) ||
	    mosquitto_callback_register(identifier, MOSQ_EVT_RELOAD, reload_cb, NULL, ctx) ||
	    will_register(ctx)) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "mytracks: cannot register callbacks");
		mosquitto_callback_unregister(identifier, MOSQ_EVT_MESSAGE, message_cb, NULL);
		mosquitto_callback_unregister(identifier, MOSQ_EVT_TICK, tick_cb, NULL);
		mosquitto_callback_unregister(identifier, MOSQ_EVT_DISCONNECT, disconnect_cb, NULL);
		mosquitto_callback_unregister(identifier, MOSQ_EVT_RELOAD, reload_cb, NULL);
		will_unregister(ctx);
		ctx_free(ctx);
		return MOSQ_ERR_UNKNOWN;
	}
	*userdata = ctx;
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			     "mytracks: storing %s/+/+ in %s (%scommit window %d ms, %zu devices, "
			     "last location id %" PRId64 "), republishing on %s/%s",
			     ctx->cfg.input_prefix, dbname,
			     ctx->cfg.shared_writers ? "shared with other writers, " : "",
			     ctx->cfg.commit_window_ms, ctx->devices.count, ctx->last_location_id,
			     ctx->cfg.output_prefix,
			     ctx->cfg.wills ? ", storing Last Wills (needs an acl_file)" : "");
	return MOSQ_ERR_SUCCESS;
}

EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count)
{
	struct mt_ctx *ctx = userdata;
	struct store_counters sc;

	(void)opts;
	(void)opt_count;
	if (!ctx)
		return MOSQ_ERR_SUCCESS;
	mosquitto_callback_unregister(ctx->pid, MOSQ_EVT_MESSAGE, message_cb, NULL);
	mosquitto_callback_unregister(ctx->pid, MOSQ_EVT_TICK, tick_cb, NULL);
	mosquitto_callback_unregister(ctx->pid, MOSQ_EVT_DISCONNECT, disconnect_cb, NULL);
	mosquitto_callback_unregister(ctx->pid, MOSQ_EVT_RELOAD, reload_cb, NULL);
	will_unregister(ctx);
	store_close(ctx->store, SHUTDOWN_GIVE_UP_MS, &sc);
	ctx->store = NULL;
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			     "mytracks: stopped: %" PRIu64 " locations stored, %" PRIu64
			     " rows committed in %" PRIu64 " transactions",
			     sc.locations_stored, sc.committed_rows, sc.commits);
	if (sc.lost)
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "mytracks: %" PRIu64
				     " rows lost: the database was not writable "
				     "at shutdown",
				     sc.lost);
	ctx_free(ctx);
	return MOSQ_ERR_SUCCESS;
}
