// History API tests (issue 13): ISO dates, streamed exports re-parsed (GPX
// against the GPX 1.1 schema, GeoJSON, CSV), a streamed export larger than
// the 32 MiB response cap in bounded memory, thinning, the bad-fix filter
// and its distance, visibility with --users. A real broker and bridge on
// free loopback ports, reading a database written by sqlite3 (or by psql:
// integration_history_pg).
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  startBroker, stopAll, assertNoSanitizerFindings, bridgePath, sanitizerEnv, sanitize,
  sourceDir, sql, tmpDir,
} from '../lib/harness.mjs';
import { startBridge, getJson } from '../lib/bridge.mjs';
import { backend, sharedPostgres } from '../lib/pg.mjs';

const XSD = path.join(sourceDir, 'tests', 'fixtures', 'gpx-1.1.xsd');
const DAY = Date.UTC(2024, 2, 10) / 1000; // 2024-03-10T00:00:00Z
const T0 = DAY + 8 * 3600; // alice's walk: 08:00Z, one fix a minute for 2 h
const WALK = 121;
const OUTLIER_TST = T0 + 60 * 60 + 30; // 09:00:30Z, 1 degree north, acc 5000
const BIG = 80000; // rows of carol/big: a GeoJSON export well over 32 MiB
const PASSWORD = 'history-pass';

/** The schema and three devices: written by the sqlite3 shell into a file,
 * or by psql into a fresh PostgreSQL database (integration_history_pg).
 * Returns what the bridge's --database takes. */
async function historyDb(dir) {
  const pg = backend === 'postgres';
  const schema = fs.readFileSync(path.join(sourceDir, 'schema', pg ? 'schema_pg.sql' : 'schema.sql'), 'utf8');
  // explicit ids, the same in both: PostgreSQL's have no default
  const ids = { walk: 0, outlier: WALK, bob: WALK + 1, big: WALK + 11 };
  const rows = `
INSERT INTO devices (id, "user", device, first_seen) VALUES
  (1, 'alice', 'phone', ${DAY}), (2, 'bob', 'tab', ${DAY}), (3, 'carol', 'big', ${DAY});
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${WALK - 1})
INSERT INTO locations (id, device_id, tst, lat, lon, acc, vel, batt, conn, tid, received_at, raw)
  SELECT ${ids.walk + 1} + i, 1, ${T0} + 60 * i, 52.5 + 0.0005 * i, 13.4, 8, 3, 90 - i / 10, 'w', 'ph', ${T0} + 60 * i, '{}' FROM n;
INSERT INTO locations (id, device_id, tst, lat, lon, acc, received_at, raw)
  VALUES (${ids.outlier + 1}, 1, ${OUTLIER_TST}, 53.53, 13.4, 5000, ${OUTLIER_TST}, '{}');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
INSERT INTO locations (id, device_id, tst, lat, lon, acc, received_at, raw)
  SELECT ${ids.bob + 1} + i, 2, ${T0} + 600 * i, 48.1, 11.5 + 0.001 * i, 20, ${T0}, '{}' FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${BIG - 1})
INSERT INTO locations (id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, trig, cog, bs,
                       ssid, bssid, ip_address, received_at, raw)
  SELECT ${ids.big + 1} + i, 3, ${DAY - 86400 * 100} + 60 * i, 40 + (i % 1000) * 0.0001, -3.7, 12, 650, 30, 55, 'm', 'cb',
         'p', 90, 1, 'a "quoted", comma ssid', 'aa:bb:cc:dd:ee:ff', '127.0.0.1', 0, '{}' FROM n;`;
  if (pg) {
    const url = (await sharedPostgres()).createDatabase();
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', url],
      { input: schema + rows, stdio: ['pipe', 'ignore', 'inherit'] });
    return url;
  }
  const file = path.join(dir, 'history.db');
  const script = `PRAGMA journal_mode = WAL;
BEGIN;
${schema}
PRAGMA user_version = 1;
${rows}
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);`;
  execFileSync('sqlite3', [file], { input: script, stdio: ['pipe', 'ignore', 'inherit'] });
  return file;
}

/** Peak and current resident memory of a process, KiB. */
function memory(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { hwm: +s.match(/VmHWM:\s+(\d+)/)[1], rss: +s.match(/VmRSS:\s+(\d+)/)[1] };
}

function xmllint(file, schema) {
  const args = ['--noout', ...(schema ? ['--schema', schema] : []), file];
  return spawnSync('xmllint', args, { encoding: 'utf8' });
}

/** A CSV line split into fields (RFC 4180 quoting). */
function csvFields(line) {
  const out = [];
  let cur = ''; let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
}

describe('history API', () => {
  let dir; let db; let broker; let bridge; let authed; let cookies = {};
  const range = `start_time=2024-03-10T00:00:00Z&end_time=2024-03-10T23:59:59Z`;

  before(async () => {
    dir = tmpDir('mytracks-history-');
    db = await historyDb(dir);
    broker = await startBroker({ dir });
    bridge = await startBridge(broker, { args: ['--database', db, '--hide-accuracy-over', '150', '--hide-speed-over', '300'] });
    const hash = execFileSync(bridgePath, ['--hash-password'], { input: `${PASSWORD}\n`, env: sanitizerEnv(false) }).toString().trim();
    const users = path.join(dir, 'users');
    // bob shares with alice: alice sees alice and bob, bob only bob
    fs.writeFileSync(users, `alice:${hash}\nbob:${hash}:share=alice\n`);
    authed = await startBridge(broker, { name: 'authed', args: ['--database', db, '--users', users] });
    for (const user of ['alice', 'bob']) {
      const r = await fetch(`${authed.url}/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password: PASSWORD }),
      });
      assert.equal(r.status, 200);
      cookies[user] = r.headers.get('set-cookie').split(';')[0];
    }
  });

  after(async () => {
    for (const b of [bridge, authed]) {
      if (!b) continue;
      const r = await b.stop();
      assert.equal(r.code, 0, `${b.proc.name} exit: ${JSON.stringify(r)}\n${b.proc.output.slice(-2000)}`);
      assertNoSanitizerFindings(assert, b.proc);
    }
    await stopAll();
  });

  it('takes ISO-8601 dates as well as unix seconds, and refuses bad ones', async () => {
    const iso = await getJson(`${bridge.url}/api/locations/?device=alice/phone&start_time=2024-03-10T08:30:00Z&end_time=2024-03-10T09:00:00%2B00:00&limit=1000`);
    const unix = await getJson(`${bridge.url}/api/locations/?device=alice/phone&start_time=${T0 + 1800}&end_time=${T0 + 3600}&limit=1000`);
    assert.equal(iso.status, 200, iso.text);
    assert.equal(iso.body.count, 31);
    assert.deepEqual(iso.body.results.map((l) => l.id), unix.body.results.map((l) => l.id));
    const day = await getJson(`${bridge.url}/api/locations/?device=1&start_time=2024-03-10&end_time=2024-03-11&limit=1000`);
    assert.equal(day.body.count, WALK + 1);
    for (const bad of ['2024-13-01', 'yesterday', '2024-02-30T00:00:00Z', '-5']) {
      const r = await getJson(`${bridge.url}/api/locations/?start_time=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.body.error, /start_time must be unix seconds or an ISO-8601 date/);
      const t = await getJson(`${bridge.url}/api/locations/?max_points=10&end_time=${encodeURIComponent(bad)}`);
      assert.equal(t.status, 400, bad);
    }
    const r = await getJson(`${bridge.url}/api/locations/?start_time=2024-03-11&end_time=2024-03-10`);
    assert.equal(r.status, 400);
    // a plain page keeps its own limits (a track's limit goes higher)
    const big = await getJson(`${bridge.url}/api/locations/?limit=5000`);
    assert.equal(big.status, 400);
    assert.match(big.body.error, /limit must be from 1 to 1000/);
  });

  it('exports GPX that is valid GPX 1.1, grouped per device', async () => {
    const r = await fetch(`${bridge.url}/api/locations/?format=gpx&${range}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/gpx+xml');
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="mytracks-all-2024-03-10-2024-03-10.gpx"');
    const text = await r.text();
    const file = path.join(dir, 'all.gpx');
    fs.writeFileSync(file, text);
    const lint = xmllint(file);
    assert.equal(lint.status, 0, lint.stderr);
    const schema = xmllint(file, XSD);
    assert.equal(schema.status, 0, schema.stderr);
    assert.deepEqual([...text.matchAll(/<trk><name>([^<]*)<\/name>/g)].map((m) => m[1]), ['alice/phone', 'bob/tab']);
    assert.equal((text.match(/<trkpt /g) || []).length, WALK + 1 + 10);
    // one device, and the filter: the outlier is not exported
    const one = await (await fetch(`${bridge.url}/api/locations/?format=gpx&device=alice/phone&max_acc=100&${range}`)).text();
    assert.equal((one.match(/<trkpt /g) || []).length, WALK);
    assert.ok(!one.includes('lat="53.530000"'));
  });

  it('exports GeoJSON and CSV that parse back to the same fixes', async () => {
    const g = await fetch(`${bridge.url}/api/locations/?format=geojson&device=alice/phone&${range}`);
    assert.equal(g.headers.get('content-type'), 'application/geo+json');
    assert.match(g.headers.get('content-disposition'), /filename="mytracks-alice-phone-2024-03-10-2024-03-10\.geojson"/);
    const fc = JSON.parse(await g.text());
    assert.equal(fc.type, 'FeatureCollection');
    assert.equal(fc.features.length, WALK + 1);
    assert.deepEqual(fc.features[0].geometry, { type: 'Point', coordinates: [13.4, 52.5] });
    assert.equal(fc.features[1].properties.timestamp_unix, T0 + 60);

    const c = await fetch(`${bridge.url}/api/locations/?format=csv&device=bob/tab`);
    assert.match(c.headers.get('content-type'), /^text\/csv/);
    assert.match(c.headers.get('content-disposition'), /filename="mytracks-bob-tab-begin-now\.csv"/);
    const text = await c.text();
    assert.ok(text.endsWith('\r\n'));
    const lines = text.split('\r\n').slice(0, -1);
    assert.equal(lines.length, 11);
    const header = csvFields(lines[0]);
    const lon = header.findIndex((h) => /^lon/.test(h));
    assert.ok(lon >= 0, lines[0]);
    assert.deepEqual(lines.slice(1).map((l) => Number(csvFields(l)[lon])), Array.from({ length: 10 }, (_, i) => +(11.5 + 0.001 * i).toFixed(6)));
    for (const l of lines.slice(1)) assert.equal(csvFields(l).length, header.length);
  });

  it('refuses what a stream cannot do with a clear error', async () => {
    for (const [q, re] of [
      ['format=kml', /format must be gpx, geojson or csv/],
      ['format=gpx&since_id=3', /since_id does not go with format/],
      ['max_points=0', /max_points must be at least 1/],
      ['max_acc=x', /max_acc must be an integer/],
      ['format=csv&device=nobody/none', /unknown device/],
    ]) {
      const r = await getJson(`${bridge.url}/api/locations/?${q}`);
      assert.ok(r.status === 400 || r.status === 404, `${q}: ${r.status}`);
      assert.match(r.body.error, re, q);
    }
  });

  it('thins a range with resolution and max_points and says how many it thinned', async () => {
    const all = await getJson(`${bridge.url}/api/locations/?device=alice/phone&resolution=0&max_acc=100&${range}`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.count, WALK);
    assert.equal(all.body.thinned, 0);
    const r = await getJson(`${bridge.url}/api/locations/?device=alice/phone&resolution=300&max_acc=100&${range}`);
    assert.equal(r.body.count, 25); // 08:00, 08:05, ... 10:00
    assert.equal(r.body.thinned, WALK - 25);
    assert.equal(r.body.resolution, 300);
    const ts = r.body.results.map((l) => l.timestamp_unix);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] - ts[i - 1] >= 300);
    // thinning never changes the distance
    assert.equal(r.body.distance_m, all.body.distance_m);
    const m = await getJson(`${bridge.url}/api/locations/?max_points=20&${range}`);
    assert.ok(m.body.count <= 22 && m.body.count >= 10, `max_points=20 gave ${m.body.count}`);
    assert.equal(m.body.count + m.body.thinned + m.body.dropped_accuracy + m.body.dropped_jump, WALK + 1 + 10);
    // in device order, each device in time order
    const devs = m.body.results.map((l) => l.device);
    assert.deepEqual(devs, [...devs].sort((a, b) => a - b));
    const big = await getJson(`${bridge.url}/api/locations/?device=carol/big&max_points=3000`);
    assert.ok(big.body.count <= 3001, `${big.body.count}`);
    assert.equal(big.body.count + big.body.thinned, BIG);
    const lim = await getJson(`${bridge.url}/api/locations/?device=carol/big&resolution=0&limit=100`);
    assert.equal(lim.body.count, 100);
    assert.equal(lim.body.truncated, true);
    assert.equal(lim.body.kept, BIG);
  });

  it('hides a planted outlier with max_acc or max_speed, and the distance changes', async () => {
    const raw = await getJson(`${bridge.url}/api/locations/?device=alice/phone&resolution=0&${range}`);
    const acc = await getJson(`${bridge.url}/api/locations/?device=alice/phone&max_acc=100&${range}`);
    const speed = await getJson(`${bridge.url}/api/locations/?device=alice/phone&max_speed=300&${range}`);
    const has = (r) => r.body.results.some((l) => l.timestamp_unix === OUTLIER_TST);
    assert.ok(has(raw));
    assert.ok(!has(acc));
    assert.ok(!has(speed));
    assert.equal(acc.body.dropped_accuracy, 1);
    assert.equal(speed.body.dropped_jump, 1);
    // the walk is 120 x 0.0005 degrees of latitude, about 6.67 km
    assert.ok(Math.abs(acc.body.distance_m - 6671) < 10, `${acc.body.distance_m}`);
    assert.equal(speed.body.distance_m, acc.body.distance_m);
    assert.ok(raw.body.distance_m > acc.body.distance_m + 200000, `${raw.body.distance_m}`);
    // the raw data stays stored
    assert.equal(sql(db, `SELECT count(*) AS n FROM locations WHERE tst = ${OUTLIER_TST}`)[0].n, 1);
  });

  it('tells the page its filter defaults on /api/config', async () => {
    const r = await getJson(`${bridge.url}/api/config`);
    assert.equal(r.status, 200);
    assert.equal(r.body.hide_accuracy_over, 150);
    assert.equal(r.body.hide_speed_over, 300);
    assert.ok(r.body.max_points >= 2000 && r.body.max_points <= 5000);
    const none = await getJson(`${authed.url}/api/config`);
    assert.equal(none.status, 401); // behind the login like every /api
  });

  it('streams an export larger than the 32 MiB response cap in bounded memory', async () => {
    const before = memory(bridge.proc.pid);
    const r = await fetch(`${bridge.url}/api/locations/?format=geojson&device=carol/big`);
    assert.equal(r.status, 200);
    let bytes = 0; let peak = 0; let n = 0;
    const parts = [];
    for await (const chunk of r.body) {
      bytes += chunk.length;
      parts.push(Buffer.from(chunk));
      if (++n % 50 === 0) peak = Math.max(peak, memory(bridge.proc.pid).rss);
    }
    const after = memory(bridge.proc.pid);
    assert.ok(bytes > 32 * 1024 * 1024, `${bytes} bytes`);
    const fc = JSON.parse(Buffer.concat(parts).toString());
    assert.equal(fc.features.length, BIG);
    assert.equal(fc.features[BIG - 1].properties.timestamp_unix, DAY - 86400 * 100 + 60 * (BIG - 1));
    // a page of rows at a time: far less than the body (the sanitizer
    // build keeps freed memory in quarantine, so it gets more room)
    const budget = (sanitize ? 96 : 16) * 1024;
    assert.ok(after.hwm - before.hwm < budget, `peak RSS grew ${after.hwm - before.hwm} KiB (body ${bytes >> 10} KiB)`);
    assert.ok(peak - before.rss < budget, `RSS grew ${peak - before.rss} KiB`);
    // the connection is usable afterwards
    assert.equal((await getJson(`${bridge.url}/api/config`)).status, 200);
  });

  it('sends an HTTP/1.0 client the whole body without chunks, ended by closing', async () => {
    const raw = await new Promise((resolve, reject) => {
      const sock = net.connect(bridge.port, '127.0.0.1');
      const parts = [];
      sock.setTimeout(30000, () => { sock.destroy(); reject(new Error('timed out')); });
      sock.on('data', (d) => parts.push(d));
      sock.on('end', () => resolve(Buffer.concat(parts)));
      sock.on('error', reject);
      sock.write('GET /api/locations/?format=geojson&device=carol/big HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    });
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.subarray(0, split).toString();
    assert.match(head, /^HTTP\/1\.0 200/);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /connection: close/i);
    const fc = JSON.parse(raw.subarray(split + 4).toString());
    assert.equal(fc.features.length, BIG);
  });

  it('exports only what the viewer may see with --users', async () => {
    const bobAll = await (await fetch(`${authed.url}/api/locations/?format=gpx`, { headers: { cookie: cookies.bob } })).text();
    assert.deepEqual([...bobAll.matchAll(/<trk><name>([^<]*)<\/name>/g)].map((m) => m[1]), ['bob/tab']);
    const aliceAll = await (await fetch(`${authed.url}/api/locations/?format=gpx&${range}`, { headers: { cookie: cookies.alice } })).text();
    assert.deepEqual([...aliceAll.matchAll(/<trk><name>([^<]*)<\/name>/g)].map((m) => m[1]), ['alice/phone', 'bob/tab']);
    const denied = await fetch(`${authed.url}/api/locations/?format=csv&device=alice/phone`, { headers: { cookie: cookies.bob } });
    assert.equal(denied.status, 404);
    const track = await (await fetch(`${authed.url}/api/locations/?max_points=50`, { headers: { cookie: cookies.bob } })).json();
    assert.ok(track.results.every((l) => l.user === 'bob'));
    assert.ok(track.results.length > 0);
    assert.equal((await fetch(`${authed.url}/api/locations/?format=gpx`)).status, 401);
  });
});
