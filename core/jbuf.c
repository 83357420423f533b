/* jbuf: a growable byte buffer with a hard size cap, for building JSON.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "jbuf.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jbuf_init(struct jbuf *b, size_t headroom, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->headroom = headroom;
	b->cap = cap;
}

void jbuf_free(struct jbuf *b)
{
	free(b->mem);
	jbuf_init(b, b->headroom, b->cap);
}

void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->mem)
		b->mem[b->headroom] = '\0';
}

char *jbuf_steal(struct jbuf *b)
{
	char *m = b->failed ? NULL : b->mem;

	if (b->failed)
		free(b->mem);
	b->mem = NULL;
	b->len = b->alloc = 0;
	b->failed = false;
	return m;
}

const char *jbuf_data(const struct jbuf *b)
{
	return b->mem ? b->mem + b->headroom : "";
}

/* Make room for `more` data bytes plus the NUL. */
static bool jbuf_reserve(struct jbuf *b, size_t more)
{
	size_t need, n;
	char *m;

	if (b->failed)
		return false;
	if (more > b->cap || b->len > b->cap - more) {
		b->failed = true;
		return false;
	}
	need = b->len + more + 1;
	if (need <= b->alloc)
		return true;
	n = b->alloc ? b->alloc : 256;
	while (n < need)
		n *= 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	m = realloc(b->mem, b->headroom + n);
	if (!m) {
		b->failed = true;
		return false;
	}
	b->mem = m;
	b->alloc = n;
	return true;
}

void jbuf_append(struct jbuf *b, const void *data, size_t len)
{
	if (!jbuf_reserve(b, len))
		return;
	memcpy(b->mem + b->headroom + b->len, data, len);
	b->len += len;
	b->mem[b->headroom + b->len] = '\0';
}

void jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_append(b, s, strlen(s));
}

void jbuf_putc(struct jbuf *b, char c)
{
	jbuf_append(b, &c, 1);
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		jbuf_append(b, small, (size_t)n);
		return;
	}
	if (!jbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->mem + b->headroom + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void jbuf_int(struct jbuf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	jbuf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jbuf_json_str(struct jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end;
	const unsigned char *run;
	char esc[6];

	if (!s) {
		jbuf_append(b, "null", 4);
		return;
	}
	end = p + len;
	jbuf_putc(b, '"');
	run = p;
	while (p < end) {
		unsigned char c = *p;
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
			p++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_seq_len(p, (size_t)(end - p));
			if (n) {
				p += n;
				continue;
			}
		}
		jbuf_append(b, run, (size_t)(p - run));
		switch (c) {
		case '"':
			jbuf_append(b, "\\\"", 2);
			break;
		case '\\':
			jbuf_append(b, "\\\\", 2);
			break;
		case '\n':
			jbuf_append(b, "\\n", 2);
			break;
		case '\r':
			jbuf_append(b, "\\r", 2);
			break;
		case '\t':
			jbuf_append(b, "\\t", 2);
			break;
		default:
			if (c >= 0x80) {
				jbuf_append(b, "\\ufffd", 6);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				jbuf_append(b, esc, 6);
			}
		}
		p++;
		run = p;
	}
	jbuf_append(b, run, (size_t)(p - run));
	jbuf_putc(b, '"');
}

void jbuf_json_cstr(struct jbuf *b, const char *s)
{
	jbuf_json_str(b, s, s ? strlen(s) : 0);
}
