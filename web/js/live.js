// live.js: the live map's logic, with no DOM and no map.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Everything here runs in the browser and under `node --test`:
//   - configuration from the page's query string,
//   - formatting helpers (positions, speeds, times),
//   - Store: devices, bounded tracks, the bounded Live Activity list,
//     de-duplication by location id and the highest id seen,
//   - LiveClient: the connection state machine (initial HTTP fetch,
//     WebSocket, exponential backoff, polling fallback, background retry,
//     catch-up after every reconnect, server-restart detection).
// Browser objects (fetch, WebSocket, timers) are passed in, so tests can
// drive the state machine with fakes.

export const DEFAULTS = Object.freeze({
  backoffMs: 1000,     // first reconnect delay; doubles per attempt
  maxAttempts: 5,      // reconnect attempts before falling back to polling
  pollMs: 2000,        // polling interval
  wsRetryMs: 60000,    // background WebSocket retry while polling
  stableMs: 5000,      // an open socket with no message counts as working after this
  historyLimit: 500,   // locations fetched on load / after a server restart
  pageLimit: 1000,     // page size for since_id catch-up
  maxPages: 20,        // catch-up pages before giving up and refreshing instead
  devicesEveryPolls: 5,// refetch the device list every N polls
  panelSize: 100,      // Live Activity rows
  trackLength: 500,    // points per device track
});

const PARAMS = {
  backoff_ms: 'backoffMs', max_attempts: 'maxAttempts', poll_ms: 'pollMs',
  ws_retry_ms: 'wsRetryMs', stable_ms: 'stableMs', history: 'historyLimit',
  panel: 'panelSize', track: 'trackLength',
};

/**
 * Configuration from a query string ("?backoff_ms=100&poll_ms=500") and an
 * optional override object (window.MYTRACKS_CONFIG). Bad values are ignored.
 */
export function parseConfig(search = '', overrides = {}) {
  const cfg = { ...DEFAULTS };
  const apply = (key, value) => {
    const n = Number(value);
    if (Object.prototype.hasOwnProperty.call(DEFAULTS, key) && Number.isFinite(n) && n >= 0 && value !== '' && value !== null) {
      cfg[key] = Math.floor(n);
    }
  };
  for (const [k, v] of Object.entries(overrides || {})) apply(k, v);
  const q = new URLSearchParams(search);
  for (const [param, key] of Object.entries(PARAMS)) {
    if (q.has(param)) apply(key, q.get(param));
  }
  if (cfg.panelSize < 1) cfg.panelSize = 1;
  if (cfg.trackLength < 1) cfg.trackLength = 1;
  if (cfg.historyLimit < 1) cfg.historyLimit = 1;
  if (cfg.historyLimit > 1000) cfg.historyLimit = 1000;
  return cfg;
}

/** Delay before reconnect attempt n (1-based): base, 2·base, 4·base, … */
export function backoffDelay(attempt, baseMs = DEFAULTS.backoffMs) {
  if (!(attempt >= 1)) return 0;
  return baseMs * 2 ** (attempt - 1);
}

/** The whole reconnect schedule, e.g. [1000, 2000, 4000, 8000, 16000]. */
export function backoffSchedule(baseMs = DEFAULTS.backoffMs, attempts = DEFAULTS.maxAttempts) {
  return Array.from({ length: attempts }, (_, i) => backoffDelay(i + 1, baseMs));
}

/** ws(s)://<host>/ws/locations/ for a page location (scheme follows the page). */
export function wsUrl(loc) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/locations/`;
}

export function locationsUrl(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return `/api/locations/${s ? `?${s}` : ''}`;
}

// ---------------------------------------------------------------- formatting

const DASH = '—';

function num(v) {
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

// ---------------------------------------------------------------- data

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
        lastSeenUnix: null, last: null, track: [], transition: null, statusUnix: 0, placeholderId: null,
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
    if (ls !== null && (dev.lastSeenUnix === null || ls > dev.lastSeenUnix)) dev.lastSeenUnix = ls;
    const last = normalizeLocation(d.last_location);
    if (last && !dev.last) {
      dev.last = last;
      dev.track = [last];
      dev.placeholderId = last.id;
    }
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
    if (dev.lastSeenUnix === null || loc.ts > dev.lastSeenUnix) dev.lastSeenUnix = loc.ts;
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
    if (ts && (dev.lastSeenUnix === null || ts > dev.lastSeenUnix)) dev.lastSeenUnix = ts;
    return dev;
  }

  /** A card event: display name and tracker id. */
  applyCard(d) {
    if (!d || !Number.isSafeInteger(d.device)) return null;
    const dev = this.ensureDevice(d.device, d);
    if (typeof d.display_name === 'string') dev.displayName = d.display_name;
    return dev;
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

// ---------------------------------------------------------------- connection

export const STATUS = Object.freeze({
  CONNECTING: 'connecting', LIVE: 'live', RECONNECTING: 'reconnecting', POLLING: 'polling', OFFLINE: 'offline',
});

/** The status indicator's text. */
export function statusText(status, attempt = 0, maxAttempts = DEFAULTS.maxAttempts) {
  switch (status) {
    case STATUS.LIVE: return 'Live';
    case STATUS.RECONNECTING: return `Reconnecting (attempt ${attempt} of ${maxAttempts})`;
    case STATUS.POLLING: return 'Polling';
    case STATUS.OFFLINE: return 'Offline';
    default: return 'Connecting…';
  }
}

/**
 * The connection state machine.
 *
 *   start() ─► fetch devices + history ─► open WebSocket
 *   open     ─► Live; fetch since_id=<highest> (catch-up)
 *   message  ─► the connection counts as working (attempts reset)
 *   close    ─► Reconnecting (attempt n) after backoffDelay(n), n = 1..max
 *            ─► after max failed attempts: Polling every pollMs (Offline while
 *               polls fail) and a background WebSocket try every wsRetryMs
 *   welcome  ─► a different server_startup than before: reload history
 *
 * deps: fetchJson(url) → Promise<json>, createSocket(url) → WebSocket-like,
 * setTimer(fn, ms) / clearTimer(id), onEvent(kind, detail), log(...).
 */
export class LiveClient {
  constructor({ config = DEFAULTS, store, url, fetchJson, createSocket, setTimer, clearTimer, onEvent = () => {}, log = () => {} }) {
    this.cfg = { ...DEFAULTS, ...config };
    this.store = store || new Store(this.cfg);
    this.url = url;
    this.fetchJson = fetchJson;
    this.createSocket = createSocket;
    this.setTimer = setTimer || ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = clearTimer || ((id) => clearTimeout(id));
    this.onEvent = onEvent;
    this.log = log;

    this.status = STATUS.CONNECTING;
    this.statusLog = [];        // the last 50 status texts, oldest first
    this.attempt = 0;
    this.socket = null;
    this.serverStartup = null;
    this.generation = 0;      // bumped on reset: results of older fetches are dropped
    this.historyLoaded = false;
    this.polling = false;
    this.pollCount = 0;
    this.timers = { reconnect: null, poll: null, retry: null, stable: null };
    this.stopped = false;
    this.counters = { opened: 0, closed: 0, messages: 0, polls: 0, pollFailures: 0, catchUps: 0, resets: 0 };
  }

  // -- status

  setStatus(status) {
    if (this.status === status && status !== STATUS.RECONNECTING) return;
    this.status = status;
    const text = statusText(status, this.attempt, this.cfg.maxAttempts);
    this.statusLog.push(text);
    if (this.statusLog.length > 50) this.statusLog.shift();
    this.onEvent('status', { status, attempt: this.attempt, text: statusText(status, this.attempt, this.cfg.maxAttempts) });
  }

  _timer(name, fn, ms) {
    this._clear(name);
    this.timers[name] = this.setTimer(() => { this.timers[name] = null; if (!this.stopped) fn(); }, ms);
  }

  _clear(name) {
    if (this.timers[name] !== null) { this.clearTimer(this.timers[name]); this.timers[name] = null; }
  }

  // -- lifecycle

  async start() {
    this.setStatus(STATUS.CONNECTING);
    await this.loadHistory();
    if (!this.stopped) this.connect('initial');
  }

  stop() {
    this.stopped = true;
    for (const k of Object.keys(this.timers)) this._clear(k);
    this.polling = false;
    const s = this.socket;
    this.socket = null;
    if (s) { try { s.close(); } catch { /* closed */ } }
  }

  // -- HTTP

  /** Devices, then the latest historyLimit locations. Returns true on success. */
  async loadHistory() {
    const gen = this.generation;
    try {
      const [devices, history] = await Promise.all([
        this.fetchJson('/api/devices/'),
        this.fetchJson(locationsUrl({ limit: this.cfg.historyLimit })),
      ]);
      if (gen !== this.generation || this.stopped) return false;
      this.applyLocations(history && history.results, { live: false });
      this.applyDevices(devices);
      this.historyLoaded = true;
      this.onEvent('history', { count: (history && history.results || []).length });
      return true;
    } catch (e) {
      this.log('history fetch failed:', e && e.message ? e.message : e);
      return false;
    }
  }

  async refreshDevices() {
    const gen = this.generation;
    try {
      const devices = await this.fetchJson('/api/devices/');
      if (gen === this.generation) this.applyDevices(devices);
      return true;
    } catch (e) {
      this.log('devices fetch failed:', e && e.message ? e.message : e);
      return false;
    }
  }

  applyDevices(body) {
    const list = body && Array.isArray(body.results) ? body.results : [];
    for (const d of list) this.store.applyDevice(d);
    this.onEvent('devices', { count: list.length });
  }

  applyLocations(list, { live = true } = {}) {
    if (!Array.isArray(list)) return [];
    const added = [];
    for (const raw of list) {
      const r = this.store.addLocation(raw, { live });
      if (r.added) added.push(r.loc);
    }
    if (added.length) this.onEvent('locations', { added, live });
    return added;
  }

  /**
   * Everything after the highest id seen, page by page (has_more /
   * next_since_id). Throws when a request fails. Returns the number added.
   */
  async fetchSince() {
    const gen = this.generation;
    let since = this.store.highestId;
    let total = 0;
    for (let page = 0; page < this.cfg.maxPages; page++) {
      const body = await this.fetchJson(locationsUrl({ since_id: since, limit: this.cfg.pageLimit }));
      if (gen !== this.generation || this.stopped) return total;
      total += this.applyLocations(body && body.results, { live: true }).length;
      if (!body || !body.has_more) return total;
      const next = Number.isSafeInteger(body.next_since_id) ? body.next_since_id : this.store.highestId;
      if (next <= since) return total; // no progress: stop rather than loop
      since = next;
    }
    // far behind: a fresh view of the latest history beats paging on
    this.resetAndReload('too far behind');
    return total;
  }

  async catchUp() {
    this.counters.catchUps++;
    try {
      if (!this.historyLoaded) await this.loadHistory();
      else {
        await Promise.all([this.fetchSince(), this.refreshDevices()]);
      }
    } catch (e) {
      this.log('catch-up failed:', e && e.message ? e.message : e);
    }
  }

  /** Forget everything and load the latest history again (server restarted). */
  resetAndReload(why) {
    this.generation++;
    this.counters.resets++;
    this.store.clear();
    this.historyLoaded = false;
    this.onEvent('reset', { why });
    return this.loadHistory();
  }

  // -- WebSocket

  connect(kind) {
    if (this.stopped) return;
    this._clear('reconnect');
    let ws;
    try {
      ws = this.createSocket(this.url);
    } catch (e) {
      this.log('WebSocket creation failed:', e && e.message ? e.message : e);
      this._afterClose(kind, false);
      return;
    }
    this.socket = ws;
    const st = { open: false, stable: false, done: false };
    ws.onopen = () => {
      if (this.socket !== ws) return;
      st.open = true;
      this.counters.opened++;
      this._stopPolling();
      this.setStatus(STATUS.LIVE);
      this._timer('stable', () => { if (this.socket === ws) this._markStable(st); }, this.cfg.stableMs);
      this.catchUp();
    };
    ws.onmessage = (ev) => {
      if (this.socket !== ws) return;
      this.counters.messages++;
      this._markStable(st);
      this.handleMessage(ev.data);
    };
    const closed = () => {
      if (st.done) return;
      st.done = true;
      if (this.socket !== ws) return;
      this.socket = null;
      this.counters.closed++;
      this._clear('stable');
      this._afterClose(kind, st.stable);
    };
    ws.onclose = closed;
    ws.onerror = () => {
      // a close event follows an error; close() makes sure of it
      try { ws.close(); } catch { /* closed */ }
      // some implementations never fire close after a failed handshake
      this.setTimer(closed, 0);
    };
  }

  _markStable(st) {
    if (st.stable) return;
    st.stable = true;
    this.attempt = 0;
  }

  _afterClose(kind, wasStable) {
    if (this.stopped) return;
    if (wasStable) this.attempt = 0;
    // a background try during polling that did not stick: keep polling
    if (kind === 'retry' && !wasStable) { this._startPolling(); return; }
    this._reconnectNext();
  }

  _reconnectNext() {
    if (this.attempt >= this.cfg.maxAttempts) { this._startPolling(); return; }
    this.attempt++;
    this.setStatus(STATUS.RECONNECTING);
    this._timer('reconnect', () => this.connect('reconnect'), backoffDelay(this.attempt, this.cfg.backoffMs));
  }

  // -- polling

  _startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.pollCount = 0;
    this.setStatus(STATUS.POLLING);
    this._poll();
    this._timer('retry', () => this._retryWs(), this.cfg.wsRetryMs);
  }

  _stopPolling() {
    this.polling = false;
    this._clear('poll');
    this._clear('retry');
  }

  _retryWs() {
    if (!this.polling || this.socket) return;
    this.connect('retry');
    // if this try fails, _afterClose → _startPolling is a no-op (still polling): schedule the next try
    this._timer('retry', () => this._retryWs(), this.cfg.wsRetryMs);
  }

  async _poll() {
    if (!this.polling || this.stopped) return;
    this.counters.polls++;
    this.pollCount++;
    try {
      if (!this.historyLoaded) {
        if (!(await this.loadHistory())) throw new Error('history unavailable');
      } else {
        await this.fetchSince();
        if (this.pollCount % this.cfg.devicesEveryPolls === 0) await this.refreshDevices();
      }
      if (this.polling) this.setStatus(STATUS.POLLING);
    } catch (e) {
      this.counters.pollFailures++;
      this.log('poll failed:', e && e.message ? e.message : e);
      if (this.polling) this.setStatus(STATUS.OFFLINE);
    }
    if (this.polling && !this.stopped) this._timer('poll', () => this._poll(), this.cfg.pollMs);
  }

  // -- messages

  handleMessage(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return null; }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return null;
    const d = msg.data;
    switch (msg.type) {
      case 'welcome': {
        const su = msg.server_startup;
        const prev = this.serverStartup;
        this.serverStartup = su;
        if (prev !== null && su !== prev) this.resetAndReload('server restarted');
        this.onEvent('welcome', { serverStartup: su, restarted: prev !== null && su !== prev });
        return 'welcome';
      }
      case 'location':
        this.applyLocations([d], { live: true });
        return 'location';
      case 'device_status':
        if (this.store.applyStatus(d)) this.onEvent('devices', { status: d });
        return 'device_status';
      case 'card':
        if (this.store.applyCard(d)) this.onEvent('devices', { card: d });
        return 'card';
      case 'transition':
        if (this.store.applyTransition(d)) this.onEvent('transition', d);
        return 'transition';
      default:
        return null; // unknown types are ignored
    }
  }

  /** A read-only summary for tests and debugging (window.mytracks). */
  snapshot() {
    return Object.freeze({
      status: this.status,
      statusText: statusText(this.status, this.attempt, this.cfg.maxAttempts),
      attempt: this.attempt,
      highestId: this.store.highestId,
      serverStartup: this.serverStartup,
      devices: this.store.devices.size,
      activity: this.store.activity.length,
      activityIds: this.store.activity.map((l) => l.id),
      polling: this.polling,
      statusLog: [...this.statusLog],
      counters: { ...this.counters },
    });
  }
}
