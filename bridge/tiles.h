/* tiles: the map's tile server option, checked and turned into a CSP source.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * --tile-url is a Leaflet URL template (https://tile.example.org/{z}/{x}/{y}.png)
 * that the page loads images from, and whose origin the bridge's
 * Content-Security-Policy must allow in img-src. Pure functions, no I/O:
 * they fill a message or an output buffer, the caller prints it.
 */
#ifndef MYTRACKS_BRIDGE_TILES_H
#define MYTRACKS_BRIDGE_TILES_H

#include <stddef.h>

#define TILES_DEFAULT_URL "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
#define TILES_DEFAULT_ATTRIBUTION                                                                  \
	"&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> "            \
	"contributors"
#define TILES_URL_MAX 512	  /* longest --tile-url */
#define TILES_ATTRIBUTION_MAX 512 /* longest --tile-attribution */
#define TILES_ORIGIN_MAX 300	  /* room for any tiles_csp_source() answer */
#define TILES_CSP_MAX 1024	  /* room for any tiles_csp() answer */

/* Check a --tile-url: http:// or https://, a host (letters, digits, '-',
 * '.', an IPv6 literal in brackets, or {s} within the first label), an
 * optional :port, a path holding {z}, {x} and {y}, only the placeholders
 * Leaflet fills by itself ({s} {z} {x} {y} {-y} {r}), and no quotes, spaces,
 * backslashes, '<', '>' or control characters. Returns 0, or -1 with a
 * NUL-terminated reason in `err` (without the value). */
int tiles_url_check(const char *url, char *err, size_t errlen);

/* Check a --tile-attribution: 1 to TILES_ATTRIBUTION_MAX bytes, no control
 * characters. Returns 0, or -1 with a reason in `err`. */
int tiles_attribution_check(const char *text, char *err, size_t errlen);

/* The CSP source expression for a checked URL: scheme://host[:port],
 * with a first label holding {s} as '*' (a host {s}.tile.example.org
 * becomes *.tile.example.org, the wildcard CSP allows). Returns its length, or -1 when the
 * URL does not pass tiles_url_check() or `out` is too small (`out` is then
 * ""). */
int tiles_csp_source(const char *url, char *out, size_t outlen);

/* The whole Content-Security-Policy the bridge sends, with `img_source`
 * (from tiles_csp_source()) allowed in img-src. Returns its length, or -1
 * when `out` is too small (`out` is then ""). */
int tiles_csp(const char *img_source, char *out, size_t outlen);

#endif
