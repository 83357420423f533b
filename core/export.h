/* export: locations as GPX 1.1, GeoJSON (RFC 7946) or CSV (RFC 4180).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A streaming writer: export_begin(), then export_location() for each
 * location (in the order they should appear; for GPX, grouped by device,
 * since each device is one <trk>), then export_end(). Each call appends to
 * a jbuf the caller may flush and reset between calls, so an export of
 * any size needs memory for one location only. Check jbuf_failed() as
 * usual. No I/O.
 *
 * - GPX: one <trk> per device (named user/device), one <trkseg>, a <trkpt>
 *   per location with <ele> (altitude) and <time>; schema order.
 * - GeoJSON: a FeatureCollection of Point features, coordinates
 *   [lon, lat(, alt)] with six decimals, the location data object as
 *   the properties.
 * - CSV: a header line, then one line per location; CRLF line ends;
 *   fields quoted when needed, and text that a spreadsheet would run as a
 *   formula (starting with = + - @, tab or CR) prefixed with an apostrophe.
 */
#ifndef MYTRACKS_EXPORT_H
#define MYTRACKS_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataobj.h"
#include "jbuf.h"

enum export_format {
	EXPORT_GPX,
	EXPORT_GEOJSON,
	EXPORT_CSV,
};

struct export
{
	enum export_format fmt;
	int64_t count;	   /* locations written */
	int64_t device_id; /* GPX: the device of the open <trk>, or 0 */
};

/* "gpx", "geojson" or "csv" (case-sensitive). Returns 0, or -1. */
int export_format_parse(const char *s, enum export_format *out);
/* The media type to send, e.g. "application/gpx+xml". */
const char *export_content_type(enum export_format f);
/* The file name extension, e.g. "gpx". */
const char *export_extension(enum export_format f);

/* Start an export in `fmt`: appends the header (XML prolog, the opening
 * of the FeatureCollection, the CSV header line). Cannot fail otherwise. */
void export_begin(struct export *e, enum export_format fmt, struct jbuf *b);
/* Append one location. */
void export_location(struct export *e, struct jbuf *b, const struct dataobj_location *d);
/* Close what is open. */
void export_end(struct export *e, struct jbuf *b);

/* `len` bytes of `s` as XML character data or an attribute value: & < > "
 * and ' escaped; characters XML 1.0 does not allow (C0 controls other than
 * tab, LF, CR) and invalid UTF-8 become U+FFFD. NULL appends nothing. */
void export_xml_str(struct jbuf *b, const char *s, size_t len);

#endif
