// generate_load against a real broker with the plugin: every message stored once.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Correctness only (counts, uniqueness, exit codes); never timings.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import {
  buildDir, bridgePath, startBroker, stopAll, sql, waitFor, collector, freePort, Proc, sanitizerEnv, tmpDir,
  sanitizerFindings, assertNoSanitizerFindings,
} from '../lib/harness.mjs';

const bin = path.join(buildDir, 'tools', 'generate_load');

/** Run generate_load; resolves { code, stdout, stderr, summary }. */
function generateLoad(args) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: sanitizerEnv(false), timeout: 120000 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      const found = sanitizerFindings(stderr);
      if (found.length) reject(new Error(`generate_load sanitizer findings:\n${stderr.slice(-4000)}`));
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr, summary: line ? JSON.parse(line) : null });
    });
  });
}

function storedCounts(db, user) {
  return sql(db, `SELECT count(*) AS n, count(DISTINCT l.device_id || '/' || l.tst) AS uniq,
    count(DISTINCT l.device_id) AS devices FROM locations l JOIN devices d ON d.id = l.device_id
    WHERE d.user = '${user}'`)[0];
}

describe('generate_load', () => {
  let broker;
  before(async () => {
    // the bridge publishes HTTP-mode reports for other users under its own name
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
  });
  after(async () => {
    const r = await broker.stop();
    assert.equal(r.code, 0, `broker exit: ${JSON.stringify(r)}`);
    assertNoSanitizerFindings(assert, broker.proc);
    await stopAll();
  });

  it('prints help and refuses bad options', async () => {
    const help = await generateLoad(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--devices/);
    assert.match(help.stdout, /--http URL/);
    assert.equal((await generateLoad(['--qos', '2'])).code, 2);
    assert.equal((await generateLoad(['--devices', 'many'])).code, 2);
  });

  it('stores every QoS 1 message exactly once, as fast as possible', async () => {
    const r = await generateLoad(['--port', String(broker.port), '--devices', '3', '--rate', 'max', '--count', '300',
      '--user', 'fast', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.sent, 300);
    assert.equal(r.summary.acked, 300);
    assert.equal(r.summary.errors, 0);
    await waitFor(() => storedCounts(broker.db, 'fast').n >= 300, { what: '300 rows' });
    assert.deepEqual(storedCounts(broker.db, 'fast'), { n: 300, uniq: 300, devices: 3 });
    // device names and a unique, increasing tst per device
    const devs = sql(broker.db, "SELECT device FROM devices WHERE user = 'fast' ORDER BY device").map((d) => d.device);
    assert.deepEqual(devs, ['dev0001', 'dev0002', 'dev0003']);
    const rows = sql(broker.db, `SELECT l.device_id AS d, l.tst AS t, l.raw AS raw FROM locations l
      JOIN devices d ON d.id = l.device_id WHERE d.user = 'fast' ORDER BY l.id`);
    const last = new Map();
    for (const row of rows) {
      assert.ok(!last.has(row.d) || row.t > last.get(row.d), 'tst increases per device');
      last.set(row.d, row.t);
      const p = JSON.parse(row.raw);
      assert.equal(p._type, 'location');
      assert.ok(p.batt >= 0 && p.batt <= 100 && p.acc > 0 && Math.abs(p.lat - 52.52) < 1);
    }
    // faster than 1/s per device: the tst range stays in the past
    assert.ok(Math.max(...last.values()) <= Date.now() / 1000 + 1);
  });

  it('republishes each paced message once and uses the clock for tst', async () => {
    const sub = await collector(broker.port, 'mytracks/locations/paced/#');
    const r = await generateLoad(['--port', String(broker.port), '--devices', '4', '--total-rate', '40', '--count', '20',
      '--user', 'paced', '--json']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => sub.messages.length >= 20, { what: '20 republished locations' });
    await waitFor(() => storedCounts(broker.db, 'paced').n >= 20, { what: '20 rows' });
    assert.deepEqual(storedCounts(broker.db, 'paced'), { n: 20, uniq: 20, devices: 4 });
    const ids = sub.messages.map((m) => JSON.parse(m.payload).id);
    assert.equal(new Set(ids).size, 20);
    // at most 1 msg/s per device: tst follows the clock
    const tst = sql(broker.db, "SELECT min(l.tst) AS t FROM locations l JOIN devices d ON d.id = l.device_id WHERE d.user = 'paced'")[0].t;
    assert.ok(Math.abs(tst - Date.now() / 1000) < 120);
    await sub.close();
  });

  it('QoS 0 messages are stored too', async () => {
    const r = await generateLoad(['--port', String(broker.port), '--devices', '2', '--rate', 'max', '--count', '100',
      '--qos', '0', '--user', 'q0', '--json']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => storedCounts(broker.db, 'q0').n >= 100, { what: '100 rows' });
    assert.deepEqual(storedCounts(broker.db, 'q0'), { n: 100, uniq: 100, devices: 2 });
  });

  it('exits non-zero when the broker is not there', async () => {
    const port = await freePort();
    const r = await generateLoad(['--port', String(port), '--count', '5', '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot connect/);
  });

  it('HTTP mode: posts through the bridge, each report stored once', { skip: !fs.existsSync(bridgePath) && 'bridge not built' }, async () => {
    const port = await freePort();
    const bridge = new Proc('bridge', bridgePath, ['--http-port', String(port), '--mqtt-port', String(broker.port),
      '--database', broker.db, '--console', '--log-level', 'warning'], { env: sanitizerEnv(false), logFile: path.join(tmpDir(), 'bridge.log') });
    await waitFor(async () => {
      if (!bridge.running) throw new Error(`bridge exited: ${bridge.output}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return res && res.status === 200;
    }, { what: 'bridge' });
    const r = await generateLoad(['--http', `http://127.0.0.1:${port}/pub`, '--devices', '3', '--rate', 'max',
      '--count', '60', '--user', 'viahttp', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.mode, 'http');
    assert.equal(r.summary.acked, 60);
    await waitFor(() => storedCounts(broker.db, 'viahttp').n >= 60, { what: '60 rows' });
    assert.deepEqual(storedCounts(broker.db, 'viahttp'), { n: 60, uniq: 60, devices: 3 });
    await bridge.stop();
    assertNoSanitizerFindings(assert, bridge);
  });
});
