// mytracks-migrate (issue 15): a SQLite database, filled through a real
// broker with the plugin (which keeps running: the tool reads a live WAL
// database), copied into a real PostgreSQL (lib/pg.mjs).
//
// - every row of devices, locations and events arrives with its id, and a
//   bridge on the copy serves the same bytes as a bridge on the file;
// - a second run copies nothing; a run killed in the middle of a table
//   leaves whole batches, and the next run copies only the rest, once;
// - a device's newer state (a card, last seen) follows on a later run;
//   rows deleted from SQLite are counted, and deleted with --prune;
// - a row that differs (same id, another content; same key, another id)
//   stops it with the row and the column named; an unknown SQLite schema
//   and a PostgreSQL with a plugin writing to it are refused, and while it
//   copies no plugin can start on the PostgreSQL database;
// - a plugin started on the copy goes on with ids past the copied ones;
// - the connection string's password is never printed.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  startBroker, stopAll, mqttConnect, collector, untilSentinel, location, sql, waitFor, tmpDir,
  assertNoSanitizerFindings, buildDir, sanitizerEnv, freePort, pluginPath, Proc,
} from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';
import { startPostgres, pgSql } from '../lib/pg.mjs';

const tool = path.join(buildDir, 'tools', 'mytracks-migrate');
const WRITER_LOCK = 7238518; // SQLDB_LOCK_WRITER, core/sqldb.h

const ALL = {
  devices: 'SELECT * FROM devices ORDER BY id',
  locations: 'SELECT * FROM locations ORDER BY id',
  events: 'SELECT * FROM events ORDER BY id',
};

const ENDPOINTS = [
  '/api/locations/?limit=1000',
  '/api/locations/?device=alice/phone&limit=7',
  '/api/locations/?since_id=5&limit=10',
  '/api/locations/?since_id=38&limit=1000',
  '/api/locations/?device=1&since_id=3&limit=1000',
  '/api/devices/',
  '/api/locations/?format=csv&from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z',
  '/api/locations/?device=bob/tab&format=gpx&from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z',
  '/api/0/list',
  '/api/0/last',
  '/api/0/locations?user=alice&device=phone&from=2024-01-15T00:00:00Z&to=2024-01-16T00:00:00Z',
];

let pg; let lite;

/** Run the tool to its end: { status, stdout, stderr, out }. */
function migrate(...args) {
  const r = spawnSync(tool, args, { encoding: 'utf8', env: sanitizerEnv(false) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

/** The summary line of `table` as [copied, already there, rest]. */
function summary(r, table) {
  const m = r.stdout.match(new RegExp(`^${table}: (\\d+) copied, (\\d+) already there(.*)$`, 'm'));
  assert.ok(m, `no summary for ${table} in: ${r.out}`);
  return [Number(m[1]), Number(m[2]), m[3]];
}

function assertSameRows(a, b) {
  for (const [table, q] of Object.entries(ALL)) {
    const ra = sql(a, q);
    assert.ok(ra.length > 0, `${table}: rows in the source`);
    assert.deepEqual(sql(b, q), ra, `${table} differ`);
  }
}

const count = (db, table) => sql(db, `SELECT count(*) AS n FROM ${table}`)[0].n;
const maxId = (db, table) => sql(db, `SELECT coalesce(max(id), 0) AS m FROM ${table}`)[0].m;

/** Publish reports to the live SQLite broker and wait until they are stored. */
async function publish(reports) {
  const c = await mqttConnect(lite.port, { clientId: `pub-${Date.now()}` });
  const sub = await collector(lite.port, 'mytracks/#');
  const zed = "SELECT count(*) AS n FROM locations WHERE device_id = (SELECT id FROM devices WHERE \"user\" = 'zed')";
  const before = sql(lite.db, zed)[0].n;
  for (const [topic, obj] of reports) {
    await c.publishAsync(topic, JSON.stringify(obj), { qos: 1 });
  }
  await untilSentinel(c, sub, 'owntracks/zed/last');
  await c.endAsync();
  await sub.close();
  // one writer, in order: the sentinel's row committed, all before it too
  await waitFor(() => sql(lite.db, zed)[0].n === before + 1, { what: 'the reports stored' });
  await waitFor(() => sql(lite.db, 'SELECT count(*) AS n FROM devices WHERE online = 1')[0].n === 0,
    { what: 'the clients offline' });
}

/** A psql session holding a transaction open: `statements` run in it. */
async function holdTransaction(url, statements) {
  const p = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.stdin.write(`BEGIN;\n${statements}\nSELECT 'held';\n`);
  await waitFor(() => {
    if (p.exitCode !== null) throw new Error(`psql exited: ${out}`);
    return out.includes('held');
  }, { what: 'the blocking transaction' });
  return {
    async release() {
      p.stdin.end('ROLLBACK;\n');
      await exited;
    },
    kill() { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } },
  };
}

/** Start the tool in the background: { proc, out(), exited }. */
function startMigrate(...args) {
  const p = spawn(tool, args, { env: sanitizerEnv(false), stdio: ['ignore', 'pipe', 'pipe'] });
  const r = { proc: p, text: '' };
  p.stdout.on('data', (d) => { r.text += d; });
  p.stderr.on('data', (d) => { r.text += d; });
  r.exited = new Promise((resolve) => p.once('exit', (code, signal) => resolve({ code, signal })));
  return r;
}

/** The tool's PostgreSQL session is waiting for a lock held by another. */
const waitingOnLock = (url, db) => pgSql(url, `SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE datname = '${db}' AND wait_event_type = 'Lock'`)[0].n > 0;
const writerLockHeld = (url, db) => pgSql(url, `SELECT count(*)::int AS n FROM pg_locks
  WHERE locktype = 'advisory' AND objid = ${WRITER_LOCK}
  AND database = (SELECT oid FROM pg_database WHERE datname = '${db}')`)[0].n > 0;

before(async () => {
  pg = await startPostgres();
  lite = await startBroker(); // keeps running: the tool reads a live database
  const all = {
    tst: 0, lat: 0, lon: 0, acc: 5, alt: 40, vel: 3, batt: 90, conn: 'w', tid: 'ap', t: 'u', cog: 270,
    vac: 3, bs: 1, SSID: 'home "net"', BSSID: 'aa:bb:cc:00:11:22', created_at: 0, inregions: ['home'], poi: 'café ☕',
  };
  const reports = [];
  for (let i = 0; i < 30; i++) {
    reports.push(['owntracks/alice/phone', location({
      ...all, tst: 1705329000 + 60 * i, lat: 52.5 + i * 0.001, lon: 13.4 - i * 0.0007, acc: 5 + i,
      created_at: 1705329001 + 60 * i, conn: i % 2 ? 'w' : 'm',
    })]);
  }
  for (let i = 0; i < 8; i++) {
    reports.push(['owntracks/bob/tab', location({ tst: 1705330000 + 600 * i, lat: -33.86 - i * 0.01, lon: 151.2, tid: 'bt' })]);
  }
  reports.push(['owntracks/alice/phone', location({ tst: 1705329000 })]); // a duplicate
  reports.push(['owntracks/alice/phone', { _type: 'card', name: 'Alice <A>', face: 'iVBORw0KGgo=', tid: 'ap' }]);
  reports.push(['owntracks/alice/phone/event', {
    _type: 'transition', event: 'enter', desc: 'home', tst: 1705329500, lat: 52.5, lon: 13.4, acc: 10, t: 'c', wtst: 1705000000,
  }]);
  reports.push(['owntracks/alice/phone/waypoint', { _type: 'waypoint', desc: 'gym', lat: 52.51, lon: 13.41, rad: 50, tst: 1705000001 }]);
  reports.push(['owntracks/bob/tab', { _type: 'lwt', tst: 1705339999 }]);
  await publish(reports);
  assert.equal(sql(lite.db, "SELECT count(*) AS n FROM locations WHERE device_id = 1")[0].n, 30, 'the duplicate stored once');
});
after(async () => { await stopAll(); });

describe('mytracks-migrate copies a live SQLite database', () => {
  let url;

  it('copies every row with its id, in batches, and the bridge serves the same bytes from the copy', async () => {
    url = pg.createDatabase('copy');
    const r = migrate('--batch', '4', lite.db, url);
    assert.equal(r.status, 0, r.out);
    assert.ok(!r.out.includes(pg.password), 'no password in the output');
    assert.match(r.stderr, /created the mytracks schema in postgresql:\/\/mytracks:\*\*\*@/);
    assert.match(r.stderr, /^mytracks-migrate: locations: up to id 4, 4 copied, 0 already there$/m, 'progress per batch');
    assert.deepEqual(summary(r, 'devices'), [3, 0, '']);
    assert.deepEqual(summary(r, 'locations'), [count(lite.db, 'locations'), 0, '']);
    assert.deepEqual(summary(r, 'events'), [count(lite.db, 'events'), 0, '']);
    assert.ok(count(lite.db, 'events') >= 4, 'card, transition, waypoint, lwt stored');
    assertSameRows(lite.db, url);

    const brLite = await startBridge(lite, { name: 'bridge-sqlite' });
    const brPg = await startBridge(lite, { name: 'bridge-pg', args: ['--database', url] });
    for (const u of ENDPOINTS) {
      const [a, b] = await Promise.all([fetch(brLite.url + u), fetch(brPg.url + u)]);
      const [ta, tb] = [await a.text(), await b.text()];
      assert.equal(a.status, 200, `${u}: ${ta.slice(0, 200)}`);
      assert.ok(ta.length > 20, `${u} has content`);
      assert.equal(tb, ta, `${u} differs`);
    }
    await brLite.stop();
    await brPg.stop();
    assertNoSanitizerFindings(assert, brPg.proc);
  });

  it('a second run copies nothing', () => {
    const r = migrate(lite.db, url);
    assert.equal(r.status, 0, r.out);
    for (const t of Object.keys(ALL)) assert.deepEqual(summary(r, t), [0, count(lite.db, t), ''], t);
    assertSameRows(lite.db, url);
  });

  it('killed in the middle of a table, the next run copies only the rest, and a device\'s newer state', async () => {
    const firstNew = maxId(lite.db, 'locations') + 1;
    const reports = [];
    for (let i = 0; i < 6; i++) reports.push(['owntracks/alice/phone', location({ tst: 1705600000 + i })]);
    reports.push(['owntracks/alice/phone', { _type: 'card', name: 'Alice Again', tid: 'a2' }]);
    reports.push(['owntracks/carol/new', location({ tst: 1705600100 })]);
    await publish(reports);
    const total = count(lite.db, 'locations');
    // another transaction holds an uncommitted row under the id of the
    // third new location: the tool's insert of it waits there
    const blocker = await holdTransaction(url, `INSERT INTO locations (id, device_id, tst, lat, lon, received_at, raw)
      VALUES (${firstNew + 2}, 1, 1, 0, 0, 0, 'blocker');`);
    const run = startMigrate('--batch', '1', lite.db, url);
    try {
      await waitFor(() => {
        if (run.proc.exitCode !== null) throw new Error(`the tool ended: ${run.text}`);
        return waitingOnLock(pg.url(), 'copy');
      }, { what: 'the tool waiting in the middle of locations' });
      process.kill(run.proc.pid, 'SIGKILL');
      assert.equal((await run.exited).signal, 'SIGKILL');
    } finally {
      await blocker.release();
    }
    await waitFor(() => !writerLockHeld(pg.url(), 'copy'), { what: 'the killed session gone' });
    // whole batches: the first two new rows, nothing of the third on
    assert.equal(maxId(url, 'locations'), firstNew + 1);
    assert.equal(count(url, 'locations'), total - (maxId(lite.db, 'locations') - firstNew - 1));

    const r = migrate('--batch', '3', lite.db, url);
    assert.equal(r.status, 0, r.out);
    const [copied, present] = summary(r, 'locations');
    assert.equal(copied + present, total);
    assert.equal(copied, maxId(lite.db, 'locations') - firstNew - 1, 'only what the killed run had not committed');
    // the devices went before the kill: carol copied, alice's new card
    assert.deepEqual(summary(r, 'devices'), [0, 4, '']);
    assertSameRows(lite.db, url);
    assert.equal(sql(url, 'SELECT display_name FROM devices WHERE id = 1')[0].display_name, 'Alice Again');
    assert.ok(!r.out.includes(pg.password));
  });

  it('brings a device\'s newer state; counts rows deleted from SQLite since, and deletes them with --prune', async () => {
    await publish([['owntracks/bob/tab', { _type: 'card', name: 'Bob B' }]]);
    let r = migrate(lite.db, url);
    assert.equal(r.status, 0, r.out);
    assert.match(summary(r, 'devices')[2], /^, [12] updated$/, 'bob\'s card, zed\'s last seen');
    assert.equal(summary(r, 'events')[0], 1);
    assert.equal(sql(url, 'SELECT display_name FROM devices WHERE id = 2')[0].display_name, 'Bob B');
    const gone = sql(lite.db, 'SELECT id FROM locations WHERE device_id = 2 ORDER BY id LIMIT 2').map((x) => x.id);
    sql(lite.db, `DELETE FROM locations WHERE id IN (${gone.join(',')})`);
    r = migrate(lite.db, url);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stderr, /locations: PostgreSQL has 2 rows with ids up to \d+ that SQLite no longer has .*--prune deletes them/);
    assert.equal(count(url, 'locations'), count(lite.db, 'locations') + 2, 'kept without --prune');
    r = migrate('--prune', '--batch', '5', lite.db, url);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(summary(r, 'locations'), [0, count(lite.db, 'locations'), ', 2 deleted']);
    assert.doesNotMatch(r.stderr, /no longer has \(/);
    assertSameRows(lite.db, url);
  });
});

describe('mytracks-migrate refuses', () => {
  it('a row that differs from the copy: same id, other content; same key, other id', () => {
    const url = pg.createDatabase('conflict');
    assert.equal(migrate(lite.db, url).status, 0);
    const { lat } = pgSql(url, 'SELECT lat FROM locations WHERE id = 5')[0];
    pgSql(url, 'UPDATE locations SET lat = 1.5 WHERE id = 5');
    let r = migrate(lite.db, url);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stderr, /locations id 5: PostgreSQL holds a different row under this id \(lat differs\)/);
    assert.doesNotMatch(r.stdout, /copied/, 'no summary after a refusal');
    pgSql(url, `UPDATE locations SET lat = ${lat} WHERE id = 5`);
    // the row exactly as in SQLite, but under another id
    pgSql(url, 'UPDATE locations SET id = 100000 WHERE id = 7');
    r = migrate(lite.db, url);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stderr, /locations id 7: PostgreSQL holds its \(device_id, tst\) under id 100000/);
    pgSql(url, "UPDATE devices SET \"user\" = 'mallory' WHERE id = 2");
    r = migrate(lite.db, url);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stderr, /devices id 2: PostgreSQL holds a different row under this id \("user" differs\)/);
    assert.ok(!r.out.includes(pg.password));
  });

  it('a SQLite file of an unknown schema version, a missing file, bad usage', () => {
    const url = pg.createDatabase('schemas');
    const odd = path.join(tmpDir(), 'odd.db');
    execFileSync('sqlite3', [odd, 'PRAGMA user_version = 99']);
    let r = migrate(odd, url);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /schema version 99 is not a mytracks database this tool knows \(want 3\)/);
    const old = path.join(tmpDir(), 'old.db');
    execFileSync('sqlite3', [old, 'PRAGMA user_version = 2']);
    r = migrate(old, url);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /schema version 2: start the plugin on it once/);
    const missing = path.join(tmpDir(), 'none.db');
    r = migrate(missing, url);
    assert.equal(r.status, 1, r.out);
    assert.ok(!fs.existsSync(missing), 'opened read-only: not created');
    assert.equal(migrate(lite.db).status, 2, 'usage');
    assert.equal(migrate(url, lite.db).status, 2, 'SQLite first, then PostgreSQL');
    assert.equal(migrate('--batch', '0', lite.db, url).status, 2);
    const bad = migrate(lite.db, `postgresql://mytracks:${pg.password}@127.0.0.1:1/x?connect_timeout=2`);
    assert.equal(bad.status, 1);
    assert.match(bad.out, /postgresql:\/\/mytracks:\*\*\*@127\.0\.0\.1:1\/x/);
    assert.ok(!bad.out.includes(pg.password));
  });

  it('a PostgreSQL a plugin writes to; and no plugin starts on it while it copies', async () => {
    const url = pg.createDatabase('writer');
    const b = await startBroker({ options: { database: url } });
    let r = migrate(lite.db, url);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /a mytracks plugin is writing to this database: stop it first/);
    assert.equal(count(url, 'locations'), 0);
    await b.stop();
    assertNoSanitizerFindings(assert, b.proc);

    // hold the tool in the middle of events, then try to start a plugin
    const blocker = await holdTransaction(url, 'LOCK TABLE events IN SHARE MODE;');
    const run = startMigrate(lite.db, url);
    try {
      await waitFor(() => {
        if (run.proc.exitCode !== null) throw new Error(`the tool ended: ${run.text}`);
        return waitingOnLock(pg.url(), 'writer');
      }, { what: 'the tool waiting at events' });
      // a broker of its own (startBroker would wait out its timeout)
      const dir = tmpDir();
      const conf = path.join(dir, 'mosquitto.conf');
      fs.writeFileSync(conf, [`listener ${await freePort()} 127.0.0.1`, 'allow_anonymous true',
        ...(process.getuid() === 0 ? ['user root'] : []),
        `plugin ${pluginPath}`, `plugin_opt_database ${url}`, ''].join('\n'));
      const refused = new Proc('mosquitto', 'mosquitto', ['-c', conf], { env: sanitizerEnv(true), ownLeaksOnly: true });
      const { code } = await refused.exited;
      assert.notEqual(code, 0);
      assert.match(refused.output, /another mytracks plugin is already writing to this PostgreSQL database/);
      assert.ok(!refused.output.includes(pg.password));
    } finally {
      await blocker.release();
    }
    const done = await run.exited;
    assert.equal(done.code, 0, run.text);
    assertSameRows(lite.db, url);
  });
});

describe('a plugin on the copy', () => {
  it('goes on with ids past the copied ones', async () => {
    const url = pg.createDatabase('next');
    assert.equal(migrate(lite.db, url).status, 0);
    const max = { locations: maxId(url, 'locations'), events: maxId(url, 'events'), devices: maxId(url, 'devices') };
    const b = await startBroker({ options: { database: url } });
    const c = await mqttConnect(b.port);
    await c.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705700000 })), { qos: 1 });
    await c.publishAsync('owntracks/dave/new', JSON.stringify(location({ tst: 1705700001 })), { qos: 1 });
    await c.publishAsync('owntracks/alice/phone/event',
      JSON.stringify({ _type: 'transition', event: 'leave', desc: 'home', tst: 1705700002, lat: 52.5, lon: 13.4, t: 'c' }), { qos: 1 });
    await c.endAsync();
    await waitFor(() => count(url, 'locations') === count(lite.db, 'locations') + 2 &&
      count(url, 'events') > count(lite.db, 'events'), { what: 'the new rows in PostgreSQL' });
    assert.deepEqual(sql(url, 'SELECT id, tst FROM locations WHERE tst >= 1705700000 ORDER BY id'),
      [{ id: max.locations + 1, tst: 1705700000 }, { id: max.locations + 2, tst: 1705700001 }]);
    assert.equal(sql(url, 'SELECT id FROM events WHERE tst = 1705700002')[0].id, max.events + 1);
    assert.equal(sql(url, "SELECT id FROM devices WHERE \"user\" = 'dave'")[0].id, max.devices + 1);
    await b.stop();
    assertNoSanitizerFindings(assert, b.proc);
  });
});
