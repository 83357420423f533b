/* db: read-only history queries on the plugin's database: a SQLite file or
 * a PostgreSQL connection string (core/sqldb.h).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The database is opened lazily: it may not exist yet when the bridge
 * starts (the broker's plugin creates it), or PostgreSQL may be down. db_ready() tries again on
 * every call until it succeeds; a failing query closes it so the next request reopens. Prepared
 * statements are made once per open and kept.
 */
#ifndef MYTRACKS_BRIDGE_DB_H
#define MYTRACKS_BRIDGE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "dataobj.h"
#include "jbuf.h"
#include "ot.h"
#include "sqldb.h"

enum db_stmt {
	DB_LOC_FWD,	/* id > since, tst in range, ascending (SQLite: the rowid walk, id <= ?6) */
	DB_LOC_FWD_DEV, /* the same for one device */
	DB_LOC_LATEST,	/* the newest N, ascending */
	DB_LOC_LATEST_DEV, /* the newest N of one device, ascending */
	DB_DEVICES,	   /* every device with its last location */
	DB_DEVICE_BY_ID,
	DB_DEVICE_BY_NAME,
	/* history tracks and exports (issue 13): keyset pages by (device, tst) */
	DB_TRACK_PAGE,	/* one device, tst in (after, end], ascending */
	DB_TRACK_SPAN,	/* count, first and last tst of one device in a range */
	DB_NEXT_DEVICE, /* the next visible device id after one */
	/* the Recorder-compatible API (recorder.c) */
	DB_REC_USERS,	  /* users with a device */
	DB_REC_DEVICES,	  /* the devices of one user */
	DB_REC_LAST,	  /* each device's newest fix, with its card */
	DB_REC_LOCATIONS, /* one device, from < tst < to, the newest N, ascending */
	DB_REC_MAX_ID,	  /* the newest location id committed */
	/* SQLite only, NULL without the locations_tst index (schema < 3) or on
	 * PostgreSQL: DB_LOC_FWD along locations_tst, and what chooses it */
	DB_LOC_FWD_TST,	  /* DB_LOC_FWD by the tst index, sorted by id */
	DB_LOC_RANGE_IDS, /* count, min and max id of the range after ?1 (of ?4 at most) */
	DB_N_STMTS,
};

/* How db_locations() reads a page of all devices (no device, not latest)
 * on SQLite: the rowid walk from since_id, or the tst index (issue 12). */
enum db_fwd_plan {
	DB_FWD_AUTO = 0, /* a short walk, then the cheaper of the two (db.c) */
	DB_FWD_ROWID,	 /* the rowid walk alone */
	DB_FWD_TST,	 /* the tst index alone (the walk where it is missing) */
};

struct db {
	const char *spec; /* file path or connection string */
	struct sqldb *h;
	struct sqldb_stmt *stmt[DB_N_STMTS];
	char error[160];	   /* why the last open or query failed (never a password) */
	enum db_fwd_plan fwd_plan; /* DB_FWD_AUTO; the others for tests and benchmarks */
	enum db_fwd_plan fwd_used; /* what the last such page used last (ROWID or TST) */
};

enum db_result {
	DB_OK = 0,
	DB_NOT_FOUND,	/* unknown device */
	DB_UNAVAILABLE, /* database missing, not initialised, or failing */
	DB_NOMEM,	/* the output buffer hit its cap */
};

struct db_loc_query {
	int64_t device_id;	      /* 0: all devices */
	int64_t since_id;	      /* ids greater than this */
	int64_t start_time, end_time; /* tst range, inclusive */
	int limit;
	bool latest;		/* no since_id and no time range: the newest `limit` rows */
	const char *users_json; /* JSON array of visible users; NULL: all */
};

struct db_loc_page {
	int count;
	bool has_more;
	int64_t last_id; /* 0 when count is 0 */
};

/* Remember `spec` (kept, not copied); nothing is opened yet. Cannot fail. */
void db_init(struct db *db, const char *spec);
/* Finalize the statements and close; db_ready() may open it again. */
void db_close(struct db *db);
/* Open and prepare if needed. True when queries can run. */
bool db_ready(struct db *db);

/* Resolve "<id>" or "<user>/<device>" to a device id; a device of a user
 * outside `users_json` (a JSON array of names, NULL: all) is not found.
 * Returns DB_OK with `*id`, DB_NOT_FOUND, or DB_UNAVAILABLE (the reason in
 * db->error; the database is closed, to be reopened by the next call). */
enum db_result db_device_id(struct db *db, const char *spec, const char *users_json, int64_t *id);
/* Append the data objects of a location page, comma-separated, and
 * describe the page in `*page`. Returns DB_OK, DB_UNAVAILABLE (as above)
 * or DB_NOMEM (`out` hit its cap; what it holds is incomplete). */
enum db_result db_locations(struct db *db, const struct db_loc_query *q, struct jbuf *out,
			    struct db_loc_page *page);
/* Append the device objects of the users in `users_json` (NULL: all),
 * comma-separated. */
enum db_result db_devices(struct db *db, const char *users_json, struct jbuf *out);

/* --- history tracks and exports (issue 13) ----------------------------- */

/* Called for each row of a track page; `d` and what it points to are valid
 * during the call only. */
typedef void (*db_track_row_fn)(void *ctx, const struct dataobj_location *d);

/* One page of device `device_id`'s locations with after < tst <= end, in
 * tst order, at most `limit`: calls `fn` for each and sets `*n` to how many.
 * Keyset pagination: the next page starts after the last row's tst
 * ((device_id, tst) is unique). Holds no statement open between calls.
 * Returns DB_OK or DB_UNAVAILABLE (as above). */
enum db_result db_track_page(struct db *db, int64_t device_id, int64_t after, int64_t end,
			     int limit, db_track_row_fn fn, void *ctx, int *n);
/* How many locations device `device_id` has with start <= tst <= end, and
 * the first and last tst (both 0 when none). DB_OK or DB_UNAVAILABLE. */
enum db_result db_track_span(struct db *db, int64_t device_id, int64_t start, int64_t end,
			     int64_t *count, int64_t *first, int64_t *last);
/* The smallest device id greater than `after` of a user in `users_json`
 * (NULL: all). DB_OK with `*id`, DB_NOT_FOUND when there is none, or
 * DB_UNAVAILABLE. */
enum db_result db_next_device(struct db *db, int64_t after, const char *users_json, int64_t *id);

/* --- the Recorder-compatible API (bridge/recorder.c) --------------------- */

/* One location row for the Recorder's API: the data object's fields (`d`,
 * whose loc points at `loc`) and what the Recorder adds from the stored
 * report (inregions as JSON array text, poi) and the device's last card
 * (name, face; /last only). Strings may be NULL and are valid during the
 * callback only. */
struct db_rec_row {
	struct ot_location loc;
	struct dataobj_location d;
	const char *inregions, *poi, *name, *face;
};
/* Called for each row; a non-zero return stops the query (DB_OK). */
typedef int (*db_rec_cb)(void *ctx, const struct db_rec_row *row);

/* Append the names, as JSON strings, comma-separated: with `user` NULL the
 * users that have a device, else the devices of `user`; only users in
 * `users_json` (NULL: all). Returns DB_OK, DB_UNAVAILABLE or DB_NOMEM. */
enum db_result db_rec_names(struct db *db, const char *user, const char *users_json,
			    struct jbuf *out);
/* Each visible device's newest fix (by tst) with its card, ordered by
 * user and device; `user` and `device` (NULL: any) narrow it down. */
enum db_result db_rec_last(struct db *db, const char *user, const char *device,
			   const char *users_json, db_rec_cb cb, void *ctx);

struct db_rec_query {
	const char *user, *device; /* required */
	const char *users_json;	   /* visible users; NULL: all */
	int64_t from, to;	   /* from < tst < to */
	int64_t limit;		   /* the newest `limit`; <= 0: all */
};
/* The device's locations in the range, ascending by tst. */
enum db_result db_rec_locations(struct db *db, const struct db_rec_query *q, db_rec_cb cb,
				void *ctx);
/* The largest location id committed (0: none) in `*id`. */
enum db_result db_rec_max_id(struct db *db, int64_t *id);

#endif
