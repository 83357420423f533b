/* relay: the ring of framed messages with one read position per client.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "relay.h"

#include <stdlib.h>
#include <string.h>

int relay_init(struct relay *r, size_t max_msgs, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->slots = calloc(max_msgs, sizeof(*r->slots));
	if (!r->slots)
		return -1;
	r->max_msgs = max_msgs;
	r->max_bytes = max_bytes;
	return 0;
}

void relay_free(struct relay *r)
{
	for (; r->tail < r->head; r->tail++)
		free(r->slots[r->tail % r->max_msgs]);
	free(r->slots);
	r->slots = NULL;
}

bool relay_full(const struct relay *r, size_t len)
{
	return r->tail < r->head &&
	       (r->head - r->tail >= r->max_msgs || r->bytes + len > r->max_bytes);
}

bool relay_oldest_needed(const struct relay *r)
{
	if (r->tail == r->head)
		return false;
	lws_start_foreach_dll(struct lws_dll2 *, d,
			      lws_dll2_get_head((struct lws_dll2_owner *)&r->clients))
	{
		const struct relay_client *c = lws_container_of(d, struct relay_client, list);

		if (c->next <= r->tail)
			return true;
	}
	lws_end_foreach_dll(d);
	return false;
}

void relay_push(struct relay *r, struct msg *m)
{
	while (relay_full(r, m->len)) {
		struct msg **slot = &r->slots[r->tail % r->max_msgs];

		r->bytes -= (*slot)->len;
		free(*slot);
		*slot = NULL;
		r->tail++;
	}
	m->next = NULL;
	r->slots[r->head % r->max_msgs] = m;
	r->bytes += m->len;
	r->head++;
}

void relay_add(struct relay *r, struct relay_client *c, struct lws *wsi)
{
	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->next = r->head;
	c->progress = lws_now_usecs();
	lws_dll2_add_tail(&c->list, &r->clients);
}

void relay_remove(struct relay *r, struct relay_client *c)
{
	if (c->list.owner == &r->clients)
		lws_dll2_remove(&c->list);
}

struct msg *relay_peek(const struct relay *r, const struct relay_client *c)
{
	if (c->next >= r->head || c->next < r->tail)
		return NULL;
	return r->slots[c->next % r->max_msgs];
}
