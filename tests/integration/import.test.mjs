// tools/mytracks-import against a real mosquitto with the real plugin and
// its SQLite file: Recorder .rec files and stores, GPX, Google Takeout,
// re-imports, busy answers, dry runs and the errors a user sees.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, collector, mqttConnect, untilSentinel, sql, freePort, tmpDir, stopAll,
  buildDir, sourceDir, sanitizerEnv, sanitizerFindings,
} from '../lib/harness.mjs';

const TRUSTED = 'mytracks-bridge';
const tool = path.join(buildDir, 'tools', 'mytracks-import');
const fixtures = path.join(sourceDir, 'tests', 'fixtures', 'import');
const fx = (...p) => path.join(fixtures, ...p);

/** Run the tool to its end: { code, stdout, stderr }. cwd is an empty
 * directory, so that no ./data/bridge.secret is found. */
function runImport(args, { cwd = tmpDir('mytracks-import-cwd-') } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd, env: sanitizerEnv(false), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('error', reject);
    child.once('exit', (code) => {
      assert.deepEqual(sanitizerFindings(stderr), [], stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A number from the summary ("stored          3"). */
function summaryNum(stdout, key) {
  const m = new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(stdout);
  assert.ok(m, `no "${key}" in the summary:\n${stdout}`);
  return Number(m[1]);
}

function summary(stdout, keys) {
  return Object.fromEntries(keys.map((k) => [k, summaryNum(stdout, k)]));
}

/** The JSON of each line of a .rec fixture, by its tst. */
function recJson(file) {
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const parts = line.split('\t');
    if (parts.length !== 3) continue;
    try {
      const o = JSON.parse(parts[2]);
      if (o._type === 'location' && typeof o.lat === 'number') out[o.tst] = parts[2];
    } catch { /* the fixture's cut-off line */ }
  }
  return out;
}

const rows = (db, user, device) => sql(db, `SELECT l.tst, l.raw FROM locations l JOIN devices d ON d.id = l.device_id
  WHERE d.user = '${user}' AND d.device = '${device}' ORDER BY l.tst`);

describe('mytracks-import', () => {
  after(stopAll);

  it('imports a .rec file without publishing it, names bad lines, and adds nothing the second time', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const live = await collector(broker.port, 'mytracks/#');
    const file = fx('alice-phone.rec');
    const r = await runImport(['--port', String(broker.port), '--user', 'alice', '--device', 'phone', file]);
    assert.equal(r.code, 0, r.stderr);
    // the tool's own rejections and the plugin's, each with its file and line
    assert.match(r.stderr, new RegExp(`^${file}:4: not a Recorder line \\(TIME TAB \\* TAB JSON\\)`, 'm'));
    assert.match(r.stderr, new RegExp(`^${file}:9: the JSON object is cut off`, 'm'));
    assert.match(r.stderr, new RegExp(`^${file}:6: rejected by the plugin: bad_field: .*lat`, 'm'));
    assert.equal(r.stderr.trim().split('\n').length, 3, r.stderr);
    assert.deepEqual(summary(r.stdout, ['lines read', 'stored', 'duplicates', 'events', 'ignored', 'rejected']),
      { 'lines read': 8, stored: 3, duplicates: 0, events: 2, ignored: 0, rejected: 3 });
    assert.match(r.stdout, /all input read; 3 messages were rejected/);
    // every good line stored with its JSON byte for byte as raw
    const want = recJson(file);
    assert.deepEqual(rows(broker.db, 'alice', 'phone'),
      Object.keys(want).map(Number).sort().map((tst) => ({ tst, raw: want[tst] })));
    assert.deepEqual(sql(broker.db, "SELECT type, tst FROM events WHERE type = 'transition'"), [{ type: 'transition', tst: 1682928360 }]);
    // history is not news: nothing on the live topics, the device stays offline
    const phone = await mqttConnect(broker.port);
    const before = await untilSentinel(phone, live);
    assert.deepEqual(before.filter((m) => !m.topic.endsWith('/stats')).map((m) => m.topic), []);
    // the card named the device, as the Recorder's cards/ would
    assert.deepEqual(sql(broker.db, "SELECT online, display_name FROM devices WHERE user = 'alice'"),
      [{ online: 0, display_name: 'Alice' }]);

    // again: everything is a duplicate (three fixes, the transition, the card)
    const again = await runImport(['--port', String(broker.port), '--user', 'alice', '--device', 'phone', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(summary(again.stdout, ['stored', 'duplicates', 'events', 'rejected']),
      { stored: 0, duplicates: 5, events: 0, rejected: 3 });
    assert.equal(rows(broker.db, 'alice', 'phone').length, 3);
    assert.equal(sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'transition'")[0].n, 1);
    await phone.endAsync();
    await live.close();
    await broker.stop();
  });

  it('walks a Recorder store: users and devices from the path, in batches', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const port = String(broker.port);
    const r = await runImport(['--port', port, '--rec-dir', fx('store'), '--batch', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(summary(r.stdout, ['files read', 'lines read', 'stored', 'events', 'ignored', 'rejected']),
      { 'files read': 5, 'lines read': 5, stored: 4, events: 2, ignored: 1, rejected: 0 });
    // the Recorder's cards name the devices: the device's own card, else the user's
    assert.deepEqual(sql(broker.db, "SELECT device, display_name FROM devices WHERE user = 'bob' ORDER BY device"),
      [{ device: 'phone', display_name: 'Bob Builder' }, { device: 'watch', display_name: 'Bob on the wrist' }]);
    assert.equal(sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'card'")[0].n, 2);
    const phone = { ...recJson(fx('store/rec/bob/phone/2019-10.rec')), ...recJson(fx('store/rec/bob/phone/2019-11.rec')) };
    assert.deepEqual(rows(broker.db, 'bob', 'phone'),
      Object.keys(phone).map(Number).sort().map((tst) => ({ tst, raw: phone[tst] })));
    assert.deepEqual(rows(broker.db, 'bob', 'watch').map((x) => x.tst), [1570356000]);
    // the rec directory itself, and one file whose path names its device
    const again = await runImport(['--port', port, '--rec-dir', fx('store', 'rec')]);
    assert.deepEqual(summary(again.stdout, ['stored', 'duplicates']), { stored: 0, duplicates: 6 });
    assert.match(again.stdout, /nothing new/);
    const one = await runImport(['--port', port, fx('store/rec/bob/phone/2019-10.rec')]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(summary(one.stdout, ['stored', 'duplicates']), { stored: 0, duplicates: 2 });
    // only one device of the store
    const filtered = await runImport(['--port', port, '--rec-dir', fx('store'), '--device', 'watch', '--dry-run']);
    assert.deepEqual(summary(filtered.stdout, ['files read', 'locations']), { 'files read': 2, locations: 1 });
    await broker.stop();
  });

  it('imports a GPX track (points without a time skipped and counted) and a Takeout history', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const port = String(broker.port);
    const gpx = fx('track.gpx');
    const r = await runImport(['--port', port, '--user', 'carol', '--device', 'watch', gpx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(summary(r.stdout, ['points read', 'skipped', 'stored', 'rejected']),
      { 'points read': 5, skipped: 1, stored: 4, rejected: 0 });
    assert.match(r.stdout, new RegExp(`points without a time, the first at ${gpx}:15`));
    assert.deepEqual(rows(broker.db, 'carol', 'watch'), [
      { tst: 1709369940, raw: '{"_type":"location","lat":46.5,"lon":7.9,"tst":1709369940,"alt":2101,"tid":"ch"}' },
      { tst: 1709370000, raw: '{"_type":"location","lat":46.501,"lon":7.901,"tst":1709370000,"alt":2101,"tid":"ch"}' },
      { tst: 1709370060, raw: '{"_type":"location","lat":46.502,"lon":7.902,"tst":1709370060,"alt":2103,"tid":"ch"}' },
      { tst: 1709370180, raw: '{"_type":"location","lat":46.504,"lon":7.904,"tst":1709370180,"tid":"ch"}' },
    ]);
    const again = await runImport(['--port', port, '--user', 'carol', '--device', 'watch', gpx]);
    assert.deepEqual(summary(again.stdout, ['stored', 'duplicates']), { stored: 0, duplicates: 4 });
    assert.equal(rows(broker.db, 'carol', 'watch').length, 4);

    const takeout = fx('Records.json');
    const t = await runImport(['--port', port, '--user', 'carol', '--device', 'pixel', '--takeout', takeout]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, new RegExp(`^${takeout}:15: a location without latitudeE7 and longitudeE7`, 'm'));
    assert.deepEqual(summary(t.stdout, ['points read', 'stored', 'rejected']), { 'points read': 3, stored: 2, rejected: 1 });
    assert.deepEqual(rows(broker.db, 'carol', 'pixel').map((x) => JSON.parse(x.raw)), [
      { _type: 'location', lat: 41.4216106, lon: 2.1684775, tst: 1642007904, acc: 16, alt: 80, vel: 7, tid: 'el' },
      { _type: 'location', lat: 41.4219, lon: 2.1687, tst: 1642008000, acc: 25, tid: 'el' },
    ]);
    await broker.stop();
  });

  it('sends again what a busy plugin did not take', async () => {
    const broker = await startBroker({
      options: { trusted_user: TRUSTED, buffer_max: '50', buffer_per_user: '5', commit_window: '200' },
    });
    const dir = tmpDir();
    const file = path.join(dir, 'many.rec');
    const lines = [];
    for (let i = 0; i < 30; i++) {
      const tst = 1600000000 + i * 60;
      lines.push(`${new Date(tst * 1000).toISOString().replace('.000', '')}\t*                 \t` +
        JSON.stringify({ _type: 'location', lat: 50 + i / 1000, lon: 8, tst, tid: 'ph' }));
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const r = await runImport(['--port', String(broker.port), '--user', 'dan', '--device', 'phone', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(summary(r.stdout, ['sent', 'stored', 'rejected']), { sent: 30, stored: 30, rejected: 0 });
    assert.ok(summaryNum(r.stdout, 'busy retries') >= 1, r.stdout);
    assert.equal(rows(broker.db, 'dan', 'phone').length, 30);
    await broker.stop();
  });

  it('names the plugin\'s first 20 rejections of a request, counts the rest, and caps errors with --max-errors', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const file = path.join(tmpDir(), 'bad.rec');
    const lines = [];
    for (let i = 0; i < 30; i++) {
      lines.push(`2020-09-13T12:00:00Z\t*                 \t{"_type":"location","lat":"x${i}","lon":8,"tst":${1600000000 + i}}`);
    }
    lines.push('2020-09-13T12:00:00Z\t*                 \t{"_type":"location","lat":50,"lon":8,"tst":1600000100}');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const args = ['--port', String(broker.port), '--user', 'hal', '--device', 'phone', file];
    const r = await runImport(args);
    assert.equal(r.code, 0, r.stderr);
    const named = r.stderr.match(/^.*bad\.rec:\d+: rejected by the plugin: bad_field.*$/gm);
    assert.equal(named.length, 20, r.stderr);
    assert.match(named[19], /bad\.rec:20: /);
    assert.match(r.stderr, new RegExp(`^${file}:21: 10 more messages rejected by the plugin up to ${file}:31`, 'm'));
    assert.deepEqual(summary(r.stdout, ['stored', 'rejected']), { stored: 1, rejected: 30 });
    // smaller requests name them all; --max-errors shows a few
    const all = await runImport([...args, '--batch', '10']);
    assert.equal(all.stderr.match(/rejected by the plugin/g).length, 30);
    const few = await runImport([...args, '--max-errors', '3']);
    assert.equal(few.stderr.match(/rejected by the plugin: /g).length, 3);
    assert.match(few.stdout, /^17 more errors not shown \(--max-errors\)$/m);
    await broker.stop();
  });

  it('--dry-run reads and counts without a broker and stores nothing', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const r = await runImport(['--dry-run', '--port', String(broker.port), '--user', 'erin', '--device', 'phone',
      fx('alice-phone.rec'), fx('track.gpx')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(summary(r.stdout, ['lines read', 'points read', 'messages', 'locations', 'events', 'other', 'rejected']),
      { 'lines read': 8, 'points read': 5, messages: 10, locations: 8, events: 2, other: 0, rejected: 2 });
    assert.match(r.stdout, /dry run/);
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM devices')[0].n, 0);
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, 0);
    await broker.stop();
    // no broker at all
    const none = await runImport(['--dry-run', '--port', String(await freePort()), '--rec-dir', fx('store')]);
    assert.equal(none.code, 0, none.stderr);
  });

  it('exits 1 for a missing file (and imports the rest), for no broker and no answer; 2 for usage', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const port = String(broker.port);
    const dir = tmpDir();
    const missing = path.join(dir, 'nosuch.rec');
    const r = await runImport(['--port', port, '--user', 'fay', '--device', 'phone', missing, fx('store/rec/bob/phone/2019-10.rec')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${missing}: cannot open: No such file or directory$`, 'm'));
    assert.match(r.stdout, /incomplete: some input could not be read/);
    assert.equal(summaryNum(r.stdout, 'stored'), 2);
    assert.equal(rows(broker.db, 'fay', 'phone').length, 2);
    const store = await runImport(['--port', port, '--rec-dir', path.join(dir, 'nothing')]);
    assert.equal(store.code, 1);
    assert.match(store.stderr, /--rec-dir .*nothing: cannot read the directory: No such file or directory/);
    // not the trusted user: the plugin refuses
    const other = await runImport(['--port', port, '--username', 'mallory', '--user', 'fay', '--device', 'x', fx('track.gpx')]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /the plugin refused the import request \(403\)/);
    await broker.stop();
    // a broker without the plugin never answers
    const plain = await startBroker({ plugin: false });
    const silent = await runImport(['--port', String(plain.port), '--timeout', '0.5', '--user', 'fay', '--device', 'x', fx('track.gpx')]);
    assert.equal(silent.code, 1);
    assert.match(silent.stderr, /no answer from the plugin within 0\.5 s/);
    await plain.stop();
    const down = await runImport(['--port', String(await freePort()), '--user', 'fay', '--device', 'x', fx('track.gpx')]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot connect to the broker at 127\.0\.0\.1:\d+: Connection refused/);
    // usage errors
    for (const args of [[], ['--batch', '1001', fx('track.gpx')], [fx('track.gpx')], [fx('Records.json')],
      ['--password-file', path.join(dir, 'none'), '--rec-dir', fx('store')]]) {
      const u = await runImport(args);
      assert.equal(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
      assert.match(u.stderr, /mytracks-import: /);
    }
    const help = await runImport(['--help']);
    assert.equal(help.code, 0);
    for (const opt of ['--rec-dir', '--takeout', '--batch', '--timeout', '--dry-run', '--password-file', '--cafile']) {
      assert.ok(help.stdout.includes(opt), opt);
    }
  });

  it('reads the password from <data-dir>/bridge.secret, as ./my-tracks-server writes it', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'passwd'), `${TRUSTED}:s3cret-from-file\n`);
    await new Promise((resolve, reject) => {
      const p = spawn('mosquitto_passwd', ['-U', path.join(dir, 'passwd')], { stdio: 'ignore' });
      p.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`mosquitto_passwd: ${c}`))));
    });
    const broker = await startBroker({
      dir, options: { trusted_user: TRUSTED }, extraConf: `password_file ${path.join(dir, 'passwd')}`,
    });
    const cwd = tmpDir();
    const args = ['--port', String(broker.port), '--user', 'gus', '--device', 'phone', fx('track.gpx')];
    const refused = await runImport(args, { cwd });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the connection: .*not authori[sz]ed/i);
    fs.mkdirSync(path.join(cwd, 'data'));
    fs.writeFileSync(path.join(cwd, 'data', 'bridge.secret'), 's3cret-from-file\n', { mode: 0o600 });
    const ok = await runImport(args, { cwd });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(summaryNum(ok.stdout, 'stored'), 4);
    await broker.stop();
  });
});
