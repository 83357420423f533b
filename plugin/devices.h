/* devices: the plugin's in-memory view of known devices, keyed by user/device.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Owned by the broker thread. Holds what the hot path needs without a
 * database read: the device id, its online state, and the timestamps of its
 * most recent locations for duplicate detection.
 */
#ifndef MYTRACKS_DEVICES_H
#define MYTRACKS_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_user;

#define DEVICE_RECENT 64 /* recent tst values remembered per device */

struct device {
	struct device *next; /* hash chain */
	int64_t id;
	char *user, *device; /* one allocation, owned */
	char *display_name;  /* owned, or NULL */
	bool online;
	bool persisted;	    /* its row is in the database or queued */
	const void *client; /* the MQTT client that last published for it */
	int64_t http_seen;  /* its last location through the bridge (HTTP mode), unix s; 0: none */
	struct mt_user *owner; /* its user's limits (users.h), not owned */
	int64_t max_tst;       /* newest tst stored, 0 if none */
	int64_t recent[DEVICE_RECENT];
	unsigned recent_pos, recent_count;
	int64_t last_touch;	   /* when last_seen was last written (unix s) */
	int64_t last_tr_tst;	   /* last transition's tst, for duplicates */
	bool undecryptable_logged; /* an encrypted report it sent was kept undecrypted */
	uint32_t hash;
};

struct devices {
	struct device **buckets;
	size_t nbuckets, count;
	int64_t max_id;
};

/* An empty table. 0, or -1 when out of memory (nothing to free then). */
int devices_init(struct devices *d);
/* Free every device and the table; `d` may be initialised again. */
void devices_free(struct devices *d);
/* The device of that user and name, or NULL. The table keeps ownership. */
struct device *devices_find(struct devices *d, const char *user, const char *device);
/* Add a device with a known id (id > 0) or the next free one (id == 0).
 * NULL when out of memory. */
struct device *devices_add(struct devices *d, int64_t id, const char *user, const char *device);
/* Replace the display name; -1 when out of memory. */
int device_set_display_name(struct device *dev, const char *name);

/* Is tst among the device's recent locations? */
bool device_recent_has(const struct device *dev, int64_t tst);
/* Remember `tst` among the recent ones (the oldest is forgotten) and
 * raise max_tst. Cannot fail. */
void device_recent_add(struct device *dev, int64_t tst);

/* Add a device read from the database at start, with its stored state,
 * counted towards its user (created in `users` if needed). Stored devices
 * are all loaded, even beyond the limits: they count towards them, and
 * only new ones are refused. NULL when out of memory. */
struct users;
struct device *devices_load(struct devices *d, struct users *users, int64_t id, const char *user,
			    const char *device, const char *display_name, bool online,
			    int64_t max_tst);

/* Call fn for every device. */
void devices_each(struct devices *d, void (*fn)(void *arg, struct device *dev), void *arg);

#endif
