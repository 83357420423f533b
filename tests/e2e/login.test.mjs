// Browser test: logging in to a bridge started with --users. The page
// sends a visitor without a session to the login page, a wrong password
// keeps them there with a message, alice's password opens the map with only
// her devices (bob's never appear, neither from history nor live), and
// logging out returns to the login page. A page of another origin cannot
// log the visitor in (login CSRF).
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startBroker, mqttConnect, tmpDir, location, bridgePath, pluginPath, sanitizerEnv, waitFor,
} from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';
import {
  webRoot, chromiumPath, launchBrowser, newPage, publish, nextTst, waitStatus, deviceId, waitRow, screenshotPath,
} from './support.mjs';

const PASSWORDS = { alice: 'alice-correct-horse', admin: 'admin-battery-staple' };

let broker;
let bridge;
let mqtt;
let browser;
let page;
let problems;

/** Positions shown in Live Activity and device names in the device list. */
const rows = () => page.locator('#activity .row [data-field="pos"]').allTextContents();
const rowDevices = () => page.locator('#activity .row [data-field="device"]').allTextContents();
const listedDevices = () => page.evaluate(
  () => [...document.querySelectorAll('#devices .device [data-field="name"]')].map((e) => e.title));

before(async () => {
  for (const f of [bridgePath, pluginPath, chromiumPath]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the project (and install chromium) first`);
  }
  const dir = tmpDir('mytracks-e2e-login-');
  broker = await startBroker({ dir, options: { trusted_user: 'mytracks-bridge' } });
  const hashAlice = execFileSync(bridgePath, ['--hash-password'],
    { input: `${PASSWORDS.alice}\n`, env: sanitizerEnv(false) }).toString().trim();
  const hashAdmin = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${PASSWORDS.admin}\n` }).toString().trim();
  const usersFile = path.join(dir, 'users');
  fs.writeFileSync(usersFile, `alice:${hashAlice}\nadmin:${hashAdmin}:admin\n`);
  bridge = await startBridge(broker, { args: ['--web-root', webRoot, '--users', usersFile] });
  mqtt = await mqttConnect(broker.port, { clientId: `e2e-login-${process.pid}-${Date.now()}` });
  await publish(mqtt, 'alice', 'phone', location({ lat: 52.52, lon: 13.405, tst: nextTst(), tid: 'al' }));
  await publish(mqtt, 'bob', 'phone', location({ lat: 48.85, lon: 2.35, tst: nextTst(), tid: 'bo' }));
  // both are stored before the page opens (the admin sees everything)
  const login = await fetch(`${bridge.url}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'admin', password: PASSWORDS.admin }),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0];
  assert.ok(cookie, `admin login failed: ${login.status}`);
  await waitFor(async () => {
    const r = await (await fetch(`${bridge.url}/api/locations/`, { headers: { cookie } })).json();
    return r.count === 2;
  }, { what: 'both locations in the history API' });
  browser = await launchBrowser();
  ({ page, problems } = await newPage(browser));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (mqtt) await mqtt.endAsync().catch(() => {});
  if (bridge) await bridge.stop();
  if (broker) await broker.stop();
});

test('without a session the page redirects to the login page', { timeout: 20000 }, async () => {
  await page.goto(`${bridge.url}/`);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.ok(await page.locator('form#login').isVisible());
  assert.equal(await page.locator('#login-failed').isVisible(), false, 'no error before a try');
});

test('a wrong password shows an error and stays on the login page', { timeout: 20000 }, async () => {
  await page.fill('#user', 'alice');
  await page.fill('#password', 'not-her-password');
  await Promise.all([page.waitForNavigation(), page.click('form#login button[type="submit"]')]);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.ok(await page.locator('#login-failed').isVisible(), 'the error is shown');
  assert.equal(await page.textContent('#login-failed'), 'Wrong user name or password.');
  assert.equal((await page.context().cookies()).filter((c) => c.name === 'mytracks_session').length, 0,
    'no session cookie');
});

test("alice's password opens the map with her device only, also live", { timeout: 30000 }, async () => {
  await page.fill('#user', 'alice');
  await page.fill('#password', PASSWORDS.alice);
  await Promise.all([page.waitForNavigation(), page.click('form#login button[type="submit"]')]);
  assert.equal(new URL(page.url()).pathname, '/');
  await waitStatus(page, 'live');
  await deviceId(page, 'alice/phone');
  await waitRow(page, '52.520000, 13.405000');
  assert.deepEqual(await listedDevices(), ['alice/phone']);
  assert.deepEqual(await rowDevices(), ['alice/phone']);
  assert.ok(await page.locator('#logout').isVisible(), 'the log-out button is shown');

  // bob moves, then alice: the relay keeps broker order, so once alice's new
  // row is there, bob's would have arrived before it
  await publish(mqtt, 'bob', 'phone', location({ lat: 48.86, lon: 2.36, tst: nextTst(), tid: 'bo' }));
  await publish(mqtt, 'alice', 'phone', location({ lat: 52.53, lon: 13.415, tst: nextTst(), tid: 'al' }));
  await waitRow(page, '52.530000, 13.415000');
  assert.deepEqual(await rows(), ['52.530000, 13.415000', '52.520000, 13.405000']);
  assert.deepEqual(await rowDevices(), ['alice/phone', 'alice/phone']);
  assert.deepEqual(await listedDevices(), ['alice/phone']);
  const names = await page.evaluate(() => window.mytracks.devices().map((d) => d.name));
  assert.deepEqual(names, ['alice/phone'], 'the page never learned of bob/phone');
  assert.equal(await page.locator('#status').textContent(), 'Live');
  assert.doesNotMatch(await page.textContent('body'), /bob/);
  await page.screenshot({ path: screenshotPath('login.png') });
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.dialogs, []);
});

test('logging out returns to the login page and ends the session', { timeout: 20000 }, async () => {
  await Promise.all([page.waitForNavigation(), page.click('#logout button[type="submit"]')]);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.ok(await page.locator('form#login').isVisible());
  // the map is out of reach again
  await page.goto(`${bridge.url}/`);
  assert.equal(new URL(page.url()).pathname, '/login');
  const api = await page.evaluate(async () => (await fetch('/api/devices/')).status);
  assert.equal(api, 401);
});

test('a page of another origin cannot log the visitor in (login CSRF)', { timeout: 20000 }, async () => {
  // the attacker's page: a form that posts alice's credentials (known to the
  // attacker, who wants the visitor to use the attacker's account) to the bridge
  const html = `<!doctype html><form id="f" method="post" action="${bridge.url}/login">
    <input name="user" value="alice"><input name="password" value="${PASSWORDS.alice}"></form>
    <script>document.getElementById('f').submit();</script>`;
  const evil = http.createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end(html); });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  try {
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${bridge.url}/login` && r.request().method() === 'POST'),
      page.goto(`http://127.0.0.1:${evil.address().port}/`),
    ]);
    assert.equal(resp.status(), 403);
    assert.equal((await page.context().cookies()).filter((c) => c.name === 'mytracks_session').length, 0,
      'no session cookie');
  } finally {
    await new Promise((r) => evil.close(r));
  }
});
