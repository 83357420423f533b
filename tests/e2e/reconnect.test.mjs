// Browser test: the page's reconnect and polling fallback against the real
// broker, plugin and bridge. The WebSocket is broken with Playwright's
// WebSocket routing (HTTP keeps working: the page must poll), then the
// bridge itself is stopped and restarted (nothing answers: Offline, then Live
// again with what was published meanwhile).
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { location, stopAll, waitFor } from '../lib/harness.mjs';
import {
  startStack, launchBrowser, newPage, publish, nextTst, state, waitStatus, waitRow, screenshotPath, FAST,
} from './support.mjs';

let stack;
let browser;
let page;
let problems;
let wsBroken = false;
const routed = new Set(); // page-side WebSocket routes currently connected

before(async () => {
  stack = await startStack();
  for (let i = 0; i < 3; i++) {
    await publish(stack.mqtt, 'carol', 'phone', location({ lat: 48.85 + i * 0.001, lon: 2.35, tst: nextTst() }));
  }
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser));
  // every page WebSocket goes through here: passed to the bridge, or refused
  await page.routeWebSocket(/\/ws\/locations\/$/, (ws) => {
    if (wsBroken) {
      ws.close({ code: 1011, reason: 'test: WebSocket broken' });
      return;
    }
    ws.connectToServer();
    routed.add(ws);
    ws.onClose(() => routed.delete(ws));
  });
  await page.goto(`${stack.bridge.url}/${FAST}`);
  await waitStatus(page, 'live');
  await page.waitForFunction(() => window.mytracks.state.activity === 3, null, { timeout: 10000 });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.mqtt.endAsync().catch(() => {});
  await stopAll();
});

const statusLog = async () => (await state(page)).statusLog;

test('WebSocket refused: Reconnecting 1..5, then Polling; reports still arrive; Live again', { timeout: 30000 }, async () => {
  wsBroken = true;
  for (const ws of routed) ws.close({ code: 1001, reason: 'test: drop' });
  await waitStatus(page, 'reconnecting', 5000);
  assert.match(await page.textContent('#status'), /^Reconnecting \(attempt \d of 5\)$/);
  await waitStatus(page, 'polling', 10000);
  assert.equal(await page.textContent('#status'), 'Polling');
  const log = await statusLog();
  const tail = log.slice(log.lastIndexOf('Live') + 1);
  assert.deepEqual(tail, [1, 2, 3, 4, 5].map((n) => `Reconnecting (attempt ${n} of 5)`).concat('Polling'));

  // published while the WebSocket is down: arrives by polling since_id
  const polls = (await state(page)).counters.polls;
  await publish(stack.mqtt, 'carol', 'phone', location({ lat: 48.9, lon: 2.4, tst: nextTst() }));
  await waitRow(page, '48.900000, 2.400000');
  assert.ok((await state(page)).counters.polls > polls, 'it came by polling');
  assert.equal(await page.textContent('#status'), 'Polling');
  await page.screenshot({ path: screenshotPath('polling.png') });

  // the WebSocket works again: the background retry (ws_retry_ms) goes Live
  wsBroken = false;
  await waitStatus(page, 'live', 8000);
  const s = await state(page);
  assert.equal(s.polling, false);
  await publish(stack.mqtt, 'carol', 'phone', location({ lat: 48.91, lon: 2.41, tst: nextTst() }));
  await waitRow(page, '48.910000, 2.410000');
  // no polling once Live: none happened, and none can (no poll or retry
  // timer is armed; only a close starts polling again)
  const live = await state(page);
  assert.equal(live.counters.polls, s.counters.polls, 'no polling once Live');
  assert.deepEqual(live.armedTimers.filter((t) => t === 'poll' || t === 'retry'), []);
  assert.equal(live.status, 'live');
  assert.equal((await state(page)).activity, 5);
});

test('bridge stopped: Reconnecting, then Offline; restarted: Live with everything published meanwhile', { timeout: 40000 }, async () => {
  const before = await state(page);
  await stack.bridge.stop();
  await waitStatus(page, 'reconnecting', 5000);
  // the broker and plugin keep storing while the bridge is away
  await publish(stack.mqtt, 'carol', 'phone', location({ lat: 48.92, lon: 2.42, tst: nextTst() }));
  await publish(stack.mqtt, 'dave', 'bike', location({ lat: 48.8, lon: 2.3, tst: nextTst(), tid: 'db' }));
  // 5 attempts fail, then the polls fail too: Offline
  await waitStatus(page, 'offline', 10000);
  assert.equal(await page.textContent('#status'), 'Offline');
  assert.ok((await statusLog()).includes('Reconnecting (attempt 5 of 5)'));
  // server_startup has a resolution of one second: the restarted bridge's
  // must differ from the old one
  await waitFor(() => Math.floor(Date.now() / 1000) > before.serverStartup, { what: 'a new server_startup second' });
  await stack.bridge.start();
  await waitStatus(page, 'live', 10000);
  // the new server_startup made the page reload its history, once
  await waitFor(async () => {
    const s = await state(page);
    return s.status === 'live' && s.counters.resets === before.counters.resets + 1 && s.historyLoaded;
  }, { timeout: 10000, what: 'the history reloaded after the restart' });
  await waitRow(page, '48.920000, 2.420000');
  await waitRow(page, '48.800000, 2.300000');
  // a last report, published after the reload, comes over the new
  // WebSocket after everything the bridge sent before it: once it is
  // shown, the count is final
  await publish(stack.mqtt, 'carol', 'phone', location({ lat: 48.93, lon: 2.43, tst: nextTst() }));
  await waitRow(page, '48.930000, 2.430000');
  const s = await state(page);
  assert.notEqual(s.serverStartup, before.serverStartup, 'the restarted bridge has a new server_startup');
  assert.equal(s.counters.resets, before.counters.resets + 1, 'one history reload');
  assert.equal(s.activity, 8, 'all 8 locations, each once');
  assert.equal(new Set(s.activityIds).size, s.activityIds.length);
  assert.equal(s.devices, 2);
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.dialogs, []);
});
