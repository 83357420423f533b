/* stats: the plugin's counters, logged and published on <prefix>/stats.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_STATS_H
#define MYTRACKS_STATS_H

#include "context.h"

/* On every broker tick: log new storage errors (the writer thread cannot
 * log), and publish the counters (retained) every stats_interval seconds. */
void stats_tick(struct mt_ctx *ctx);

/* The counter name of a rejection reason ("bad_field", ...), as it
 * appears in rejected_by; "unknown" for a value out of range. */
const char *mt_reject_name(enum mt_reject r);

/* Append the counters as one JSON object to ctx->out. */
void stats_format(struct mt_ctx *ctx);

#endif
