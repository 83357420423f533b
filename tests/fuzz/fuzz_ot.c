/* fuzz_ot: libFuzzer target for the OwnTracks parser and the data object.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Input: a topic line, then the payload ("owntracks/u/d\n{...}"). Whatever
 * parses is formatted as a data object, which must then be valid JSON with
 * the same coordinates. Built with clang -fsanitize=fuzzer by tools/fuzz;
 * replay.c runs the committed corpus through it in ./run-tests.
 */
#include "dataobj.h"
#include "jbuf.h"
#include "ot.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	char topic[512], reason[160];
	struct ot_topic t;
	struct ot_msg m;
	struct jbuf b;
	size_t tlen;

	if (!nl)
		return 0;
	tlen = (size_t)(nl - (const char *)data);
	if (tlen >= sizeof(topic))
		return 0;
	memcpy(topic, data, tlen);
	topic[tlen] = '\0';
	if (ot_topic_parse(topic, "owntracks", &t, reason, sizeof(reason)) != OT_OK)
		strcpy(t.user, "u"), strcpy(t.device, "d");
	if (ot_parse(nl + 1, size - tlen - 1, 1800000000, OT_DEFAULT_MAX_FUTURE_S, &m, reason,
		     sizeof(reason)) != OT_OK)
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
