/* mqtt: the bridge's connection to the broker (libmosquitto, own thread).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "mqtt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "bridge.h"
#include "log.h"
#include "utf8.h"

#define KEEPALIVE_S 30
#define SUB_MID_NONE (-1)

struct mqtt_link {
	struct mosquitto *mosq;
	struct bridge *b;
	char filter[80]; /* <prefix>/# */
	char prefix[80]; /* <prefix>/ */
	size_t prefix_len;
	int sub_mid; /* the pending SUBSCRIBE, or SUB_MID_NONE */
	bool lib_init;
	/* control requests (docs/control.md): ours go out on <req>N and are
	 * answered on <reply>N; <token> tells this bridge from the others */
	char req[160], reply[160], reply_filter[162];
	size_t reply_len;
};

/* What a topic under the prefix is relayed as. */
static const struct {
	const char *sub; /* topic level after the prefix, with its '/' */
	const char *type;
} kinds[] = {
	{"locations/", "location"}, {"status/", "device_status"}, {"transitions/", "transition"},
	{"cards/", "card"},	    {"deleted/", "deleted"},
};

static void push_control(struct mqtt_link *m, enum msg_kind kind, int mid, int reason)
{
	struct msg *msg = msg_new(kind, 0);

	if (!msg) {
		log_err("mqtt", "out of memory");
		return;
	}
	msg->mid = mid;
	msg->reason = reason;
	queue_push(&m->b->queue, msg);
}

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc, int flags,
			  const mosquitto_property *props)
{
	struct mqtt_link *m = obj;
	char *const filters[2] = {m->filter, m->reply_filter};
	int mid;

	(void)flags;
	(void)props;
	if (rc) {
		log_warn("mqtt", "broker refused the connection: %s", mosquitto_reason_string(rc));
		return;
	}
	rc = mosquitto_subscribe_multiple(mosq, &mid, 2, filters, 1, 0, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_err("mqtt", "cannot subscribe to %s and %s: %s", m->filter, m->reply_filter,
			mosquitto_strerror(rc));
		return;
	}
	m->sub_mid = mid;
	log_debug("mqtt", "connected, subscribing to %s", m->filter);
}

static void on_subscribe_cb(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			    const int *granted, const mosquitto_property *props)
{
	struct mqtt_link *m = obj;

	(void)mosq;
	(void)props;
	if (mid != m->sub_mid)
		return;
	m->sub_mid = SUB_MID_NONE;
	if (qos_count < 1 || granted[0] > 2) {
		log_err("mqtt", "subscription to %s refused (reason %d)", m->filter,
			qos_count ? granted[0] : -1);
		return;
	}
	/* without it the live map works, deletes do not: say so */
	if (qos_count < 2 || granted[1] > 2)
		log_warn("mqtt", "subscription to %s refused (reason %d): deletes will time out",
			 m->reply_filter, qos_count > 1 ? granted[1] : -1);
	push_control(m, MSG_UP, 0, 0);
}

static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc,
			     const mosquitto_property *props)
{
	struct mqtt_link *m = obj;

	(void)mosq;
	(void)props;
	m->sub_mid = SUB_MID_NONE;
	push_control(m, MSG_DOWN, 0, rc);
}

static void on_publish_cb(struct mosquitto *mosq, void *obj, int mid, int reason,
			  const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	push_control(obj, MSG_PUBACK, mid, reason);
}

/* The payload must look like one JSON object: valid UTF-8 without NUL,
 * '{' first and '}' last (ignoring whitespace). The plugin's objects always
 * do; anything else would break the frame for every client. */
static bool relayable(const char *p, size_t len)
{
	size_t a = 0, b = len;

	while (a < b && strchr(" \t\r\n", p[a]))
		a++;
	while (b > a && strchr(" \t\r\n", p[b - 1]))
		b--;
	return b - a >= 2 && p[a] == '{' && p[b - 1] == '}' && utf8_valid(p, len);
}

static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props)
{
	struct mqtt_link *m = obj;
	const struct bridge_config *cfg = m->b->cfg;
	const char *rest, *type = NULL, *user, *device;
	size_t ul, dl, i, len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, tl;
	struct msg *out;
	unsigned char *p;

	(void)mosq;
	(void)props;
	if (!strncmp(msg->topic, m->reply, m->reply_len)) {
		char *end;
		long n = strtol(msg->topic + m->reply_len, &end, 10);

		if (*end || n <= 0 || n > INT32_MAX || len > cfg->max_message)
			return;
		out = msg_new(MSG_REPLY, len);
		if (!out)
			return;
		out->mid = (int)n;
		memcpy(msg_data(out), msg->payload, len);
		out->len = len;
		queue_push(&m->b->queue, out);
		return;
	}
	if (strncmp(msg->topic, m->prefix, m->prefix_len))
		return;
	rest = msg->topic + m->prefix_len;
	if (!strcmp(rest, "stats")) {
		if (len > cfg->max_message)
			return;
		out = msg_new(MSG_STATS, len);
		if (!out)
			return;
		memcpy(msg_data(out), msg->payload, len);
		queue_push(&m->b->queue, out);
		return;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(rest, kinds[i].sub, strlen(kinds[i].sub)))
			type = kinds[i].type;
	/* a retained message is an old one replayed on subscribe: not news */
	if (!type || msg->retain)
		return;
	if (len > cfg->max_message || !relayable(msg->payload, len)) {
		out = msg_new(MSG_RELAY, 0);
		if (out) {
			out->reason = 1; /* dropped: counted on the lws thread */
			queue_push(&m->b->queue, out);
		}
		log_warn("mqtt", "not relaying %zu-byte message on %s: %s", len, msg->topic,
			 len > cfg->max_message ? "too large" : "not a JSON object");
		return;
	}
	tl = strlen(type);
	/* the topic's user and device (mytracks/<kind>/<user>/<device>) ride
	 * along after the frame, so the lws thread can tell who may see it */
	user = strchr(rest, '/');
	user = user ? user + 1 : "";
	ul = strcspn(user, "/");
	device = user[ul] ? user + ul + 1 : "";
	dl = strlen(device);
	out = msg_new(MSG_RELAY, 9 + tl + 9 + len + 1 + ul + 1 + dl + 1);
	if (!out) {
		log_err("mqtt", "out of memory relaying a %zu-byte message", len);
		return;
	}
	p = msg_data(out);
	memcpy(p, "{\"type\":\"", 9);
	memcpy(p + 9, type, tl);
	memcpy(p + 9 + tl, "\",\"data\":", 9);
	memcpy(p + 18 + tl, msg->payload, len);
	p[18 + tl + len] = '}';
	out->len = 9 + tl + 9 + len + 1;
	p[out->len] = '\0';
	memcpy(p + out->len + 1, user, ul);
	p[out->len + 1 + ul] = '\0';
	out->user = (const char *)p + out->len + 1;
	memcpy(p + out->len + 1 + ul + 1, device, dl + 1);
	out->device = out->user + ul + 1;
	queue_push(&m->b->queue, out);
}

static void on_log_cb(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	(void)obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_warn("mqtt", "libmosquitto: %s", str);
	else
		log_debug("mqtt", "libmosquitto: %s", str);
}

static int configure(struct mqtt_link *m)
{
	const struct bridge_config *cfg = m->b->cfg;
	int rc;

	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	/* accept many QoS 1 messages in flight: the relay must keep up */
	mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
	/* An HTTP-mode report is one small PUBLISH that a phone waits on:
	 * with Nagle's algorithm it sat behind the broker's delayed ACK of the
	 * previous one (40 ms, one request in four). PUBACKs for relayed
	 * messages are small too. */
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(m->mosq, on_connect_cb);
	mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe_cb);
	mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect_cb);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish_cb);
	mosquitto_message_v5_callback_set(m->mosq, on_message_cb);
	mosquitto_log_callback_set(m->mosq, on_log_cb);
	mosquitto_reconnect_delay_set(m->mosq, 1, 8, true);
	if (cfg->mqtt_username && *cfg->mqtt_username) {
		rc = mosquitto_username_pw_set(m->mosq, cfg->mqtt_username, cfg->mqtt_password);
		if (rc) {
			log_err("mqtt", "--mqtt-username: %s", mosquitto_strerror(rc));
			return -1;
		}
	}
	if (cfg->mqtt_cafile) {
		rc = mosquitto_tls_set(m->mosq, cfg->mqtt_cafile, NULL, NULL, NULL, NULL);
		if (rc) {
			log_err("mqtt", "--mqtt-cafile %s: %s", cfg->mqtt_cafile,
				mosquitto_strerror(rc));
			return -1;
		}
	}
	return 0;
}

struct mqtt_link *mqtt_start(struct bridge *b)
{
	const struct bridge_config *cfg = b->cfg;
	struct mqtt_link *m = calloc(1, sizeof(*m));
	sigset_t block, old;
	int rc;

	if (!m)
		return NULL;
	m->b = b;
	m->sub_mid = SUB_MID_NONE;
	snprintf(m->filter, sizeof(m->filter), "%s/#", cfg->out_prefix);
	snprintf(m->prefix, sizeof(m->prefix), "%s/", cfg->out_prefix);
	m->prefix_len = strlen(m->prefix);
	{
		unsigned char rnd[8];
		char token[17];
		int i;

		if (lws_get_random(b->lws, rnd, sizeof(rnd)) != sizeof(rnd)) {
			log_err("mqtt", "no random bytes for the control topic");
			free(m);
			return NULL;
		}
		for (i = 0; i < 8; i++)
			snprintf(token + 2 * i, 3, "%02x", rnd[i]);
		snprintf(m->req, sizeof(m->req), "%s/req/bridge-%s/", cfg->control_prefix, token);
		snprintf(m->reply, sizeof(m->reply), "%s/reply/bridge-%s/", cfg->control_prefix,
			 token);
		snprintf(m->reply_filter, sizeof(m->reply_filter), "%s#", m->reply);
		m->reply_len = strlen(m->reply);
	}
	mosquitto_lib_init();
	m->lib_init = true;
	m->mosq = mosquitto_new(cfg->mqtt_client_id, true, m);
	if (!m->mosq) {
		log_err("mqtt", "cannot create the MQTT client");
		goto fail;
	}
	if (configure(m))
		goto fail;
	/* The thread first, then the connection: in libmosquitto 2.0 a thread
	 * started after a refused connect_async never retries (upstream issue
	 * #1903). Signals belong to the lws thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = mosquitto_loop_start(m->mosq);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		log_err("mqtt", "cannot start the MQTT thread: %s", mosquitto_strerror(rc));
		goto fail;
	}
	rc = mosquitto_connect_async(m->mosq, cfg->mqtt_host, cfg->mqtt_port, KEEPALIVE_S);
	if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_EAI) {
		log_err("mqtt", "--mqtt-host %s --mqtt-port %d: %s", cfg->mqtt_host, cfg->mqtt_port,
			mosquitto_strerror(rc));
		goto fail;
	}
	if (rc)
		log_warn("mqtt", "broker %s:%d not reachable yet (%s); retrying in the background",
			 cfg->mqtt_host, cfg->mqtt_port, mosquitto_strerror(rc));
	return m;
fail:
	mqtt_stop(m);
	return NULL;
}

void mqtt_stop(struct mqtt_link *m)
{
	if (!m)
		return;
	if (m->mosq) {
		mosquitto_disconnect_v5(m->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
		mosquitto_loop_stop(m->mosq, false);
		mosquitto_destroy(m->mosq);
	}
	if (m->lib_init)
		mosquitto_lib_cleanup();
	free(m);
}

/* What a mosquitto_publish_v5() return code means to the caller (logged
 * when it is neither success nor "not connected"). */
static enum mqtt_pub_result pub_result(int rc, const char *topic)
{
	if (rc == MOSQ_ERR_NO_CONN)
		return MQTT_PUB_NO_CONN;
	if (rc) {
		log_warn("mqtt", "publish to %s failed: %s", topic, mosquitto_strerror(rc));
		return MQTT_PUB_ERROR;
	}
	return MQTT_PUB_OK;
}

enum mqtt_pub_result mqtt_control_request(struct mqtt_link *m, int n, const void *body, size_t len)
{
	char topic[sizeof(m->req) + 16];
	int rc;

	snprintf(topic, sizeof(topic), "%s%d", m->req, n);
	rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, body, 1, false, NULL);
	return pub_result(rc, topic);
}

enum mqtt_pub_result mqtt_publish_report(struct mqtt_link *m, const char *topic, const void *body,
					 size_t len, const char *ip, int *mid)
{
	mosquitto_property *props = NULL;
	int rc;

	if (mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "mytracks-ip", ip))
		return MQTT_PUB_ERROR;
	rc = mosquitto_publish_v5(m->mosq, mid, topic, (int)len, body, 1, false, props);
	mosquitto_property_free_all(&props);
	return pub_result(rc, topic);
}
