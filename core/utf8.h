/* utf8: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_UTF8_H
#define MYTRACKS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence starting at p, or 0 if the bytes
 * there are not a valid sequence. `avail` is how many bytes may be read. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

/* True when all `len` bytes are valid UTF-8 and none is NUL. */
bool utf8_valid(const char *s, size_t len);

#endif
