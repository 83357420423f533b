// Browser test: a page of another origin (tests/e2e/fixtures/recorder/,
// served here by a small static server, as the OwnTracks frontend is
// often served by another web server) uses the Recorder API exactly as
// owntracks/frontend does (../shared/RECORDER-API.md section 2: list,
// list?user=, last, locations, version, /ws/last with LAST) against the
// real bridge started with --allowed-origin for it, shows every device,
// and shows a new MQTT location once /ws/last pushes it.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  sourceDir, startBroker, mqttConnect, tmpDir, location, bridgePath, pluginPath, sql, waitFor,
} from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';
import { chromiumPath, launchBrowser, newPage, publish, nextTst, screenshotPath } from './support.mjs';

const fixture = path.join(sourceDir, 'tests', 'e2e', 'fixtures', 'recorder');

let broker;
let bridge;
let server;
let origin;
let mqtt;
let browser;

/** The fixture's two files, nothing else. */
function serveFixture() {
  const types = { '/index.html': 'text/html; charset=utf-8', '/client.js': 'text/javascript; charset=utf-8' };
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      const p = new URL(req.url, 'http://x').pathname;
      if (!types[p]) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': types[p] }).end(fs.readFileSync(path.join(fixture, p)));
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

before(async () => {
  for (const f of [bridgePath, pluginPath, chromiumPath]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the project (and install chromium) first`);
  }
  server = await serveFixture();
  origin = `http://127.0.0.1:${server.address().port}`;
  broker = await startBroker({ dir: tmpDir('mytracks-e2e-recorder-') });
  bridge = await startBridge(broker, { args: ['--allowed-origin', origin] });
  mqtt = await mqttConnect(broker.port, { clientId: `e2e-recorder-${process.pid}-${Date.now()}` });
  await publish(mqtt, 'alice', 'phone', location({ lat: 52.52, lon: 13.405, tst: nextTst(), tid: 'al' }));
  await publish(mqtt, 'alice', 'phone', location({ lat: 52.53, lon: 13.41, tst: nextTst(), tid: 'al' }));
  await publish(mqtt, 'alice', 'phone', { _type: 'card', name: 'Alice', face: 'iVBORw0KGgo=' }, '/info');
  await publish(mqtt, 'bob', 'tablet', location({ lat: 48.85, lon: 2.35, tst: nextTst(), tid: 'bo' }));
  await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 3
    && sql(broker.db, 'SELECT count(*) AS n FROM events')[0].n >= 1, { what: 'the seed stored' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await mqtt?.endAsync();
  await bridge?.stop();
  await broker?.stop();
  await new Promise((r) => (server ? server.close(r) : r()));
});

test('a frontend of another origin loads everything and sees a new location live', async () => {
  const { page, problems } = await newPage(browser);
  try {
    await page.goto(`${origin}/index.html?base=${encodeURIComponent(bridge.url)}`);
    // the whole start-up chain ran, the socket is open and LAST answered
    await page.waitForFunction(() => window.rec.version && window.rec.pushes.length >= 2, null, { timeout: 15000 });
    await page.waitForFunction(() => document.getElementById('socket').textContent === 'open');
    const rec = await page.evaluate(() => window.rec);
    assert.equal(rec.error, null);
    assert.deepEqual(rec.users, ['alice', 'bob']);
    assert.deepEqual(rec.devices, { alice: ['phone'], bob: ['tablet'] });
    // the calls in the frontend's order
    assert.equal(rec.calls[0], '/api/0/list');
    assert.deepEqual(rec.calls.slice(1, 3).sort(), ['/api/0/list?user=alice', '/api/0/list?user=bob']);
    assert.equal(rec.calls[3], '/api/0/last');
    const locs = rec.calls.slice(4, 6);
    for (const c of locs) {
      assert.match(c, /^\/api\/0\/locations\?from=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A00&to=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A59&user=\w+&device=\w+&format=json$/);
    }
    assert.equal(rec.calls[6], '/api/0/version');
    assert.equal(rec.history['alice/phone'].length, 2);
    assert.equal(rec.history['bob/tablet'].length, 1);
    assert.deepEqual(rec.pushes.slice(0, 2).map((p) => p.topic), ['owntracks/alice/phone', 'owntracks/bob/tablet']);
    assert.match(rec.version, /^\d+\.\d+/);
    const alice = page.locator('#last li[data-topic="owntracks/alice/phone"]');
    assert.equal(await alice.textContent(), `Alice: 52.53, 13.41 @ ${rec.last[0].tst}`);

    // a new location over MQTT: pushed, /last fetched again, shown
    const tst = nextTst();
    await publish(mqtt, 'alice', 'phone', location({ lat: 52.6, lon: 13.5, tst, tid: 'al' }));
    await page.waitForFunction((t) => window.rec.pushes.some((p) => p.tst === t), tst, { timeout: 10000 });
    await page.waitForFunction(
      (t) => document.querySelector('#last li[data-topic="owntracks/alice/phone"]').textContent === `Alice: 52.6, 13.5 @ ${t}`,
      tst, { timeout: 10000 });
    await page.screenshot({ path: screenshotPath('recorder-client.png') });
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.console, [], 'no CORS or other errors in the console');
  } finally {
    await page.context().close();
  }
});
