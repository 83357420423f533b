/* track: distances, bad-fix filtering and thinning along a device's track.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "track.h"

#include <math.h>
#include <string.h>

double track_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

	if (a > 1)
		a = 1; /* rounding, for antipodes */
	return 2 * TRACK_EARTH_RADIUS_M * asin(sqrt(a));
}

void track_start(struct track_state *t)
{
	memset(t, 0, sizeof(*t));
}

/* Would reaching `l` from the last good fix take more than the limit? */
static bool is_jump(const struct track_filter *f, const struct track_state *t,
		    const struct ot_location *l, double d)
{
	int64_t dt;

	if (f->max_speed_kmh <= 0 || !t->have_good)
		return false;
	dt = l->tst - t->tst;
	if (dt <= 0) /* the same second: any real movement is too fast */
		return d > 1000.0 * f->max_speed_kmh / 3600.0;
	return d / (double)dt * 3.6 > f->max_speed_kmh;
}

enum track_verdict track_step(const struct track_filter *f, struct track_state *t,
			      const struct ot_location *l)
{
	double d = 0;

	if (f->max_acc > 0 && l->acc != OT_NONE && l->acc > f->max_acc) {
		t->dropped_acc++;
		return TRACK_BAD_ACCURACY;
	}
	if (t->have_good)
		d = track_distance_m(t->lat, t->lon, l->lat, l->lon);
	if (is_jump(f, t, l, d)) {
		if (++t->jumps_in_row < TRACK_MAX_JUMPS) {
			t->dropped_jump++;
			return TRACK_JUMP;
		}
		/* the phone really is elsewhere now (or the last good fix was
		 * the bad one): start again from here, without the leap */
		d = 0;
	}
	t->jumps_in_row = 0;
	t->distance_m += d;
	t->have_good = true;
	t->lat = l->lat;
	t->lon = l->lon;
	t->tst = l->tst;
	if (f->resolution > 0 && t->have_shown && l->tst - t->shown_tst < f->resolution) {
		t->thinned++;
		return TRACK_THINNED;
	}
	t->have_shown = true;
	t->shown_tst = l->tst;
	t->kept++;
	return TRACK_KEEP;
}
