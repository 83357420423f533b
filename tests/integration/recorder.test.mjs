// The Recorder-compatible API (issue 14): /api/0/list, /last, /locations
// (json, csv, geojson, gpx, linestring), /version and the /ws/last
// WebSocket, called with the parameters the OwnTracks frontend sends
// (../shared/RECORDER-API.md), against a real broker, plugin and bridge.
// Exact shapes, JSON errors, CORS for --allowed-origin, and the same
// visibility as the rest of the bridge with --users (a session cookie or
// HTTP Basic credentials).
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  sourceDir, tmpDir, startBroker, stopAll, mqttConnect, sql, waitFor, assertNoSanitizerFindings,
} from '../lib/harness.mjs';
import WebSocket from 'ws';
import { startBridge } from '../lib/bridge.mjs';

const FRONT = 'http://front.example:8000';
const NOW = Math.floor(Date.now() / 1000);
const T0 = NOW - 3600; // inside the default range (the last 6 h)
const OLD = NOW - 7 * 3600; // outside it
const JSON_CT = 'application/json; charset=utf-8';

/** The Recorder's from/to form: naive UTC, seconds, no zone. */
const rec = (t) => new Date(t * 1000).toISOString().slice(0, 19);
const iso = (t) => `${rec(t)}Z`;
const disp = (t) => rec(t).replace('T', ' ');

/** The frontend's query strings: URLSearchParams, so ':' is %3A. */
const q = (params) => new URLSearchParams(params).toString();

async function publish(mqtt, topic, payload) {
  await mqtt.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
}

/** Every JSON answer carries the Recorder's Content-Type. */
async function getRec(url, opts = {}) {
  const r = await fetch(url, opts);
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, text, headers: r.headers };
}

function assertJson(r) {
  assert.equal(r.headers.get('content-type'), JSON_CT);
  assert.equal(typeof r.body, 'object', `a JSON body: ${r.text}`);
}

function hash(pw) {
  return execFileSync('openssl', ['passwd', '-6', '-salt', 'recordertest', pw]).toString().trim();
}

function basic(user, pw) {
  return { authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` };
}

async function login(bridge, user, password) {
  const r = await fetch(`${bridge.url}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  await r.arrayBuffer();
  assert.equal(r.status, 200);
  return r.headers.get('set-cookie').split(';')[0];
}

/** A WebSocket client keeping its text frames (tests/lib/bridge.mjs's
 * wsConnect, with headers): { ws, frames, closed, waitFrames, waitFor }. */
function wsConnect(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    const frames = [];
    const c = { ws, frames, isClosed: false };
    c.closed = new Promise((r) => ws.on('close', (code) => { c.isClosed = true; r(code); }));
    ws.on('message', (data) => frames.push(data.toString()));
    c.waitFrames = (n) => waitFor(() => frames.length >= n, { what: `${n} frames (have ${frames.length})` });
    c.waitFor = (pred) => waitFor(() => frames.find(pred), { what: 'a matching frame' });
    c.close = () => { if (!c.isClosed) ws.close(); return c.closed; };
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** A WebSocket on /ws/last that may be refused: 'refused' or the client. */
async function tryWs(url, opts) {
  try { return await wsConnect(url, opts); } catch { return 'refused'; }
}

/** The stored test data: alice/phone (3 fixes in range, one old, a card,
 * regions and a POI), bob/tablet, carol/watch, ping/ping. */
async function seed(broker) {
  const mqtt = await mqttConnect(broker.port);
  await publish(mqtt, 'owntracks/alice/phone', { _type: 'location', lat: 52.5, lon: 13.4, tst: OLD, tid: 'AP' });
  await publish(mqtt, 'owntracks/alice/phone', {
    _type: 'location', lat: 52.52, lon: 13.405, tst: T0, acc: 10, alt: 40, batt: 90, vel: 12, tid: 'AP',
    conn: 'w', SSID: 'homewifi', BSSID: 'aa:bb:cc:dd:ee:ff', t: 'u', poi: 'Coffee', inregions: ['Home', 'Berlin'],
  });
  await publish(mqtt, 'owntracks/alice/phone', { _type: 'location', lat: 52.521, lon: 13.406, tst: T0 + 60, cog: 45, vac: 3, tid: 'AP' });
  await publish(mqtt, 'owntracks/alice/phone', { _type: 'location', lat: 52.522, lon: 13.407, tst: T0 + 120, acc: 11, tid: 'AP', inregions: 'not an array' });
  await publish(mqtt, 'owntracks/alice/phone/info', { _type: 'card', name: "Alice's phone", face: 'iVBORw0KGgo=' });
  await publish(mqtt, 'owntracks/bob/tablet', { _type: 'location', lat: 48.1, lon: 11.5, tst: T0 + 30, tid: 'BT' });
  await publish(mqtt, 'owntracks/carol/watch', { _type: 'location', lat: 40.1, lon: -3.5, tst: T0 + 40, tid: 'CW' });
  await publish(mqtt, 'owntracks/ping/ping', { _type: 'location', lat: 0, lon: 0, tst: T0 + 50, tid: 'pp' });
  await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 7
    && sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'card'")[0].n === 1, { what: 'the seed stored' });
  return mqtt;
}

// The objects as the Recorder would serve them, from what seed() stored.
const received = (db, tst) => sql(db, `SELECT received_at AS r FROM locations WHERE tst = ${tst}`)[0].r;
function aliceLast(db) {
  const t = T0 + 120;
  return {
    _type: 'location', tid: 'AP', lat: 52.522, lon: 13.407, tst: t, acc: 11, inregions: [],
    topic: 'owntracks/alice/phone', username: 'alice', device: 'phone',
    isorcv: iso(received(db, t)), isotst: iso(t), disptst: disp(t), name: "Alice's phone", face: 'iVBORw0KGgo=',
  };
}
function aliceHistory(db) {
  const base = { topic: 'owntracks/alice/phone', username: 'alice', device: 'phone' };
  const times = (t) => ({ isorcv: iso(received(db, t)), isotst: iso(t), disptst: disp(t) });
  return [
    {
      _type: 'location', tid: 'AP', lat: 52.52, lon: 13.405, tst: T0, acc: 10, alt: 40, batt: 90, vel: 12,
      conn: 'w', t: 'u', SSID: 'homewifi', BSSID: 'aa:bb:cc:dd:ee:ff', poi: 'Coffee', inregions: ['Home', 'Berlin'],
      ...base, ...times(T0),
    },
    { _type: 'location', tid: 'AP', lat: 52.521, lon: 13.406, tst: T0 + 60, cog: 45, vac: 3, inregions: [], ...base, ...times(T0 + 60) },
    { _type: 'location', tid: 'AP', lat: 52.522, lon: 13.407, tst: T0 + 120, acc: 11, inregions: [], ...base, ...times(T0 + 120) },
  ];
}

/**
 * The frames a "LAST" on `ws` is answered with (`n` of them), checked to be
 * all of them without a sleep: a second LAST, sent once `n` frames are in,
 * is answered after the first answer is written out (one socket's frames
 * keep their order), so anything more from the first would come before the
 * second answer, which must be the same `n` frames again.
 */
async function lastAnswer(ws, n) {
  ws.ws.send('LAST');
  await ws.waitFrames(n);
  const first = ws.frames.slice(0, n);
  ws.ws.send('LAST');
  await ws.waitFrames(2 * n);
  assert.deepEqual(ws.frames.slice(n, 2 * n), first, 'the answer to LAST, complete: the second one follows it');
  return first;
}

describe('Recorder API without --users', () => {
  let broker; let bridge; let mqtt; let api;

  before(async () => {
    // a wide commit window: a push before the commit would be seen
    broker = await startBroker({ options: { commit_window: '300' } });
    bridge = await startBridge(broker, { args: ['--allowed-origin', FRONT] });
    api = `${bridge.url}/api/0`;
    mqtt = await seed(broker);
  });
  after(async () => {
    await mqtt?.endAsync();
    if (bridge) {
      await bridge.stop();
      assertNoSanitizerFindings(assert, bridge.proc);
    }
    await stopAll();
  });

  it('lists users, and a user\'s devices', async () => {
    let r = await getRec(`${api}/list`);
    assert.equal(r.status, 200);
    assertJson(r);
    assert.deepEqual(r.body, { results: ['alice', 'bob', 'carol', 'ping'] });
    r = await getRec(`${api}/list?${q({ user: 'alice' })}`);
    assertJson(r);
    assert.deepEqual(r.body, { results: ['phone'] });
    r = await getRec(`${api}/list?${q({ user: 'nobody' })}`);
    assert.deepEqual(r.body, { results: [] }, 'an array even when empty');
  });

  it('/last: a bare array, one object per device, the card\'s name and face', async () => {
    const r = await getRec(`${api}/last`);
    assert.equal(r.status, 200);
    assertJson(r);
    assert.ok(Array.isArray(r.body));
    assert.deepEqual(r.body.map((o) => o.topic),
      ['owntracks/alice/phone', 'owntracks/bob/tablet', 'owntracks/carol/watch', 'owntracks/ping/ping']);
    assert.deepEqual(r.body[0], aliceLast(broker.db));
    // exactly these keys, in this order: absent fields left out, never null
    assert.equal(JSON.stringify(r.body[0]), JSON.stringify(aliceLast(broker.db)));
    assert.ok(!r.text.includes('null'));
    assert.deepEqual(r.body[1], {
      _type: 'location', tid: 'BT', lat: 48.1, lon: 11.5, tst: T0 + 30, inregions: [], topic: 'owntracks/bob/tablet',
      username: 'bob', device: 'tablet', isorcv: iso(received(broker.db, T0 + 30)), isotst: iso(T0 + 30), disptst: disp(T0 + 30),
    });
  });

  it('/last?user=&device= narrows down; fields= keeps only those keys', async () => {
    let r = await getRec(`${api}/last?${q({ user: 'alice' })}`);
    assert.deepEqual(r.body, [aliceLast(broker.db)]);
    r = await getRec(`${api}/last?${q({ user: 'alice', device: 'phone' })}`);
    assert.deepEqual(r.body, [aliceLast(broker.db)]);
    r = await getRec(`${api}/last?${q({ user: 'alice', device: 'tablet' })}`);
    assert.deepEqual(r.body, []);
    r = await getRec(`${api}/last?${q({ user: 'bob', fields: 'lat,lon,tst,nosuch' })}`);
    assert.deepEqual(r.body, [{ lat: 48.1, lon: 11.5, tst: T0 + 30 }]);
  });

  it('/locations as the frontend asks: from < tst < to, UTC YYYY-MM-DDTHH:MM:SS', async () => {
    const all = aliceHistory(broker.db);
    // the frontend's parameters, in its order
    let r = await getRec(`${api}/locations?${q({ from: rec(T0 - 1), to: rec(T0 + 121), user: 'alice', device: 'phone', format: 'json' })}`);
    assert.equal(r.status, 200);
    assertJson(r);
    assert.deepEqual(r.body, { data: all, count: 3, status: 200, version: r.body.version });
    assert.equal(typeof r.body.version, 'string');
    assert.equal(JSON.stringify(r.body.data), JSON.stringify(all), 'keys in the Recorder\'s order');
    // exclusive at both ends
    r = await getRec(`${api}/locations?${q({ from: rec(T0), to: rec(T0 + 120), user: 'alice', device: 'phone', format: 'json' })}`);
    assert.deepEqual(r.body.data.map((o) => o.tst), [T0 + 60]);
    // the shorter forms, and ISO-8601
    const day = rec(T0).slice(0, 10);
    r = await getRec(`${api}/locations?${q({ from: '2000-01', to: `${rec(NOW + 86400).slice(0, 10)}`, user: 'alice', device: 'phone' })}`);
    assert.deepEqual(r.body.data.map((o) => o.tst), [OLD, T0, T0 + 60, T0 + 120]);
    r = await getRec(`${api}/locations?${q({ from: `${rec(T0 - 1)}Z`, to: `${rec(T0 + 1).slice(0, 16)}:59`, user: 'alice', device: 'phone' })}`);
    assert.deepEqual(r.body.data.map((o) => o.tst), [T0]);
    assert.ok(day.length === 10);
  });

  it('/locations defaults to the last six hours; limit keeps the newest; unknown parameters are ignored', async () => {
    let r = await getRec(`${api}/locations?${q({ user: 'alice', device: 'phone' })}`);
    assert.deepEqual(r.body.data.map((o) => o.tst), [T0, T0 + 60, T0 + 120], 'the 7 h old fix is out');
    r = await getRec(`${api}/locations?${q({ user: 'alice', device: 'phone', limit: '2', from: '2000-01-01', whatever: 'x' })}`);
    assert.deepEqual(r.body.data.map((o) => o.tst), [T0 + 60, T0 + 120]);
    assert.equal(r.body.count, 2);
    r = await getRec(`${api}/locations?${q({ user: 'alice', device: 'phone', fields: 'tst,lat' })}`);
    assert.deepEqual(r.body.data[0], { lat: 52.52, tst: T0 });
    r = await getRec(`${api}/locations?${q({ user: 'alice', device: 'nosuch' })}`);
    assert.deepEqual(r.body.data, []);
    assert.equal(r.body.count, 0);
  });

  it('answers every error in JSON', async () => {
    const cases = [
      [`locations?${q({ user: 'alice' })}`, 416, /user and device are required/],
      [`locations?${q({ device: 'phone' })}`, 416, /user and device are required/],
      ['locations', 416, /user and device are required/],
      [`locations?${q({ user: 'alice', device: 'phone', from: 'yesterday' })}`, 400, /from must be a date/],
      [`locations?${q({ user: 'alice', device: 'phone', to: '2024-13-01' })}`, 400, /to must be a date/],
      [`locations?${q({ user: 'alice', device: 'phone', limit: '-1' })}`, 400, /limit/],
      [`locations?${q({ user: 'alice', device: 'phone', format: 'kml' })}`, 400, /format/],
      [`locations?${q({ user: 'a'.repeat(600), device: 'phone' })}`, 400, /too long/],
      ['nosuch', 404, /not found/],
      ['', 404, /not found/],
    ];
    for (const [p, status, re] of cases) {
      const r = await getRec(`${api}/${p}`);
      assert.equal(r.status, status, p);
      assertJson(r);
      assert.match(r.body.error, re, p);
    }
    const r = await getRec(`${api}/list`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 405);
    assertJson(r);
  });

  it('/version', async () => {
    const r = await getRec(`${api}/version`);
    assert.equal(r.status, 200);
    assertJson(r);
    assert.deepEqual(Object.keys(r.body), ['version', 'git']);
    assert.match(r.body.version, /^\d+\.\d+/);
  });

  it('exports: csv, geojson, gpx (well-formed XML) and a GeoJSON LineString', async () => {
    const base = { from: rec(T0 - 1), to: rec(T0 + 121), user: 'alice', device: 'phone' };
    let r = await getRec(`${api}/locations?${q({ ...base, format: 'csv' })}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    const lines = r.text.split('\r\n').filter((l) => l);
    assert.equal(lines.length, 1 + 3, 'a header and one line per location');
    assert.match(lines[0], /latitude/);
    assert.match(lines[1], /52\.520000/);

    r = await getRec(`${api}/locations?${q({ ...base, format: 'geojson' })}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.type, 'FeatureCollection');
    assert.equal(r.body.features.length, 3);
    assert.deepEqual(r.body.features[0].geometry.coordinates.slice(0, 2), [13.405, 52.52]);

    r = await getRec(`${api}/locations?${q({ ...base, format: 'gpx' })}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /gpx/);
    const dir = tmpDir('mytracks-gpx-');
    const file = path.join(dir, 'track.gpx');
    fs.writeFileSync(file, r.text);
    execFileSync('xmllint', ['--noout', file]); // throws when not well-formed
    // the GPX 1.1 schema, where the tree has it (tests/fixtures, history API)
    const xsd = path.join(sourceDir, 'tests', 'fixtures', 'gpx-1.1.xsd');
    if (fs.existsSync(xsd)) execFileSync('xmllint', ['--noout', '--schema', xsd, file], { stdio: 'pipe' });
    assert.equal((r.text.match(/<trkpt /g) || []).length, 3);
    assert.match(r.text, /<trkpt lat="52.520000" lon="13.405000">/);

    r = await getRec(`${api}/locations?${q({ ...base, format: 'linestring' })}`);
    assert.equal(r.status, 200);
    assertJson(r);
    assert.deepEqual(r.body, { type: 'LineString', coordinates: [[13.405, 52.52], [13.406, 52.521], [13.407, 52.522]] });
  });

  it('CORS for an --allowed-origin only, with credentials, never *', async () => {
    let r = await getRec(`${api}/list`, { headers: { origin: FRONT } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), FRONT);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('vary'), 'Origin');
    r = await getRec(`${api}/locations`, { headers: { origin: FRONT } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('access-control-allow-origin'), FRONT, 'errors too, so the page can read them');
    r = await getRec(`${api}/list`, { headers: { origin: 'http://evil.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
    // the preflight a fetchOptions Authorization header causes
    r = await getRec(`${api}/last`, {
      method: 'OPTIONS', headers: { origin: FRONT, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), FRONT);
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET');
    assert.match(r.headers.get('access-control-allow-headers'), /authorization/i);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    r = await getRec(`${api}/last`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    // the rest of the bridge is unchanged
    r = await getRec(`${bridge.url}/api/devices/`, { headers: { origin: FRONT } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  it('/ws/last: LAST gets one object per device (ping/ping left out); a new location is pushed', async () => {
    const ws = await wsConnect(`ws://127.0.0.1:${bridge.port}/ws/last`);
    const got = (await lastAnswer(ws, 3)).map((f) => JSON.parse(f));
    assert.equal(got.length, 3, 'no welcome, no echo, one per device');
    assert.deepEqual(got.map((o) => o.topic), ['owntracks/alice/phone', 'owntracks/bob/tablet', 'owntracks/carol/watch']);
    assert.deepEqual(got[0], aliceLast(broker.db));
    // something else is tolerated (not closed, ignored)
    ws.ws.send('hello');
    ws.ws.send(Buffer.from([1, 2, 3]));
    // the frontend fetches /last on each push, at once: it must show the
    // new fix already (the plugin publishes before it commits, up to its
    // commit window later: the push waits for the commit)
    const refetched = new Promise((resolve) => ws.ws.on('message', (data) => {
      if (JSON.parse(data.toString()).tst === T0 + 200) resolve(getRec(`${api}/last?${q({ user: 'bob' })}`));
    }));
    await publish(mqtt, 'owntracks/bob/tablet', { _type: 'location', lat: 48.2, lon: 11.6, tst: T0 + 200, tid: 'BT', batt: 50, inregions: ['Office'] });
    const pushed = JSON.parse(await ws.waitFor((f) => JSON.parse(f).tst === T0 + 200));
    assert.equal((await refetched).body[0].tst, T0 + 200, 'pushed only once /last has it');
    assert.deepEqual(pushed, {
      _type: 'location', tid: 'BT', lat: 48.2, lon: 11.6, tst: T0 + 200, batt: 50, inregions: [],
      topic: 'owntracks/bob/tablet', username: 'bob', device: 'tablet',
      isorcv: pushed.isorcv, isotst: iso(T0 + 200), disptst: disp(T0 + 200),
    });
    assert.match(pushed.isorcv, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // a card, a transition, a status: not pushed (the frontend ignores them)
    await publish(mqtt, 'owntracks/bob/tablet/info', { _type: 'card', name: 'Bob' });
    await publish(mqtt, 'owntracks/bob/tablet', { _type: 'location', lat: 48.3, lon: 11.7, tst: T0 + 201 });
    await ws.waitFor((f) => JSON.parse(f).tst === T0 + 201);
    assert.ok(ws.frames.every((f) => JSON.parse(f)._type === 'location'));
    assert.equal(ws.isClosed, false);
    // LAST again: the new last location, with the new card
    const before = ws.frames.length;
    ws.ws.send('LAST');
    await ws.waitFrames(before + 3);
    const bob = JSON.parse(ws.frames.slice(before).find((f) => JSON.parse(f).username === 'bob'));
    assert.equal(bob.tst, T0 + 201);
    assert.equal(bob.name, 'Bob');
    await ws.close();
    // /ws/locations/ stays send-only
    const loc = await wsConnect(bridge.wsUrl);
    loc.ws.send('LAST');
    assert.equal(await loc.closed, 1008);
  });

  it('/ws/last keeps the Origin check', async () => {
    assert.equal(await tryWs(`ws://127.0.0.1:${bridge.port}/ws/last`, { headers: { origin: 'http://evil.example' } }), 'refused');
    const ok = await tryWs(`ws://127.0.0.1:${bridge.port}/ws/last`, { headers: { origin: FRONT } });
    assert.notEqual(ok, 'refused');
    await ok.close();
    assert.equal(await tryWs(`ws://127.0.0.1:${bridge.port}/ws/lastx`), 'refused');
  });
});

describe('Recorder API with --users', () => {
  let broker; let bridge; let mqtt; let api; let cookies;
  const PW = { alice: 'alice-pw-1', bob: 'bob-pw-22', carol: 'carol-pw-333', root: 'root-pw-4444' };

  before(async () => {
    broker = await startBroker();
    const dir = tmpDir('mytracks-rec-users-');
    const users = path.join(dir, 'users');
    // bob shares with alice; nobody shares with carol; root sees all
    fs.writeFileSync(users, [
      `alice:${hash(PW.alice)}`, `bob:${hash(PW.bob)}:share=alice`, `carol:${hash(PW.carol)}`,
      `root:${hash(PW.root)}:admin`, '',
    ].join('\n'));
    bridge = await startBridge(broker, { args: ['--users', users, '--allowed-origin', FRONT] });
    api = `${bridge.url}/api/0`;
    mqtt = await seed(broker);
    cookies = {};
    for (const u of Object.keys(PW)) cookies[u] = await login(bridge, u, PW[u]);
  });
  after(async () => {
    await mqtt?.endAsync();
    if (bridge) {
      await bridge.stop();
      assertNoSanitizerFindings(assert, bridge.proc);
    }
    await stopAll();
  });

  it('refuses every endpoint without a login, in JSON', async () => {
    for (const p of ['list', 'last', `locations?${q({ user: 'alice', device: 'phone' })}`, 'version']) {
      const r = await getRec(`${api}/${p}`);
      assert.equal(r.status, 401, p);
      assertJson(r);
      assert.match(r.body.error, /login required/);
    }
    const r = await getRec(`${api}/list`, { headers: basic('alice', 'wrong') });
    assert.equal(r.status, 401);
    assertJson(r);
  });

  it('a user sees own and shared devices only, with a cookie or HTTP Basic', async () => {
    for (const h of [{ cookie: cookies.alice }, basic('alice', PW.alice)]) {
      let r = await getRec(`${api}/list`, { headers: h });
      assert.deepEqual(r.body, { results: ['alice', 'bob'] });
      r = await getRec(`${api}/list?${q({ user: 'carol' })}`, { headers: h });
      assert.deepEqual(r.body, { results: [] });
      r = await getRec(`${api}/last`, { headers: h });
      assert.deepEqual(r.body.map((o) => o.topic), ['owntracks/alice/phone', 'owntracks/bob/tablet']);
      r = await getRec(`${api}/last?${q({ user: 'carol' })}`, { headers: h });
      assert.deepEqual(r.body, []);
      r = await getRec(`${api}/locations?${q({ from: '2000-01', user: 'bob', device: 'tablet' })}`, { headers: h });
      assert.equal(r.body.data.length, 1);
      r = await getRec(`${api}/locations?${q({ from: '2000-01', user: 'carol', device: 'watch', format: 'gpx' })}`, { headers: h });
      assert.equal((r.text.match(/<trkpt /g) || []).length, 0, 'not in an export either');
    }
    // bob does not see alice's (she does not share with him)
    let r = await getRec(`${api}/list`, { headers: { cookie: cookies.bob } });
    assert.deepEqual(r.body, { results: ['bob'] });
    r = await getRec(`${api}/locations?${q({ from: '2000-01', user: 'alice', device: 'phone' })}`, { headers: basic('bob', PW.bob) });
    assert.deepEqual(r.body.data, []);
    r = await getRec(`${api}/list`, { headers: { cookie: cookies.root } });
    assert.deepEqual(r.body, { results: ['alice', 'bob', 'carol', 'ping'] });
  });

  it('CORS preflights need no login; answers carry CORS for the allowed origin', async () => {
    let r = await getRec(`${api}/last`, { method: 'OPTIONS', headers: { origin: FRONT, 'access-control-request-headers': 'authorization' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), FRONT);
    r = await getRec(`${api}/last`, { headers: { origin: FRONT, ...basic('carol', PW.carol) } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), FRONT);
    assert.deepEqual(r.body.map((o) => o.topic), ['owntracks/carol/watch']);
  });

  it('/ws/last needs a session, and pushes only what the viewer may see', async () => {
    const url = `ws://127.0.0.1:${bridge.port}/ws/last`;
    assert.equal(await tryWs(url), 'refused');
    const ws = await wsConnect(url, { headers: { cookie: cookies.alice } });
    assert.deepEqual((await lastAnswer(ws, 2)).map((f) => JSON.parse(f).topic), ['owntracks/alice/phone', 'owntracks/bob/tablet']);
    await publish(mqtt, 'owntracks/carol/watch', { _type: 'location', lat: 40.2, lon: -3.6, tst: T0 + 300 });
    await publish(mqtt, 'owntracks/bob/tablet', { _type: 'location', lat: 48.4, lon: 11.8, tst: T0 + 301 });
    await ws.waitFor((f) => JSON.parse(f).tst === T0 + 301);
    assert.ok(!ws.frames.some((f) => JSON.parse(f).username === 'carol'), 'carol does not share with alice');
    // logging out ends the socket, as on /ws/locations/
    const r = await fetch(`${bridge.url}/logout`, { method: 'POST', headers: { cookie: cookies.alice, origin: bridge.url } });
    await r.arrayBuffer();
    assert.equal(await ws.closed, 1008);
  });
});
