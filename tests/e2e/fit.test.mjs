// Browser test: the live map on first sight keeps every device in view as
// new fixes arrive (it used to fit once, then pan to the newest), until the
// user moves the map; "Fit all" fits again and resumes.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, stopAll } from '../lib/harness.mjs';
import { startStack, launchBrowser, newPage, publish, nextTst, waitStatus, deviceId, FAST } from './support.mjs';

let stack;
let browser;
let page;
let problems;

const BERLIN = [52.52, 13.40];
const LISBON = [38.72, -9.14];

before(async () => {
  stack = await startStack();
  await publish(stack.mqtt, 'alice', 'phone', location({ lat: BERLIN[0], lon: BERLIN[1], tst: nextTst(), tid: 'al' }));
  await publish(stack.mqtt, 'bob', 'phone', location({ lat: LISBON[0], lon: LISBON[1], tst: nextTst(), tid: 'bo' }));
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

const inView = (lat, lon) => page.evaluate(([a, b]) => window.mytracks.inView(a, b), [lat, lon]);

/** Publish alice's next fix and wait until the page has drawn it. */
async function move(user, lat, lon) {
  const id = await deviceId(page, `${user}/phone`);
  await publish(stack.mqtt, user, 'phone', location({ lat, lon, tst: nextTst() }));
  await page.waitForFunction(([i, a]) => window.mytracks.marker(i)?.lat === a, [id, lat], { timeout: 10000 });
  await page.waitForTimeout(300); // a render after the marker moved
}

test('on first sight the map shows both devices, far apart', { timeout: 20000 }, async () => {
  await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  await page.waitForFunction(([b, l]) => window.mytracks.inView(...b) && window.mytracks.inView(...l),
    [BERLIN, LISBON], { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.mytracks.follow), true);
});

test('new fixes far away keep every device in view', { timeout: 30000 }, async () => {
  // alice goes to Helsinki, then Athens; bob stays in Lisbon, then goes to the Azores
  for (const [user, lat, lon, others] of [
    ['alice', 60.17, 24.94, [LISBON]],
    ['alice', 37.98, 23.73, [LISBON]],
    ['bob', 37.74, -25.67, [[37.98, 23.73]]],
  ]) {
    await move(user, lat, lon);
    assert.ok(await inView(lat, lon), `${user} at ${lat}, ${lon} is in view`);
    for (const o of others) assert.ok(await inView(...o), `${o} still in view after ${user} moved`);
  }
});

test('after the user drags the map, new fixes do not move it; Fit all resumes', { timeout: 30000 }, async () => {
  const box = await page.locator('#map').boundingBox();
  const x = box.x + box.width * 0.5;
  const y = box.y + box.height * 0.3;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + 150, y + 100, { steps: 8 });
  await page.mouse.up();
  assert.equal(await page.evaluate(() => window.mytracks.follow), false);
  await page.waitForTimeout(600); // drag inertia
  const before = await page.evaluate(() => window.mytracks.view());
  await move('alice', 64.14, -21.94); // Reykjavik, off the dragged view or not: the map stays
  await move('bob', 30.04, 31.24);
  assert.deepEqual(await page.evaluate(() => window.mytracks.view()), before, 'the map stayed where the user put it');
  // Fit all: every device in view again, and kept there
  await page.locator('#fit-all').click();
  assert.equal(await page.evaluate(() => window.mytracks.follow), true);
  await page.waitForFunction(() => window.mytracks.inView(64.14, -21.94) && window.mytracks.inView(30.04, 31.24),
    null, { timeout: 5000 });
  await page.waitForTimeout(600); // the fit animation
  await move('alice', 55.75, 37.62);
  assert.ok(await inView(55.75, 37.62));
  assert.ok(await inView(30.04, 31.24));
});

test('zooming with the wheel also stops the automatic fit', { timeout: 20000 }, async () => {
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -300);
  assert.equal(await page.evaluate(() => window.mytracks.follow), false);
  await page.waitForTimeout(600); // the zoom animation
  const before = await page.evaluate(() => window.mytracks.view());
  await move('bob', -33.92, 18.42);
  assert.deepEqual(await page.evaluate(() => window.mytracks.view()), before);
  assert.deepEqual(problems.pageErrors, []);
});
