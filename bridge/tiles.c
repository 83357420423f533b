/* tiles: the map's tile server option, checked and turned into a CSP source.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tiles.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The placeholders Leaflet's TileLayer fills without extra options. */
static const char *const placeholders[] = {"{s}", "{z}", "{x}", "{y}", "{-y}", "{r}", NULL};

static int say(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/* "https://" or "http://" at the start: its length, else 0. */
static size_t scheme_len(const char *url)
{
	if (!strncmp(url, "https://", 8))
		return 8;
	if (!strncmp(url, "http://", 7))
		return 7;
	return 0;
}

/* The first byte a tile URL must not hold, as a reason, or NULL. */
static const char *bad_byte(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return "control characters are not allowed";
		if (c == ' ')
			return "spaces are not allowed (percent-encode them as %20)";
		if (c == '"' || c == '\'' || c == '`')
			return "quotes are not allowed";
		if (c == '\\' || c == '<' || c == '>')
			return "'\\', '<' and '>' are not allowed";
		if (c >= 0x80)
			return "non-ASCII characters are not allowed (percent-encode them)";
	}
	return NULL;
}

/* A :port suffix, `s` at the ':' and `n` bytes long. */
static bool port_ok(const char *s, size_t n)
{
	unsigned v = 0;
	size_t i;

	if (n < 2 || n > 6 || s[0] != ':')
		return false;
	for (i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* A host name of `n` bytes: dot-separated labels of letters, digits and
 * '-', where the first label may hold {s} (then another label follows). */
static const char *host_name_check(const char *s, size_t n)
{
	size_t i = 0, label = 0, labels = 0;
	bool templated = false;

	if (!n)
		return "expected a host after the scheme";
	while (i <= n) {
		if (i == n || s[i] == '.') {
			if (!label)
				return "the host has an empty label ('..' or a '.' at either end)";
			labels++;
			label = 0;
			i++;
			continue;
		}
		if (n - i >= 3 && !strncmp(s + i, "{s}", 3)) {
			if (labels)
				return "{s} may only stand in the first label of the host";
			templated = true;
			label += 3;
			i += 3;
			continue;
		}
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
			    s[i]))
			return "the host may hold only letters, digits, '-', '.' and {s}";
		label++;
		i++;
	}
	if (templated && labels < 2)
		return "a host with {s} needs a domain after its first label";
	return NULL;
}

/* The authority (host[:port]) of `n` bytes, without user info. */
static const char *authority_check(const char *s, size_t n)
{
	const char *colon;
	size_t hn;

	if (memchr(s, '@', n))
		return "user:password@ is not supported in the URL";
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		size_t i;

		if (!close || close == s + 1)
			return "an IPv6 host must be [address]";
		for (i = 1; s + i < close; i++)
			if (!strchr("0123456789abcdefABCDEF:.", s[i]))
				return "an IPv6 host must be [address]";
		hn = (size_t)(close + 1 - s);
		if (hn < n && !port_ok(s + hn, n - hn))
			return "expected a port from 1 to 65535 after the host";
		return NULL;
	}
	colon = memchr(s, ':', n);
	hn = colon ? (size_t)(colon - s) : n;
	if (colon && !port_ok(colon, n - hn))
		return "expected a port from 1 to 65535 after the host";
	return host_name_check(s, hn);
}

/* Every {...} is a known placeholder, and {z} {x} {y} (or {-y}) are there. */
static const char *placeholders_check(const char *s)
{
	bool z = false, x = false, y = false;
	const char *p = s;

	while ((p = strpbrk(p, "{}"))) {
		size_t i;

		if (*p == '}')
			return "a '}' without its '{'";
		for (i = 0; placeholders[i]; i++)
			if (!strncmp(p, placeholders[i], strlen(placeholders[i])))
				break;
		if (!placeholders[i])
			return "unknown placeholder: only {s} {z} {x} {y} {-y} {r} are filled in";
		z |= i == 1;
		x |= i == 2;
		y |= i == 3 || i == 4;
		p += strlen(placeholders[i]);
	}
	if (!z || !x || !y)
		return "expected {z}, {x} and {y} in the URL";
	return NULL;
}

int tiles_url_check(const char *url, char *err, size_t errlen)
{
	const char *why, *auth;
	size_t n = strlen(url), sl, an;

	if (errlen)
		err[0] = '\0';
	if (!n || n > TILES_URL_MAX)
		return say(err, errlen, "expected a URL of 1 to 512 characters");
	why = bad_byte(url);
	if (why)
		return say(err, errlen, why);
	sl = scheme_len(url);
	if (!sl)
		return say(err, errlen, "expected an http:// or https:// URL");
	auth = url + sl;
	an = strcspn(auth, "/?#");
	if (auth[an] != '/' && auth[an] != '?')
		return say(err, errlen, "expected a path holding {z}, {x} and {y} after the host");
	why = authority_check(auth, an);
	if (!why)
		why = placeholders_check(url);
	return why ? say(err, errlen, why) : 0;
}

int tiles_attribution_check(const char *text, char *err, size_t errlen)
{
	size_t n = strlen(text), i;

	if (errlen)
		err[0] = '\0';
	if (!n || n > TILES_ATTRIBUTION_MAX)
		return say(err, errlen, "expected 1 to 512 characters");
	for (i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return say(err, errlen, "control characters are not allowed");
	return 0;
}

int tiles_csp_source(const char *url, char *out, size_t outlen)
{
	const char *auth;
	size_t sl, an, first = 0;
	int n;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (tiles_url_check(url, NULL, 0))
		return -1;
	sl = scheme_len(url);
	auth = url + sl;
	an = strcspn(auth, "/?");
	if (auth[0] != '[') {
		first = strcspn(auth, ".:/?");
		if (!memchr(auth, '{', first))
			first = 0; /* no {s}: the host as it is */
	}
	if (first)
		n = snprintf(out, outlen, "%.*s*%.*s", (int)sl, url, (int)(an - first),
			     auth + first);
	else
		n = snprintf(out, outlen, "%.*s", (int)(sl + an), url);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return n;
}

int tiles_csp(const char *img_source, char *out, size_t outlen)
{
	int n;

	if (!outlen)
		return -1;
	n = snprintf(out, outlen,
		     "default-src 'self'; script-src 'self'; style-src 'self'; "
		     "img-src 'self' data: %s; connect-src 'self'; "
		     "object-src 'none'; base-uri 'none'; form-action 'self'; "
		     "frame-ancestors 'none'",
		     img_source);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return n;
}
