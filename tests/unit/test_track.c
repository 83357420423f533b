/* test_track: distances, bad-fix filtering and thinning.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include "track.h"

static struct ot_location fix(double lat, double lon, int64_t tst, int64_t acc)
{
	struct ot_location l = {.lat = lat, .lon = lon, .tst = tst, .acc = acc};
	return l;
}

static void test_distance(void)
{
	/* one degree of latitude: 111.195 km on the mean sphere */
	CU_ASSERT_DOUBLE_EQUAL(track_distance_m(0, 0, 1, 0), 111194.93, 0.5);
	CU_ASSERT_DOUBLE_EQUAL(track_distance_m(52.5, 13.4, 52.5, 13.4), 0, 1e-9);
	/* Berlin - Paris, about 878 km */
	CU_ASSERT_DOUBLE_EQUAL(track_distance_m(52.520008, 13.404954, 48.856613, 2.352222) / 1000,
			       877.5, 1.5);
	/* across the antimeridian is the short way */
	CU_ASSERT_DOUBLE_EQUAL(track_distance_m(0, 179.5, 0, -179.5), 111194.93, 0.5);
	/* antipodes: half the circumference, no NaN */
	CU_ASSERT_DOUBLE_EQUAL(track_distance_m(0, 0, 0, 180), 3.14159265 * TRACK_EARTH_RADIUS_M,
			       1);
}

static void test_filters(void)
{
	struct track_filter f = {.max_acc = 100, .max_speed_kmh = 300};
	struct track_state t;
	struct ot_location l;

	track_start(&t);
	l = fix(0, 0, 1000, 10);
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP);
	l = fix(0, 0.01, 1060, OT_NONE); /* 1.1 km in a minute: 67 km/h; no acc is fine */
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP);
	l = fix(0, 0.02, 1120, 500); /* inaccurate */
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_BAD_ACCURACY);
	l = fix(1, 0.02, 1180, 20); /* 111 km in two minutes from the last good fix */
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_JUMP);
	l = fix(0, 0.03, 1240, 20); /* back on the road */
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP);
	CU_ASSERT_EQUAL(t.kept, 3);
	CU_ASSERT_EQUAL(t.dropped_acc, 1);
	CU_ASSERT_EQUAL(t.dropped_jump, 1);
	/* the distance runs along the good fixes only */
	CU_ASSERT_DOUBLE_EQUAL(t.distance_m, track_distance_m(0, 0, 0, 0.03), 0.01);
	/* the same second far away is a jump, a few metres is not */
	l = fix(0, 0.03001, 1240, 20);
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP);
	l = fix(0, 1, 1240, 20);
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_JUMP);
}

static void test_restart_after_jumps(void)
{
	struct track_filter f = {.max_speed_kmh = 200};
	struct track_state t;
	struct ot_location l;
	int i;

	track_start(&t);
	/* the first fix is the bad one: the phone is really 500 km away */
	l = fix(10, 10, 1000, 0);
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP);
	for (i = 1; i < TRACK_MAX_JUMPS; i++) {
		l = fix(14.5, 10, 1000 + 60 * i, 0);
		CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_JUMP);
	}
	l = fix(14.5, 10, 1000 + 60 * TRACK_MAX_JUMPS, 0);
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP); /* start again from here */
	CU_ASSERT_DOUBLE_EQUAL(t.distance_m, 0, 1e-9);	     /* without the leap */
	l = fix(14.5, 10.001, 1000 + 60 * TRACK_MAX_JUMPS + 60, 0);
	CU_ASSERT_EQUAL(track_step(&f, &t, &l), TRACK_KEEP);
}

static void test_thinning(void)
{
	struct track_filter f = {.resolution = 60};
	struct track_state t;
	struct ot_location l;
	int i, kept = 0;

	track_start(&t);
	for (i = 0; i < 600; i += 10) { /* a fix every 10 s for 10 minutes */
		l = fix(0, i * 1e-5, 1000 + i, 5);
		kept += track_step(&f, &t, &l) == TRACK_KEEP;
	}
	CU_ASSERT_EQUAL(kept, 10);
	CU_ASSERT_EQUAL(t.thinned, 50);
	/* thinning does not shorten the distance */
	CU_ASSERT_DOUBLE_EQUAL(t.distance_m, track_distance_m(0, 0, 0, 590e-5), 0.01);
}

int init_track_tests(void)
{
	static const struct test_case cases[] = {
		{"great-circle distance", test_distance},
		{"accuracy and jump filters", test_filters},
		{"a track restarts after repeated jumps", test_restart_after_jumps},
		{"thinning by resolution", test_thinning},
		{NULL, NULL},
	};
	return add_suite("track", cases);
}
