// view.js: what the page shows, as data: device rows, their texts, and
// which parts of the page a LiveClient event makes stale.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Pure functions and one small reducer, no DOM: app.js turns their
// results into elements (text only), tests/web-unit/view.test.mjs checks
// them under Node.

import {
  deviceLabel, formatAccuracy, formatAgo, formatBattery, formatConnection, formatPosition,
  formatSpeed, formatTime,
} from './format.js';
import { receivedUnix } from './store.js';

/** Devices in list order: by label (locale order), then by id. */
export function sortDevices(devices) {
  return [...devices].sort((a, b) => deviceLabel(a).localeCompare(deviceLabel(b)) || a.id - b.id);
}

/** 'online', 'offline' or 'unknown' (no device_status seen yet). */
export function deviceState(dev) {
  if (dev.online === true) return 'online';
  if (dev.online === false) return 'offline';
  return 'unknown';
}

// a fix this far from the receive time is shown apart (seconds)
const FIX_APART_S = 120;

/**
 * When the device was last heard from and, if it differs, how old its
 * newest fix is: "last heard 49 s ago · fix of 2017-05-18 08:19". The two
 * are never mixed: a fix sent late or imported is not "last heard".
 */
export function seenText(dev, nowMs = Date.now()) {
  const heard = Number.isFinite(dev.heardUnix) ? dev.heardUnix : null;
  const fix = Number.isFinite(dev.fixUnix) ? dev.fixUnix : null;
  if (heard === null && fix === null) return 'never heard from';
  if (heard === null) return `fix of ${formatTime(fix, nowMs)}`;
  const h = `last heard ${formatAgo(heard, nowMs)}`;
  if (fix === null || Math.abs(heard - fix) <= FIX_APART_S) return h;
  return `${h} · fix of ${formatTime(fix, nowMs)}`;
}

/** The grey line under a device's name: "alice/phone · tid AP · last heard 5 min ago". */
export function deviceMeta(dev, nowMs) {
  const parts = [];
  if (deviceLabel(dev) !== dev.name) parts.push(dev.name);
  if (dev.tid) parts.push(`tid ${dev.tid}`);
  parts.push(seenText(dev, nowMs));
  return parts.join(' · ');
}

/** "entered Home · 14:30:05" for a device's last region event, or null. */
export function transitionText(dev, nowMs) {
  const t = dev.transition;
  if (!t) return null;
  const verbs = { enter: 'entered', leave: 'left' };
  const verb = verbs[t.event] || t.event;
  return `${verb} ${t.desc || 'a region'} · ${formatTime(t.ts, nowMs)}`;
}

/** The rows of a location's popup, [label, text] pairs. */
export function popupPairs(dev, loc, nowMs = Date.now()) {
  const pairs = [
    ['Device', dev.name],
    ['Fix time', formatTime(loc.ts, nowMs)],
    ['Position', formatPosition(loc.lat, loc.lon)],
    ['Accuracy', formatAccuracy(loc.accuracy)],
    ['Speed', formatSpeed(loc.velocity)],
    ['Battery', formatBattery(loc.battery_level)],
    ['Connection', formatConnection(loc.connection_type)],
  ];
  // the server's receive time, when it says something the fix time does not
  const rx = receivedUnix(loc);
  if (rx !== null && Math.abs(rx - loc.ts) > FIX_APART_S) pairs.splice(2, 0, ['Received', formatTime(rx, nowMs)]);
  if (loc.altitude !== null && loc.altitude !== undefined) pairs.push(['Altitude', `${loc.altitude} m`]);
  if (typeof loc.ssid === 'string' && loc.ssid) pairs.push(['SSID', loc.ssid]);
  const regions = Array.isArray(loc.inregions) ? loc.inregions.filter((r) => typeof r === 'string' && r) : [];
  if (regions.length) pairs.push(['Regions', regions.join(', ')]);
  if (typeof loc.poi === 'string' && loc.poi) pairs.push(['POI', loc.poi]);
  if (dev.online !== null && dev.online !== undefined) pairs.push(['Status', dev.online ? 'online' : 'offline']);
  return pairs;
}

/** The second line of a Live Activity row, [field, text] pairs. */
export function activityFields(loc) {
  return [
    ['pos', formatPosition(loc.lat, loc.lon)],
    ['acc', formatAccuracy(loc.accuracy)],
    ['speed', formatSpeed(loc.velocity)],
    ['batt', `batt ${formatBattery(loc.battery_level)}`],
  ];
}

/**
 * What the next render must redraw, built up from LiveClient events:
 *  - dirty: devices whose marker and track changed,
 *  - devicesChanged: the device list needs rebuilding,
 *  - fresh: location ids that just arrived live (highlighted once),
 *  - follow: the position to bring into view (the newest device position
 *    of the batch, not every fix), or null,
 *  - fitted: the map has been fitted to all devices since the last reset.
 * The app consumes these in render() and calls done().
 */
export class RenderPlan {
  constructor() {
    this.dirty = new Set();
    this.devicesChanged = true;
    this.fresh = new Set();
    this.follow = null;
    this.fitted = false;
  }

  /**
   * Apply one LiveClient event. `drawn(id)` says whether a device already
   * has a marker; `following` whether the map follows new positions.
   * Returns true when something must be rendered.
   */
  apply(kind, detail, store, { drawn = () => true, following = true } = {}) {
    switch (kind) {
      case 'reset':
        // re-fit after a reload only if the user has not panned away
        this.fitted = !following;
        this.fresh.clear();
        this.follow = null;
        this._allDirty(store);
        return true;
      case 'locations': {
        const added = (detail && detail.added) || [];
        for (const loc of added) {
          if (!store.devices.has(loc.device) || !drawn(loc.device)) this.devicesChanged = true;
          this.dirty.add(loc.device);
          if (detail.live) this.fresh.add(loc.id);
        }
        if (detail.live && added.length) {
          const newest = added.reduce((a, b) => (b.id > a.id ? b : a));
          const dev = store.devices.get(newest.device);
          // the device's current position: a late, older fix does not pull the map back
          if (dev && dev.last) this.follow = dev.last;
        }
        return added.length > 0;
      }
      case 'devices':
      case 'transition':
      case 'deleted':
        this._allDirty(store);
        return true;
      default:
        return false;
    }
  }

  _allDirty(store) {
    this.devicesChanged = true;
    for (const id of store.devices.keys()) this.dirty.add(id);
  }

  /** After a render: nothing is stale any more. */
  done() {
    this.dirty.clear();
    this.fresh.clear();
    this.follow = null;
    this.devicesChanged = false;
  }
}

/** Pixels from the map's edge inside which a device counts as out of view. */
export const FIT_MARGIN = 20;

/**
 * Whether some of `points` (map container pixels, {x, y}) lie within
 * `margin` of the edge of a map `size` ({x, y}) pixels large, or beyond.
 */
export function needsFit(points, size, margin = FIT_MARGIN) {
  return points.some((p) => !(p.x >= margin && p.y >= margin && p.x <= size.x - margin && p.y <= size.y - margin));
}

/**
 * What the live map does after a render, as data:
 *  - 'fit': fit every device (the first sight, or a device near or past
 *    the edge while the map follows all devices),
 *  - 'pan': bring the followed device (`focused`) to the middle,
 *  - null: leave the map alone (the user moved it, or all is in view).
 * `follow`: the map follows new positions (the user has not moved it
 * since they last asked); `fitted`: fitted once since the last reset;
 * `changed`: device positions changed in this render; `newest`: the
 * newest live position ({device}) or null; `points`/`size`: the devices'
 * positions and the map's size in container pixels.
 */
export function viewAction({ follow, focused = null, fitted, changed, newest = null, points, size, margin = FIT_MARGIN }) {
  if (!follow || !points.length) return null;
  if (focused !== null) return newest && newest.device === focused ? 'pan' : null;
  if (!fitted) return 'fit';
  return changed && needsFit(points, size, margin) ? 'fit' : null;
}
