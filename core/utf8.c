/* utf8: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "utf8.h"

#include <string.h>

static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];

	if (avail == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && cont(p[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (avail < 3 || !cont(p[1]) || !cont(p[2]))
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (avail < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3]))
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && p[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n;

		if (*p && *p < 0x80) {
			p++;
			continue;
		}
		if (*p == 0)
			return false;
		n = utf8_seq_len(p, (size_t)(end - p));
		if (!n)
			return false;
		p += n;
	}
	return true;
}

static const char hex[] = "0123456789abcdef";

char *utf8_log_escape(char *out, size_t out_len, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	size_t o = 0, cut = 0; /* cut: the last whole-escape end with room for "..." */

	if (!out_len)
		return out;
	if (!s) {
		p = (const unsigned char *)"(null)";
		len = 6;
	}
	end = p + len;
	while (p < end) {
		char tmp[4];
		size_t n = utf8_seq_len(p, (size_t)(end - p)), tn;

		if (n == 1 && *p >= 0x20 && *p != 0x7f && *p != '\\') {
			tmp[0] = (char)*p;
			tn = 1;
		} else if (n == 1 && *p == '\\') {
			tmp[0] = tmp[1] = '\\';
			tn = 2;
		} else if (n > 1 && !(n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			memcpy(tmp, p, n); /* valid and not a C1 control (U+0080..U+009F) */
			tn = n;
		} else {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[*p >> 4];
			tmp[3] = hex[*p & 15];
			tn = 4;
			n = 1;
		}
		if (o + tn + 1 > out_len) {
			if (cut + 4 <= out_len) {
				memcpy(out + cut, "...", 3);
				o = cut + 3;
			}
			break;
		}
		memcpy(out + o, tmp, tn);
		o += tn;
		if (o + 4 <= out_len)
			cut = o;
		p += n;
	}
	out[o] = '\0';
	return out;
}

char *utf8_log_str(char *out, size_t out_len, const char *s)
{
	return utf8_log_escape(out, out_len, s, s ? strlen(s) : 0);
}
