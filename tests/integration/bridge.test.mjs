// Bridge integration tests: a real mosquitto with the built plugin, the
// built mytracks-bridge, real MQTT, WebSocket and HTTP clients, all on free
// loopback ports.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, sleep, stopAll,
  assertNoSanitizerFindings, freePort, tmpDir, sanitize,
} from '../lib/harness.mjs';
import {
  startBridge, getJson, metric, wsConnect, framesOfType,
} from '../lib/bridge.mjs';

const SEED_KEYS = ['id', 'device', 'device_name', 'latitude', 'longitude', 'timestamp',
  'timestamp_unix', 'accuracy', 'altitude', 'velocity', 'battery_level', 'connection_type',
  'ip_address'];

describe('bridge', () => {
  let broker; let bridge; let phone; let plugOut;
  const extraBridges = [];

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    // the plugin's output, to compare the relayed bytes with
    plugOut = await collector(broker.port, 'mytracks/#');
    bridge = await startBridge(broker, { args: ['--trusted-proxy', '127.0.0.1'] });
    phone = await mqttConnect(broker.port, { clientId: 'phone-alice' });
  });

  after(async () => {
    await phone?.endAsync();
    await plugOut?.close();
    for (const b of [bridge, ...extraBridges]) {
      if (!b) continue;
      const r = await b.stop();
      assert.equal(r.code, 0, `${b.proc.name} exit: ${JSON.stringify(r)}\n${b.proc.output.slice(-2000)}`);
      assertNoSanitizerFindings(assert, b.proc);
    }
    await stopAll();
  });

  it('welcomes a client and relays the exact envelope of a published location', async () => {
    const c = await wsConnect(bridge.wsUrl);
    await c.waitFrames(1);
    const welcome = JSON.parse(c.frames[0]);
    assert.deepEqual(Object.keys(welcome), ['type', 'server_startup']);
    assert.equal(welcome.type, 'welcome');
    assert.ok(Math.abs(welcome.server_startup - Date.now() / 1000) < 120, 'server_startup is now-ish');

    const loc = location({ lat: 37.7749, lon: -122.4194, tst: 1705329000 });
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(loc), { qos: 1 });
    const frame = await c.waitFor((f) => f.startsWith('{"type":"location"'));
    const fromPlugin = await waitFor(() => plugOut.messages.find((m) => m.topic === 'mytracks/locations/alice/phone'));
    // framed once around the plugin's bytes, nothing re-serialized
    assert.equal(frame, `{"type":"location","data":${fromPlugin.payload}}`);
    const msg = JSON.parse(frame);
    assert.deepEqual(Object.keys(msg), ['type', 'data']);
    assert.deepEqual(Object.keys(msg.data).slice(0, SEED_KEYS.length), SEED_KEYS);
    assert.equal(msg.data.device_name, 'alice/phone');
    assert.equal(msg.data.latitude, '37.774900');
    assert.equal(msg.data.longitude, '-122.419400');
    assert.equal(msg.data.timestamp, '2024-01-15T14:30:00Z');
    assert.equal(msg.data.timestamp_unix, 1705329000);
    assert.equal(msg.data.accuracy, 10);
    assert.equal(msg.data.battery_level, 85);
    assert.equal(msg.data.connection_type, 'w');
    assert.equal(msg.data.ip_address, '127.0.0.1');
    await c.close();
  });

  it('sends the same bytes to two clients, in broker order', async () => {
    const a = await wsConnect(bridge.wsUrl);
    const b = await wsConnect(bridge.wsUrl);
    await a.waitFrames(1);
    await b.waitFrames(1);
    for (let i = 0; i < 5; i++) {
      await phone.publishAsync('owntracks/alice/phone',
        JSON.stringify(location({ tst: 1705330000 + i, lat: 10 + i })), { qos: 1 });
    }
    const locs = (c) => c.frames.filter((f) => f.startsWith('{"type":"location"'));
    await waitFor(() => locs(a).length >= 5 && locs(b).length >= 5, { what: 'five locations on both clients' });
    assert.deepEqual(locs(a), locs(b));
    assert.deepEqual(locs(a).map((f) => JSON.parse(f).data.timestamp_unix),
      [0, 1, 2, 3, 4].map((i) => 1705330000 + i));
    await a.close();
    await b.close();
  });

  it('closes a client that sends a message (the socket is send-only), and only that one', async () => {
    const a = await wsConnect(bridge.wsUrl);
    const b = await wsConnect(bridge.wsUrl);
    await a.waitFrames(1);
    await b.waitFrames(1);
    a.ws.send('hello, server');
    assert.equal(await a.closed, 1008);
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705330100, lat: 20 })), { qos: 1 });
    await b.waitFor((f) => f.includes('"timestamp_unix":1705330100'));
    assert.equal(b.isClosed, false);
    await b.close();
  });

  it('relays device status and transitions with their own type', async () => {
    const c = await wsConnect(bridge.wsUrl);
    await c.waitFrames(1);
    const t = { _type: 'transition', event: 'enter', desc: 'Home', lat: 52.5, lon: 13.4, tst: 1705331000, wtst: 1705000000, acc: 10, t: 'c', tid: 'ph' };
    await phone.publishAsync('owntracks/alice/phone/event', JSON.stringify(t), { qos: 1 });
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify({ _type: 'lwt', tst: 1705331001 }), { qos: 1 });
    const tr = JSON.parse(await c.waitFor((f) => f.startsWith('{"type":"transition"')));
    assert.equal(tr.data.event, 'enter');
    assert.equal(tr.data.device_name, 'alice/phone');
    const st = JSON.parse(await c.waitFor((f) => f.startsWith('{"type":"device_status"')));
    assert.equal(st.data.device_name, 'alice/phone');
    assert.equal(typeof st.data.online, 'boolean');
    await c.close();
  });

  it('refuses WebSocket upgrades on other paths', async () => {
    const before = await metric(bridge, 'mytracks_bridge_ws_refused_total');
    for (const p of ['/ws/other/', '/', '/api/locations/', '/ws/locations/x']) {
      await assert.rejects(wsConnect(`ws://127.0.0.1:${bridge.port}${p}`), `upgrade on ${p} must fail`);
    }
    assert.equal(await metric(bridge, 'mytracks_bridge_ws_refused_total'), before + 4);
    assert.equal(await metric(bridge, 'mytracks_bridge_ws_clients'), 0, 'refused upgrades are not clients');
    // the right path still works
    const c = await wsConnect(bridge.wsUrl);
    await c.waitFrames(1);
    await c.close();
  });

  it('accepts an OwnTracks HTTP-mode report, stores it with the sender IP and relays it', async () => {
    const c = await wsConnect(bridge.wsUrl);
    await c.waitFrames(1);
    const loc = location({ tst: 1705332000, lat: 48.8566, lon: 2.3522, tid: 'bt' });
    const r = await fetch(`${bridge.url}/pub`, {
      method: 'POST',
      // the bridge trusts 127.0.0.1 as a proxy here: the client is the
      // right-most untrusted X-Forwarded-For entry
      headers: { 'Content-Type': 'application/json', 'X-Limit-U': 'bob', 'X-Limit-D': 'tablet', 'X-Forwarded-For': '203.0.113.9, 127.0.0.1' },
      body: JSON.stringify(loc),
    });
    assert.equal(r.status, 200);
    // the friends: every other device (no --users)
    const friends = JSON.parse(await r.text());
    assert.ok(Array.isArray(friends) && !friends.some((o) => o.topic === 'owntracks/bob/tablet'));
    const frame = JSON.parse(await c.waitFor((f) => f.includes('"device_name":"bob/tablet"')));
    assert.equal(frame.type, 'location');
    assert.equal(frame.data.ip_address, '203.0.113.9');
    assert.equal(frame.data.latitude, '48.856600');
    const rows = await waitFor(() => {
      const rs = sql(broker.db, "SELECT l.ip_address, l.tst FROM locations l JOIN devices d ON d.id = l.device_id WHERE d.user = 'bob' AND d.device = 'tablet'");
      return rs.length ? rs : null;
    }, { what: 'the stored HTTP-mode row' });
    assert.deepEqual(rows, [{ ip_address: '203.0.113.9', tst: 1705332000 }]);

    // the seed's endpoint, user and device from the payload's topic
    const r2 = await fetch(`${bridge.url}/api/locations/`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...location({ tst: 1705332001 }), topic: 'owntracks/carol/watch' }),
    });
    assert.equal(r2.status, 200);
    await c.waitFor((f) => f.includes('"device_name":"carol/watch"'));
    await c.close();
  });

  it('answers bad HTTP-mode reports with 400/411/413 and counts them', async () => {
    const post = (body, headers = {}) => fetch(`${bridge.url}/pub`, { method: 'POST', headers, body });
    let r = await post('not json', { 'X-Limit-U': 'bob', 'X-Limit-D': 'tablet' });
    assert.equal(r.status, 400);
    assert.ok((await r.json()).error);
    r = await post(JSON.stringify(location()));
    assert.equal(r.status, 400, 'no user/device');
    assert.match((await r.json()).error, /user\/device/);
    r = await post(JSON.stringify(location()), { 'X-Limit-U': 'a/b', 'X-Limit-D': 'x' });
    assert.equal(r.status, 400, 'a / in the user');
    r = await post(JSON.stringify(location()), { 'X-Limit-U': 'u', 'X-Limit-D': '#' });
    assert.equal(r.status, 400, 'a wildcard in the device');
    r = await post(JSON.stringify({ ...location(), pad: 'x'.repeat(70000) }), { 'X-Limit-U': 'u', 'X-Limit-D': 'd' });
    assert.equal(r.status, 413);
    r = await fetch(`${bridge.url}/pub`);
    assert.equal(r.status, 405);
    assert.ok(await metric(bridge, 'mytracks_bridge_http_reports_total{result="invalid"}') >= 5);
    // still healthy
    assert.equal((await fetch(`${bridge.url}/healthz`)).status, 200);
  });

  it('answers pipelined requests in order on one connection', async () => {
    const raw = (text) => new Promise((resolve, reject) => {
      const sock = net.connect(bridge.port, '127.0.0.1', () => sock.write(text));
      let out = '';
      sock.on('data', (d) => { out += d; });
      sock.setTimeout(1000, () => sock.destroy());
      sock.on('close', () => resolve(out));
      sock.on('error', reject);
    });
    const body = JSON.stringify(location({ tst: 1705333000 }));
    // (a POST pipelined behind another request loses its body in lws 4.1)
    const out = await raw(`POST /pub HTTP/1.1\r\nHost: localhost\r\nX-Limit-U: pipe\r\nX-Limit-D: line\r\nContent-Length: ${body.length}\r\n\r\n${body}`
      + 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'
      + 'GET /api/devices/ HTTP/1.1\r\nHost: localhost\r\n\r\n'
      + 'GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 200, 200, 404], out);
    // a POST pipelined behind a GET: lws 4.1 garbles its body; the bridge
    // must answer, close, and not spin on the connection
    const out2 = await raw('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'
      + `POST /pub HTTP/1.1\r\nHost: localhost\r\nX-Limit-U: pipe\r\nX-Limit-D: line\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.match(out2, /^HTTP\/1\.1 200/);
    assert.equal((await fetch(`${bridge.url}/healthz`)).status, 200, 'still serving');
  });

  describe('history API', () => {
    const ids = [];
    let liveFrames;

    before(async () => {
      const c = await wsConnect(bridge.wsUrl);
      await c.waitFrames(1);
      for (let i = 0; i < 7; i++) {
        await phone.publishAsync('owntracks/hist/a', JSON.stringify(location({ tst: 1705400000 + 60 * i, lat: 1 + i / 10 })), { qos: 1 });
      }
      for (let i = 0; i < 2; i++) {
        await phone.publishAsync('owntracks/hist/b', JSON.stringify(location({ tst: 1705400000 + 60 * i, lat: -1 - i / 10 })), { qos: 1 });
      }
      liveFrames = await waitFor(() => {
        const ls = framesOfType(c.frames, 'location').filter((m) => m.data.user === 'hist');
        return ls.length === 9 ? ls : null;
      }, { what: 'nine live locations' });
      for (const m of liveFrames) if (m.data.device_name === 'hist/a') ids.push(m.data.id);
      // stored (the plugin commits within its window)
      await waitFor(() => sql(broker.db, 'SELECT COUNT(*) AS n FROM locations l JOIN devices d ON d.id = l.device_id WHERE d.user = \'hist\'')[0].n === 9,
        { what: 'nine stored rows' });
      await c.close();
    });

    const api = (q) => getJson(`${bridge.url}/api/locations/?${q}`);

    it('returns the latest locations ascending, identical to the live objects', async () => {
      const { status, body, headers } = await api('device=hist/a');
      assert.equal(status, 200);
      assert.equal(headers.get('cache-control'), 'no-store');
      assert.equal(headers.get('x-content-type-options'), 'nosniff');
      assert.equal(body.count, 7);
      assert.equal(body.has_more, false);
      assert.deepEqual(body.results.map((r) => r.id), ids);
      assert.equal(body.next_since_id, ids.at(-1));
      const live = liveFrames.filter((m) => m.data.device_name === 'hist/a').map((m) => m.data);
      // same keys, same order, same values as the live data objects
      assert.deepEqual(body.results.map((r) => JSON.stringify(r)), live.map((d) => JSON.stringify(d)));

      const latest2 = await api('device=hist/a&limit=2');
      assert.deepEqual(latest2.body.results.map((r) => r.id), ids.slice(-2));
      assert.equal(latest2.body.next_since_id, ids.at(-1));
    });

    it('pages forward with since_id and limit', async () => {
      const got = [];
      let since = 0;
      for (let page = 0; page < 10; page++) {
        const { status, body } = await api(`device=hist/a&since_id=${since}&limit=3`);
        assert.equal(status, 200);
        got.push(...body.results.map((r) => r.id));
        assert.equal(body.count, body.results.length);
        if (!body.has_more) break;
        assert.equal(body.count, 3);
        since = body.next_since_id;
      }
      assert.deepEqual(got, ids);
      const empty = await api(`device=hist/a&since_id=${ids.at(-1)}`);
      assert.deepEqual(empty.body, { results: [], count: 0, has_more: false, next_since_id: ids.at(-1) });
    });

    it('filters by device id and by time range (inclusive)', async () => {
      const a = await api('device=hist/a&limit=1');
      const devId = a.body.results[0].device;
      const byId = await api(`device=${devId}`);
      assert.deepEqual(byId.body.results.map((r) => r.id), ids);
      const ranged = await api(`device=hist/a&start_time=${1705400060}&end_time=${1705400180}`);
      assert.deepEqual(ranged.body.results.map((r) => r.timestamp_unix), [1705400060, 1705400120, 1705400180]);
      const both = await api(`start_time=${1705400000}&end_time=${1705400000}`);
      assert.deepEqual(both.body.results.map((r) => r.device_name).sort(), ['hist/a', 'hist/b']);
      const b = await api('device=hist%2Fb');
      assert.equal(b.body.count, 2);
    });

    it('rejects malformed parameters with 400 and unknown devices with 404', async () => {
      for (const q of ['limit=0', 'limit=1001', 'limit=ten', 'since_id=-1', 'since_id=1.5',
        'start_time=x', 'end_time=', 'start_time=10&end_time=9', 'device=', 'device=/a',
        'device=a/', 'device=a/b/c', 'device=0', `device=${'x'.repeat(400)}`]) {
        const { status, body } = await api(q);
        assert.equal(status, 400, `${q} -> ${JSON.stringify(body)}`);
        assert.equal(typeof body.error, 'string');
      }
      for (const q of ['device=nobody/none', 'device=999999']) {
        const { status, body } = await api(q);
        assert.equal(status, 404, q);
        assert.equal(typeof body.error, 'string');
      }
      assert.equal((await api('limit=1000')).status, 200);
    });

    it('lists devices with their last location', async () => {
      const { status, body } = await getJson(`${bridge.url}/api/devices/`);
      assert.equal(status, 200);
      const a = body.results.find((d) => d.device_name === 'hist/a');
      assert.deepEqual(Object.keys(a), ['id', 'user', 'device', 'device_name', 'display_name', 'tid',
        'last_seen', 'last_seen_unix', 'online', 'last_location']);
      assert.equal(a.user, 'hist');
      assert.equal(a.device, 'a');
      assert.equal(a.last_location.id, ids.at(-1));
      assert.equal(typeof a.online, 'boolean');
      assert.match(a.last_seen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });
  });

  it('cuts off a client that stops reading while a reading one keeps receiving', async () => {
    const small = await startBridge(broker, { name: 'bridge-small', args: ['--ws-backlog', '8', '--ws-backlog-bytes', '2097152'] });
    extraBridges.push(small);
    const reader = await wsConnect(small.wsUrl);
    const stalled = await wsConnect(small.wsUrl);
    await reader.waitFrames(1);
    await stalled.waitFrames(1);
    stalled.ws._socket.pause(); // stop reading: the kernel buffers fill, then the ring
    const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${small.proc.pid}/status`, 'utf8'))[1]);
    const rssBefore = rssKb();
    const pad = 'p'.repeat(60000);
    const N = 900; // ~54 MB: far more than loopback socket buffers and the ring hold
    const pub = await mqttConnect(broker.port, { clientId: 'bulk' });
    for (let i = 0; i < N; i++) {
      // straight onto the plugin's output topic: the relay does not care who wrote it
      pub.publish(`mytracks/locations/bulk/${i % 2}`, `{"seq":${i},"pad":"${pad}"}`, { qos: 1 });
    }
    await waitFor(() => reader.frames.length >= N + 1, { timeout: 30000, what: `${N} frames on the reading client (have ${reader.frames.length})` });
    const seqs = reader.frames.slice(1).map((f) => JSON.parse(f).data.seq);
    assert.deepEqual(seqs, [...Array(N).keys()], 'the reader got every message in order');
    await waitFor(async () => (await metric(small, 'mytracks_bridge_ws_clients_cut_off_total')) === 1,
      { what: 'the stalled client cut off' });
    stalled.ws._socket.resume();
    await waitFor(() => stalled.isClosed, { what: 'the stalled client closed' });
    assert.ok(stalled.frames.length < N + 1, 'the stalled client did not get everything');
    assert.equal(reader.isClosed, false);
    // 54 MB went through while a client stalled: the bridge holds its ring
    // (2 MiB here) and what the allocator keeps for reuse (about 15 MB,
    // the same with 18 or 54 MB of traffic), never the stalled client's
    // backlog. (Under ASan the allocator's quarantine holds freed memory.)
    const grown = rssKb() - rssBefore;
    console.log(`# bridge RSS grew ${grown} kB while a client stalled behind 54 MB`);
    if (!sanitize) assert.ok(grown < 32 * 1024, `bridge RSS grew ${grown} kB`);
    await pub.endAsync();
    await reader.close();
  });

  it('keeps WebSocket clients across a broker restart, and /healthz follows the broker', async () => {
    const c = await wsConnect(bridge.wsUrl);
    await c.waitFrames(1);
    await phone.endAsync();
    await plugOut.close();
    await broker.stop();
    await waitFor(async () => (await fetch(`${bridge.url}/healthz`)).status === 503, { what: '/healthz 503' });
    const h = await getJson(`${bridge.url}/healthz`);
    assert.equal(h.body.broker, 'disconnected');
    // HTTP-mode reports get 503 so the phone keeps them
    const r = await fetch(`${bridge.url}/pub`, { method: 'POST', headers: { 'X-Limit-U': 'u', 'X-Limit-D': 'd' }, body: JSON.stringify(location()) });
    assert.equal(r.status, 503);
    await sleep(300);
    await broker.start();
    await waitFor(async () => (await fetch(`${bridge.url}/healthz`)).status === 200, { timeout: 20000, what: '/healthz 200 again' });
    assert.equal((await getJson(`${bridge.url}/healthz`)).body.broker, 'connected');
    phone = await mqttConnect(broker.port, { clientId: 'phone-alice' });
    plugOut = await collector(broker.port, 'mytracks/#');
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705500000 })), { qos: 1 });
    const f = JSON.parse(await c.waitFor((x) => x.includes('"timestamp_unix":1705500000')));
    assert.equal(f.type, 'location');
    assert.equal(c.isClosed, false, 'the client stayed connected');
    assert.equal(framesOfType(c.frames, 'welcome').length, 1, 'no second welcome: same connection');
    await c.close();
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${bridge.url}/metrics`)).text();
    for (const name of ['mytracks_bridge_ws_clients', 'mytracks_bridge_messages_relayed_total',
      'mytracks_bridge_ws_clients_cut_off_total', 'mytracks_bridge_broker_connected',
      'mytracks_bridge_http_reports_total{result="accepted"}']) {
      assert.match(text, new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} \\d+$`, 'm'), name);
    }
    assert.equal(await metric(bridge, 'mytracks_bridge_broker_connected'), 1);
    assert.ok(await metric(bridge, 'mytracks_bridge_messages_relayed_total') >= 10);
    assert.ok(await metric(bridge, 'mytracks_bridge_http_reports_total{result="accepted"}') >= 2);
  });
});

describe('bridge started before the broker and its database', () => {
  after(stopAll);

  it('answers 503 until the broker and the database appear, then works', async () => {
    const dir = tmpDir();
    const port = await freePort();
    const pending = { port, dir, db: path.join(dir, 'mytracks.db') };
    const bridge = await startBridge(pending, { waitBroker: false });
    let h = await getJson(`${bridge.url}/healthz`);
    assert.equal(h.status, 503);
    assert.deepEqual([h.body.broker, h.body.database], ['disconnected', 'unavailable']);
    const api = await getJson(`${bridge.url}/api/locations/`);
    assert.equal(api.status, 503);
    assert.match(api.body.error, /database unavailable/);
    assert.equal((await getJson(`${bridge.url}/api/devices/`)).status, 503);

    const broker = await startBroker({ dir, port, options: { trusted_user: 'mytracks-bridge' } });
    await waitFor(async () => (await fetch(`${bridge.url}/healthz`)).status === 200,
      { timeout: 20000, what: 'the bridge connected' });
    h = await getJson(`${bridge.url}/healthz`);
    assert.equal(h.body.database, 'ok');
    const r = await getJson(`${bridge.url}/api/locations/`);
    assert.deepEqual(r.body, { results: [], count: 0, has_more: false, next_since_id: null });
    const res = await bridge.stop();
    assert.equal(res.code, 0);
    assertNoSanitizerFindings(assert, bridge.proc);
    await broker.stop();
  });
});
