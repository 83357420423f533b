/* queue: messages handed from the MQTT thread to the lws thread.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "queue.h"

#include <stdlib.h>

struct msg *msg_new(enum msg_kind kind, size_t len)
{
	struct msg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);

	if (!m)
		return NULL;
	m->next = NULL;
	m->kind = kind;
	m->mid = 0;
	m->reason = 0;
	m->len = len;
	m->user = m->device = NULL;
	m->buf[LWS_PRE + len] = '\0';
	return m;
}

int queue_init(struct queue *q, size_t max_bytes)
{
	q->head = q->tail = NULL;
	q->bytes = 0;
	q->max_bytes = max_bytes;
	q->closed = false;
	q->lws = NULL;
	if (pthread_mutex_init(&q->mu, NULL))
		return -1;
	if (pthread_cond_init(&q->cv, NULL)) {
		pthread_mutex_destroy(&q->mu);
		return -1;
	}
	return 0;
}

void queue_free(struct queue *q)
{
	struct msg *m = q->head, *next;

	for (; m; m = next) {
		next = m->next;
		free(m);
	}
	q->head = q->tail = NULL;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

void queue_push(struct queue *q, struct msg *m)
{
	bool was_empty;

	pthread_mutex_lock(&q->mu);
	/* only data waits: control messages (PUBACK, UP, DOWN) always go in */
	while (!q->closed && m->kind == MSG_RELAY && q->bytes > q->max_bytes)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		free(m);
		return;
	}
	m->next = NULL;
	was_empty = !q->head;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->len;
	pthread_mutex_unlock(&q->mu);
	/* A non-empty queue already has a wake-up pending: the lws thread
	 * takes everything each time it wakes. */
	if (was_empty && q->lws)
		lws_cancel_service(q->lws);
}

struct msg *queue_take_all(struct queue *q)
{
	struct msg *m;

	pthread_mutex_lock(&q->mu);
	m = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return m;
}

void queue_release(struct queue *q, size_t bytes)
{
	if (!bytes)
		return;
	pthread_mutex_lock(&q->mu);
	q->bytes -= bytes < q->bytes ? bytes : q->bytes;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}
