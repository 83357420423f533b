// Unit tests: configuration and URLs (web/js/config.js), formatting
// (web/js/format.js) and status texts (web/js/client.js).
// Part of mytracks. SPDX-License-Identifier: MIT
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULTS, parseConfig, backoffDelay, backoffSchedule, wsUrl, locationsUrl,
} from '../../web/js/config.js';
import {
  formatPosition, formatAccuracy, formatSpeed, formatBattery, formatConnection, formatTime,
  formatAgo, deviceColor, deviceLabel,
} from '../../web/js/format.js';
import { statusText } from '../../web/js/client.js';

test('backoff doubles from the base delay: 1, 2, 4, 8, 16 s', () => {
  assert.deepEqual(backoffSchedule(1000, 5), [1000, 2000, 4000, 8000, 16000]);
  assert.deepEqual(backoffSchedule(100, 5), [100, 200, 400, 800, 1600]);
  assert.equal(backoffDelay(1, 250), 250);
  assert.equal(backoffDelay(3, 250), 1000);
  assert.equal(backoffDelay(0, 250), 0);
  assert.equal(DEFAULTS.maxAttempts, 5);
  assert.equal(DEFAULTS.pollMs, 2000);
});

test('query parameters configure the timings; bad values are ignored', () => {
  const c = parseConfig('?backoff_ms=100&poll_ms=500&ws_retry_ms=2000&history=50');
  assert.equal(c.backoffMs, 100);
  assert.equal(c.pollMs, 500);
  assert.equal(c.wsRetryMs, 2000);
  assert.equal(c.historyLimit, 50);
  assert.equal(c.maxAttempts, 5);
  const bad = parseConfig('?backoff_ms=abc&poll_ms=-5&ws_retry_ms=&history=99999');
  assert.equal(bad.backoffMs, DEFAULTS.backoffMs);
  assert.equal(bad.pollMs, DEFAULTS.pollMs);
  assert.equal(bad.wsRetryMs, DEFAULTS.wsRetryMs);
  assert.equal(bad.historyLimit, 1000, 'history is capped at the API maximum');
  const g = parseConfig('?poll_ms=300', { pollMs: 700, backoffMs: 50, bogus: 1 });
  assert.equal(g.pollMs, 300, 'the query string wins over the global');
  assert.equal(g.backoffMs, 50);
  assert.equal(g.bogus, undefined);
});

test('the WebSocket URL follows the page scheme and host', () => {
  assert.equal(wsUrl({ protocol: 'http:', host: '127.0.0.1:8080' }), 'ws://127.0.0.1:8080/ws/locations/');
  assert.equal(wsUrl({ protocol: 'https:', host: 'maps.example.org' }), 'wss://maps.example.org/ws/locations/');
});

test('locations URL', () => {
  assert.equal(locationsUrl({ since_id: 42, limit: 1000 }), '/api/locations/?since_id=42&limit=1000');
  assert.equal(locationsUrl({}), '/api/locations/');
  assert.equal(locationsUrl({ since_id: 0, device: 'a/b' }), '/api/locations/?since_id=0&device=a%2Fb');
});

test('positions have exactly six decimals; missing values show a dash', () => {
  assert.equal(formatPosition('37.774900', '-122.419400'), '37.774900, -122.419400');
  assert.equal(formatPosition(52.5, 13.4049541), '52.500000, 13.404954');
  assert.equal(formatPosition(null, 1), '—');
  assert.equal(formatAccuracy(10), '±10 m');
  assert.equal(formatAccuracy(null), '—');
  assert.equal(formatSpeed(5), '5 km/h');
  assert.equal(formatSpeed(undefined), '—');
  assert.equal(formatBattery(85), '85%');
  assert.equal(formatBattery(0), '0%');
  assert.equal(formatConnection('w'), 'WiFi');
  assert.equal(formatConnection('m'), 'Mobile');
  assert.equal(formatConnection('o'), 'Offline');
  assert.equal(formatConnection(null), '—');
});

test('times: clock time today, date otherwise; ages are relative', () => {
  const now = Date.UTC(2024, 0, 15, 15, 0, 0);
  assert.equal(formatTime(1705329000, now, { utc: true }), '14:30:00');
  assert.equal(formatTime(1705329000 - 86400, now, { utc: true }), '2024-01-14 14:30');
  assert.equal(formatTime(null, now), '—');
  assert.equal(formatAgo(now / 1000 - 2, now), 'just now');
  assert.equal(formatAgo(now / 1000 - 42, now), '42 s ago');
  assert.equal(formatAgo(now / 1000 - 300, now), '5 min ago');
  assert.equal(formatAgo(now / 1000 - 3 * 3600, now), '3 h ago');
  assert.equal(formatAgo(now / 1000 - 2 * 86400, now), '2 d ago');
  assert.equal(formatAgo(null, now), 'never');
});

test('device colours are stable per device and far apart for neighbouring ids', () => {
  assert.equal(deviceColor(1), deviceColor(1));
  assert.equal(deviceColor('alice/phone'), deviceColor('alice/phone'));
  assert.match(deviceColor(7), /^hsl\(\d+, 70%, \d+%\)$/);
  const hue = (c) => Number(/hsl\((\d+)/.exec(c)[1]);
  const dist = (a, b) => Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
  for (let i = 1; i <= 6; i++) {
    for (let j = i + 1; j <= 6; j++) {
      assert.ok(dist(hue(deviceColor(i)), hue(deviceColor(j))) >= 20, `devices ${i} and ${j}: ${deviceColor(i)} vs ${deviceColor(j)}`);
    }
  }
  assert.notEqual(deviceColor('alice/phone'), deviceColor('bob/car'));
});

test('labels prefer the card display name', () => {
  assert.equal(deviceLabel({ id: 1, name: 'alice/phone', displayName: null }), 'alice/phone');
  assert.equal(deviceLabel({ id: 1, name: 'alice/phone', displayName: 'Alice' }), 'Alice');
  assert.equal(deviceLabel({ id: 1, name: 'alice/phone', displayName: '  ' }), 'alice/phone');
});

test('status texts', () => {
  assert.equal(statusText('live'), 'Live');
  assert.equal(statusText('reconnecting', 3, 5), 'Reconnecting (attempt 3 of 5)');
  assert.equal(statusText('polling'), 'Polling');
  assert.equal(statusText('offline'), 'Offline');
});
