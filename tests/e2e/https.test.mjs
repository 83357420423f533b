// Browser test: the live map over https:// and wss:// with --tls-cert.
// Chromium offers h2 by ALPN; the bridge must pick http/1.1 so that its
// own responses (the history API, /api/me) arrive with their bodies, and
// the WebSocket must deliver a live location.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  startBroker, mqttConnect, location, stopAll, tmpDir, bridgePath, freePort, sanitizerEnv, Proc, waitFor,
} from '../lib/harness.mjs';
import {
  webRoot, chromiumPath, publish, nextTst, waitStatus, waitRow, FAST,
} from './support.mjs';

let broker; let bridge; let mqtt; let browser; let url;

before(async () => {
  const dir = tmpDir('mytracks-e2e-https-');
  broker = await startBroker({ dir });
  const cert = path.join(dir, 'cert.pem'); const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const port = await freePort();
  url = `https://127.0.0.1:${port}`;
  bridge = new Proc('bridge-tls', bridgePath, ['--http-port', String(port), '--mqtt-port', String(broker.port),
    '--database', broker.db, '--web-root', webRoot, '--console', '--log-level', 'info',
    '--tls-cert', cert, '--tls-key', key], { env: sanitizerEnv(false), logFile: path.join(dir, 'bridge-tls.log') });
  mqtt = await mqttConnect(broker.port, { clientId: `e2e-https-${process.pid}` });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--ignore-certificate-errors'],
  });
  // the bridge is up once the browser itself gets /healthz over https
  const probe = await browser.newContext({ ignoreHTTPSErrors: true });
  const p = await probe.newPage();
  await waitFor(async () => {
    if (!bridge.running) throw new Error(`bridge exited: ${bridge.output}`);
    const r = await p.goto(`${url}/healthz`).catch(() => null);
    return r && r.status() === 200;
  }, { timeout: 15000, what: 'the TLS bridge' });
  await probe.close();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (mqtt) await mqtt.endAsync().catch(() => {});
  if (bridge) await bridge.stop();
  await stopAll();
});

test('the page loads over https://, draws history and gets a live location over wss://', { timeout: 30000 }, async () => {
  await publish(mqtt, 'alice', 'phone', location({ lat: 48.1, lon: 11.5, tst: nextTst(), tid: 'al' }));
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.route(/^https:\/\/tile\.openstreetmap\.org\//, (r) => r.abort('internetdisconnected'));

  // the JSON answers the page reads are whole, and came over HTTP/1.1
  const api = page.waitForResponse((r) => r.url().includes('/api/'));
  await page.goto(`${url}/${FAST}`);
  const first = await api;
  assert.equal(first.status(), 200);
  assert.ok((await first.body()).length > 2, 'a non-empty API body');
  const proto = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  assert.equal(proto, 'http/1.1');

  await waitStatus(page, 'live');
  await waitRow(page, '48.100000, 11.500000');
  // a report published now arrives through the WebSocket
  await publish(mqtt, 'alice', 'phone', location({ lat: 48.2, lon: 11.6, tst: nextTst(), tid: 'al' }));
  await waitRow(page, '48.200000, 11.600000');
  assert.equal(await page.evaluate(() => window.mytracks.status), 'live');
  assert.deepEqual(pageErrors, []);
  await context.close();
});
