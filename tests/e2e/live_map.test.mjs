// Browser test: the live map against the real broker, plugin and bridge.
// History is drawn on load, an MQTT report appears at once in Live Activity
// and moves its marker, hostile names stay text, and a screenshot is kept.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { location, stopAll } from '../lib/harness.mjs';
import {
  startStack, launchBrowser, newPage, publish, nextTst, state, waitStatus, deviceId, waitRow, screenshotPath, FAST,
} from './support.mjs';

let stack;
let browser;
let page;
let problems;

// a device name and card meant to run script if anything renders them as HTML
const XSS_USER = 'mallory';
const XSS_DEVICE = '<img src=x onerror=window.pwned=1><b>bold';
const XSS_NAME = `${XSS_USER}/${XSS_DEVICE}`;
const XSS_DISPLAY = '<script>window.pwned=2</script><svg onload=window.pwned=3>';
const XSS_SSID = '<iframe src=javascript:window.pwned=4>';

before(async () => {
  stack = await startStack();
  // history: alice walks 12 steps, bob drives 6; published before the page opens
  for (let i = 0; i < 12; i++) {
    await publish(stack.mqtt, 'alice', 'phone', location({ lat: 52.52 + i * 0.001, lon: 13.40 + i * 0.0015, tst: nextTst(), tid: 'al' }));
  }
  for (let i = 0; i < 6; i++) {
    await publish(stack.mqtt, 'bob', 'car', location({ lat: 52.51 - i * 0.001, lon: 13.41 + i * 0.002, tst: nextTst(), tid: 'bc', vel: 42, conn: 'm' }));
  }
  // wait until the bridge's history API has all 18
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await (await fetch(`${stack.bridge.url}/api/locations/?limit=100`)).json();
    if (r.results.length >= 18) break;
    if (Date.now() > deadline) throw new Error(`history has ${r.results.length} of 18 locations`);
    await new Promise((res) => setTimeout(res, 50));
  }
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

test('the page loads with the existing history drawn, tiles unreachable', { timeout: 20000 }, async () => {
  await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  assert.equal(await page.textContent('#status'), 'Live');
  const s = await state(page);
  assert.equal(s.activity, 18);
  assert.equal(s.devices, 2);
  const alice = await deviceId(page, 'alice/phone');
  const bob = await deviceId(page, 'bob/car');
  const m = await page.evaluate((id) => window.mytracks.marker(id), alice);
  assert.equal(m.points, 12, "alice's track has her 12 points");
  assert.ok(Math.abs(m.lat - 52.531) < 1e-6 && Math.abs(m.lng - 13.4165) < 1e-6, `marker at her last fix: ${JSON.stringify(m)}`);
  assert.equal((await page.evaluate((id) => window.mytracks.marker(id), bob)).points, 6);
  // two markers and two track lines on the map
  assert.equal(await page.locator('.leaflet-marker-pane .mt-pin').count(), 2);
  assert.equal(await page.locator('.leaflet-overlay-pane path').count(), 2);
  // the newest row first, with a 6-decimal position and the formatted fields
  const first = page.locator('#activity .row').first();
  assert.equal(await first.locator('[data-field="device"]').textContent(), 'bob/car');
  assert.equal(await first.locator('[data-field="pos"]').textContent(), '52.505000, 13.420000');
  assert.equal(await first.locator('[data-field="speed"]').textContent(), '42 km/h');
  assert.equal(await first.locator('[data-field="conn"]').textContent(), 'Mobile');
  assert.equal(await page.locator('#devices .device').count(), 2);
  assert.equal(await page.locator('#devices .device [data-field="online"]').first().textContent(), 'online');
  assert.ok(await page.locator('.tile-note').isVisible(), 'the page says tiles are unavailable');
});

test('an MQTT report appears in Live Activity and moves the marker', { timeout: 20000 }, async () => {
  const alice = await deviceId(page, 'alice/phone');
  const before = await state(page);
  const report = location({ lat: 52.6, lon: 13.5, tst: nextTst(), acc: 7, batt: 64, vel: 3 });
  await publish(stack.mqtt, 'alice', 'phone', report);
  await waitRow(page, '52.600000, 13.500000');
  const m = await page.evaluate((id) => window.mytracks.marker(id), alice);
  assert.equal(m.lat, 52.6);
  assert.equal(m.lng, 13.5);
  assert.equal(m.points, 13);
  const s = await state(page);
  assert.equal(s.activity, 19);
  assert.ok(s.highestId > before.highestId);
  assert.equal(s.counters.polls, 0, 'it came over the WebSocket');
  const first = page.locator('#activity .row').first();
  assert.equal(await first.locator('[data-field="device"]').textContent(), 'alice/phone');
  assert.equal(await first.locator('[data-field="acc"]').textContent(), '±7 m');
  assert.equal(await first.locator('[data-field="batt"]').textContent(), 'batt 64%');
  // the same report again (a phone resending its queue) is shown once
  await publish(stack.mqtt, 'alice', 'phone', report);
  await page.waitForTimeout(500);
  const rows = await page.locator('#activity .row [data-field="pos"]').allTextContents();
  assert.equal(rows.filter((r) => r === '52.600000, 13.500000').length, 1);
  const ids = (await state(page)).activityIds;
  assert.equal(new Set(ids).size, ids.length, 'no id twice in Live Activity');
  // the popup is built from text
  await page.locator(`.mt-pin[data-device-id="${alice}"]`).click();
  await page.waitForSelector('.leaflet-popup .mt-popup');
  const popup = await page.textContent('.leaflet-popup .mt-popup');
  assert.match(popup, /alice\/phone/);
  assert.match(popup, /52\.600000, 13\.500000/);
  assert.match(popup, /64%/);
});

test('a device named with HTML and script shows as literal text and runs nothing', { timeout: 20000 }, async () => {
  await publish(stack.mqtt, XSS_USER, XSS_DEVICE, location({ lat: 52.515, lon: 13.39, tst: nextTst(), tid: '<i', SSID: XSS_SSID }));
  await publish(stack.mqtt, XSS_USER, XSS_DEVICE, { _type: 'card', name: XSS_DISPLAY, tid: '<s' });
  const id = await deviceId(page, XSS_NAME);
  await page.waitForFunction((n) => [...document.querySelectorAll('#devices [data-field="name"]')].some((e) => e.textContent === n), XSS_DISPLAY, { timeout: 10000 });
  // the literal strings are visible as text
  const names = await page.locator('#devices [data-field="name"]').allTextContents();
  assert.ok(names.includes(XSS_DISPLAY), JSON.stringify(names));
  const meta = await page.locator(`#devices .device[data-device-id="${id}"] [data-field="meta"]`).textContent();
  assert.ok(meta.includes(XSS_NAME), meta);
  const row = page.locator(`#activity .row[data-device-id="${id}"]`).first();
  assert.equal(await row.locator('[data-field="device"]').textContent(), XSS_DISPLAY);
  // clicking the device in the list focuses it and opens its popup (with the SSID): text too
  await page.locator(`#devices .device[data-device-id="${id}"]`).click();
  assert.equal(await page.textContent('#follow'), 'Following device');
  await page.waitForFunction((s) => document.querySelector('.leaflet-popup .mt-popup')?.textContent.includes(s), XSS_SSID, { timeout: 5000 });
  // nothing was parsed as markup anywhere in the page
  const injected = await page.evaluate(() => ({
    img: document.querySelectorAll('#devices img, #activity img, .leaflet-popup img, .leaflet-marker-pane img').length,
    inlineScript: document.querySelectorAll('script:not([src])').length,
    scripts: [...document.querySelectorAll('script[src]')].map((e) => e.getAttribute('src')).join(' '),
    svg: document.querySelectorAll('#devices svg, #activity svg, .leaflet-popup svg').length,
    iframe: document.querySelectorAll('iframe').length,
    b: document.querySelectorAll('#devices b, #activity b, .leaflet-popup b').length,
  }));
  assert.deepEqual(injected, {
    img: 0, inlineScript: 0, scripts: '/node_modules/leaflet/dist/leaflet.js /js/main.js /js/session.js', svg: 0, iframe: 0, b: 0,
  });
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'no injected script ran');
  assert.deepEqual(problems.dialogs, []);
});

test('lwt marks a device offline; a transition shows in the device list as text', { timeout: 20000 }, async () => {
  const bob = await deviceId(page, 'bob/car');
  const badge = page.locator(`#devices .device[data-device-id="${bob}"] [data-field="online"]`);
  assert.equal(await badge.textContent(), 'online');
  await publish(stack.mqtt, 'bob', 'car', { _type: 'lwt', tst: nextTst() });
  await page.waitForFunction((id) => document.querySelector(`#devices .device[data-device-id="${id}"] [data-field="online"]`)?.textContent === 'offline', bob, { timeout: 10000 });
  assert.equal((await page.evaluate(() => window.mytracks.devices())).find((d) => d.id === bob).online, false);
  assert.equal(await page.locator(`.mt-pin.offline[data-device-id="${bob}"]`).count(), 1, 'its marker is greyed');
  // a region named with markup
  const region = '<u>Home</u><img src=x onerror=window.pwned=5>';
  await publish(stack.mqtt, 'bob', 'car', {
    _type: 'transition', event: 'enter', desc: region, lat: 52.505, lon: 13.42, tst: nextTst(), wtst: 1700000000, acc: 10, t: 'c', tid: 'bc',
  }, '/event');
  const event = page.locator(`#devices .device[data-device-id="${bob}"] .event`);
  await event.waitFor({ timeout: 10000 });
  assert.match(await event.textContent(), /^entered <u>Home<\/u><img src=x onerror=window\.pwned=5> · /);
  assert.equal(await page.locator('#devices u, #devices img').count(), 0);
  // a new location brings it back online
  await publish(stack.mqtt, 'bob', 'car', location({ lat: 52.504, lon: 13.421, tst: nextTst(), tid: 'bc' }));
  await page.waitForFunction((id) => document.querySelector(`#devices .device[data-device-id="${id}"] [data-field="online"]`)?.textContent === 'online', bob, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.pwned), undefined);
});

test('the map follows new positions until the user drags it away', { timeout: 20000 }, async () => {
  // follow all devices
  for (let i = 0; i < 2 && (await page.textContent('#follow')) !== 'Following'; i++) await page.locator('#follow').click();
  assert.equal(await page.evaluate(() => window.mytracks.follow), true);
  await page.waitForTimeout(600); // the fit-all animation
  const alice = await deviceId(page, 'alice/phone');
  // far outside the view: the map fits it and the other devices (bob stays in Berlin)
  await publish(stack.mqtt, 'alice', 'phone', location({ lat: 48.137, lon: 11.575, tst: nextTst() }));
  await page.waitForFunction(() => window.mytracks.inView(48.137, 11.575) && window.mytracks.inView(52.504, 13.421),
    null, { timeout: 10000 });
  // the user drags the map: following stops, and the next position does not move it
  // (after the pan animation, from an empty spot: the followed marker sits in the middle)
  await page.waitForTimeout(600);
  const box = await page.locator('#map').boundingBox();
  const x = box.x + box.width * 0.75;
  const y = box.y + box.height * 0.8;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x - 200, y - 120, { steps: 8 });
  await page.mouse.up();
  assert.equal(await page.evaluate(() => window.mytracks.follow), false);
  assert.equal(await page.textContent('#follow'), 'Follow');
  await page.waitForTimeout(600); // drag inertia
  const before = await page.evaluate(() => window.mytracks.view());
  await publish(stack.mqtt, 'alice', 'phone', location({ lat: 50.11, lon: 8.68, tst: nextTst() }));
  await page.waitForFunction((id) => window.mytracks.marker(id).lat === 50.11, alice, { timeout: 10000 });
  await page.waitForTimeout(400);
  assert.deepEqual(await page.evaluate(() => window.mytracks.view()), before, 'the map stayed where the user put it');
  // a click on Follow fits every device again
  await page.locator('#follow').click();
  assert.equal(await page.evaluate(() => window.mytracks.follow), true);
});

test('a screenshot is written and the page logged no errors', { timeout: 20000 }, async () => {
  await page.keyboard.press('Escape');
  await page.evaluate(() => document.querySelector('.leaflet-popup-close-button')?.click());
  // "Follow" (all devices) on again: the map fits every device
  for (let i = 0; i < 2 && (await page.textContent('#follow')) !== 'Following'; i++) await page.locator('#follow').click();
  await page.waitForTimeout(400);
  const file = screenshotPath('live_map.png');
  await page.screenshot({ path: file });
  const { size } = fs.statSync(file);
  assert.ok(size > 10000, `screenshot ${file} is ${size} bytes`);
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.console, []);
});
