/* fuzz_bridge: libFuzzer target for the bridge's parsing of request bytes.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The first byte picks a parser (bridge/parse.c), the rest is its input:
 * query values, HTTP-mode bodies and headers, cookies, login bodies, Basic
 * credentials, Origin headers and users-file lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = {"https://map.example.org"};
	struct bridge_config cfg = {.in_prefix = "owntracks",
				    .trusted_proxies = {"127.0.0.1", "::1"},
				    .n_trusted_proxies = 2};
	char a[600], b[600], topic[400], err[128];
	struct users_line ul;
	const char *e;
	char *s;
	int64_t v;

	if (!size)
		return 0;
	s = malloc(size); /* NUL-terminated copy of data[1..] */
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 9) {
	case 0:
		parse_uint(s, INT64_MAX, &v);
		parse_device_spec(s);
		break;
	case 1:
		if (!pub_topic(&cfg, (const char *)data + 1, size - 1, NULL, NULL, topic,
			       sizeof(topic), err, sizeof(err)))
			parse_topic_user(topic, a, sizeof(a));
		pub_topic(&cfg, (const char *)data + 1, size - 1, "alice", NULL, topic,
			  sizeof(topic), err, sizeof(err));
		break;
	case 2:
		pub_client_ip(&cfg, "127.0.0.1", s, a, sizeof(a));
		break;
	case 3:
		parse_cookie(s, "mytracks_session", a, 65);
		break;
	case 4:
		parse_login((const char *)data + 1, size - 1, false, a, 129, b, sizeof(b));
		parse_form_field((const char *)data + 1, size - 1, "password", b, 8);
		break;
	case 5:
		parse_login((const char *)data + 1, size - 1, true, a, 129, b, sizeof(b));
		break;
	case 6:
		parse_basic_auth(s, a, 129, b, sizeof(b));
		break;
	case 7:
		parse_origin_allowed(s, "127.0.0.1:8080", size & 1, allowed, 1);
		break;
	case 8:
		parse_users_line(s, &ul, &e);
		break;
	}
	free(s);
	return 0;
}
