// Two bridges behind a real nginx (issue 15), configured from
// conf/nginx.conf.example: the example passes `nginx -t`; a WebSocket
// through nginx on each bridge sees every location (and /ws/last is
// upgraded too); with one --session-secret-file a login made on one bridge
// works on the other and through nginx; a logout ends the session on its
// bridge (the other keeps it until it expires, as docs/security.md says); a
// new password (users file rewritten, SIGHUP to both) ends it everywhere,
// sockets included; killing one bridge leaves nginx serving through the
// other, API and new WebSockets alike.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  buildDir, startBroker, mqttConnect, location, waitFor, stopAll, sanitizerEnv,
  assertNoSanitizerFindings,
} from '../lib/harness.mjs';
import { startBridge, wsConnect, framesOfType, metric } from '../lib/bridge.mjs';
import { fromExample, mainConf, nginxTest, startNginx } from '../lib/nginx.mjs';

const tool = path.join(buildDir, 'tools', 'mytracks-users');
const PW = { alice: 'alice pw one', alice2: 'alice pw two', bob: 'bob pw one' };

/** Run mytracks-users with the password (if any) on stdin. */
function users(file, args, input = '') {
  const r = spawnSync(tool, ['--file', file, ...args], { input, encoding: 'utf8', env: sanitizerEnv(false) });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

async function login(url, user, password, headers = {}) {
  const r = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ user, password }),
  });
  await r.arrayBuffer();
  return { status: r.status, cookie: r.headers.get('set-cookie')?.split(';')[0], setCookie: r.headers.get('set-cookie') };
}

async function me(url, cookie) {
  const r = await fetch(`${url}/api/me`, { headers: cookie ? { cookie } : {} });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

/** SIGHUP a bridge by PID; resolves once it logged one more reload. */
async function hup(bridge) {
  const re = /users file reloaded: \d+ users, (\d+) sessions ended/;
  const n = () => bridge.proc.output.split('\n').filter((l) => re.test(l)).length;
  const before = n();
  process.kill(bridge.proc.pid, 'SIGHUP');
  await waitFor(() => n() > before, { what: `a users reload by ${bridge.proc.name}` });
  return Number(bridge.proc.output.split('\n').filter((l) => re.test(l)).pop().match(re)[1]);
}

describe('two bridges behind nginx', () => {
  let broker; let dir; let file; let secret; let phone;
  let a; let b; let nginx; let front;
  let tst = Math.floor(Date.now() / 1000) - 1000;

  /** Publish a location; resolves once the broker took it. */
  const publish = (user, lat) => phone.publishAsync(`owntracks/${user}/phone`,
    JSON.stringify(location({ lat, lon: lat, tst: tst++ })), { qos: 1 });
  const isLoc = (user, lat) => (f) => f.includes(`"device_name":"${user}/phone"`) && f.includes(`"latitude":"${lat.toFixed(6)}"`);
  const bridgeArgs = () => ['--users', file, '--session-secret-file', secret, '--trusted-proxy', '127.0.0.1'];

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    dir = broker.dir;
    file = path.join(dir, 'users');
    users(file, ['add', 'alice', '--admin'], `${PW.alice}\n`);
    users(file, ['add', 'bob'], `${PW.bob}\n`);
    secret = path.join(dir, 'session-secret');
    fs.writeFileSync(secret, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    a = await startBridge(broker, { args: bridgeArgs(), name: 'bridge-a' });
    b = await startBridge(broker, { args: bridgeArgs(), name: 'bridge-b' });
    phone = await mqttConnect(broker.port, { clientId: 'nginx-phones' });

    front = await startNginx({ dir, ports: [a.port, b.port], ready: async (url) => (await fetch(`${url}/api/me`)).status === 401 });
    nginx = front.proc;
  });

  after(async () => {
    await phone?.endAsync();
    await stopAll(); // nginx too: SIGTERM to its master's PID, which stops its workers
  });

  it('the example config passes nginx -t (TLS as written, with a test certificate)', () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-subj', '/CN=map.example.org', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const conf = path.join(dir, 'nginx-tls.conf');
    fs.writeFileSync(conf, mainConf(dir, fromExample({ ports: [a.port, b.port], cert, key })));
    const r = nginxTest(dir, conf);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /test is successful/);
    // and the test can fail: a broken copy is refused
    fs.writeFileSync(conf, mainConf(dir, fromExample({ ports: [a.port, b.port], cert, key }).replace('least_conn;', 'least_conn')));
    assert.notEqual(nginxTest(dir, conf).status, 0);
  });

  it('a bridge refuses a secret file others may read, or a short one', async () => {
    const loose = path.join(dir, 'loose-secret');
    fs.writeFileSync(loose, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
    fs.chmodSync(loose, 0o644);
    await assert.rejects(startBridge(broker, { args: ['--users', file, '--session-secret-file', loose], name: 'loose' }),
      /has mode 0644: group or others may read/);
    const short = path.join(dir, 'short-secret');
    fs.writeFileSync(short, 'only 31 bytes of secret here...\n', { mode: 0o600 });
    await assert.rejects(startBridge(broker, { args: ['--users', file, '--session-secret-file', short], name: 'short' }),
      /holds 31 bytes, at least 32/);
  });

  it('a login made on one bridge works on the other and through nginx', async () => {
    const s = await login(a.url, 'bob', PW.bob);
    assert.equal(s.status, 200);
    assert.match(s.cookie, /^mytracks_session=v1\.626f62\.\d+\.\d+\.[0-9a-f]{32}\.[0-9a-f]{64}$/);
    assert.deepEqual((await me(b.url, s.cookie)).body, { user: 'bob', admin: false, login: true });
    assert.equal((await me(a.url, s.cookie)).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await me(front.url, s.cookie)).status, 200, `through nginx, #${i}`);
    // forged or foreign: refused on both
    const forged = s.cookie.replace('.626f62.', '.616c696365.'); // "alice", same MAC
    assert.equal((await me(b.url, forged)).status, 401);
    assert.equal((await me(front.url, forged)).status, 401);
    // a login through nginx, with the client's address passed on
    const f = await login(front.url, 'bob', PW.bob, { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(f.status, 200);
    assert.match(f.setCookie, /; Secure/, 'nginx marks the cookie Secure (proxy_cookie_flags)');
    assert.doesNotMatch(s.setCookie, /; Secure/);
    assert.equal((await me(a.url, f.cookie)).status, 200);
    assert.equal((await me(b.url, f.cookie)).status, 200);
    await waitFor(() => [a, b].some((x) => x.proc.output.includes('user bob logged in from 203.0.113.9')),
      { what: 'the login logged with the X-Forwarded-For address' });
    // a bridge without the secret does not know it
    const c = await startBridge(broker, { args: ['--users', file], name: 'bridge-c' });
    assert.equal((await me(c.url, s.cookie)).status, 401);
    await c.stop();
  });

  it('a WebSocket through nginx on each bridge sees every location', async () => {
    const s = await login(b.url, 'alice', PW.alice);
    assert.equal(s.status, 200);
    const opts = { headers: { cookie: s.cookie } };
    const w1 = await wsConnect(`${front.ws}/ws/locations/`, opts);
    const w2 = await wsConnect(`${front.ws}/ws/locations/`, opts);
    const last = await wsConnect(`${front.ws}/ws/last`, opts);
    // least_conn spread them: both bridges hold at least one
    await waitFor(async () => (await metric(a, 'mytracks_bridge_ws_clients')) >= 1
      && (await metric(b, 'mytracks_bridge_ws_clients')) >= 1, { what: 'a WebSocket on each bridge' });
    assert.equal((await metric(a, 'mytracks_bridge_ws_clients')) + (await metric(b, 'mytracks_bridge_ws_clients')), 3);
    await publish('bob', 21);
    await publish('alice', 11);
    await publish('bob', 22);
    for (const w of [w1, w2]) {
      await w.waitFor(isLoc('bob', 22));
      const got = framesOfType(w.frames, 'location').map((m) => `${m.data.user}:${Number(m.data.latitude)}`);
      assert.deepEqual(got, ['bob:21', 'alice:11', 'bob:22']);
    }
    await last.waitFor((f) => { const o = JSON.parse(f); return o._type === 'location' && o.username === 'bob' && o.lat === 22; });
    await Promise.all([w1.close(), w2.close(), last.close()]);
  });

  it('a logout ends the session on its bridge; the other accepts the token until it expires', async () => {
    const s = await login(a.url, 'bob', PW.bob);
    const onA = await wsConnect(a.wsUrl, { headers: { cookie: s.cookie } });
    const onB = await wsConnect(b.wsUrl, { headers: { cookie: s.cookie } });
    const r = await fetch(`${a.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: s.cookie } });
    assert.equal(r.status, 303);
    assert.match(r.headers.get('set-cookie'), /^mytracks_session=; .*Max-Age=0/);
    assert.equal(await onA.closed, 1008, 'its socket on the bridge logged out of closes');
    assert.equal((await me(a.url, s.cookie)).status, 401);
    // the documented limit (docs/security.md): no shared revocation list
    assert.equal((await me(b.url, s.cookie)).status, 200);
    assert.equal(onB.isClosed, false);
    await onB.close();
  });

  it('a new password (users file rewritten, SIGHUP to both) ends the session on both', async () => {
    const s = await login(front.url, 'alice', PW.alice);
    assert.equal(s.status, 200);
    const onA = await wsConnect(a.wsUrl, { headers: { cookie: s.cookie } });
    const onB = await wsConnect(b.wsUrl, { headers: { cookie: s.cookie } });
    const bob = await login(a.url, 'bob', PW.bob);
    users(file, ['passwd', 'alice'], `${PW.alice2}\n`);
    assert.ok((await hup(a)) >= 1);
    assert.ok((await hup(b)) >= 1);
    assert.equal(await onA.closed, 1008);
    assert.equal(await onB.closed, 1008);
    for (const url of [a.url, b.url, front.url]) {
      assert.equal((await me(url, s.cookie)).status, 401, url);
      assert.equal((await me(url, bob.cookie)).status, 200, `bob keeps his session on ${url}`);
    }
    assert.equal((await login(front.url, 'alice', PW.alice)).status, 401);
    assert.equal((await login(front.url, 'alice', PW.alice2)).status, 200);
  });

  it('killing one bridge leaves nginx serving through the other', async () => {
    const s = await login(front.url, 'alice', PW.alice2);
    assert.equal(s.status, 200);
    const old = await wsConnect(`${front.ws}/ws/locations/`, { headers: { cookie: s.cookie } });
    const clients = async () => (await metric(a, 'mytracks_bridge_ws_clients')) + (await metric(b, 'mytracks_bridge_ws_clients'));
    await waitFor(async () => (await clients()) === 1, { what: 'only the new WebSocket open' });
    const victim = (await metric(a, 'mytracks_bridge_ws_clients')) >= 1 ? a : b;
    const survivor = victim === a ? b : a;
    await victim.stop({ signal: 'SIGKILL' });
    await old.closed; // its bridge is gone
    // the API: every request answered, by the survivor
    for (let i = 0; i < 6; i++) {
      assert.deepEqual((await me(front.url, s.cookie)).body, { user: 'alice', admin: true, login: true }, `request #${i}`);
    }
    const again = await login(front.url, 'bob', PW.bob);
    assert.equal(again.status, 200);
    assert.equal((await me(survivor.url, again.cookie)).status, 200);
    // a new WebSocket lands on the survivor and sees new locations
    const w = await wsConnect(`${front.ws}/ws/locations/`, { headers: { cookie: s.cookie } });
    await publish('bob', 23);
    await w.waitFor(isLoc('bob', 23));
    assert.equal(await metric(survivor, 'mytracks_bridge_ws_clients'), 1);
    await w.close();
    assert.ok(nginx.running);
    assertNoSanitizerFindings(assert, survivor.proc);
  });
});
