/* test_queue: the hand-over from the MQTT thread to the lws thread.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"

static struct msg *sized(enum msg_kind kind, size_t len, int mid)
{
	struct msg *m = msg_new(kind, len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memset(msg_data(m), 'x', len);
	m->mid = mid;
	return m;
}

static void free_list(struct msg *m)
{
	while (m) {
		struct msg *next = m->next;

		free(m);
		m = next;
	}
}

static void test_msg_new(void)
{
	struct msg *m = msg_new(MSG_STATS, 5);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->len, 5);
	CU_ASSERT_EQUAL(msg_data(m)[5], '\0'); /* always terminated */
	CU_ASSERT_PTR_NULL(m->user);
	CU_ASSERT_PTR_NULL(m->next);
	CU_ASSERT_EQUAL(msg_data(m) - m->buf, LWS_PRE); /* headroom for lws_write */
	free(m);
}

static void test_order_and_accounting(void)
{
	struct queue q;
	struct msg *list, *m;
	int mid = 1;

	CU_ASSERT_EQUAL_FATAL(queue_init(&q, 1000), 0);
	CU_ASSERT_PTR_NULL(queue_take_all(&q));
	queue_push(&q, sized(MSG_RELAY, 10, 1));
	queue_push(&q, sized(MSG_PUBACK, 0, 2));
	queue_push(&q, sized(MSG_RELAY, 20, 3));
	CU_ASSERT_EQUAL(q.bytes, 30);
	list = queue_take_all(&q);
	for (m = list; m; m = m->next)
		CU_ASSERT_EQUAL(m->mid, mid++);
	CU_ASSERT_EQUAL(mid, 4);
	CU_ASSERT_PTR_NULL(queue_take_all(&q)); /* taken: the queue is empty */
	/* taken messages still press on the cap until released */
	CU_ASSERT_EQUAL(q.bytes, 30);
	queue_release(&q, 30);
	CU_ASSERT_EQUAL(q.bytes, 0);
	queue_release(&q, 5); /* never below zero */
	CU_ASSERT_EQUAL(q.bytes, 0);
	free_list(list);
	queue_free(&q);
}

struct pusher {
	struct queue *q;
	atomic_int done;
};

static void *push_one(void *arg)
{
	struct pusher *p = arg;

	queue_push(p->q, sized(MSG_RELAY, 10, 99));
	atomic_store(&p->done, 1);
	return NULL;
}

/* Wait up to ~5 s for a pusher to finish; true when it did. */
static bool finished(struct pusher *p)
{
	int i;

	for (i = 0; i < 500 && !atomic_load(&p->done); i++)
		usleep(10000);
	return atomic_load(&p->done);
}

static void test_backpressure(void)
{
	struct queue q;
	struct pusher p = {&q, 0};
	pthread_t t;
	struct msg *list;

	CU_ASSERT_EQUAL_FATAL(queue_init(&q, 50), 0);
	queue_push(&q, sized(MSG_RELAY, 60, 1)); /* over the cap now */
	/* control messages never wait */
	queue_push(&q, sized(MSG_UP, 0, 2));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, push_one, &p), 0);
	usleep(50000);
	/* the relay message waits while the queue is over its cap (this
	 * check can only pass late, never wrongly: the pusher must block) */
	CU_ASSERT_EQUAL(atomic_load(&p.done), 0);
	list = queue_take_all(&q);
	CU_ASSERT_EQUAL(atomic_load(&p.done), 0); /* taking alone does not release */
	queue_release(&q, 60);
	CU_ASSERT_TRUE(finished(&p));
	pthread_join(t, NULL);
	free_list(list);
	list = queue_take_all(&q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_EQUAL(list->mid, 99);
	free_list(list);
	queue_free(&q);
}

static void test_close_releases(void)
{
	struct queue q;
	struct pusher p = {&q, 0};
	pthread_t t;

	CU_ASSERT_EQUAL_FATAL(queue_init(&q, 5), 0);
	queue_push(&q, sized(MSG_RELAY, 10, 1));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, push_one, &p), 0);
	usleep(20000);
	queue_close(&q);
	CU_ASSERT_TRUE(finished(&p)); /* released, its message freed */
	pthread_join(t, NULL);
	/* after close a push frees its message (LeakSanitizer checks) */
	queue_push(&q, sized(MSG_RELAY, 1, 3));
	queue_free(&q); /* frees the one still queued */
}

int init_queue_tests(void)
{
	static const struct test_case cases[] = {
		{"a message has headroom and a terminator", test_msg_new},
		{"order and byte accounting", test_order_and_accounting},
		{"a relay push waits over the cap until released", test_backpressure},
		{"close releases a waiting pusher", test_close_releases},
		{NULL, NULL},
	};
	return add_suite("queue", cases);
}
