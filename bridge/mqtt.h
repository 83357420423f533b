/* mqtt: the bridge's connection to the broker (libmosquitto, own thread).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The libmosquitto thread subscribes to <prefix>/# (and to the answers to
 * its control requests) at QoS 1 on every (re)connection, frames each relayable message once as
 *   {"type":"<type>","data":<payload>}
 * and hands it to the lws thread through the bridge's queue, as it does
 * with PUBACKs and connection changes. Reconnection uses exponential
 * backoff (1 s doubling to 8 s).
 */
#ifndef MYTRACKS_BRIDGE_MQTT_H
#define MYTRACKS_BRIDGE_MQTT_H

#include <stddef.h>

struct bridge;
struct mqtt_link;

/* Create the client and start its thread; the first connection attempt
 * happens in the background if the broker is not there yet. Returns NULL
 * (after logging) on a configuration error. */
struct mqtt_link *mqtt_start(struct bridge *b);
/* Disconnect, join the thread and free. */
void mqtt_stop(struct mqtt_link *m);

enum mqtt_pub_result {
	MQTT_PUB_OK = 0,
	MQTT_PUB_NO_CONN,
	MQTT_PUB_ERROR,
};

/* Publish an HTTP-mode report at QoS 1 (MQTT v5) with the user property
 * mytracks-ip = `ip`. Thread-safe. On success `*mid` identifies the PUBACK
 * that will arrive as a MSG_PUBACK queue message. */
enum mqtt_pub_result mqtt_publish_report(struct mqtt_link *m, const char *topic, const void *body,
					 size_t len, const char *ip, int *mid);

/* Publish control request number `n` (docs/control.md) at QoS 1; its
 * answer arrives as a MSG_REPLY queue message with mid = n. Thread-safe. */
enum mqtt_pub_result mqtt_control_request(struct mqtt_link *m, int n, const void *body, size_t len);

#endif
