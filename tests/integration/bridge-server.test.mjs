// ./my-tracks-server: the one-command start, tried as a user would (with
// free ports, a temporary data directory and the build under test).
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  Proc, buildDir, sourceDir, freePort, tmpDir, waitFor, sanitizerEnv, sanitizerFindings,
  mqttConnect, location, sql, stopAll,
} from '../lib/harness.mjs';
import { getJson, wsConnect } from '../lib/bridge.mjs';

const script = path.join(sourceDir, 'my-tracks-server');

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('my-tracks-server', () => {
  after(stopAll);

  it('starts broker and bridge, relays and stores a location, stops both on SIGTERM', async () => {
    const dir = tmpDir();
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const server = new Proc('my-tracks-server', script, [
      '--no-install', '--no-build', '--build-dir', buildDir,
      '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--data-dir', dir,
    ], { env: sanitizerEnv(false), logFile: path.join(dir, 'server.out') });
    await waitFor(() => {
      if (!server.running) throw new Error(`exited: ${server.output}`);
      return server.output.includes('mytracks is running');
    }, { timeout: 30000, what: 'the start-up banner' });
    assert.match(server.output, new RegExp(`http://127\\.0\\.0\\.1:${httpPort}/`));
    const [, brokerPid, bridgePid] = server.output.match(/mosquitto pid (\d+), mytracks-bridge pid (\d+)/).map(Number);
    assert.ok(alive(brokerPid) && alive(bridgePid));

    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200,
      { what: '/healthz 200' });
    const ws = await wsConnect(`ws://127.0.0.1:${httpPort}/ws/locations/`);
    await ws.waitFrames(1);
    const phone = await mqttConnect(mqttPort, { clientId: 'server-test-phone' });
    await phone.publishAsync('owntracks/dora/phone', JSON.stringify(location({ tst: 1705600000 })), { qos: 1 });
    await phone.endAsync();
    const frame = JSON.parse(await ws.waitFor((f) => f.includes('"device_name":"dora/phone"')));
    assert.equal(frame.type, 'location');
    // only the plugin may publish on mytracks/: a forged frame never reaches the page
    // (mosquitto 2.0.11 acknowledges a denied publish, then drops the client)
    const forger = await mqttConnect(mqttPort, { clientId: 'server-test-forger' });
    forger.on('error', () => {});
    await forger.publishAsync('mytracks/locations/eve/fake', '{"id":999999,"device_name":"eve/fake"}', { qos: 1 });
    forger.end(true);
    const phone2 = await mqttConnect(mqttPort, { clientId: 'server-test-phone2' });
    await phone2.publishAsync('owntracks/dora/phone', JSON.stringify(location({ tst: 1705600001 })), { qos: 1 });
    await phone2.endAsync();
    await ws.waitFor((f) => f.includes('"timestamp_unix":1705600001'));
    assert.ok(!ws.frames.some((f) => f.includes('eve/fake')), 'the forged frame was relayed');
    const hist = await waitFor(async () => {
      const r = await getJson(`http://127.0.0.1:${httpPort}/api/locations/`);
      return r.body.count ? r : null;
    }, { what: 'the location in /api/locations/' });
    assert.equal(hist.body.results[0].device_name, 'dora/phone');
    await ws.close();

    // only the bridge knows its broker password (mode 0600 in the data dir)
    const secret = path.join(dir, 'bridge.secret');
    assert.equal(fs.statSync(secret).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(secret, 'utf8'), /^[0-9a-f]{64}\n$/);
    for (const password of [undefined, 'guess']) {
      await assert.rejects(mqttConnect(mqttPort, { username: 'mytracks-bridge', password, clientId: 'server-test-poser' }),
        /Not authorized|not authorized/i, `posing as the bridge with password ${password}`);
    }
    // the real bridge is connected with it: HTTP mode reports are stored
    // with the HTTP client's address, which only the bridge may vouch for
    const pub = await fetch(`http://127.0.0.1:${httpPort}/pub`, {
      method: 'POST', body: JSON.stringify(location({ tst: 1705600002 })),
      headers: { 'Content-Type': 'application/json', 'X-Limit-U': 'dora', 'X-Limit-D': 'http' },
    });
    assert.equal(pub.status, 200);
    await waitFor(() => sql(path.join(dir, 'mytracks.db'),
      "SELECT ip_address FROM locations WHERE tst = 1705600002")[0]?.ip_address === '127.0.0.1',
    { what: 'the HTTP-mode report with its address' });

    const r = await server.stop();
    assert.equal(r.code, 0, server.output);
    assert.match(server.output, /stopped/);
    assert.equal(alive(brokerPid), false, 'mosquitto is gone');
    assert.equal(alive(bridgePid), false, 'the bridge is gone');
    // the plugin's final commit happened
    assert.equal(sql(path.join(dir, 'mytracks.db'), 'SELECT COUNT(*) AS n FROM locations')[0].n, 3);
    assert.deepEqual(sanitizerFindings(server.output), []);
    assert.deepEqual(sanitizerFindings(fs.readFileSync(path.join(dir, 'bridge.log'), 'utf8')), []);
  });

  it('passes --users and --http-host to the bridge: the API needs a login', async () => {
    const dir = tmpDir();
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const hash = spawnSync('openssl', ['passwd', '-6', '-stdin'], { input: 'alice-secret\n', encoding: 'utf8' }).stdout.trim();
    const usersFile = path.join(dir, 'users');
    fs.writeFileSync(usersFile, `alice:${hash}\n`);
    // 127.0.0.2 is loopback too, but not where the bridge listens by default
    const server = new Proc('my-tracks-server', script, [
      '--no-install', '--no-build', '--build-dir', buildDir,
      '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--data-dir', dir,
      '--users', usersFile, '--http-host', '127.0.0.2',
    ], { env: sanitizerEnv(false), logFile: path.join(dir, 'server.out') });
    await waitFor(() => {
      if (!server.running) throw new Error(`exited: ${server.output}`);
      return server.output.includes('mytracks is running');
    }, { timeout: 30000, what: 'the start-up banner' });
    const base = `http://127.0.0.2:${httpPort}`;
    assert.match(server.output, new RegExp(`open ${base.replace(/\./g, '\\.')}/`));
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, { what: '/healthz 200' });
    const r = await getJson(`${base}/api/devices/`);
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { error: 'login required' });
    // the users file is the one given: alice's login opens the API
    const li = await fetch(`${base}/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'alice-secret' }),
    });
    assert.equal(li.status, 200);
    const cookie = li.headers.get('set-cookie').split(';')[0];
    assert.equal((await fetch(`${base}/api/devices/`, { headers: { cookie } })).status, 200);
    // and nothing listens on the default address
    await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/healthz`));
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, server.output);
    assert.deepEqual(sanitizerFindings(fs.readFileSync(path.join(dir, 'bridge.log'), 'utf8')), []);
  });

  it('passes --http-online-window to the plugin, and stores Last Wills (plugin_opt_wills with its ACL)', async () => {
    const dir = tmpDir();
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const server = new Proc('my-tracks-server', script, [
      '--no-install', '--no-build', '--build-dir', buildDir, '--http-online-window', '1',
      '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--data-dir', dir,
    ], { env: sanitizerEnv(false), logFile: path.join(dir, 'server.out') });
    await waitFor(() => {
      if (!server.running) throw new Error(`exited: ${server.output}`);
      return server.output.includes('mytracks is running');
    }, { timeout: 30000, what: 'the start-up banner' });
    const conf = fs.readFileSync(path.join(dir, 'mosquitto.conf'), 'utf8');
    assert.match(conf, /^plugin_opt_http_online_window 1$/m);
    assert.match(conf, /^plugin_opt_wills true$/m);
    assert.match(conf, /^acl_file /m);
    const db = path.join(dir, 'mytracks.db');
    const online = (device) => sql(db, `SELECT online FROM devices WHERE user = 'dora' AND device = '${device}'`)[0]?.online;
    // an HTTP-mode phone: online at its report, offline a window later
    const pub = await fetch(`http://127.0.0.1:${httpPort}/pub?u=dora&d=http`, {
      method: 'POST', body: JSON.stringify(location({ tst: 1705600100 })), headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(pub.status, 200);
    await waitFor(() => online('http') === 1, { what: 'the HTTP phone online' });
    await waitFor(() => online('http') === 0, { what: 'the HTTP phone offline after 1 s', timeout: 5000 });
    // an MQTT phone whose connection drops: its will is an lwt event
    const phone = await mqttConnect(mqttPort, {
      clientId: 'server-test-will', clean: false,
      will: { topic: 'owntracks/dora/phone', payload: Buffer.from('{"_type":"lwt","tst":1705600200}'), qos: 1 },
    });
    await phone.publishAsync('owntracks/dora/phone', JSON.stringify(location({ tst: 1705600201 })), { qos: 1 });
    await waitFor(() => online('phone') === 1, { what: 'the MQTT phone online' });
    phone.stream.destroy();
    await waitFor(() => sql(db, "SELECT e.raw FROM events e JOIN devices d ON d.id = e.device_id WHERE d.user = 'dora' AND e.type = 'lwt'")[0]?.raw === '{"_type":"lwt","tst":1705600200}',
      { what: 'the will stored as an lwt event' });
    assert.equal(online('phone'), 0);
    const r = await server.stop();
    assert.equal(r.code, 0, server.output);
    const bad = spawnSync(script, ['--http-online-window', '0'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--http-online-window: expected seconds from 1 to 604800, got '0'/);
  });

  it('says clearly when a port is in use, and names bad options', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = busy.address().port;
    try {
      const res = spawnSync(script, ['--no-install', '--no-build', '--build-dir', buildDir,
        '--http-port', String(port), '--mqtt-port', String(await freePort()), '--data-dir', tmpDir()],
      { encoding: 'utf8', env: sanitizerEnv(false) });
      assert.equal(res.status, 1);
      assert.match(res.stderr, new RegExp(`port ${port} \\(--http-port\\) is already in use`));
    } finally {
      busy.close();
    }
    const bad = spawnSync(script, ['--http-port', 'eighty'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--http-port: expected a port number/);
    const unknown = spawnSync(script, ['--frobnicate'], { encoding: 'utf8' });
    assert.match(unknown.stderr, /unknown option '--frobnicate'/);
  });
});
