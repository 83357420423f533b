// Security tests of the bridge and page: safe defaults, headers, Origin
// check, login and per-user visibility, HTTP-mode credentials, TLS, and
// connections dropped abruptly. Real broker, plugin and bridge on free
// loopback ports.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import {
  startBroker, mqttConnect, location, waitFor, stopAll, assertNoSanitizerFindings,
  bridgePath, freePort, sanitizerEnv,
} from '../lib/harness.mjs';
import { startBridge, getJson, framesOfType } from '../lib/bridge.mjs';

const PASSWORDS = { alice: 'alice-secret', bob: 'bob pass:word', root: 'r00t' };

/** Try a WebSocket upgrade: resolves 'open', or 'refused' (lws closes the
 * connection of a refused upgrade, or answers with an error status). */
function tryWs(url, opts = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => { ws.terminate(); resolve('open'); });
    ws.once('unexpected-response', (req) => { resolve('refused'); req.destroy(); });
    ws.once('error', () => resolve('refused'));
  });
}

async function login(bridge, user, password, { json = true } = {}) {
  const r = await fetch(`${bridge.url}/login`, json
    ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) }
    : { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ user, password }).toString() });
  const setCookie = r.headers.get('set-cookie');
  return { status: r.status, setCookie, location: r.headers.get('location'), cookie: setCookie?.split(';')[0] };
}

function basic(user, password) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function stopChecked(b) {
  const r = await b.stop();
  assert.equal(r.code, 0, `${b.proc.name} exit: ${JSON.stringify(r)}\n${b.proc.output.slice(-2000)}`);
  assertNoSanitizerFindings(assert, b.proc);
}

function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

describe('security', () => {
  let broker; let open; let authed; let phone; let usersFile;
  const extra = [];

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    // one hash from the bridge itself, the others from openssl (Debian 12 has both)
    const hashAlice = execFileSync(bridgePath, ['--hash-password'], { input: `${PASSWORDS.alice}\n`, env: sanitizerEnv(false) }).toString().trim();
    assert.match(hashAlice, /^\$6\$/);
    const hashBob = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${PASSWORDS.bob}\n` }).toString().trim();
    const hashRoot = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${PASSWORDS.root}\n` }).toString().trim();
    usersFile = path.join(broker.dir, 'users');
    // alice shares her devices with bob; root is an admin; carol has no login
    fs.writeFileSync(usersFile, `# test users\nalice:${hashAlice}:share=bob\nbob:${hashBob}\nroot:${hashRoot}:admin\n`);
    open = await startBridge(broker, { name: 'open' });
    authed = await startBridge(broker, { name: 'authed', args: ['--users', usersFile, '--allowed-origin', 'https://map.example.org'] });
    phone = await mqttConnect(broker.port, { clientId: 'sec-phones' });
    for (const [u, lat] of [['alice', 10], ['bob', 20], ['carol', 30]]) {
      await phone.publishAsync(`owntracks/${u}/phone`, JSON.stringify(location({ lat, lon: lat })), { qos: 1 });
    }
    await waitFor(async () => (await getJson(`${open.url}/api/devices/`)).body.results?.length === 3, { what: 'three devices stored' });
  });

  after(async () => {
    await phone?.endAsync();
    for (const b of [open, authed, ...extra]) if (b) await stopChecked(b);
    await stopAll();
  });

  it('refuses a non-loopback address without login unless --insecure-no-auth', async () => {
    const r = spawnSync(bridgePath, ['--http-host', '0.0.0.0', '--http-port', '1'], { timeout: 10000, env: sanitizerEnv(false) });
    assert.equal(r.status, 2);
    assert.match(r.stderr.toString(), /--insecure-no-auth/);
    const b = await startBridge(broker, { name: 'insecure', args: ['--http-host', '0.0.0.0', '--insecure-no-auth'] });
    extra.push(b);
    assert.match(b.proc.output, /insecure-no-auth/);
    const withUsers = await startBridge(broker, { name: 'any-with-users', args: ['--http-host', '0.0.0.0', '--users', usersFile] });
    extra.push(withUsers);
  });

  it('sends a CSP allowing only self and the OSM tiles, nosniff, and no-store on the API', async () => {
    for (const url of [`${open.url}/`, `${open.url}/api/devices/`, `${authed.url}/login`, `${authed.url}/api/devices/`]) {
      const r = await fetch(url, { redirect: 'manual' });
      const csp = r.headers.get('content-security-policy');
      assert.ok(csp, `CSP on ${url}`);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /img-src 'self' data: https:\/\/tile\.openstreetmap\.org;/);
      assert.match(csp, /script-src 'self';/);
      assert.doesNotMatch(csp, /unsafe|\*/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      if (url.includes('/api/')) assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    // the page's meta policy is the header's, but leaves images to the header
    // (whose img-src names the --tile-url server)
    const html = await (await fetch(`${open.url}/`)).text();
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)[1];
    const header = (await fetch(`${open.url}/`)).headers.get('content-security-policy');
    assert.equal(header.replace(/; frame-ancestors 'none'/, '').replace(/img-src [^;]*/, "img-src 'self' data: https: http:"), meta);
  });

  it('refuses WebSocket upgrades from a foreign Origin', async () => {
    const host = `127.0.0.1:${open.port}`;
    assert.equal(await tryWs(open.wsUrl, { origin: 'https://evil.example' }), 'refused');
    assert.equal(await tryWs(open.wsUrl, { origin: `http://${host}.evil.example` }), 'refused');
    assert.equal(await tryWs(open.wsUrl, { origin: `http://${host}` }), 'open');
    assert.equal(await tryWs(open.wsUrl), 'open'); // no Origin: not a browser
  });

  it('requires a login for the page, the API and the WebSocket', async () => {
    const page = await fetch(`${authed.url}/`, { redirect: 'manual' });
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/login');
    const loginPage = await fetch(`${authed.url}/login`);
    assert.equal(loginPage.status, 200);
    assert.match(await loginPage.text(), /<form id="login" method="post" action="\/login">/);
    for (const p of ['/api/devices/', '/api/locations/', '/api/locations/?device=alice/phone']) {
      const r = await getJson(`${authed.url}${p}`);
      assert.equal(r.status, 401, p);
      assert.equal(r.body.error, 'login required');
    }
    assert.equal(await tryWs(authed.wsUrl), 'refused');
    const forged = `mytracks_session=${'0'.repeat(64)}`;
    assert.equal((await fetch(`${authed.url}/api/devices/`, { headers: { cookie: forged } })).status, 401);
    assert.equal(await tryWs(authed.wsUrl, { headers: { cookie: forged } }), 'refused');
    // wrong password, unknown user
    assert.equal((await login(authed, 'alice', 'nope')).status, 401);
    assert.equal((await login(authed, 'mallory', 'x')).status, 401);
    const form = await login(authed, 'alice', 'wrong', { json: false });
    assert.equal(form.status, 303);
    assert.equal(form.location, '/login?failed=1');
  });

  it('logs in with a form or JSON; the cookie is HttpOnly and SameSite=Strict; logout ends it', async () => {
    const form = await login(authed, 'bob', PASSWORDS.bob, { json: false });
    assert.equal(form.status, 303);
    assert.equal(form.location, '/');
    assert.match(form.setCookie, /^mytracks_session=[0-9a-f]{64}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const page = await fetch(`${authed.url}/`, { headers: { cookie: form.cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>mytracks — live map<\/title>/);
    const me = await (await fetch(`${authed.url}/api/me`, { headers: { cookie: form.cookie } })).json();
    assert.deepEqual(me, { user: 'bob', admin: false, login: true });
    const json = await login(authed, 'alice', PASSWORDS.alice);
    assert.equal(json.status, 200);
    const lo = await fetch(`${authed.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: json.cookie } });
    assert.equal(lo.status, 303);
    assert.match(lo.headers.get('set-cookie'), /Max-Age=0/);
    assert.equal((await fetch(`${authed.url}/api/devices/`, { headers: { cookie: json.cookie } })).status, 401);
    assert.equal((await fetch(`${authed.url}/api/devices/`, { headers: { cookie: form.cookie } })).status, 200);
  });

  it('shows users their own devices, shared ones, and an admin everything (API)', async () => {
    const who = {};
    for (const u of ['alice', 'bob', 'root']) {
      const { cookie } = await login(authed, u, PASSWORDS[u]);
      const get = (p) => fetch(`${authed.url}${p}`, { headers: { cookie } }).then(async (r) => ({ status: r.status, body: await r.json() }));
      const devices = (await get('/api/devices/')).body.results.map((d) => d.user).sort();
      const locs = [...new Set((await get('/api/locations/?since_id=0')).body.results.map((l) => l.user))].sort();
      const carol = (await get('/api/locations/?device=carol/phone')).status;
      const carolId = (await getJson(`${open.url}/api/devices/`)).body.results.find((d) => d.user === 'carol').id;
      const carolById = (await get(`/api/locations/?device=${carolId}`)).status;
      who[u] = { devices, locs, carol, carolById };
    }
    assert.deepEqual(who.alice, { devices: ['alice'], locs: ['alice'], carol: 404, carolById: 404 });
    assert.deepEqual(who.bob, { devices: ['alice', 'bob'], locs: ['alice', 'bob'], carol: 404, carolById: 404 });
    assert.deepEqual(who.root, { devices: ['alice', 'bob', 'carol'], locs: ['alice', 'bob', 'carol'], carol: 200, carolById: 200 });
  });

  it('sends each WebSocket client only the frames of users it may see', async () => {
    const clients = {};
    for (const u of ['alice', 'bob', 'root']) {
      const { cookie } = await login(authed, u, PASSWORDS[u]);
      clients[u] = await connectWithCookie(authed.wsUrl, cookie);
    }
    // carol, bob, then alice last: when alice's frame arrives, the others were sent before it
    const tst = Math.floor(Date.now() / 1000);
    for (const [u, lat] of [['carol', 31], ['bob', 21], ['alice', 11]]) {
      await phone.publishAsync(`owntracks/${u}/phone`, JSON.stringify(location({ lat, lon: lat, tst })), { qos: 1 });
    }
    for (const c of Object.values(clients)) await c.waitFrames(1);
    for (const c of Object.values(clients)) await c.waitFor((f) => f.includes('"device_name":"alice/phone"') && f.includes('"latitude":"11.000000"'));
    const users = (u) => framesOfType(clients[u].frames, 'location').map((m) => m.data.user);
    assert.deepEqual(users('alice'), ['alice']);
    assert.deepEqual(users('bob'), ['bob', 'alice']);
    assert.deepEqual(users('root'), ['carol', 'bob', 'alice']);
    for (const c of Object.values(clients)) await c.close();
  });

  it('takes HTTP-mode reports only with the Basic credentials of the topic user', async () => {
    const body = JSON.stringify(location({ lat: 1, lon: 2 }));
    const post = (headers) => fetch(`${authed.url}/pub`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    let r = await post({ 'x-limit-u': 'alice', 'x-limit-d': 'phone' }).catch((e) => { throw new Error(`${e.message}: ${e.cause}`); });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="mytracks"');
    r = await post({ authorization: basic('alice', 'wrong'), 'x-limit-u': 'alice', 'x-limit-d': 'phone' });
    assert.equal(r.status, 401);
    r = await post({ authorization: basic('alice', PASSWORDS.alice), 'x-limit-u': 'bob', 'x-limit-d': 'phone' });
    assert.equal(r.status, 403);
    r = await fetch(`${authed.url}/api/locations/`, { method: 'POST', headers: { authorization: basic('alice', PASSWORDS.alice) }, body: JSON.stringify({ ...location(), topic: 'owntracks/bob/phone' }) });
    assert.equal(r.status, 403);
    r = await post({ authorization: basic('bob', PASSWORDS.bob), 'x-limit-u': 'bob', 'x-limit-d': 'tablet' });
    assert.equal(r.status, 200);
    // the friends: bob's own other devices and alice's (shared with him), no one else's
    const friends = await r.json();
    assert.ok(friends.every((o) => /^owntracks\/(alice|bob)\//.test(o.topic)), JSON.stringify(friends));
    assert.ok(!friends.some((o) => o.topic === 'owntracks/bob/tablet'));
    // without --users, HTTP mode stays open (local single-user mode)
    r = await fetch(`${open.url}/pub`, { method: 'POST', headers: { 'x-limit-u': 'dave', 'x-limit-d': 'phone' }, body });
    assert.equal(r.status, 200);
  });

  it('serves HTTPS and WSS with --tls-cert/--tls-key, and marks the cookie Secure', async () => {
    const cert = path.join(broker.dir, 'cert.pem'); const key = path.join(broker.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const port = await freePort();
    const agent = new https.Agent({ rejectUnauthorized: false });
    const req = (p, opts = {}, body) => new Promise((resolve, reject) => {
      const r = https.request({ host: '127.0.0.1', port, path: p, agent, ...opts }, (res) => {
        let text = ''; res.on('data', (d) => { text += d; }); res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      });
      r.on('error', reject); r.end(body);
    });
    const b = await startTls(broker, port, ['--users', usersFile, '--tls-cert', cert, '--tls-key', key], req);
    extra.push(b);
    const health = await req('/healthz');
    assert.equal(health.status, 200);
    const li = await req('/login', { method: 'POST', headers: { 'content-type': 'application/json' } }, JSON.stringify({ user: 'root', password: PASSWORDS.root }));
    assert.equal(li.status, 200);
    assert.match(li.headers['set-cookie'][0], /; Secure$/);
    const cookie = li.headers['set-cookie'][0].split(';')[0];
    const ws = await connectWithCookie(`wss://127.0.0.1:${port}/ws/locations/`, cookie, { rejectUnauthorized: false, origin: `https://127.0.0.1:${port}` });
    await ws.waitFrames(1);
    assert.equal(JSON.parse(ws.frames[0]).type, 'welcome');
    await ws.close();
    // plain HTTP on the TLS port gets nothing useful
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 'refused');
    assert.notEqual(plain, 200);
  });

  it('leaks no descriptors when many connections are dropped abruptly', async () => {
    const pid = open.proc.pid;
    const before = fdCount(pid);
    const drops = [];
    for (let i = 0; i < 150; i++) {
      drops.push(new Promise((resolve) => {
        const s = net.connect(open.port, '127.0.0.1', () => {
          const kind = i % 5;
          if (kind === 0) s.write('GET /api/devices/ HTTP/1.1\r\nHost: localhost\r\n'); // headers cut short
          else if (kind === 1) s.write('POST /pub HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{"_type"'); // body cut short
          else if (kind === 2) s.write('GET /ws/locations/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
          else if (kind === 3) s.write('GET /api/locations/?since_id=0 HTTP/1.1\r\nHost: localhost\r\n\r\n');
          setTimeout(() => { s.resetAndDestroy?.() ?? s.destroy(); resolve(); }, kind === 2 || kind === 3 ? 30 : 0);
        });
        s.on('error', () => resolve());
      }));
      if (drops.length >= 30) { await Promise.all(drops.splice(0)); }
    }
    await Promise.all(drops);
    // the bridge notices every reset; then it holds as many descriptors as before
    await waitFor(() => fdCount(pid) <= before, { timeout: 15000, what: `descriptors back to ${before} (now ${fdCount(pid)})` });
    const h = await getJson(`${open.url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.body.ws_clients, 0);
  });
});

function connectWithCookie(url, cookie, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { cookie }, ...opts });
    const frames = [];
    const client = { ws, frames, isClosed: false };
    client.closed = new Promise((r) => ws.on('close', (code) => { client.isClosed = true; r(code); }));
    ws.on('message', (d) => frames.push(d.toString()));
    client.waitFrames = (n) => waitFor(() => frames.length >= n, { what: `${n} frames` });
    client.waitFor = (pred) => waitFor(() => frames.find(pred), { what: `a matching frame (have ${JSON.stringify(frames).slice(0, 600)})` });
    client.close = () => { if (!client.isClosed) ws.close(); return client.closed; };
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

async function startTls(broker, port, args, req) {
  const { Proc } = await import('../lib/harness.mjs');
  const proc = new Proc('tls', bridgePath, ['--http-port', String(port), '--mqtt-port', String(broker.port),
    '--database', broker.db, '--console', ...args], { env: sanitizerEnv(false), logFile: path.join(broker.dir, 'tls.log') });
  await waitFor(async () => {
    if (!proc.running) throw new Error(`bridge exited: ${proc.output}`);
    return (await req('/healthz').catch(() => ({ status: 0 }))).status === 200;
  }, { timeout: 15000, what: 'TLS bridge' });
  return { proc, port, stop: (o) => proc.stop(o) };
}
