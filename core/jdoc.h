/* jdoc: a JSON parser that allocates nothing for small documents.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Parses a document into a flat array of nodes with unescaped, NUL-
 * terminated strings, held in the struct itself up to JDOC_INLINE_NODES
 * nodes and JDOC_INLINE_STR bytes of strings (an OwnTracks report fits),
 * on the heap beyond. It accepts and refuses exactly what cJSON 1.7.15's
 * cJSON_ParseWithLengthOpts(text, len, &end, false) does and yields the
 * same values (tests/unit/test_jdoc.c checks that on the fuzz corpora),
 * cJSON's leniencies included: any byte up to 0x20 is white space,
 * leading zeros and "1." are numbers, a "\u" escape with bad hex digits
 * is U+0000 (which ends the string's C value), a UTF-8 BOM is skipped in
 * documents of 5 bytes or more, and nesting is limited to 1000 levels.
 * Numbers are converted as strtod() would; the common forms without
 * calling it.
 *
 * A parsed jdoc points into itself: it must not be copied or moved.
 */
#ifndef MYTRACKS_JDOC_H
#define MYTRACKS_JDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jdoc_type {
	JDOC_NULL,
	JDOC_FALSE,
	JDOC_TRUE,
	JDOC_NUMBER,
	JDOC_STRING,
	JDOC_ARRAY,
	JDOC_OBJECT,
};

/* One value. Sibling and child links are node indexes (0: none; the
 * root, node 0, is nobody's sibling or child). */
struct jdoc_node {
	const char *key; /* member name (NUL-terminated), or NULL outside objects */
	union {
		const char *str; /* JDOC_STRING: the unescaped value, NUL-terminated */
		double num;	 /* JDOC_NUMBER */
	} v;
	uint32_t next;	/* next sibling, 0 if last */
	uint32_t child; /* JDOC_ARRAY, JDOC_OBJECT: first element, 0 if empty */
	uint8_t type;	/* enum jdoc_type */
};

#define JDOC_INLINE_NODES 64
#define JDOC_INLINE_STR 1024
#define JDOC_MAX_DEPTH 1000

struct jdoc {
	struct jdoc_node *nodes; /* inline_nodes or heap */
	size_t n, cap;
	char *str; /* inline_str or heap: the strings of the document */
	size_t str_used, str_cap;
	struct jdoc_node inline_nodes[JDOC_INLINE_NODES];
	char inline_str[JDOC_INLINE_STR];
};

/* Make `d` an empty doc (no allocation; the inline arrays are not
 * cleared). Needed once before the first parse. */
void jdoc_init(struct jdoc *d);
/* Parse `len` bytes of `text` (need not be NUL-terminated). True when a
 * value was parsed: node 0 is the root, and `*end` (if not NULL) points
 * just past it (what follows is the caller's to judge). False when the
 * text is not JSON or memory ran out. The doc may be parsed into again
 * (memory on the heap is reused); jdoc_free() releases it. */
bool jdoc_parse(struct jdoc *d, const char *text, size_t len, const char **end);
/* Free what the doc holds on the heap; it is empty (initialised) afterwards. */
void jdoc_free(struct jdoc *d);

/* The root (after a successful parse). */
static inline const struct jdoc_node *jdoc_root(const struct jdoc *d)
{
	return &d->nodes[0];
}
/* First element/member of a container, or NULL (also for non-containers). */
static inline const struct jdoc_node *jdoc_child(const struct jdoc *d, const struct jdoc_node *n)
{
	return n && n->child ? &d->nodes[n->child] : NULL;
}
/* Next sibling, or NULL. */
static inline const struct jdoc_node *jdoc_next(const struct jdoc *d, const struct jdoc_node *n)
{
	return n->next ? &d->nodes[n->next] : NULL;
}
/* The first member of object `o` named `key` (case-sensitive), or NULL
 * (also when `o` is NULL or not an object). */
const struct jdoc_node *jdoc_get(const struct jdoc *d, const struct jdoc_node *o, const char *key);

static inline bool jdoc_is(const struct jdoc_node *n, enum jdoc_type t)
{
	return n && n->type == t;
}

#endif
