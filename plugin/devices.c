/* devices: the plugin's in-memory view of known devices, keyed by user/device.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "devices.h"
#include "users.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_key(const char *user, const char *device)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (p = (const unsigned char *)device; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

int devices_init(struct devices *d)
{
	memset(d, 0, sizeof(*d));
	d->nbuckets = 256;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	return d->buckets ? 0 : -1;
}

void devices_free(struct devices *d)
{
	size_t i;

	for (i = 0; i < d->nbuckets; i++) {
		struct device *dev = d->buckets[i];

		while (dev) {
			struct device *next = dev->next;

			free(dev->user);
			free(dev->display_name);
			free(dev);
			dev = next;
		}
	}
	free(d->buckets);
	memset(d, 0, sizeof(*d));
}

struct device *devices_find(struct devices *d, const char *user, const char *device)
{
	uint32_t h = hash_key(user, device);
	struct device *dev;

	for (dev = d->buckets[h & (d->nbuckets - 1)]; dev; dev = dev->next) {
		if (dev->hash == h && !strcmp(dev->user, user) && !strcmp(dev->device, device))
			return dev;
	}
	return NULL;
}

static void grow(struct devices *d)
{
	size_t n = d->nbuckets * 2, i;
	struct device **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep the old table: slower, still correct */
	for (i = 0; i < d->nbuckets; i++) {
		struct device *dev = d->buckets[i];

		while (dev) {
			struct device *next = dev->next;

			dev->next = b[dev->hash & (n - 1)];
			b[dev->hash & (n - 1)] = dev;
			dev = next;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = n;
}

struct device *devices_add(struct devices *d, int64_t id, const char *user, const char *device)
{
	size_t ul = strlen(user), dl = strlen(device);
	struct device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->user = malloc(ul + dl + 2);
	if (!dev->user) {
		free(dev);
		return NULL;
	}
	memcpy(dev->user, user, ul + 1);
	dev->device = dev->user + ul + 1;
	memcpy(dev->device, device, dl + 1);
	dev->id = id > 0 ? id : d->max_id + 1;
	if (dev->id > d->max_id)
		d->max_id = dev->id;
	dev->hash = hash_key(user, device);
	if (d->count + 1 > d->nbuckets)
		grow(d);
	dev->next = d->buckets[dev->hash & (d->nbuckets - 1)];
	d->buckets[dev->hash & (d->nbuckets - 1)] = dev;
	d->count++;
	return dev;
}

int device_set_display_name(struct device *dev, const char *name)
{
	char *copy = NULL;

	if (name) {
		copy = strdup(name);
		if (!copy)
			return -1;
	}
	free(dev->display_name);
	dev->display_name = copy;
	return 0;
}

bool device_recent_has(const struct device *dev, int64_t tst)
{
	unsigned i;

	for (i = 0; i < dev->recent_count; i++) {
		if (dev->recent[i] == tst)
			return true;
	}
	return false;
}

void device_recent_add(struct device *dev, int64_t tst)
{
	dev->recent[dev->recent_pos] = tst;
	dev->recent_pos = (dev->recent_pos + 1) % DEVICE_RECENT;
	if (dev->recent_count < DEVICE_RECENT)
		dev->recent_count++;
	if (tst > dev->max_tst)
		dev->max_tst = tst;
}

struct device *devices_load(struct devices *d, struct users *users, int64_t id, const char *user,
			    const char *device, const char *display_name, bool online,
			    int64_t max_tst)
{
	struct mt_user *owner = users_get(users, user);
	struct device *dev = owner ? devices_add(d, id, user, device) : NULL;

	if (!dev)
		return NULL;
	dev->owner = owner;
	owner->devices++;
	if (device_set_display_name(dev, display_name))
		return NULL; /* the device stays, without its name */
	dev->max_tst = max_tst;
	dev->persisted = true;
	/* No client is connected for it yet: offline until its next
	 * location (store_load() marked the stored rows offline too). */
	(void)online;
	dev->online = false;
	return dev;
}

void devices_each(struct devices *d, void (*fn)(void *arg, struct device *dev), void *arg)
{
	size_t i;

	for (i = 0; i < d->nbuckets; i++) {
		struct device *dev;

		for (dev = d->buckets[i]; dev; dev = dev->next)
			fn(arg, dev);
	}
}
