/* http_bench: time HTTP GET requests over one keep-alive connection.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Used by bench/run for the history API: the paths given are requested in
 * turn, each timed from the first byte sent to the last byte of the body
 * received, and the percentiles are printed as one JSON object.
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "toolutil.h"

#define MAX_PATHS 1024

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: http_bench --url http://host:port [--path P]... [--requests N]\n"
		   "                  [--warmup N] [--expect-items N]\n"
		   "Requests the paths in turn over one keep-alive connection and prints\n"
		   "{requests, errors, p50_ms, p90_ms, p99_ms, max_ms, bytes_avg} as JSON.\n"
		   "--expect-items N counts a response as an error unless its JSON body has\n"
		   "N objects with an \"id\" key (a history page of N locations).\n");
}

/* Wait until fd is ready for `ev`; -1 on timeout (10 s) or error. */
static int wait_fd(int fd, short ev)
{
	struct pollfd p = {.fd = fd, .events = ev};
	return poll(&p, 1, 10000) == 1 ? 0 : -1;
}

static int conn_open(struct conn *c, const struct tu_url *u)
{
	int err = 0;
	socklen_t l = sizeof(err);

	c->fd = tu_tcp_connect(u->host, u->port);
	if (c->fd < 0 || wait_fd(c->fd, POLLOUT))
		return -1;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	return err ? -1 : 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN && !wait_fd(fd, POLLOUT))
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one response; returns its status and sets *body and *blen, -1 on error. */
static int read_response(struct conn *c, const char **body, size_t *blen)
{

	c->len = 0;
	if (!c->buf) {
		c->cap = 1 << 20;
		c->buf = malloc(c->cap);
		if (!c->buf)
			return -1;
	}
	for (;;) {
		ssize_t n;

		struct tu_http_response r;
		int rc = tu_http_response(c->buf, c->len, &r);

		if (rc < 0)
			return -1;
		if (rc > 0) {
			*body = c->buf + r.header_len;
			*blen = r.total_len - r.header_len;
			if (r.chunked)
				*blen = tu_http_dechunk(c->buf + r.header_len, *blen);
			return r.status;
		}
		if (c->len + 65536 > c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 1 << 20;
			char *nb = realloc(c->buf, nc);
			if (!nb)
				return -1;
			c->buf = nb;
			c->cap = nc;
		}
		if (wait_fd(c->fd, POLLIN))
			return -1;
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				continue;
			return -1;
		}
		c->len += (size_t)n;
	}
}

static size_t count_items(const char *body, size_t len)
{
	size_t n = 0;
	const char *p = body, *end = body + len;

	while ((p = memmem(p, (size_t)(end - p), "{\"id\":", 6))) {
		n++;
		p += 6;
	}
	return n;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},
		{"path", required_argument, NULL, 'p'},
		{"requests", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'w'},
		{"expect-items", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *paths[MAX_PATHS];
	struct tu_samples lat = {0};
	struct tu_url u;
	struct conn c = {.fd = -1};
	uint64_t requests = 100, warmup = 5, expect = 0, v, errors = 0, bytes = 0;
	char first_error[160] = "";
	int npaths = 0, ch;
	bool have_url = false;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			if (tu_parse_url(optarg, &u))
				goto bad;
			have_url = true;
			break;
		case 'p':
			if (npaths == MAX_PATHS)
				goto bad;
			paths[npaths++] = optarg;
			break;
		case 'n':
			if (tu_parse_u64(optarg, 1, 100000000, &v))
				goto bad;
			requests = v;
			break;
		case 'w':
			if (tu_parse_u64(optarg, 0, 100000000, &v))
				goto bad;
			warmup = v;
			break;
		case 'e':
			if (tu_parse_u64(optarg, 0, 100000000, &v))
				goto bad;
			expect = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_url) {
		usage(stderr);
		return 2;
	}
	if (!npaths)
		paths[npaths++] = u.path;
	if (conn_open(&c, &u)) {
		fprintf(stderr, "http_bench: cannot connect to %s:%d\n", u.host, u.port);
		return 1;
	}
	for (uint64_t i = 0; i < warmup + requests; i++) {
		const char *path = paths[i % (uint64_t)npaths], *body;
		char req[2048];
		size_t blen = 0;
		int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path,
				 u.host, u.port);
		int64_t t0 = tu_mono_ns();
		int status;

		if (n < 0 || (size_t)n >= sizeof(req))
			goto bad;
		if (send_all(c.fd, req, (size_t)n) ||
		    (status = read_response(&c, &body, &blen)) < 0) {
			errors++;
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error),
					 "connection failed on %s", path);
			close(c.fd);
			if (conn_open(&c, &u))
				break;
			continue;
		}
		if (i < warmup)
			continue;
		tu_samples_add(&lat, (tu_mono_ns() - t0) / 1000);
		bytes += blen;
		if (status != 200 || (expect && count_items(body, blen) != expect)) {
			errors++;
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error),
					 "status %d, %zu items for %s", status,
					 count_items(body, blen), path);
		}
	}
	tu_samples_sort(&lat);
	printf("{\"requests\":%zu,\"errors\":%llu,\"first_error\":\"%s\",\"p50_ms\":%.3f,"
	       "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"bytes_avg\":%.0f}\n",
	       lat.n, (unsigned long long)errors, first_error, tu_samples_pct(&lat, 50),
	       tu_samples_pct(&lat, 90), tu_samples_pct(&lat, 99), tu_samples_pct(&lat, 100),
	       lat.n ? (double)bytes / (double)lat.n : 0);
	if (c.fd >= 0)
		close(c.fd);
	free(c.buf);
	tu_samples_free(&lat);
	return errors ? 1 : 0;
bad:
	fprintf(stderr, "http_bench: bad argument (see --help)\n");
	return 2;
}
