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

/* Copy `len` bytes of untrusted `s` into `out` (`out_len` > 0) so that they
 * are safe in a log line: valid UTF-8 other than control characters is
 * kept, a backslash becomes "\\", control characters (C0, DEL, C1) and
 * bytes that are not valid UTF-8 become "\xNN". Output that does not fit
 * is cut at a whole escape and ends in "..."; `out` is always
 * NUL-terminated. `s` may be NULL (gives "(null)"). Returns `out`, so a
 * call can be an argument of a log function. Never fails. */
char *utf8_log_escape(char *out, size_t out_len, const char *s, size_t len);

/* utf8_log_escape() of a NUL-terminated string. */
char *utf8_log_str(char *out, size_t out_len, const char *s);

/* Room for the escape of a string of up to n bytes (each byte may become
 * four), with the terminator. */
#define UTF8_LOG_LEN(n) (4 * (n) + 4)

#endif
