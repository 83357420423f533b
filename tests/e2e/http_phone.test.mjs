// Browser test: what real phones add to the page (issue 11), against the
// real broker, plugin and bridge. The popup shows the regions and point of
// interest the phone reported, as text; "Report now" sends reportLocation
// to the phone's cmd topic; an HTTP-mode phone goes offline on the page
// once plugin_opt_http_online_window (2 s here) has passed; a fix sent
// late is not "last heard" long ago: receive and fix times are named apart.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, collector, waitFor, stopAll } from '../lib/harness.mjs';
import { startStack, launchBrowser, newPage, publish, waitStatus, deviceId, nextTst, FAST } from './support.mjs';

let stack;
let browser;
let p; // { page, problems }
let cmds;

before(async () => {
  stack = await startStack({ pluginOptions: { http_online_window: '2' } });
  cmds = await collector(stack.broker.port, 'owntracks/+/+/cmd');
  await publish(stack.mqtt, 'alice', 'phone', location({
    tst: nextTst(), tid: 'al', lat: 48.8584, lon: 2.2945, inregions: ['Home', '<b>Work</b>'], poi: 'Bakery & Co', m: 2,
  }));
  browser = await launchBrowser();
  p = await newPage(browser);
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await cmds?.close();
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

/** The popup's term/definition pairs. */
const popupPairs = (page) => page.evaluate(() => [...document.querySelectorAll('.mt-popup dt')]
  .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));

test('the popup shows regions and POI as text, and Report now reaches the phone', { timeout: 40000 }, async () => {
  const { page } = p;
  await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  await page.waitForFunction(() => document.querySelectorAll('#activity .row').length === 1);
  await page.click('#activity .row');
  await page.waitForSelector('.mt-popup');
  const pairs = Object.fromEntries(await popupPairs(page));
  assert.equal(pairs.Regions, 'Home, <b>Work</b>');
  assert.equal(pairs.POI, 'Bakery & Co');
  assert.equal(await page.locator('.mt-popup b').count(), 0, 'text, never HTML');

  // no login: the viewer may do anything, so the button is there
  await page.click('.mt-popup button[data-action="report-now"]');
  const m = await waitFor(() => cmds.messages.find((x) => x.topic === 'owntracks/alice/phone/cmd'),
    { what: 'the command on MQTT' });
  assert.deepEqual(JSON.parse(m.payload), { _type: 'cmd', action: 'reportLocation' });
  await page.waitForFunction(() => /^Asked/.test(document.querySelector('.mt-command .note').textContent));
  assert.deepEqual(p.problems.pageErrors, []);
});

test('an HTTP-mode phone goes offline on the page after the window', { timeout: 40000 }, async () => {
  const { page } = p;
  const r = await fetch(`${stack.bridge.url}/pub`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'hank', 'x-limit-d': 'phone' },
    body: JSON.stringify(location({ tst: nextTst(), tid: 'hk' })),
  });
  assert.equal(r.status, 200);
  const id = await deviceId(page, 'hank/phone');
  const badge = `#devices li[data-device-id="${id}"] [data-field="online"]`;
  await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'online', badge, { timeout: 10000 });
  const online = Date.now();
  await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'offline', badge, { timeout: 10000 });
  assert.ok(Date.now() - online >= 500, 'not offline at once');
  // the MQTT phone (its client still connected) stays online
  const alice = await deviceId(page, 'alice/phone');
  assert.equal(await page.textContent(`#devices li[data-device-id="${alice}"] [data-field="online"]`), 'online');
  assert.deepEqual(p.problems.pageErrors, []);
});

test('a 2017 fix sent now: "last heard" is the receive time, the fix time is labelled as such', { timeout: 40000 }, async () => {
  const { page } = p;
  const fix = 1495095540; // 2017-05-18 08:19 UTC
  const r = await fetch(`${stack.bridge.url}/pub`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'kim', 'x-limit-d': 'old' },
    body: JSON.stringify(location({ tst: fix, tid: 'ko', lat: 47.3769, lon: 8.5417 })),
  });
  assert.equal(r.status, 200);
  // the Friends reply (no --users: every other device): the phone the page shows, as the page shows it
  const friends = await r.json();
  const alice = friends.find((o) => o._type === 'location' && o.topic === 'owntracks/alice/phone');
  assert.ok(alice, JSON.stringify(friends));
  assert.deepEqual([alice.tid, alice.lat, alice.lon, alice.inregions, alice.poi], ['al', 48.8584, 2.2945, ['Home', '<b>Work</b>'], 'Bakery & Co']);
  assert.ok(!friends.some((o) => o.topic === 'owntracks/kim/old'), 'never the reporting device');
  const id = await deviceId(page, 'kim/old');
  const meta = `#devices li[data-device-id="${id}"] [data-field="meta"]`;
  await page.waitForFunction((s) => /last heard/.test(document.querySelector(s)?.textContent || ''), meta, { timeout: 10000 });
  const text = await page.textContent(meta);
  assert.match(text, /last heard (just now|\d+ s ago) · fix of 2017-05-1\d \d\d:\d\d$/, text);
  assert.doesNotMatch(text, /d ago/, 'the fix time is not taken for the last heard time');
  // its popup: the fix time and the receive time, each named
  await page.click(`#activity .row[data-device-id="${id}"]`);
  await page.waitForSelector('.mt-popup');
  const pairs = Object.fromEntries(await popupPairs(page));
  assert.match(pairs['Fix time'], /^2017-05-1\d \d\d:\d\d$/);
  assert.match(pairs.Received, /^\d\d:\d\d:\d\d$/);
  assert.deepEqual(p.problems.pageErrors, []);
});
