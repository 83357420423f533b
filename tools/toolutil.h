/* toolutil: clocks, sample statistics, URLs and sockets for the load tools.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_TOOLUTIL_H
#define MYTRACKS_TOOLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tu_mono_ns(void);
/* CLOCK_REALTIME in nanoseconds. */
int64_t tu_wall_ns(void);

/* A growable array of latency samples in microseconds. */
struct tu_samples {
	uint32_t *v;
	size_t n, alloc;
};
/* Append one sample; returns -1 (sample dropped) when out of memory. */
int tu_samples_add(struct tu_samples *s, int64_t us);
/* Sort the samples (needed before tu_samples_pct). */
void tu_samples_sort(struct tu_samples *s);
/* The p-th percentile (0..100) in milliseconds of sorted samples; 0 if empty. */
double tu_samples_pct(const struct tu_samples *s, double p);
void tu_samples_free(struct tu_samples *s);

/* http://host[:port][/path] split into parts; host and path are copied into
 * the caller's buffers. Returns 0, or -1 when the URL is not of that form. */
struct tu_url {
	char host[256];
	int port;
	char path[512];
};
int tu_parse_url(const char *url, struct tu_url *u);

/* Start a non-blocking TCP connection to host:port (numeric or resolvable).
 * Returns the socket (connection may still be in progress) or -1. */
int tu_tcp_connect(const char *host, int port);

/* Base64 of `len` bytes into out (needs 4 * ((len + 2) / 3) + 1 bytes). */
void tu_base64(const unsigned char *in, size_t len, char *out);

/* Parse a number option: returns 0 and stores it, or -1 if `s` is not a
 * number within [lo, hi]. */
int tu_parse_double(const char *s, double lo, double hi, double *out);
int tu_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* Resident set size of a process in kB (VmRSS, or VmHWM when `peak`);
 * -1 when it cannot be read. */
long tu_proc_rss_kb(int pid, bool peak);

/* An HTTP/1.x response at the start of a buffer, as the tools read them:
 * the status, where the body starts, and the length of the whole response
 * (headers and body, Content-Length or chunked without trailers). */
struct tu_http_response {
	int status;
	size_t header_len; /* up to and with the blank line */
	size_t total_len;  /* headers and the body as sent */
	bool chunked;
	bool close_after; /* "Connection: close" */
};
/* Parse the response at the start of buf[0, len). Returns 1 when it is
 * complete (*r filled), 0 when more bytes are needed, -1 when it cannot
 * be read (no status line, a bad chunk size, neither a length nor chunks).
 * With 0, a response whose headers are complete and that has a
 * Content-Length has r->status, r->header_len and r->total_len set already
 * (a reader with a small buffer can skip the rest of its body). */
int tu_http_response(const char *buf, size_t len, struct tu_http_response *r);
/* Join the chunks of a complete chunked body in place (it starts at
 * `body`, as sent, `len` bytes up to the end of the last chunk); returns
 * the body's length. */
size_t tu_http_dechunk(char *body, size_t len);

#endif
