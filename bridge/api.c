/* api: the JSON endpoints' bodies (history, devices, health, metrics).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "db.h"
#include "ot.h"
#include "parse.h"

/* Room for a query value: a user/device pair, URL-decoded, and the name. */
#define ARG_MAX (2 * OT_NAME_MAX + 32)

void api_error(struct jbuf *out, const char *msg)
{
	jbuf_reset(out);
	jbuf_puts(out, "{\"error\":");
	jbuf_json_cstr(out, msg);
	jbuf_putc(out, '}');
}

static unsigned fail(struct bridge *b, struct jbuf *out, unsigned status, const char *msg)
{
	b->metrics.api_errors++;
	api_error(out, msg);
	return status;
}

/* Find `name` (e.g. "limit=") among the URL-decoded query arguments.
 * Returns 1 with the value in *val (inside buf), 0 when absent, -1 when an
 * argument is too long to examine. */
static int query_arg(struct lws *wsi, const char *name, char *buf, int len, const char **val)
{
	size_t nl = strlen(name);
	int i, n;

	for (i = 0; (n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i)) > 0; i++) {
		if (n >= len ||
		    lws_hdr_copy_fragment(wsi, buf, len, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			return -1;
		if (!strncmp(buf, name, nl)) {
			*val = buf + nl;
			return 1;
		}
	}
	return 0;
}

unsigned api_locations(struct bridge *b, struct lws *wsi, const char *users_json, struct jbuf *out)
{
	static const char *const names[] = {"since_id=", "start_time=", "end_time=", "limit="};
	struct db_loc_query q = {0};
	struct db_loc_page page;
	char buf[ARG_MAX], err[192];
	int64_t nums[4] = {0, 0, INT64_MAX, API_DEFAULT_LIMIT};
	bool have[4] = {false};
	const char *v = NULL;
	enum db_result r;
	int i;

	for (i = 0; i < 4; i++) {
		int found = query_arg(wsi, names[i], buf, sizeof(buf), &v);

		if (found < 0)
			return fail(b, out, 400, "query argument too long");
		if (!found)
			continue;
		have[i] = true;
		if (parse_uint(v, i == 3 ? INT32_MAX : INT64_MAX / 2, &nums[i])) {
			snprintf(err, sizeof(err), "%.*s must be a non-negative integer",
				 (int)strlen(names[i]) - 1, names[i]);
			return fail(b, out, 400, err);
		}
	}
	if (nums[3] < 1 || nums[3] > API_MAX_LIMIT) {
		snprintf(err, sizeof(err), "limit must be from 1 to %d", API_MAX_LIMIT);
		return fail(b, out, 400, err);
	}
	if (nums[1] > nums[2])
		return fail(b, out, 400, "start_time is after end_time");
	q.since_id = nums[0];
	q.start_time = nums[1];
	q.end_time = nums[2];
	q.limit = (int)nums[3];
	q.latest = !have[0] && !have[1] && !have[2];
	q.users_json = users_json;

	i = query_arg(wsi, "device=", buf, sizeof(buf), &v);
	if (i < 0)
		return fail(b, out, 400, "query argument too long");
	if (i) {
		if (!parse_device_spec(v))
			return fail(b, out, 400, "device must be an id or user/device");
		r = db_device_id(&b->db, v, users_json, &q.device_id);
		if (r == DB_NOT_FOUND)
			return fail(b, out, 404, "unknown device");
		if (r != DB_OK)
			goto unavailable;
	}

	jbuf_puts(out, "{\"results\":[");
	r = db_locations(&b->db, &q, out, &page);
	if (r == DB_NOMEM)
		return fail(b, out, 500, "response too large");
	if (r != DB_OK)
		goto unavailable;
	jbuf_printf(out, "],\"count\":%d,\"has_more\":%s,\"next_since_id\":", page.count,
		    page.has_more ? "true" : "false");
	if (page.count)
		jbuf_int(out, page.last_id);
	else if (have[0])
		jbuf_int(out, q.since_id);
	else
		jbuf_puts(out, "null");
	jbuf_putc(out, '}');
	return jbuf_failed(out) ? fail(b, out, 500, "response too large") : 200;
unavailable:
	b->metrics.db_up = false;
	snprintf(err, sizeof(err), "database unavailable: %s", b->db.error);
	return fail(b, out, 503, err);
}

unsigned api_devices(struct bridge *b, const char *users_json, struct jbuf *out)
{
	char err[192];
	enum db_result r;

	jbuf_puts(out, "{\"results\":[");
	r = db_devices(&b->db, users_json, out);
	if (r == DB_NOMEM)
		return fail(b, out, 500, "response too large");
	if (r != DB_OK) {
		b->metrics.db_up = false;
		snprintf(err, sizeof(err), "database unavailable: %s", b->db.error);
		return fail(b, out, 503, err);
	}
	jbuf_puts(out, "]}");
	return jbuf_failed(out) ? fail(b, out, 500, "response too large") : 200;
}

unsigned api_healthz(struct bridge *b, struct jbuf *out)
{
	bool db_ok = db_ready(&b->db);

	b->metrics.db_up = db_ok;
	jbuf_printf(out,
		    "{\"status\":\"%s\",\"broker\":\"%s\",\"database\":\"%s\","
		    "\"ws_clients\":%llu,\"server_startup\":%lld}",
		    b->broker_up ? "ok" : "unavailable",
		    b->broker_up ? "connected" : "disconnected", db_ok ? "ok" : "unavailable",
		    (unsigned long long)b->metrics.ws_clients, (long long)b->startup);
	return b->broker_up ? 200 : 503;
}
