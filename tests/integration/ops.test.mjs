// Operating ./my-tracks-server and the tools: one timestamp layout in the
// broker's (and plugin's) and the bridge's logs, no warnings at a normal
// start, no "//" in the paths it prints and writes, bridge options passed
// through after "--", listen errors that say what is wrong (address not on
// this machine, port in use), and generate_load's option errors naming the
// option.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  Proc, buildDir, sourceDir, freePort, tmpDir, waitFor, sanitizerEnv, sanitizerFindings,
  location, sql, stopAll, startBroker,
} from '../lib/harness.mjs';

const script = path.join(sourceDir, 'my-tracks-server');
const generateLoad = path.join(buildDir, 'tools', 'generate_load');

/** GET `p` from the bridge with the given Host header: { status }. */
function getWithHost(port, p, host) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers: { Host: host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', reject);
  });
}

function portAccepts(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Local time of "YYYY/MM/DD HH:MM:SS" in ms since the epoch. */
function localMs(stamp) {
  const [y, mo, d, h, mi, s] = stamp.split(/[/ :]/).map(Number);
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}

/** Run the script to its end (for starts that must fail). */
function runScript(args) {
  return spawnSync(script, ['--no-install', '--no-build', '--build-dir', buildDir, ...args],
    { encoding: 'utf8', env: sanitizerEnv(false), timeout: 60000 });
}

describe('my-tracks-server operations', () => {
  after(stopAll);

  it('starts without warnings, one timestamp layout, no // in paths, passes options after --', async () => {
    const dir = tmpDir();
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const t0 = Date.now();
    // trailing slashes on both directories: none may end up doubled
    const server = new Proc('my-tracks-server', script, [
      '--no-install', '--no-build', '--build-dir', `${buildDir}/`,
      '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--data-dir', `${dir}/`,
      '--', '--server-name', 'map.example.org',
    ], { env: sanitizerEnv(false), logFile: path.join(dir, 'server.out') });
    await waitFor(() => {
      if (!server.running) throw new Error(`exited: ${server.output}`);
      return server.output.includes('mytracks is running');
    }, { timeout: 30000, what: 'the start-up banner' });
    await waitFor(async () => (await getWithHost(httpPort, '/healthz', '127.0.0.1')).status === 200,
      { what: '/healthz 200' });

    // the option after "--" reached the bridge: it now serves that host name
    assert.equal((await getWithHost(httpPort, '/healthz', 'map.example.org')).status, 200);
    assert.equal((await getWithHost(httpPort, '/healthz', 'other.example.org')).status, 421);

    // the generated ACL still lets anonymous phones and the bridge (HTTP
    // mode) publish locations
    const pub = await fetch(`http://127.0.0.1:${httpPort}/pub`, {
      method: 'POST', body: JSON.stringify(location({ tst: 1705700000 })),
      headers: { 'Content-Type': 'application/json', 'X-Limit-U': 'olga', 'X-Limit-D': 'http' },
    });
    assert.equal(pub.status, 200);
    const db = path.join(dir, 'mytracks.db');
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 1,
      { what: 'the HTTP-mode report stored' });
    // ...and lets the bridge ask the plugin for a delete, and hear the answer
    const del = await fetch(`http://127.0.0.1:${httpPort}/api/delete`, {
      method: 'POST', body: JSON.stringify({ device: 'olga/http', all: true }),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.deepEqual([del.status, await del.json()], [200, { deleted: 1 }]);
    assert.equal(sql(db, 'SELECT count(*) AS n FROM locations')[0].n, 0);

    const r = await server.stop();
    assert.equal(r.code, 0, server.output);
    const t1 = Date.now();

    // no doubled slash in what it printed (URLs aside) or wrote
    const printed = server.output.replace(/[a-z]+:\/\//g, '');
    assert.ok(!printed.includes('//'), printed);
    const brokerLog = fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8');
    for (const [name, text] of [['mosquitto.log', brokerLog],
      ['mosquitto.conf', fs.readFileSync(path.join(dir, 'mosquitto.conf'), 'utf8')],
      ['mosquitto.acl', fs.readFileSync(path.join(dir, 'mosquitto.acl'), 'utf8')]]) {
      const bad = text.split('\n').filter((l) => !l.startsWith('#') && l.replace(/[a-z]+:\/\//g, '').includes('//'));
      assert.deepEqual(bad, [], `// in ${name}`);
    }
    assert.match(brokerLog, new RegExp(`Saving in-memory database to ${dir}/mosquitto\\.db\\.`));
    assert.ok(fs.existsSync(path.join(dir, 'mosquitto.db')), 'persistence file in the data directory');

    // no warnings at a normal start (running as root is not normal: the
    // broker rightly says so, and nothing else)
    const warnings = brokerLog.split('\n').filter((l) => /warning/i.test(l))
      .filter((l) => !(process.getuid() === 0 && l.endsWith('Warning: Mosquitto should not be run as root/administrator.')));
    assert.deepEqual(warnings, []);

    // broker, plugin and bridge lines: [YYYY/MM/DD HH:MM:SS...] in local time
    const brokerLines = brokerLog.split('\n').filter(Boolean);
    assert.ok(brokerLines.some((l) => l.includes(': mytracks: storing ')), 'the plugin logged its start');
    const bridgeLines = fs.readFileSync(path.join(dir, 'bridge.log'), 'utf8').split('\n').filter(Boolean);
    assert.ok(bridgeLines.length > 0);
    const stamps = [];
    for (const l of brokerLines) {
      const m = l.match(/^\[(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d)\]: /);
      assert.ok(m, `broker line without the timestamp: ${l}`);
      stamps.push(m[1]);
    }
    for (const l of bridgeLines) {
      const m = l.match(/^\[(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d):\d{4}\] [A-Z]: /);
      assert.ok(m, `bridge line without the timestamp: ${l}`);
      stamps.push(m[1]);
    }
    for (const s of stamps) {
      const ms = localMs(s);
      assert.ok(ms >= t0 - 2000 && ms <= t1 + 2000, `${s} is not the local time of the run`);
    }
    assert.deepEqual(sanitizerFindings(server.output), []);
  });

  it('says when the address is not on this machine, with the bridge\'s own words', async () => {
    const mqttPort = await freePort();
    // 192.0.2.1 (TEST-NET-1) is nobody's address; --insecure-no-auth gets
    // the bridge past its login check to the listen
    const res = runScript(['--http-host', '192.0.2.1', '--insecure-no-auth',
      '--http-port', String(await freePort()), '--mqtt-port', String(mqttPort), '--data-dir', tmpDir()]);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /cannot listen on 192\.0\.2\.1 \(--http-host\): the address is not available on this machine/);
    assert.match(res.stderr, /the last lines of \S+bridge\.log:\n {2}mytracks-bridge: cannot listen on 192\.0\.2\.1 port \d+ .*Cannot assign requested address/);
    assert.doesNotMatch(res.stderr, /already in use/);
    // and the broker it had started is stopped
    assert.equal(await portAccepts(mqttPort), false);

    // without --insecure-no-auth, the bridge's refusal is what is shown
    const noAuth = runScript(['--http-host', '192.0.2.1', '--http-port', String(await freePort()),
      '--mqtt-port', String(await freePort()), '--data-dir', tmpDir()]);
    assert.equal(noAuth.status, 1);
    assert.match(noAuth.stderr, /mytracks-bridge: --http-host 192\.0\.2\.1 is not a loopback address.*--insecure-no-auth/);
    assert.match(noAuth.stderr, /mytracks-bridge did not start \(see \S+bridge\.log\)/);
  });

  it('says which port is in use, and shows a bridge option it refused', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = busy.address().port;
    try {
      const res = runScript(['--http-port', String(await freePort()), '--mqtt-port', String(port),
        '--data-dir', tmpDir()]);
      assert.equal(res.status, 1);
      assert.match(res.stderr, new RegExp(`port ${port} \\(--mqtt-port\\) is already in use`));
      assert.doesNotMatch(res.stderr, /not available on this machine/);
    } finally {
      busy.close();
    }
    // an unknown bridge option: the bridge's message, from its log
    const unknown = runScript(['--http-port', String(await freePort()), '--mqtt-port', String(await freePort()),
      '--data-dir', tmpDir(), '--', '--no-such-option']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /the last lines of \S+bridge\.log:\n.*no-such-option/);
    // the options the script sets itself are refused after "--"
    const own = runScript(['--', '--database', '/tmp/x.db']);
    assert.equal(own.status, 1);
    assert.match(own.stderr, /'--database' after '--': my-tracks-server sets it/);
    const own2 = runScript(['--', '--http-port=80']);
    assert.match(own2.stderr, /'--http-port' after '--': give it to my-tracks-server itself/);
    // and --help documents the pass-through
    const help = spawnSync(script, ['--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /Everything after '--' goes to mytracks-bridge/);
    assert.match(help.stdout, /--insecure-no-auth/);
  });
});

describe('generate_load option errors', () => {
  it('name the option and what it takes', () => {
    const cases = [
      [['-d', '0'], "-d/--devices: expected an integer from 1 to 100000, got '0'"],
      [['--devices=many'], "-d/--devices: expected an integer from 1 to 100000, got 'many'"],
      [['-q', '2'], "-q/--qos: expected an integer from 0 to 1, got '2'"],
      [['-r', 'fast'], "-r/--rate: expected a number from 0 to 10000000 or 'max', got 'fast'"],
      [['--total-rate', '0'], "--total-rate: expected a number from 0.001 to 100000000, got '0'"],
      [['--lat', '91'], "--lat: expected a number from -85 to 85, got '91'"],
    ];
    for (const [args, msg] of cases) {
      const r = spawnSync(generateLoad, args, { encoding: 'utf8', env: sanitizerEnv(false) });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `generate_load: ${msg} (see --help)\n`, args.join(' '));
    }
  });
});

describe('mytracks-backup', () => {
  after(stopAll);
  const backupTool = path.join(buildDir, 'tools', 'mytracks-backup');
  const count = (db) => sql(db, 'SELECT count(*) AS n FROM locations')[0].n;

  it('copies the live database while the plugin writes: intact, with every row committed before it', async () => {
    const broker = await startBroker();
    // a publisher that keeps the plugin committing (every 20 ms) throughout
    const load = new Proc('generate_load', generateLoad, ['-p', String(broker.port), '-d', '4', '-r', '100',
      '-t', '60', '--quiet', '-u', 'bk'], { env: sanitizerEnv(false) });
    await waitFor(() => count(broker.db) > 200, { timeout: 20000, what: 'rows being stored' });
    const dir = tmpDir();
    const copy = path.join(dir, 'backup.db');
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const before = count(broker.db);
      const r = spawnSync(backupTool, [broker.db, copy], { encoding: 'utf8', env: sanitizerEnv(false) });
      const after = count(broker.db);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(load.running, `the publisher stopped: ${load.output}`);
      assert.deepEqual(sql(copy, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
      const n = count(copy);
      assert.ok(n >= before && n <= after, `copy has ${n} rows, the live database ${before}..${after}`);
      assert.match(r.stdout, new RegExp(`integrity ok, ${n} locations`));
      // a snapshot: ids without gaps, as the plugin hands them out
      assert.deepEqual(sql(copy, 'SELECT count(*) = max(id) - min(id) + 1 AS dense FROM locations'), [{ dense: 1 }]);
      assert.ok(n > last, 'each backup is newer than the one it replaced');
      last = n;
      // one self-contained file, readable by its owner only, nothing left beside it
      assert.deepEqual(fs.readdirSync(dir), ['backup.db']);
      assert.equal(fs.statSync(copy).mode & 0o777, 0o600);
      await waitFor(() => count(broker.db) > after + 50, { what: 'more rows' });
    }
    await load.stop({ signal: 'SIGINT' });
    await broker.stop();
    // the live database holds everything, the copy a prefix of it
    assert.ok(count(broker.db) > last);
    // it refuses to overwrite the database itself
    const self = spawnSync(backupTool, [broker.db, broker.db], { encoding: 'utf8' });
    assert.equal(self.status, 2);
    assert.match(self.stderr, /is the database itself/);
  });
});
