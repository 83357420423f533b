/* friends: HTTP mode's friends, kept ready between reports.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Every reply to an HTTP-mode report carries, for each device the reporting
 * user may see, its card and its newest location, as the OwnTracks apps
 * read them (the Recorder's objects, core/recobj.h). Reading them from the
 * database for every reply cost a query per device on the lws thread
 * (docs/bench.md). Instead each device's objects are kept here, formatted,
 * and read again only when the messages the bridge relays say that the
 * device changed:
 *
 * - a location with id N: the device is read again once N is committed
 *   (the plugin publishes before its commit; a shared writer after it);
 *   until then the reply holds what was read before, as a reply read
 *   from the database before the commit would;
 * - a card (its event carries no id the bridge sees): the device is read
 *   again for every reply until a location published after the card is
 *   committed, since the writer commits in the order it was handed work;
 * - a delete (published after its commit): read again on the next reply,
 *   and everything is read again once this bridge's own delete is
 *   answered (http.c), before the message comes.
 *
 * So a reply shows a change once it is committed and relayed to this
 * bridge: with shared writers, which publish after the commit, a reply in
 * between (one broker tick) still shows the device as it was.
 *
 * What changes the database without a relayed message (an import, the
 * retention purge, messages lost while the broker was away) shows within
 * FRIENDS_MAX_AGE seconds: the whole set is then read again, as it is
 * after friends_invalidate() and on the first reply. The lws thread alone
 * uses it; no locking.
 */
#ifndef MYTRACKS_BRIDGE_FRIENDS_H
#define MYTRACKS_BRIDGE_FRIENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "jbuf.h"
#include "queue.h"

/* Seconds after which every device is read again. */
#define FRIENDS_MAX_AGE 30

struct friend;

struct friends {
	struct friend **v; /* sorted by user, then device (strcmp) */
	size_t n, alloc;
	size_t pending;	    /* devices waiting for a location after their card */
	int64_t built;	    /* unix seconds of the last full read; 0: never */
	bool rebuild;	    /* read every device on the next reply */
	int64_t committed;  /* the largest location id known to be committed */
	const char *prefix; /* the phones' topic prefix, e.g. "owntracks" */
};

/* An empty set for topics under `prefix` (kept, not copied). */
void friends_init(struct friends *f, const char *prefix);
/* Free every device's objects. */
void friends_free(struct friends *f);

/* What a relayed message says: its kind ("location", "card", "deleted";
 * others change nothing), the device, and for a location its id (> 0).
 * Returns -1 when out of memory (the set is then read again in full on
 * the next reply), else 0. */
int friends_relayed(struct friends *f, const char *kind, const char *user, const char *device,
		    int64_t id);
/* The same for a relayed message (MSG_RELAY) as the MQTT thread framed
 * it: {"type":"<kind>","data":<the plugin's object>}, with the topic's user
 * and device. A location whose id cannot be read makes the set be read
 * again in full. Returns what friends_relayed() returns. */
int friends_relayed_msg(struct friends *f, const struct msg *m);
/* Forget what is known: the next reply reads every device (after the
 * broker connection came back, or a relayed message was lost). */
void friends_invalidate(struct friends *f);

/* Append the friends of a report of `user`/`device` to `out`: for each
 * device of the users in `users_json` (a JSON array of names; NULL: all)
 * but the reporting one, at most `max` devices in user and device order,
 * its card ({"_type":"card","name":..,"face":..,"tid":..,"topic":..}, when
 * it sent one) and its newest location (recobj's object, without name and
 * face). Each object is preceded by a comma when `*items` is non-zero and
 * counted in `*items`. `now` is unix seconds. Returns 0, or -1 when the
 * database is unavailable or `out` hit its cap (`out` may then hold part
 * of the list). */
int friends_reply(struct friends *f, struct db *db, const char *users_json, const char *user,
		  const char *device, int max, int64_t now, struct jbuf *out, int *items);

/* The number of devices held (for the tests). */
size_t friends_count(const struct friends *f);

#endif
