/* friends: HTTP mode's friends, kept ready between reports.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "friends.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dataobj.h"
#include "num.h"
#include "recobj.h"

/* A device's objects larger than this are not kept (a card's face is an
 * image): the reply then fails as one over its cap would. */
#define FRIEND_OBJS_MAX (4u << 20)
/* `want` of a device whose card came: the id of the next location. */
#define WANT_NEXT INT64_MAX

struct friend
{
	char *user, *device; /* in the same allocation, after the struct */
	char *objs;	     /* card and location, comma-separated; NULL: no location */
	size_t objs_len;
	int n_objs;
	bool dirty;   /* read again once location `want` is committed */
	int64_t want; /* WANT_NEXT: at every reply, until a location follows */
	bool seen;    /* in the full read under way */
};

void friends_init(struct friends *f, const char *prefix)
{
	*f = (struct friends){.prefix = prefix, .rebuild = true};
}

static void friend_free(struct friend *e)
{
	free(e->objs);
	free(e);
}

void friends_free(struct friends *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		friend_free(f->v[i]);
	free(f->v);
	friends_init(f, f->prefix);
}

size_t friends_count(const struct friends *f)
{
	return f->n;
}

void friends_invalidate(struct friends *f)
{
	f->rebuild = true;
	f->committed = 0; /* a restarted plugin may give a deleted id again */
}

static int cmp_key(const struct friend *e, const char *user, const char *device)
{
	int c = strcmp(e->user, user);

	return c ? c : strcmp(e->device, device);
}

/* The index of user/device, or where it would go (`*found` false). */
static size_t find(const struct friends *f, const char *user, const char *device, bool *found)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(f->v[mid], user, device);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* The device's entry, made (clean, without objects) when it is new; NULL
 * when out of memory. */
static struct friend *get(struct friends *f, const char *user, const char *device)
{
	size_t ul = strlen(user), dl = strlen(device), at;
	struct friend *e;
	bool found;

	at = find(f, user, device, &found);
	if (found)
		return f->v[at];
	if (f->n == f->alloc) {
		size_t alloc = f->alloc ? 2 * f->alloc : 64;
		struct friend **v = realloc(f->v, alloc * sizeof(*v));

		if (!v)
			return NULL;
		f->v = v;
		f->alloc = alloc;
	}
	e = calloc(1, sizeof(*e) + ul + 1 + dl + 1);
	if (!e)
		return NULL;
	e->user = (char *)(e + 1);
	memcpy(e->user, user, ul + 1);
	e->device = e->user + ul + 1;
	memcpy(e->device, device, dl + 1);
	memmove(f->v + at + 1, f->v + at, (f->n - at) * sizeof(*f->v));
	f->v[at] = e;
	f->n++;
	return e;
}

static void mark(struct friends *f, struct friend *e, int64_t want)
{
	if (e->dirty && e->want == WANT_NEXT)
		f->pending--;
	e->dirty = true;
	e->want = want;
	if (want == WANT_NEXT)
		f->pending++;
}

int friends_relayed(struct friends *f, const char *kind, const char *user, const char *device,
		    int64_t id)
{
	bool location = !strcmp(kind, "location"), card = !strcmp(kind, "card");
	struct friend *e;
	size_t i;

	if (!location && !card && strcmp(kind, "deleted"))
		return 0;
	if (location && f->pending) {
		/* committed after every card relayed before it */
		for (i = 0; i < f->n; i++)
			if (f->v[i]->dirty && f->v[i]->want == WANT_NEXT)
				f->v[i]->want = id;
		f->pending = 0;
	}
	e = get(f, user, device);
	if (!e) {
		f->rebuild = true;
		return -1;
	}
	/* a delete was committed before it was published: read it at once */
	mark(f, e, location ? id : card ? WANT_NEXT : 0);
	return 0;
}

int friends_relayed_msg(struct friends *f, const struct msg *m)
{
	static const char head[] = "{\"type\":\"", mid[] = "\",\"data\":";
	const char *frame = (const char *)m->buf + LWS_PRE, *kind, *end, *p;
	char kbuf[16], num[24];
	size_t kl, nl;
	int64_t id = 0;

	if (m->kind != MSG_RELAY || m->reason || !m->user || !m->device ||
	    m->len < sizeof(head) - 1 || memcmp(frame, head, sizeof(head) - 1))
		return 0;
	kind = frame + sizeof(head) - 1;
	end = memchr(kind, '"', m->len - (size_t)(kind - frame));
	if (!end || (kl = (size_t)(end - kind)) >= sizeof(kbuf))
		return 0;
	memcpy(kbuf, kind, kl);
	kbuf[kl] = '\0';
	if (!strcmp(kbuf, "location")) {
		/* the plugin's object opens with its id; the frame ends in a NUL */
		size_t left = m->len - (size_t)(end - frame), skip = sizeof(mid) - 1;

		p = end + skip + strlen(DATAOBJ_ID_OPEN);
		if (left < skip + strlen(DATAOBJ_ID_OPEN) || memcmp(end, mid, skip) ||
		    memcmp(end + skip, DATAOBJ_ID_OPEN, strlen(DATAOBJ_ID_OPEN)) ||
		    !(nl = strspn(p, "0123456789")) || nl >= sizeof(num)) {
			friends_invalidate(f); /* not the shape it has: read it all again */
			return 0;
		}
		memcpy(num, p, nl);
		num[nl] = '\0';
		if (num_parse(num, 1, INT64_MAX - 1, &id)) {
			friends_invalidate(f);
			return 0;
		}
	}
	return friends_relayed(f, kbuf, m->user, m->device, id);
}

/* --- reading devices ------------------------------------------------------ */

struct reading {
	struct friends *f;
	struct friend *only; /* one device's read, or NULL: all of them */
	struct jbuf objs, topic;
	bool failed;
};

/* Format one row as the apps read a friend: its card (when it sent one)
 * with the topic it is about, then its location. Returns the number of
 * objects, or -1 when `out` failed. */
static int format_row(const char *prefix, const struct db_rec_row *row, struct jbuf *out,
		      struct jbuf *topic)
{
	struct recobj_location o = {
		.prefix = prefix,
		.user = row->d.user,
		.device = row->d.device,
		.loc = &row->loc,
		.received_at = row->d.received_at,
		.inregions = row->inregions,
		.poi = row->poi,
	};
	int n = 1;

	if (row->name || row->face) {
		jbuf_reset(topic);
		recobj_location(topic, &o, "topic");
		jbuf_puts(out, "{\"_type\":\"card\"");
		if (row->name) {
			jbuf_puts(out, ",\"name\":");
			jbuf_json_cstr(out, row->name);
		}
		if (row->face) {
			jbuf_puts(out, ",\"face\":");
			jbuf_json_cstr(out, row->face);
		}
		if (row->loc.tid) {
			jbuf_puts(out, ",\"tid\":");
			jbuf_json_cstr(out, row->loc.tid);
		}
		jbuf_putc(out, ',');
		/* {"topic":".."} without its opening brace */
		if (jbuf_failed(topic) || jbuf_len(topic) < 2)
			return -1;
		jbuf_append(out, jbuf_data(topic) + 1, jbuf_len(topic) - 1);
		jbuf_putc(out, ',');
		n++;
	}
	recobj_location(out, &o, NULL);
	return jbuf_failed(out) ? -1 : n;
}

static int read_cb(void *ctx, const struct db_rec_row *row)
{
	struct reading *r = ctx;
	struct friend *e = r->only ? r->only : get(r->f, row->d.user, row->d.device);
	int n;

	if (!e) {
		r->failed = true;
		return 1;
	}
	jbuf_reset(&r->objs);
	n = format_row(r->f->prefix, row, &r->objs, &r->topic);
	if (n < 0) {
		r->failed = true;
		return 1;
	}
	free(e->objs);
	e->objs_len = jbuf_len(&r->objs);
	e->objs = jbuf_steal(&r->objs);
	e->n_objs = n;
	e->seen = true;
	if (!e->objs) {
		r->failed = true;
		return 1;
	}
	return 0;
}

/* Read one device (`only`), or every one. Returns 0, or -1 (a database or
 * memory failure: what was held is kept). */
static int read_devices(struct friends *f, struct db *db, struct friend *only)
{
	struct reading r = {.f = f, .only = only};
	enum db_result res;
	size_t i, keep;

	jbuf_init(&r.objs, 0, FRIEND_OBJS_MAX);
	jbuf_init(&r.topic, 0, 4096);
	if (only)
		only->seen = false;
	else
		for (i = 0; i < f->n; i++)
			f->v[i]->seen = false;
	res = db_rec_last(db, only ? only->user : NULL, only ? only->device : NULL, NULL, read_cb,
			  &r);
	jbuf_free(&r.objs);
	jbuf_free(&r.topic);
	if (res != DB_OK || r.failed)
		return -1;
	if (only) {
		if (!only->seen) { /* no location left */
			free(only->objs);
			only->objs = NULL;
		}
		return 0;
	}
	/* devices without a location: forget them, unless a change is due */
	for (i = keep = 0; i < f->n; i++) {
		struct friend *e = f->v[i];

		if (!e->seen && !e->dirty) {
			friend_free(e);
			continue;
		}
		if (!e->seen) {
			free(e->objs);
			e->objs = NULL;
		}
		f->v[keep++] = e;
	}
	f->n = keep;
	return 0;
}

/* Is location `id` committed? Asks the database at most once a reply. */
static bool committed(struct friends *f, struct db *db, int64_t id, bool *asked)
{
	int64_t max = 0;

	if (id <= f->committed || *asked)
		return id <= f->committed;
	*asked = true;
	if (db_rec_max_id(db, &max) == DB_OK && max > f->committed)
		f->committed = max;
	return id <= f->committed;
}

/* Bring a dirty device up to date, as far as the commits allow. */
static int refresh(struct friends *f, struct db *db, struct friend *e, bool *asked)
{
	if (e->want == WANT_NEXT) /* its card may be committed already */
		return read_devices(f, db, e);
	if (!committed(f, db, e->want, asked))
		return 0; /* what the database holds was read before */
	if (read_devices(f, db, e))
		return -1;
	e->dirty = false;
	return 0;
}

static bool visible(const cJSON *users, const char *user)
{
	const cJSON *u;

	if (!users)
		return true;
	cJSON_ArrayForEach(u, users)
	{
		if (cJSON_IsString(u) && !strcmp(u->valuestring, user))
			return true;
	}
	return false;
}

int friends_reply(struct friends *f, struct db *db, const char *users_json, const char *user,
		  const char *device, int max, int64_t now, struct jbuf *out, int *items)
{
	cJSON *users = NULL;
	bool asked = false;
	size_t i;
	int rc = -1;

	if (users_json && !cJSON_IsArray(users = cJSON_Parse(users_json)))
		goto out;
	if (f->rebuild || !f->built || now - f->built >= FRIENDS_MAX_AGE || now < f->built) {
		if (read_devices(f, db, NULL))
			goto out;
		f->rebuild = false;
		f->built = now;
	}
	for (i = 0; i < f->n; i++) {
		struct friend *e = f->v[i];

		if ((user && device && !strcmp(e->user, user) && !strcmp(e->device, device)) ||
		    (!strcmp(e->user, "ping") && !strcmp(e->device, "ping")) ||
		    !visible(users, e->user))
			continue;
		if (e->dirty && refresh(f, db, e, &asked))
			goto out;
		if (!e->objs)
			continue;
		if (max-- <= 0)
			break;
		if (*items)
			jbuf_putc(out, ',');
		jbuf_append(out, e->objs, e->objs_len);
		*items += e->n_objs;
	}
	rc = jbuf_failed(out) ? -1 : 0;
out:
	cJSON_Delete(users);
	return rc;
}
