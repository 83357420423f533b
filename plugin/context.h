/* context: the plugin's state, passed to every callback as userdata.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_CONTEXT_H
#define MYTRACKS_CONTEXT_H

#include "config.h"
#include "devices.h"
#include "jbuf.h"
#include "ratelimit.h"
#include "store.h"
#include "users.h"

#include <stdbool.h>
#include <stdint.h>

/* Why a message was not stored: counter labels and log reasons. */
enum mt_reject {
	REJ_OVERSIZED,
	REJ_TOPIC,
	REJ_UTF8,
	REJ_JSON,
	REJ_TYPE,
	REJ_FIELD,
	REJ_FORBIDDEN,
	REJ_BUFFER_FULL,
	REJ_USER_SHARE, /* the user's share of the buffer is full */
	REJ_DEVICE_CAP, /* a new device over max_devices(_per_user) */
	REJ_COUNT
};

struct mt_counters {
	uint64_t received;   /* messages on the input prefix */
	uint64_t accepted;   /* locations accepted and republished */
	uint64_t events;     /* other messages stored (lwt, transition, card, ...) */
	uint64_t duplicates; /* locations already seen: not stored or republished again */
	uint64_t ignored;    /* empty payloads, commands, types mytracks does not keep */
	uint64_t rejected;   /* sum of rejected_by */
	uint64_t rejected_by[REJ_COUNT];
	uint64_t publish_errors;
	uint64_t refused;	   /* reports refused to the client (not acknowledged as stored) */
	uint64_t bad_ip_property;  /* mytracks-ip values that are not an IP address (ignored) */
	uint64_t decrypted;	   /* encrypted reports opened with plugin_opt_keys */
	uint64_t undecryptable;	   /* encrypted reports kept as ciphertext (no key, wrong key) */
	uint64_t imported;	   /* historical messages stored through a control request */
	uint64_t control_requests; /* control requests served */
	uint64_t control_refused;  /* control requests refused (not trusted, invalid) */
};

struct mt_ctx {
	void *pid; /* mosquitto_plugin_id_t * */
	struct mt_config cfg;
	struct store *store;
	struct otkeys *keys; /* plugin_opt_keys, or NULL; replaced on reload */
	bool cur_decrypted;  /* the message being ingested was decrypted */
	bool importing;	     /* the message being ingested is history (ingest_import) */
	char *import_why;    /* ...where reject() puts its reason */
	size_t import_why_len;
	struct devices devices;
	struct users users;
	int lock_fd; /* dblock on the database, -1 if none */
	int64_t last_location_id, last_event_id;
	struct jbuf out; /* reused for every published payload */
	struct mt_counters c;
	struct ratelimit reject_rl;	/* rejected messages */
	struct ratelimit new_device_rl; /* "new device" lines */
	struct ratelimit full_rl;	/* buffer full (stats tick) */
	struct ratelimit bad_ip_rl;	/* bad mytracks-ip values */
	struct ratelimit crypt_rl;	/* encrypted reports kept undecrypted */
	int64_t next_stats;		/* monotonic ms of the next stats publish */
	int64_t online_checked;		/* unix s of the last HTTP online-window check */
	uint64_t logged_write_errors, logged_full;
	bool store_failing;	     /* a write error was logged, no commit since */
	uint64_t commits_at_failure; /* commit count when it was logged */
	size_t in_prefix_len;
	bool load_failed;	 /* a stored device could not be loaded (start only) */
	bool will_registered;	 /* will.c: the ACL_CHECK callback is registered */
	const void *will_client; /* will.c: the client whose DISCONNECT just fired */
};

#endif
