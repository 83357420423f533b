/* generate_load: simulated OwnTracks phones publishing locations over MQTT or HTTP.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * One connection per device, all driven from one poll() loop: libmosquitto
 * clients in manual-loop mode (MQTT) or plain HTTP/1.1 keep-alive sockets
 * POSTing to the bridge (HTTP). Messages are paced by a global schedule
 * (round-robin over devices) or sent as fast as the in-flight window lets.
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "toolutil.h"

#define PAYLOAD_MAX 512
#define HTTP_IN_MAX 8192
#define NAME_MAX_LEN 64
#define SEND_RING 1024 /* also the largest --max-inflight */

struct options {
	const char *host;
	int port;
	const char *username, *password;
	const char *user, *prefix, *topic_prefix;
	unsigned devices;
	double rate;	   /* per device, messages/s; 0 = as fast as possible */
	double total_rate; /* all devices together; overrides rate when > 0 */
	double duration;   /* seconds; 0 = unlimited */
	uint64_t count;	   /* messages in all; 0 = unlimited */
	int qos;
	bool retain;
	unsigned max_inflight;
	const char *http_url;
	struct tu_url url;
	bool json, quiet, progress;
	uint64_t seed;
	double lat, lon;
	int64_t tst_start; /* first tst; 0 = chosen from the rate */
	double drain_timeout;
	int keepalive;
};

enum http_state { H_IDLE, H_CONNECTING, H_SENDING, H_READING, H_DOWN };

struct gen;

struct device {
	struct gen *g;
	unsigned index;
	char name[NAME_MAX_LEN];
	char topic[3 * NAME_MAX_LEN + 8];
	struct sim_device sim;
	unsigned inflight;
	int64_t send_ns[SEND_RING]; /* MQTT: send time by mid % SEND_RING */
	/* MQTT */
	struct mosquitto *mosq;
	bool connected;
	int64_t next_reconnect_ns;
	/* HTTP */
	int fd;
	enum http_state hs;
	char out[PAYLOAD_MAX + 1024];
	size_t out_len, out_off;
	char in[HTTP_IN_MAX];
	size_t in_len;
	/* a response larger than `in` (a long friends array): its body's
	 * bytes still to come are dropped, then it counts as answered */
	size_t skip;
	int skip_status;
	bool skip_close;
	int64_t req_ns;
};

struct gen {
	struct options o;
	struct device *devs;
	struct pollfd *pfd;
	struct device **pdev;
	char auth_header[512];
	bool live; /* at most 1 message/s per device: tst follows the clock */
	uint64_t sent, acked, errors, rejected, disconnects, reconnects;
	uint64_t behind; /* messages the schedule could not send in time */
	int64_t t_start, t_first_send, t_last_ack, t_end_send;
	struct tu_samples ack_lat;
	unsigned rr; /* next device in the round-robin */
	char first_error[256];
};

static volatile sig_atomic_t g_stop; /* signal handler's only way to reach the loop */

static void on_signal(int sig)
{
	(void)sig;
	if (g_stop)
		_exit(130); /* second Ctrl-C: give up draining */
	g_stop = 1;
}

static void note_error(struct gen *g, const char *fmt, const char *arg)
{
	g->errors++;
	if (!g->first_error[0])
		snprintf(g->first_error, sizeof(g->first_error), fmt, arg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: generate_load [options]\n"
		"Simulated OwnTracks phones publishing `location` reports on\n"
		"owntracks/<user>/<device>, one connection per device, random walks\n"
		"around --lat/--lon with plausible accuracy, speed, battery and\n"
		"connectivity, and a unique increasing tst per device.\n"
		"\n"
		"What to send:\n"
		"  -d, --devices N        simulated devices (default 5)\n"
		"  -r, --rate R           messages per second per device (default 1);\n"
		"                         0 or 'max' = as fast as the in-flight window allows\n"
		"      --total-rate R     messages per second over all devices (overrides --rate)\n"
		"  -t, --duration S       stop after S seconds (default: until Ctrl-C)\n"
		"  -n, --count N          stop after N messages over all devices\n"
		"  -u, --user NAME        topic user (default 'load', or the --username)\n"
		"      --prefix P         device names are P0001, P0002, ... (default 'dev')\n"
		"      --topic-prefix T   first topic level (default 'owntracks')\n"
		"      --lat D --lon D    centre of the walks (default Berlin 52.52, 13.405)\n"
		"      --seed N           random seed (default 1)\n"
		"      --tst-start T      first tst (unix seconds). Default: the current\n"
		"                         time at up to 1 msg/s per device; faster, it starts\n"
		"                         in the past and steps 1 s so tst stays unique\n"
		"\n"
		"MQTT (default):\n"
		"  -H, --host HOST        broker host (default 127.0.0.1)\n"
		"  -p, --port PORT        broker port (default 1883)\n"
		"  -q, --qos 0|1          QoS (default 1, as the phones use)\n"
		"      --retain           publish retained, as the phones do by default\n"
		"  -U, --username NAME    MQTT username (also HTTP Basic auth)\n"
		"  -P, --password PASS    MQTT password (also HTTP Basic auth)\n"
		"  -i, --max-inflight N   unacknowledged messages per connection (default 20,\n"
		"                         at most 1024)\n"
		"      --keepalive S      MQTT keepalive (default 60)\n"
		"\n"
		"HTTP (OwnTracks HTTP mode through the bridge):\n"
		"      --http URL         POST to URL (e.g. http://127.0.0.1:8080/pub) with\n"
		"                         X-Limit-U/X-Limit-D; one keep-alive connection and one\n"
		"                         request in flight per device; any 2xx is an ack\n"
		"\n"
		"Output:\n"
		"      --json             print the summary as one JSON object on stdout\n"
		"      --quiet            no progress line and no text summary\n"
		"      --drain-timeout S  at the end, wait up to S seconds for acks (default 10)\n"
		"  -h, --help             this text\n"
		"\n"
		"A progress line (sent, acked, rate, errors) is shown when stderr is a\n"
		"terminal. Ctrl-C stops sending and waits for outstanding acks; a second\n"
		"Ctrl-C quits at once. Exit status: 0 when every message sent was\n"
		"acknowledged and no error happened, 1 otherwise, 2 for bad options.\n");
}

/* Option `c` as the user may spell it: "-d/--devices", or "--total-rate"
 * for one without a short form. */
static void opt_name(int c, const struct option *longopts, char *buf, size_t n)
{
	const struct option *l;

	for (l = longopts; l->name; l++) {
		if (l->val != c)
			continue;
		if (c < 256)
			snprintf(buf, n, "-%c/--%s", c, l->name);
		else
			snprintf(buf, n, "--%s", l->name);
		return;
	}
	snprintf(buf, n, "-%c", c);
}

/* optarg as an integer from lo to hi for option `c` into `out`. Returns 0,
 * or -1 after naming the option, what it takes and what it got. */
static int opt_u64(int c, const struct option *longopts, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char name[64];

	if (!tu_parse_u64(optarg, lo, hi, out))
		return 0;
	opt_name(c, longopts, name, sizeof(name));
	fprintf(stderr,
		"generate_load: %s: expected an integer from %" PRIu64 " to %" PRIu64
		", got '%s' (see --help)\n",
		name, lo, hi, optarg);
	return -1;
}

/* optarg as a number from lo to hi for option `c`, like opt_u64(). */
static int opt_double(int c, const struct option *longopts, double lo, double hi, double *out)
{
	char name[64];

	if (!tu_parse_double(optarg, lo, hi, out))
		return 0;
	opt_name(c, longopts, name, sizeof(name));
	fprintf(stderr,
		"generate_load: %s: expected a number from %.15g to %.15g, got '%s' (see --help)\n",
		name, lo, hi, optarg);
	return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_TOTAL_RATE = 256,
		OPT_PREFIX,
		OPT_TOPIC_PREFIX,
		OPT_LAT,
		OPT_LON,
		OPT_SEED,
		OPT_TST,
		OPT_RETAIN,
		OPT_KEEPALIVE,
		OPT_HTTP,
		OPT_JSON,
		OPT_QUIET,
		OPT_DRAIN,
	};
	static const struct option longopts[] = {
		{"devices", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"total-rate", required_argument, NULL, OPT_TOTAL_RATE},
		{"duration", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'},
		{"user", required_argument, NULL, 'u'},
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"topic-prefix", required_argument, NULL, OPT_TOPIC_PREFIX},
		{"lat", required_argument, NULL, OPT_LAT},
		{"lon", required_argument, NULL, OPT_LON},
		{"seed", required_argument, NULL, OPT_SEED},
		{"tst-start", required_argument, NULL, OPT_TST},
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"qos", required_argument, NULL, 'q'},
		{"retain", no_argument, NULL, OPT_RETAIN},
		{"username", required_argument, NULL, 'U'},
		{"password", required_argument, NULL, 'P'},
		{"max-inflight", required_argument, NULL, 'i'},
		{"keepalive", required_argument, NULL, OPT_KEEPALIVE},
		{"http", required_argument, NULL, OPT_HTTP},
		{"json", no_argument, NULL, OPT_JSON},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"drain-timeout", required_argument, NULL, OPT_DRAIN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t u;
	int c;

	*o = (struct options){
		.host = "127.0.0.1",
		.port = 1883,
		.prefix = "dev",
		.topic_prefix = "owntracks",
		.devices = 5,
		.rate = 1,
		.qos = 1,
		.max_inflight = 20,
		.seed = 1,
		.lat = 52.520008,
		.lon = 13.404954,
		.drain_timeout = 10,
		.keepalive = 60,
	};
	while ((c = getopt_long(argc, argv, "d:r:t:n:u:H:p:q:U:P:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (opt_u64(c, longopts, 1, 100000, &u))
				return -1;
			o->devices = (unsigned)u;
			break;
		case 'r':
			if (!strcmp(optarg, "max"))
				o->rate = 0;
			else if (tu_parse_double(optarg, 0, 1e7, &o->rate)) {
				fprintf(stderr,
					"generate_load: -r/--rate: expected a number from 0 to "
					"10000000 or 'max', got '%s' (see --help)\n",
					optarg);
				return -1;
			}
			break;
		case OPT_TOTAL_RATE:
			if (opt_double(c, longopts, 0.001, 1e8, &o->total_rate))
				return -1;
			break;
		case 't':
			if (opt_double(c, longopts, 0.001, 1e9, &o->duration))
				return -1;
			break;
		case 'n':
			if (opt_u64(c, longopts, 1, UINT64_MAX / 2, &o->count))
				return -1;
			break;
		case 'u':
			o->user = optarg;
			break;
		case OPT_PREFIX:
			o->prefix = optarg;
			break;
		case OPT_TOPIC_PREFIX:
			o->topic_prefix = optarg;
			break;
		case OPT_LAT:
			if (opt_double(c, longopts, -85, 85, &o->lat))
				return -1;
			break;
		case OPT_LON:
			if (opt_double(c, longopts, -180, 180, &o->lon))
				return -1;
			break;
		case OPT_SEED:
			if (opt_u64(c, longopts, 0, UINT64_MAX, &o->seed))
				return -1;
			break;
		case OPT_TST:
			if (opt_u64(c, longopts, 1, 1ULL << 40, &u))
				return -1;
			o->tst_start = (int64_t)u;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'p':
			if (opt_u64(c, longopts, 1, 65535, &u))
				return -1;
			o->port = (int)u;
			break;
		case 'q':
			if (opt_u64(c, longopts, 0, 1, &u))
				return -1;
			o->qos = (int)u;
			break;
		case OPT_RETAIN:
			o->retain = true;
			break;
		case 'U':
			o->username = optarg;
			break;
		case 'P':
			o->password = optarg;
			break;
		case 'i':
			if (opt_u64(c, longopts, 1, SEND_RING, &u))
				return -1;
			o->max_inflight = (unsigned)u;
			break;
		case OPT_KEEPALIVE:
			if (opt_u64(c, longopts, 5, 65535, &u))
				return -1;
			o->keepalive = (int)u;
			break;
		case OPT_HTTP:
			o->http_url = optarg;
			if (tu_parse_url(optarg, &o->url) || strncmp(optarg, "http://", 7)) {
				fprintf(stderr,
					"generate_load: --http needs http://host[:port]/path\n");
				return -1;
			}
			if (!strcmp(o->url.path, "/"))
				strcpy(o->url.path, "/pub");
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_DRAIN:
			if (opt_double(c, longopts, 0, 3600, &o->drain_timeout))
				return -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "generate_load: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -1;
	}
	if (!o->user) /* phones publish under their own name */
		o->user = o->username ? o->username : "load";
	if (strlen(o->user) + strlen(o->prefix) + 8 >= NAME_MAX_LEN ||
	    strlen(o->topic_prefix) >= NAME_MAX_LEN) {
		fprintf(stderr, "generate_load: --user, --prefix or --topic-prefix too long\n");
		return -1;
	}
	o->progress = !o->quiet && isatty(STDERR_FILENO);
	return 0;
}

/* Messages per second over all devices; 0 = as fast as possible. */
static double total_rate(const struct options *o)
{
	if (o->total_rate > 0)
		return o->total_rate;
	return o->rate * o->devices;
}

static bool budget_left(const struct gen *g)
{
	return !g->o.count || g->sent < g->o.count;
}

/* The tst for the next report of `d`: unique and increasing per device. */
static int64_t next_tst(struct gen *g, struct device *d)
{
	int64_t now = (int64_t)time(NULL);

	if (!d->sim.tst)
		return g->o.tst_start ? g->o.tst_start : now;
	if (g->live && !g->o.tst_start && now > d->sim.tst)
		return now;
	return d->sim.tst + 1;
}

/* First tst when reports come faster than one per second per device:
 * far enough in the past that stepping 1 s per report stays behind the
 * clock (the plugin refuses tst far in the future). */
static int64_t fast_tst_start(const struct options *o)
{
	double per_dev, rate = total_rate(o);

	if (o->count)
		per_dev = ceil((double)o->count / o->devices);
	else if (o->duration > 0 && rate > 0)
		per_dev = ceil(o->duration * rate / o->devices);
	else
		per_dev = 30 * 86400.0; /* open-ended: a month of 1 s steps */
	return (int64_t)time(NULL) - (int64_t)per_dev - 1;
}

/* ---- MQTT ---- */

static void mqtt_connect_cb(struct mosquitto *mosq, void *ud, int rc)
{
	struct device *d = ud;
	(void)mosq;
	if (rc) {
		note_error(d->g, "connection refused: %s", mosquitto_connack_string(rc));
		return;
	}
	d->connected = true;
}

static void mqtt_disconnect_cb(struct mosquitto *mosq, void *ud, int rc)
{
	struct device *d = ud;
	(void)mosq;
	if (d->connected && rc) {
		d->g->disconnects++;
		note_error(d->g, "disconnected: %s", mosquitto_strerror(rc));
	}
	d->connected = false;
	d->next_reconnect_ns = tu_mono_ns() + 1000000000LL;
}

static void mqtt_publish_cb(struct mosquitto *mosq, void *ud, int mid)
{
	struct device *d = ud;
	struct gen *g = d->g;
	int64_t now = tu_mono_ns();
	(void)mosq;

	if (d->inflight)
		d->inflight--;
	g->acked++;
	g->t_last_ack = now;
	if (g->o.qos > 0) {
		int64_t t = d->send_ns[(unsigned)mid % SEND_RING];
		if (t)
			tu_samples_add(&g->ack_lat, (now - t) / 1000);
	}
}

static int mqtt_setup(struct gen *g, struct device *d)
{
	char id[128];
	int rc;

	snprintf(id, sizeof(id), "gl-%s-%s-%d", g->o.user, d->name, (int)getpid());
	d->mosq = mosquitto_new(id, true, d);
	if (!d->mosq)
		return -1;
	mosquitto_int_option(d->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* Our own window bounds what is in flight; the library must not queue. */
	mosquitto_int_option(d->mosq, MOSQ_OPT_SEND_MAXIMUM, 65535);
	/* measure the server, not Nagle's algorithm in the client */
	mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(d->mosq, mqtt_connect_cb);
	mosquitto_disconnect_callback_set(d->mosq, mqtt_disconnect_cb);
	mosquitto_publish_callback_set(d->mosq, mqtt_publish_cb);
	if (g->o.username)
		mosquitto_username_pw_set(d->mosq, g->o.username, g->o.password);
	rc = mosquitto_connect(d->mosq, g->o.host, g->o.port, g->o.keepalive);
	if (rc) {
		fprintf(stderr, "generate_load: cannot connect to %s:%d: %s\n", g->o.host,
			g->o.port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static bool mqtt_ready(const struct gen *g, const struct device *d)
{
	return d->connected && d->inflight < g->o.max_inflight;
}

static int mqtt_send(struct gen *g, struct device *d, const char *payload, int len)
{
	int64_t t = tu_mono_ns();
	int mid = 0, rc;

	/* Counted first: a QoS 0 message is "acked" (written) inside the call. */
	d->inflight++;
	rc = mosquitto_publish(d->mosq, &mid, d->topic, len, payload, g->o.qos, g->o.retain);
	/* Not connected, or (at QoS > 0) queued with a mid and then the write
	 * failed: the library sends it after the reconnection and it is
	 * acknowledged then, so it counts as sent. */
	if (g->o.qos > 0 && mid && (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO))
		rc = MOSQ_ERR_SUCCESS;
	if (rc && rc != MOSQ_ERR_NO_CONN) {
		d->inflight--;
		note_error(g, "publish failed: %s", mosquitto_strerror(rc));
		return -1;
	}
	d->send_ns[(unsigned)mid % SEND_RING] = t;
	return 0;
}

/* ---- HTTP ---- */

static void http_close(struct gen *g, struct device *d, const char *why)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->inflight) {
		d->inflight = 0;
		note_error(g, "HTTP request lost: %s", why);
	}
	d->hs = H_DOWN;
	d->in_len = 0;
	d->skip = 0;
	d->next_reconnect_ns = tu_mono_ns() + 200000000LL;
}

static int http_open(struct gen *g, struct device *d)
{
	d->fd = tu_tcp_connect(g->o.url.host, g->o.url.port);
	if (d->fd < 0) {
		d->hs = H_DOWN;
		d->next_reconnect_ns = tu_mono_ns() + 1000000000LL;
		note_error(g, "cannot connect to %s", g->o.http_url);
		return -1;
	}
	d->hs = H_CONNECTING;
	d->in_len = 0;
	return 0;
}

static bool http_ready(const struct device *d)
{
	return d->hs == H_IDLE;
}

/* Write what is pending of the request; returns -1 if the connection broke. */
static int http_flush(struct gen *g, struct device *d)
{
	while (d->out_off < d->out_len) {
		ssize_t n = send(d->fd, d->out + d->out_off, d->out_len - d->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			http_close(g, d, strerror(errno));
			return -1;
		}
		d->out_off += (size_t)n;
	}
	d->hs = H_READING;
	return 0;
}

static int http_send(struct gen *g, struct device *d, const char *payload, int len)
{
	int n = snprintf(d->out, sizeof(d->out),
			 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
			 "X-Limit-U: %s\r\nX-Limit-D: %s\r\n%sContent-Length: %d\r\n\r\n%.*s",
			 g->o.url.path, g->o.url.host, g->o.url.port, g->o.user, d->name,
			 g->auth_header, len, len, payload);
	if (n < 0 || (size_t)n >= sizeof(d->out)) {
		note_error(g, "request too large%s", "");
		return -1;
	}
	d->out_len = (size_t)n;
	d->out_off = 0;
	d->inflight = 1;
	d->req_ns = tu_mono_ns();
	d->hs = H_SENDING;
	return http_flush(g, d);
}

/* Length of a complete response at the start of d->in (headers and body),
 * 0 if more bytes are needed, -1 if it cannot be parsed. Sets *status and
 * whether the server closes the connection after it. */
/* Length of a complete response at the start of d->in (headers and body),
 * 0 if more bytes are needed, -1 if it cannot be parsed. Sets *status and
 * whether the server closes the connection after it. A response that does
 * not fit in d->in but has a Content-Length is dropped as it comes: then
 * d->skip is set and 0 returned. */
static long http_response_len(struct device *d, int *status, bool *close_after)
{
	struct tu_http_response r;
	int rc = tu_http_response(d->in, d->in_len, &r);

	if (rc == 0 && d->in_len >= sizeof(d->in) - 1) {
		if (!r.total_len)
			return -1; /* headers too long, or chunked */
		d->skip = r.total_len - d->in_len;
		d->skip_status = r.status;
		d->skip_close = r.close_after;
		d->in_len = 0;
		return 0;
	}
	if (rc <= 0)
		return rc;
	*status = r.status;
	*close_after = r.close_after;
	return (long)r.total_len;
}

/* A response to the report in flight arrived: count it. False when the
 * connection is gone. */
static bool http_answered(struct gen *g, struct device *d, int status, bool close_after)
{
	if (d->hs != H_READING) {
		http_close(g, d, "unexpected response");
		return false;
	}
	d->inflight = 0;
	if (status >= 200 && status < 300) {
		int64_t now = tu_mono_ns();
		g->acked++;
		g->t_last_ack = now;
		tu_samples_add(&g->ack_lat, (now - d->req_ns) / 1000);
	} else {
		char s[16];
		snprintf(s, sizeof(s), "%d", status);
		g->rejected++;
		note_error(g, "HTTP status %s", s);
	}
	d->hs = H_IDLE;
	if (close_after) {
		http_close(g, d, "closed");
		return false;
	}
	return true;
}

static void http_read(struct gen *g, struct device *d)
{
	for (;;) {
		ssize_t n = recv(d->fd, d->in + d->in_len, sizeof(d->in) - 1 - d->in_len, 0);
		int status = 0;
		bool close_after = false;
		long rlen;

		if (n == 0) {
			http_close(g, d, "connection closed by server");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				http_close(g, d, strerror(errno));
			return;
		}
		d->in_len += (size_t)n;
		if (d->skip) {
			size_t k = d->skip < d->in_len ? d->skip : d->in_len;

			memmove(d->in, d->in + k, d->in_len - k);
			d->in_len -= k;
			d->skip -= k;
			if (d->skip)
				continue;
			if (!http_answered(g, d, d->skip_status, d->skip_close))
				return;
		}
		rlen = http_response_len(d, &status, &close_after);
		if (rlen < 0) {
			http_close(g, d, "unparsable response");
			return;
		}
		if (rlen == 0)
			continue;
		memmove(d->in, d->in + rlen, d->in_len - (size_t)rlen);
		d->in_len -= (size_t)rlen;
		if (!http_answered(g, d, status, close_after))
			return;
	}
}

static void http_event(struct gen *g, struct device *d, short revents)
{
	if (d->hs == H_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			http_close(g, d, strerror(err));
			note_error(g, "cannot connect to %s", g->o.http_url);
			return;
		}
		d->hs = H_IDLE;
	}
	if (d->hs == H_SENDING && (revents & POLLOUT) && http_flush(g, d))
		return;
	if (revents & (POLLIN | POLLERR | POLLHUP))
		http_read(g, d);
}

/* ---- the loop ---- */

static bool dev_ready(const struct gen *g, const struct device *d)
{
	return g->o.http_url ? http_ready(d) : mqtt_ready(g, d);
}

static int dev_send(struct gen *g, struct device *d)
{
	char payload[PAYLOAD_MAX];
	int len, rc;

	sim_step(&d->sim, next_tst(g, d));
	len = sim_format(&d->sim, (int64_t)time(NULL), payload, sizeof(payload));
	if (len < 0)
		return -1;
	rc = g->o.http_url ? http_send(g, d, payload, len) : mqtt_send(g, d, payload, len);
	if (rc == 0) {
		if (!g->sent)
			g->t_first_send = tu_mono_ns();
		g->sent++;
	}
	return rc;
}

/* The next ready device after the last one used, or NULL if none is. */
static struct device *pick_device(struct gen *g)
{
	for (unsigned k = 0; k < g->o.devices; k++) {
		struct device *d = &g->devs[(g->rr + k) % g->o.devices];
		if (dev_ready(g, d)) {
			g->rr = (d->index + 1) % g->o.devices;
			return d;
		}
	}
	return NULL;
}

static uint64_t outstanding(const struct gen *g)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < g->o.devices; i++)
		n += g->devs[i].inflight;
	return n;
}

static void progress(struct gen *g, int64_t now, uint64_t *last_acked, int64_t *last_ns)
{
	double dt = (double)(now - *last_ns) / 1e9;
	double rate = dt > 0 ? (double)(g->acked - *last_acked) / dt : 0;

	fprintf(stderr,
		"\r\033[Ksent %" PRIu64 "  acked %" PRIu64 "  %.0f/s  in flight %" PRIu64
		"  errors %" PRIu64 "  %.0fs",
		g->sent, g->acked, rate, outstanding(g), g->errors,
		(double)(now - g->t_start) / 1e9);
	*last_acked = g->acked;
	*last_ns = now;
}

/* Fill the poll set; returns the number of entries. */
static int build_pollset(struct gen *g)
{
	int n = 0;

	for (unsigned i = 0; i < g->o.devices; i++) {
		struct device *d = &g->devs[i];
		short ev = POLLIN;
		int fd;

		if (g->o.http_url) {
			fd = d->fd;
			if (d->hs == H_CONNECTING || d->hs == H_SENDING)
				ev |= POLLOUT;
		} else {
			fd = mosquitto_socket(d->mosq);
			if (mosquitto_want_write(d->mosq))
				ev |= POLLOUT;
		}
		if (fd < 0)
			continue;
		g->pfd[n] = (struct pollfd){.fd = fd, .events = ev};
		g->pdev[n] = d;
		n++;
	}
	return n;
}

static void handle_events(struct gen *g, int n)
{
	for (int i = 0; i < n; i++) {
		struct device *d = g->pdev[i];
		short re = g->pfd[i].revents;

		if (!re)
			continue;
		if (g->o.http_url) {
			http_event(g, d, re);
			continue;
		}
		if (re & (POLLIN | POLLERR | POLLHUP))
			mosquitto_loop_read(d->mosq, 1);
		if ((re & POLLOUT) && mosquitto_socket(d->mosq) >= 0)
			mosquitto_loop_write(d->mosq, 1);
	}
}

/* Once a second: keepalives and reconnects. */
static void housekeeping(struct gen *g, int64_t now)
{
	for (unsigned i = 0; i < g->o.devices; i++) {
		struct device *d = &g->devs[i];

		if (g->o.http_url) {
			if (d->hs == H_DOWN && now >= d->next_reconnect_ns && !g_stop) {
				g->reconnects++;
				http_open(g, d);
			}
			continue;
		}
		mosquitto_loop_misc(d->mosq);
		if (!d->connected && mosquitto_socket(d->mosq) < 0 && now >= d->next_reconnect_ns &&
		    !g_stop) {
			g->reconnects++;
			d->next_reconnect_ns = now + 1000000000LL;
			mosquitto_reconnect(d->mosq);
		}
	}
}

/* Publish what the schedule says is due; returns ns until the next is due
 * (0 = call again at once, -1 = nothing to pace). */
static int64_t send_due(struct gen *g, int64_t now, int64_t *next_due, int64_t interval)
{
	int sent_now = 0;

	if (interval == 0) {
		/* as fast as possible: fill the windows one message per device per
		 * pass, so every device sends its share (and its tst range stays
		 * where fast_tst_start() put it) */
		bool any = true;
		while (any && budget_left(g) && sent_now < 1000) {
			any = false;
			for (unsigned k = 0; k < g->o.devices && budget_left(g); k++) {
				struct device *d = &g->devs[(g->rr + k) % g->o.devices];
				if (dev_ready(g, d) && dev_send(g, d) == 0) {
					any = true;
					sent_now++;
				}
			}
		}
		g->rr = (g->rr + 1) % g->o.devices;
		return -1;
	}
	while (*next_due <= now && budget_left(g)) {
		struct device *d = pick_device(g);
		if (!d) {
			/* every device busy: try again when an ack arrives */
			if (now - *next_due > 1000000000LL) {
				/* more than a second behind: drop the backlog */
				uint64_t missed = (uint64_t)((now - *next_due) / interval);
				g->behind += missed;
				*next_due += (int64_t)missed * interval;
			}
			return -1;
		}
		dev_send(g, d);
		*next_due += interval;
	}
	return *next_due - now;
}

static int run(struct gen *g)
{
	double rate = total_rate(&g->o);
	int64_t interval = rate > 0 ? (int64_t)(1e9 / rate) : 0;
	int64_t end_ns = 0, drain_end = 0, next_due, last_misc, last_prog, t_connect_end;
	uint64_t last_acked = 0;
	bool draining = false;

	if (interval == 0 && rate > 0)
		interval = 1;
	g->t_start = tu_mono_ns();
	t_connect_end = g->t_start + 10000000000LL;
	/* wait for every connection before sending, so the schedule is fair */
	for (;;) {
		unsigned up = 0;
		int n;
		for (unsigned i = 0; i < g->o.devices; i++)
			up += g->o.http_url ? g->devs[i].hs == H_IDLE : g->devs[i].connected;
		if (up == g->o.devices)
			break;
		if (g_stop || tu_mono_ns() > t_connect_end || g->errors) {
			fprintf(stderr, "generate_load: only %u of %u devices connected%s%s\n", up,
				g->o.devices, g->first_error[0] ? ": " : "", g->first_error);
			return -1;
		}
		n = build_pollset(g);
		if (poll(g->pfd, (nfds_t)n, 100) > 0)
			handle_events(g, n);
		if (!g->o.http_url)
			housekeeping(g, tu_mono_ns());
	}

	next_due = last_misc = last_prog = tu_mono_ns();
	if (g->o.duration > 0)
		end_ns = next_due + (int64_t)(g->o.duration * 1e9);
	for (;;) {
		int64_t now = tu_mono_ns(), wait_ns = 100000000LL;
		int n, timeout_ms;

		if (!draining && (g_stop || !budget_left(g) || (end_ns && now >= end_ns))) {
			draining = true;
			g->t_end_send = now;
			drain_end = now + (int64_t)(g->o.drain_timeout * 1e9);
		}
		if (draining) {
			if (outstanding(g) == 0 || now >= drain_end)
				break;
		} else {
			int64_t w = send_due(g, now, &next_due, interval);
			if (w >= 0 && w < wait_ns)
				wait_ns = w;
			if (interval == 0 && budget_left(g))
				wait_ns = 0;
			now = tu_mono_ns();
		}
		n = build_pollset(g);
		timeout_ms = (int)((wait_ns + 999999) / 1000000);
		/* fast mode: block only if every window is full */
		if (interval == 0 && !draining) {
			bool any_ready = false;
			for (unsigned i = 0; i < g->o.devices && !any_ready; i++)
				any_ready = dev_ready(g, &g->devs[i]);
			timeout_ms = any_ready && budget_left(g) ? 0 : 100;
		}
		if (poll(g->pfd, (nfds_t)n, timeout_ms) > 0)
			handle_events(g, n);
		now = tu_mono_ns();
		if (now - last_misc >= 1000000000LL) {
			housekeeping(g, now);
			last_misc = now;
		}
		if (g->o.progress && now - last_prog >= 1000000000LL)
			progress(g, now, &last_acked, &last_prog);
	}
	if (g->o.progress) {
		progress(g, tu_mono_ns(), &last_acked, &last_prog);
		fputc('\n', stderr);
	}
	return 0;
}

static void summary(struct gen *g, int64_t end)
{
	double send_s = g->sent ? (double)((g->t_last_ack > g->t_first_send ? g->t_last_ack
									    : g->t_end_send) -
					   g->t_first_send) /
					  1e9
				: 0;
	double rate = send_s > 0 ? (double)g->acked / send_s : 0;
	uint64_t unacked =
		g->sent - (g->acked + g->rejected < g->sent ? g->acked + g->rejected : g->sent);

	tu_samples_sort(&g->ack_lat);
	if (g->o.json) {
		printf("{\"mode\":\"%s\",\"devices\":%u,\"qos\":%d,\"sent\":%" PRIu64
		       ",\"acked\":%" PRIu64 ",\"unacked\":%" PRIu64 ",\"rejected\":%" PRIu64
		       ",\"errors\":%" PRIu64 ",\"disconnects\":%" PRIu64 ",\"behind\":%" PRIu64
		       ",\"elapsed_s\":%.3f,\"send_s\":%.3f,\"rate\":%.1f"
		       ",\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"ack_max_ms\":%.3f"
		       ",\"first_error\":\"%s\"}\n",
		       g->o.http_url ? "http" : "mqtt", g->o.devices, g->o.http_url ? -1 : g->o.qos,
		       g->sent, g->acked, unacked, g->rejected, g->errors, g->disconnects,
		       g->behind, (double)(end - g->t_start) / 1e9, send_s, rate,
		       tu_samples_pct(&g->ack_lat, 50), tu_samples_pct(&g->ack_lat, 99),
		       tu_samples_pct(&g->ack_lat, 100), g->first_error);
		fflush(stdout);
	}
	if (!g->o.quiet && !g->o.json) {
		fprintf(stderr,
			"generate_load: %s, %u devices: sent %" PRIu64 ", acknowledged %" PRIu64
			", unacknowledged %" PRIu64 ", errors %" PRIu64 "\n"
			"generate_load: %.1f messages/s over %.2f s; ack latency p50 %.2f ms, "
			"p99 %.2f ms\n",
			g->o.http_url ? "HTTP" : (g->o.qos ? "MQTT QoS 1" : "MQTT QoS 0"),
			g->o.devices, g->sent, g->acked, unacked, g->errors, rate, send_s,
			tu_samples_pct(&g->ack_lat, 50), tu_samples_pct(&g->ack_lat, 99));
		if (g->behind)
			fprintf(stderr,
				"generate_load: %" PRIu64 " scheduled messages skipped: the target "
				"rate was not reachable\n",
				g->behind);
		if (g->first_error[0])
			fprintf(stderr, "generate_load: first error: %s\n", g->first_error);
	}
}

int main(int argc, char **argv)
{
	struct gen g = {0};
	struct sigaction sa = {0};
	int rc = 1;

	if (parse_options(argc, argv, &g.o))
		return 2;
	g.live = total_rate(&g.o) > 0 && total_rate(&g.o) / g.o.devices <= 1.0;
	if (!g.live && !g.o.tst_start)
		g.o.tst_start = fast_tst_start(&g.o);

	if (g.o.username && g.o.http_url) {
		char cred[300], b64[420];
		snprintf(cred, sizeof(cred), "%s:%s", g.o.username,
			 g.o.password ? g.o.password : "");
		tu_base64((const unsigned char *)cred, strlen(cred), b64);
		snprintf(g.auth_header, sizeof(g.auth_header), "Authorization: Basic %s\r\n", b64);
	}

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	g.devs = calloc(g.o.devices, sizeof(*g.devs));
	g.pfd = calloc(g.o.devices, sizeof(*g.pfd));
	g.pdev = calloc(g.o.devices, sizeof(*g.pdev));
	if (!g.devs || !g.pfd || !g.pdev) {
		fprintf(stderr, "generate_load: out of memory\n");
		free(g.devs);
		free(g.pfd);
		free(g.pdev);
		return 1;
	}
	mosquitto_lib_init();
	for (unsigned i = 0; i < g.o.devices; i++) {
		struct device *d = &g.devs[i];
		d->g = &g;
		d->index = i;
		d->fd = -1;
		snprintf(d->name, sizeof(d->name), "%s%04u", g.o.prefix, i + 1);
		snprintf(d->topic, sizeof(d->topic), "%s/%s/%s", g.o.topic_prefix, g.o.user,
			 d->name);
		sim_device_init(&d->sim, i, g.o.seed, g.o.lat, g.o.lon);
		if (g.o.http_url ? http_open(&g, d) : mqtt_setup(&g, d))
			goto out;
	}
	if (run(&g))
		goto out;
	summary(&g, tu_mono_ns());
	rc = (g.errors || g.acked != g.sent) ? 1 : 0;
out:
	for (unsigned i = 0; i < g.o.devices; i++) {
		struct device *d = &g.devs[i];
		if (d->mosq) {
			if (d->connected) {
				mosquitto_disconnect(d->mosq);
				mosquitto_loop_write(d->mosq, 1);
			}
			mosquitto_destroy(d->mosq);
		}
		if (d->fd >= 0)
			close(d->fd);
	}
	mosquitto_lib_cleanup();
	tu_samples_free(&g.ack_lat);
	free(g.devs);
	free(g.pfd);
	free(g.pdev);
	return rc;
}
