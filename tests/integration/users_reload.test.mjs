// The bridge re-reads its users file on SIGHUP (edited with the real
// tools/mytracks-users, partly in parallel): users still there keep their
// sessions and sockets and see what the new shares and admin flag let them
// see, at once; users gone or with a new password lose theirs (cookie 401,
// /ws/locations/ and /ws/last closed); new users can log in; a file that
// does not parse, or cannot be read, keeps the old users and says why.
// The --keys file is re-read on the same signal.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import {
  buildDir, startBroker, mqttConnect, location, waitFor, stopAll, sanitizerEnv, assertNoSanitizerFindings,
} from '../lib/harness.mjs';
import { startBridge, framesOfType, metric } from '../lib/bridge.mjs';
import { sodiumReady, seal } from '../lib/otcrypto.mjs';

const tool = path.join(buildDir, 'tools', 'mytracks-users');
const PW = { alice: 'alice pw 1', bob: 'bob pw 2', carol: 'carol pw 3', carol2: 'carol new pw', dave: 'dave pw 4' };

/** Run mytracks-users with the password (if any) on stdin: { status, out }. */
function users(file, args, input = '') {
  return new Promise((resolve) => {
    const c = spawn(tool, ['--file', file, ...args], { env: sanitizerEnv(false) });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { out += d; });
    c.on('close', (status) => resolve({ status, out }));
    // a command that reads no password may exit before its stdin is written
    c.stdin.on('error', () => {});
    c.stdin.end(input);
  });
}

async function ok(p) {
  const r = await p;
  assert.equal(r.status, 0, r.out);
  return r;
}

async function login(bridge, user, password) {
  const r = await fetch(`${bridge.url}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  await r.arrayBuffer();
  return { status: r.status, cookie: r.headers.get('set-cookie')?.split(';')[0] };
}

/** GET /api/me with a cookie: { status, body }. */
async function me(bridge, cookie) {
  const r = await fetch(`${bridge.url}/api/me`, { headers: { cookie } });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

function connect(url, cookie) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { cookie } });
    const frames = [];
    const client = { ws, frames, isClosed: false };
    client.closed = new Promise((r) => ws.on('close', (code) => { client.isClosed = true; r(code); }));
    ws.on('message', (d) => frames.push(d.toString()));
    client.waitFor = (pred, what) => waitFor(() => frames.find(pred), { what });
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Count the lines matching `re` in the bridge's log. */
function count(bridge, re) {
  return bridge.proc.output.split('\n').filter((l) => re.test(l)).length;
}

/** SIGHUP the bridge by PID and wait for its answer: a line matching `re`
 * more than before. Returns that line. */
async function hup(bridge, re) {
  const before = count(bridge, re);
  process.kill(bridge.proc.pid, 'SIGHUP');
  await waitFor(() => {
    if (!bridge.proc.running) throw new Error(`bridge exited on SIGHUP: ${bridge.proc.output.slice(-2000)}`);
    return count(bridge, re) > before;
  }, { what: `bridge log line ${re}` });
  return bridge.proc.output.split('\n').filter((l) => re.test(l)).pop();
}

const RELOADED = /bridge: users file reloaded: \d+ users/;
const REFUSED = /bridge: users file not reloaded, kept \d+ users: /;

describe('users file reload on SIGHUP', () => {
  let broker; let bridge; let phone; let file;
  let tst = Math.floor(Date.now() / 1000);

  /** Publish a location of `user`; resolves once the broker took it. */
  const publish = (user, lat) => phone.publishAsync(`owntracks/${user}/phone`,
    JSON.stringify(location({ lat, lon: lat, tst: tst++ })), { qos: 1 });
  const isLoc = (user, lat) => (f) => f.includes(`"device_name":"${user}/phone"`) && f.includes(`"latitude":"${lat.toFixed(6)}"`);

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    file = path.join(broker.dir, 'users');
    for (const u of ['alice', 'bob', 'carol']) await ok(users(file, ['add', u], `${PW[u]}\n`));
    bridge = await startBridge(broker, { args: ['--users', file] });
    phone = await mqttConnect(broker.port, { clientId: 'reload-phones' });
  });

  after(async () => {
    await phone?.endAsync();
    await stopAll();
  });

  it('keeps the sessions of users still there, ends the others, applies new shares and admin flags', async () => {
    const s = {};
    for (const u of ['alice', 'bob', 'carol']) {
      s[u] = await login(bridge, u, PW[u]);
      assert.equal(s[u].status, 200, u);
    }
    const alice = await connect(bridge.wsUrl, s.alice.cookie);
    const bob = await connect(bridge.wsUrl, s.bob.cookie);
    const carolLast = await connect(`ws://127.0.0.1:${bridge.port}/ws/last`, s.carol.cookie);
    // carol does not share with alice yet: carol's frame (sent before
    // alice's own) is not alice's to see
    await publish('carol', 31);
    await publish('alice', 11);
    await alice.waitFor(isLoc('alice', 11), 'alice/phone at 11 on alice\'s socket');
    assert.deepEqual(framesOfType(alice.frames, 'location').map((m) => m.data.user), ['alice']);
    assert.equal(await metric(bridge, 'mytracks_bridge_users'), 3);

    // the edits, with the real command: bob goes, carol gets a new password
    // and shares with alice, dave comes, and 8 more users are added at once
    // (each edit locks, rewrites and renames: none may be lost)
    await ok(users(file, ['del', 'bob']));
    await ok(users(file, ['passwd', 'carol'], `${PW.carol2}\n`));
    const extra = Array.from({ length: 8 }, (_, i) => `user${i}`);
    const results = await Promise.all([
      users(file, ['add', 'dave'], `${PW.dave}\n`),
      users(file, ['share', 'carol', 'alice']),
      ...extra.map((n) => users(file, ['add', n], `pw-of-${n}\n`)),
    ]);
    for (const r of results) assert.equal(r.status, 0, r.out);
    const listed = (await ok(users(file, ['list']))).out.split('\n').filter((l) => l).map((l) => l.split(' ')[0]);
    assert.deepEqual(listed.sort(), ['alice', 'carol', 'dave', ...extra].sort(), 'every parallel edit is in the file');
    assert.match(results[0].out, /systemctl reload mytracks-bridge/, 'the command says how to apply the edit');

    const line = await hup(bridge, RELOADED);
    assert.match(line, /users file reloaded: 11 users, 2 sessions ended/);
    assert.ok(bridge.proc.running);

    // bob is gone, carol has a new password: sessions and sockets end
    assert.equal(await bob.closed, 1008);
    await carolLast.closed;
    assert.equal((await me(bridge, s.bob.cookie)).status, 401);
    assert.equal((await me(bridge, s.carol.cookie)).status, 401, 'a new password ends the old sessions');
    assert.equal((await login(bridge, 'bob', PW.bob)).status, 401);
    assert.equal((await login(bridge, 'carol', PW.carol)).status, 401);
    assert.equal((await login(bridge, 'carol', PW.carol2)).status, 200);
    // alice keeps her session and her socket, which now gets carol's too
    assert.deepEqual((await me(bridge, s.alice.cookie)).body, { user: 'alice', admin: false, login: true });
    assert.equal(alice.isClosed, false);
    await publish('carol', 32);
    await publish('alice', 12);
    await alice.waitFor(isLoc('alice', 12), 'alice/phone at 12 after the reload');
    assert.ok(alice.frames.find(isLoc('carol', 32)), 'the new share applies to the open socket');
    // new users log in
    assert.equal((await login(bridge, 'dave', PW.dave)).status, 200);
    assert.equal((await login(bridge, 'user5', 'pw-of-user5')).status, 200);
    assert.equal(await metric(bridge, 'mytracks_bridge_users_reloads_total'), 1);
    assert.equal(await metric(bridge, 'mytracks_bridge_users'), 11);

    // a file that does not parse: nothing changes, the log names the line
    const good = fs.readFileSync(file, 'utf8');
    const bad = `${good}al#ice:$6$xyz\n`;
    fs.writeFileSync(`${file}.new`, bad);
    fs.renameSync(`${file}.new`, file);
    const err = await hup(bridge, REFUSED);
    assert.match(err, new RegExp(`kept 11 users: .*users line ${bad.split('\n').length - 1}: invalid user name`));
    assert.equal((await me(bridge, s.alice.cookie)).status, 200);
    assert.equal((await login(bridge, 'dave', PW.dave)).status, 200);
    // nor a file that cannot be read
    fs.renameSync(file, `${file}.away`);
    assert.match(await hup(bridge, REFUSED), /users: cannot read: No such file or directory/);
    assert.equal((await me(bridge, s.alice.cookie)).status, 200);
    assert.equal(await metric(bridge, 'mytracks_bridge_users_reload_errors_total'), 2);
    await publish('alice', 13);
    await alice.waitFor(isLoc('alice', 13), 'alice/phone at 13 after the refused reloads');

    // a good file again, alice an admin now: her socket gets dave's too
    fs.writeFileSync(`${file}.new`, good.replace(/^(alice:[^:\n]+)$/m, '$1:admin'));
    fs.renameSync(`${file}.new`, file);
    assert.match(await hup(bridge, RELOADED), /11 users, 0 sessions ended/);
    assert.deepEqual((await me(bridge, s.alice.cookie)).body, { user: 'alice', admin: true, login: true });
    await publish('dave', 41);
    await publish('alice', 14);
    await alice.waitFor(isLoc('alice', 14), 'alice/phone at 14 as an admin');
    assert.ok(alice.frames.find(isLoc('dave', 41)), 'the admin flag applies to the open socket');
    assert.equal(alice.isClosed, false);
    alice.ws.close();
    await alice.closed;

    const r = await bridge.stop();
    assert.equal(r.code, 0, `bridge exit: ${JSON.stringify(r)}\n${bridge.proc.output.slice(-2000)}`);
    assertNoSanitizerFindings(assert, bridge.proc);
  });

  it('re-reads --keys on SIGHUP, keeps the old keys when the new file is refused', async () => {
    await sodiumReady;
    const keys = path.join(broker.dir, 'keys');
    fs.writeFileSync(keys, 'alice:first key\n', { mode: 0o600 });
    const kb = await startBridge(broker, { name: 'keys', args: ['--keys', keys] });
    const post = async () => {
      const r = await fetch(`${kb.url}/pub`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-limit-u': 'alice', 'x-limit-d': 'phone' },
        body: seal('second key', JSON.stringify(location({ tst: tst++ }))),
      });
      await r.arrayBuffer();
      assert.equal(r.status, 200);
    };
    await post();
    assert.equal(await metric(kb, 'mytracks_bridge_http_reports_undecryptable_total'), 1);
    fs.writeFileSync(keys, 'alice:second key\n');
    await hup(kb, /bridge: keys file reloaded: 1 keys/);
    await post();
    assert.equal(await metric(kb, 'mytracks_bridge_http_reports_decrypted_total'), 1);
    fs.chmodSync(keys, 0o644);
    assert.match(await hup(kb, /bridge: keys file not reloaded, kept 1 keys: /), /644/);
    await post();
    assert.equal(await metric(kb, 'mytracks_bridge_http_reports_decrypted_total'), 2);
    const r = await kb.stop();
    assert.equal(r.code, 0);
    assertNoSanitizerFindings(assert, kb.proc);
  });

  it('without --users or --keys, SIGHUP is not fatal either', async () => {
    const open = await startBridge(broker, { name: 'open' });
    await hup(open, /SIGHUP: no --users or --keys file to re-read/);
    assert.equal((await fetch(`${open.url}/healthz`)).status, 200);
    const r = await open.stop();
    assert.equal(r.code, 0);
    assertNoSanitizerFindings(assert, open.proc);
  });
});
