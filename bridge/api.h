/* api: the JSON endpoints' bodies (history, devices, health, metrics).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Each function appends the response body to `out` and returns the HTTP
 * status; errors have the body {"error":"..."}.
 */
#ifndef MYTRACKS_BRIDGE_API_H
#define MYTRACKS_BRIDGE_API_H

#include <libwebsockets.h>

#include "jbuf.h"

struct bridge;

/* Default and largest `limit` of GET /api/locations/. */
#define API_DEFAULT_LIMIT 100
#define API_MAX_LIMIT 1000

/* GET /api/locations/?device=&since_id=&start_time=&end_time=&limit=,
 * only of the users in `users_json` (a JSON array; NULL: everyone) */
unsigned api_locations(struct bridge *b, struct lws *wsi, const char *users_json, struct jbuf *out);
/* GET /api/devices/, only of the users in `users_json` */
unsigned api_devices(struct bridge *b, const char *users_json, struct jbuf *out);
/* GET /healthz: 200 while the broker connection is up, else 503. */
unsigned api_healthz(struct bridge *b, struct jbuf *out);
/* {"error":<msg>} */
void api_error(struct jbuf *out, const char *msg);

#endif
