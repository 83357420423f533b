/* pub: OwnTracks HTTP mode, from a POST body to an MQTT publish.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "pub.h"

#include <stdio.h>
#include <string.h>

void pub_wait(struct pub *pub, struct pub_pending *p, int mid, int64_t deadline)
{
	p->mid = mid;
	p->deadline = deadline;
	lws_dll2_add_tail(&p->list, &pub->pending);
}

void pub_forget(struct pub *pub, struct pub_pending *p)
{
	if (p->list.owner == &pub->pending)
		lws_dll2_remove(&p->list);
}

struct pub_pending *pub_take(struct pub *pub, int mid)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&pub->pending))
	{
		struct pub_pending *p = lws_container_of(d, struct pub_pending, list);

		if (p->mid == mid) {
			lws_dll2_remove(&p->list);
			return p;
		}
	}
	lws_end_foreach_dll(d);
	return NULL;
}
