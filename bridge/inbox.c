/* inbox: what the MQTT thread hands over, taken in on the lws thread.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Relayed messages go into the fan-out ring (relay.c) for the WebSocket
 * clients (ws.c); control messages are handled here: PUBACKs of HTTP-mode
 * reports, the plugin's answers to deletes, the broker going up or down,
 * the plugin's stats. What is relayed also keeps HTTP mode's friends
 * (friends.c) up to date.
 */
#include "inbox.h"

#include <stdlib.h>

#include "bridge.h"
#include "http.h"
#include "log.h"
#include "ws.h"

/* With the ring full, a client that still needs its oldest message and
 * wrote nothing for INBOX_STALL_US has stopped reading: it is cut off.
 * Clients behind in a burst keep writing and are waited for, but at most
 * INBOX_SLOW_US in a row: then whoever holds the ring is too slow for the
 * others and is cut off too. */
#define INBOX_STALL_US (1500 * LWS_US_PER_MS)
#define INBOX_SLOW_US (5 * LWS_US_PER_SEC)
/* How often a waiting inbox is looked at again. */
#define INBOX_RETRY_US (100 * LWS_US_PER_MS)

/* The ring is full: cut off the clients holding its oldest message that
 * wrote nothing for INBOX_STALL_US, or all of them once messages have been
 * waiting for INBOX_SLOW_US. */
static void cut_off_stalled(struct bridge *b, lws_usec_t now)
{
	bool too_long = now - b->blocked_since > INBOX_SLOW_US;

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&b->relay.clients))
	{
		struct relay_client *c = lws_container_of(d, struct relay_client, list);

		if (c->next <= b->relay.tail && (too_long || now - c->progress > INBOX_STALL_US))
			ws_cut_off(b, c);
	}
	lws_end_foreach_dll_safe(d, d1);
}

/* Clients with nothing left to send are not stalled, however long idle. */
static void mark_caught_up(struct bridge *b, lws_usec_t now)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->relay.clients))
	{
		struct relay_client *c = lws_container_of(d, struct relay_client, list);

		if (c->next == b->relay.head)
			c->progress = now;
	}
	lws_end_foreach_dll(d);
}

static void drain_retry_cb(lws_sorted_usec_list_t *sul)
{
	inbox_drain(lws_container_of(sul, struct bridge, drain_retry));
}

static void wake_clients(struct bridge *b)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&b->relay.clients))
	{
		struct relay_client *c = lws_container_of(d, struct relay_client, list);

		lws_callback_on_writable(c->wsi);
	}
	lws_end_foreach_dll(d);
}

static void set_broker_up(struct bridge *b, bool up)
{
	if (up == b->broker_up)
		return;
	b->broker_up = up;
	b->metrics.broker_up = up;
	if (up) {
		b->metrics.broker_connects++;
		friends_invalidate(&b->friends); /* what was published meanwhile is lost */
		log_info("mqtt", "connected to %s:%d and subscribed", b->cfg->mqtt_host,
			 b->cfg->mqtt_port);
	} else {
		log_warn("mqtt", "lost the broker connection; reconnecting");
		http_reports_fail_all(b);
	}
}

/* Handle one control message, or a relay message the MQTT thread dropped. */
static void handle_control(struct bridge *b, struct msg *m)
{
	switch (m->kind) {
	case MSG_RELAY: /* dropped by the MQTT thread: only counted */
		b->metrics.mqtt_received++;
		b->metrics.mqtt_dropped++;
		friends_invalidate(&b->friends); /* it may have changed a friend */
		break;
	case MSG_STATS:
		b->metrics.mqtt_received++;
		metrics_set_plugin_stats(&b->metrics, (const char *)msg_data(m), m->len);
		break;
	case MSG_PUBACK:
		http_report_acked(b, m->mid, m->reason);
		break;
	case MSG_REPLY:
		http_control_answered(b, m->mid, (const char *)msg_data(m), m->len);
		break;
	case MSG_UP:
	case MSG_DOWN:
		set_broker_up(b, m->kind == MSG_UP);
		break;
	}
	free(m);
}

void inbox_drain(struct bridge *b)
{
	struct msg *m = queue_take_all(&b->queue);
	lws_usec_t now = lws_now_usecs();
	size_t released = 0;
	bool relayed = false;

	if (m) {
		if (b->inbox_tail)
			b->inbox_tail->next = m;
		else
			b->inbox = m;
		while (m->next)
			m = m->next;
		b->inbox_tail = m;
	}
	if (b->inbox)
		mark_caught_up(b, now);
	while ((m = b->inbox)) {
		bool relay = m->kind == MSG_RELAY && !m->reason;

		if (relay && relay_full(&b->relay, m->len)) {
			if (!b->blocked_since)
				b->blocked_since = now;
			cut_off_stalled(b, now);
			if (relay_oldest_needed(&b->relay)) {
				/* a client is behind: wait for its writes, or its stall */
				lws_sul_schedule(b->lws, 0, &b->drain_retry, drain_retry_cb,
						 INBOX_RETRY_US);
				break;
			}
		}
		b->inbox = m->next;
		if (!b->inbox)
			b->inbox_tail = NULL;
		released += m->len;
		if (!relay) {
			handle_control(b, m);
			continue;
		}
		b->metrics.mqtt_received++;
		b->metrics.relayed++;
		friends_relayed_msg(&b->friends, m);
		relay_push(&b->relay, m);
		relayed = true;
	}
	if (!b->inbox)
		b->blocked_since = 0;
	queue_release(&b->queue, released);
	if (relayed)
		wake_clients(b);
}

void inbox_drop(struct bridge *b)
{
	struct msg *m, *next;

	for (m = b->inbox; m; m = next) {
		next = m->next;
		free(m);
	}
	b->inbox = b->inbox_tail = NULL;
}
