/* ingest: one OwnTracks message in, rows to the store, data objects out.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Runs on the broker thread for every PUBLISH from a network client. It
 * never changes how the broker routes the original message: it always
 * returns MOSQ_ERR_SUCCESS, whatever it thinks of the payload.
 */
#include "ingest.h"
#include "dataobj.h"
#include "ot.h"

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define IP_PROPERTY "mytracks-ip"
#define TOUCH_INTERVAL_S 10 /* how often a device's last_seen is written */
#define REJECT_LOG_BURST 20
#define REJECT_LOG_PERIOD_S 10

static const char *const reject_names[REJ_COUNT] = {
	[REJ_OVERSIZED] = "oversized", [REJ_TOPIC] = "bad_topic",
	[REJ_UTF8] = "invalid_utf8",   [REJ_JSON] = "invalid_json",
	[REJ_TYPE] = "bad_type",       [REJ_FIELD] = "bad_field",
	[REJ_FORBIDDEN] = "forbidden", [REJ_BUFFER_FULL] = "buffer_full",
};

const char *mt_reject_name(enum mt_reject r)
{
	return r < REJ_COUNT ? reject_names[r] : "unknown";
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Log lines may carry text from the payload: keep them on one line. */
static void sanitize_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

static void reject(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed, enum mt_reject why,
		   char *reason)
{
	struct ratelimit *rl = &ctx->reject_rl;
	int64_t now = now_s();
	const char *id = mosquitto_client_id(ed->client);
	char topic[160];

	ctx->c.rejected++;
	ctx->c.rejected_by[why]++;
	if (now - rl->window_start >= REJECT_LOG_PERIOD_S) {
		if (rl->suppressed)
			mosquitto_log_printf(MOSQ_LOG_WARNING,
					     "mytracks: %u more rejected messages not logged",
					     rl->suppressed);
		rl->window_start = now;
		rl->lines = rl->suppressed = 0;
	}
	if (rl->lines >= REJECT_LOG_BURST) {
		rl->suppressed++;
		return;
	}
	rl->lines++;
	snprintf(topic, sizeof(topic), "%s", ed->topic ? ed->topic : "");
	sanitize_line(topic);
	sanitize_line(reason);
	mosquitto_log_printf(MOSQ_LOG_WARNING,
			     "mytracks: rejected message on '%s' from client '%s' (%s): %s", topic,
			     id ? id : "?", reject_names[why], reason);
}

/* Publish ctx->out on <output_prefix>/<kind>/<user>/<device> (or on
 * <output_prefix>/<kind> when user is NULL). The broker takes the payload. */
void ingest_publish(struct mt_ctx *ctx, const char *kind, const char *user, const char *device,
		    bool retain)
{
	char topic[64 + 16 + 2 * OT_NAME_MAX + 4];
	size_t len = jbuf_len(&ctx->out);
	void *payload;

	if (jbuf_failed(&ctx->out)) {
		ctx->c.publish_errors++;
		return;
	}
	if (user)
		snprintf(topic, sizeof(topic), "%s/%s/%s/%s", ctx->cfg.output_prefix, kind, user,
			 device);
	else
		snprintf(topic, sizeof(topic), "%s/%s", ctx->cfg.output_prefix, kind);
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

/* The address to store: the HTTP client's, when the bridge vouches for it
 * through a user property, else the MQTT client's. Copied into buf. */
static const char *client_ip(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			     bool trusted, char *buf, size_t len)
{
	const char *addr;

	if (trusted && ed->properties) {
		const mosquitto_property *p;
		char *name = NULL, *value = NULL;
		bool found = false;

		p = mosquitto_property_read_string_pair(ed->properties, MQTT_PROP_USER_PROPERTY,
							&name, &value, false);
		while (p) {
			if (!found && name && value && !strcmp(name, IP_PROPERTY) &&
			    strlen(value) < len) {
				snprintf(buf, len, "%s", value);
				found = true;
			}
			mosquitto_free(name);
			mosquitto_free(value);
			name = value = NULL;
			p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name,
								&value, true);
		}
		if (found)
			return buf;
	}
	(void)ctx;
	addr = mosquitto_client_address(ed->client);
	if (!addr)
		return NULL;
	snprintf(buf, len, "%s", addr);
	return buf;
}

static struct store_op *event_op(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
				 const struct mosquitto_evt_message *ed, int64_t now)
{
	size_t tlen = strlen(msg->type_name);
	struct store_op *op = store_op_new(STORE_EVENT, tlen + 1 + ed->payloadlen + 1);

	if (!op)
		return NULL;
	op->id = ++ctx->last_event_id;
	op->device_id = dev->id;
	op->tst = msg->tst;
	op->received_at = now;
	op->s1 = store_op_copy(op, msg->type_name, tlen);
	op->raw = store_op_copy(op, ed->payload, ed->payloadlen);
	op->raw_len = ed->payloadlen;
	return op;
}

static bool submit(struct mt_ctx *ctx, struct store_op *op, const struct mosquitto_evt_message *ed)
{
	char reason[96];

	if (op && store_submit(ctx->store, op) == 0)
		return true;
	if (op && op->kind == STORE_EVENT)
		ctx->last_event_id--;
	free(op);
	snprintf(reason, sizeof(reason), "%s", op ? "storage buffer is full" : "out of memory");
	reject(ctx, ed, REJ_BUFFER_FULL, reason);
	return false;
}

static void set_online(struct mt_ctx *ctx, struct device *dev, bool online, int64_t now,
		       const struct mosquitto_evt_message *ed)
{
	struct store_op *op;

	if (dev->online == online)
		return;
	op = store_op_new(STORE_DEVICE_STATUS, 0);
	if (!op)
		return;
	op->device_id = dev->id;
	op->online = online;
	op->received_at = now;
	if (ed ? !submit(ctx, op, ed) : store_submit(ctx->store, op) != 0) {
		if (!ed)
			free(op);
		return;
	}
	dev->online = online;
	jbuf_reset(&ctx->out);
	dataobj_status(&ctx->out, dev->id, dev->user, dev->device, online, now);
	ingest_publish(ctx, "status", dev->user, dev->device, false);
}

/* Queue the device's row. Until that succeeds (the buffer may be full),
 * every message for the device tries again: INSERT OR IGNORE makes it safe. */
static bool persist_device(struct mt_ctx *ctx, struct device *dev, int64_t now,
			   const struct mosquitto_evt_message *ed)
{
	struct store_op *op =
		store_op_new(STORE_DEVICE_NEW, strlen(dev->user) + strlen(dev->device) + 2);

	if (op) {
		op->id = dev->id;
		op->s1 = store_op_copy_str(op, dev->user);
		op->s2 = store_op_copy_str(op, dev->device);
		op->received_at = now;
	}
	if (!submit(ctx, op, ed))
		return false;
	dev->persisted = true;
	return true;
}

static struct device *find_or_add(struct mt_ctx *ctx, const struct ot_topic *t, int64_t now,
				  const struct mosquitto_evt_message *ed)
{
	struct device *dev = devices_find(&ctx->devices, t->user, t->device);

	if (!dev) {
		dev = devices_add(&ctx->devices, 0, t->user, t->device);
		if (!dev) {
			submit(ctx, NULL, ed);
			return NULL;
		}
		mosquitto_log_printf(MOSQ_LOG_INFO, "mytracks: new device %" PRId64 " '%s/%s'",
				     dev->id, dev->user, dev->device);
	}
	if (!dev->persisted && !persist_device(ctx, dev, now, ed))
		return NULL;
	return dev;
}

/* Has this device's location at `tst` been accepted before? */
static bool is_duplicate(struct mt_ctx *ctx, const struct device *dev, int64_t tst)
{
	if (tst > dev->max_tst)
		return false;
	if (device_recent_has(dev, tst))
		return true;
	/* An old report (a phone's backlog): ask the database. */
	return store_location_exists(ctx->store, dev->id, tst) == 1;
}

static void touch(struct mt_ctx *ctx, struct device *dev, int64_t now, const char *tid)
{
	struct store_op *op;

	if (now - dev->last_touch < TOUCH_INTERVAL_S)
		return;
	op = store_op_new(STORE_DEVICE_TOUCH, tid ? strlen(tid) + 1 : 0);
	if (!op)
		return;
	op->device_id = dev->id;
	op->received_at = now;
	op->s2 = store_op_copy_str(op, tid);
	if (store_submit(ctx->store, op) == 0)
		dev->last_touch = now;
	else
		free(op);
}

static void on_location(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
			const struct mosquitto_evt_message *ed, bool trusted, int64_t now)
{
	const struct ot_location *l = &msg->u.loc;
	struct dataobj_location d;
	struct store_op *op;
	char ipbuf[64];
	const char *ip;
	size_t strings;

	if (is_duplicate(ctx, dev, l->tst)) {
		ctx->c.duplicates++;
		return;
	}
	ip = client_ip(ctx, ed, trusted, ipbuf, sizeof(ipbuf));
	strings = ed->payloadlen + 1;
	strings += l->conn ? strlen(l->conn) + 1 : 0;
	strings += l->tid ? strlen(l->tid) + 1 : 0;
	strings += l->trigger ? strlen(l->trigger) + 1 : 0;
	strings += l->ssid ? strlen(l->ssid) + 1 : 0;
	strings += l->bssid ? strlen(l->bssid) + 1 : 0;
	strings += ip ? strlen(ip) + 1 : 0;
	op = store_op_new(STORE_LOCATION, strings);
	if (!op) {
		submit(ctx, NULL, ed);
		return;
	}
	op->id = ctx->last_location_id + 1;
	op->device_id = dev->id;
	op->received_at = now;
	op->loc = *l;
	op->loc.conn = store_op_copy_str(op, l->conn);
	op->loc.tid = store_op_copy_str(op, l->tid);
	op->loc.trigger = store_op_copy_str(op, l->trigger);
	op->loc.ssid = store_op_copy_str(op, l->ssid);
	op->loc.bssid = store_op_copy_str(op, l->bssid);
	op->s1 = store_op_copy_str(op, ip);
	op->raw = store_op_copy(op, ed->payload, ed->payloadlen);
	op->raw_len = ed->payloadlen;
	if (!submit(ctx, op, ed))
		return;
	ctx->last_location_id++;
	ctx->c.accepted++;
	device_recent_add(dev, l->tst);

	d.id = ctx->last_location_id;
	d.device_id = dev->id;
	d.user = dev->user;
	d.device = dev->device;
	d.display_name = dev->display_name;
	d.ip_address = ip;
	d.received_at = now;
	d.loc = l;
	jbuf_reset(&ctx->out);
	dataobj_location(&ctx->out, &d);
	ingest_publish(ctx, "locations", dev->user, dev->device, false);

	set_online(ctx, dev, true, now, ed);
	touch(ctx, dev, now, l->tid);
}

static void on_transition(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
			  const struct mosquitto_evt_message *ed, int64_t now)
{
	struct store_op *op;

	if (msg->tst == dev->last_tr_tst) {
		ctx->c.duplicates++;
		return;
	}
	op = event_op(ctx, dev, msg, ed, now);
	if (!submit(ctx, op, ed))
		return;
	ctx->c.events++;
	dev->last_tr_tst = msg->tst;
	jbuf_reset(&ctx->out);
	dataobj_transition(&ctx->out, ctx->last_event_id, dev->id, dev->user, dev->device,
			   &msg->u.tr);
	ingest_publish(ctx, "transitions", dev->user, dev->device, false);
}

static void on_card(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
		    const struct mosquitto_evt_message *ed, int64_t now)
{
	const struct ot_card *c = &msg->u.card;
	struct store_op *op;

	op = store_op_new(STORE_DEVICE_CARD,
			  (c->name ? strlen(c->name) + 1 : 0) + (c->tid ? strlen(c->tid) + 1 : 0));
	if (!op)
		return;
	op->device_id = dev->id;
	op->s1 = store_op_copy_str(op, c->name);
	op->s2 = store_op_copy_str(op, c->tid);
	if (!submit(ctx, op, ed))
		return;
	if (!submit(ctx, event_op(ctx, dev, msg, ed, now), ed))
		return;
	ctx->c.events++;
	device_set_display_name(dev, c->name);
	jbuf_reset(&ctx->out);
	jbuf_printf(&ctx->out, "{\"device\":%" PRId64 ",\"device_name\":", dev->id);
	dataobj_device_name(&ctx->out, dev->user, dev->device);
	jbuf_puts(&ctx->out, ",\"user\":");
	jbuf_json_cstr(&ctx->out, dev->user);
	jbuf_puts(&ctx->out, ",\"display_name\":");
	jbuf_json_cstr(&ctx->out, c->name);
	jbuf_puts(&ctx->out, ",\"tid\":");
	jbuf_json_cstr(&ctx->out, c->tid);
	jbuf_putc(&ctx->out, '}');
	ingest_publish(ctx, "cards", dev->user, dev->device, false);
}

int ingest_message(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed)
{
	const char *username = mosquitto_client_username(ed->client);
	bool trusted = false;
	struct ot_topic topic;
	struct device *dev;
	struct ot_msg msg;
	enum ot_result r;
	char reason[160];
	int64_t now;

	if (strncmp(ed->topic, ctx->cfg.input_prefix, ctx->in_prefix_len) != 0 ||
	    ed->topic[ctx->in_prefix_len] != '/')
		return MOSQ_ERR_SUCCESS; /* not ours */
	ctx->c.received++;
	if (ed->payloadlen > ctx->cfg.max_payload) {
		snprintf(reason, sizeof(reason), "payload of %u bytes is over the limit of %zu",
			 (unsigned)ed->payloadlen, ctx->cfg.max_payload);
		reject(ctx, ed, REJ_OVERSIZED, reason);
		return MOSQ_ERR_SUCCESS;
	}
	if (ot_topic_parse(ed->topic, ctx->cfg.input_prefix, &topic, reason, sizeof(reason)) !=
	    OT_OK) {
		reject(ctx, ed, REJ_TOPIC, reason);
		return MOSQ_ERR_SUCCESS;
	}
	if (!strcmp(topic.sub, "cmd")) {
		ctx->c.ignored++; /* commands to the phone, not from it */
		return MOSQ_ERR_SUCCESS;
	}
	if (ctx->cfg.trusted_user && username && !strcmp(username, ctx->cfg.trusted_user))
		trusted = true;
	if (ctx->cfg.topic_user_check && username && !trusted && strcmp(username, topic.user)) {
		snprintf(reason, sizeof(reason), "topic user differs from MQTT username '%.64s'",
			 username);
		reject(ctx, ed, REJ_FORBIDDEN, reason);
		return MOSQ_ERR_SUCCESS;
	}
	now = now_s();
	r = ot_parse(ed->payload, ed->payloadlen, now, ctx->cfg.max_future, &msg, reason,
		     sizeof(reason));
	switch (r) {
	case OT_OK:
		break;
	case OT_ERR_EMPTY:
		ctx->c.ignored++; /* clears a retained message */
		return MOSQ_ERR_SUCCESS;
	case OT_ERR_UTF8:
		reject(ctx, ed, REJ_UTF8, reason);
		return MOSQ_ERR_SUCCESS;
	case OT_ERR_JSON:
	case OT_ERR_NOMEM:
		reject(ctx, ed, REJ_JSON, reason);
		return MOSQ_ERR_SUCCESS;
	case OT_ERR_TYPE:
		reject(ctx, ed, REJ_TYPE, reason);
		return MOSQ_ERR_SUCCESS;
	case OT_ERR_FIELD:
		reject(ctx, ed, REJ_FIELD, reason);
		return MOSQ_ERR_SUCCESS;
	}
	if (msg.type == OT_IGNORED) {
		ctx->c.ignored++;
		goto done;
	}
	if (msg.type == OT_LOCATION && topic.sub[0]) {
		snprintf(reason, sizeof(reason), "location on sub-topic '%.64s'", topic.sub);
		reject(ctx, ed, REJ_TOPIC, reason);
		goto done;
	}
	dev = find_or_add(ctx, &topic, now, ed);
	if (!dev)
		goto done;
	if (!trusted)
		dev->client = ed->client;

	switch (msg.type) {
	case OT_LOCATION:
		on_location(ctx, dev, &msg, ed, trusted, now);
		break;
	case OT_TRANSITION:
		on_transition(ctx, dev, &msg, ed, now);
		break;
	case OT_CARD:
		on_card(ctx, dev, &msg, ed, now);
		break;
	case OT_LWT:
		if (submit(ctx, event_op(ctx, dev, &msg, ed, now), ed)) {
			ctx->c.events++;
			set_online(ctx, dev, false, now, ed);
		}
		break;
	default: /* waypoint(s) */
		if (submit(ctx, event_op(ctx, dev, &msg, ed, now), ed))
			ctx->c.events++;
		break;
	}
done:
	ot_msg_free(&msg);
	return MOSQ_ERR_SUCCESS;
}

struct disconnect_arg {
	struct mt_ctx *ctx;
	const void *client;
};

static void offline_if_client(void *arg, struct device *dev)
{
	struct disconnect_arg *a = arg;

	if (dev->client != a->client)
		return;
	dev->client = NULL;
	set_online(a->ctx, dev, false, now_s(), NULL);
}

void ingest_disconnect(struct mt_ctx *ctx, const void *client)
{
	struct disconnect_arg a = {ctx, client};

	devices_each(&ctx->devices, offline_if_client, &a);
}
