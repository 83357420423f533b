/* num: the one reader of decimal integers from text mytracks is given.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "num.h"

#include <errno.h>
#include <stdlib.h>

int num_parse(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *d = s && *s == '-' ? s + 1 : s;
	char *end;
	long long v;

	/* strtoll would also take leading spaces and a '+' */
	if (!d || *d < '0' || *d > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
