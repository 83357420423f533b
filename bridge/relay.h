/* relay: the ring of framed messages with one read position per client.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Every message is framed once (by the MQTT thread) and the same bytes go
 * to every WebSocket client. The ring keeps the newest messages, at most
 * `max_msgs` and `max_bytes`; each client has the sequence number of the
 * next message it needs. When the ring is full, the caller either waits
 * for the clients that still need the oldest message (relay_oldest_needed)
 * or cuts them off; relay_push then evicts what nobody needs any more.
 * No locking: the lws thread alone uses it.
 */
#ifndef MYTRACKS_BRIDGE_RELAY_H
#define MYTRACKS_BRIDGE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "queue.h"

struct relay_client {
	struct lws_dll2 list; /* in relay.clients */
	struct lws *wsi;
	uint64_t next;	     /* sequence number of the next message to send */
	lws_usec_t progress; /* last write, or last time it was up to date */
	bool welcomed;
};

struct relay {
	struct msg **slots; /* slots[seq % max_msgs] */
	size_t max_msgs, max_bytes, bytes;
	uint64_t head; /* sequence number the next push gets */
	uint64_t tail; /* oldest sequence number still held */
	struct lws_dll2_owner clients;
};

/* An empty ring for at most `max_msgs` messages and `max_bytes` bytes of
 * frames (one message larger than `max_bytes` is still held, alone).
 * Returns 0, or -1 when out of memory (nothing to free then). */
int relay_init(struct relay *r, size_t max_msgs, size_t max_bytes);
/* Free every held message and the slots. Clients must have been removed. */
void relay_free(struct relay *r);

/* True when appending `len` bytes would evict the oldest message. */
bool relay_full(const struct relay *r, size_t len);
/* True when some client still needs the oldest message held. */
bool relay_oldest_needed(const struct relay *r);
/* Take ownership of `m` and append it, evicting the oldest messages as the
 * limits require (clients that needed them are then lagging: see
 * relay_lagging()). */
void relay_push(struct relay *r, struct msg *m);

/* Start `c` (storage owned by the caller, e.g. the per-session data of
 * `wsi`) at the next message pushed: a client never gets older ones. */
void relay_add(struct relay *r, struct relay_client *c, struct lws *wsi);
/* Stop tracking `c`. Safe to call twice, or for a client never added. */
void relay_remove(struct relay *r, struct relay_client *c);

static inline bool relay_lagging(const struct relay *r, const struct relay_client *c)
{
	return c->next < r->tail;
}
/* The next message for `c` (still owned by the ring: valid until the next
 * relay_push), or NULL when it is up to date (or lagging). Does not
 * advance: call relay_consumed() once it is written. */
struct msg *relay_peek(const struct relay *r, const struct relay_client *c);
static inline void relay_consumed(struct relay_client *c)
{
	c->next++;
}

#endif
