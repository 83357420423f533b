/* control: requests to the plugin from the trusted client (the bridge, the
 * import tool), answered once what they ask for is committed.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A request becomes store ops queued behind everything received before it
 * (so a delete also removes a location that is still buffered) and a last
 * op the writer hands back once committed (STORE_ACK, or the STORE_DELETE
 * itself): control_tick() answers then. Refusals that need no database
 * (bad JSON, unknown op or device, not trusted) are answered at once.
 */
#include "control.h"
#include "dataobj.h"
#include "ingest.h"
#include "publish.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <mosquitto_broker.h>
#include <mosquitto.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONTROL_MAX_PAYLOAD (4u << 20) /* bytes of one request */
#define CONTROL_MAX_MESSAGES 1000      /* messages in one import request */
#define CONTROL_MAX_ID 128	       /* bytes of a request id (topic levels) */
#define CONTROL_MAX_REJECTS 20	       /* rejected messages listed in an answer */
#define CONTROL_LOG_BURST 5
#define CONTROL_LOG_PERIOD_S 10

/* Where the answer to a request goes, and what it is about. */
struct request {
	char reply[256]; /* <control_prefix>/reply/<id> */
	const char *id;	 /* into reply */
	const char *op;	 /* the request's "op", or NULL */
};

bool control_topic(const struct mt_ctx *ctx, const char *topic)
{
	size_t n = strlen(ctx->cfg.control_prefix);

	return !strncmp(topic, ctx->cfg.control_prefix, n) && topic[n] == '/';
}

/* The answer's common first members: {"id":..,"op":..,"ok":.. */
static void reply_head(struct mt_ctx *ctx, const struct request *rq, bool ok)
{
	jbuf_reset(&ctx->out);
	jbuf_puts(&ctx->out, "{\"id\":");
	jbuf_json_cstr(&ctx->out, rq->id);
	jbuf_puts(&ctx->out, ",\"op\":");
	jbuf_json_cstr(&ctx->out, rq->op);
	jbuf_printf(&ctx->out, ",\"ok\":%s", ok ? "true" : "false");
}

/* Answer with an error now. `status` follows HTTP's meaning (400 bad
 * request, 403 not allowed, 404 no such device, 503 busy), so that the
 * bridge can pass it on. */
static void reply_error(struct mt_ctx *ctx, const struct request *rq, int status, const char *msg)
{
	reply_head(ctx, rq, false);
	jbuf_printf(&ctx->out, ",\"status\":%d,\"error\":", status);
	jbuf_json_cstr(&ctx->out, msg);
	jbuf_putc(&ctx->out, '}');
	publish_to(ctx, rq->reply, false);
}

static void log_refused(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed, const char *why)
{
	const char *id = mosquitto_client_id(ed->client);
	char cid[UTF8_LOG_LEN(64)];
	unsigned before;

	ctx->c.control_refused++;
	if (!ratelimit_allow(&ctx->reject_rl, (int64_t)time(NULL), CONTROL_LOG_BURST,
			     CONTROL_LOG_PERIOD_S, &before))
		return;
	mosquitto_log_printf(MOSQ_LOG_WARNING,
			     "mytracks: control request from client '%s' refused: %s",
			     id ? utf8_log_str(cid, sizeof(cid), id) : "?", why);
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* An integer member within [min, max]: 0, or -1 if missing or not one. */
static int json_int(const cJSON *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	double v;

	if (!cJSON_IsNumber(it))
		return -1;
	v = it->valuedouble;
	if (!(v >= (double)min && v <= (double)max) || v != (double)(int64_t)v)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* The request's device, which must be known. NULL after answering. */
static struct device *request_device(struct mt_ctx *ctx, const struct request *rq, const cJSON *req)
{
	const char *user = json_str(req, "user"), *device = json_str(req, "device");
	struct device *dev;

	if (!user || !device || !ot_name_ok(user, strlen(user)) ||
	    !ot_name_ok(device, strlen(device))) {
		reply_error(ctx, rq, 400, "\"user\" and \"device\" must be valid names");
		return NULL;
	}
	dev = devices_find(&ctx->devices, user, device);
	if (!dev || !dev->persisted) {
		reply_error(ctx, rq, 404, "no such device");
		return NULL;
	}
	return dev;
}

/* Queue an op that comes back through store_take_acks(); frees it when
 * the store refuses. True when queued. */
static bool queue_ack(struct mt_ctx *ctx, struct store_op *op)
{
	if (!op)
		return false;
	if (store_submit(ctx->store, op, NULL) == STORE_OK)
		return true;
	free(op);
	return false;
}

/* {"op":"delete","user":U,"device":D} and one of "id":N (a location),
 * "from":T1,"to":T2 (fixes and events with T1 <= tst <= T2), "all":true
 * (the device, its locations and its events). */
static void op_delete(struct mt_ctx *ctx, const struct request *rq, const cJSON *req)
{
	const int64_t tmax = (int64_t)1 << 40;
	struct device *dev = request_device(ctx, rq, req);
	struct store_op *op;
	int64_t id = 0, from = 0, to = 0;
	bool all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "all"));
	int forms;

	if (!dev)
		return;
	forms = all + (cJSON_GetObjectItemCaseSensitive(req, "id") != NULL) +
		(cJSON_GetObjectItemCaseSensitive(req, "from") != NULL ||
		 cJSON_GetObjectItemCaseSensitive(req, "to") != NULL);
	if (forms != 1 ||
	    (!all && cJSON_GetObjectItemCaseSensitive(req, "id") &&
	     json_int(req, "id", 1, INT64_MAX / 2, &id)) ||
	    (!all && !id &&
	     (json_int(req, "from", 0, tmax, &from) || json_int(req, "to", 0, tmax, &to) ||
	      from > to))) {
		reply_error(ctx, rq, 400,
			    "give one of \"id\", \"from\" and \"to\" (unix seconds, from <= to), "
			    "or \"all\": true");
		return;
	}
	op = store_op_new(STORE_DELETE,
			  strlen(rq->reply) + strlen(dev->user) + strlen(dev->device) + 3);
	if (op) {
		op->device_id = dev->id;
		op->whole_device = all;
		op->id = id;
		op->tst = from;
		op->until = to;
		op->s1 = store_op_copy_str(op, rq->reply);
		op->s2 = store_op_copy_str(op, dev->user);
		op->raw = store_op_copy_str(op, dev->device);
		op->raw_len = strlen(dev->device);
	}
	if (!queue_ack(ctx, op)) {
		reply_error(ctx, rq, 503, "out of memory");
		return;
	}
	/* A deleted fix may come again (a phone resending): forget what
	 * was recent so the database decides. A deleted device is new again
	 * on its next message, with the same id. */
	dev->recent_count = 0;
	dev->recent_pos = 0;
	if (all) {
		dev->persisted = false;
		dev->max_tst = 0;
		dev->last_tr_tst = 0;
		dev->last_touch = 0;
		dev->online = false;
		device_set_display_name(dev, NULL);
	}
	ctx->c.control_requests++;
}

/* {"op":"import","user":U,"device":D,"messages":["{...}", ...]}: each a
 * historical OwnTracks message as the phone sent it. Locations and
 * transitions are stored without being published; stored ones are
 * skipped. The answer counts what was stored, already there, ignored and
 * rejected (the first few with their index and reason); "done" is how
 * many messages were taken, less than sent when the write buffer filled
 * ("busy": send the rest again later). */
static void op_import(struct mt_ctx *ctx, const struct request *rq, const cJSON *req,
		      const void *client)
{
	const char *user = json_str(req, "user"), *device = json_str(req, "device");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m;
	int64_t done = 0, ignored = 0, rejected = 0, duplicates = 0, listed = 0, events = 0;
	struct store_op *mark, *ack;
	bool busy = false;
	struct jbuf part;
	char why[256];

	if (!user || !device) {
		reply_error(ctx, rq, 400, "\"user\" and \"device\" are required");
		return;
	}
	if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) > CONTROL_MAX_MESSAGES) {
		reply_error(ctx, rq, 400, "\"messages\" must be an array of at most 1000 strings");
		return;
	}
	mark = store_op_new(STORE_MARK, 0);
	if (!queue_ack(ctx, mark)) {
		reply_error(ctx, rq, 503, "out of memory");
		return;
	}
	jbuf_init(&part, 0, 64 * 1024);
	jbuf_puts(&part, ",\"rejected\":[");
	cJSON_ArrayForEach(m, msgs)
	{
		enum import_outcome r;

		if (!cJSON_IsString(m)) {
			r = IMPORT_REJECTED;
			snprintf(why, sizeof(why), "not a string");
		} else {
			r = ingest_import(ctx, client, user, device, m->valuestring,
					  strlen(m->valuestring), why, sizeof(why));
		}
		if (r == IMPORT_BUSY) {
			busy = true;
			break;
		}
		if (r == IMPORT_DUPLICATE)
			duplicates++;
		else if (r == IMPORT_IGNORED)
			ignored++;
		else if (r == IMPORT_EVENT)
			events++;
		if (r == IMPORT_REJECTED && rejected++ < CONTROL_MAX_REJECTS) {
			jbuf_printf(&part,
				    "%s{\"index\":%" PRId64 ",\"error\":", listed++ ? "," : "",
				    done);
			jbuf_json_cstr(&part, why);
			jbuf_putc(&part, '}');
		}
		done++;
	}
	jbuf_printf(&part,
		    "],\"rejected_count\":%" PRId64 ",\"events\":%" PRId64 ",\"ignored\":%" PRId64
		    ",\"done\":%" PRId64 ",\"busy\":%s",
		    rejected, events, ignored, done, busy ? "true" : "false");
	ack = jbuf_failed(&part) ? NULL
				 : store_op_new(STORE_ACK, strlen(rq->reply) + jbuf_len(&part) + 2);
	if (ack) {
		ack->s1 = store_op_copy_str(ack, rq->reply);
		ack->s2 = store_op_copy(ack, jbuf_data(&part), jbuf_len(&part));
		ack->tst = duplicates; /* the ones found before the writer */
	}
	jbuf_free(&part);
	if (!queue_ack(ctx, ack)) {
		reply_error(ctx, rq, 503, "out of memory: send the messages again");
		return;
	}
	ctx->c.control_requests++;
}

int control_message(struct mt_ctx *ctx, const struct mosquitto_evt_message *ed)
{
	const char *rest = ed->topic + strlen(ctx->cfg.control_prefix) + 1;
	const char *username = mosquitto_client_username(ed->client);
	struct request rq = {0};
	cJSON *req;
	size_t idlen;

	if (strncmp(rest, "req/", 4))
		return MOSQ_ERR_SUCCESS; /* answers and anything else: not for us */
	idlen = strlen(rest + 4);
	if (!idlen || idlen > CONTROL_MAX_ID) {
		log_refused(ctx, ed, "a request id of 1 to 128 bytes is needed");
		return MOSQ_ERR_SUCCESS;
	}
	snprintf(rq.reply, sizeof(rq.reply), "%s/reply/%s", ctx->cfg.control_prefix, rest + 4);
	rq.id = rq.reply + strlen(ctx->cfg.control_prefix) + 7;
	if (!ctx->cfg.trusted_user || !username || strcmp(username, ctx->cfg.trusted_user)) {
		log_refused(ctx, ed,
			    ctx->cfg.trusted_user ? "not plugin_opt_trusted_user"
						  : "plugin_opt_trusted_user is not set");
		reply_error(ctx, &rq, 403, "only plugin_opt_trusted_user may send requests");
		return MOSQ_ERR_SUCCESS;
	}
	if (!ed->payload || ed->payloadlen > CONTROL_MAX_PAYLOAD ||
	    !(req = cJSON_ParseWithLength(ed->payload, ed->payloadlen))) {
		log_refused(ctx, ed, "not a JSON object of at most 4 MiB");
		reply_error(ctx, &rq, 400, "the request must be a JSON object of at most 4 MiB");
		return MOSQ_ERR_SUCCESS;
	}
	rq.op = json_str(req, "op");
	if (rq.op && !strcmp(rq.op, "delete")) {
		op_delete(ctx, &rq, req);
	} else if (rq.op && !strcmp(rq.op, "import")) {
		op_import(ctx, &rq, req, ed->client);
	} else {
		log_refused(ctx, ed, "unknown op");
		rq.op = NULL;
		reply_error(ctx, &rq, 400, "\"op\" must be \"delete\" or \"import\"");
	}
	cJSON_Delete(req);
	return MOSQ_ERR_SUCCESS;
}

static void answer(struct mt_ctx *ctx, const struct store_op *op)
{
	const char *id = op->s1 + strlen(ctx->cfg.control_prefix) + 7;
	struct request rq = {.id = id};

	snprintf(rq.reply, sizeof(rq.reply), "%s", op->s1);
	rq.id = rq.reply + (id - op->s1);
	if (op->kind == STORE_ACK) {
		rq.op = "import";
		reply_head(ctx, &rq, true);
		jbuf_printf(&ctx->out, ",\"stored\":%" PRId64 ",\"duplicates\":%" PRId64 "%s}",
			    op->inserted, op->duplicate + op->tst, op->s2);
		publish_to(ctx, rq.reply, false);
		return;
	}
	rq.op = "delete";
	reply_head(ctx, &rq, true);
	jbuf_printf(&ctx->out, ",\"deleted\":%" PRId64 "}", op->deleted);
	publish_to(ctx, rq.reply, false);
	/* every page showing the device drops what was deleted */
	jbuf_reset(&ctx->out);
	dataobj_deleted(&ctx->out, op->device_id, op->s2, op->raw, op->whole_device, op->id,
			op->tst, op->until, op->deleted);
	publish_out(ctx, "deleted", op->s2, op->raw, false);
}

void control_tick(struct mt_ctx *ctx)
{
	struct store_op *op = store_take_acks(ctx->store), *next;

	for (; op; op = next) {
		next = op->next;
		if (op->kind == STORE_ACK || op->kind == STORE_DELETE)
			answer(ctx, op);
		else if (op->pub_rest)
			publish_committed(ctx, op); /* shared writers: committed now */
		free(op);
	}
}
