// tiles.js: the map's tile layer settings, from the bridge's GET /api/config
// (--tile-url, --tile-attribution).
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Runs in the browser and under `node --test`; no DOM. The attribution
// is text written by the administrator; Leaflet shows it as HTML, so
// attributionHtml() escapes everything except links written as
// <a href="https://...">name</a> and a few character entities (&copy;).

/** Leaflet placeholders the page fills ({s} {z} {x} {y} {-y} {r}). */
const PLACEHOLDER_RE = /\{(?:s|z|x|y|-y|r)\}/g;

/**
 * The tile layer to draw: { url, attribution } from the server's config,
 * or null when it names none the page can use (then the map has no tiles
 * and says so).
 */
export function tileSettings(config) {
  const url = config && config.tile_url;
  if (typeof url !== 'string' || !/^https?:\/\/[^\s"'<>\\`]+$/.test(url)) return null;
  const rest = url.replace(PLACEHOLDER_RE, '');
  if (/[{}]/.test(rest) || !/\{z\}/.test(url) || !/\{x\}/.test(url) || !/\{-?y\}/.test(url)) return null;
  const text = config.tile_attribution;
  return { url, attribution: typeof text === 'string' ? attributionHtml(text) : '' };
}

const ENTITY_RE = /^&(?:copy|amp|lt|gt|quot|apos|nbsp|reg|trade|middot|ndash|mdash|#\d{1,6}|#x[0-9a-fA-F]{1,6});/;
const LINK_RE = /^<a\s+href="(https?:\/\/[^"<>\s]+)"\s*>([^<]*)<\/a>/i;

/** `s` as HTML text: markup characters escaped, known entities kept. */
function escapeText(s) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '&') {
      const m = ENTITY_RE.exec(s.slice(i));
      if (m) { out += m[0]; i += m[0].length - 1; } else out += '&amp;';
    } else if (c === '<') out += '&lt;';
    else if (c === '>') out += '&gt;';
    else if (c === '"') out += '&quot;';
    else if (c === "'") out += '&#39;';
    else out += c;
  }
  return out;
}

/** A URL inside a double-quoted attribute. */
function escapeAttr(s) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}

/**
 * Safe HTML for the attribution control: the text escaped, except
 * <a href="http(s)://...">name</a> links, which stay links.
 */
export function attributionHtml(text) {
  let out = '';
  let plain = '';
  const s = String(text);
  for (let i = 0; i < s.length;) {
    const m = s[i] === '<' ? LINK_RE.exec(s.slice(i)) : null;
    if (m) {
      out += escapeText(plain);
      plain = '';
      out += `<a href="${escapeAttr(m[1])}" rel="noopener noreferrer">${escapeText(m[2])}</a>`;
      i += m[0].length;
    } else {
      plain += s[i];
      i += 1;
    }
  }
  return out + escapeText(plain);
}
