/* broker_stubs: stand-ins for the mosquitto broker functions (see the header).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "broker_stubs.h"

#include <mosquitto_broker.h>
#include <mosquitto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stub_published stub_pub[STUB_MAX];
size_t stub_npub;
char stub_log[16384];

void stub_reset(void)
{
	size_t i;

	for (i = 0; i < stub_npub; i++)
		free(stub_pub[i].payload);
	memset(stub_pub, 0, sizeof(stub_pub));
	stub_npub = 0;
	stub_log[0] = '\0';
}

const struct stub_published *stub_find(const char *topic)
{
	size_t i;

	for (i = stub_npub; i-- > 0;)
		if (!strcmp(stub_pub[i].topic, topic))
			return &stub_pub[i];
	return NULL;
}

size_t stub_count(const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < stub_npub; i++)
		n += !strncmp(stub_pub[i].topic, prefix, strlen(prefix));
	return n;
}

/* ---- the broker's functions ---- */

void *mosquitto_malloc(size_t size)
{
	return malloc(size);
}

void mosquitto_free(void *mem)
{
	free(mem);
}

int mosquitto_broker_publish(const char *clientid, const char *topic, int payloadlen, void *payload,
			     int qos, bool retain, mosquitto_property *properties)
{
	struct stub_published *p;

	(void)clientid;
	(void)qos;
	(void)properties;
	if (stub_npub == STUB_MAX) {
		free(payload);
		return MOSQ_ERR_NOMEM;
	}
	p = &stub_pub[stub_npub++];
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	p->payload = malloc((size_t)payloadlen + 1);
	memcpy(p->payload, payload, (size_t)payloadlen);
	p->payload[payloadlen] = '\0';
	p->len = (size_t)payloadlen;
	p->retain = retain;
	free(payload); /* the broker owns it on success */
	return MOSQ_ERR_SUCCESS;
}

void mosquitto_log_printf(int level, const char *fmt, ...)
{
	size_t used = strlen(stub_log);
	va_list ap;

	(void)level;
	if (used + 2 >= sizeof(stub_log))
		return;
	va_start(ap, fmt);
	vsnprintf(stub_log + used, sizeof(stub_log) - used - 1, fmt, ap);
	va_end(ap);
	strcat(stub_log, "\n");
}

static const struct stub_client *cl(const struct mosquitto *c)
{
	return (const struct stub_client *)(const void *)c;
}

const char *mosquitto_client_id(const struct mosquitto *client)
{
	return client ? cl(client)->id : NULL;
}

const char *mosquitto_client_username(const struct mosquitto *client)
{
	return client ? cl(client)->username : NULL;
}

const char *mosquitto_client_address(const struct mosquitto *client)
{
	return client ? cl(client)->address : NULL;
}

int mosquitto_client_protocol_version(const struct mosquitto *client)
{
	return client ? cl(client)->protocol_version : 0;
}

/* No test event carries properties. */
const mosquitto_property *mosquitto_property_read_string_pair(const mosquitto_property *proplist,
							      int identifier, char **name,
							      char **value, bool skip_first)
{
	(void)proplist;
	(void)identifier;
	(void)name;
	(void)value;
	(void)skip_first;
	return NULL;
}
