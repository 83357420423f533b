// Browser test: the history mode (issue 13) against the real broker,
// plugin and bridge. Pick a past day and see its track and distance, the
// bad-fix toggle (on by default from --hide-accuracy-over) hides a planted
// outlier, points open their details as text, the slider moves the marker,
// previous day, export links return the right content types, and back in
// Live a new location still appears without a reload.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, stopAll } from '../lib/harness.mjs';
import {
  startStack, launchBrowser, publish, nextTst, waitStatus, deviceId, waitRow, screenshotPath, FAST,
} from './support.mjs';

let stack;
let browser;
let page;
const problems = { pageErrors: [], console: [] };

// 2024-03-10, 10:00 to 11:00 in Berlin (UTC+1): a fix every 2 minutes,
// 0.001 degrees of latitude apart (111 m), 30 steps: 3.34 km
const T0 = Date.UTC(2024, 2, 10, 9, 0, 0) / 1000;
const STEPS = 30;
const OUTLIER = { tst: T0 + 15 * 120 + 60, lat: 53.5, lon: 13.4, acc: 5000 };
const EVIL_DEVICE = '<img src=x onerror=window.pwned=1>';

async function historyState() {
  return page.evaluate(() => window.mytracks.history());
}

/** Wait for the history request in flight to be drawn. */
async function waitHistory() {
  await page.waitForFunction(() => {
    const h = window.mytracks.history();
    return !h.loading && h.summary !== 'Loading…' && h.summary !== '';
  }, null, { timeout: 15000 });
  return historyState();
}

/** Close the open popup and wait until Leaflet has removed it (it fades out
 * for 200 ms, so a popup opened just after would otherwise be the second). */
async function closePopup() {
  await page.keyboard.press('Escape');
  await page.locator('.leaflet-popup').waitFor({ state: 'detached', timeout: 5000 });
}

before(async () => {
  stack = await startStack({ bridgeArgs: ['--hide-accuracy-over', '100'] });
  for (let i = 0; i <= STEPS; i++) {
    await publish(stack.mqtt, 'alice', 'phone', location({ lat: 52.5 + 0.001 * i, lon: 13.4, tst: T0 + 120 * i, acc: 8, batt: 80, conn: 'w', tid: 'al' }));
  }
  await publish(stack.mqtt, 'alice', 'phone', location({ ...OUTLIER, tid: 'al' }));
  // the day before, one fix far away
  await publish(stack.mqtt, 'alice', 'phone', location({ lat: 48.0, lon: 11.0, tst: T0 - 86400, tid: 'al' }));
  await publish(stack.mqtt, 'mallory', EVIL_DEVICE, location({ lat: 52.49, lon: 13.39, tst: T0 + 600, tid: '<b>' }));
  const want = STEPS + 4;
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await (await fetch(`${stack.bridge.url}/api/locations/?start_time=2024-03-08&end_time=2024-03-12&limit=1000`)).json();
    if (r.results.length >= want) break;
    if (Date.now() > deadline) throw new Error(`history has ${r.results.length} of ${want} locations`);
    await new Promise((res) => setTimeout(res, 50));
  }
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Europe/Berlin', acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (e) => problems.pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_FAILED|WebSocket/.test(m.text())) problems.console.push(m.text());
  });
  await page.route(/^https:\/\/tile\.openstreetmap\.org\//, (r) => r.abort('internetdisconnected'));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

test('pick a past day: its track and distance, bad fixes hidden by default', { timeout: 30000 }, async () => {
  await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  const alice = await deviceId(page, 'alice/phone');
  await page.click('#mode-history');
  assert.equal(await page.isVisible('#history-panel'), true);
  assert.equal(await page.isVisible('#activity-panel'), false);
  await waitHistory(); // today's (empty) track first
  await page.fill('#history-from', '2024-03-10');
  await page.fill('#history-to', '2024-03-10');
  await page.selectOption('#history-device', String(alice));
  const h = await waitHistory();
  // the server's default (--hide-accuracy-over 100) switched the toggle on
  assert.equal(await page.isChecked('#history-hide-bad'), true);
  assert.equal(h.filter.maxAcc, 100);
  const points = (await historyState()).points;
  assert.equal(points.length, STEPS + 1, JSON.stringify(h.summary));
  assert.ok(!points.some((p) => p.ts === OUTLIER.tst), 'the outlier is hidden');
  assert.ok(points.every((p) => p.ts >= T0 && p.ts <= T0 + 120 * STEPS));
  assert.equal(await page.textContent('#history-distance'), '3.34 km');
  assert.match(await page.textContent('#history-summary'), /31 fixes · 3\.34 km · 1 bad fix hidden/);
  // the range asked for is Berlin's day
  assert.deepEqual(h.range, { start: Date.UTC(2024, 2, 9, 23) / 1000, end: Date.UTC(2024, 2, 10, 23) / 1000 - 1 });
  await page.screenshot({ path: screenshotPath('history.png') });
});

test('the toggle shows the outlier again, and the distance with it', { timeout: 20000 }, async () => {
  await page.uncheck('#history-hide-bad');
  const h = await waitHistory();
  assert.equal(h.points.length, STEPS + 2);
  assert.ok(h.points.some((p) => p.ts === OUTLIER.tst));
  const km = Number((await page.textContent('#history-distance')).replace(/ km$/, ''));
  assert.ok(km > 200, `distance with the outlier: ${km} km`);
  await page.check('#history-hide-bad');
  const back = await waitHistory();
  assert.equal(back.points.length, STEPS + 1);
  assert.equal(await page.textContent('#history-distance'), '3.34 km');
});

test('a point opens its details; the slider moves the marker along the track', { timeout: 20000 }, async () => {
  const h = await historyState();
  const target = h.points[10];
  const xy = await page.evaluate(([lat, lon]) => window.mytracks.screenPoint(lat, lon), [target.lat, target.lon]);
  await page.mouse.click(xy.x, xy.y);
  const popup = page.locator('.leaflet-popup .mt-popup');
  await popup.waitFor({ timeout: 5000 });
  const text = await popup.textContent();
  // 09:20Z is 10:20 in Berlin; the day is not today, so the date shows
  assert.match(text, /2024-03-10 10:20/);
  assert.match(text, /±8 m/);
  assert.match(text, /80%/);
  assert.match(text, /WiFi/);
  assert.match(text, /5 km\/h/);
  await closePopup();

  const setSlider = (v) => page.evaluate((value) => {
    const s = document.getElementById('history-slider');
    s.value = String(value);
    s.dispatchEvent(new Event('input', { bubbles: true }));
  }, v);
  await setSlider(1000);
  let m = (await historyState()).marker;
  assert.ok(Math.abs(m.lat - (52.5 + 0.001 * STEPS)) < 1e-6, JSON.stringify(m));
  await setSlider(500); // 10:30 Berlin: the 16th fix
  m = (await historyState()).marker;
  assert.ok(Math.abs(m.lat - 52.515) < 1e-6, JSON.stringify(m));
  assert.match(await page.textContent('#history-time'), /2024-03-10 10:30/);
});

test('previous day and all devices; phone strings stay text', { timeout: 20000 }, async () => {
  await page.click('#history-prev');
  let h = await waitHistory();
  assert.equal(await page.inputValue('#history-from'), '2024-03-09');
  assert.equal(h.points.length, 1);
  assert.equal(h.points[0].lat, 48.0);
  await page.click('#history-next');
  await page.selectOption('#history-device', '');
  h = await waitHistory();
  assert.equal(h.points.length, STEPS + 2); // alice's and mallory's
  const options = await page.$$eval('#history-device option', (os) => os.map((o) => o.textContent));
  assert.ok(options.includes(`mallory/${EVIL_DEVICE}`), JSON.stringify(options));
  const evil = h.points.find((p) => p.lat === 52.49);
  const xy = await page.evaluate(([lat, lon]) => window.mytracks.screenPoint(lat, lon), [evil.lat, evil.lon]);
  await page.mouse.click(xy.x, xy.y);
  await page.locator('.leaflet-popup .mt-popup').waitFor({ timeout: 5000 });
  assert.match(await page.textContent('.leaflet-popup .mt-popup'), /onerror=window\.pwned=1/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.locator('.leaflet-popup img').count(), 0);
  await closePopup();
});

test('export links return GPX, GeoJSON and CSV of the shown range', { timeout: 20000 }, async () => {
  const alice = await deviceId(page, 'alice/phone');
  await page.selectOption('#history-device', String(alice));
  await waitHistory();
  const want = { gpx: /^application\/gpx\+xml/, geojson: /^application\/geo\+json/, csv: /^text\/csv/ };
  for (const [f, type] of Object.entries(want)) {
    const href = await page.getAttribute(`#export-${f}`, 'href');
    const q = new URL(href, stack.bridge.url).searchParams;
    assert.equal(q.get('format'), f);
    assert.equal(q.get('device'), String(alice));
    assert.equal(q.get('start_time'), '2024-03-09T23:00:00Z');
    assert.equal(q.get('max_acc'), '100');
    assert.equal(q.get('max_points'), null, 'exports are not thinned');
    const r = await page.evaluate(async (u) => {
      const res = await fetch(u);
      return { status: res.status, type: res.headers.get('content-type'), disp: res.headers.get('content-disposition'), body: await res.text() };
    }, href);
    assert.equal(r.status, 200);
    assert.match(r.type, type);
    assert.match(r.disp, new RegExp(`^attachment; filename="mytracks-${alice}-2024-03-09-2024-03-10\\.${f}"$`));
    if (f === 'gpx') assert.equal((r.body.match(/<trkpt /g) || []).length, STEPS + 1);
    if (f === 'geojson') assert.equal(JSON.parse(r.body).features.length, STEPS + 1);
    if (f === 'csv') assert.equal(r.body.trim().split('\r\n').length, STEPS + 2);
  }
  // a click downloads the file
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-gpx')]);
  assert.match(download.suggestedFilename(), /\.gpx$/);
});

test('back to Live: the live map resumes and a new location appears', { timeout: 20000 }, async () => {
  await page.click('#mode-live');
  assert.equal(await page.isVisible('#activity-panel'), true);
  assert.equal(await page.isVisible('#history-panel'), false);
  assert.equal((await historyState()).mode, 'live');
  const alice = await deviceId(page, 'alice/phone');
  await publish(stack.mqtt, 'alice', 'phone', location({ lat: 52.6543, lon: 13.5432, tst: nextTst(), tid: 'al' }));
  await waitRow(page, '52.654300, 13.543200');
  const m = await page.evaluate((id) => window.mytracks.marker(id), alice);
  assert.ok(Math.abs(m.lat - 52.6543) < 1e-6, JSON.stringify(m));
  assert.equal(await page.locator('.leaflet-marker-pane .mt-pin').count() >= 1, true);
  assert.equal(await page.textContent('#status'), 'Live');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.console, []);
});
