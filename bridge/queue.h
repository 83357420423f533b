/* queue: messages handed from the MQTT thread to the lws thread.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The MQTT thread pushes; the lws thread takes everything at once when
 * woken by lws_cancel_service(). Order is kept. The queue's bytes are
 * capped: a push beyond the cap waits (back-pressure on the broker
 * connection) until the lws thread drains or the queue is closed.
 */
#ifndef MYTRACKS_BRIDGE_QUEUE_H
#define MYTRACKS_BRIDGE_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

enum msg_kind {
	MSG_RELAY,  /* a framed WebSocket message: buf holds LWS_PRE + frame */
	MSG_STATS,  /* the plugin's stats JSON (buf + LWS_PRE, NUL-terminated) */
	MSG_PUBACK, /* `mid` was acknowledged with `reason` */
	MSG_UP,	    /* connected and subscribed */
	MSG_DOWN,   /* connection lost */
	MSG_REPLY,  /* the answer to control request `mid` (buf + LWS_PRE, `len` bytes, NUL) */
};

/* One allocation: the header, then LWS_PRE bytes of headroom, then `len`
 * bytes of data and a NUL. Freed with free(). */
struct msg {
	struct msg *next;
	enum msg_kind kind;
	int mid, reason;
	size_t len;
	/* MSG_RELAY: the topic's user and device (NUL-terminated, after the
	 * frame's NUL, in the same allocation), or NULL */
	const char *user, *device;
	unsigned char buf[];
};

/* A message with room for `len` data bytes (after LWS_PRE), or NULL. */
struct msg *msg_new(enum msg_kind kind, size_t len);
static inline unsigned char *msg_data(struct msg *m)
{
	return m->buf + LWS_PRE;
}

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *head, *tail;
	size_t bytes, max_bytes;
	bool closed;
	struct lws_context *lws; /* woken on push; set before the MQTT thread starts */
};

/* An empty queue whose relay messages wait beyond `max_bytes` queued (and
 * taken but not released) bytes. Set `q->lws` before the first push to
 * wake the lws thread. Returns 0, or -1 when the mutex or condition
 * variable cannot be made (nothing to free then). */
int queue_init(struct queue *q, size_t max_bytes);
/* Free the queue and any messages still in it. */
void queue_free(struct queue *q);
/* Append `m` (ownership passes to the queue) and wake the lws thread.
 * Waits while the queue is over its cap; after queue_close(), frees `m`. */
void queue_push(struct queue *q, struct msg *m);
/* Take every queued message, oldest first (a list linked by `next`, owned
 * by the caller), or NULL. Their bytes still count against the cap until
 * the caller passes them to queue_release(): messages the lws thread holds
 * back (clients catching up) keep pressing on the MQTT thread. */
struct msg *queue_take_all(struct queue *q);
/* The lws thread is done with `bytes` of taken messages: a waiting pusher
 * may go on. Never takes the count below zero. */
void queue_release(struct queue *q, size_t bytes);
/* Stop accepting messages and release a waiting pusher. */
void queue_close(struct queue *q);

#endif
