/* import_src: the readers of mytracks-import, from a file's bytes to OwnTracks messages.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Each reader walks a whole input held in memory (the caller maps the
 * file) and hands every message it finds to a sink, with the line it
 * starts on: an OwnTracks Recorder .rec file (one message a line, passed
 * on byte for byte), a GPX 1.1 document (each trkpt, rtept or wpt with a
 * time becomes a location) or Google Takeout's Records.json (each entry of
 * "locations" becomes a location). No I/O, no allocation kept: a message
 * handed to the sink is only valid during the call.
 */
#ifndef MYTRACKS_IMPORT_SRC_H
#define MYTRACKS_IMPORT_SRC_H

#include <stddef.h>

/* Where a reader puts what it finds; `arg` is passed back to each. */
struct imp_sink {
	/* A message to import: `len` bytes of JSON found on `line` (1-based).
	 * Returns 0, or -1 to stop reading (the reader then returns -1). */
	int (*message)(void *arg, const char *json, size_t len, long line);
	/* Something on `line` that is not a message: `why` says what. */
	void (*bad)(void *arg, long line, const char *why);
	/* A point on `line` left out because it has no time. */
	void (*skipped)(void *arg, long line);
	void *arg;
};

/* Read a Recorder .rec file: "TIME  TOPIC  JSON" lines ("2019-10-05T14:31:35Z",
 * TAB, "*" padded with spaces, TAB, the JSON object). Blank lines are
 * skipped. Returns the number of non-blank lines, or -1 when the sink
 * asked to stop. */
long imp_rec_read(const char *doc, size_t len, const struct imp_sink *sink);

/* Read a GPX document; each location gets "tid" from the last two
 * characters of `device`. Returns the number of points seen (with or
 * without a time), or -1 when the document is not GPX or is cut off (the
 * sink's bad() has said where) or the sink asked to stop. */
long imp_gpx_read(const char *doc, size_t len, const char *device, const struct imp_sink *sink);

/* Read a Google Takeout location history (Records.json), the same way. */
long imp_takeout_read(const char *doc, size_t len, const char *device, const struct imp_sink *sink);

#endif
