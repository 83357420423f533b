/* broker_stubs: stand-ins for the mosquitto broker functions the plugin's
 * message path calls, recording what it published and logged (as
 * the stub files of Mosquitto's own unit tests do), so that plugin/ingest.c,
 * publish.c, stats.c and control.c run in a unit test without a broker.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_BROKER_STUBS_H
#define MYTRACKS_BROKER_STUBS_H

#include <stdbool.h>
#include <stddef.h>

/* A client as the stubs see it: what mosquitto_client_*() answer. A
 * `struct mosquitto *` in a test event points to one of these. */
struct stub_client {
	const char *id, *username, *address;
	int protocol_version; /* 4 (MQTT 3.1.1) or 5 */
};

#define STUB_MAX 64

struct stub_published {
	char topic[256];
	char *payload; /* NUL-terminated copy */
	size_t len;
	bool retain;
};

/* Everything recorded since stub_reset(). */
extern struct stub_published stub_pub[STUB_MAX];
extern size_t stub_npub;
extern char stub_log[16384]; /* every log line, one per line */

void stub_reset(void);
/* The last publish on `topic`, or NULL. */
const struct stub_published *stub_find(const char *topic);
/* How many publishes went to topics starting with `prefix`. */
size_t stub_count(const char *prefix);

#endif
