/* jdoc: a JSON parser that allocates nothing for small documents.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The grammar, white space and escapes follow cJSON 1.7.15 (see jdoc.h):
 * tests/unit/test_jdoc.c holds the two side by side on the fuzz corpora.
 */
#include "jdoc.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct jdoc *d;
	const unsigned char *s;
	size_t len, off;
	int depth;
};

/* A new node (zeroed, type null) linked nowhere; its index, or 0 when
 * out of memory (index 0 is only ever the root, taken first). */
static uint32_t new_node(struct jdoc *d)
{
	if (d->n == d->cap) {
		size_t cap = d->cap * 2;
		struct jdoc_node *n;

		if (cap > UINT32_MAX)
			return 0;
		if (d->nodes == d->inline_nodes) {
			n = malloc(cap * sizeof(*n));
			if (n)
				memcpy(n, d->nodes, d->n * sizeof(*n));
		} else {
			n = realloc(d->nodes, cap * sizeof(*n));
		}
		if (!n)
			return 0;
		d->nodes = n;
		d->cap = cap;
	}
	memset(&d->nodes[d->n], 0, sizeof(d->nodes[0]));
	return (uint32_t)d->n++;
}

/* Room for every string of a `len`-byte document: each unescapes to at
 * most its quoted length minus one, NUL included. */
static bool reserve_strings(struct jdoc *d, size_t len)
{
	char *s;

	d->str_used = 0;
	if (len + 1 <= d->str_cap)
		return true;
	s = d->str == d->inline_str ? malloc(len + 1) : realloc(d->str, len + 1);
	if (!s)
		return false;
	d->str = s;
	d->str_cap = len + 1;
	return true;
}

/* cJSON's white space: every byte up to 0x20. */
static void skip_ws(struct parser *p)
{
	while (p->off < p->len && p->s[p->off] <= 32)
		p->off++;
}

static bool at(const struct parser *p, char c)
{
	return p->off < p->len && p->s[p->off] == (unsigned char)c;
}

/* Four hex digits; any other character makes the whole value 0. */
static unsigned hex4(const unsigned char *h)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned c = h[i];

		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'A' && c <= 'F')
			c = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			c = c - 'a' + 10;
		else
			return 0;
		v = v << 4 | c;
	}
	return v;
}

static char *put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* A \u escape at `e` (the backslash), one or a surrogate pair, before
 * `end`: writes UTF-8 at *o. The escape's length, or 0 if invalid. */
static size_t unicode_escape(const unsigned char *e, const unsigned char *end, char **o)
{
	unsigned first, second;
	unsigned long cp;

	if (end - e < 6)
		return 0;
	first = hex4(e + 2);
	if (first >= 0xDC00 && first <= 0xDFFF)
		return 0;
	if (first < 0xD800 || first > 0xDBFF) {
		*o = put_utf8(*o, first);
		return 6;
	}
	if (end - (e + 6) < 6 || e[6] != '\\' || e[7] != 'u')
		return 0;
	second = hex4(e + 8);
	if (second < 0xDC00 || second > 0xDFFF)
		return 0;
	cp = 0x10000 + (((unsigned long)(first & 0x3FF) << 10) | (second & 0x3FF));
	*o = put_utf8(*o, cp);
	return 12;
}

/* The string at p->off (a '"'), unescaped into the doc's string space. */
static const char *parse_string(struct parser *p)
{
	const unsigned char *b, *e, *end;
	size_t i = p->off + 1;
	char *out, *o;

	if (!at(p, '"'))
		return NULL;
	while (i < p->len && p->s[i] != '"') {
		if (p->s[i] == '\\' && ++i >= p->len)
			return NULL; /* a backslash as the last byte */
		i++;
	}
	if (i >= p->len)
		return NULL;
	b = p->s + p->off + 1;
	end = p->s + i;
	out = o = p->d->str + p->d->str_used;
	for (e = b; e < end;) {
		size_t n = 2;

		if (*e != '\\') {
			*o++ = (char)*e++;
			continue;
		}
		switch (e[1]) {
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case '"':
		case '\\':
		case '/':
			*o++ = (char)e[1];
			break;
		case 'u':
			n = unicode_escape(e, end, &o);
			if (!n)
				return NULL;
			break;
		default:
			return NULL;
		}
		e += n;
	}
	*o++ = '\0';
	p->d->str_used += (size_t)(o - out);
	p->off = i + 1;
	return out;
}

static bool number_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* `-?digits(.digits)?` with at most 15 digits in all is exact as an
 * integer over a power of ten, and one division rounds it correctly: the
 * value strtod() gives. False for anything else. */
static bool exact_decimal(const unsigned char *s, size_t n, double *out)
{
	static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,	 1e6,  1e7,
				       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	size_t i = 0, digits = 0, frac = 0;
	bool neg = false, dot = false;
	uint64_t m = 0;

	if (i < n && s[i] == '-')
		neg = true, i++;
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			m = m * 10 + (uint64_t)(s[i] - '0');
			digits++;
			frac += dot;
		} else if (s[i] == '.' && !dot && digits) {
			dot = true;
		} else {
			return false;
		}
	}
	if (!digits || digits > 15 || (dot && !frac))
		return false;
	*out = (double)m / pow10[frac];
	if (neg)
		*out = -*out;
	return true;
}

/* The rest, as cJSON does it: strtod() on a NUL-terminated copy with '.'
 * as the locale's decimal point. The bytes it took, 0 for none. */
static size_t strtod_copy(const unsigned char *s, size_t n, double *out)
{
	char small[64], *buf = n < sizeof(small) ? small : malloc(n + 1), *end, dp;
	size_t i, used;

	if (!buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	dp = localeconv()->decimal_point[0];
	for (i = 0; dp != '.' && i < n; i++) {
		if (buf[i] == '.')
			buf[i] = dp;
	}
	*out = strtod(buf, &end);
	used = (size_t)(end - buf);
	if (buf != small)
		free(buf);
	return used;
}

static bool parse_number(struct parser *p, struct jdoc_node *node)
{
	const unsigned char *s = p->s + p->off;
	size_t n = 0, used;

	while (p->off + n < p->len && number_char(s[n]))
		n++;
	if (exact_decimal(s, n, &node->v.num))
		used = n;
	else
		used = strtod_copy(s, n, &node->v.num);
	if (!used)
		return false;
	node->type = JDOC_NUMBER;
	p->off += used;
	return true;
}

static bool parse_value(struct parser *p, uint32_t idx);

/* Elements (array) or members (object) up to `close`. */
static bool parse_container(struct parser *p, uint32_t idx, bool object)
{
	char close = object ? '}' : ']';
	uint32_t prev = 0;

	if (p->depth >= JDOC_MAX_DEPTH)
		return false;
	p->depth++;
	p->off++;
	skip_ws(p);
	p->d->nodes[idx].type = object ? JDOC_OBJECT : JDOC_ARRAY;
	if (at(p, close)) {
		p->off++;
		p->depth--;
		return true;
	}
	for (;;) {
		uint32_t item = new_node(p->d);

		if (!item)
			return false;
		if (prev)
			p->d->nodes[prev].next = item;
		else
			p->d->nodes[idx].child = item;
		prev = item;
		if (object) {
			const char *key = parse_string(p);

			if (!key)
				return false;
			p->d->nodes[item].key = key;
			skip_ws(p);
			if (!at(p, ':'))
				return false;
			p->off++;
			skip_ws(p);
		}
		if (!parse_value(p, item))
			return false;
		skip_ws(p);
		if (!at(p, ','))
			break;
		p->off++;
		skip_ws(p);
	}
	if (!at(p, close))
		return false;
	p->off++;
	p->depth--;
	return true;
}

static bool literal(struct parser *p, const char *word, size_t n)
{
	if (p->off + n > p->len || memcmp(p->s + p->off, word, n) != 0)
		return false;
	p->off += n;
	return true;
}

/* The value at p->off into node `idx` (nodes may move: index, not pointer). */
static bool parse_value(struct parser *p, uint32_t idx)
{
	unsigned char c;
	const char *s;

	if (literal(p, "null", 4)) {
		p->d->nodes[idx].type = JDOC_NULL;
		return true;
	}
	if (literal(p, "false", 5)) {
		p->d->nodes[idx].type = JDOC_FALSE;
		return true;
	}
	if (literal(p, "true", 4)) {
		p->d->nodes[idx].type = JDOC_TRUE;
		return true;
	}
	if (p->off >= p->len)
		return false;
	c = p->s[p->off];
	if (c == '"') {
		s = parse_string(p);
		if (!s)
			return false;
		p->d->nodes[idx].type = JDOC_STRING;
		p->d->nodes[idx].v.str = s;
		return true;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(p, &p->d->nodes[idx]);
	if (c == '[' || c == '{')
		return parse_container(p, idx, c == '{');
	return false;
}

bool jdoc_parse(struct jdoc *d, const char *text, size_t len, const char **end)
{
	struct parser p = {d, (const unsigned char *)text, len, 0, 0};

	d->n = 0;
	if (!text || !len || !reserve_strings(d, len))
		return false;
	new_node(d); /* the root: the first node always fits */
	if (len >= 5 && !memcmp(text, "\xEF\xBB\xBF", 3))
		p.off = 3; /* a UTF-8 BOM (cJSON skips it only then) */
	skip_ws(&p);
	if (!parse_value(&p, 0)) {
		d->n = 0;
		return false;
	}
	if (end)
		*end = text + p.off;
	return true;
}

void jdoc_init(struct jdoc *d)
{
	d->nodes = d->inline_nodes;
	d->cap = JDOC_INLINE_NODES;
	d->n = 0;
	d->str = d->inline_str;
	d->str_cap = JDOC_INLINE_STR;
	d->str_used = 0;
}

void jdoc_free(struct jdoc *d)
{
	if (d->nodes != d->inline_nodes)
		free(d->nodes);
	if (d->str != d->inline_str)
		free(d->str);
	jdoc_init(d);
}

const struct jdoc_node *jdoc_get(const struct jdoc *d, const struct jdoc_node *o, const char *key)
{
	const struct jdoc_node *it;

	if (!jdoc_is(o, JDOC_OBJECT))
		return NULL;
	for (it = jdoc_child(d, o); it; it = jdoc_next(d, it)) {
		if (it->key[0] == key[0] && !strcmp(it->key, key))
			return it;
	}
	return NULL;
}
