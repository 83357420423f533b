/* num: the one reader of decimal integers from text mytracks is given
 * (options, query arguments, command lines).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_NUM_H
#define MYTRACKS_NUM_H

#include <stdint.h>

/* Read `s` as a decimal integer in [min, max], and nothing else: an
 * optional '-', then digits; no spaces, no '+', no other characters before
 * or after. Returns 0 with `*out` set, or -1 (`*out` untouched) for
 * anything else, also for a number out of range or out of int64_t. */
int num_parse(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
