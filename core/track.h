/* track: distances, bad-fix filtering and thinning along a device's track.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Feed one device's fixes in time order to track_step(); it says whether
 * each is shown. A fix is bad when its accuracy is worse than `max_acc`
 * metres, or when reaching it from the last good fix needs more than
 * `max_speed_kmh` (a jump no traveller makes: a cell-tower fix, a bad GPS
 * lock). After TRACK_MAX_JUMPS such fixes in a row the track starts
 * again from the newest (the phone really moved, or the last good fix was
 * the bad one), without counting the leap. A good fix less than `resolution` seconds after the last
 * shown one is thinned out (long ranges). The distance runs along every good fix, thinned or not,
 * so it does not change with the resolution. The stored data is never changed: this only decides
 * what a track, an export or a distance shows. Pure functions, no I/O.
 */
#ifndef MYTRACKS_TRACK_H
#define MYTRACKS_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "ot.h"

/* Fixes in a row that may be dropped as jumps before the track restarts. */
#define TRACK_MAX_JUMPS 3

/* Mean Earth radius (IUGG), metres. */
#define TRACK_EARTH_RADIUS_M 6371008.8

/* Great-circle distance in metres between two points (haversine). */
double track_distance_m(double lat1, double lon1, double lat2, double lon2);

struct track_filter {
	int64_t max_acc;      /* metres; 0: keep any accuracy */
	double max_speed_kmh; /* 0: no jump filter */
	int64_t resolution;   /* seconds between kept fixes; 0: keep all */
};

struct track_state {
	bool have_good;
	double lat, lon; /* the last good fix */
	int64_t tst;
	bool have_shown;
	int64_t shown_tst; /* the last shown fix */
	double distance_m; /* along the good fixes */
	int jumps_in_row;  /* consecutive fixes dropped as jumps */
	int64_t kept, dropped_acc, dropped_jump, thinned;
};

/* Start a new track (another device, another range). */
void track_start(struct track_state *t);

enum track_verdict {
	TRACK_KEEP,
	TRACK_BAD_ACCURACY,
	TRACK_JUMP,
	TRACK_THINNED,
};

/* Decide about the next fix of the track (fixes in time order) and count
 * it in `t`. TRACK_KEEP: show it. Never fails. */
enum track_verdict track_step(const struct track_filter *f, struct track_state *t,
			      const struct ot_location *l);

#endif
