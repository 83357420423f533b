/* ingest: one OwnTracks message in, rows to the store, data objects out.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Runs on the broker thread for every PUBLISH from a network client.
 * Invalid reports are counted, logged and routed as usual (the broker
 * acknowledges them: resending would not make them valid). A valid report
 * that cannot be stored (the write buffer or the user's share of it is
 * full, the device limit is reached, out of memory) is refused so that
 * the client does not take it for stored: see ingest_refusal().
 * Everything a client controls goes through utf8_log_str() on its way to
 * a log line, and every repeated line is rate-limited.
 */
#define _GNU_SOURCE /* memmem */
#include "ingest.h"
#include "publish.h"
#include "stats.h"
#include "dataobj.h"
#include "ot.h"
#include "otcrypto.h"
#include "utf8.h"

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define IP_PROPERTY "mytracks-ip"
#define TOUCH_INTERVAL_S 10 /* how often a device's last_seen is written */
#define REJECT_LOG_BURST 20
#define REJECT_LOG_PERIOD_S 10
#define NEW_DEVICE_LOG_BURST 20 /* "new device" lines per period */
#define BAD_IP_LOG_BURST 5
#define LOG_STR 64 /* client strings in a log line are cut to this many bytes */

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Count and log (rate-limited) a message that is not stored. `reason` is
 * the plugin's own text: client strings in it were escaped already. */
static void reject(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed, enum mt_reject why,
		   const char *reason)
{
	const char *id = mosquitto_client_id(ed->client);
	char topic[UTF8_LOG_LEN(2 * LOG_STR)], cid[UTF8_LOG_LEN(LOG_STR)];
	unsigned before;
	bool log;

	ctx->c.rejected++;
	ctx->c.rejected_by[why]++;
	if (ctx->import_why)
		snprintf(ctx->import_why, ctx->import_why_len, "%s: %s", mt_reject_name(why),
			 reason);
	log = ratelimit_allow(&ctx->reject_rl, now_s(), REJECT_LOG_BURST, REJECT_LOG_PERIOD_S,
			      &before);
	if (before)
		mosquitto_log_printf(MOSQ_LOG_WARNING,
				     "mytracks: %u more rejected messages not logged", before);
	if (!log)
		return;
	mosquitto_log_printf(
		MOSQ_LOG_WARNING, "mytracks: rejected message on '%s' from client '%s' (%s): %s",
		utf8_log_str(topic, sizeof(topic), ed->topic),
		id ? utf8_log_str(cid, sizeof(cid), id) : "?", mt_reject_name(why), reason);
}

/* Is `s` an IPv4 or IPv6 address in text form (what inet_pton accepts)? */
static bool is_ip_address(const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* A mytracks-ip value that is not an address: ignored, counted, logged. */
static void bad_ip_property(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			    const char *value)
{
	const char *id = mosquitto_client_id(ed->client);
	char v[UTF8_LOG_LEN(LOG_STR)], cid[UTF8_LOG_LEN(LOG_STR)];
	unsigned before;
	bool log;

	ctx->c.bad_ip_property++;
	log = ratelimit_allow(&ctx->bad_ip_rl, now_s(), BAD_IP_LOG_BURST, REJECT_LOG_PERIOD_S,
			      &before);
	if (before)
		mosquitto_log_printf(MOSQ_LOG_WARNING,
				     "mytracks: %u more bad " IP_PROPERTY " values not logged",
				     before);
	if (log)
		mosquitto_log_printf(MOSQ_LOG_WARNING,
				     "mytracks: ignoring " IP_PROPERTY
				     " '%s' from client '%s': not an IP address (stored without "
				     "an address)",
				     utf8_log_escape(v, sizeof(v), value, strnlen(value, LOG_STR)),
				     id ? utf8_log_str(cid, sizeof(cid), id) : "?");
}

/* The address to store: the HTTP client's, when the bridge vouches for it
 * through a user property holding an IP address, else the MQTT client's.
 * A trusted message whose property is not an address gets no address at
 * all (NULL): the bridge's own loopback address would be a lie. Copied
 * into buf. */
static const char *client_ip(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			     bool trusted, char *buf, size_t len)
{
	const char *addr;

	if (trusted && ed->properties) {
		const mosquitto_property *p;
		char *name = NULL, *value = NULL;
		bool found = false, bad = false;

		p = mosquitto_property_read_string_pair(ed->properties, MQTT_PROP_USER_PROPERTY,
							&name, &value, false);
		while (p) {
			if (!found && !bad && name && value && !strcmp(name, IP_PROPERTY)) {
				if (strlen(value) < len && is_ip_address(value)) {
					snprintf(buf, len, "%s", value);
					found = true;
				} else {
					bad_ip_property(ctx, ed, value);
					bad = true;
				}
			}
			mosquitto_free(name);
			mosquitto_free(value);
			name = value = NULL;
			p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name,
								&value, true);
		}
		if (found)
			return buf;
		if (bad)
			return NULL;
	}
	addr = mosquitto_client_address(ed->client);
	if (!addr)
		return NULL;
	snprintf(buf, len, "%s", addr);
	return buf;
}

/* Shared writers (store.h): an object is published once its row is
 * committed, with the id the writer took. The op carries its topic and
 * the object as formatted now with id 0, less the `{"id":0,` it starts
 * with (dataobj.h: every object with an id starts so). */
#define ID0 DATAOBJ_ID_OPEN "0,"

struct deferred {
	bool on; /* publish after the commit */
	char topic[PUBLISH_TOPIC_MAX];
	const char *rest; /* in ctx->out */
	size_t rest_len;
};

/* ctx->out holds an object formatted with id 0, to publish on <kind>. */
static void defer_publish(struct mt_ctx *ctx, struct deferred *df, const char *kind,
			  const struct device *dev)
{
	size_t len = jbuf_len(&ctx->out);

	if (jbuf_failed(&ctx->out) || len < sizeof(ID0) - 1 ||
	    memcmp(jbuf_data(&ctx->out), ID0, sizeof(ID0) - 1) != 0) {
		ctx->c.publish_errors++; /* stored all the same, not published */
		return;
	}
	df->on = true;
	publish_topic(ctx, kind, dev->user, dev->device, df->topic);
	df->rest = jbuf_data(&ctx->out) + sizeof(ID0) - 1;
	df->rest_len = len - (sizeof(ID0) - 1);
}

static size_t deferred_size(const struct deferred *df)
{
	return df && df->on ? strlen(df->topic) + 1 + df->rest_len + 1 : 0;
}

static void deferred_copy(struct store_op *op, const struct deferred *df)
{
	if (!df || !df->on)
		return;
	op->pub_topic = store_op_copy_str(op, df->topic);
	op->pub_rest = store_op_copy(op, df->rest, df->rest_len);
}

/* Publish now, or (shared writers) after the commit. */
static bool shared(const struct mt_ctx *ctx)
{
	return store_shared(ctx->store);
}

/* An event's op; `df` (or NULL) is its object to publish after the commit. */
static struct store_op *event_op(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
				 const struct mosquitto_evt_message *ed, int64_t now,
				 const struct deferred *df)
{
	size_t tlen = strlen(msg->type_name);
	struct store_op *op =
		store_op_new(STORE_EVENT, tlen + 1 + ed->payloadlen + 1 + deferred_size(df));

	if (!op)
		return NULL;
	op->id = ctx->last_event_id + 1; /* used up by submit() */
	op->device_id = dev->id;
	op->tst = msg->tst;
	op->received_at = now;
	op->s1 = store_op_copy(op, msg->type_name, tlen);
	op->raw = store_op_copy(op, ed->payload, ed->payloadlen);
	op->raw_len = ed->payloadlen;
	op->decrypted = ctx->cur_decrypted;
	deferred_copy(op, df);
	return op;
}

static struct store_quota *quota_of(const struct device *dev)
{
	return dev && dev->owner ? &dev->owner->quota : NULL;
}

/* Hand `op` to the store, charged to the device's user. The one ownership
 * rule of this file: submit() and submit_quiet() always consume the op
 * (queued, or freed after a refusal), and NULL stands for an op that could
 * not be allocated. A location or event id is used up (ctx->last_*_id
 * moves on) only when its op is queued. A refusal is counted and logged.
 * True when queued. */
static bool submit(struct mt_ctx *ctx, struct store_op *op, struct device *dev,
		   const struct mosquitto_evt_message *ed)
{
	enum store_submit_result r;
	enum store_op_kind kind;
	char reason[128];

	if (!op) {
		reject(ctx, ed, REJ_BUFFER_FULL, "out of memory");
		return false;
	}
	kind = op->kind; /* once queued, the op is the writer thread's */
	r = store_submit(ctx->store, op, quota_of(dev));
	if (r == STORE_OK) {
		if (kind == STORE_EVENT)
			ctx->last_event_id++;
		else if (kind == STORE_LOCATION)
			ctx->last_location_id++;
		return true;
	}
	free(op);
	if (r == STORE_SHARE_FULL) {
		snprintf(reason, sizeof(reason),
			 "this user's share of the storage buffer (%zu rows) is full",
			 ctx->cfg.buffer_per_user);
		reject(ctx, ed, REJ_USER_SHARE, reason);
	} else {
		reject(ctx, ed, REJ_BUFFER_FULL, "storage buffer is full");
	}
	return false;
}

/* Like submit() for ops nobody is waiting for (status, last_seen) and
 * that use no id: a refusal is counted by the store, not logged per op. */
static bool submit_quiet(struct mt_ctx *ctx, struct store_op *op, struct device *dev)
{
	if (!op)
		return false;
	if (store_submit(ctx->store, op, quota_of(dev)) == STORE_OK)
		return true;
	free(op);
	return false;
}

static void set_online(struct mt_ctx *ctx, struct device *dev, bool online, int64_t now)
{
	struct store_op *op;

	if (dev->online == online || ctx->importing)
		return; /* an import is history, not the device's state */
	op = store_op_new(STORE_DEVICE_STATUS, 0);
	if (!op)
		return;
	op->device_id = dev->id;
	op->online = online;
	op->received_at = now;
	if (!submit_quiet(ctx, op, dev))
		return;
	dev->online = online;
	jbuf_reset(&ctx->out);
	dataobj_status(&ctx->out, dev->id, dev->user, dev->device, online, now);
	publish_out(ctx, "status", dev->user, dev->device, false);
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
	if (!submit(ctx, op, dev, ed))
		return false;
	dev->persisted = true;
	return true;
}

/* A new device over a limit: refused, counted, logged (rate-limited). */
static void refuse_device(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			  const char *user, bool per_user)
{
	char reason[160], u[UTF8_LOG_LEN(LOG_STR)];

	if (per_user)
		snprintf(reason, sizeof(reason),
			 "user '%s' has %zu devices, the limit (plugin_opt_max_devices_per_user)",
			 utf8_log_escape(u, sizeof(u), user, strnlen(user, LOG_STR)),
			 ctx->cfg.max_devices_per_user);
	else
		snprintf(reason, sizeof(reason),
			 "%zu devices known, the limit (plugin_opt_max_devices)",
			 ctx->devices.count);
	reject(ctx, ed, REJ_DEVICE_CAP, reason);
}

static void log_new_device(struct mt_ctx *ctx, const struct device *dev)
{
	char u[UTF8_LOG_LEN(LOG_STR)], d[UTF8_LOG_LEN(LOG_STR)];
	unsigned before;
	bool log;

	log = ratelimit_allow(&ctx->new_device_rl, now_s(), NEW_DEVICE_LOG_BURST,
			      REJECT_LOG_PERIOD_S, &before);
	if (before)
		mosquitto_log_printf(MOSQ_LOG_INFO, "mytracks: %u more new devices not logged",
				     before);
	if (log)
		mosquitto_log_printf(
			MOSQ_LOG_INFO, "mytracks: new device %" PRId64 " '%s/%s'", dev->id,
			utf8_log_escape(u, sizeof(u), dev->user, strnlen(dev->user, LOG_STR)),
			utf8_log_escape(d, sizeof(d), dev->device, strnlen(dev->device, LOG_STR)));
}

/* The device of topic `t`, created (within the limits) if new. NULL when it
 * cannot be had: refused and counted, the report is to be refused. */
static struct device *find_or_add(struct mt_ctx *ctx, const struct ot_topic *t, int64_t now,
				  const struct mosquitto_evt_message *ed)
{
	struct device *dev = devices_find(&ctx->devices, t->user, t->device);

	if (!dev) {
		struct mt_user *owner;

		if (ctx->devices.count >= ctx->cfg.max_devices) {
			refuse_device(ctx, ed, t->user, false);
			return NULL;
		}
		owner = users_get(&ctx->users, t->user);
		if (owner && owner->devices >= ctx->cfg.max_devices_per_user) {
			refuse_device(ctx, ed, t->user, true);
			return NULL;
		}
		if (owner && shared(ctx)) {
			int64_t id = store_device_id(ctx->store, t->user, t->device, now);

			if (id < 0) {
				reject(ctx, ed, REJ_BUFFER_FULL,
				       "the database cannot be reached to add a new device");
				return NULL;
			}
			dev = devices_add(&ctx->devices, id, t->user, t->device);
			if (dev)
				dev->persisted = true; /* its row is there */
		} else {
			dev = owner ? devices_add(&ctx->devices, 0, t->user, t->device) : NULL;
		}
		if (!dev) {
			reject(ctx, ed, REJ_BUFFER_FULL, "out of memory");
			return NULL;
		}
		dev->owner = owner;
		owner->devices++;
		log_new_device(ctx, dev);
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

	if (now - dev->last_touch < TOUCH_INTERVAL_S || ctx->importing)
		return;
	op = store_op_new(STORE_DEVICE_TOUCH, tid ? strlen(tid) + 1 : 0);
	if (!op)
		return;
	op->device_id = dev->id;
	op->received_at = now;
	op->s2 = store_op_copy_str(op, tid);
	if (submit_quiet(ctx, op, dev))
		dev->last_touch = now;
}

/* The on_* handlers return false when the report could not be stored. */
static bool on_location(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
			const struct mosquitto_evt_message *ed, bool trusted, int64_t now)
{
	const struct ot_location *l = &msg->u.loc;
	struct deferred df = {.on = false};
	struct dataobj_location d;
	struct store_op *op;
	char ipbuf[64];
	const char *ip;
	size_t strings;

	if (is_duplicate(ctx, dev, l->tst)) {
		ctx->c.duplicates++;
		return true;
	}
	ip = ctx->importing ? NULL : client_ip(ctx, ed, trusted, ipbuf, sizeof(ipbuf));
	d.id = 0;
	d.device_id = dev->id;
	d.user = dev->user;
	d.device = dev->device;
	d.display_name = dev->display_name;
	d.ip_address = ip;
	d.received_at = now;
	d.loc = l;
	d.extras = &msg->extras;
	if (shared(ctx) && !ctx->importing) {
		jbuf_reset(&ctx->out);
		dataobj_location(&ctx->out, &d);
		defer_publish(ctx, &df, "locations", dev);
	}
	strings = ed->payloadlen + 1 + deferred_size(&df);
	strings += l->conn ? strlen(l->conn) + 1 : 0;
	strings += l->tid ? strlen(l->tid) + 1 : 0;
	strings += l->trigger ? strlen(l->trigger) + 1 : 0;
	strings += l->ssid ? strlen(l->ssid) + 1 : 0;
	strings += l->bssid ? strlen(l->bssid) + 1 : 0;
	strings += ip ? strlen(ip) + 1 : 0;
	op = store_op_new(STORE_LOCATION, strings);
	if (op) {
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
		op->decrypted = ctx->cur_decrypted;
		deferred_copy(op, &df);
	}
	if (!submit(ctx, op, dev, ed))
		return false;
	device_recent_add(dev, l->tst);
	if (ctx->importing) {
		ctx->c.imported++; /* stored, not news: nothing is published */
		return true;
	}
	ctx->c.accepted++;
	if (!shared(ctx)) {
		d.id = ctx->last_location_id;
		jbuf_reset(&ctx->out);
		dataobj_location(&ctx->out, &d);
		publish_out(ctx, "locations", dev->user, dev->device, false);
	}

	if (trusted)
		dev->http_seen = now;
	set_online(ctx, dev, true, now);
	touch(ctx, dev, now, l->tid);
	return true;
}

static bool on_transition(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
			  const struct mosquitto_evt_message *ed, int64_t now)
{
	struct deferred df = {.on = false};

	if (msg->tst == dev->last_tr_tst ||
	    (ctx->importing &&
	     store_event_exists(ctx->store, dev->id, msg->type_name, msg->tst) == 1)) {
		ctx->c.duplicates++;
		return true;
	}
	if (shared(ctx) && !ctx->importing) {
		jbuf_reset(&ctx->out);
		dataobj_transition(&ctx->out, 0, dev->id, dev->user, dev->device, &msg->u.tr);
		defer_publish(ctx, &df, "transitions", dev);
	}
	if (!submit(ctx, event_op(ctx, dev, msg, ed, now, &df), dev, ed))
		return false;
	ctx->c.events++;
	if (ctx->importing)
		return true; /* history: not published */
	dev->last_tr_tst = msg->tst;
	if (shared(ctx))
		return true; /* published once committed */
	jbuf_reset(&ctx->out);
	dataobj_transition(&ctx->out, ctx->last_event_id, dev->id, dev->user, dev->device,
			   &msg->u.tr);
	publish_out(ctx, "transitions", dev->user, dev->device, false);
	return true;
}

static bool on_card(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
		    const struct mosquitto_evt_message *ed, int64_t now)
{
	const struct ot_card *c = &msg->u.card;
	struct store_op *op;

	/* an imported card (the Recorder's cards/) that is already the name */
	if (ctx->importing &&
	    ((!c->name && !dev->display_name) ||
	     (c->name && dev->display_name && !strcmp(c->name, dev->display_name)))) {
		ctx->c.duplicates++;
		return true;
	}
	op = store_op_new(STORE_DEVICE_CARD,
			  (c->name ? strlen(c->name) + 1 : 0) + (c->tid ? strlen(c->tid) + 1 : 0));
	if (op) {
		op->device_id = dev->id;
		op->s1 = store_op_copy_str(op, c->name);
		op->s2 = store_op_copy_str(op, c->tid);
	}
	if (!submit(ctx, op, dev, ed))
		return false;
	if (!submit(ctx, event_op(ctx, dev, msg, ed, now, NULL), dev, ed))
		return false;
	ctx->c.events++;
	device_set_display_name(dev, c->name);
	if (ctx->importing)
		return true;
	jbuf_reset(&ctx->out);
	dataobj_card(&ctx->out, dev->id, dev->user, dev->device, c->name, c->tid);
	publish_out(ctx, "cards", dev->user, dev->device, false);
	return true;
}

int ingest_refusal(int qos, int protocol_version)
{
	/* mosquitto 2.0.11 (src/handle_publish.c): MOSQ_ERR_ACL_DENIED drops
	 * the message and answers QoS 1 with a PUBACK carrying reason 0x87 -
	 * which a v3.1.1 client cannot see, so it would take it for success.
	 * Any other error disconnects the client without a PUBACK: the
	 * client keeps the report and sends it again after reconnecting. */
	if (qos == 0 || protocol_version == 5)
		return MOSQ_ERR_ACL_DENIED;
	return MOSQ_ERR_ADMINISTRATIVE_ACTION;
}

/* The message could not be stored: tell the client (see ingest_refusal). */
static int refuse(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed)
{
	ctx->c.refused++;
	return ingest_refusal(ed->qos, mosquitto_client_protocol_version(ed->client));
}

static int ingest_plain(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			const struct ot_topic *t, bool trusted);

/* An encrypted report that cannot be opened (no key, wrong key, corrupt):
 * kept as an "encrypted" event with the ciphertext as sent, so that a key
 * added later recovers it (tools/mytracks-otcrypto). It counts as stored.
 * Logged once per device, and rate-limited. */
static int keep_undecryptable(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			      const struct ot_topic *topic, enum otcrypto_result why,
			      const char *reason)
{
	struct ot_msg msg = {.type = OT_IGNORED, .type_name = "encrypted", .tst = OT_NONE};
	char name[UTF8_LOG_LEN(2 * LOG_STR)];
	int64_t now = now_s();
	struct device *dev;
	unsigned before;

	ctx->c.undecryptable++;
	dev = find_or_add(ctx, topic, now, ed);
	if (!dev || !submit(ctx, event_op(ctx, dev, &msg, ed, now, NULL), dev, ed))
		return refuse(ctx, ed);
	ctx->c.events++;
	if (dev->undecryptable_logged)
		return MOSQ_ERR_SUCCESS;
	dev->undecryptable_logged = true;
	if (!ratelimit_allow(&ctx->crypt_rl, now, REJECT_LOG_BURST, REJECT_LOG_PERIOD_S, &before))
		return MOSQ_ERR_SUCCESS;
	snprintf(name, sizeof(name), "%s/%s", topic->user, topic->device);
	mosquitto_log_printf(MOSQ_LOG_WARNING,
			     "mytracks: an encrypted report of %s was kept undecrypted (%s): %s",
			     utf8_log_str(name, sizeof(name), name), otcrypto_result_name(why),
			     reason);
	return MOSQ_ERR_SUCCESS;
}

/* Open an encrypted report with its key (plugin_opt_keys) and ingest the
 * plaintext as if the phone had sent it: raw is the plaintext, the row is
 * marked decrypted. Anything not encrypted goes on unchanged. */
static int ingest_decrypting(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			     const struct ot_topic *topic, bool trusted)
{
	struct mosquitto_evt_message plain_ed;
	enum otcrypto_result r;
	size_t plain_len = 0;
	char reason[160];
	char *plain;
	int rc;

	/* the hot path: most reports are not encrypted */
	if (!ed->payload || !ed->payloadlen || !memmem(ed->payload, ed->payloadlen, "encrypted", 9))
		return ingest_plain(ctx, ed, topic, trusted);
	plain = malloc((size_t)ed->payloadlen + 1);
	if (!plain) {
		reject(ctx, ed, REJ_JSON, "out of memory");
		return refuse(ctx, ed);
	}
	r = otcrypto_decrypt(ctx->keys, topic->user, topic->device, ed->payload, ed->payloadlen,
			     plain, (size_t)ed->payloadlen + 1, &plain_len, reason, sizeof(reason));
	if (r != OTCRYPTO_DECRYPTED) {
		free(plain);
		return r == OTCRYPTO_PLAIN ? ingest_plain(ctx, ed, topic, trusted)
					   : keep_undecryptable(ctx, ed, topic, r, reason);
	}
	plain_ed = *ed;
	plain_ed.payload = plain;
	plain_ed.payloadlen = (uint32_t)plain_len;
	ctx->c.decrypted++;
	ctx->cur_decrypted = true;
	rc = ingest_plain(ctx, &plain_ed, topic, trusted);
	ctx->cur_decrypted = false;
	explicit_bzero(plain, plain_len);
	free(plain);
	return rc;
}

int ingest_message(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed)
{
	const char *username = mosquitto_client_username(ed->client);
	char uname[UTF8_LOG_LEN(LOG_STR)];
	struct ot_topic topic;
	bool trusted = false;
	char reason[256];

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
		snprintf(reason, sizeof(reason), "topic user differs from MQTT username '%s'",
			 utf8_log_escape(uname, sizeof(uname), username,
					 strnlen(username, LOG_STR)));
		reject(ctx, ed, REJ_FORBIDDEN, reason);
		return MOSQ_ERR_SUCCESS;
	}
	return ingest_decrypting(ctx, ed, &topic, trusted);
}

/* Parse the payload into `msg`. False when it is not a report to store:
 * counted (and, if invalid, logged) here; `msg` then holds nothing. */
static bool parse_report(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed, int64_t now,
			 struct ot_msg *msg)
{
	static const enum mt_reject why[] = {
		[OT_ERR_UTF8] = REJ_UTF8,
		[OT_ERR_JSON] = REJ_JSON,
		[OT_ERR_TYPE] = REJ_TYPE,
		[OT_ERR_FIELD] = REJ_FIELD,
	};
	char reason[256];
	enum ot_result r = ot_parse(ed->payload, ed->payloadlen, now, ctx->cfg.max_future, msg,
				    reason, sizeof(reason));

	if (r == OT_OK)
		return true;
	if (r == OT_ERR_EMPTY)
		ctx->c.ignored++; /* clears a retained message */
	else
		reject(ctx, ed, why[r], reason);
	return false;
}

/* Is a parsed report one to store? Counts or rejects the others. */
static bool is_wanted(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
		      const struct ot_topic *topic, const struct ot_msg *msg)
{
	char sub[UTF8_LOG_LEN(LOG_STR)], reason[256];

	if (msg->type == OT_IGNORED || (ctx->importing && msg->type != OT_LOCATION &&
					msg->type != OT_TRANSITION && msg->type != OT_CARD)) {
		ctx->c.ignored++; /* an import keeps locations, transitions and cards */
		return false;
	}
	if (msg->type == OT_LOCATION && topic->sub[0]) {
		snprintf(reason, sizeof(reason), "location on sub-topic '%s'",
			 utf8_log_escape(sub, sizeof(sub), topic->sub,
					 strnlen(topic->sub, LOG_STR)));
		reject(ctx, ed, REJ_TOPIC, reason);
		return false;
	}
	return true;
}

/* Hand the report to its handler. False when it could not be stored. */
static bool store_report(struct mt_ctx *ctx, struct device *dev, const struct ot_msg *msg,
			 const struct mosquitto_evt_message *ed, bool trusted, int64_t now)
{
	bool stored;

	switch (msg->type) {
	case OT_LOCATION:
		return on_location(ctx, dev, msg, ed, trusted, now);
	case OT_TRANSITION:
		return on_transition(ctx, dev, msg, ed, now);
	case OT_CARD:
		return on_card(ctx, dev, msg, ed, now);
	case OT_LWT:
		stored = submit(ctx, event_op(ctx, dev, msg, ed, now, NULL), dev, ed);
		if (stored) {
			ctx->c.events++;
			set_online(ctx, dev, false, now);
		}
		return stored;
	default: /* waypoint(s) */
		stored = submit(ctx, event_op(ctx, dev, msg, ed, now, NULL), dev, ed);
		if (stored)
			ctx->c.events++;
		return stored;
	}
}

/* A plaintext report: parse, check, find its device, store, publish. */
static int ingest_plain(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed,
			const struct ot_topic *topic, bool trusted)
{
	int64_t now = now_s();
	bool stored = true;
	struct device *dev;
	struct ot_msg msg;

	if (!parse_report(ctx, ed, now, &msg))
		return MOSQ_ERR_SUCCESS;
	if (is_wanted(ctx, ed, topic, &msg)) {
		dev = find_or_add(ctx, topic, now, ed);
		if (dev) {
			if (!trusted && !ctx->importing)
				dev->client = ed->client;
			stored = store_report(ctx, dev, &msg, ed, trusted, now);
		} else {
			stored = false;
		}
	}
	ot_msg_free(&msg);
	return stored ? MOSQ_ERR_SUCCESS : refuse(ctx, ed);
}

enum import_outcome ingest_import(struct mt_ctx *ctx, const void *client, const char *user,
				  const char *device, const char *payload, size_t len, char *why,
				  size_t whylen)
{
	struct mosquitto_evt_message ed;
	struct mt_counters before = ctx->c;
	char topic[2 * OT_NAME_MAX + 160];
	struct ot_topic t;
	int rc;

	why[0] = '\0';
	if ((size_t)snprintf(topic, sizeof(topic), "%s/%s/%s", ctx->cfg.input_prefix, user,
			     device) >= sizeof(topic) ||
	    ot_topic_parse(topic, ctx->cfg.input_prefix, &t, why, whylen) != OT_OK || t.sub[0] ||
	    strcmp(t.user, user) || strcmp(t.device, device)) {
		if (!why[0])
			snprintf(why, whylen, "not a valid user and device name");
		return IMPORT_REJECTED;
	}
	if (len > ctx->cfg.max_payload) {
		snprintf(why, whylen, "message of %zu bytes is over the limit of %zu", len,
			 ctx->cfg.max_payload);
		return IMPORT_REJECTED;
	}
	memset(&ed, 0, sizeof(ed));
	ed.client = (struct mosquitto *)client;
	ed.topic = topic;
	ed.payload = (void *)payload;
	ed.payloadlen = (uint32_t)len;
	ed.qos = 1;
	ctx->importing = true;
	ctx->import_why = why;
	ctx->import_why_len = whylen;
	rc = ingest_decrypting(ctx, &ed, &t, false);
	ctx->importing = false;
	ctx->import_why = NULL;
	if (ctx->c.rejected_by[REJ_BUFFER_FULL] > before.rejected_by[REJ_BUFFER_FULL] ||
	    ctx->c.rejected_by[REJ_USER_SHARE] > before.rejected_by[REJ_USER_SHARE])
		return IMPORT_BUSY;
	if (ctx->c.rejected > before.rejected || rc != MOSQ_ERR_SUCCESS) {
		if (!why[0])
			snprintf(why, whylen, "refused");
		return IMPORT_REJECTED;
	}
	if (ctx->c.imported > before.imported)
		return IMPORT_STORED;
	if (ctx->c.events > before.events)
		return IMPORT_EVENT;
	if (ctx->c.duplicates > before.duplicates)
		return IMPORT_DUPLICATE;
	return IMPORT_IGNORED;
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
	set_online(a->ctx, dev, false, now_s());
}

struct tick_arg {
	struct mt_ctx *ctx;
	int64_t now;
};

static void offline_if_quiet(void *arg, struct device *dev)
{
	struct tick_arg *a = arg;

	if (dev->online && !dev->client && dev->http_seen &&
	    a->now - dev->http_seen >= a->ctx->cfg.http_online_window)
		set_online(a->ctx, dev, false, a->now);
}

void ingest_tick(struct mt_ctx *ctx)
{
	struct tick_arg a = {ctx, now_s()};

	if (a.now == ctx->online_checked)
		return; /* the tick comes many times a second: look once a second */
	ctx->online_checked = a.now;
	devices_each(&ctx->devices, offline_if_quiet, &a);
}

void ingest_disconnect(struct mt_ctx *ctx, const void *client)
{
	struct disconnect_arg a = {ctx, client};

	devices_each(&ctx->devices, offline_if_client, &a);
}
