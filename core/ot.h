/* ot: parse and validate OwnTracks JSON messages and topics.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * No I/O and no logging: functions return a code and, on rejection, a
 * human-readable reason in a caller-supplied buffer; the caller logs.
 */
#ifndef MYTRACKS_OT_H
#define MYTRACKS_OT_H

#include "jdoc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Marks an optional integer field the phone did not send. */
#define OT_NONE INT64_MIN

/* Limits on strings taken from topics and payloads. */
#define OT_NAME_MAX 128	    /* user or device topic level */
#define OT_SHORT_STR_MAX 64 /* tid, conn, t, SSID, BSSID, ... */
#define OT_TEXT_MAX 512	    /* card name, region description */

/* Default tolerance for `tst` ahead of the server clock (phones drift). */
#define OT_DEFAULT_MAX_FUTURE_S (24 * 3600)

enum ot_type {
	OT_UNKNOWN = 0,
	OT_LOCATION,
	OT_TRANSITION,
	OT_LWT,
	OT_CARD,
	OT_WAYPOINT,
	OT_WAYPOINTS,
	OT_IGNORED, /* a known type that mytracks does not store (cmd, status, steps, ...) */
};

enum ot_result {
	OT_OK = 0,
	OT_ERR_EMPTY, /* zero-length payload (clears a retained message) */
	OT_ERR_UTF8,  /* payload is not valid UTF-8 or contains NUL */
	OT_ERR_JSON,  /* not a JSON object */
	OT_ERR_TYPE,  /* missing or unknown _type, or encrypted */
	OT_ERR_FIELD, /* a field is missing, mistyped or out of range */
};

/* A location report. Strings point into the parsed document (or, in the
 * bridge, into a database row) and are NULL when absent. */
struct ot_location {
	double lat, lon;
	int64_t tst;
	int64_t acc, alt, vel, batt, cog, vac, bs, created_at; /* OT_NONE if absent */
	const char *conn, *tid, *trigger, *ssid, *bssid;
};

struct ot_transition {
	const char *event; /* "enter" or "leave" */
	double lat, lon;
	int64_t tst, wtst, acc; /* wtst, acc: OT_NONE if absent */
	const char *desc, *rid, *trigger, *tid;
};

struct ot_card {
	const char *name, *tid; /* may be NULL */
};

/* What a location carries beyond the stored columns, kept in the data
 * object as extra keys (read from the stored raw JSON by the bridge with
 * ot_extras_parse(), so live and history objects match). Lenient: a value
 * of the wrong type, too long, or out of range is absent, never a reason
 * to refuse the report. Strings point into the parsed document. */
#define OT_LIST_MAX 16 /* strings kept of inregions / inrids */
struct ot_extras {
	const char *inregions[OT_LIST_MAX]; /* region names (string elements only) */
	const char *inrids[OT_LIST_MAX];    /* region ids */
	int n_inregions, n_inrids;	    /* -1: the key is absent (null) */
	const char *poi, *tag, *source;	    /* or NULL */
	int64_t m;			    /* monitoring mode (-1..2), OT_NONE if absent */
};

struct ot_msg {
	enum ot_type type;
	const char *type_name; /* the _type string, valid while the message lives */
	int64_t tst;	       /* the message's tst, OT_NONE if absent */
	union {
		struct ot_location loc;
		struct ot_transition tr;
		struct ot_card card;
	} u;
	struct ot_extras extras; /* locations only; else all absent */
	struct jdoc doc;	 /* the parsed JSON the strings point into: last */
};

/* Parse `len` bytes of `payload` (need not be NUL-terminated) as one
 * OwnTracks message. `now` is the server's clock (unix seconds) and
 * `max_future` the tolerance for timestamps ahead of it.
 * On OT_OK, `msg` holds the message; release it with ot_msg_free().
 * On error `msg` holds nothing to free and `reason` says why.
 * The strings of a message point into the message itself (a report's
 * document fits in it: no allocation): do not copy or move a parsed
 * ot_msg, and keep it while its strings are used. */
enum ot_result ot_parse(const char *payload, size_t len, int64_t now, int64_t max_future,
			struct ot_msg *msg, char *reason, size_t reason_len);
/* Free what ot_parse() put in `msg`; its strings are invalid afterwards. */
void ot_msg_free(struct ot_msg *msg);

/* Parse `len` bytes of stored JSON (a location's raw) and fill `x` with
 * its extra keys (all absent when it is not a JSON object). Returns the
 * parsed document the strings point into (NULL if none); release it with
 * ot_extras_free(). */
void *ot_extras_parse(const char *raw, size_t len, struct ot_extras *x);
void ot_extras_free(void *doc);

/* Validate the fields of a location (ranges, types already checked).
 * Used by ot_parse; exposed for the tests. Returns OT_OK or OT_ERR_FIELD. */
enum ot_result ot_location_check(const struct ot_location *loc, int64_t now, int64_t max_future,
				 char *reason, size_t reason_len);

/* A topic `<prefix>/<user>/<device>[/<sub>]` split into its levels. */
struct ot_topic {
	char user[OT_NAME_MAX + 1];
	char device[OT_NAME_MAX + 1];
	char sub[OT_NAME_MAX + 1]; /* "" for the base topic */
};

/* Split `topic`. Returns OT_OK, or OT_ERR_FIELD when the prefix does not
 * match, a level is empty or too long, or there are too few or too many
 * levels; `reason` then says which. */
enum ot_result ot_topic_parse(const char *topic, const char *prefix, struct ot_topic *out,
			      char *reason, size_t reason_len);

/* True for `n` bytes usable as a user or device name (a topic level): 1 to
 * OT_NAME_MAX bytes of UTF-8, no control characters, '/', '+' or '#'. */
bool ot_name_ok(const char *s, size_t n);

/* Is `s` usable as a topic prefix (plugin_opt_input_prefix, the bridge's
 * --topic-prefix, ...): 1 to 64 bytes of valid UTF-8, one or more levels,
 * no wildcards, no control characters, no empty level (leading, trailing
 * or doubled '/')? */
#define OT_PREFIX_MAX 64
bool ot_prefix_ok(const char *s);

/* Name of a result code, e.g. "invalid_json": used as a counter label. */
const char *ot_result_name(enum ot_result r);

#endif
