/* jbuf: a growable byte buffer with a hard size cap, for building JSON.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A jbuf owns its memory. Every append either succeeds completely or marks
 * the buffer as failed (out of memory or over the cap) and leaves the
 * content as it was; later appends are then no-ops, so a caller can append
 * a whole object and check jbuf_failed() once at the end.
 *
 * `headroom` bytes are reserved in front of the data (for libwebsockets'
 * LWS_PRE, or zero): jbuf_data() points past them.
 */
#ifndef MYTRACKS_JBUF_H
#define MYTRACKS_JBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct jbuf {
	char *mem;	 /* headroom + data + NUL */
	size_t headroom; /* bytes before data */
	size_t len;	 /* data length, excluding NUL */
	size_t alloc;	 /* bytes allocated for data + NUL */
	size_t cap;	 /* maximum data length */
	bool failed;
};

/* Initialise an empty buffer. No allocation happens until the first append. */
void jbuf_init(struct jbuf *b, size_t headroom, size_t cap);
/* Free the memory; the buffer may be initialised again. */
void jbuf_free(struct jbuf *b);
/* Forget the content, keep the memory and clear the failed flag. */
void jbuf_reset(struct jbuf *b);
/* Take the allocation: returns mem (headroom + data + NUL) and leaves the
 * buffer empty. The caller frees it with free(). NULL if nothing was
 * allocated or the buffer failed. */
char *jbuf_steal(struct jbuf *b);

static inline bool jbuf_failed(const struct jbuf *b)
{
	return b->failed;
}
/* The data, always NUL-terminated once anything was appended ("" before). */
const char *jbuf_data(const struct jbuf *b);
static inline size_t jbuf_len(const struct jbuf *b)
{
	return b->len;
}

/* Appending: bytes, a C string, a character, printf-formatted text, a
 * decimal integer. None reports failure: past the cap or out of memory the
 * buffer keeps what it had and is marked failed (jbuf_failed()); later
 * appends do nothing. */
void jbuf_append(struct jbuf *b, const void *data, size_t len);
void jbuf_puts(struct jbuf *b, const char *s);
void jbuf_putc(struct jbuf *b, char c);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jbuf_int(struct jbuf *b, int64_t v);

/* A JSON string literal (with quotes) for `len` bytes of `s`. Quotes,
 * backslashes and control characters are escaped; invalid UTF-8 sequences
 * become U+FFFD, so the output is always valid UTF-8 JSON. NULL gives null. */
void jbuf_json_str(struct jbuf *b, const char *s, size_t len);
/* The same for a NUL-terminated string (NULL gives null). */
void jbuf_json_cstr(struct jbuf *b, const char *s);

#endif
