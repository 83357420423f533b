/* sim: simulated OwnTracks phones moving on random walks.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * No I/O: a device is a small struct advanced by sim_step() and rendered
 * as an OwnTracks `location` JSON payload by sim_format(). Deterministic
 * for a given seed and device index.
 */
#ifndef MYTRACKS_SIM_H
#define MYTRACKS_SIM_H

#include <stddef.h>
#include <stdint.h>

struct sim_rng {
	uint64_t s;
};

/* Seed a generator; any seed (including 0) is fine. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
/* Uniform 64-bit value. */
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform double in [0, 1). */
double sim_rng_unit(struct sim_rng *r);

enum sim_mode { SIM_WALK, SIM_BIKE, SIM_CAR };

struct sim_device {
	struct sim_rng rng;
	double lat, lon;  /* degrees */
	double heading;	  /* degrees, 0 = north */
	double speed_kmh; /* current speed */
	double alt;	  /* metres */
	double batt;	  /* percent, fractional so it drains slowly */
	int acc;	  /* horizontal accuracy of the last fix, metres */
	enum sim_mode mode;
	char tid[3]; /* two-character tracker id */
	char conn;   /* 'w' or 'm' */
	int64_t tst; /* tst of the last report, 0 before the first */
};

/* Start device number `index` near (lat0, lon0), within about 5 km. */
void sim_device_init(struct sim_device *d, unsigned index, uint64_t seed, double lat0, double lon0);

/* Move the device to fix time `tst` (seconds). The next tst must be
 * greater than the last one; the walk advances by the elapsed time,
 * at least one second. */
void sim_step(struct sim_device *d, int64_t tst);

/* Render the current state as an OwnTracks location; `created_at` is the
 * wall-clock second the message is built. Returns the length written
 * (excluding the NUL) or -1 if `cap` is too small. */
int sim_format(const struct sim_device *d, int64_t created_at, char *buf, size_t cap);

#endif
