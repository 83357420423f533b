/* recorder: the OwnTracks Recorder's HTTP API (/api/0/) and /ws/last.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * What the OwnTracks web frontend (owntracks/frontend) and scripts written
 * for the Recorder call, answered from mytracks' database in the
 * Recorder's shapes (core/recobj.h): /api/0/list, /api/0/last,
 * /api/0/locations (json, csv, geojson, gpx, linestring), /api/0/version.
 * Every answer is JSON except the export formats, errors included
 * ({"error":..}), since the frontend parses every body. The same login
 * and visibility as the rest of the bridge: a session cookie, or HTTP
 * Basic credentials of a user. CORS for the --allowed-origin origins,
 * with credentials.
 *
 * /ws/last is a /ws/locations/ session with a flag (ws.c): it gets no
 * welcome, may send "LAST" (answered by recorder_ws_last()), and each
 * relayed location is converted per client by recorder_ws_location().
 */
#ifndef MYTRACKS_BRIDGE_RECORDER_H
#define MYTRACKS_BRIDGE_RECORDER_H

#include <stdbool.h>

#include <libwebsockets.h>

#include "auth.h"
#include "jbuf.h"
#include "queue.h"

struct bridge;

#define RECORDER_WS_PATH "/ws/last"

/* Is the request a GET, POST or OPTIONS under /api/0/? */
bool recorder_path(struct lws *wsi);
/* Answer it (the Host was checked already): writes the whole response
 * and completes the transaction. Returns the lws callback's value. */
int recorder_route(struct bridge *b, struct lws *wsi);

/* /ws/last: "LAST" asks for one object per device `viewer` may see (NULL:
 * all), ping/ping left out as the Recorder does. Appends them to `out`,
 * each followed by '\n' (the objects hold no raw newline). Returns 0, or
 * -1 when the database is unavailable or `out` hit its cap. */
int recorder_ws_last(struct bridge *b, const struct auth_user *viewer, struct jbuf *out);

/* /ws/last: a relayed frame as the Recorder pushes it. Appends the
 * Recorder-shape object of a location frame to `out`, sets `*id` to its
 * location id and returns 0; -1 for every other frame (not a location,
 * not parseable): skip it. */
int recorder_ws_location(struct bridge *b, const struct msg *m, struct jbuf *out, int64_t *id);

/* Is location `id` committed, so that the /api/0/last a client fetches on
 * the push shows it? (The plugin publishes before its commit.) `*known`
 * caches the largest id seen committed: ids up to it need no query. A
 * database error counts as committed (nothing to wait for). */
bool recorder_committed(struct bridge *b, int64_t id, int64_t *known);

#endif
