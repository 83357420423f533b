/* isotime: dates and times as people and the OwnTracks tools write them.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * One parser for every time a client may send: unix seconds ("1705329000"),
 * ISO-8601 / RFC 3339 ("2024-01-15T14:30:00Z", "…+01:00", "…+0100",
 * fractions of a second ignored), and the OwnTracks Recorder's shorter
 * forms, which have no zone and mean UTC ("2024-01-15T14:30:00",
 * "2024-01-15T14:30", "2024-01-15T14", "2024-01-15", "2024-01"). A space
 * may stand for the 'T'. Pure functions, no locale, no time zone database.
 */
#ifndef MYTRACKS_ISOTIME_H
#define MYTRACKS_ISOTIME_H

#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t isotime_days(int64_t year, unsigned month, unsigned day);

/* Parse `s` into unix seconds. Fields that are left out are the start of
 * the period ("2024-01" is 2024-01-01T00:00:00Z). Returns 0, or -1 when `s`
 * is not one of the forms above, a field is out of range (month 13, Feb
 * 30, hour 24, an offset beyond ±18:00), or the year is outside
 * 0000-9999. */
int isotime_parse(const char *s, int64_t *out);

#endif
