/* ratelimit: at most `burst` log lines per `period` seconds for one condition.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Every condition a client can repeat (a rejected report, a new device, a
 * full buffer, a refused device, a bad property) gets its own struct
 * ratelimit in the plugin's context, so a flood of one cannot hide another.
 * Broker thread only; no function here logs or fails.
 */
#ifndef MYTRACKS_RATELIMIT_H
#define MYTRACKS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	int64_t window_start; /* unix s */
	unsigned lines, suppressed;
};

/* May one more line be logged at `now` (unix s)? When a new window starts,
 * *suppressed_before is set to how many lines the previous window did not
 * log (the caller logs that count first), else to 0. A refused line is
 * counted as suppressed. */
bool ratelimit_allow(struct ratelimit *rl, int64_t now, unsigned burst, int64_t period,
		     unsigned *suppressed_before);

#endif
