/* dataobj: the JSON objects mytracks publishes and serves.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The location data object has the seed's keys first, in the seed's order:
 *   id, device, device_name, latitude, longitude, timestamp, timestamp_unix,
 *   accuracy, altitude, velocity, battery_level, connection_type, ip_address
 * then the extra keys:
 *   user, display_name, tid, trigger, course, vertical_accuracy,
 *   battery_status, ssid, bssid, received_at,
 *   inregions, inrids, poi, tag, monitoring_mode, source
 * (inregions and inrids are arrays of strings; monitoring_mode is the
 * phone's `m`: -1 quiet, 0 manual, 1 significant, 2 move).
 * Absent numbers, strings and arrays are null. The plugin (live) and the bridge
 * (history, from database rows) both build it here, so the two always match.
 */
#ifndef MYTRACKS_DATAOBJ_H
#define MYTRACKS_DATAOBJ_H

#include "jbuf.h"
#include "ot.h"

/* Every object with a row id (a location, a transition) starts with this,
 * then the id and a comma; shared writers put the id in after the commit
 * (plugin/ingest.c, plugin/publish.c). */
#define DATAOBJ_ID_OPEN "{\"id\":"

struct dataobj_location {
	int64_t id;		  /* location row id */
	int64_t device_id;	  /* device row id */
	const char *user;	  /* topic user */
	const char *device;	  /* topic device */
	const char *display_name; /* from a card, or NULL */
	const char *ip_address;	  /* or NULL */
	int64_t received_at;	  /* unix seconds */
	const struct ot_location *loc;
	const struct ot_extras *extras; /* or NULL: all absent */
};

/* Append the location data object. Check jbuf_failed() afterwards. */
void dataobj_location(struct jbuf *b, const struct dataobj_location *d);

/* Device status (published on <out>/status/<user>/<device>):
 * {"device":1,"device_name":"u/d","user":"u","online":false,
 *  "timestamp":"...Z","timestamp_unix":N} */
void dataobj_status(struct jbuf *b, int64_t device_id, const char *user, const char *device,
		    bool online, int64_t when);

/* Transition (published on <out>/transitions/<user>/<device>):
 * {"id":N,"device":1,"device_name":"u/d","user":"u","event":"enter","desc":...,
 *  "rid":...,"latitude":"..","longitude":"..","accuracy":N,"timestamp":"..Z",
 *  "timestamp_unix":N,"trigger":...} */
void dataobj_transition(struct jbuf *b, int64_t id, int64_t device_id, const char *user,
			const char *device, const struct ot_transition *t);

/* Card (published on <out>/cards/<user>/<device>):
 * {"device":1,"device_name":"u/d","user":"u","display_name":...,"tid":...}
 * `name` and `tid` may be NULL (null). */
void dataobj_card(struct jbuf *b, int64_t device_id, const char *user, const char *device,
		  const char *name, const char *tid);

/* What a delete removed (published on <out>/deleted/<user>/<device>):
 * {"device":1,"device_name":"u/d","user":"u", then "all":true (the whole
 * device), or "id":N (one location, id > 0), or "from":T1,"to":T2, then
 * "deleted":N (rows removed)} */
void dataobj_deleted(struct jbuf *b, int64_t device_id, const char *user, const char *device,
		     bool all, int64_t id, int64_t from, int64_t to, int64_t deleted);

/* A device as GET /api/devices/ lists it:
 * {"id":1,"user":"u","device":"d","device_name":"u/d","display_name":...,
 *  "tid":...,"last_seen":"..Z"|null,"last_seen_unix":N|null,"online":bool,
 *  "last_location":{location data object}|null} */
struct dataobj_device {
	int64_t id;
	const char *user, *device;	/* never NULL */
	const char *display_name, *tid; /* or NULL */
	int64_t last_seen;		/* unix seconds, or OT_NONE */
	bool online;
	const struct dataobj_location *last; /* or NULL */
};
/* Append it to `b` (a failed append is kept in b, see jbuf.h). */
void dataobj_device(struct jbuf *b, const struct dataobj_device *d);

/* "u/d": device_name is always the topic user and device. */
void dataobj_device_name(struct jbuf *b, const char *user, const char *device);

/* Degrees with exactly six decimals, rounded to nearest (halves away from
 * zero), never "-0.000000". `out` must hold 32 bytes; returns the length. */
size_t dataobj_fixed6(double v, char out[32]);

/* ISO-8601 UTC with Z, e.g. 2024-01-15T14:30:00Z. `out` must hold 32
 * bytes; returns the length. Years outside 0000-9999 are clamped to them
 * (mytracks refuses such timestamps before they get here). */
size_t dataobj_iso8601(int64_t t, char out[32]);

#endif
