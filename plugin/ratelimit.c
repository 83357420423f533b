/* ratelimit: at most `burst` log lines per `period` seconds for one condition.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "ratelimit.h"

bool ratelimit_allow(struct ratelimit *rl, int64_t now, unsigned burst, int64_t period,
		     unsigned *suppressed_before)
{
	*suppressed_before = 0;
	if (now - rl->window_start >= period || now < rl->window_start) {
		*suppressed_before = rl->suppressed;
		rl->window_start = now;
		rl->lines = rl->suppressed = 0;
	}
	if (rl->lines >= burst) {
		rl->suppressed++;
		return false;
	}
	rl->lines++;
	return true;
}
