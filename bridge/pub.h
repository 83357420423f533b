/* pub: OwnTracks HTTP mode, from a POST body to an MQTT publish.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The bridge republishes the phone's body unchanged on
 * <input-prefix>/<user>/<device> at QoS 1 and answers the phone once the
 * broker acknowledged it. `struct pub` keeps the reports waiting for their
 * PUBACK (lws thread only).
 */
#ifndef MYTRACKS_BRIDGE_PUB_H
#define MYTRACKS_BRIDGE_PUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "config.h"

/* Most reports waiting for a PUBACK at once; more get 503. */
#define PUB_MAX_PENDING 4096

struct pub_pending {
	struct lws_dll2 list; /* in pub.pending while waiting */
	int mid;
	int64_t deadline; /* lws_now_secs() after which we give up */
};

struct pub {
	struct lws_dll2_owner pending;
};

/* Wait for the PUBACK of message `mid` until `deadline` (lws_now_secs()):
 * `p` (owned by the caller, inside its HTTP session) joins the list. Cannot
 * fail; the caller checks PUB_MAX_PENDING first. */
void pub_wait(struct pub *pub, struct pub_pending *p, int mid, int64_t deadline);
/* Stop waiting (the client went away, or was answered otherwise). Safe
 * when `p` is not waiting. */
void pub_forget(struct pub *pub, struct pub_pending *p);
static inline bool pub_waiting(const struct pub_pending *p)
{
	return p->list.owner != NULL;
}
/* The waiting report with this message id (removed from the list), or NULL. */
struct pub_pending *pub_take(struct pub *pub, int mid);

#endif
