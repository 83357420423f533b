// Browser test: the live map on a phone-sized screen (390x844): the map
// takes most of the height, the lists scroll below it, and nothing is
// wider than the screen, in Live and in History mode.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, stopAll } from '../lib/harness.mjs';
import { startStack, launchBrowser, newPage, publish, nextTst, waitStatus, waitRow, screenshotPath, FAST } from './support.mjs';

let stack;
let browser;
let page;
let problems;

before(async () => {
  stack = await startStack();
  // enough devices and rows to need scrolling
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 4; j++) {
      await publish(stack.mqtt, `user${i}`, 'a-rather-long-device-name-for-a-phone-screen',
        location({ lat: 52.5 + i * 0.01, lon: 13.4 + j * 0.01, tst: nextTst(), tid: `u${i}` }));
    }
  }
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser, {
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true,
  }));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

/** The map's share of the height, overflow, and where the lists are. */
function layout() {
  return page.evaluate(() => {
    const map = document.getElementById('map').getBoundingClientRect();
    const side = document.querySelector('.sidebar');
    const s = side.getBoundingClientRect();
    const wide = [...document.querySelectorAll('body *')].filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.right > window.innerWidth + 0.5 && !e.closest('.leaflet-pane, .leaflet-control-container');
    }).map((e) => `${e.tagName}.${e.className}`);
    return {
      mapRatio: map.height / window.innerHeight,
      mapWidth: map.width,
      scrollWidth: document.scrollingElement.scrollWidth,
      innerWidth: window.innerWidth,
      innerHeight: window.innerHeight,
      sideTop: s.top,
      sideBottom: s.bottom,
      mapBottom: map.bottom,
      sideScrolls: side.scrollHeight > side.clientHeight,
      docScrollHeight: document.scrollingElement.scrollHeight,
      wide,
    };
  });
}

test('Live: the map takes over half the height, the lists scroll below it', { timeout: 30000 }, async () => {
  await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  await waitRow(page, '52.550000, 13.430000');
  const l = await layout();
  assert.ok(l.mapRatio >= 0.55, `map is ${(l.mapRatio * 100).toFixed(1)}% of the height`);
  assert.ok(l.mapWidth >= l.innerWidth - 1, 'the map is as wide as the screen');
  assert.ok(l.scrollWidth <= l.innerWidth, `no horizontal scroll: ${l.scrollWidth} > ${l.innerWidth}`);
  assert.deepEqual(l.wide, [], 'no element sticks out on the right');
  assert.ok(l.sideTop >= l.mapBottom - 1, 'the lists are below the map');
  assert.ok(l.sideBottom <= l.innerHeight + 1, 'the lists end on the screen (they scroll inside)');
  assert.ok(l.docScrollHeight <= l.innerHeight, 'the page itself does not scroll');
  assert.ok(l.sideScrolls, '24 rows and 6 devices overflow the list area, which scrolls');
  // the last activity row can be scrolled into view and clicked
  const last = page.locator('#activity .row').last();
  await last.scrollIntoViewIfNeeded();
  assert.ok(await last.isVisible());
  await page.screenshot({ path: screenshotPath('phone_live.png') });
});

test('History: the form fits the width too', { timeout: 30000 }, async () => {
  await page.locator('#mode-history').click();
  await page.waitForFunction(() => !window.mytracks.history().loading, null, { timeout: 10000 });
  const l = await layout();
  assert.ok(l.mapRatio >= 0.55, `map is ${(l.mapRatio * 100).toFixed(1)}% of the height`);
  assert.ok(l.scrollWidth <= l.innerWidth, `no horizontal scroll: ${l.scrollWidth} > ${l.innerWidth}`);
  assert.deepEqual(l.wide, []);
  await page.screenshot({ path: screenshotPath('phone_history.png') });
  assert.deepEqual(problems.pageErrors, []);
});
