// Security round 2 (issue 9) on the bridge's web side: login input that
// once crashed the bridge or forged log lines, the Host check (DNS
// rebinding), the Origin check of POSTs (CSRF, login CSRF), WebSockets
// closed when their session ends, sessions per user, the password cap and
// the failed-login limit, and HTTP-mode reports validated before they are
// acknowledged. Real broker, plugin and bridges on free loopback ports.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import {
  startBroker, collector, location, waitFor, stopAll, assertNoSanitizerFindings,
} from '../lib/harness.mjs';
import { startBridge, getJson, metric } from '../lib/bridge.mjs';

const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' };

/** One HTTP request with any headers (Host included): { status, headers, body, json }. */
function request(port, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

const form = (o) => new URLSearchParams(o).toString();

async function login(bridge, user, password, headers = {}) {
  const r = await request(bridge.port, {
    method: 'POST', path: '/login', body: JSON.stringify({ user, password }),
    headers: { 'content-type': 'application/json', ...headers },
  });
  const c = r.headers['set-cookie']?.[0];
  return { ...r, cookie: c?.split(';')[0] };
}

/** Open a WebSocket: resolves { ws, closed } once open, or 'refused'. */
function openWs(bridge, headers = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/ws/locations/`, { headers });
    const closed = new Promise((r) => ws.once('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (req) => { req.destroy(); resolve('refused'); });
    ws.once('error', () => resolve('refused'));
  });
}

/** The close code of a WebSocket from openWs, or 'still open' after `ms`. */
function closedWithin(w, ms = 5000) {
  let t;
  return Promise.race([w.closed, new Promise((r) => { t = setTimeout(() => r('still open'), ms); })])
    .finally(() => clearTimeout(t));
}

async function stopChecked(b) {
  const r = await b.stop();
  assert.equal(r.code, 0, `${b.proc.name} exit: ${JSON.stringify(r)}\n${b.proc.output.slice(-2000)}`);
  assertNoSanitizerFindings(assert, b.proc);
}

describe('websec', () => {
  let broker; let usersFile;
  const bridges = [];
  const start = async (name, args) => {
    const b = await startBridge(broker, { name, args });
    bridges.push(b);
    return b;
  };

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    const hash = (pw) => execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${pw}\n` }).toString().trim();
    usersFile = path.join(broker.dir, 'users');
    fs.writeFileSync(usersFile, `alice:${hash(PASSWORDS.alice)}\nbob:${hash(PASSWORDS.bob)}\n`);
  });

  after(async () => {
    for (const b of bridges) if (b.proc.running) await stopChecked(b);
    await stopAll();
  });

  it('survives over-long and malformed login fields and logs no forged line', { timeout: 60000 }, async () => {
    const b = await start('login-input', ['--users', usersFile, '--login-limit', '0']);
    const bodies = [
      form({ user: 'a'.repeat(129), password: 'x' }),
      form({ user: 'b'.repeat(4000), password: 'x' }),
      'user=ab%zz&password=x',
      'user=ab%4&password=x',
      'user=ab%&password=x',
      'user=a%00b&password=x',
    ];
    for (const body of bodies) {
      const r = await request(b.port, { method: 'POST', path: '/login', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r.status, 400, `${body.slice(0, 40)}: ${r.status} ${r.body}`);
      assert.equal(r.headers['set-cookie'], undefined);
    }
    const j = await request(b.port, { method: 'POST', path: '/login', body: JSON.stringify({ user: 'c'.repeat(200), password: 'x' }), headers: { 'content-type': 'application/json' } });
    assert.equal(j.status, 400);
    // a newline in the user name must not start a log line of its own
    const forged = 'user=mallory%0aFORGED%20user%20alice%20logged%20in%20from%201.2.3.4%0d%1b[2J&password=x';
    const f = await request(b.port, { method: 'POST', path: '/login', body: forged, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(f.status, 303);
    const jf = await login(b, 'eve\nFORGED json', 'x');
    assert.equal(jf.status, 401);
    assert.equal((await getJson(`${b.url}/healthz`)).status, 200, 'the bridge still answers');
    await waitFor(() => b.proc.output.includes('FORGED json'), { what: 'the failed logins logged' });
    const lines = b.proc.output.split('\n').filter((l) => l.includes('FORGED'));
    assert.equal(lines.length, 2, lines.join('\n'));
    for (const l of lines) assert.match(l, /login failed for '(mallory|eve)\\x0aFORGED/, l);
    assert.ok(!b.proc.output.includes('\x1b'), 'no terminal escape reaches the log');
    await stopChecked(b);
  });

  it('refuses a Host that is not this server (DNS rebinding), on HTTP and WebSocket', { timeout: 60000 }, async () => {
    const b = await start('host', ['--server-name', 'tracks.example.test']);
    for (const host of [`127.0.0.1:${b.port}`, `localhost:${b.port}`, `[::1]:${b.port}`, 'tracks.example.test', `TRACKS.example.test:${b.port}`]) {
      const r = await request(b.port, { path: '/api/devices/', headers: { host } });
      assert.equal(r.status, 200, `${host}: ${r.body}`);
    }
    for (const host of ['rebind.attacker.example', `rebind.attacker.example:${b.port}`, 'localhost.attacker.example', '127.0.0.1.nip.io']) {
      const r = await request(b.port, { path: '/api/devices/', headers: { host } });
      assert.equal(r.status, 421, `${host}: ${r.status}`);
      assert.match(r.json?.error ?? '', /Host/);
      const p = await request(b.port, { method: 'POST', path: '/pub', headers: { host, 'x-limit-u': 'x', 'x-limit-d': 'y' }, body: JSON.stringify(location()) });
      assert.equal(p.status, 421);
    }
    assert.equal(await openWs(b, { host: 'rebind.attacker.example' }), 'refused');
    const ok = await openWs(b, { host: `localhost:${b.port}` });
    assert.notEqual(ok, 'refused');
    ok.ws.terminate();
    assert.ok((await metric(b, 'mytracks_bridge_host_refused_total')) >= 9);
    await stopChecked(b);
  });

  it('refuses POSTs from a foreign Origin; phones (no Origin) still report', { timeout: 60000 }, async () => {
    const b = await start('origin', []);
    const sub = await collector(broker.port, 'owntracks/csrf/#');
    const pub = (device, headers) => request(b.port, {
      method: 'POST', path: '/pub', body: JSON.stringify(location({ tst: Math.floor(Date.now() / 1000) })),
      headers: { 'content-type': 'text/plain', 'x-limit-u': 'csrf', 'x-limit-d': device, ...headers },
    });
    let r = await pub('evil', { origin: 'http://evil.example' });
    assert.equal(r.status, 403, r.body);
    r = await pub('evil', { origin: 'null' });
    assert.equal(r.status, 403);
    r = await pub('evil', { 'sec-fetch-site': 'cross-site' });
    assert.equal(r.status, 403);
    r = await request(b.port, { method: 'POST', path: '/api/locations/', body: JSON.stringify(location()), headers: { origin: 'http://evil.example', 'x-limit-u': 'csrf', 'x-limit-d': 'evil' } });
    assert.equal(r.status, 403);
    r = await pub('own', { origin: `http://127.0.0.1:${b.port}` });
    assert.equal(r.status, 200, r.body);
    r = await pub('phone', {});
    assert.equal(r.status, 200, r.body);
    await waitFor(() => sub.messages.some((m) => m.topic === 'owntracks/csrf/phone'), { what: 'the phone report relayed' });
    assert.deepEqual(sub.messages.filter((m) => m.topic.endsWith('/evil')), []);
    await sub.close();
    assert.equal(await metric(b, 'mytracks_bridge_origin_refused_total'), 4);
    await stopChecked(b);
  });

  it('refuses a cross-site login (login CSRF) and logout', { timeout: 60000 }, async () => {
    const b = await start('login-csrf', ['--users', usersFile]);
    let r = await login(b, 'alice', PASSWORDS.alice, { origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.cookie, undefined);
    r = await request(b.port, { method: 'POST', path: '/login', body: form({ user: 'alice', password: PASSWORDS.alice }), headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' } });
    assert.equal(r.status, 403);
    const ok = await login(b, 'alice', PASSWORDS.alice, { origin: `http://127.0.0.1:${b.port}` });
    assert.equal(ok.status, 200);
    r = await request(b.port, { method: 'POST', path: '/logout', headers: { cookie: ok.cookie, origin: 'http://evil.example' } });
    assert.equal(r.status, 403);
    assert.equal((await request(b.port, { path: '/api/me', headers: { cookie: ok.cookie } })).json.user, 'alice', 'still logged in');
    await stopChecked(b);
  });

  it('closes WebSockets when their session ends: logout, eviction, expiry', { timeout: 60000 }, async () => {
    const b = await start('sessions', ['--users', usersFile, '--max-user-sessions', '2', '--session-ttl', '10']);
    // logout
    const s1 = await login(b, 'alice', PASSWORDS.alice);
    const bobS = await login(b, 'bob', PASSWORDS.bob);
    const w1 = await openWs(b, { cookie: s1.cookie });
    const wBob = await openWs(b, { cookie: bobS.cookie });
    assert.notEqual(w1, 'refused');
    const out = await request(b.port, { method: 'POST', path: '/logout', headers: { cookie: s1.cookie } });
    assert.equal(out.status, 303);
    assert.equal(await closedWithin(w1), 1008);
    assert.equal(await openWs(b, { cookie: s1.cookie }), 'refused');

    // a third session of alice ends her oldest, not bob's
    const a1 = await login(b, 'alice', PASSWORDS.alice);
    const a2 = await login(b, 'alice', PASSWORDS.alice);
    const wa1 = await openWs(b, { cookie: a1.cookie });
    const a3 = await login(b, 'alice', PASSWORDS.alice);
    assert.equal(a3.status, 200);
    assert.equal(await closedWithin(wa1), 1008);
    assert.equal((await request(b.port, { path: '/api/me', headers: { cookie: a1.cookie } })).status, 401);
    for (const c of [a2.cookie, a3.cookie]) assert.equal((await request(b.port, { path: '/api/me', headers: { cookie: c } })).json.user, 'alice');
    assert.equal((await request(b.port, { path: '/api/me', headers: { cookie: bobS.cookie } })).json.user, 'bob');

    // expiry (--session-ttl 10): the socket is closed by the 1 s tick
    const wa3 = await openWs(b, { cookie: a3.cookie });
    assert.equal(await closedWithin(wa3, 20000), 1008);
    assert.equal(await closedWithin(wBob, 1000), 1008, 'bob\'s session expired too');
    assert.ok((await metric(b, 'mytracks_bridge_ws_session_closed_total')) >= 4);
    await stopChecked(b);
  });

  it('refuses a password over 256 bytes before crypt, and limits failed logins (429)', { timeout: 60000 }, async () => {
    const b = await start('limit', ['--users', usersFile, '--login-limit', '3']);
    let r = await login(b, 'alice', 'p'.repeat(257));
    assert.equal(r.status, 400);
    for (let i = 0; i < 2; i++) assert.equal((await login(b, 'alice', `wrong${i}`)).status, 401);
    // the 400 counted too: this address is at the limit now
    r = await login(b, 'alice', PASSWORDS.alice);
    assert.equal(r.status, 429, r.body);
    assert.equal(r.cookie, undefined);
    r = await login(b, 'bob', PASSWORDS.bob);
    assert.equal(r.status, 429, 'the limit is per address as well as per user');
    // HTTP-mode Basic credentials are under the same limit
    r = await request(b.port, { method: 'POST', path: '/pub', body: JSON.stringify(location()), headers: { authorization: `Basic ${Buffer.from(`bob:${PASSWORDS.bob}`).toString('base64')}`, 'x-limit-u': 'bob', 'x-limit-d': 'phone' } });
    assert.equal(r.status, 429);
    assert.ok((await metric(b, 'mytracks_bridge_login_limited_total')) >= 3);
    assert.equal((b.proc.output.match(/too many failed logins/g) || []).length, 1, 'one log line per window');
    await stopChecked(b);
  });

  it('verifies HTTP-mode Basic credentials once, not per report; a wrong password still fails', { timeout: 60000 }, async () => {
    const b = await start('basic-cache', ['--users', usersFile]);
    const basic = (pw) => `Basic ${Buffer.from(`alice:${pw}`).toString('base64')}`;
    const report = (pw) => request(b.port, {
      method: 'POST', path: '/pub', body: JSON.stringify(location({ tst: Math.floor(Date.now() / 1000) })),
      headers: { authorization: basic(pw), 'x-limit-u': 'alice', 'x-limit-d': 'http' },
    });
    for (let i = 0; i < 3; i++) assert.equal((await report(PASSWORDS.alice)).status, 200);
    assert.equal(await metric(b, 'mytracks_bridge_basic_auth_cached_total'), 2);
    assert.equal((await report('wrong')).status, 401, 'a cached password is not any password');
    assert.equal((await report(`${PASSWORDS.alice}x`)).status, 401);
    assert.equal((await report(PASSWORDS.alice)).status, 200);
    assert.equal(await metric(b, 'mytracks_bridge_basic_auth_cached_total'), 3);
    await stopChecked(b);
  });

  it('refuses an HTTP-mode report the plugin would drop (400), stores a valid one', { timeout: 60000 }, async () => {
    const b = await start('validate', []);
    const sub = await collector(broker.port, 'owntracks/check/#');
    const tst = Math.floor(Date.now() / 1000);
    const good = JSON.stringify(location({ tst }));
    const post = (device, body) => request(b.port, { method: 'POST', path: '/pub', body, headers: { 'content-type': 'application/json', 'x-limit-u': 'check', 'x-limit-d': device } });
    for (const [body, why] of [
      [`${good}garbage`, /after the JSON value/],
      [JSON.stringify(location({ tst, lat: 123 })), /lat/],
      [JSON.stringify({ _type: 'location', lon: 1, tst }), /lat/],
      [JSON.stringify({ _type: 'bogus', tst }), /type/],
    ]) {
      const r = await post('bad', body);
      assert.equal(r.status, 400, `${body}: ${r.status} ${r.body}`);
      assert.match(r.json.error, why);
    }
    const r = await post('good', good);
    assert.equal(r.status, 200, r.body);
    // the answer is the phone's friends (the other devices it may see), never itself
    const friends = JSON.parse(r.body);
    assert.ok(Array.isArray(friends), r.body);
    assert.ok(!friends.some((f) => f.topic === 'owntracks/check/good'), r.body);
    await waitFor(async () => (await getJson(`${b.url}/api/devices/`)).body.results?.some((d) => d.user === 'check' && d.device === 'good'), { what: 'the valid report stored' });
    assert.deepEqual(sub.messages.filter((m) => m.topic.endsWith('/bad')), [], 'nothing published for the refused ones');
    await sub.close();
    await stopChecked(b);
  });
});
