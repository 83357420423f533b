/* isotime: dates and times as people and the OwnTracks tools write them.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "isotime.h"

#include <stdbool.h>
#include <stddef.h>

int64_t isotime_days(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil, in the proleptic Gregorian calendar */
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Exactly `n` digits at *p; advances. Returns the value, or -1. */
static int64_t digits(const char **p, int n)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Unix seconds: digits only, at most 12 of them. */
static int parse_unix(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 12)
			return -1;
		v = v * 10 + (s[n] - '0');
	}
	if (!n)
		return -1;
	*out = v;
	return 0;
}

/* "Z", "+HH:MM", "+HHMM", "+HH" or nothing (UTC), to seconds east. */
static int parse_zone(const char *p, int64_t *east)
{
	int64_t h, m = 0;
	int sign;

	*east = 0;
	if (!*p)
		return 0;
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if ((h = digits(&p, 2)) < 0)
		return -1;
	if (*p == ':')
		p++;
	if (*p && (m = digits(&p, 2)) < 0)
		return -1;
	if (*p || h > 18 || m > 59 || (h == 18 && m))
		return -1;
	*east = sign * (h * 3600 + m * 60);
	return 0;
}

int isotime_parse(const char *s, int64_t *out)
{
	int64_t y, mo, d = 1, h = 0, mi = 0, se = 0, east;
	const char *p = s;

	/* a date has its first '-' after four digits; anything else may be
	 * unix seconds (each byte is checked before the next is read) */
	if (!s[0] || !s[1] || !s[2] || !s[3] || s[4] != '-')
		return parse_unix(s, out);
	if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12)
		return -1;
	if (*p == '-') {
		p++;
		if ((d = digits(&p, 2)) < 1 || d > month_days(y, (unsigned)mo))
			return -1;
		if (*p == 'T' || *p == 't' || *p == ' ') {
			p++;
			if ((h = digits(&p, 2)) < 0 || h > 23)
				return -1;
			if (*p == ':') {
				p++;
				if ((mi = digits(&p, 2)) < 0 || mi > 59)
					return -1;
				if (*p == ':') {
					p++;
					/* 60: a leap second, folded into the next */
					if ((se = digits(&p, 2)) < 0 || se > 60)
						return -1;
					if (*p == '.' || *p == ',') {
						for (p++; *p >= '0' && *p <= '9'; p++)
							;
						if (p[-1] == '.' || p[-1] == ',')
							return -1;
					}
				}
			}
		}
	}
	if (parse_zone(p, &east))
		return -1;
	*out = (isotime_days(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se) -
	       east;
	return 0;
}
