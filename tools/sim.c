/* sim: simulated OwnTracks phones moving on random walks.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>

#define EARTH_M_PER_DEG 111320.0
#define PI 3.14159265358979323846

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	/* splitmix64 scrambles the seed so nearby seeds give unrelated streams */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	r->s = (z ^ (z >> 31)) | 1;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double uniform(struct sim_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * sim_rng_unit(r);
}

static double cruise_speed(enum sim_mode m)
{
	switch (m) {
	case SIM_WALK:
		return 5.0;
	case SIM_BIKE:
		return 16.0;
	case SIM_CAR:
	default:
		return 45.0;
	}
}

void sim_device_init(struct sim_device *d, unsigned index, uint64_t seed, double lat0, double lon0)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	sim_rng_seed(&d->rng, seed * 1000003ULL + index);
	d->lat = lat0 + uniform(&d->rng, -0.045, 0.045);
	d->lon = lon0 + uniform(&d->rng, -0.07, 0.07);
	d->heading = uniform(&d->rng, 0, 360);
	d->mode = (enum sim_mode)(sim_rng_next(&d->rng) % 3);
	d->speed_kmh = cruise_speed(d->mode);
	d->alt = uniform(&d->rng, 30, 60);
	d->batt = uniform(&d->rng, 35, 100);
	d->tid[0] = alnum[(index / 36) % 26];
	d->tid[1] = alnum[index % 36];
	d->tid[2] = '\0';
	d->conn = (sim_rng_next(&d->rng) & 1) ? 'w' : 'm';
	d->acc = 10;
	d->tst = 0;
}

void sim_step(struct sim_device *d, int64_t tst)
{
	double dt = d->tst ? (double)(tst - d->tst) : 1.0;
	double cruise = cruise_speed(d->mode), dist, rad;

	if (dt < 1.0)
		dt = 1.0;
	if (dt > 600.0)
		dt = 600.0;
	d->tst = tst;

	/* Turn a little each step and now and then at a corner. */
	d->heading += uniform(&d->rng, -12, 12);
	if (sim_rng_unit(&d->rng) < 0.03)
		d->heading += (sim_rng_next(&d->rng) & 1) ? 90 : -90;
	d->heading = fmod(d->heading + 360.0, 360.0);

	/* Speed wanders around the cruise speed; sometimes the device stops. */
	d->speed_kmh += uniform(&d->rng, -0.15, 0.15) * cruise;
	if (sim_rng_unit(&d->rng) < 0.02)
		d->speed_kmh = 0;
	if (d->speed_kmh < 0)
		d->speed_kmh = 0;
	if (d->speed_kmh > 1.8 * cruise)
		d->speed_kmh = 1.8 * cruise;
	if (d->speed_kmh < 0.2 * cruise && sim_rng_unit(&d->rng) < 0.3)
		d->speed_kmh = cruise;

	dist = d->speed_kmh / 3.6 * dt;
	rad = d->heading * PI / 180.0;
	d->lat += dist * cos(rad) / EARTH_M_PER_DEG;
	d->lon += dist * sin(rad) / (EARTH_M_PER_DEG * cos(d->lat * PI / 180.0));
	if (d->lat > 89.0)
		d->lat = 89.0;
	if (d->lat < -89.0)
		d->lat = -89.0;
	if (d->lon > 180.0)
		d->lon -= 360.0;
	if (d->lon < -180.0)
		d->lon += 360.0;

	d->alt += uniform(&d->rng, -1.0, 1.0);
	d->acc = 3 + (int)(sim_rng_next(&d->rng) % 28);
	/* About 10 % per hour; a charger appears at 15 %. */
	d->batt -= dt * (10.0 / 3600.0);
	if (d->batt < 15.0)
		d->batt = 100.0;
	if (sim_rng_unit(&d->rng) < 0.005)
		d->conn = d->conn == 'w' ? 'm' : 'w';
}

int sim_format(const struct sim_device *d, int64_t created_at, char *buf, size_t cap)
{
	int acc = d->acc;
	int vel = (int)lround(d->speed_kmh);
	int n;

	/* Phones leave out vel and cog when they are zero. */
	if (vel > 0)
		n = snprintf(buf, cap,
			     "{\"_type\":\"location\",\"lat\":%.6f,\"lon\":%.6f,\"tst\":%lld,"
			     "\"acc\":%d,\"alt\":%d,\"vel\":%d,\"cog\":%d,\"batt\":%d,\"bs\":1,"
			     "\"conn\":\"%c\",\"tid\":\"%s\",\"m\":1,\"created_at\":%lld}",
			     d->lat, d->lon, (long long)d->tst, acc, (int)lround(d->alt), vel,
			     (int)lround(d->heading) % 360, (int)d->batt, d->conn, d->tid,
			     (long long)created_at);
	else
		n = snprintf(buf, cap,
			     "{\"_type\":\"location\",\"lat\":%.6f,\"lon\":%.6f,\"tst\":%lld,"
			     "\"acc\":%d,\"alt\":%d,\"batt\":%d,\"bs\":1,"
			     "\"conn\":\"%c\",\"tid\":\"%s\",\"m\":1,\"created_at\":%lld}",
			     d->lat, d->lon, (long long)d->tst, acc, (int)lround(d->alt),
			     (int)d->batt, d->conn, d->tid, (long long)created_at);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
