/* users: per-user limits of the plugin (device count, share of the write buffer).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Owned by the broker thread, except each user's quota.pending, which the
 * writer thread decrements (store.h). A user exists once one of its
 * devices does, and lives until users_free(), which must come after
 * store_close() (buffered ops point at their user's quota). Their number is
 * bounded by the device table's cap (plugin_opt_max_devices).
 */
#ifndef MYTRACKS_USERS_H
#define MYTRACKS_USERS_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

struct mt_user {
	struct mt_user *next; /* hash chain */
	char *name;	      /* owned */
	size_t devices;	      /* devices of this user in the device table */
	struct store_quota quota;
	uint32_t hash;
};

struct users {
	struct mt_user **buckets;
	size_t nbuckets, count;
	uint64_t share; /* quota.max of every user */
};

/* 0, or -1 when out of memory. Every user's buffer share will be `share`. */
int users_init(struct users *u, uint64_t share);
/* Free every user; only after store_close() (see above). */
void users_free(struct users *u);
/* The user of that name, or NULL if there is none. */
struct mt_user *users_find(struct users *u, const char *name);
/* The user of that name, created if needed; NULL when out of memory. */
struct mt_user *users_get(struct users *u, const char *name);

#endif
