// Browser test: --tile-url and --tile-attribution reach the page and the
// Content-Security-Policy. The bridge is pointed at a tile server in this
// test (127.0.0.1) that counts the tiles the page asks it for.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { bridgePath, location, sanitizerEnv, stopAll } from '../lib/harness.mjs';
import { startStack, launchBrowser, newPage, publish, nextTst, waitStatus, FAST } from './support.mjs';

// a 1x1 PNG
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const ATTRIBUTION = 'Test tiles &copy; <a href="https://tiles.example.org/terms">Example Maps</a> <b>not bold</b>';

let tileServer;
let tileOrigin;
const tileRequests = [];
let stack;
let browser;
let page;
let problems;
let response;
const osmRequests = [];

before(async () => {
  tileServer = http.createServer((req, res) => {
    tileRequests.push(req.url);
    if (/^\/tiles\/\d+\/-?\d+\/-?\d+\.png$/.test(req.url)) {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
      res.end(PNG);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => tileServer.listen(0, '127.0.0.1', resolve));
  tileOrigin = `http://127.0.0.1:${tileServer.address().port}`;
  stack = await startStack({
    bridgeArgs: ['--tile-url', `${tileOrigin}/tiles/{z}/{x}/{y}.png`, '--tile-attribution', ATTRIBUTION],
  });
  await publish(stack.mqtt, 'alice', 'phone', location({ lat: 52.52, lon: 13.40, tst: nextTst(), tid: 'al' }));
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser));
  page.on('request', (r) => { if (r.url().includes('openstreetmap')) osmRequests.push(r.url()); });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
  if (tileServer) await new Promise((resolve) => tileServer.close(resolve));
});

test('the page loads its tiles from --tile-url', { timeout: 30000 }, async () => {
  response = await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  // tiles drawn from the test's server, none from OpenStreetMap
  await page.waitForFunction(() => [...document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile')]
    .some((i) => i.complete && i.naturalWidth === 1), null, { timeout: 15000 });
  assert.ok(tileRequests.length > 0, 'the tile server was asked');
  assert.ok(tileRequests.every((u) => /^\/tiles\/\d+\/-?\d+\/-?\d+\.png$/.test(u)), JSON.stringify(tileRequests));
  const srcs = await page.$$eval('.leaflet-tile-pane img.leaflet-tile', (is) => is.map((i) => i.src));
  assert.ok(srcs.length > 0 && srcs.every((s) => s.startsWith(`${tileOrigin}/tiles/`)), JSON.stringify(srcs));
  assert.deepEqual(osmRequests, []);
  assert.equal(await page.locator('.tile-note').count(), 0, 'no "tiles unavailable" note');
});

test('the Content-Security-Policy header allows that tile server only', async () => {
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, new RegExp(`img-src 'self' data: ${tileOrigin.replace(/[.]/g, '\\.')};`));
  assert.doesNotMatch(csp, /openstreetmap/);
  const cfg = await (await fetch(`${stack.bridge.url}/api/config`)).json();
  assert.equal(cfg.tile_url, `${tileOrigin}/tiles/{z}/{x}/{y}.png`);
  assert.equal(cfg.tile_attribution, ATTRIBUTION);
  // another origin is refused by the policy: an image from it never loads
  const blocked = await page.evaluate(() => new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve('loaded');
    img.onerror = () => resolve('blocked');
    img.src = 'http://localhost:9/x.png';
  }));
  assert.equal(blocked, 'blocked');
});

test('the attribution is shown, its link a link, other markup text', async () => {
  const attr = page.locator('.leaflet-control-attribution');
  assert.match(await attr.textContent(), /Test tiles © Example Maps <b>not bold<\/b>/);
  const link = attr.locator('a[href="https://tiles.example.org/terms"]');
  assert.equal(await link.textContent(), 'Example Maps');
  assert.equal(await attr.locator('b').count(), 0);
  assert.deepEqual(problems.pageErrors, []);
});

test('a bad --tile-url stops the bridge with a message naming the option', () => {
  for (const [url, why] of [
    ['https://tiles.example.org/{z}/{x}.png', /\{z\}, \{x\} and \{y\}/],
    ['ftp://tiles.example.org/{z}/{x}/{y}.png', /http:\/\/ or https:\/\//],
    ["https://tiles.example.org/{z}/{x}/{y}.png'; script-src *", /quotes/],
    ['https://tiles example.org/{z}/{x}/{y}.png', /spaces/],
  ]) {
    const r = spawnSync(bridgePath, ['--tile-url', url], { timeout: 10000, env: sanitizerEnv(false) });
    assert.equal(r.status, 2, url);
    assert.match(r.stderr.toString(), /--tile-url: /);
    assert.match(r.stderr.toString(), why);
  }
});
