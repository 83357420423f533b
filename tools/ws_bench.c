/* ws_bench: publish-to-WebSocket latency and fan-out for the mytracks bridge.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * One process opens N WebSocket clients on the bridge's /ws/locations/
 * (a minimal RFC 6455 client: handshake, unmasked server frames, pong),
 * publishes OwnTracks locations over MQTT at a fixed rate, and matches
 * every received frame to its send time. The tst of each report is unique
 * over the whole run (base + sequence number), so `timestamp_unix` in the
 * relayed data object identifies the message; send and receive times come
 * from the same monotonic clock.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "toolutil.h"

#define RBUF 8192
#define MAX_WATCH 4
#define TAG_MQTT ((void *)1)

struct options {
	struct tu_url url;
	const char *ws_url;
	unsigned clients, connect_batch;
	const char *mqtt_host;
	int mqtt_port;
	const char *username, *password, *user;
	unsigned devices;
	double rate, duration, settle, connect_timeout, warmup;
	int qos;
	bool nodelay;
	int watch[MAX_WATCH];
	const char *watch_name[MAX_WATCH];
	int nwatch;
	bool json;
};

enum ws_state { WS_CONNECTING, WS_HANDSHAKE, WS_OPEN, WS_CLOSED };

struct client {
	int fd;
	enum ws_state st;
	size_t len;    /* bytes in buf */
	uint64_t skip; /* bytes still to drop of an oversized frame */
	uint64_t frames;
	char buf[RBUF];
};

struct watch {
	int pid;
	const char *name;
	long rss_start_kb, rss_max_kb, rss_end_kb;
	long cpu_start_ticks, cpu_end_ticks;
};

struct bench {
	struct options o;
	struct client *cl;
	int ep;
	unsigned opening, open, failed, closed_early;
	char first_fail[160];
	struct mosquitto *mosq;
	bool mqtt_connected;
	unsigned inflight;
	struct sim_device *devs;
	int64_t tst_base;
	uint64_t total, published, acked;
	uint64_t warm;	  /* sequence numbers below this were warm-up */
	int64_t *send_ns; /* by sequence number */
	uint32_t *seen;	  /* frames received per sequence number */
	uint64_t frames, unknown_frames, bad_frames;
	struct tu_samples lat;
	int64_t t_pub_start, t_pub_end, t_last_frame;
	struct watch w[MAX_WATCH];
};

static volatile sig_atomic_t g_stop; /* the signal handler's only way in */

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: ws_bench --ws URL --mqtt-port PORT [options]\n"
		   "Opens WebSocket clients on the bridge, publishes OwnTracks locations\n"
		   "over MQTT at a fixed rate and measures publish-to-receive latency on\n"
		   "every client. Prints one JSON object on stdout.\n"
		   "\n"
		   "  --ws URL               ws://host:port/ws/locations/\n"
		   "  --clients N            WebSocket clients (default 1)\n"
		   "  --connect-batch N      handshakes in progress at once (default 200)\n"
		   "  --connect-timeout S    give up on clients not open after S s (default 60)\n"
		   "  --mqtt-host HOST       broker (default 127.0.0.1)\n"
		   "  --mqtt-port PORT       broker port (required)\n"
		   "  --username/--password  MQTT credentials\n"
		   "  --user NAME            topic user (default 'bench<pid>': the tst values of\n"
		   "                         two runs overlap, and the plugin stores a (device, "
		   "tst) once)\n"
		   "  --devices N            simulated devices (default 10)\n"
		   "  --rate R               locations per second over all devices (default 100)\n"
		   "  --duration S           seconds of publishing (default 5)\n"
		   "  --warmup S             publish S s first without measuring (default 1)\n"
		   "  --settle S             wait up to S s after the last publish for frames "
		   "(default 5)\n"
		   "  --qos 0|1              publish QoS (default 1)\n"
		   "  --nodelay 0|1          TCP_NODELAY on the publisher (default 1; many phone\n"
		   "                         MQTT libraries leave it off)\n"
		   "  --watch NAME:PID       report RSS and CPU of this process (up to 4)\n"
		   "  --json                 (accepted; the output is always JSON)\n"
		   "  -h, --help             this text\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		O_WS = 256,
		O_CLIENTS,
		O_BATCH,
		O_CTIMEOUT,
		O_MHOST,
		O_MPORT,
		O_USERNAME,
		O_PASSWORD,
		O_USER,
		O_DEVICES,
		O_RATE,
		O_DURATION,
		O_SETTLE,
		O_QOS,
		O_WATCH,
		O_JSON,
		O_WARMUP,
		O_NODELAY,
	};
	static const struct option longopts[] = {
		{"ws", required_argument, NULL, O_WS},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"connect-batch", required_argument, NULL, O_BATCH},
		{"connect-timeout", required_argument, NULL, O_CTIMEOUT},
		{"mqtt-host", required_argument, NULL, O_MHOST},
		{"mqtt-port", required_argument, NULL, O_MPORT},
		{"username", required_argument, NULL, O_USERNAME},
		{"password", required_argument, NULL, O_PASSWORD},
		{"user", required_argument, NULL, O_USER},
		{"devices", required_argument, NULL, O_DEVICES},
		{"rate", required_argument, NULL, O_RATE},
		{"duration", required_argument, NULL, O_DURATION},
		{"settle", required_argument, NULL, O_SETTLE},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"qos", required_argument, NULL, O_QOS},
		{"nodelay", required_argument, NULL, O_NODELAY},
		{"watch", required_argument, NULL, O_WATCH},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t u;
	int c;

	*o = (struct options){
		.clients = 1,
		.connect_batch = 200,
		.connect_timeout = 60,
		.mqtt_host = "127.0.0.1",
		.user = NULL,
		.devices = 10,
		.rate = 100,
		.duration = 5,
		.settle = 5,
		.warmup = 1,
		.qos = 1,
		.nodelay = true,
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_WS:
			o->ws_url = optarg;
			if (tu_parse_url(optarg, &o->url))
				goto bad;
			break;
		case O_CLIENTS:
			if (tu_parse_u64(optarg, 0, 1000000, &u))
				goto bad;
			o->clients = (unsigned)u;
			break;
		case O_BATCH:
			if (tu_parse_u64(optarg, 1, 100000, &u))
				goto bad;
			o->connect_batch = (unsigned)u;
			break;
		case O_CTIMEOUT:
			if (tu_parse_double(optarg, 0.1, 3600, &o->connect_timeout))
				goto bad;
			break;
		case O_MHOST:
			o->mqtt_host = optarg;
			break;
		case O_MPORT:
			if (tu_parse_u64(optarg, 1, 65535, &u))
				goto bad;
			o->mqtt_port = (int)u;
			break;
		case O_USERNAME:
			o->username = optarg;
			break;
		case O_PASSWORD:
			o->password = optarg;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_DEVICES:
			if (tu_parse_u64(optarg, 1, 100000, &u))
				goto bad;
			o->devices = (unsigned)u;
			break;
		case O_RATE:
			if (tu_parse_double(optarg, 0.1, 1e6, &o->rate))
				goto bad;
			break;
		case O_DURATION:
			if (tu_parse_double(optarg, 0.1, 3600, &o->duration))
				goto bad;
			break;
		case O_SETTLE:
			if (tu_parse_double(optarg, 0, 3600, &o->settle))
				goto bad;
			break;
		case O_WARMUP:
			if (tu_parse_double(optarg, 0, 3600, &o->warmup))
				goto bad;
			break;
		case O_NODELAY:
			if (tu_parse_u64(optarg, 0, 1, &u))
				goto bad;
			o->nodelay = u;
			break;
		case O_QOS:
			if (tu_parse_u64(optarg, 0, 1, &u))
				goto bad;
			o->qos = (int)u;
			break;
		case O_WATCH: {
			char *colon = strchr(optarg, ':');
			if (!colon || o->nwatch == MAX_WATCH ||
			    tu_parse_u64(colon + 1, 1, 1 << 30, &u))
				goto bad;
			*colon = '\0';
			o->watch_name[o->nwatch] = optarg;
			o->watch[o->nwatch++] = (int)u;
			break;
		}
		case O_JSON:
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->user) {
		static char user[32];
		snprintf(user, sizeof(user), "bench%d", (int)getpid());
		o->user = user;
	}
	if (!o->ws_url || !o->mqtt_port) {
		fprintf(stderr, "ws_bench: --ws and --mqtt-port are required (see --help)\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "ws_bench: bad value '%s' for %s\n", optarg, argv[optind - 1]);
	return -1;
}

/* ---- process watching ---- */

static long proc_cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static void watch_sample(struct bench *b, int phase)
{
	for (int i = 0; i < b->o.nwatch; i++) {
		struct watch *w = &b->w[i];
		long rss = tu_proc_rss_kb(w->pid, false);

		if (rss > w->rss_max_kb)
			w->rss_max_kb = rss;
		if (phase == 0) {
			w->rss_start_kb = rss;
			w->cpu_start_ticks = proc_cpu_ticks(w->pid);
		} else if (phase == 2) {
			w->rss_end_kb = rss;
			w->cpu_end_ticks = proc_cpu_ticks(w->pid);
		}
	}
}

/* ---- WebSocket clients ---- */

static void client_fail(struct bench *b, struct client *c, const char *why)
{
	if (c->fd >= 0) {
		epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->st == WS_OPEN) {
		b->open--;
		b->closed_early++;
	} else {
		b->opening--;
		b->failed++;
	}
	if (!b->first_fail[0])
		snprintf(b->first_fail, sizeof(b->first_fail), "%s", why);
	c->st = WS_CLOSED;
}

static int client_start(struct bench *b, struct client *c)
{
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};

	c->fd = tu_tcp_connect(b->o.url.host, b->o.url.port);
	b->opening++;
	c->st = WS_CONNECTING;
	if (c->fd < 0) {
		client_fail(b, c, strerror(errno));
		return -1;
	}
	if (epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		client_fail(b, c, strerror(errno));
		return -1;
	}
	return 0;
}

static void client_send_handshake(struct bench *b, struct client *c)
{
	char req[768];
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\n\r\n",
			 b->o.url.path, b->o.url.host, b->o.url.port);
	int err = 0;
	socklen_t l = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err) {
		client_fail(b, c, strerror(err));
		return;
	}
	/* a fresh socket has room for a few hundred bytes */
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		client_fail(b, c, "handshake send failed");
		return;
	}
	epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->st = WS_HANDSHAKE;
}

static void send_pong(struct client *c, const unsigned char *payload, size_t len)
{
	unsigned char f[2 + 4 + 125];

	if (len > 125)
		return;
	f[0] = 0x8a;
	f[1] = 0x80 | (unsigned char)len;
	memset(f + 2, 0, 4); /* a zero mask leaves the payload as it is */
	memcpy(f + 6, payload, len);
	send(c->fd, f, 6 + len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void on_text(struct bench *b, const char *p, size_t len, int64_t now)
{
	static const char key[] = "\"timestamp_unix\":";
	const char *k = memmem(p, len, key, sizeof(key) - 1);
	long long tst;
	int64_t seq;

	b->frames++;
	b->t_last_frame = now;
	if (!k) {
		b->unknown_frames++;
		return;
	}
	tst = strtoll(k + sizeof(key) - 1, NULL, 10);
	seq = tst - b->tst_base;
	if (seq < 0 || (uint64_t)seq >= b->published || !memmem(p, len, "\"location\"", 10)) {
		b->unknown_frames++;
		return;
	}
	b->seen[seq]++;
	if ((uint64_t)seq < b->warm)
		return;
	tu_samples_add(&b->lat, (now - b->send_ns[seq]) / 1000);
}

/* Parse the frames in c->buf; keeps an incomplete tail. */
static void parse_frames(struct bench *b, struct client *c, int64_t now)
{
	size_t off = 0;

	for (;;) {
		unsigned char *f = (unsigned char *)c->buf + off;
		size_t avail = c->len - off, hl = 2;
		uint64_t plen;
		int op;

		if (avail < 2)
			break;
		op = f[0] & 0x0f;
		plen = f[1] & 0x7f;
		if (f[1] & 0x80) { /* servers must not mask */
			b->bad_frames++;
			client_fail(b, c, "masked frame from server");
			return;
		}
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = ((uint64_t)f[2] << 8) | f[3];
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | f[2 + i];
			hl = 10;
		}
		if (hl + plen > RBUF - 1) {
			/* larger than we keep: count it, drop what we have of it and
			 * skip the rest as it arrives */
			b->frames++;
			b->unknown_frames++;
			c->skip = hl + plen - avail;
			c->len = off;
			break;
		}
		if (avail < hl + plen)
			break;
		if (op == 0x1 || op == 0x2 || op == 0x0) {
			c->frames++;
			on_text(b, (const char *)f + hl, (size_t)plen, now);
		} else if (op == 0x9) {
			send_pong(c, f + hl, (size_t)plen);
		} else if (op == 0x8) {
			client_fail(b, c, "closed by server");
			return;
		}
		off += hl + (size_t)plen;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void client_read(struct bench *b, struct client *c, int64_t now)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, RBUF - 1 - c->len, 0);

		if (n == 0) {
			client_fail(b, c, "connection closed by server");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_fail(b, c, strerror(errno));
			return;
		}
		if (c->skip) {
			size_t drop = c->skip < (uint64_t)n ? (size_t)c->skip : (size_t)n;
			memmove(c->buf + c->len, c->buf + c->len + drop, (size_t)n - drop);
			c->skip -= drop;
			n -= (ssize_t)drop;
		}
		c->len += (size_t)n;
		if (c->st == WS_HANDSHAKE) {
			char *end;
			c->buf[c->len] = '\0';
			end = strstr(c->buf, "\r\n\r\n");
			if (!end) {
				if (c->len >= RBUF - 1)
					client_fail(b, c, "handshake response too long");
				if (c->fd < 0)
					return;
				continue;
			}
			if (strncmp(c->buf, "HTTP/1.1 101", 12)) {
				char why[80];
				snprintf(why, sizeof(why), "handshake refused: %.40s", c->buf);
				client_fail(b, c, why);
				return;
			}
			end += 4;
			c->len -= (size_t)(end - c->buf);
			memmove(c->buf, end, c->len);
			c->st = WS_OPEN;
			b->opening--;
			b->open++;
		}
		parse_frames(b, c, now);
		if (c->fd < 0)
			return;
	}
}

/* ---- MQTT publisher ---- */

static void mqtt_connect_cb(struct mosquitto *m, void *ud, int rc)
{
	struct bench *b = ud;
	(void)m;
	if (rc)
		fprintf(stderr, "ws_bench: MQTT connection refused: %s\n",
			mosquitto_connack_string(rc));
	else
		b->mqtt_connected = true;
}

static void mqtt_publish_cb(struct mosquitto *m, void *ud, int mid)
{
	struct bench *b = ud;
	(void)m;
	(void)mid;
	b->acked++;
	if (b->inflight)
		b->inflight--;
}

static void mqtt_disconnect_cb(struct mosquitto *m, void *ud, int rc)
{
	struct bench *b = ud;
	(void)m;
	if (rc && b->mqtt_connected)
		fprintf(stderr, "ws_bench: MQTT disconnected: %s\n", mosquitto_strerror(rc));
	b->mqtt_connected = false;
}

static void mqtt_update_events(struct bench *b)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG_MQTT};
	if (mosquitto_want_write(b->mosq))
		ev.events |= EPOLLOUT;
	epoll_ctl(b->ep, EPOLL_CTL_MOD, mosquitto_socket(b->mosq), &ev);
}

static int publish_one(struct bench *b)
{
	uint64_t seq = b->published;
	struct sim_device *d = &b->devs[seq % b->o.devices];
	char topic[160], payload[512];
	int len, rc;

	sim_step(d, b->tst_base + (int64_t)seq);
	len = sim_format(d, (int64_t)time(NULL), payload, sizeof(payload));
	snprintf(topic, sizeof(topic), "owntracks/%s/dev%04u", b->o.user,
		 (unsigned)(seq % b->o.devices) + 1);
	/* published counts first: a frame can only match a seq below it */
	b->send_ns[seq] = tu_mono_ns();
	b->published++;
	b->inflight++;
	rc = mosquitto_publish(b->mosq, NULL, topic, len, payload, b->o.qos, false);
	if (rc) {
		b->published--;
		b->inflight--;
		fprintf(stderr, "ws_bench: publish failed: %s\n", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

/* ---- phases ---- */

static void handle(struct bench *b, struct epoll_event *ev, int n, int64_t now)
{
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == TAG_MQTT) {
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				mosquitto_loop_read(b->mosq, 1);
			if (ev[i].events & EPOLLOUT)
				mosquitto_loop_write(b->mosq, 1);
			if (mosquitto_socket(b->mosq) >= 0)
				mqtt_update_events(b);
			continue;
		}
		struct client *c = ev[i].data.ptr;
		if (c->st == WS_CONNECTING)
			client_send_handshake(b, c);
		else if (c->fd >= 0)
			client_read(b, c, now);
	}
}

static int open_clients(struct bench *b)
{
	struct epoll_event ev[256];
	int64_t deadline = tu_mono_ns() + (int64_t)(b->o.connect_timeout * 1e9);
	unsigned next = 0;

	while (b->open + b->failed + b->closed_early < b->o.clients && !g_stop) {
		int n;
		while (next < b->o.clients && b->opening < b->o.connect_batch)
			client_start(b, &b->cl[next++]);
		n = epoll_wait(b->ep, ev, 256, 100);
		if (n > 0)
			handle(b, ev, n, tu_mono_ns());
		if (tu_mono_ns() > deadline) {
			if (!b->first_fail[0])
				snprintf(b->first_fail, sizeof(b->first_fail), "connect timeout");
			break;
		}
	}
	return 0;
}

static int mqtt_start(struct bench *b)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = TAG_MQTT};
	char id[64];
	int rc;

	snprintf(id, sizeof(id), "ws-bench-%d", (int)getpid());
	b->mosq = mosquitto_new(id, true, b);
	if (!b->mosq)
		return -1;
	mosquitto_int_option(b->mosq, MOSQ_OPT_SEND_MAXIMUM, 65535);
	/* measure the server, not Nagle's algorithm in the client */
	mosquitto_int_option(b->mosq, MOSQ_OPT_TCP_NODELAY, b->o.nodelay);
	mosquitto_connect_callback_set(b->mosq, mqtt_connect_cb);
	mosquitto_publish_callback_set(b->mosq, mqtt_publish_cb);
	mosquitto_disconnect_callback_set(b->mosq, mqtt_disconnect_cb);
	if (b->o.username)
		mosquitto_username_pw_set(b->mosq, b->o.username, b->o.password);
	rc = mosquitto_connect(b->mosq, b->o.mqtt_host, b->o.mqtt_port, 60);
	if (rc) {
		fprintf(stderr, "ws_bench: cannot connect to the broker: %s\n",
			mosquitto_strerror(rc));
		return -1;
	}
	epoll_ctl(b->ep, EPOLL_CTL_ADD, mosquitto_socket(b->mosq), &ev);
	mqtt_update_events(b);
	for (int i = 0; i < 100 && !b->mqtt_connected; i++) {
		struct epoll_event e[256];
		int n = epoll_wait(b->ep, e, 256, 50);
		if (n > 0)
			handle(b, e, n, tu_mono_ns());
	}
	return b->mqtt_connected ? 0 : -1;
}

static uint64_t expected_frames(const struct bench *b)
{
	return (b->published - b->warm) * (uint64_t)b->open;
}

static uint64_t matched_frames(const struct bench *b)
{
	return b->lat.n;
}

static void run(struct bench *b)
{
	struct epoll_event ev[512];
	int64_t interval = (int64_t)(1e9 / b->o.rate), next_due, end, settle_end = 0, last_misc;

	int64_t warm_end;
	bool warming = b->o.warmup > 0;

	next_due = last_misc = tu_mono_ns();
	warm_end = next_due + (int64_t)(b->o.warmup * 1e9);
	end = warm_end + (int64_t)(b->o.duration * 1e9);
	if (!warming) {
		b->t_pub_start = next_due;
		watch_sample(b, 0);
	}
	for (;;) {
		int64_t now = tu_mono_ns(), wait;
		int n;

		if (warming && now >= warm_end) {
			/* from here on, frames count */
			warming = false;
			b->warm = b->published;
			b->t_pub_start = now;
			watch_sample(b, 0);
		}

		if (now < end && !g_stop) {
			while (next_due <= now && b->published < b->total && b->mqtt_connected) {
				if (publish_one(b))
					break;
				next_due += interval;
			}
			if (b->mosq && mosquitto_socket(b->mosq) >= 0)
				mqtt_update_events(b);
			wait = next_due - now;
		} else {
			if (!settle_end) {
				b->t_pub_end = now;
				settle_end = now + (int64_t)(b->o.settle * 1e9);
			}
			if (matched_frames(b) >= expected_frames(b) || now >= settle_end || g_stop)
				break;
			wait = 20000000;
		}
		if (wait < 0)
			wait = 0;
		n = epoll_wait(b->ep, ev, 512, (int)((wait + 999999) / 1000000));
		now = tu_mono_ns();
		if (n > 0)
			handle(b, ev, n, now);
		if (now - last_misc > 100000000) {
			mosquitto_loop_misc(b->mosq);
			watch_sample(b, 1);
			last_misc = now;
		}
	}
	watch_sample(b, 2);
}

static void report(struct bench *b)
{
	uint64_t missing = 0, dup = 0, exp = expected_frames(b);
	double win = (double)((b->t_last_frame > b->t_pub_start ? b->t_last_frame : b->t_pub_end) -
			      b->t_pub_start) /
		     1e9;
	long hz = sysconf(_SC_CLK_TCK);
	double wall = (double)(tu_mono_ns() - b->t_pub_start) / 1e9;

	for (uint64_t s = b->warm; s < b->published; s++) {
		if (b->seen[s] < b->open)
			missing += b->open - b->seen[s];
		else
			dup += b->seen[s] - b->open;
	}
	tu_samples_sort(&b->lat);
	printf("{\"clients\":%u,\"open\":%u,\"failed\":%u,\"closed_early\":%u,"
	       "\"first_failure\":\"%s\",\"rate\":%.1f,\"published\":%" PRIu64 ",\"acked\":%" PRIu64
	       ",\"frames_expected\":%" PRIu64 ",\"frames\":%" PRIu64
	       ",\"matched\":%zu,\"missing\":%" PRIu64 ",\"duplicates\":%" PRIu64
	       ",\"unknown_frames\":%" PRIu64 ",\"frames_per_s\":%.1f"
	       ",\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"watch\":{",
	       b->o.clients, b->open, b->failed, b->closed_early, b->first_fail, b->o.rate,
	       b->published, b->acked, exp, b->frames, b->lat.n, missing, dup, b->unknown_frames,
	       win > 0 ? (double)b->lat.n / win : 0, tu_samples_pct(&b->lat, 50),
	       tu_samples_pct(&b->lat, 90), tu_samples_pct(&b->lat, 99),
	       tu_samples_pct(&b->lat, 100));
	for (int i = 0; i < b->o.nwatch; i++) {
		struct watch *w = &b->w[i];
		double cpu = w->cpu_end_ticks >= 0 && w->cpu_start_ticks >= 0 && wall > 0
				     ? 100.0 * (double)(w->cpu_end_ticks - w->cpu_start_ticks) /
					       hz / wall
				     : -1;
		printf("%s\"%s\":{\"pid\":%d,\"rss_start_kb\":%ld,\"rss_max_kb\":%ld,"
		       "\"rss_end_kb\":%ld,\"cpu_pct\":%.1f}",
		       i ? "," : "", w->name, w->pid, w->rss_start_kb, w->rss_max_kb, w->rss_end_kb,
		       cpu);
	}
	printf("}}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	struct sigaction sa = {0};
	struct rlimit rl;
	int rc = 1;

	if (parse_options(argc, argv, &b.o))
		return 2;
	/* one descriptor per client: take the hard limit */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	b.total = (uint64_t)(b.o.rate * (b.o.duration + b.o.warmup)) + 16;
	b.cl = calloc(b.o.clients ? b.o.clients : 1, sizeof(*b.cl));
	b.devs = calloc(b.o.devices, sizeof(*b.devs));
	b.send_ns = calloc(b.total, sizeof(*b.send_ns));
	b.seen = calloc(b.total, sizeof(*b.seen));
	b.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!b.cl || !b.devs || !b.send_ns || !b.seen || b.ep < 0) {
		fprintf(stderr, "ws_bench: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < b.o.clients; i++)
		b.cl[i].fd = -1;
	for (unsigned i = 0; i < b.o.devices; i++)
		sim_device_init(&b.devs[i], i, 7, 52.52, 13.405);
	/* unique over the run and in the past, so the plugin accepts all */
	b.tst_base = (int64_t)time(NULL) - (int64_t)b.total - 10;
	b.warm = b.o.warmup > 0 ? UINT64_MAX : 0; /* nothing counts while warming up */
	for (int i = 0; i < b.o.nwatch; i++)
		b.w[i] = (struct watch){.pid = b.o.watch[i],
					.name = b.o.watch_name[i],
					.cpu_start_ticks = -1,
					.cpu_end_ticks = -1};

	mosquitto_lib_init();
	open_clients(&b);
	fprintf(stderr, "ws_bench: %u of %u clients open%s%s\n", b.open, b.o.clients,
		b.first_fail[0] ? "; first failure: " : "", b.first_fail);
	if (mqtt_start(&b))
		goto out;
	run(&b);
	report(&b);
	rc = 0;
out:
	for (unsigned i = 0; i < b.o.clients; i++)
		if (b.cl[i].fd >= 0)
			close(b.cl[i].fd);
	if (b.mosq) {
		mosquitto_disconnect(b.mosq);
		mosquitto_destroy(b.mosq);
	}
	mosquitto_lib_cleanup();
	tu_samples_free(&b.lat);
	free(b.cl);
	free(b.devs);
	free(b.send_ns);
	free(b.seen);
	close(b.ep);
	return rc;
}
