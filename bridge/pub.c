/* pub: OwnTracks HTTP mode, from a POST body to an MQTT publish.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "pub.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ot.h"
#include "utf8.h"

/* A topic level we are willing to publish under. */
static bool name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > OT_NAME_MAX || !utf8_valid(s, n))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
			return false;
	}
	return true;
}

/* Split "<prefix>/<user>/<device>[/...]" into the user and device levels. */
static int topic_levels(const char *t, const char **u, size_t *ul, const char **d, size_t *dl)
{
	const char *s1 = strchr(t, '/'), *s2, *s3;

	if (!s1)
		return -1;
	s2 = strchr(s1 + 1, '/');
	if (!s2)
		return -1;
	s3 = strchr(s2 + 1, '/');
	*u = s1 + 1;
	*ul = (size_t)(s2 - s1 - 1);
	*d = s2 + 1;
	*dl = s3 ? (size_t)(s3 - s2 - 1) : strlen(s2 + 1);
	return 0;
}

int pub_topic(const struct bridge_config *cfg, const char *body, size_t len, const char *hdr_user,
	      const char *hdr_device, char *topic, size_t topic_len, char *err, size_t err_len)
{
	const char *u = hdr_user, *d = hdr_device;
	size_t ul = u ? strlen(u) : 0, dl = d ? strlen(d) : 0;
	cJSON *doc, *t;
	int rc = -1, n;

	if (!utf8_valid(body, len)) {
		snprintf(err, err_len, "body is not valid UTF-8");
		return -1;
	}
	doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		snprintf(err, err_len, "body is not a JSON object");
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(doc, "topic");
	if ((!u || !d) && cJSON_IsString(t)) {
		const char *tu, *td;
		size_t tul, tdl;

		if (!topic_levels(t->valuestring, &tu, &tul, &td, &tdl)) {
			if (!u) {
				u = tu;
				ul = tul;
			}
			if (!d) {
				d = td;
				dl = tdl;
			}
		}
	}
	if (!u || !d) {
		snprintf(err, err_len, "no user/device: send X-Limit-U and X-Limit-D or a topic");
		goto out;
	}
	if (!name_ok(u, ul) || !name_ok(d, dl)) {
		snprintf(err, err_len, "invalid user or device name");
		goto out;
	}
	n = snprintf(topic, topic_len, "%s/%.*s/%.*s", cfg->in_prefix, (int)ul, u, (int)dl, d);
	if (n < 0 || (size_t)n >= topic_len) {
		snprintf(err, err_len, "topic too long");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

static bool trusted(const struct bridge_config *cfg, const char *addr, size_t n)
{
	int i;

	for (i = 0; i < cfg->n_trusted_proxies; i++)
		if (strlen(cfg->trusted_proxies[i]) == n && !strncmp(cfg->trusted_proxies[i], addr, n))
			return true;
	return false;
}

void pub_client_ip(const struct bridge_config *cfg, const char *peer, const char *xff, char *out,
		   size_t out_len)
{
	const char *end;

	snprintf(out, out_len, "%s", peer);
	if (!xff || !trusted(cfg, peer, strlen(peer)))
		return;
	/* walk X-Forwarded-For from the right, skipping trusted proxies */
	end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end, *a, *b;

		while (start > xff && start[-1] != ',')
			start--;
		a = start;
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a && !trusted(cfg, a, (size_t)(b - a))) {
			size_t n = (size_t)(b - a), i;

			if (n >= out_len || n > 45)
				return;
			for (i = 0; i < n; i++) /* an address: hex digits, '.', ':' */
				if (!strchr("0123456789abcdefABCDEF.:", a[i]))
					return;
			memcpy(out, a, n);
			out[n] = '\0';
			return;
		}
		end = start > xff ? start - 1 : xff;
	}
}

void pub_wait(struct pub *pub, struct pub_pending *p, int mid, int64_t deadline)
{
	p->mid = mid;
	p->deadline = deadline;
	lws_dll2_add_tail(&p->list, &pub->pending);
}

void pub_forget(struct pub *pub, struct pub_pending *p)
{
	if (p->list.owner == &pub->pending)
		lws_dll2_remove(&p->list);
}

struct pub_pending *pub_take(struct pub *pub, int mid)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&pub->pending)) {
		struct pub_pending *p = lws_container_of(d, struct pub_pending, list);

		if (p->mid == mid) {
			lws_dll2_remove(&p->list);
			return p;
		}
	}
	lws_end_foreach_dll(d);
	return NULL;
}
