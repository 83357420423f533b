/* inbox: what the MQTT thread hands over, taken in on the lws thread.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_BRIDGE_INBOX_H
#define MYTRACKS_BRIDGE_INBOX_H

struct bridge;

/* Handle what the MQTT thread queued (called on the lws thread when
 * lws_cancel_service() wakes it, and when clients catch up). Relayed
 * messages wait while the ring is full and a reading client still needs
 * its oldest message; clients that stopped reading are cut off then
 * (ws_cut_off()), and the inbox is looked at again on a timer. Cannot
 * fail; every message taken is freed or owned by the ring. */
void inbox_drain(struct bridge *b);

/* Free the messages still waiting in the inbox (at shutdown). */
void inbox_drop(struct bridge *b);

#endif
