// The PostgreSQL backend (issue 15) against the SQLite one: a real
// PostgreSQL started by the test (initdb in a temp dir, lib/pg.mjs), real
// brokers with the plugin and real bridges on free loopback ports.
//
// - the same reports stored through either backend give the same rows and
//   the same bytes from every history endpoint (data objects, devices,
//   exports, the Recorder API);
// - one writer per PostgreSQL database, and a bridge that waits for the
//   database to exist;
// - the connection string's password never appears in a log or an error;
// - a PostgreSQL restart under load: every report the broker acknowledged
//   is stored exactly once, and the bridge serves history again.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startBroker, stopAll, mqttConnect, collector, untilSentinel, location, sql, waitFor, tmpDir,
  assertNoSanitizerFindings, sourceDir,
} from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';
import { startPostgres, pgSql } from '../lib/pg.mjs';

let pg;
before(async () => { pg = await startPostgres(); });
after(async () => { await stopAll(); });

/** The same mixed traffic: two users, locations with every field, a card,
 * a transition, a waypoint, an lwt, a duplicate and a refused report. */
async function traffic(port) {
  const c = await mqttConnect(port, { clientId: 'traffic' });
  const sub = await collector(port, 'mytracks/#');
  const pub = (topic, obj) => c.publishAsync(topic, typeof obj === 'string' ? obj : JSON.stringify(obj), { qos: 1 });
  for (let i = 0; i < 30; i++) {
    await pub('owntracks/alice/phone', location({
      tst: 1705329000 + 60 * i, lat: 52.5 + i * 0.001, lon: 13.4 - i * 0.0007, acc: 5 + i, alt: 40 + i,
      vel: i, batt: 90 - i, conn: i % 2 ? 'w' : 'm', tid: 'ap', t: 'u', cog: (i * 13) % 360, vac: 3, bs: 1,
      SSID: 'home "net"', BSSID: 'aa:bb:cc:00:11:22', created_at: 1705329000 + 60 * i + 1,
      inregions: ['home', 'gym, "north"'], poi: 'café ☕',
    }));
  }
  for (let i = 0; i < 10; i++) {
    await pub('owntracks/bob/tab', location({ tst: 1705330000 + 600 * i, lat: -33.86 - i * 0.01, lon: 151.2, tid: 'bt', acc: 1000 + i }));
  }
  await pub('owntracks/alice/phone', location({ tst: 1705329000 })); // a duplicate
  await pub('owntracks/alice/phone', { _type: 'location', lat: 'x', tst: 1 }); // refused
  await pub('owntracks/alice/phone', { _type: 'card', name: 'Alice <A>', face: 'iVBORw0KGgo=', tid: 'ap' });
  await pub('owntracks/alice/phone/event', { _type: 'transition', event: 'enter', desc: 'home', tst: 1705329500, lat: 52.5, lon: 13.4, acc: 10, t: 'c', wtst: 1705000000 });
  await pub('owntracks/alice/phone/waypoint', { _type: 'waypoint', desc: 'gym', lat: 52.51, lon: 13.41, rad: 50, tst: 1705000001 });
  await pub('owntracks/bob/tab', { _type: 'lwt', tst: 1705339999 });
  await untilSentinel(c, sub, 'owntracks/zed/last');
  await c.endAsync();
  await sub.close();
}

const ROWS = {
  devices: 'SELECT id, "user", device, display_name, tid, online FROM devices ORDER BY id',
  locations: 'SELECT id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, trig, cog, vac, bs, ssid, bssid, created_at, ip_address, raw, decrypted FROM locations ORDER BY id',
  events: 'SELECT id, device_id, type, tst, raw, decrypted FROM events ORDER BY id',
};

const ENDPOINTS = [
  '/api/locations/?limit=1000',
  '/api/locations/?device=alice/phone&limit=7',
  '/api/locations/?since_id=5&limit=10',
  '/api/locations/?device=1&since_id=3&limit=1000',
  '/api/devices/',
  '/api/locations/?device=alice/phone&format=geojson&from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z',
  '/api/locations/?format=csv&from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z',
  '/api/locations/?device=bob/tab&format=gpx&from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z',
  '/api/locations/?device=alice/phone&max_points=5&from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z',
  '/api/0/list',
  '/api/0/list?user=alice',
  '/api/0/last',
  '/api/0/locations?user=alice&device=phone&from=2024-01-15T00:00:00Z&to=2024-01-16T00:00:00Z',
  '/api/0/locations?user=alice&device=phone&from=2024-01-15T00:00:00Z&to=2024-01-16T00:00:00Z&limit=3&format=geojson',
];

describe('PostgreSQL and SQLite give the same history', () => {
  let lite, post, liteBridge, pgBridge;

  before(async () => {
    lite = await startBroker();
    post = await startBroker({ options: { database: pg.createDatabase('same') } });
    await traffic(lite.port);
    await traffic(post.port);
    // received_at is the server's clock: make it the same on both sides;
    // and the sentinels' tst differ (untilSentinel)
    for (const db of [lite.db, post.db]) {
      sql(db, 'DELETE FROM locations WHERE tst BETWEEN 1705300000 AND 1705300999');
      sql(db, 'UPDATE locations SET received_at = 1705400000 + id');
      sql(db, 'UPDATE devices SET last_seen = 1705500000, first_seen = 1705300000, status_changed = NULL');
    }
    liteBridge = await startBridge(lite, { name: 'bridge-sqlite' });
    pgBridge = await startBridge(post, { name: 'bridge-pg' });
  });

  it('stores the same rows', () => {
    for (const [table, q] of Object.entries(ROWS)) {
      const a = sql(lite.db, q);
      const b = sql(post.db, q);
      assert.ok(a.length > 0, `${table}: rows stored`);
      assert.deepEqual(b, a, `${table} differ`);
    }
    assert.equal(sql(post.db, 'SELECT count(*) AS n FROM locations')[0].n, 40, '30 + 10, the duplicate once');
  });

  it('serves the same bytes from every history endpoint', async () => {
    for (const u of ENDPOINTS) {
      const [a, b] = await Promise.all([fetch(liteBridge.url + u), fetch(pgBridge.url + u)]);
      const [ta, tb] = [await a.text(), await b.text()];
      assert.equal(a.status, 200, `${u}: ${ta.slice(0, 200)}`);
      assert.equal(b.status, a.status, u);
      assert.ok(ta.length > 20, `${u} has content`);
      assert.equal(tb, ta, `${u} differs`);
    }
  });

  it('keeps the extras and hostile strings intact through PostgreSQL', async () => {
    const r = await (await fetch(`${pgBridge.url}/api/locations/?device=alice/phone&limit=1`)).json();
    const d = r.results[0];
    assert.ok(d, JSON.stringify(r).slice(0, 300));
    assert.equal(d.ssid, 'home "net"');
    assert.deepEqual(d.inregions, ['home', 'gym, "north"']);
    assert.equal(d.poi, 'café ☕');
  });

  after(async () => {
    for (const p of [liteBridge, pgBridge, lite, post]) assertNoSanitizerFindings(assert, p.proc);
  });
});

describe('PostgreSQL operations', () => {
  it('takes one writer per database, and says why a second one cannot start', async () => {
    const url = pg.createDatabase('onewriter');
    const first = await startBroker({ options: { database: url } });
    await assert.rejects(startBroker({ options: { database: url }, ownLeaksOnly: true }),
      /another mytracks plugin is already writing to this PostgreSQL database/);
    // the first one still stores
    const c = await mqttConnect(first.port);
    await c.publishAsync('owntracks/w/one', JSON.stringify(location({ tst: 1705329001 })), { qos: 1 });
    await waitFor(() => sql(url, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    await c.endAsync();
    await first.stop();
  });

  it('never logs the password, and a bad connection string is a clear error', async () => {
    const bad = `postgresql://mytracks:${pg.password}@127.0.0.1:1/nothing?connect_timeout=2`;
    const dir = tmpDir();
    await assert.rejects(startBroker({ dir, options: { database: bad }, ownLeaksOnly: true }), (e) => {
      assert.match(e.message, /cannot connect to PostgreSQL postgresql:\/\/mytracks:\*\*\*@127\.0\.0\.1:1\/nothing/);
      assert.ok(!e.message.includes(pg.password), 'no password in the broker log');
      return true;
    });
    const url = pg.createDatabase('logs');
    const b = await startBroker({ options: { database: url } });
    const br = await startBridge(b, { name: 'bridge-logs' });
    assert.match(b.proc.output, /storing owntracks\/\+\/\+ in postgresql:\/\/mytracks:\*\*\*@/);
    assert.match(br.proc.output, /database postgresql:\/\/mytracks:\*\*\*@/);
    for (const p of [b.proc, br.proc]) assert.ok(!p.output.includes(pg.password), `${p.name} logged the password`);
    await br.stop();
    await b.stop();
  });

  it('a row PostgreSQL refuses is skipped, and the rows around it in the same pipeline are stored once', async () => {
    const url = pg.createDatabase('refuse');
    const b = await startBroker({ options: { database: url, commit_window: '200' } });
    // a rule of this database alone: it refuses one value mytracks accepts
    pgSql(url, 'ALTER TABLE locations ADD CONSTRAINT no_4242 CHECK (acc IS DISTINCT FROM 4242)');
    const c = await mqttConnect(b.port);
    const sub = await collector(b.port, 'mytracks/#');
    for (let i = 0; i < 40; i++) {
      await c.publishAsync('owntracks/refuse/d', JSON.stringify(location({ tst: 1705400000 + i, acc: i === 17 ? 4242 : 5 })), { qos: 1 });
    }
    await untilSentinel(c, sub, 'owntracks/refuse/last');
    await waitFor(() => sql(url, 'SELECT count(*) AS n FROM locations')[0].n === 40, { what: '39 rows and the sentinel' });
    const rows = sql(url, `SELECT tst FROM locations l JOIN devices d ON d.id = l.device_id
      WHERE d.device = 'd' ORDER BY tst`).map((r) => r.tst - 1705400000);
    assert.deepEqual(rows, [...Array(40).keys()].filter((i) => i !== 17));
    assert.match(b.proc.output, /no_4242/, 'the refusal was logged');
    await c.endAsync();
    await sub.close();
    await b.stop();
  });

  it('the bridge waits for the plugin to create the schema', async () => {
    const url = pg.createDatabase('later');
    const fake = { port: 1, db: url, dir: tmpDir() };
    const br = await startBridge(fake, { waitBroker: false, name: 'bridge-early' });
    const early = await fetch(`${br.url}/api/locations/`);
    assert.equal(early.status, 503);
    const b = await startBroker({ options: { database: url } });
    const c = await mqttConnect(b.port);
    await c.publishAsync('owntracks/late/one', JSON.stringify(location({ tst: 1705329002 })), { qos: 1 });
    await waitFor(() => sql(url, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    await waitFor(async () => (await fetch(`${br.url}/api/locations/`)).status === 200, { what: 'history after the schema exists' });
    await c.endAsync();
    await br.stop();
    await b.stop();
  });
});

describe('conf/postgresql-setup.sql.example', () => {
  it('gives a writer role that creates the schema and restarts on it, and a reader role that serves history only', async () => {
    const example = path.join(sourceDir, 'conf', 'postgresql-setup.sql.example');
    execFileSync('psql', ['-X', '-q', '-v', 'writer=mt_w', '-v', 'reader=mt_r', '-v', 'dbname=mt_example',
      '-f', example, pg.url()], { stdio: ['ignore', 'ignore', 'pipe'] });
    pgSql(pg.url(), "ALTER ROLE mt_w PASSWORD 'w-pass-1'; ALTER ROLE mt_r PASSWORD 'r-pass-2'");
    const at = (role, pw) => `postgresql://${role}:${pw}@127.0.0.1:${pg.port}/mt_example`;
    const b = await startBroker({ options: { database: at('mt_w', 'w-pass-1') } });
    const c = await mqttConnect(b.port);
    await c.publishAsync('owntracks/roles/one', JSON.stringify(location({ tst: 1705329003 })), { qos: 1 });
    await c.endAsync();
    // a restart finds its own schema (it must not try to create it again)
    await b.stop();
    await b.start();
    const c2 = await mqttConnect(b.port);
    await c2.publishAsync('owntracks/roles/one', JSON.stringify(location({ tst: 1705329004 })), { qos: 1 });
    await c2.endAsync();
    await waitFor(() => sql(b.db, 'SELECT count(*) AS n FROM locations')[0].n === 2, { what: 'both stored' });
    const br = await startBridge(b, { name: 'bridge-reader', args: ['--database', at('mt_r', 'r-pass-2')] });
    const r = await fetch(`${br.url}/api/locations/?device=roles/one`);
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).results.map((x) => x.timestamp_unix).sort(), [1705329003, 1705329004]);
    // the reader cannot write, nor read anything but what mytracks made
    assert.throws(() => pgSql(at('mt_r', 'r-pass-2'), 'DELETE FROM locations'), /permission denied/);
    assert.throws(() => pgSql(at('mt_r', 'r-pass-2'), 'CREATE TABLE x (i int)'), /permission denied/);
    // other roles cannot even connect
    pgSql(pg.url(), "CREATE ROLE mt_other LOGIN PASSWORD 'o-pass-3'");
    assert.throws(() => pgSql(at('mt_other', 'o-pass-3'), 'SELECT 1 AS one'), /permission denied for database/);
    await br.stop();
    await b.stop();
    assertNoSanitizerFindings(assert, b.proc);
    assertNoSanitizerFindings(assert, br.proc);
  });
});

describe('a PostgreSQL restart under load', () => {
  it('loses nothing the broker acknowledged, and the bridge recovers', async () => {
    const url = pg.createDatabase('restart');
    const b = await startBroker({ options: { database: url, commit_window: '50' } });
    const br = await startBridge(b, { name: 'bridge-restart' });
    const c = await mqttConnect(b.port, { clientId: 'loader' });
    const N = 3000;
    let acked = 0;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        await c.publishAsync(`owntracks/load/d${i % 5}`, JSON.stringify(location({ tst: 1705000000 + i })), { qos: 1 });
        acked++;
      }
    })();
    await waitFor(() => acked > 500, { what: 'load under way' });
    await pg.restart();
    await sending;
    assert.equal(acked, N);
    const stored = await waitFor(() => {
      const r = sql(url, 'SELECT count(*) AS n, count(DISTINCT (device_id, tst)) AS d FROM locations')[0];
      return r.n === N ? r : false;
    }, { timeout: 30000, what: 'every acknowledged report stored' });
    assert.equal(stored.d, N, 'each once');
    await waitFor(async () => (await fetch(`${br.url}/api/locations/?limit=1`)).status === 200, { timeout: 15000, what: 'the bridge serving again' });
    assert.match(b.proc.output, /mytracks: .*(PostgreSQL connection lost|terminating connection|server closed)/i, 'the outage was logged');
    // the writer lock was taken again on the new connection
    await assert.rejects(startBroker({ options: { database: url }, ownLeaksOnly: true }),
      /another mytracks plugin is already writing to this PostgreSQL database/);
    await c.endAsync();
    await br.stop();
    await b.stop();
    assertNoSanitizerFindings(assert, b.proc);
  });
});
