// Browser test: the live map of a site with two brokers, each with the
// plugin, on one PostgreSQL database (tests/lib/brokers.mjs). A phone on
// each broker and one on both: the page, served by a bridge on broker A,
// shows every location once, live, with the ids of its rows.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, mqttConnect, sql, stopAll } from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { startSharedBrokers } from '../lib/brokers.mjs';
import { launchBrowser, newPage, nextTst, publish, waitRow, waitStatus, webRoot, FAST } from './support.mjs';

let url, a, b, bridge, browser, page, problems;

before(async () => {
  const pg = await startPostgres();
  url = pg.createDatabase('e2e');
  ({ a, b } = await startSharedBrokers(url));
  bridge = await startBridge(a, { args: ['--web-root', webRoot], name: 'bridge-a' });
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopAll();
});

test('locations sent to either broker appear on the page once, live', { timeout: 60000 }, async () => {
  await page.goto(`${bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  const onA = await mqttConnect(a.port, { clientId: 'e2e-phone-a' });
  const onB = await mqttConnect(b.port, { clientId: 'e2e-phone-b' });
  const sent = [];
  for (let i = 0; i < 5; i++) {
    const fixA = location({ lat: 52.52 + i * 0.001, lon: 13.40, tst: nextTst(), tid: 'al' });
    const fixB = location({ lat: 48.13 + i * 0.001, lon: 11.58, tst: nextTst(), tid: 'bo' });
    await publish(onA, 'alice', 'phone', fixA);
    await publish(onB, 'bob', 'tab', fixB);
    sent.push(fixA, fixB);
  }
  // carol's phone switched brokers and sent the same fix to both
  const fixC = location({ lat: 50.11, lon: 8.68, tst: nextTst(), tid: 'ca' });
  await publish(onA, 'carol', 'phone', fixC);
  await publish(onB, 'carol', 'phone', fixC);
  sent.push(fixC);
  for (const f of sent) await waitRow(page, `${f.lat.toFixed(6)}, ${f.lon.toFixed(6)}`, 20000);

  const seen = await page.evaluate(() => window.mytracks.state);
  const rows = sql(url, `SELECT l.id, d."user" || '/' || d.device AS name FROM locations l
    JOIN devices d ON d.id = l.device_id WHERE d."user" <> 'warm' ORDER BY l.id`);
  assert.equal(rows.length, sent.length, 'each fix stored once');
  // every row once in Live Activity (carol's too), nothing else
  const activity = await page.$$eval('#activity .row', (els) => els.length);
  assert.equal(activity, seen.activity);
  assert.ok(seen.activity >= rows.length, JSON.stringify(seen));
  const names = await page.evaluate(() => window.mytracks.devices().map((d) => `${d.name}:${d.id}`).sort());
  const stored = sql(url, `SELECT "user" || '/' || device || ':' || id AS k FROM devices WHERE "user" <> 'warm' ORDER BY 1`).map((r) => r.k);
  for (const k of stored) assert.ok(names.includes(k), `${k} on the page (${names.join(', ')})`);
  const carolRows = await page.$$eval('#activity .row [data-field="pos"]',
    (els, pos) => els.filter((e) => e.textContent === pos).length, `${fixC.lat.toFixed(6)}, ${fixC.lon.toFixed(6)}`);
  assert.equal(carolRows, 1, "carol's fix once, though it reached both brokers");
  assert.deepEqual(problems.pageErrors, []);
  await onA.endAsync();
  await onB.endAsync();
});
