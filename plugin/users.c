/* users: per-user limits of the plugin (device count, share of the write buffer).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "users.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_name(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

int users_init(struct users *u, uint64_t share)
{
	memset(u, 0, sizeof(*u));
	u->share = share;
	u->nbuckets = 64;
	u->buckets = calloc(u->nbuckets, sizeof(*u->buckets));
	return u->buckets ? 0 : -1;
}

void users_free(struct users *u)
{
	size_t i;

	for (i = 0; i < u->nbuckets; i++) {
		struct mt_user *x = u->buckets[i];

		while (x) {
			struct mt_user *next = x->next;

			free(x->name);
			free(x);
			x = next;
		}
	}
	free(u->buckets);
	memset(u, 0, sizeof(*u));
}

struct mt_user *users_find(struct users *u, const char *name)
{
	uint32_t h = hash_name(name);
	struct mt_user *x;

	for (x = u->buckets[h & (u->nbuckets - 1)]; x; x = x->next) {
		if (x->hash == h && !strcmp(x->name, name))
			return x;
	}
	return NULL;
}

/* Double the buckets; on failure keep the old table (slower, still right). */
static void grow(struct users *u)
{
	size_t n = u->nbuckets * 2, i;
	struct mt_user **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < u->nbuckets; i++) {
		struct mt_user *x = u->buckets[i];

		while (x) {
			struct mt_user *next = x->next;

			x->next = b[x->hash & (n - 1)];
			b[x->hash & (n - 1)] = x;
			x = next;
		}
	}
	free(u->buckets);
	u->buckets = b;
	u->nbuckets = n;
}

struct mt_user *users_get(struct users *u, const char *name)
{
	struct mt_user *x = users_find(u, name);

	if (x)
		return x;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->name = strdup(name);
	if (!x->name) {
		free(x);
		return NULL;
	}
	x->hash = hash_name(name);
	x->quota.max = u->share;
	atomic_init(&x->quota.pending, 0);
	if (u->count + 1 > u->nbuckets)
		grow(u);
	x->next = u->buckets[x->hash & (u->nbuckets - 1)];
	u->buckets[x->hash & (u->nbuckets - 1)] = x;
	u->count++;
	return x;
}
