// format.js: how the page shows positions, speeds, times and devices.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Pure functions of their arguments: no DOM, no clock unless passed in.

const DASH = '—';

/** A finite number from a number or numeric string, else null. */
export function num(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** "52.520008, 13.404954": always 6 decimals. */
export function formatPosition(lat, lon) {
  const a = num(lat);
  const b = num(lon);
  if (a === null || b === null) return DASH;
  return `${a.toFixed(6)}, ${b.toFixed(6)}`;
}

export function formatAccuracy(v) {
  const n = num(v);
  return n === null ? DASH : `±${Math.round(n)} m`;
}

/** velocity is km/h in OwnTracks. */
export function formatSpeed(v) {
  const n = num(v);
  return n === null ? DASH : `${Math.round(n)} km/h`;
}

export function formatBattery(v) {
  const n = num(v);
  return n === null ? DASH : `${Math.round(n)}%`;
}

const CONNECTIONS = { w: 'WiFi', m: 'Mobile', o: 'Offline' };

export function formatConnection(c) {
  if (c === null || c === undefined || c === '') return DASH;
  return CONNECTIONS[c] || String(c);
}

const pad = (n) => String(n).padStart(2, '0');

/**
 * A fix time in the viewer's local time: "14:30:05" when it is today,
 * "2024-01-15 14:30" otherwise. `tz` picks UTC for tests.
 */
export function formatTime(unix, nowMs = Date.now(), { utc = false } = {}) {
  const n = num(unix);
  if (n === null) return DASH;
  const d = new Date(n * 1000);
  const now = new Date(nowMs);
  const get = (date) => (utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()]);
  const [y, mo, da, h, mi, s] = get(d);
  const [ny, nmo, nda] = get(now);
  if (y === ny && mo === nmo && da === nda) return `${pad(h)}:${pad(mi)}:${pad(s)}`;
  return `${y}-${pad(mo)}-${pad(da)} ${pad(h)}:${pad(mi)}`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago", or "never". */
export function formatAgo(unix, nowMs = Date.now()) {
  const n = num(unix);
  if (n === null) return 'never';
  const s = Math.round(nowMs / 1000 - n);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * A stable colour per device. Device ids are stable and mostly consecutive:
 * stepping the hue by the golden angle keeps neighbours far apart on the
 * colour wheel (ids 1, 2, 3 get 138°, 275°, 53°). Anything else (a name) is
 * hashed to a position on the same sequence.
 */
export function deviceColor(key) {
  let n;
  if (Number.isSafeInteger(key) && key >= 0) {
    n = key;
  } else {
    let h = 0x811c9dc5; // FNV-1a, 32 bit
    const s = String(key ?? '');
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    n = h;
  }
  const hue = Math.round((n * 137.508) % 360);
  const light = [40, 46, 34][Math.floor(n / 3) % 3];
  return `hsl(${hue}, 70%, ${light}%)`;
}

/** What the UI calls a device: its card's display name, else user/device. */
export function deviceLabel(dev) {
  if (!dev) return '';
  const dn = dev.displayName;
  if (typeof dn === 'string' && dn.trim() !== '') return dn;
  return String(dev.name ?? `device ${dev.id}`);
}
