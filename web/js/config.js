// config.js: the live map's settings and the URLs it talks to.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Runs in the browser and under `node --test`; no DOM.

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
