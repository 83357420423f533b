/* fuzz_bridge: libFuzzer target for the bridge's parsing of request bytes.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The first byte picks a parser (bridge/parse.c), the rest is its input:
 * query values, HTTP-mode bodies and headers, cookies, login bodies, Basic
 * credentials, Origin and Host headers, users-file lines. Besides memory
 * errors (sanitizers), every output buffer is checked: NUL-terminated
 * within its size, and empty when the parser failed; abort() otherwise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fill an output buffer so that a missing terminator shows. */
#define DIRTY(buf, n) memset(buf, 'X', n)
/* The output must be terminated within `n` bytes, and empty unless `ok`. */
#define CHECK(buf, n, ok)                                                                          \
	do {                                                                                       \
		if (!memchr(buf, '\0', n) || (!(ok) && (buf)[0]))                                  \
			abort();                                                                   \
	} while (0)

static void login(const uint8_t *d, size_t n, bool json)
{
	char user[129], pass[257];
	int r;

	DIRTY(user, sizeof(user));
	DIRTY(pass, sizeof(pass));
	r = parse_login((const char *)d, n, json, user, sizeof(user), pass, sizeof(pass));
	CHECK(user, sizeof(user), !r);
	CHECK(pass, sizeof(pass), !r);
}

/* parse_hist_args() over "a=1&b=2" */
struct query {
	const char *q;
	char buf[HIST_ARG_MAX];
};

static int query_get(void *ctx, const char *name, const char **val)
{
	struct query *f = ctx;
	size_t nl = strlen(name);
	const char *p = f->q;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n >= sizeof(f->buf))
			return -1;
		if (n >= nl && !strncmp(p, name, nl)) {
			memcpy(f->buf, p, n);
			f->buf[n] = '\0';
			*val = f->buf + nl;
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* On success every value is in range and the device spec terminated and
 * valid; on failure the message is terminated and not empty. */
static void hist_args(const char *s)
{
	struct query f = {.q = s};
	struct hist_args a;
	char err[192];
	int i;

	DIRTY(err, sizeof(err));
	if (parse_hist_args(query_get, &f, &a, err, sizeof(err))) {
		CHECK(err, sizeof(err), true);
		if (!err[0])
			abort();
		return;
	}
	for (i = 0; i < HA_COUNT; i++) {
		if (a.num[i] < 0)
			abort();
	}
	if (a.num[HA_START] > a.num[HA_END])
		abort();
	CHECK(a.device, sizeof(a.device), a.have_device);
	if (a.have_device && !parse_device_spec(a.device))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = {"https://map.example.org"};
	static const char *const names[] = {"tracks.example.org"};
	struct bridge_config cfg = {.in_prefix = "owntracks",
				    .trusted_proxies = {"127.0.0.1", "::1"},
				    .n_trusted_proxies = 2};
	char a[600], b[600], topic[400], err[128], small[8];
	struct users_line ul;
	const char *e;
	char *s;
	int64_t v;
	int r;

	if (!size)
		return 0;
	s = malloc(size); /* NUL-terminated copy of data[1..] */
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 13) {
	case 0:
		parse_uint(s, INT64_MAX, &v);
		parse_device_spec(s);
		break;
	case 1:
		DIRTY(topic, sizeof(topic));
		DIRTY(err, sizeof(err));
		r = parse_report_topic(&cfg, (const char *)data + 1, size - 1, NULL, NULL, topic,
				       sizeof(topic), err, sizeof(err));
		CHECK(topic, sizeof(topic), !r);
		CHECK(err, sizeof(err), true);
		if (!r) {
			DIRTY(a, sizeof(a));
			r = parse_topic_user(topic, a, sizeof(a));
			CHECK(a, sizeof(a), !r);
		}
		DIRTY(small, sizeof(small));
		r = parse_report_topic(&cfg, (const char *)data + 1, size - 1, "alice", NULL, small,
				       sizeof(small), err, sizeof(err));
		CHECK(small, sizeof(small), !r);
		break;
	case 2:
		DIRTY(a, sizeof(a));
		parse_client_ip(&cfg, "127.0.0.1", s, a, sizeof(a));
		CHECK(a, sizeof(a), true);
		DIRTY(small, sizeof(small));
		parse_client_ip(&cfg, "127.0.0.1", s, small, sizeof(small));
		CHECK(small, sizeof(small), true);
		break;
	case 3:
		DIRTY(a, 65);
		r = parse_cookie(s, "mytracks_session", a, 65);
		CHECK(a, 65, r);
		break;
	case 4:
		login(data + 1, size - 1, false);
		DIRTY(small, sizeof(small));
		r = parse_form_field((const char *)data + 1, size - 1, "password", small,
				     sizeof(small));
		CHECK(small, sizeof(small), r);
		break;
	case 5:
		login(data + 1, size - 1, true);
		break;
	case 6:
		DIRTY(a, 129);
		DIRTY(b, 257);
		r = parse_basic_auth(s, a, 129, b, 257);
		CHECK(a, 129, !r);
		CHECK(b, 257, !r);
		break;
	case 7:
		parse_origin_allowed(s, "127.0.0.1:8080", size & 1, allowed, 1);
		break;
	case 8:
		parse_users_line(s, &ul, &e);
		break;
	case 9:
		parse_host_allowed(s, names, 1, allowed, 1);
		break;
	case 10:
		parse_post_origin_ok(size & 1 ? s : NULL, size & 2 ? s : NULL, "127.0.0.1:8080",
				     size & 4, allowed, 1);
		break;
	case 11:
		DIRTY(err, sizeof(err));
		parse_report_check((const char *)data + 1, size - 1, 1800000000, err, sizeof(err));
		CHECK(err, sizeof(err), true);
		break;
	case 12:
		hist_args(s);
		break;
	}
	free(s);
	return 0;
}
