// history.js: the history mode's logic: days and ranges in the viewer's
// time zone, the API and export URLs, the fetched track, the slider.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Runs in the browser and under `node --test`; no DOM. Dates are
// "YYYY-MM-DD" strings as <input type="date"> gives them; a day is the
// viewer's local day (so 23 or 25 hours long on a daylight-saving change).

import { normalizeLocation } from './store.js';

/** Points the page asks the server for at most (it thins larger ranges). */
export const HISTORY_MAX_POINTS = 4000;

const pad = (n) => String(n).padStart(2, '0');
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A Date at local midnight of "YYYY-MM-DD", or null when it is not a date. */
function localMidnight(date) {
  const m = DATE_RE.exec(String(date ?? ''));
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(y, mo - 1, d);
  // refuse 2024-02-30 and friends instead of rolling over
  if (t.getFullYear() !== y || t.getMonth() !== mo - 1 || t.getDate() !== d) return null;
  return t;
}

/** "YYYY-MM-DD" of a time (ms) in the viewer's zone. */
export function dateString(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The local day `delta` days from `date`: "2024-03-31", 1 → "2024-04-01". */
export function stepDay(date, delta) {
  const t = localMidnight(date);
  if (!t) return null;
  return dateString(new Date(t.getFullYear(), t.getMonth(), t.getDate() + delta).getTime());
}

/**
 * The range from the first second of local day `from` to the last second
 * of local day `to` (default: the same day), in unix seconds:
 * { start, end }, or null when a date is not valid or `to` is before `from`.
 */
export function dayRange(from, to = from) {
  const a = localMidnight(from);
  const b = localMidnight(to);
  if (!a || !b || b < a) return null;
  const next = new Date(b.getFullYear(), b.getMonth(), b.getDate() + 1);
  return { start: Math.floor(a.getTime() / 1000), end: Math.floor(next.getTime() / 1000) - 1 };
}

/** The 24 hours up to `nowMs`. */
export function last24h(nowMs = Date.now()) {
  const end = Math.floor(nowMs / 1000);
  return { start: end - 86400, end };
}

/** Unix seconds as ISO-8601 UTC: "2024-03-10T08:00:00Z". */
export function isoUtc(unix) {
  return new Date(unix * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return q.toString();
}

/** Thresholds of "hide bad fixes" when the server sets none. */
export const FALLBACK_FILTER = Object.freeze({ maxAcc: 100, maxSpeed: 250 });

/**
 * The bad-fix toggle from GET /api/config: on by default when the server
 * sets a threshold (--hide-accuracy-over, --hide-speed-over); its
 * thresholds are the server's, else FALLBACK_FILTER's.
 */
export function filterDefaults(config) {
  const acc = Number(config?.hide_accuracy_over) > 0 ? Number(config.hide_accuracy_over) : 0;
  const speed = Number(config?.hide_speed_over) > 0 ? Number(config.hide_speed_over) : 0;
  const max = Number(config?.max_points);
  return {
    hideBad: acc > 0 || speed > 0,
    maxAcc: acc || (speed ? 0 : FALLBACK_FILTER.maxAcc),
    maxSpeed: speed || (acc ? 0 : FALLBACK_FILTER.maxSpeed),
    maxPoints: Number.isSafeInteger(max) && max >= 100 && max <= 50000 ? max : HISTORY_MAX_POINTS,
  };
}

/**
 * The filter parameters: the server's thresholds (from /api/config) when
 * `hideBad` is on and a threshold is set.
 */
function filterParams({ hideBad = false, maxAcc = 0, maxSpeed = 0 } = {}) {
  if (!hideBad) return {};
  return { max_acc: maxAcc > 0 ? maxAcc : undefined, max_speed: maxSpeed > 0 ? maxSpeed : undefined };
}

/**
 * GET /api/locations/ for a track: { device (id or null: all visible),
 * start, end (unix seconds), maxPoints, hideBad, maxAcc, maxSpeed }.
 */
export function historyUrl(opts) {
  const { device = null, start, end, maxPoints = HISTORY_MAX_POINTS } = opts;
  return `/api/locations/?${query({
    device, start_time: isoUtc(start), end_time: isoUtc(end), max_points: maxPoints, ...filterParams(opts),
  })}`;
}

/** An export of the same range and filter, unthinned: format gpx, geojson or csv. */
export function exportUrl(format, opts) {
  if (!['gpx', 'geojson', 'csv'].includes(format)) throw new Error(`unknown format ${format}`);
  const { device = null, start, end } = opts;
  return `/api/locations/?${query({
    device, start_time: isoUtc(start), end_time: isoUtc(end), format, ...filterParams(opts),
  })}`;
}

/**
 * The track a history request returned: points (normalized locations in
 * device, then time order; bad rows left out), the same grouped by device
 * (a Map in first-seen order), the distance and counts.
 */
export function parseTrack(body) {
  const points = [];
  for (const raw of Array.isArray(body?.results) ? body.results : []) {
    const p = normalizeLocation(raw);
    if (p) points.push(p);
  }
  const byDevice = new Map();
  for (const p of points) {
    if (!byDevice.has(p.device)) byDevice.set(p.device, []);
    byDevice.get(p.device).push(p);
  }
  const n = (v) => (Number.isFinite(v) ? v : 0);
  return {
    points,
    byDevice,
    timeline: [...points].sort((a, b) => a.ts - b.ts || a.id - b.id),
    distanceM: n(body?.distance_m),
    hidden: n(body?.dropped_accuracy) + n(body?.dropped_jump),
    thinned: n(body?.thinned),
    resolution: n(body?.resolution),
    truncated: body?.truncated === true,
  };
}

/** "850 m", "6.67 km", "123 km". */
export function formatDistance(m) {
  if (!Number.isFinite(m) || m < 0) return '—';
  if (m < 1000) return `${Math.round(m)} m`;
  if (m < 100000) return `${(m / 1000).toFixed(2)} km`;
  return `${Math.round(m / 1000)} km`;
}

/** One line about a fetched track: "121 fixes · 6.67 km · 1 bad fix hidden". */
export function trackSummary(track) {
  const parts = [`${track.points.length} ${track.points.length === 1 ? 'fix' : 'fixes'}`, formatDistance(track.distanceM)];
  if (track.hidden) parts.push(`${track.hidden} bad ${track.hidden === 1 ? 'fix' : 'fixes'} hidden`);
  if (track.thinned) parts.push(`thinned to one per ${track.resolution} s`);
  if (track.truncated) parts.push('cut off: pick a shorter range');
  return parts.join(' · ');
}

/** Slider steps over the range (the slider's max). */
export const SLIDER_STEPS = 1000;

/**
 * The point a slider position (0..steps) stands for: the last fix at or
 * before that moment of the timeline (the first one at 0). Null when the
 * timeline is empty.
 */
export function pointAtSlider(timeline, pos, steps = SLIDER_STEPS) {
  if (!timeline.length) return null;
  const first = timeline[0].ts;
  const last = timeline[timeline.length - 1].ts;
  const f = Math.min(1, Math.max(0, Number(pos) / steps || 0));
  const t = first + (last - first) * f;
  let lo = 0;
  let hi = timeline.length - 1;
  while (lo < hi) { // the last index with ts <= t
    const mid = (lo + hi + 1) >> 1;
    if (timeline[mid].ts <= t) lo = mid; else hi = mid - 1;
  }
  return timeline[lo];
}

/** The slider position of a point of the timeline (inverse of pointAtSlider). */
export function sliderForPoint(timeline, point, steps = SLIDER_STEPS) {
  if (!timeline.length || !point) return 0;
  const first = timeline[0].ts;
  const span = timeline[timeline.length - 1].ts - first;
  return span > 0 ? Math.round(((point.ts - first) / span) * steps) : 0;
}
