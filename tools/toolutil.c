/* toolutil: clocks, sample statistics, URLs and sockets for the load tools.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* memmem */
#include "toolutil.h"
#include "num.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t tu_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tu_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int tu_samples_add(struct tu_samples *s, int64_t us)
{
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 4096;
		uint32_t *nv = realloc(s->v, na * sizeof(*nv));
		if (!nv)
			return -1;
		s->v = nv;
		s->alloc = na;
	}
	if (us < 0)
		us = 0;
	if (us > UINT32_MAX)
		us = UINT32_MAX;
	s->v[s->n++] = (uint32_t)us;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void tu_samples_sort(struct tu_samples *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
}

double tu_samples_pct(const struct tu_samples *s, double p)
{
	size_t i;

	if (!s->n)
		return 0;
	/* nearest rank */
	i = (size_t)((p / 100.0) * (double)s->n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > s->n)
		i = s->n;
	return s->v[i - 1] / 1000.0;
}

void tu_samples_free(struct tu_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->alloc = 0;
}

int tu_parse_url(const char *url, struct tu_url *u)
{
	const char *p, *host_end, *path;
	size_t hl;

	if (strncmp(url, "http://", 7) && strncmp(url, "ws://", 5))
		return -1;
	p = strstr(url, "://") + 3;
	path = strchr(p, '/');
	if (!path)
		path = p + strlen(p);
	host_end = memchr(p, ':', (size_t)(path - p));
	u->port = 80;
	if (host_end) {
		char *end;
		long port = strtol(host_end + 1, &end, 10);
		if (end != path || port < 1 || port > 65535)
			return -1;
		u->port = (int)port;
	} else {
		host_end = path;
	}
	hl = (size_t)(host_end - p);
	if (hl == 0 || hl >= sizeof(u->host))
		return -1;
	memcpy(u->host, p, hl);
	u->host[hl] = '\0';
	if (!*path)
		path = "/";
	if (strlen(path) >= sizeof(u->path))
		return -1;
	strcpy(u->path, path);
	return 0;
}

int tu_tcp_connect(const char *host, int port)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

void tu_base64(const unsigned char *in, size_t len, char *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = tbl[in[i] >> 2];
		*out++ = tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tbl[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*out++ = tbl[in[i + 2] & 63];
	}
	if (i < len) {
		*out++ = tbl[in[i] >> 2];
		if (i + 1 < len) {
			*out++ = tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			*out++ = tbl[(in[i + 1] & 15) << 2];
		} else {
			*out++ = tbl[(in[i] & 3) << 4];
			*out++ = '=';
		}
		*out++ = '=';
	}
	*out = '\0';
}

int tu_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int tu_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	int64_t v;

	/* the tools' numbers are far below INT64_MAX */
	if (lo > INT64_MAX ||
	    num_parse(s, (int64_t)lo, hi > INT64_MAX ? INT64_MAX : (int64_t)hi, &v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

long tu_proc_rss_kb(int pid, bool peak)
{
	char path[64], line[256];
	const char *key = peak ? "VmHWM:" : "VmRSS:";
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key))) {
			kb = strtol(line + strlen(key), NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Bytes of a chunked body at p (up to end) including the last chunk, 0 if
 * incomplete, -1 if a chunk size does not parse. */
static long chunked_len(const char *p, const char *end)
{
	const char *q = p;

	for (;;) {
		const char *crlf = memmem(q, (size_t)(end - q), "\r\n", 2);
		unsigned long sz;
		char *e;

		if (!crlf)
			return 0;
		sz = strtoul(q, &e, 16);
		if (e == q || (e != crlf && *e != ';'))
			return -1;
		if (sz > (unsigned long)(end - crlf))
			return 0;
		q = crlf + 2 + sz + 2;
		if (q > end)
			return 0;
		if (sz == 0)
			return q - p;
	}
}

/* The value of header `name` (with its colon) in the header block, or NULL. */
static const char *header(const char *h, const char *hend, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *line = memmem(h, (size_t)(hend - h), "\r\n", 2);

	while (line && line + 2 < hend) {
		const char *next;

		line += 2;
		next = memmem(line, (size_t)(hend - line), "\r\n", 2);
		if (!next)
			next = hend;
		if ((size_t)(next - line) > nl && !strncasecmp(line, name, nl)) {
			const char *v = line + nl;

			while (v < next && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(next - v);
			return v;
		}
		line = next;
	}
	return NULL;
}

int tu_http_response(const char *buf, size_t len, struct tu_http_response *r)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *v;
	char val[32];
	size_t vl;
	int status;

	memset(r, 0, sizeof(*r));
	if (!end)
		return 0;
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ' ||
	    sscanf(buf + 9, "%3d", &status) != 1 || status < 100 || status > 599)
		return -1;
	r->status = status;
	r->header_len = (size_t)(end + 4 - buf);
	v = header(buf, end + 2, "connection:", &vl);
	r->close_after = v && vl >= 5 && !strncasecmp(v, "close", 5);
	v = header(buf, end + 2, "transfer-encoding:", &vl);
	if (v && vl >= 7 && !strncasecmp(v, "chunked", 7)) {
		long bl = chunked_len(buf + r->header_len, buf + len);

		if (bl <= 0)
			return (int)bl;
		r->chunked = true;
		r->total_len = r->header_len + (size_t)bl;
		return 1;
	}
	v = header(buf, end + 2, "content-length:", &vl);
	if (!v) {
		if (status == 204 || status == 304 || status < 200) {
			r->total_len = r->header_len;
			return 1;
		}
		return -1; /* a body ended by closing: not used with the bridge */
	}
	{
		uint64_t cl;

		if (vl >= sizeof(val))
			return -1;
		memcpy(val, v, vl);
		val[vl] = '\0';
		if (tu_parse_u64(val, 0, (uint64_t)1 << 40, &cl))
			return -1;
		r->total_len = r->header_len + (size_t)cl;
		if (r->total_len > len)
			return 0;
	}
	return 1;
}

size_t tu_http_dechunk(char *body, size_t len)
{
	char *q = body, *out = body, *end = body + len;

	for (;;) {
		char *crlf = memmem(q, (size_t)(end - q), "\r\n", 2);
		unsigned long sz = crlf ? strtoul(q, NULL, 16) : 0;

		if (!crlf || sz == 0)
			return (size_t)(out - body);
		memmove(out, crlf + 2, sz);
		out += sz;
		q = crlf + 2 + sz + 2;
	}
}
