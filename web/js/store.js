// store.js: devices, bounded tracks and the Live Activity list, de-duplicated by id.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// No DOM and no network: LiveClient (client.js) feeds it, app.js draws it.

import { DEFAULTS } from './config.js';
import { num } from './format.js';

/**
 * Check and normalise a location data object. Returns null when it cannot be
 * drawn (no positive integer id, no device, position missing or out of range).
 * The original fields are kept; lat/lon/ts are added as numbers.
 */
export function normalizeLocation(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const id = raw.id;
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  if (!Number.isSafeInteger(raw.device)) return null;
  const lat = num(raw.latitude);
  const lon = num(raw.longitude);
  if (lat === null || lon === null || lat < -90 || lat > 90 || lon < -180 || lon > 180) return null;
  let ts = num(raw.timestamp_unix);
  if (ts === null && typeof raw.timestamp === 'string') {
    const p = Date.parse(raw.timestamp);
    ts = Number.isFinite(p) ? Math.floor(p / 1000) : null;
  }
  return { ...raw, lat, lon, ts: ts ?? 0 };
}

/** A location's receive time (its received_at, server time) in unix seconds, or null. */
export function receivedUnix(loc) {
  if (!loc || typeof loc.received_at !== 'string') return null;
  const p = Date.parse(loc.received_at);
  return Number.isFinite(p) ? Math.floor(p / 1000) : null;
}

// order of two locations in a track: by fix time, then id
const byTime = (a, b) => (a.ts - b.ts) || (a.id - b.id);

/** Insert into an array kept sorted by cmp (binary search; usually appends). */
function insertSorted(arr, item, cmp) {
  let lo = 0;
  let hi = arr.length;
  if (hi === 0 || cmp(arr[hi - 1], item) <= 0) { arr.push(item); return hi; }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(arr[mid], item) <= 0) lo = mid + 1; else hi = mid;
  }
  arr.splice(lo, 0, item);
  return lo;
}

/**
 * Devices, tracks and the Live Activity list.
 *  - a location id is accepted once (de-duplication across history, polling,
 *    catch-up and the WebSocket),
 *  - highestId is the largest id accepted (the next since_id),
 *  - each device keeps at most trackLength points, ordered by fix time,
 *  - activity holds the panelSize newest locations by id, newest first.
 */
export class Store {
  constructor({ panelSize = DEFAULTS.panelSize, trackLength = DEFAULTS.trackLength, seenLimit = 50000 } = {}) {
    this.panelSize = panelSize;
    this.trackLength = trackLength;
    this.seenLimit = seenLimit;
    this.clear();
  }

  clear() {
    this.devices = new Map();
    this.activity = [];
    this.highestId = 0;
    this.seen = new Set();
    this.forgottenBelow = 0; // ids <= this were evicted from `seen`: treat as seen
  }

  hasSeen(id) {
    return id <= this.forgottenBelow || this.seen.has(id);
  }

  /** A device record, created from whatever fields are known. */
  ensureDevice(id, fields = {}) {
    let dev = this.devices.get(id);
    if (!dev) {
      dev = {
        id, name: null, user: null, device: null, displayName: null, tid: null, online: null,
        // heardUnix: server time the device was last heard from (the API's
        // last_seen, a live location's received_at); fixUnix: the newest
        // fix time the phone reported. A late or imported fix moves only
        // fixUnix: a 2017 fix sent now is "heard just now, fix of 2017".
        heardUnix: null, fixUnix: null, last: null, track: [], transition: null, statusUnix: 0, placeholderId: null,
      };
      this.devices.set(id, dev);
    }
    if (typeof fields.device_name === 'string') dev.name = fields.device_name;
    if (typeof fields.user === 'string') dev.user = fields.user;
    if (typeof fields.display_name === 'string') dev.displayName = fields.display_name;
    if (typeof fields.tid === 'string') dev.tid = fields.tid;
    if (dev.name === null) dev.name = `device ${id}`;
    return dev;
  }

  /**
   * Apply one GET /api/devices/ entry. Its last_location only places a device
   * that has no points yet: it does not count as seen and does not move
   * highestId (that would make the next since_id skip rows in between).
   */
  applyDevice(d) {
    if (!d || !Number.isSafeInteger(d.id)) return null;
    const dev = this.ensureDevice(d.id, d);
    if (d.display_name === null) dev.displayName = null;
    if (typeof d.device === 'string') dev.device = d.device;
    if (typeof d.online === 'boolean') dev.online = d.online;
    const ls = num(d.last_seen_unix);
    if (ls !== null && (dev.heardUnix === null || ls > dev.heardUnix)) dev.heardUnix = ls;
    const last = normalizeLocation(d.last_location);
    if (last && !dev.last) {
      dev.last = last;
      dev.track = [last];
      dev.placeholderId = last.id;
    }
    if (last && last.ts && (dev.fixUnix === null || last.ts > dev.fixUnix)) dev.fixUnix = last.ts;
    return dev;
  }

  /**
   * Add a location. Returns { added, loc, device, reason }. `live` marks
   * locations that arrived now (WebSocket, polling, catch-up): they mark the
   * device online.
   */
  addLocation(raw, { live = true } = {}) {
    const loc = normalizeLocation(raw);
    if (!loc) return { added: false, reason: 'invalid' };
    if (this.hasSeen(loc.id)) return { added: false, reason: 'duplicate' };
    this.seen.add(loc.id);
    if (this.seen.size > this.seenLimit) this._forget();
    if (loc.id > this.highestId) this.highestId = loc.id;

    const dev = this.ensureDevice(loc.device, loc);
    if (dev.placeholderId !== null) {
      // the device list's last location: replaced by real points
      dev.track = dev.track.filter((l) => l.id !== dev.placeholderId);
      if (dev.last && dev.last.id === dev.placeholderId && dev.track.length === 0) dev.last = null;
      dev.placeholderId = null;
    }
    insertSorted(dev.track, loc, byTime);
    if (dev.track.length > this.trackLength) dev.track.splice(0, dev.track.length - this.trackLength);
    if (!dev.last || byTime(dev.last, loc) < 0) dev.last = loc;
    if (loc.ts && (dev.fixUnix === null || loc.ts > dev.fixUnix)) dev.fixUnix = loc.ts;
    // history may hold imported rows (received at the import): only live ones are news
    const rx = live ? receivedUnix(loc) : null;
    if (rx !== null && (dev.heardUnix === null || rx > dev.heardUnix)) dev.heardUnix = rx;
    if (live && loc.ts >= dev.statusUnix) dev.online = true;
    this._addToPanel(loc);
    return { added: true, loc, device: dev };
  }

  _panelWants(id) {
    return this.activity.length < this.panelSize || id > this.activity[this.activity.length - 1].id;
  }

  _addToPanel(loc) {
    if (!this._panelWants(loc.id)) return;
    insertSorted(this.activity, loc, (a, b) => b.id - a.id);
    if (this.activity.length > this.panelSize) this.activity.length = this.panelSize;
  }

  _forget() {
    // ids mostly arrive ascending: drop the smallest half and remember the bound
    const ids = [...this.seen].sort((a, b) => a - b);
    const drop = ids.slice(0, ids.length >> 1);
    for (const id of drop) this.seen.delete(id);
    this.forgottenBelow = Math.max(this.forgottenBelow, drop[drop.length - 1] ?? 0);
  }

  /** A device_status event: online/offline. */
  applyStatus(d) {
    if (!d || !Number.isSafeInteger(d.device)) return null;
    const dev = this.ensureDevice(d.device, d);
    const ts = num(d.timestamp_unix) ?? 0;
    if (ts < dev.statusUnix) return dev; // older than what we know
    dev.statusUnix = ts;
    if (typeof d.online === 'boolean') dev.online = d.online;
    // not "heard": going offline (a closed connection, the HTTP window) is no news from the phone
    return dev;
  }

  /** A card event: display name and tracker id. */
  applyCard(d) {
    if (!d || !Number.isSafeInteger(d.device)) return null;
    const dev = this.ensureDevice(d.device, d);
    if (typeof d.display_name === 'string') dev.displayName = d.display_name;
    return dev;
  }

  /**
   * A deleted event ({"type":"deleted"}): drop the fix with that id, the
   * fixes with from <= ts <= to, or (all) the whole device. Returns the
   * device id it changed, or null.
   */
  applyDeleted(d) {
    if (!d || !Number.isSafeInteger(d.device)) return null;
    const dev = this.devices.get(d.device);
    let gone;
    if (d.all === true) gone = () => true;
    else if (Number.isSafeInteger(d.id)) gone = (l) => l.id === d.id;
    else if (Number.isFinite(d.from) && Number.isFinite(d.to)) gone = (l) => l.ts >= d.from && l.ts <= d.to;
    else return null;
    this.activity = this.activity.filter((l) => l.device !== d.device || !gone(l));
    if (!dev) return null;
    if (d.all === true) {
      this.devices.delete(d.device);
      return d.device;
    }
    dev.track = dev.track.filter((l) => !gone(l));
    if (dev.last && gone(dev.last)) dev.last = dev.track.length ? dev.track[dev.track.length - 1] : null;
    return d.device;
  }

  /** A transition event: remembered as the device's latest region event. */
  applyTransition(d) {
    if (!d || !Number.isSafeInteger(d.device)) return null;
    const dev = this.ensureDevice(d.device, d);
    const ts = num(d.timestamp_unix) ?? 0;
    if (!dev.transition || ts >= dev.transition.ts) {
      dev.transition = { event: String(d.event ?? ''), desc: d.desc == null ? '' : String(d.desc), ts };
    }
    return dev;
  }
}
