/* import_send: mytracks-import's batches and its requests on the plugin's control channel.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * libmosquitto in manual-loop mode: one request at a time, so the loop
 * runs only while an answer (or the CONNACK or SUBACK) is awaited.
 */
#include "import_send.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolutil.h"

#define ANSWER_REJECTS 20		 /* rejected messages an answer names */
#define BUSY_FIRST_MS 50		 /* first pause after a busy answer that took nothing */
#define BUSY_MAX_MS 2000		 /* longest pause */
#define REQ_HEAD_MAX (2 * 6 * 128 + 128) /* escaped user and device, and the keys */

/* ---- batches ---- */

void imp_batch_init(struct imp_batch *b, size_t max_n)
{
	memset(b, 0, sizeof(*b));
	b->max_n = max_n;
	jbuf_init(&b->esc, 0, IMP_MAX_REQUEST);
	jbuf_init(&b->scratch, 0, IMP_MAX_REQUEST);
}

void imp_batch_free(struct imp_batch *b)
{
	jbuf_free(&b->esc);
	jbuf_free(&b->scratch);
	free(b->off);
	free(b->org);
	free(b->user);
	free(b->device);
	memset(b, 0, sizeof(*b));
}

static void batch_clear(struct imp_batch *b)
{
	jbuf_reset(&b->esc);
	b->n = 0;
	free(b->user);
	free(b->device);
	b->user = b->device = NULL;
}

int imp_batch_add(struct imp_batch *b, const char *user, const char *device, const char *json,
		  size_t len, struct imp_origin o)
{
	if (b->n && (b->n >= b->max_n || strcmp(b->user, user) || strcmp(b->device, device)))
		return 1;
	jbuf_reset(&b->scratch);
	jbuf_json_str(&b->scratch, json, len);
	jbuf_putc(&b->scratch, ',');
	if (jbuf_failed(&b->scratch) || jbuf_len(&b->scratch) + REQ_HEAD_MAX > IMP_MAX_REQUEST)
		return -1;
	if (jbuf_len(&b->esc) + jbuf_len(&b->scratch) + REQ_HEAD_MAX > IMP_MAX_REQUEST)
		return 1;
	if (b->n == b->alloc) {
		size_t na = b->alloc ? 2 * b->alloc : 64;
		size_t *off = realloc(b->off, na * sizeof(*off));
		struct imp_origin *org;

		if (!off)
			return -1;
		b->off = off;
		org = realloc(b->org, na * sizeof(*org));
		if (!org)
			return -1;
		b->org = org;
		b->alloc = na;
	}
	if (!b->n) {
		b->user = strdup(user);
		b->device = strdup(device);
		if (!b->user || !b->device) {
			batch_clear(b);
			return -1;
		}
	}
	b->off[b->n] = jbuf_len(&b->esc);
	jbuf_append(&b->esc, jbuf_data(&b->scratch), jbuf_len(&b->scratch));
	if (jbuf_failed(&b->esc))
		return -1;
	b->org[b->n++] = o;
	return 0;
}

/* ---- the connection ---- */

struct imp_conn {
	struct mosquitto *mosq;
	char prefix[128];
	char username[160];
	char base[64];	/* request ids are <base>/<n> */
	char want[320]; /* the answer topic awaited */
	unsigned long seq;
	double timeout_s;
	bool connack_seen, subscribed, sub_refused, got, lost;
	int connack;
	char *answer;
	size_t answer_len;
	struct jbuf req;
};

static void on_connect_cb(struct mosquitto *m, void *obj, int rc)
{
	struct imp_conn *c = obj;

	(void)m;
	c->connack_seen = true;
	c->connack = rc;
}

static void on_disconnect_cb(struct mosquitto *m, void *obj, int rc)
{
	struct imp_conn *c = obj;

	(void)m;
	(void)rc;
	c->lost = true;
}

static void on_subscribe_cb(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct imp_conn *c = obj;

	(void)m;
	(void)mid;
	c->subscribed = true;
	c->sub_refused = n < 1 || granted[0] < 0 || granted[0] > 2;
}

static void on_message_cb(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct imp_conn *c = obj;

	(void)m;
	if (c->got || strcmp(msg->topic, c->want))
		return;
	free(c->answer);
	c->answer = malloc((size_t)msg->payloadlen + 1);
	if (!c->answer)
		return;
	memcpy(c->answer, msg->payload, (size_t)msg->payloadlen);
	c->answer[msg->payloadlen] = '\0';
	c->answer_len = (size_t)msg->payloadlen;
	c->got = true;
}

/* Run the network loop until *flag is set (0), `ms` pass (-1) or the
 * connection is lost (-2). A NULL flag just waits. */
static int pump(struct imp_conn *c, const bool *flag, int64_t ms)
{
	int64_t end = tu_mono_ns() + ms * 1000000;

	for (;;) {
		int64_t left = (end - tu_mono_ns()) / 1000000;
		int rc;

		if (flag && *flag)
			return 0;
		if (c->lost)
			return -2;
		if (left <= 0)
			return -1;
		rc = mosquitto_loop(c->mosq, left < 100 ? (int)left : 100, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			c->lost = true; /* after a last look at the flag */
	}
}

static void random_base(char *out, size_t size)
{
	uint64_t r = (uint64_t)tu_wall_ns() ^ ((uint64_t)getpid() << 32);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		uint64_t x;

		if (read(fd, &x, sizeof(x)) == (ssize_t)sizeof(x))
			r ^= x;
		close(fd);
	}
	snprintf(out, size, "mytracks-import-%d-%016" PRIx64, (int)getpid(), r);
}

struct imp_conn *imp_conn_open(const struct imp_conn_opts *o, char *err, size_t errlen)
{
	struct imp_conn *c = calloc(1, sizeof(*c));
	char filter[320];
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mosquitto_lib_init();
	snprintf(c->prefix, sizeof(c->prefix), "%s", o->prefix);
	snprintf(c->username, sizeof(c->username), "%s", o->username ? o->username : "");
	c->timeout_s = o->timeout_s;
	jbuf_init(&c->req, 0, IMP_MAX_REQUEST);
	random_base(c->base, sizeof(c->base));
	c->mosq = mosquitto_new(NULL, true, c);
	if (!c->mosq) {
		snprintf(err, errlen, "cannot create an MQTT client: %s", strerror(errno));
		goto fail;
	}
	mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(c->mosq, on_connect_cb);
	mosquitto_disconnect_callback_set(c->mosq, on_disconnect_cb);
	mosquitto_subscribe_callback_set(c->mosq, on_subscribe_cb);
	mosquitto_message_callback_set(c->mosq, on_message_cb);
	if (o->username && mosquitto_username_pw_set(c->mosq, o->username, o->password)) {
		snprintf(err, errlen, "--username: not usable as an MQTT user name");
		goto fail;
	}
	if (o->cafile) {
		rc = mosquitto_tls_set(c->mosq, o->cafile, NULL, NULL, NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "--cafile %s: %s", o->cafile, mosquitto_strerror(rc));
			goto fail;
		}
	}
	rc = mosquitto_connect(c->mosq, o->host, o->port, 60);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "cannot connect to the broker at %s:%d: %s", o->host, o->port,
			 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		goto fail;
	}
	rc = pump(c, &c->connack_seen, (int64_t)(o->timeout_s * 1000));
	if (rc) {
		snprintf(err, errlen, "the broker at %s:%d did not accept the connection (%s)",
			 o->host, o->port, rc == -1 ? "no answer in time" : "connection closed");
		goto fail;
	}
	if (c->connack) {
		snprintf(err, errlen, "the broker at %s:%d refused the connection: %s%s", o->host,
			 o->port, mosquitto_connack_string(c->connack),
			 c->connack == 4 || c->connack == 5
				 ? " (check --username and --password-file)"
				 : "");
		goto fail;
	}
	snprintf(filter, sizeof(filter), "%s/reply/%s/#", c->prefix, c->base);
	rc = mosquitto_subscribe(c->mosq, NULL, filter, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = pump(c, &c->subscribed, (int64_t)(o->timeout_s * 1000));
	if (rc || c->sub_refused) {
		snprintf(err, errlen,
			 "the broker refused the subscription to %s: its ACL must let '%s' read "
			 "%s/reply/# and write %s/req/#",
			 filter, o->username ? o->username : "(anonymous)", c->prefix, c->prefix);
		goto fail;
	}
	return c;
fail:
	imp_conn_close(c);
	return NULL;
}

void imp_conn_close(struct imp_conn *c)
{
	if (!c)
		return;
	if (c->mosq) {
		if (!c->lost && c->connack_seen && !c->connack) {
			mosquitto_disconnect(c->mosq);
			mosquitto_loop(c->mosq, 50, 1);
		}
		mosquitto_destroy(c->mosq);
	}
	mosquitto_lib_cleanup();
	jbuf_free(&c->req);
	free(c->answer);
	free(c);
}

/* ---- requests and answers ---- */

struct answer {
	bool ok, busy;
	int status;
	char error[256];
	int64_t stored, duplicates, events, ignored, done, rejected_count;
	size_t listed;
	int64_t index[ANSWER_REJECTS];
	char why[ANSWER_REJECTS][256];
};

static int64_t num(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(it) ? (int64_t)it->valuedouble : 0;
}

static int parse_answer(const char *s, size_t len, struct answer *a)
{
	cJSON *o = cJSON_ParseWithLength(s, len), *it;
	const cJSON *e;

	memset(a, 0, sizeof(*a));
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	a->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
	a->busy = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "busy"));
	a->status = (int)num(o, "status");
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	snprintf(a->error, sizeof(a->error), "%s", cJSON_IsString(e) ? e->valuestring : "");
	a->stored = num(o, "stored");
	a->duplicates = num(o, "duplicates");
	a->events = num(o, "events");
	a->ignored = num(o, "ignored");
	a->done = num(o, "done");
	a->rejected_count = num(o, "rejected_count");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "rejected"))
	{
		if (a->listed == ANSWER_REJECTS)
			break;
		e = cJSON_GetObjectItemCaseSensitive(it, "error");
		a->index[a->listed] = num(it, "index");
		snprintf(a->why[a->listed], sizeof(a->why[0]), "%s",
			 cJSON_IsString(e) ? e->valuestring : "rejected");
		a->listed++;
	}
	cJSON_Delete(o);
	return 0;
}

/* Publish the request for messages from..n of the batch and wait. */
static int request(struct imp_conn *c, const struct imp_batch *b, size_t from, struct answer *a,
		   char *err, size_t errlen)
{
	char topic[320];
	size_t mlen = jbuf_len(&b->esc) - b->off[from] - 1; /* without the last comma */
	int rc;

	jbuf_reset(&c->req);
	jbuf_puts(&c->req, "{\"op\":\"import\",\"user\":");
	jbuf_json_cstr(&c->req, b->user);
	jbuf_puts(&c->req, ",\"device\":");
	jbuf_json_cstr(&c->req, b->device);
	jbuf_puts(&c->req, ",\"messages\":[");
	jbuf_append(&c->req, jbuf_data(&b->esc) + b->off[from], mlen);
	jbuf_puts(&c->req, "]}");
	if (jbuf_failed(&c->req)) {
		snprintf(err, errlen, "out of memory (or a request over 4 MiB)");
		return -1;
	}
	c->seq++;
	snprintf(topic, sizeof(topic), "%s/req/%s/%lu", c->prefix, c->base, c->seq);
	snprintf(c->want, sizeof(c->want), "%s/reply/%s/%lu", c->prefix, c->base, c->seq);
	c->got = false;
	rc = mosquitto_publish(c->mosq, NULL, topic, (int)jbuf_len(&c->req), jbuf_data(&c->req), 1,
			       false);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "cannot publish the request: %s", mosquitto_strerror(rc));
		return -1;
	}
	rc = pump(c, &c->got, (int64_t)(c->timeout_s * 1000));
	if (rc == -2) {
		snprintf(err, errlen,
			 "the broker closed the connection after the request: may '%s' publish on "
			 "%s/req/# and read %s/reply/# (its ACL)?",
			 c->username, c->prefix, c->prefix);
		return -1;
	}
	if (rc == -1) {
		snprintf(
			err, errlen,
			"no answer from the plugin within %g s: is the broker running the mytracks "
			"plugin with plugin_opt_trusted_user set to this --username, and may it "
			"publish on %s/req/# (ACL)?",
			c->timeout_s, c->prefix);
		return -1;
	}
	if (parse_answer(c->answer, c->answer_len, a)) {
		snprintf(err, errlen, "the plugin's answer is not JSON");
		return -1;
	}
	return 0;
}

/* The answer's counts into the totals and its rejections to the report. */
static void account(const struct imp_batch *b, size_t from, const struct answer *a,
		    struct imp_totals *t, const struct imp_report *r)
{
	size_t i;
	int64_t last = -1;

	t->requests++;
	t->sent += a->done;
	t->stored += a->stored;
	t->duplicates += a->duplicates;
	t->events += a->events;
	t->ignored += a->ignored;
	t->rejected += a->rejected_count;
	for (i = 0; i < a->listed; i++) {
		if (a->index[i] < 0 || (size_t)a->index[i] >= b->n - from)
			continue;
		last = a->index[i];
		r->rejected(r->arg, &b->org[from + (size_t)last], a->why[i]);
	}
	if (a->rejected_count > (int64_t)a->listed && a->done > last + 1)
		r->unnamed(r->arg, a->rejected_count - (int64_t)a->listed,
			   &b->org[from + (size_t)(last + 1)], &b->org[from + (size_t)a->done - 1]);
	if (r->progress)
		r->progress(r->arg);
}

int imp_batch_send(struct imp_conn *c, struct imp_batch *b, struct imp_totals *t,
		   const struct imp_report *r, char *err, size_t errlen)
{
	size_t from = 0;
	int64_t pause = BUSY_FIRST_MS, stuck_since = 0;
	struct answer *a;

	if (!b->n)
		return 0;
	a = malloc(sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (from < b->n) {
		if (request(c, b, from, a, err, errlen))
			goto fail;
		if (!a->ok && a->status != 503) {
			snprintf(err, errlen, "the plugin refused the import request (%d): %s",
				 a->status, a->error);
			goto fail;
		}
		if (a->ok) {
			if (a->done < 0 || (size_t)a->done > b->n - from) {
				snprintf(err, errlen, "the plugin's answer has a wrong \"done\"");
				goto fail;
			}
			account(b, from, a, t, r);
			from += (size_t)a->done;
		}
		if (from >= b->n)
			break;
		/* busy: what was taken is stored; the rest again, after a pause
		 * when nothing was taken */
		t->busy_retries++;
		if (a->ok && a->done > 0) {
			pause = BUSY_FIRST_MS;
			stuck_since = 0;
			continue;
		}
		if (!stuck_since)
			stuck_since = tu_mono_ns();
		if ((double)(tu_mono_ns() - stuck_since) / 1e9 > c->timeout_s) {
			snprintf(
				err, errlen,
				"the plugin stayed busy for %g s (its write buffer is full: can it "
				"write its database?)",
				c->timeout_s);
			goto fail;
		}
		if (pump(c, NULL, pause) == -2) {
			snprintf(err, errlen, "the connection to the broker was lost");
			goto fail;
		}
		pause = pause * 2 > BUSY_MAX_MS ? BUSY_MAX_MS : pause * 2;
	}
	free(a);
	batch_clear(b);
	return 0;
fail:
	free(a);
	return -1;
}
