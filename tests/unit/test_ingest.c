/* test_ingest: the plugin's message path (plugin/ingest.c, publish.c,
 * stats.c, control.c) with the broker replaced by stubs that record what
 * was published and logged (broker_stubs.c), and a real store on a
 * temporary SQLite file.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "broker_stubs.h"
#include "tests.h"

#include <mosquitto_broker.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "control.h"
#include "ingest.h"
#include "stats.h"

static char dir[64], db[128];

/* A context as mosquitto_plugin_init() makes it, on a fresh database. */
static struct mt_ctx *ctx_new(const struct mt_option *extra, int nextra)
{
	struct mt_option o[16] = {{"database", db}, {"trusted_user", "mytracks-bridge"}};
	struct mt_ctx *ctx = calloc(1, sizeof(*ctx));
	char err[256];
	int i, n = 2;

	snprintf(dir, sizeof(dir), "/tmp/mytracks-ingest-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/t.db", dir);
	for (i = 0; i < nextra && n < 16; i++)
		o[n++] = extra[i];
	CU_ASSERT_EQUAL_FATAL(config_parse(&ctx->cfg, o, n, err, sizeof(err)), 0);
	ctx->in_prefix_len = strlen(ctx->cfg.input_prefix);
	ctx->lock_fd = -1;
	jbuf_init(&ctx->out, 0, 1 << 20);
	CU_ASSERT_EQUAL_FATAL(devices_init(&ctx->devices), 0);
	CU_ASSERT_EQUAL_FATAL(users_init(&ctx->users, ctx->cfg.buffer_per_user), 0);
	ctx->store = store_open(db, ctx->cfg.commit_window_ms, ctx->cfg.buffer_max, false, err,
				sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx->store);
	stub_reset();
	return ctx;
}

static void ctx_free(struct mt_ctx *ctx)
{
	char p[160];

	store_close(ctx->store, 1000, NULL);
	users_free(&ctx->users);
	devices_free(&ctx->devices);
	jbuf_free(&ctx->out);
	config_free(&ctx->cfg);
	free(ctx);
	stub_reset();
	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
	rmdir(dir);
}

/* Wait (at most 5 s) until everything submitted is committed. */
static void wait_committed(struct mt_ctx *ctx)
{
	struct store_counters c;
	int i;

	for (i = 0; i < 500; i++) {
		store_counters(ctx->store, &c);
		if (!c.pending)
			return;
		usleep(10000);
	}
	CU_FAIL("the store did not commit within 5 s");
}

static struct stub_client phone = {"phone-1", NULL, "192.0.2.7", 4};
static struct stub_client mallory = {"mal", "mallory", "192.0.2.66", 4};
static struct stub_client bridge = {"bridge-1", "mytracks-bridge", "127.0.0.1", 5};

static int publish(struct mt_ctx *ctx, struct stub_client *c, const char *topic, const char *json)
{
	struct mosquitto_evt_message ed;
	char *payload = json ? strdup(json) : NULL;
	int rc;

	memset(&ed, 0, sizeof(ed));
	ed.client = (struct mosquitto *)(void *)c;
	ed.topic = (char *)topic;
	ed.payload = payload;
	ed.payloadlen = payload ? (uint32_t)strlen(payload) : 0;
	ed.qos = 1;
	rc = control_topic(ctx, topic) ? control_message(ctx, &ed) : ingest_message(ctx, &ed);
	free(payload);
	return rc;
}

#define LOC(tst) "{\"_type\":\"location\",\"lat\":52.5,\"lon\":13.4,\"tst\":" #tst ",\"acc\":5}"

static void test_location(void)
{
	struct mt_ctx *ctx = ctx_new(NULL, 0);
	const struct stub_published *p;

	CU_ASSERT_EQUAL(publish(ctx, &phone, "owntracks/alice/phone", LOC(1705329000)),
			MOSQ_ERR_SUCCESS);
	p = stub_find("mytracks/locations/alice/phone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_FALSE(p->retain);
	CU_ASSERT_PTR_NOT_NULL(strstr(p->payload, "\"id\":1,\"device\":1,\"device_name\":"
						  "\"alice/phone\",\"latitude\":\"52.500000\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(p->payload, "\"ip_address\":\"192.0.2.7\""));
	/* the device came online with its first fix */
	CU_ASSERT_PTR_NOT_NULL(stub_find("mytracks/status/alice/phone"));
	CU_ASSERT_EQUAL(ctx->c.accepted, 1);
	/* the same fix again: counted, not stored or published twice */
	CU_ASSERT_EQUAL(publish(ctx, &phone, "owntracks/alice/phone", LOC(1705329000)),
			MOSQ_ERR_SUCCESS);
	CU_ASSERT_EQUAL(stub_count("mytracks/locations/"), 1);
	CU_ASSERT_EQUAL(ctx->c.duplicates, 1);
	wait_committed(ctx);
	CU_ASSERT_EQUAL(test_db_int(db, "SELECT count(*) FROM locations"), 1);
	CU_ASSERT_EQUAL(test_db_int(db, "SELECT online FROM devices WHERE user = 'alice'"), 1);
	/* the client leaves: offline, published */
	ingest_disconnect(ctx, &phone);
	p = stub_find("mytracks/status/alice/phone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p->payload, "\"online\":false"));
	ctx_free(ctx);
}

/* What is not stored is counted, logged with its reason, never published. */
static void test_rejections(void)
{
	struct mt_ctx *ctx = ctx_new(NULL, 0);

	publish(ctx, &phone, "owntracks/alice/phone", "{\"_type\":\"location\",");
	publish(ctx, &phone, "owntracks/alice/phone",
		"{\"_type\":\"location\",\"lat\":95,"
		"\"lon\":1,\"tst\":1705329000}");
	publish(ctx, &phone, "owntracks/a+b/phone", LOC(1705329000));
	publish(ctx, &mallory, "owntracks/alice/phone", LOC(1705329001));
	CU_ASSERT_EQUAL(publish(ctx, &phone, "owntracks/alice/phone/cmd", "{\"_type\":\"cmd\"}"),
			MOSQ_ERR_SUCCESS);
	publish(ctx, &phone, "elsewhere/alice/phone", LOC(1705329002));
	CU_ASSERT_EQUAL(ctx->c.rejected_by[REJ_JSON], 1);
	CU_ASSERT_EQUAL(ctx->c.rejected_by[REJ_FIELD], 1);
	CU_ASSERT_EQUAL(ctx->c.rejected_by[REJ_TOPIC], 1);
	CU_ASSERT_EQUAL(ctx->c.rejected_by[REJ_FORBIDDEN], 1);
	CU_ASSERT_EQUAL(ctx->c.rejected, 4);
	CU_ASSERT_EQUAL(ctx->c.ignored, 1);  /* the command */
	CU_ASSERT_EQUAL(ctx->c.received, 5); /* not the one on another prefix */
	CU_ASSERT_EQUAL(stub_npub, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(stub_log, "rejected message on 'owntracks/alice/phone' "
						"from client 'mal' (forbidden)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(stub_log, "(invalid_json)"));
	/* the counters as published */
	stats_format(ctx);
	CU_ASSERT_PTR_NOT_NULL(strstr(jbuf_data(&ctx->out), "\"rejected\":4"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jbuf_data(&ctx->out), "\"forbidden\":1"));
	ctx_free(ctx);
}

/* A full buffer refuses the report so the client keeps it: a v3.1.1 QoS 1
 * client is disconnected without a PUBACK, a v5 one gets 0x87. */
static void test_buffer_full(void)
{
	static const struct mt_option small[] = {
		{"buffer_max", "2"}, {"buffer_per_user", "2"}, {"commit_window", "10000"}};
	struct mt_ctx *ctx = ctx_new(small, 3);
	struct stub_client v5 = {"v5", NULL, "192.0.2.8", 5};

	/* the device row and the first fix fill it */
	CU_ASSERT_EQUAL(publish(ctx, &phone, "owntracks/bob/phone", LOC(1705329000)),
			MOSQ_ERR_SUCCESS);
	CU_ASSERT_EQUAL(publish(ctx, &phone, "owntracks/bob/phone", LOC(1705329001)),
			MOSQ_ERR_ADMINISTRATIVE_ACTION);
	CU_ASSERT_EQUAL(publish(ctx, &v5, "owntracks/bob/phone", LOC(1705329002)),
			MOSQ_ERR_ACL_DENIED);
	CU_ASSERT_EQUAL(ctx->c.refused, 2);
	CU_ASSERT_EQUAL(stub_count("mytracks/locations/"), 1); /* only what was stored */
	ctx_free(ctx);
}

/* The control channel: a delete answered after the commit, with the
 * deleted object; a request from anybody else refused at once. */
static void test_control(void)
{
	struct mt_ctx *ctx = ctx_new(NULL, 0);
	const struct stub_published *p;
	int i;

	publish(ctx, &phone, "owntracks/carol/phone", LOC(1705329000));
	publish(ctx, &phone, "owntracks/carol/phone", LOC(1705329060));
	publish(ctx, &mallory, "mytracks-control/req/m/1",
		"{\"op\":\"delete\",\"user\":\"carol\",\"device\":\"phone\",\"all\":true}");
	p = stub_find("mytracks-control/reply/m/1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p->payload, "\"ok\":false,\"status\":403"));
	CU_ASSERT_EQUAL(ctx->c.control_refused, 1);
	publish(ctx, &bridge, "mytracks-control/req/b/7",
		"{\"op\":\"delete\",\"user\":\"carol\",\"device\":\"phone\",\"from\":0,"
		"\"to\":1705329030}");
	/* not answered before the writer committed it */
	CU_ASSERT_PTR_NULL(stub_find("mytracks-control/reply/b/7"));
	for (i = 0; i < 500 && !stub_find("mytracks-control/reply/b/7"); i++) {
		usleep(10000);
		control_tick(ctx);
	}
	p = stub_find("mytracks-control/reply/b/7");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->payload,
			       "{\"id\":\"b/7\",\"op\":\"delete\",\"ok\":true,\"deleted\":1}");
	p = stub_find("mytracks/deleted/carol/phone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->payload,
			       "{\"device\":1,\"device_name\":\"carol/phone\",\"user\":\"carol\","
			       "\"from\":0,\"to\":1705329030,\"deleted\":1}");
	CU_ASSERT_EQUAL(test_db_int(db, "SELECT count(*) FROM locations"), 1);
	CU_ASSERT_EQUAL(test_db_int(db, "SELECT tst FROM locations"), 1705329060);
	/* an import: stored, nothing published live */
	stub_reset();
	publish(ctx, &bridge, "mytracks-control/req/b/8",
		"{\"op\":\"import\",\"user\":\"carol\",\"device\":\"old\",\"messages\":["
		"\"{\\\"_type\\\":\\\"location\\\",\\\"lat\\\":1,\\\"lon\\\":2,\\\"tst\\\":"
		"1600000000}\","
		"\"not json\"]}");
	for (i = 0; i < 500 && !stub_find("mytracks-control/reply/b/8"); i++) {
		usleep(10000);
		control_tick(ctx);
	}
	p = stub_find("mytracks-control/reply/b/8");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p->payload, "\"stored\":1,\"duplicates\":0,\"rejected\":[{"
						  "\"index\":1,"));
	CU_ASSERT_EQUAL(stub_count("mytracks/locations/"), 0);
	CU_ASSERT_EQUAL(stub_count("mytracks/status/"), 0);
	CU_ASSERT_EQUAL(ctx->c.imported, 1);
	ctx_free(ctx);
}

int init_ingest_tests(void)
{
	static const struct test_case cases[] = {
		{"a location: published, stored once, online and offline", test_location},
		{"rejections: counted, logged, not published", test_rejections},
		{"a full buffer refuses the report to the client", test_buffer_full},
		{"control: delete after commit, refusals, import without publishing", test_control},
		{NULL, NULL},
	};
	return add_suite("ingest", cases);
}
