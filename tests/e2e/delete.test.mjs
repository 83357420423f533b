// Browser test: deletes from the page (issue 13) against the real broker,
// plugin and bridge. Delete one fix from its popup, with a confirmation,
// and see it gone on a second page; delete the shown range from History
// and see the device leave the second page's map.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, stopAll } from '../lib/harness.mjs';
import { startStack, launchBrowser, newPage, publish, waitStatus, deviceId, FAST } from './support.mjs';

let stack;
let browser;
let a; // the page that deletes (accepts the confirmation)
let b; // another page, only watching
const dialogs = [];
const T0 = Date.UTC(2024, 2, 10, 9, 0, 0) / 1000;

const rowIds = (page) => page.evaluate(() => [...document.querySelectorAll('#activity .row')].map((r) => Number(r.dataset.id)));

before(async () => {
  stack = await startStack();
  for (let i = 0; i < 3; i++) {
    await publish(stack.mqtt, 'alice', 'phone', location({ lat: 52.5 + 0.01 * i, lon: 13.4, tst: T0 + 600 * i, tid: 'al' }));
  }
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Europe/Berlin' });
  a = await context.newPage();
  a.on('dialog', (d) => { dialogs.push(d.message()); d.accept().catch(() => {}); });
  await a.route(/^https:\/\/tile\.openstreetmap\.org\//, (r) => r.abort('internetdisconnected'));
  b = await newPage(browser);
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

test('delete a fix from its popup: gone on another page too', { timeout: 40000 }, async () => {
  for (const p of [a, b.page]) {
    await p.goto(`${stack.bridge.url}/${FAST}`);
    await waitStatus(p, 'live');
    await p.waitForFunction(() => document.querySelectorAll('#activity .row').length === 3);
  }
  const dev = await deviceId(b.page, 'alice/phone');
  const ids = await rowIds(a);
  const newest = Math.max(...ids);
  await a.click(`#activity .row[data-id="${newest}"]`);
  await a.click('.mt-popup button[data-action="delete-fix"]');
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0], /Delete the fix of alice\/phone/);
  // the other page drops the row and moves the marker back to the fix before
  await b.page.waitForFunction((id) => !document.querySelector(`#activity .row[data-id="${id}"]`), newest, { timeout: 10000 });
  assert.deepEqual((await rowIds(b.page)).sort(), ids.filter((x) => x !== newest).sort());
  const marker = await b.page.evaluate((id) => window.mytracks.marker(id), dev);
  assert.equal(marker.points, 2);
  assert.ok(Math.abs(marker.lat - 52.51) < 1e-6, JSON.stringify(marker));
  const api = await (await fetch(`${stack.bridge.url}/api/locations/?device=alice/phone`)).json();
  assert.deepEqual(api.results.map((r) => r.id).sort(), ids.filter((x) => x !== newest).sort());
  assert.deepEqual(b.problems.pageErrors, []);
});

test('delete the shown range from History: the device leaves the map', { timeout: 40000 }, async () => {
  const dev = await deviceId(a, 'alice/phone');
  await a.click('#mode-history');
  assert.equal(await a.isVisible('#history-delete'), false); // "all devices": no range delete
  await a.selectOption('#history-device', String(dev));
  await a.fill('#history-from', '2024-03-10');
  await a.fill('#history-to', '2024-03-10');
  await a.click('#history-show');
  await a.waitForFunction(() => !window.mytracks.history().loading && /\d/.test(window.mytracks.history().summary));
  await a.waitForSelector('#history-delete', { state: 'visible' });
  await a.click('#history-delete');
  assert.equal(dialogs.length, 2);
  assert.match(dialogs[1], /Delete every fix of alice\/phone/);
  await a.waitForFunction(() => document.getElementById('history-delete-note').textContent === 'Deleted 2 entries.', null, { timeout: 10000 });
  // the track shown was fetched again: nothing left in the range
  await a.waitForFunction(() => !window.mytracks.history().loading && window.mytracks.history().points.length === 0, null, { timeout: 10000 });
  await b.page.waitForFunction((id) => window.mytracks.marker(id) === null, dev, { timeout: 10000 });
  assert.deepEqual(await rowIds(b.page), []);
  const api = await (await fetch(`${stack.bridge.url}/api/locations/?device=alice/phone`)).json();
  assert.deepEqual(api.results, []);
  assert.deepEqual(b.problems.dialogs, []);
});
