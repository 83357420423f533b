// Shared pieces of the browser tests: the real stack (mosquitto + plugin +
// bridge on free ports with a temporary database), Debian's Chromium through
// playwright-core, and helpers for publishing OwnTracks reports.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startBroker, mqttConnect, tmpDir, sourceDir, bridgePath, pluginPath } from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';

export const webRoot = path.join(sourceDir, 'web');
export const artifacts = path.join(sourceDir, 'tests', 'artifacts');
export const chromiumPath = process.env.MYTRACKS_CHROMIUM || '/usr/bin/chromium';

// fast timings so the fallback paths run within seconds
export const FAST = '?backoff_ms=100&poll_ms=500&ws_retry_ms=2000&stable_ms=1000';

/**
 * The bridge (tests/lib/bridge.mjs) serving this checkout's web/, with
 * start() to run it again on the same port after stop().
 */
async function startWebBridge(broker, extra = []) {
  const args = ['--web-root', webRoot, ...extra];
  const first = await startBridge(broker, { args });
  const bridge = { port: first.port, url: first.url, proc: first.proc };
  bridge.stop = () => bridge.proc.stop();
  bridge.start = async () => {
    const b = await startBridge(broker, { args, port: bridge.port });
    bridge.proc = b.proc;
    return bridge;
  };
  return bridge;
}

/** mosquitto + plugin + bridge on free ports with a fresh database;
 * `bridgeArgs` are extra bridge options, `pluginOptions` extra plugin_opt_*. */
export async function startStack({ bridgeArgs = [], pluginOptions = {} } = {}) {
  for (const f of [bridgePath, pluginPath, chromiumPath]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the project (and install chromium) first`);
  }
  const dir = tmpDir('mytracks-e2e-');
  // the bridge's MQTT user is the plugin's trusted user, as in production:
  // its deletes go through the control channel
  const broker = await startBroker({ dir, options: { trusted_user: 'mytracks-bridge', ...pluginOptions } });
  const bridge = await startWebBridge(broker, bridgeArgs);
  const mqtt = await mqttConnect(broker.port, { clientId: `e2e-${process.pid}-${Date.now()}` });
  return { dir, broker, bridge, mqtt };
}

let tst = Math.floor(Date.now() / 1000) - 3600;
/** A unique, recent fix time (the plugin stores (device, tst) once). */
export function nextTst() {
  tst += 1;
  return tst;
}

/** Publish an OwnTracks message on owntracks/<user>/<device>, QoS 1. */
export async function publish(mqtt, user, device, payload, sub = '') {
  await mqtt.publishAsync(`owntracks/${user}/${device}${sub}`, JSON.stringify(payload), { qos: 1 });
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
}

/**
 * A page with map tiles unreachable (as on a machine without internet),
 * recording page errors, dialogs and console errors that are not tile loads.
 * `contextOptions` go to browser.newContext() (a phone's viewport, say).
 */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
  const page = await context.newPage();
  const problems = { pageErrors: [], dialogs: [], console: [] };
  page.on('pageerror', (e) => problems.pageErrors.push(e.message));
  page.on('dialog', (d) => { problems.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_FAILED|WebSocket/.test(m.text())) problems.console.push(m.text());
  });
  await page.route(/^https:\/\/tile\.openstreetmap\.org\//, (r) => r.abort('internetdisconnected'));
  return { context, page, problems };
}

/** window.mytracks.state from the page. */
export function state(page) {
  return page.evaluate(() => window.mytracks.state);
}

/** Wait until the page's status is `status` (live, reconnecting, polling, offline). */
export function waitStatus(page, status, timeout = 15000) {
  return page.waitForFunction((s) => window.mytracks && window.mytracks.status === s, status, { timeout });
}

/** The device id the page knows for user/device. */
export async function deviceId(page, name) {
  const h = await page.waitForFunction((n) => {
    const d = window.mytracks && window.mytracks.devices().find((x) => x.name === n);
    return d ? d.id : null;
  }, name, { timeout: 10000 });
  return h.jsonValue();
}

/** Wait for a Live Activity row whose position starts with `pos` ("52.520008, 13.404954"). */
export function waitRow(page, pos, timeout = 10000) {
  return page.waitForFunction(
    (p) => [...document.querySelectorAll('#activity .row [data-field="pos"]')].some((e) => e.textContent === p),
    pos, { timeout });
}

export function screenshotPath(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, name);
}
