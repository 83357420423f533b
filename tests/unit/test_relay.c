/* test_relay: the ring of framed messages with a read position per client.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <string.h>

#include "relay.h"

/* A relay message holding `text` (its length is what the ring counts). */
static struct msg *text_msg(const char *text)
{
	size_t n = strlen(text);
	struct msg *m = msg_new(MSG_RELAY, n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(msg_data(m), text, n);
	return m;
}

static const char *peek_text(const struct relay *r, const struct relay_client *c)
{
	struct msg *m = relay_peek(r, c);

	return m ? (const char *)msg_data(m) : NULL;
}

static void test_order_per_client(void)
{
	struct relay r;
	struct relay_client early, late;

	CU_ASSERT_EQUAL_FATAL(relay_init(&r, 8, 1024), 0);
	relay_add(&r, &early, NULL);
	CU_ASSERT_PTR_NULL(relay_peek(&r, &early)); /* nothing yet */
	relay_push(&r, text_msg("one"));
	relay_push(&r, text_msg("two"));
	/* a client that joins now starts with what comes next */
	relay_add(&r, &late, NULL);
	CU_ASSERT_PTR_NULL(relay_peek(&r, &late));
	relay_push(&r, text_msg("three"));

	CU_ASSERT_STRING_EQUAL(peek_text(&r, &early), "one");
	CU_ASSERT_STRING_EQUAL(peek_text(&r, &early), "one"); /* peeking does not consume */
	relay_consumed(&early);
	CU_ASSERT_STRING_EQUAL(peek_text(&r, &early), "two");
	relay_consumed(&early);
	CU_ASSERT_STRING_EQUAL(peek_text(&r, &early), "three");
	relay_consumed(&early);
	CU_ASSERT_PTR_NULL(relay_peek(&r, &early));
	CU_ASSERT_STRING_EQUAL(peek_text(&r, &late), "three");
	CU_ASSERT_EQUAL(r.bytes, 3 + 3 + 5);

	relay_remove(&r, &early);
	relay_remove(&r, &early); /* removing twice is harmless */
	relay_remove(&r, &late);
	CU_ASSERT_EQUAL(r.clients.count, 0);
	relay_free(&r);
}

static void test_limits_and_lagging(void)
{
	struct relay r;
	struct relay_client slow, fast;
	int i;

	CU_ASSERT_EQUAL_FATAL(relay_init(&r, 3, 1024), 0);
	relay_add(&r, &slow, NULL);
	relay_add(&r, &fast, NULL);
	CU_ASSERT_FALSE(relay_full(&r, 100000)); /* an empty ring takes any message */
	CU_ASSERT_FALSE(relay_oldest_needed(&r));
	relay_push(&r, text_msg("a"));
	relay_push(&r, text_msg("b"));
	relay_push(&r, text_msg("c"));
	CU_ASSERT_TRUE(relay_full(&r, 1)); /* by count */
	CU_ASSERT_TRUE(relay_oldest_needed(&r));
	for (i = 0; i < 3; i++)
		relay_consumed(&fast);
	CU_ASSERT_TRUE(relay_oldest_needed(&r)); /* slow still needs "a" */
	CU_ASSERT_FALSE(relay_lagging(&r, &slow));

	/* the caller chose not to wait: "a" is evicted, slow is behind */
	relay_push(&r, text_msg("d"));
	CU_ASSERT_EQUAL(r.tail, 1);
	CU_ASSERT_EQUAL(r.head, 4);
	CU_ASSERT_TRUE(relay_lagging(&r, &slow));
	CU_ASSERT_PTR_NULL(relay_peek(&r, &slow)); /* a lagging client gets nothing */
	CU_ASSERT_FALSE(relay_lagging(&r, &fast));
	CU_ASSERT_STRING_EQUAL(peek_text(&r, &fast), "d");
	CU_ASSERT_EQUAL(r.bytes, 3);
	relay_remove(&r, &slow);
	relay_remove(&r, &fast);
	relay_free(&r);
}

static void test_byte_limit(void)
{
	struct relay r;

	CU_ASSERT_EQUAL_FATAL(relay_init(&r, 100, 10), 0);
	relay_push(&r, text_msg("12345"));
	relay_push(&r, text_msg("1234"));
	CU_ASSERT_FALSE(relay_full(&r, 1));
	CU_ASSERT_TRUE(relay_full(&r, 2)); /* 9 + 2 > 10 */
	relay_push(&r, text_msg("123456789"));
	/* both older ones had to go for 9 bytes to fit */
	CU_ASSERT_EQUAL(r.tail, 2);
	CU_ASSERT_EQUAL(r.bytes, 9);
	/* a message larger than the whole budget still goes in, alone */
	relay_push(&r, text_msg("this is longer than ten"));
	CU_ASSERT_EQUAL(r.head - r.tail, 1);
	CU_ASSERT_EQUAL(r.bytes, 23);
	relay_free(&r); /* frees what is held: LeakSanitizer checks */
}

int init_relay_tests(void)
{
	static const struct test_case cases[] = {
		{"each client reads in order from where it joined", test_order_per_client},
		{"count limit, eviction, lagging clients", test_limits_and_lagging},
		{"byte limit", test_byte_limit},
		{NULL, NULL},
	};
	return add_suite("relay", cases);
}
