/* fuzz_ot: libFuzzer target for the OwnTracks parser and the data object.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Input: a topic line, then the payload ("owntracks/u/d\n{...}"). Whatever
 * parses is formatted as a data object, which must then be valid JSON with
 * the same coordinates. Built with clang -fsanitize=fuzzer by tools/fuzz;
 * replay.c runs the committed corpus through it in ./run-tests.
 * Every payload also goes through otcrypto_decrypt() with the keys
 * "u:k" and "u/d:k2", and a decrypted plaintext through the parser, as
 * the plugin handles an encrypted message.
 */
#include "dataobj.h"
#include "jbuf.h"
#include "ot.h"
#include "otcrypto.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decrypt what can be: the plaintext, malloc'ed (the caller frees), or
 * NULL for a payload that is not an encrypted message of u/d. */
static char *try_decrypt(const char *topic_user, const char *topic_device, const char *p,
			 size_t len, size_t *plain_len)
{
	static struct otkeys *keys; /* built once, reachable until exit */
	char *out, err[64];
	int line;
	enum otcrypto_result r;

	if (!keys) {
		keys = otkeys_new();
		if (!keys || otkeys_parse(keys, "u:k\nu/d:k2\n", 10, &line, err, sizeof(err)))
			abort();
	}
	out = malloc(len + 1);
	if (!out)
		return NULL;
	r = otcrypto_decrypt(keys, topic_user, topic_device, p, len, out, len + 1, plain_len, err,
			     sizeof(err));
	if (r == OTCRYPTO_DECRYPTED && *plain_len >= len)
		abort(); /* the plaintext is always shorter */
	if (r == OTCRYPTO_NO_ROOM)
		abort(); /* len + 1 always fits */
	if (r != OTCRYPTO_DECRYPTED) {
		free(out);
		return NULL;
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	char topic[512], reason[160];
	struct ot_topic t;
	struct ot_msg m;
	struct jbuf b;
	size_t tlen, plen, n = 0;
	const char *payload;
	char *plain;
	enum ot_result r;

	if (!nl)
		return 0;
	tlen = (size_t)(nl - (const char *)data);
	if (tlen >= sizeof(topic))
		return 0;
	memcpy(topic, data, tlen);
	topic[tlen] = '\0';
	if (ot_topic_parse(topic, "owntracks", &t, reason, sizeof(reason)) != OT_OK)
		strcpy(t.user, "u"), strcpy(t.device, "d");
	payload = nl + 1;
	plen = size - tlen - 1;
	plain = try_decrypt(t.user, t.device, payload, plen, &n);
	if (plain) {
		payload = plain;
		plen = n;
	}
	r = ot_parse(payload, plen, 1800000000, OT_DEFAULT_MAX_FUTURE_S, &m, reason,
		     sizeof(reason));
	free(plain);
	if (r != OT_OK)
		return 0;
	jbuf_init(&b, 0, 1 << 20);
	if (m.type == OT_LOCATION) {
		struct dataobj_location d = {.id = 1,
					     .device_id = 1,
					     .user = t.user,
					     .device = t.device,
					     .display_name = m.u.loc.tid,
					     .received_at = 1800000000,
					     .loc = &m.u.loc};
		cJSON *o;

		dataobj_location(&b, &d);
		o = cJSON_ParseWithLength(jbuf_data(&b), jbuf_len(&b));
		if (!o || !cJSON_IsString(cJSON_GetObjectItem(o, "latitude")) ||
		    atof(cJSON_GetObjectItem(o, "latitude")->valuestring) < -90.0000005 ||
		    atof(cJSON_GetObjectItem(o, "latitude")->valuestring) > 90.0000005)
			abort(); /* the formatter produced something wrong */
		cJSON_Delete(o);
	} else if (m.type == OT_TRANSITION) {
		cJSON *o;

		dataobj_transition(&b, 1, 1, t.user, t.device, &m.u.tr);
		o = cJSON_ParseWithLength(jbuf_data(&b), jbuf_len(&b));
		if (!o)
			abort();
		cJSON_Delete(o);
	}
	jbuf_free(&b);
	ot_msg_free(&m);
	return 0;
}
