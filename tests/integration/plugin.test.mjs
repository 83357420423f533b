// Plugin integration tests: a real mosquitto loading the built plugin on a
// free loopback port, a real MQTT client, a real SQLite file.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, sleep, stopAll, tmpDir, untilSentinel,
  assertNoSanitizerFindings, freePort, Proc, sanitizerEnv, pluginPath, dbIntegrity,
} from '../lib/harness.mjs';
import { backend } from '../lib/pg.mjs';

const isPostgres = backend === 'postgres';

const SEED_KEYS = ['id', 'device', 'device_name', 'latitude', 'longitude', 'timestamp',
  'timestamp_unix', 'accuracy', 'altitude', 'velocity', 'battery_level', 'connection_type',
  'ip_address'];

function iso(tst) {
  return new Date(tst * 1000).toISOString().replace('.000Z', 'Z');
}

/** The data object the plugin must publish for `loc`, computed independently. */
function expectedObject(id, deviceId, user, device, loc, ip = '127.0.0.1') {
  const n = (v) => (v === undefined ? null : Math.round(v));
  const s = (v) => (v === undefined ? null : v);
  return {
    id, device: deviceId, device_name: `${user}/${device}`,
    latitude: loc.lat.toFixed(6), longitude: loc.lon.toFixed(6),
    timestamp: iso(loc.tst), timestamp_unix: loc.tst,
    accuracy: n(loc.acc), altitude: n(loc.alt), velocity: n(loc.vel), battery_level: n(loc.batt),
    connection_type: s(loc.conn), ip_address: ip,
    user, display_name: null, tid: s(loc.tid), trigger: s(loc.t), course: n(loc.cog),
    vertical_accuracy: n(loc.vac), battery_status: n(loc.bs), ssid: s(loc.SSID), bssid: s(loc.BSSID),
    inregions: s(loc.inregions), inrids: s(loc.inrids), poi: s(loc.poi), tag: s(loc.tag),
    monitoring_mode: s(loc.m), source: s(loc.source),
  };
}

function locationsOf(messages) {
  return messages.filter((m) => m.topic.startsWith('mytracks/locations/'));
}

async function stats(port) {
  const c = await collector(port, 'mytracks/stats');
  try {
    const m = await waitFor(() => c.messages.at(-1), { what: 'mytracks/stats' });
    return JSON.parse(m.payload);
  } finally {
    await c.close();
  }
}

describe('plugin: store and republish', () => {
  let broker; let sub; let pub;

  before(async () => {
    broker = await startBroker();
    sub = await collector(broker.port, 'mytracks/#');
    pub = await mqttConnect(broker.port, { clientId: 'phone-alice' });
  });
  after(async () => {
    await pub?.endAsync();
    await sub?.close();
    await stopAll();
  });

  it('stores a location once and republishes the exact data object', async () => {
    const loc = location({ lat: 37.7749, lon: -122.4194, tst: 1705329000, tid: 'hm', cog: 90 });
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(loc), { qos: 1 });
    // the same report again (a QoS 1 redelivery or a resent queue)
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(loc), { qos: 1 });
    const second = location({ lat: -33.8688, lon: 151.2093, tst: 1705329060, acc: undefined, batt: 0 });
    delete second.acc;
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(second), { qos: 1 });

    await waitFor(() => locationsOf(sub.messages).length >= 2, { what: 'two republished locations' });
    const got = locationsOf(await untilSentinel(pub, sub, 'owntracks/alice/phone')); // no third (duplicate) one
    assert.equal(got.length, 2, 'the duplicate must not be republished');
    assert.equal(got[0].topic, 'mytracks/locations/alice/phone');
    const first = JSON.parse(got[0].payload);
    assert.deepEqual(Object.keys(first).slice(0, SEED_KEYS.length), SEED_KEYS);
    const { received_at: ra1, ...rest1 } = first;
    assert.match(ra1, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(rest1, expectedObject(1, 1, 'alice', 'phone', loc));
    assert.equal(first.latitude, '37.774900');
    assert.equal(first.timestamp, '2024-01-15T14:30:00Z');
    const { received_at: ra2, ...rest2 } = JSON.parse(got[1].payload);
    assert.ok(ra2);
    assert.deepEqual(rest2, expectedObject(2, 1, 'alice', 'phone', second));

    const status = sub.messages.filter((m) => m.topic === 'mytracks/status/alice/phone');
    assert.equal(status.length, 1);
    assert.equal(JSON.parse(status[0].payload).online, true);

    const rows = await waitFor(() => {
      const r = sql(broker.db, 'SELECT id, device_id, tst, lat, lon, acc, batt, conn, tid, cog, ip_address, raw FROM locations WHERE tst >= 1705329000 ORDER BY id');
      return r.length === 2 && r;
    }, { what: 'two committed rows' });
    assert.deepEqual(rows.map((r) => [r.id, r.device_id, r.tst]), [[1, 1, 1705329000], [2, 1, 1705329060]]);
    assert.equal(rows[0].lat, 37.7749);
    assert.equal(rows[0].cog, 90);
    assert.equal(rows[1].acc, null);
    assert.equal(rows[1].batt, 0);
    assert.equal(rows[0].ip_address, '127.0.0.1');
    assert.deepEqual(JSON.parse(rows[0].raw), loc, 'the raw JSON is kept as sent');
    const dev = sql(broker.db, 'SELECT id, "user", device, online FROM devices');
    assert.deepEqual(dev, [{ id: 1, user: 'alice', device: 'phone', online: 1 }]);
  });

  it('keeps every field the phone sent in the raw JSON', async () => {
    const loc = location({ tst: 1705329120, inregions: ['home'], p: 101.3, _id: 'abc', custom: { x: 1 } });
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(loc), { qos: 1 });
    const row = await waitFor(() => sql(broker.db, 'SELECT raw FROM locations WHERE tst = 1705329120')[0],
      { what: 'row' });
    assert.deepEqual(JSON.parse(row.raw), loc);
  });

  it('accepts an old report from a backlog, and refuses it twice', async () => {
    const old = location({ tst: 1705000000 });
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(old), { qos: 1 });
    await waitFor(() => sql(broker.db, 'SELECT 1 FROM locations WHERE tst = 1705000000').length === 1,
      { what: 'old row' });
    // its republication too (a commit can be seen before the delivery)
    await waitFor(() => locationsOf(sub.messages).some((m) => JSON.parse(m.payload).timestamp_unix === 1705000000),
      { what: 'old row republished' });
    const before = locationsOf(sub.messages).length;
    // older than everything in the recent window: checked against the database
    for (let i = 0; i < 70; i++) {
      await pub.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705400000 + i })), { qos: 1 });
    }
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(old), { qos: 1 });
    await waitFor(() => locationsOf(sub.messages).length >= before + 70, { what: '70 more locations' });
    assert.equal(locationsOf(await untilSentinel(pub, sub, 'owntracks/alice/phone')).length, before + 70);
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations WHERE tst = 1705000000')[0].n === 1);
  });

  it('stores cards, transitions and lwt, and republishes them', async () => {
    await pub.publishAsync('owntracks/alice/phone/info',
      JSON.stringify({ _type: 'card', name: 'Alice <b>', tid: 'AL' }), { qos: 1 });
    const tr = { _type: 'transition', event: 'enter', desc: 'Home', lat: 52.1, lon: 13.2, tst: 1705329500, wtst: 1700000000, acc: 20, t: 'c' };
    await pub.publishAsync('owntracks/alice/phone/event', JSON.stringify(tr), { qos: 1 });
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify({ _type: 'lwt', tst: 1705329000 }), { qos: 1 });

    const card = await waitFor(() => sub.messages.find((m) => m.topic === 'mytracks/cards/alice/phone'));
    assert.deepEqual(JSON.parse(card.payload),
      { device: 1, device_name: 'alice/phone', user: 'alice', display_name: 'Alice <b>', tid: 'AL' });
    const t = await waitFor(() => sub.messages.find((m) => m.topic === 'mytracks/transitions/alice/phone'));
    const tp = JSON.parse(t.payload);
    assert.equal(tp.event, 'enter');
    assert.equal(tp.desc, 'Home');
    assert.equal(tp.latitude, '52.100000');
    assert.equal(tp.timestamp, iso(1705329500));
    const off = await waitFor(() => sub.messages.filter((m) => m.topic === 'mytracks/status/alice/phone')
      .map((m) => JSON.parse(m.payload)).find((p) => p.online === false));
    assert.equal(off.device_name, 'alice/phone');

    await waitFor(() => sql(broker.db, "SELECT display_name FROM devices WHERE id = 1")[0].display_name === 'Alice <b>');
    await waitFor(() => sql(broker.db, 'SELECT online FROM devices WHERE id = 1')[0].online === 0);
    const events = await waitFor(() => {
      const e = sql(broker.db, 'SELECT type FROM events ORDER BY id');
      return e.length === 3 && e;
    });
    assert.deepEqual(events.map((e) => e.type), ['card', 'transition', 'lwt']);

    // a location brings it back online, and now carries the display name
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705329600 })), { qos: 1 });
    const back = await waitFor(() => locationsOf(sub.messages).map((m) => JSON.parse(m.payload))
      .find((p) => p.timestamp_unix === 1705329600));
    assert.equal(back.display_name, 'Alice <b>');
    await waitFor(() => sql(broker.db, 'SELECT online FROM devices WHERE id = 1')[0].online === 1);
  });

  it('marks a device offline when its client disconnects', async () => {
    const phone = await mqttConnect(broker.port, { clientId: 'phone-bob' });
    await phone.publishAsync('owntracks/bob/tablet', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
    await waitFor(() => sub.messages.find((m) => m.topic === 'mytracks/status/bob/tablet'));
    phone.stream.destroy(); // an unclean drop, as a phone losing its network
    const off = await waitFor(() => sub.messages.filter((m) => m.topic === 'mytracks/status/bob/tablet')
      .map((m) => JSON.parse(m.payload)).find((p) => p.online === false), { what: 'offline status' });
    assert.equal(off.device_name, 'bob/tablet');
    phone.end(true);
  });

  it('keeps rows and continues ids after a restart', async () => {
    const before = sql(broker.db, 'SELECT max(id) AS id, count(*) AS n FROM locations')[0];
    await pub.endAsync();
    await sub.close();
    const r = await broker.restart();
    assert.equal(r.proc.running, true);
    sub = await collector(broker.port, 'mytracks/#');
    pub = await mqttConnect(broker.port, { clientId: 'phone-alice' });
    const after = sql(broker.db, 'SELECT max(id) AS id, count(*) AS n FROM locations')[0];
    assert.deepEqual(after, before);
    // the duplicate check survives the restart
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705329600 })), { qos: 1 });
    await pub.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705329900 })), { qos: 1 });
    const m = await waitFor(() => locationsOf(sub.messages)[0]);
    assert.equal(locationsOf(await untilSentinel(pub, sub, 'owntracks/alice/phone')).length, 1);
    assert.equal(JSON.parse(m.payload).id, before.id + 1);
    assert.equal(JSON.parse(m.payload).device, 1);
    await waitFor(() => sql(broker.db, `SELECT tst FROM locations WHERE id = ${before.id + 1}`)[0]?.tst === JSON.parse(m.payload).timestamp_unix);
  });

  it('commits everything on a clean shutdown and leaves no sanitizer findings', async () => {
    await pub.endAsync();
    await sub.close();
    const n = sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n;
    await broker.stop();
    assert.equal(broker.proc.exitCode, 0, broker.proc.output.slice(-2000));
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, n);
    assert.equal(dbIntegrity(broker.db), 'ok');
    assertNoSanitizerFindings(assert, broker.proc);
    assert.match(broker.proc.output, /mytracks: stopped: \d+ locations stored/);
  });
});

describe('plugin: commit window', () => {
  after(stopAll);

  it('a long window still loses nothing on SIGTERM', async () => {
    const broker = await startBroker({ options: { commit_window: '10000' } });
    const pub = await mqttConnect(broker.port);
    for (let i = 0; i < 50; i++) {
      await pub.publishAsync('owntracks/w/d', JSON.stringify(location({ tst: 1705329000 + i })), { qos: 1 });
    }
    await pub.endAsync();
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, 0, 'nothing committed yet');
    await broker.stop();
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, 50);
    assertNoSanitizerFindings(assert, broker.proc);
  });

  it('window 0 commits every message at once', async () => {
    const broker = await startBroker({ options: { commit_window: '0' } });
    const pub = await mqttConnect(broker.port);
    await pub.publishAsync('owntracks/w/d', JSON.stringify(location()), { qos: 1 });
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 1, { timeout: 3000 });
    await pub.endAsync();
    await broker.stop();
  });
});

describe('plugin: options', () => {
  after(stopAll);

  async function failsWith(options, pattern) {
    const dir = tmpDir();
    const port = await freePort();
    const conf = path.join(dir, 'm.conf');
    const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `plugin ${pluginPath}`];
    if (process.getuid() === 0) lines.push('user root');
    for (const [k, v] of Object.entries(options)) lines.push(`plugin_opt_${k} ${v}`);
    fs.writeFileSync(conf, lines.join('\n') + '\n');
    // mosquitto leaks its own configuration when a plugin refuses to start
    const p = new Proc('mosquitto', 'mosquitto', ['-c', conf], { env: sanitizerEnv(true), ownLeaksOnly: true });
    const r = await Promise.race([p.exited, sleep(10000).then(() => null)]);
    await p.stop();
    assert.ok(r, 'the broker must refuse to start');
    assert.notEqual(r.code, 0);
    assert.match(p.output, pattern);
  }

  it('a bad value stops start-up naming the option', async () => {
    const db = path.join(tmpDir(), 'x.db');
    await failsWith({ database: db, commit_window: 'soon' }, /plugin_opt_commit_window/);
    await failsWith({ database: db, max_payload: '-1' }, /plugin_opt_max_payload/);
    await failsWith({ database: db, topic_user_check: 'maybe' }, /plugin_opt_topic_user_check/);
    await failsWith({ database: db, input_prefix: 'own/#' }, /plugin_opt_input_prefix/);
    await failsWith({ database: db, colour: 'blue' }, /unknown option plugin_opt_colour/);
    await failsWith({ stats_interval: '1' }, /plugin_opt_database is required/);
    await failsWith({ database: '/nonexistent/dir/x.db' }, /plugin_opt_database: cannot open/);
    await failsWith({ database: db, buffer_max: '10', buffer_per_user: '11' }, /plugin_opt_buffer_per_user/);
    await failsWith({ database: db, max_devices: '10', max_devices_per_user: '11' }, /plugin_opt_max_devices_per_user/);
    await failsWith({ database: db, max_devices_per_user: '0' }, /plugin_opt_max_devices_per_user/);
  });

  it('trims trailing whitespace in values and honours the prefixes', async () => {
    const broker = await startBroker({ options: { input_prefix: 'ot  ', output_prefix: 'out/live ' } });
    const sub = await collector(broker.port, 'out/live/#');
    const pub = await mqttConnect(broker.port);
    await pub.publishAsync('ot/u/d', JSON.stringify(location()), { qos: 1 });
    await pub.publishAsync('owntracks/u/d', JSON.stringify(location({ tst: 1705329001 })), { qos: 1 });
    const m = await waitFor(() => sub.messages.find((x) => x.topic === 'out/live/locations/u/d'));
    const before = await untilSentinel(pub, sub, 'ot/sentinel/last');
    assert.equal(before.filter((x) => x.topic.startsWith('out/live/locations')).length, 1);
    assert.equal(JSON.parse(m.payload).timestamp_unix, 1705329000);
    await pub.endAsync();
    await sub.close();
    await broker.stop();
  });
});

describe('plugin: who may publish for whom', () => {
  after(stopAll);

  it('refuses a topic user other than the MQTT username, trusts the bridge user for ip', async () => {
    const broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    const sub = await collector(broker.port, 'mytracks/#');
    const mallory = await mqttConnect(broker.port, { username: 'mallory' });
    await mallory.publishAsync('owntracks/alice/phone', JSON.stringify(location()), { qos: 1 });
    await mallory.publishAsync('owntracks/mallory/phone', JSON.stringify(location()), { qos: 1 });
    const bridge = await mqttConnect(broker.port, { username: 'mytracks-bridge', protocolVersion: 5 });
    await bridge.publishAsync('owntracks/carol/phone', JSON.stringify(location()),
      { qos: 1, properties: { userProperties: { 'mytracks-ip': '203.0.113.7' } } });
    // a value that is not an IP address is ignored (stored without an
    // address), counted and logged escaped; IPv6 is an address
    await bridge.publishAsync('owntracks/dave/phone', JSON.stringify(location()),
      { qos: 1, properties: { userProperties: { 'mytracks-ip': '6.6.6.6<b>\\x0a' } } });
    await bridge.publishAsync('owntracks/erin/phone', JSON.stringify(location()),
      { qos: 1, properties: { userProperties: { 'mytracks-ip': '2001:db8::7' } } });
    await waitFor(() => sql(broker.db, `SELECT count(*) AS n FROM locations l JOIN devices d ON d.id = l.device_id WHERE d."user" IN ('dave', 'erin')`)[0].n === 2,
      { what: 'dave and erin stored' });
    const ipOf = (u) => sql(broker.db, `SELECT l.ip_address FROM locations l JOIN devices d ON d.id = l.device_id WHERE d."user" = '${u}'`)[0].ip_address;
    assert.equal(ipOf('dave'), null);
    assert.equal(ipOf('erin'), '2001:db8::7');
    assert.match(broker.proc.output, /ignoring mytracks-ip '6\.6\.6\.6<b>\\\\x0a' from client '[^']*': not an IP address/);
    // the property means nothing from anybody else
    const eve = await mqttConnect(broker.port, { username: 'eve', protocolVersion: 5 });
    await eve.publishAsync('owntracks/eve/phone', JSON.stringify(location()),
      { qos: 1, properties: { userProperties: { 'mytracks-ip': '198.51.100.1' } } });

    await waitFor(() => locationsOf(sub.messages).length >= 5, { what: 'five locations' });
    const got = locationsOf(await untilSentinel(eve, sub, 'owntracks/eve/sentinel')).map((m) => JSON.parse(m.payload))
      .filter((g) => g.user !== 'dave' && g.user !== 'erin');
    assert.deepEqual(got.map((g) => g.device_name).sort(), ['carol/phone', 'eve/phone', 'mallory/phone']);
    assert.equal(got.find((g) => g.user === 'carol').ip_address, '203.0.113.7');
    assert.equal(got.find((g) => g.user === 'eve').ip_address, '127.0.0.1');
    const s = await waitFor(async () => { const x = await stats(broker.port); return x.rejected_by.forbidden === 1 && x.bad_ip_property === 1 && x; });
    assert.equal(s.rejected, 1);
    assert.match(broker.proc.output, /rejected message on 'owntracks\/alice\/phone'.*forbidden/);
    for (const c of [mallory, bridge, eve]) await c.endAsync();
    await sub.close();
    await broker.stop();
  });
});

/** Another process takes the database's write lock; resolves once it
 * holds it, with a function that releases it (and resolves once the lock
 * is gone). PostgreSQL: the tables locked against writes (reads go on);
 * the plugin's writes wait for its lock_timeout, then fail and retry. */
async function lockDatabase(db, tables = 'devices, locations, events') {
  const pg = /^postgres(ql)?:\/\//.test(db);
  const locker = pg ? spawn('psql', ['-X', '-q', '-A', '-t', db], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const held = new Promise((resolve, reject) => {
    locker.stdout.on('data', (d) => { out += d; if (out.includes('lock-held')) resolve(); });
    locker.once('exit', () => reject(new Error(`${pg ? 'psql' : 'sqlite3'} ended before it held the lock`)));
  });
  locker.stdin.write(pg ? `BEGIN;\nLOCK TABLE ${tables} IN EXCLUSIVE MODE;\nSELECT 'lock-held';\n`
    : "BEGIN EXCLUSIVE;\nINSERT INTO events(device_id, type, received_at, raw) VALUES (1, 'x', 0, '{}');\nSELECT 'lock-held';\n");
  await held;
  return () => {
    locker.stdin.end('ROLLBACK;\n');
    return new Promise((r) => locker.once('exit', r));
  };
}

describe('plugin: a locked database', () => {
  after(stopAll);

  it('keeps routing and republishing, then stores everything when the lock is gone', async () => {
    const broker = await startBroker({ options: { commit_window: '20' } });
    const sub = await collector(broker.port, 'mytracks/locations/#');
    const raw = await collector(broker.port, 'owntracks/#');
    const pub = await mqttConnect(broker.port);
    await pub.publishAsync('owntracks/lock/d', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 1);

    const unlock = await lockDatabase(broker.db);
    for (let i = 1; i <= 20; i++) {
      await pub.publishAsync('owntracks/lock/d', JSON.stringify(location({ tst: 1705329000 + i })), { qos: 1 });
    }
    // a last report (newer than the others: no database check while
    // locked); whatever the 21 caused is in before it, and nothing more
    await pub.publishAsync('owntracks/lock/d', JSON.stringify(location({ tst: 1705329100 })), { qos: 1 });
    const upTo = (c, isLast) => waitFor(() => {
      const i = c.messages.findIndex((m) => isLast(JSON.parse(m.payload)));
      return i >= 0 && c.messages.slice(0, i);
    }, { what: 'the last report' });
    assert.equal(locationsOf(await upTo(sub, (p) => p.timestamp_unix === 1705329100)).length, 21,
      'republished while locked, each once');
    assert.equal((await upTo(raw, (p) => p.tst === 1705329100)).length, 21, 'original messages routed, each once');
    await waitFor(() => /database write failed/.test(broker.proc.output), { timeout: 15000, what: 'a logged write failure' });
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, 1);
    // counted too (stats are published every second: wait for a fresh one)
    await waitFor(async () => {
      const s = await stats(broker.port);
      return s.write_errors >= 1 && s.pending >= 20;
    }, { what: 'write errors and pending rows in mytracks/stats' });

    await unlock();
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 22,
      { timeout: 20000, what: 'all rows after the lock is gone' });
    assert.equal(dbIntegrity(broker.db), 'ok');
    await waitFor(() => /database writable again/.test(broker.proc.output), { what: 'recovery logged' });
    await pub.endAsync(); await sub.close(); await raw.close();
    await broker.stop();
    assertNoSanitizerFindings(assert, broker.proc);
  });

  // SQLite takes its lock at BEGIN, before any row; PostgreSQL can fail a
  // transaction after some of its rows went in (here: events locked).
  it('counts the rows of a transaction written again after a failure once',
    { skip: !isPostgres && 'PostgreSQL only: a SQLite transaction fails before its first row' }, async () => {
      const broker = await startBroker({ options: { commit_window: '300' } });
      const pub = await mqttConnect(broker.port);
      await pub.publishAsync('owntracks/retry/d', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
      await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 1);
      const unlock = await lockDatabase(broker.db, 'events');
      for (let i = 1; i <= 5; i++) {
        await pub.publishAsync('owntracks/retry/d', JSON.stringify(location({ tst: 1705329000 + i })), { qos: 1 });
      }
      await pub.publishAsync('owntracks/retry/d/waypoint', JSON.stringify({
        _type: 'waypoint', desc: 'gym', lat: 52.51, lon: 13.41, rad: 50, tst: 1705000001,
      }), { qos: 1 });
      // the locations went in, the event waited for the lock and failed
      // (lock_timeout), the whole transaction is retried: twice or more
      await waitFor(async () => (await stats(broker.port)).write_errors >= 2,
        { timeout: 20000, what: 'two failed attempts in mytracks/stats' });
      await unlock();
      await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM events')[0].n === 1,
        { timeout: 20000, what: 'the event after the lock is gone' });
      const s = await waitFor(async () => {
        const t = await stats(broker.port);
        return t.pending === 0 && t;
      }, { what: 'nothing pending in mytracks/stats' });
      assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, 6);
      assert.equal(s.stored_locations, 6, 'each location counted once, not once per attempt');
      assert.equal(s.stored_duplicates, 0);
      await pub.endAsync();
      await broker.stop();
      assertNoSanitizerFindings(assert, broker.proc);
    });

  it('refuses what does not fit in the bounded buffer, and says so', async () => {
    const broker = await startBroker({ options: { buffer_max: '10', buffer_per_user: '10' } });
    const sub = await collector(broker.port, 'mytracks/locations/#');
    // MQTT v5: a report that is not stored gets a PUBACK with reason 0x87
    const pub = await mqttConnect(broker.port, { protocolVersion: 5 });
    await pub.publishAsync('owntracks/full/d', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    const unlock = await lockDatabase(broker.db);
    // (after a refusal Debian's mosquitto drops the connection: one per report)
    await pub.endAsync();
    const refusedCodes = [];
    for (let i = 1; i <= 15; i++) {
      const c = await mqttConnect(broker.port, { protocolVersion: 5 });
      c.on('error', () => {});
      const code = await new Promise((resolve) => {
        const t = setTimeout(() => resolve('no answer'), 5000);
        c.publish('owntracks/full/d', JSON.stringify(location({ tst: 1705329000 + i })), { qos: 1 },
          (e) => { clearTimeout(t); resolve(e ? e.code : 0); });
      });
      if (code !== 0) refusedCodes.push(code);
      c.end(true);
    }
    const acked = 15 - refusedCodes.length;
    assert.ok(refusedCodes.length > 0 && acked > 0, `refused ${refusedCodes.length}`);
    assert.ok(refusedCodes.every((c) => c === 0x87), 'refused with reason 0x87, never acknowledged as stored');
    await waitFor(async () => (await stats(broker.port)).buffer_full >= refusedCodes.length, { what: 'refusals counted' });
    await waitFor(() => /storage buffer full/.test(broker.proc.output), { what: 'logged' });
    await unlock();
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 1 + acked, { timeout: 20000 });
    // the buffer is empty again: a sentinel, answered after every refusal,
    // so republished after anything a refused report could have caused
    const last = await mqttConnect(broker.port, { protocolVersion: 5 });
    const got = locationsOf(await untilSentinel(last, sub, 'owntracks/full/d'));
    assert.equal(got.length, 1 + acked, 'what was refused is not republished');
    await last.endAsync();
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 2 + acked, { what: 'the sentinel stored' });
    const ids = sql(broker.db, 'SELECT id FROM locations ORDER BY id').map((r) => r.id);
    assert.deepEqual(ids, locationsOf(sub.messages).map((m) => JSON.parse(m.payload).id));
    await sub.close();
    await broker.stop();
    assertNoSanitizerFindings(assert, broker.proc);
  });
});
