/* recobj: locations as the OwnTracks Recorder serves them (its HTTP API).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The object the Recorder's /api/0/last, /api/0/locations and /ws/last
 * carry, built from a stored row:
 *   {"_type":"location","tid":..,"lat":52.52,"lon":13.4,"tst":N,"acc":..,
 *    "alt":..,"batt":..,"vel":..,"cog":..,"vac":..,"conn":..,"t":..,
 *    "bs":..,"SSID":..,"BSSID":..,"poi":..,"inregions":[..],
 *    "topic":"owntracks/u/d","username":"u","device":"d",
 *    "isorcv":"..Z","isotst":"..Z","disptst":"YYYY-MM-DD HH:MM:SS",
 *    "name":..,"face":..}
 * Absent optional fields are left out (the Recorder leaves them out too),
 * never null; `inregions` is always an array. A `fields` list ("lat,lon")
 * keeps only the keys it names. No I/O.
 */
#ifndef MYTRACKS_RECOBJ_H
#define MYTRACKS_RECOBJ_H

#include <stdbool.h>
#include <stdint.h>

#include "jbuf.h"
#include "ot.h"

struct recobj_location {
	const char *prefix;	       /* the topic prefix, e.g. "owntracks" */
	const char *user, *device;     /* topic levels, never NULL */
	const struct ot_location *loc; /* tst, lat, lon, optional fields */
	int64_t received_at;	       /* unix seconds, or OT_NONE */
	/* a JSON array as text (from the stored report), or NULL for [];
	 * only its string elements are kept, anything else gives [] */
	const char *inregions;
	const char *poi;	 /* or NULL */
	const char *name, *face; /* the device's card, or NULL */
};

/* Append the object. `fields` is a comma-separated list of the keys to
 * keep, or NULL (or "") for all. Check jbuf_failed() afterwards. */
void recobj_location(struct jbuf *b, const struct recobj_location *r, const char *fields);

/* "YYYY-MM-DD HH:MM:SS" (UTC) of unix seconds `t`, as the Recorder's
 * `disptst`. `out` must hold 32 bytes; returns the length. */
size_t recobj_disptst(int64_t t, char out[32]);

#endif
