// POST /api/delete on the real bridge: it asks the real plugin over the
// control channel, answers once the delete is committed, and every
// WebSocket client that may see the device gets {"type":"deleted"}.
// Only the owner or an admin may delete; strangers and other sites may not.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, mqttConnect, sql, location, waitFor, stopAll,
} from '../lib/harness.mjs';
import {
  startBridge, getJson, wsConnect, framesOfType, metric, postJson, loginCookie,
} from '../lib/bridge.mjs';

const T = 1705329000;
const PW = { alice: 'alice pw 1', bob: 'bob pw 2', root: 'root pw 3' };

const del = (bridge, body, opts) => postJson(bridge, '/api/delete', body, opts);
const login = (bridge, user) => loginCookie(bridge, user, PW[user]);

const stored = (db, user) => sql(db, `SELECT l.id, l.tst FROM locations l JOIN devices d ON d.id = l.device_id WHERE d.user = '${user}' ORDER BY l.tst`);

describe('POST /api/delete', () => {
  let broker; let open; let authed; let phone;

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    const hash = (pw) => execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${pw}\n` }).toString().trim();
    const usersFile = path.join(broker.dir, 'users');
    fs.writeFileSync(usersFile, `alice:${hash(PW.alice)}:share=bob\nbob:${hash(PW.bob)}\nroot:${hash(PW.root)}:admin\n`);
    open = await startBridge(broker, { name: 'open' });
    authed = await startBridge(broker, { name: 'authed', args: ['--users', usersFile] });
    phone = await mqttConnect(broker.port);
    for (const user of ['alice', 'bob']) {
      for (let i = 0; i < 5; i++) {
        await phone.publishAsync(`owntracks/${user}/phone`, JSON.stringify(location({ tst: T + i * 60 })), { qos: 1 });
      }
    }
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 10, { what: 'ten fixes' });
  });

  after(async () => {
    await phone?.endAsync();
    await stopAll();
  });

  it('deletes a fix once committed and tells every page', async () => {
    const ws = await wsConnect(open.wsUrl);
    const [first, second] = stored(broker.db, 'alice');
    const r = await del(open, { device: 'alice/phone', id: second.id });
    assert.deepEqual([r.status, r.body], [200, { deleted: 1 }]);
    // answered after the commit: the history API no longer has it
    const h = await getJson(`${open.url}/api/locations/?device=alice/phone&limit=100`);
    assert.deepEqual(h.body.results.map((x) => x.id).includes(second.id), false);
    assert.equal(h.body.results.length, 4);
    const frame = await waitFor(() => framesOfType(ws.frames, 'deleted')[0], { what: 'a deleted frame' });
    assert.equal(frame.data.id, second.id);
    assert.equal(frame.data.device_name, 'alice/phone');
    assert.equal(frame.data.deleted, 1);
    // the same fix again: nothing to delete, still fine
    assert.deepEqual((await del(open, { device: 'alice/phone', id: second.id })).body, { deleted: 0 });
    assert.equal(stored(broker.db, 'alice')[0].id, first.id);
    assert.equal(await metric(open, 'mytracks_bridge_deletes_total'), 2);
    ws.ws.close();
  });

  it('refuses what is not a delete request, with the reason', async () => {
    const cases = [
      [{ device: 'alice/phone', id: 1 }, { type: 'text/plain' }, 415],
      ['{"device":', {}, 400],
      [{ device: 'alice', id: 1 }, {}, 400],
      [{ device: 'alice/phone' }, {}, 400],
      [{ device: 'alice/phone', from: 9, to: 1 }, {}, 400],
      [{ device: 'alice/phone', id: 1, all: true }, {}, 400],
      [{ device: 'alice/phone', all: false }, {}, 400],
      [{ device: 'nobody/phone', all: true }, {}, 404],
      [{ device: 'alice/phone', all: true }, { origin: 'https://evil.example' }, 403],
    ];
    for (const [body, opts, status] of cases) {
      const r = await del(open, body, opts);
      assert.equal(r.status, status, `${JSON.stringify(body)} ${JSON.stringify(opts)}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.error, 'string');
    }
    assert.equal((await fetch(`${open.url}/api/delete`)).status, 405);
    assert.equal(stored(broker.db, 'alice').length, 4);
  });

  it('with --users: the owner and an admin may delete, others may not', async () => {
    const [a, b] = await Promise.all([login(authed, 'alice'), login(authed, 'bob')]);
    const root = await login(authed, 'root');
    const aliceWs = await wsConnect(authed.wsUrl, { headers: { cookie: a } });
    const bobWs = await wsConnect(authed.wsUrl, { headers: { cookie: b } });
    assert.equal((await del(authed, { device: 'alice/phone', all: true })).status, 401);
    // bob sees alice's phone (she shares it) but may not delete it
    assert.equal((await del(authed, { device: 'alice/phone', all: true }, { cookie: b })).status, 403);
    assert.equal(stored(broker.db, 'alice').length, 4);
    // alice deletes a range of her own
    const r = await del(authed, { device: 'alice/phone', from: T + 120, to: T + 180 }, { cookie: a });
    assert.deepEqual([r.status, r.body], [200, { deleted: 2 }]);
    assert.deepEqual(stored(broker.db, 'alice').map((x) => x.tst), [T, T + 240]);
    // both of them see it go; alice never hears of bob's devices
    for (const ws of [aliceWs, bobWs]) {
      await waitFor(() => framesOfType(ws.frames, 'deleted').some((f) => f.data.from === T + 120), { what: 'the range frame' });
    }
    // an admin deletes bob's whole device
    assert.deepEqual((await del(authed, { device: 'bob/phone', all: true }, { cookie: root })).body, { deleted: 5 });
    await waitFor(() => framesOfType(bobWs.frames, 'deleted').some((f) => f.data.all), { what: 'bob sees his device go' });
    assert.equal(framesOfType(aliceWs.frames, 'deleted').some((f) => f.data.user === 'bob'), false);
    assert.equal((await getJson(`${open.url}/api/devices/`)).body.results.some((d) => d.user === 'bob'), false);
    aliceWs.ws.close();
    bobWs.ws.close();
  });

  it('answers 503 without a broker, and 504 when the plugin does not answer in time', async () => {
    // a broker that routes but has no plugin: nobody answers
    const bare = await startBroker({ plugin: false });
    const orphan = await startBridge(bare, { name: 'orphan', args: ['--pub-timeout', '1', '--database', broker.db] });
    const r = await del(orphan, { device: 'alice/phone', all: true });
    assert.equal(r.status, 504);
    assert.match(r.body.error, /did not answer/);
    await bare.stop();
    await waitFor(async () => (await getJson(`${orphan.url}/healthz`)).status === 503, { what: 'orphan sees the broker gone' });
    assert.equal((await del(orphan, { device: 'alice/phone', all: true })).status, 503);
    assert.equal(stored(broker.db, 'alice').length, 2);
  });
});
