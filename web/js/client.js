// client.js: the live map's connection state machine.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Initial HTTP fetch, WebSocket, exponential backoff, polling fallback,
// background retry, catch-up after every reconnect, server-restart
// detection. Browser objects (fetch, WebSocket, timers) are passed in, so
// tests drive it with fakes.

import { DEFAULTS, backoffDelay, locationsUrl } from './config.js';
import { Store } from './store.js';

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
      case 'deleted': {
        const id = this.store.applyDeleted(d);
        if (id !== null || (d && Number.isSafeInteger(d.device))) this.onEvent('deleted', d);
        return 'deleted';
      }
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
      historyLoaded: this.historyLoaded,
      devices: this.store.devices.size,
      activity: this.store.activity.length,
      activityIds: this.store.activity.map((l) => l.id),
      polling: this.polling,
      armedTimers: Object.keys(this.timers).filter((k) => this.timers[k] !== null),
      statusLog: [...this.statusLog],
      counters: { ...this.counters },
    });
  }
}
