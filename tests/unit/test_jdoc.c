/* test_jdoc: the allocation-free JSON parser (core/jdoc.c) against cJSON.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * jdoc must accept and refuse what cJSON_ParseWithLengthOpts() does and
 * give the same values (types, keys, strings as C strings, numbers bit
 * for bit, order, the end of the value). Checked on every file of the
 * committed fuzz corpora (tests/fuzz/corpus/ot and /bridge): the whole
 * file, the part after the first line (the payload, as fuzz_ot reads it),
 * and every line; and on hand-picked edge cases of cJSON's grammar.
 */
#include "jdoc.h"
#include "tests.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MYTRACKS_FUZZ_CORPUS
#error "MYTRACKS_FUZZ_CORPUS (the tests/fuzz/corpus directory) must be defined"
#endif

static int jtype(const cJSON *c)
{
	switch (c->type & 0xFF) {
	case cJSON_NULL:
		return JDOC_NULL;
	case cJSON_False:
		return JDOC_FALSE;
	case cJSON_True:
		return JDOC_TRUE;
	case cJSON_Number:
		return JDOC_NUMBER;
	case cJSON_String:
		return JDOC_STRING;
	case cJSON_Array:
		return JDOC_ARRAY;
	case cJSON_Object:
		return JDOC_OBJECT;
	}
	return -1;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The same tree, member for member. */
static bool same_tree(const struct jdoc *d, const struct jdoc_node *n, const cJSON *c)
{
	const struct jdoc_node *jn;
	const cJSON *cc;

	if (n->type != jtype(c) || !same_str(n->key, c->string))
		return false;
	if (n->type == JDOC_STRING && !same_str(n->v.str, c->valuestring))
		return false;
	if (n->type == JDOC_NUMBER && memcmp(&n->v.num, &c->valuedouble, sizeof(double)) != 0)
		return false;
	for (jn = jdoc_child(d, n), cc = c->child; jn && cc; jn = jdoc_next(d, jn), cc = cc->next) {
		if (!same_tree(d, jn, cc))
			return false;
	}
	return !jn && !cc;
}

static unsigned long compared, accepted;

/* One input through both: same verdict, same tree, same end. */
static bool agree(struct jdoc *d, const char *text, size_t len)
{
	const char *cend = NULL, *jend = NULL;
	cJSON *c = cJSON_ParseWithLengthOpts(text, len, &cend, false);
	bool ok = jdoc_parse(d, text, len, &jend);
	bool same = ok == (c != NULL) && (!ok || (jend == cend && same_tree(d, jdoc_root(d), c)));

	compared++;
	accepted += ok;
	cJSON_Delete(c);
	return same;
}

static void check(struct jdoc *d, const char *what, const char *text, size_t len)
{
	if (!agree(d, text, len)) {
		fprintf(stderr, "\njdoc and cJSON differ on %s (%zu bytes): %.*s\n", what, len,
			(int)(len > 200 ? 200 : len), text);
		CU_FAIL("jdoc and cJSON differ");
	}
}

static void check_text(struct jdoc *d, const char *what, const char *text, size_t len)
{
	const char *p = text, *nl;

	check(d, what, text, len);
	nl = memchr(text, '\n', len);
	if (nl)
		check(d, what, nl + 1, len - (size_t)(nl + 1 - text));
	while ((nl = memchr(p, '\n', len - (size_t)(p - text)))) {
		check(d, what, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static void check_corpus(const char *sub)
{
	char dir[1024], path[2048];
	struct jdoc d;
	struct dirent *e;
	unsigned files = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", MYTRACKS_FUZZ_CORPUS, sub);
	dp = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dp);
	jdoc_init(&d);
	while ((e = readdir(dp))) {
		size_t len = 0;
		char *text;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = read_all(path, &len);
		CU_ASSERT_PTR_NOT_NULL(text);
		if (!text)
			continue;
		check_text(&d, path, text, len);
		free(text);
		files++;
	}
	closedir(dp);
	jdoc_free(&d);
	CU_ASSERT(files > 100); /* the corpus is there, not an empty directory */
}

static void test_corpus_ot(void)
{
	compared = accepted = 0;
	check_corpus("ot");
	/* both verdicts occur: the comparison is not vacuous */
	CU_ASSERT(accepted > 100);
	CU_ASSERT(compared - accepted > 100);
}

static void test_corpus_bridge(void)
{
	check_corpus("bridge");
}

/* cJSON's corners, each one way or the other. */
static void test_edges(void)
{
	static const char *const cases[] = {
		"{}",
		"[]",
		"null",
		"true",
		"false",
		"nul",
		"tru",
		"nullx",
		"\"a\"",
		"\"a",
		"\"\\",
		"\"\\\"",
		"\"\\\\\"",
		"{\"a\":1,}",
		"[1,]",
		"[,1]",
		"{\"a\"}",
		"{\"a\":}",
		"{1:2}",
		" \x01\x1f{\x02\"a\"\x03:\x04[\x05]\x06}\x07",
		"\xEF\xBB\xBF{}",
		"\xEF\xBB\xBF"
		"1",
		"\xEF\xBB\xBF"
		"12",
		"01",
		"-",
		"-0",
		"1.",
		"-.5",
		".5",
		"1e5",
		"1E+5",
		"1e",
		"1e+",
		"1-2",
		"1.2.3",
		"+1",
		"1e400",
		"-1e400",
		"1e-400",
		"0.1",
		"52.520008",
		"-13.404954",
		"123456789012345",
		"1234567890123456",
		"12345678901234567890",
		"0.30000000000000004",
		"1526617158",
		"1.5e3",
		"9007199254740993",
		"[1 2]",
		"{\"a\":1 \"b\":2}",
		"\"\\u0041\"",
		"\"\\u00e9\"",
		"\"\\u20AC\"",
		"\"\\uD83D\\uDE00\"",
		"\"\\uD83D\"",
		"\"\\uD83Dx\"",
		"\"\\uDE00\"",
		"\"\\uD83D\\u0041\"",
		"\"\\uZZZZ\"",
		"\"\\u12\"",
		"\"\\u00\\\"x\"",
		"\"a\\u0000b\"",
		"\"\\x\"",
		"\"\\/\\b\\f\\n\\r\\t\"",
		"\"raw\ttab\"",
		"{\"k\\u0000x\":1}",
		"{\"a\":1,\"a\":2}",
		"[[[[[]]]]]",
		"{\"a\":[{\"b\":[1,{}]}]}",
		"  ",
		"",
		"[",
		"{",
		"{\"a\":",
		"[1,",
		"\"\xff\xfe\"",
		"tRue",
		"NULL",
		"-inf",
		"nan",
		"0x10",
		"1_000",
	};
	struct jdoc d;
	size_t i, n;
	char *deep;

	jdoc_init(&d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&d, "an edge case", cases[i], strlen(cases[i]));
	/* the nesting limit: 1000 levels parse, 1001 do not, in both */
	for (n = 999; n <= 1001; n++) {
		deep = malloc(2 * n + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		check(&d, "deep nesting", deep, 2 * n);
		free(deep);
	}
	/* more nodes and strings than fit inline */
	{
		char big[20000];
		size_t k = 0;

		big[k++] = '[';
		for (i = 0; i < 1500; i++)
			k += (size_t)snprintf(big + k, sizeof(big) - k, "%s\"s%zu\",%zu",
					      i ? "," : "", i, i);
		big[k++] = ']';
		check(&d, "a large array", big, k);
		CU_ASSERT(d.n > JDOC_INLINE_NODES);
	}
	jdoc_free(&d);
}

/* A parse that needs no heap leaves the doc on its inline arrays. */
static void test_inline(void)
{
	static const char report[] =
		"{\"_type\":\"location\",\"lat\":52.520008,\"lon\":13.404954,\"tst\":1705329000,"
		"\"acc\":12,\"alt\":34,\"batt\":80,\"conn\":\"w\",\"tid\":\"ab\",\"vel\":5,"
		"\"inregions\":[\"home\",\"work\"],\"SSID\":\"net\",\"BSSID\":\"aa:bb\"}";
	const struct jdoc_node *lat, *reg;
	struct jdoc d;

	jdoc_init(&d);
	CU_ASSERT_FATAL(jdoc_parse(&d, report, sizeof(report) - 1, NULL));
	CU_ASSERT_PTR_EQUAL(d.nodes, d.inline_nodes);
	CU_ASSERT_PTR_EQUAL(d.str, d.inline_str);
	lat = jdoc_get(&d, jdoc_root(&d), "lat");
	CU_ASSERT_FATAL(jdoc_is(lat, JDOC_NUMBER));
	CU_ASSERT_DOUBLE_EQUAL(lat->v.num, 52.520008, 1e-12);
	reg = jdoc_get(&d, jdoc_root(&d), "inregions");
	CU_ASSERT_FATAL(jdoc_is(reg, JDOC_ARRAY));
	CU_ASSERT_STRING_EQUAL(jdoc_child(&d, reg)->v.str, "home");
	CU_ASSERT_PTR_NULL(jdoc_get(&d, jdoc_root(&d), "nope"));
	CU_ASSERT_PTR_NULL(jdoc_get(&d, lat, "lat")); /* not an object */
	jdoc_free(&d);
}

int init_jdoc_tests(void)
{
	static const struct test_case cases[] = {
		{"same as cJSON on the ot fuzz corpus", test_corpus_ot},
		{"same as cJSON on the bridge fuzz corpus", test_corpus_bridge},
		{"same as cJSON on the grammar's corners", test_edges},
		{"a report parses without the heap", test_inline},
		{NULL, NULL},
	};
	return add_suite("jdoc", cases);
}
