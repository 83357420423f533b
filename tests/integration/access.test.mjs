// MQTT access control with the production broker config from conf/: a
// password file, a TLS listener and an ACL binding each user to
// owntracks/<their user>/#. The config under test is
// conf/mosquitto-production.conf.example and conf/mytracks.acl.example, with its paths pointed at
// temporary files, so the example cannot rot.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  sourceDir, pluginPath, tmpDir, freePort, Proc, sanitizerEnv, waitFor, sleep, stopAll,
  mqttConnect, collector, sql, location, assertNoSanitizerFindings,
} from '../lib/harness.mjs';
import net from 'node:net';

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('MQTT access control (conf/mosquitto-production.conf.example)', () => {
  let broker; let dir; let db; let plainPort; let tlsPort; let ca;

  before(async () => {
    dir = tmpDir();
    db = path.join(dir, 'mytracks.db');
    plainPort = await freePort();
    tlsPort = await freePort();
    // a CA and a server certificate for 127.0.0.1
    const o = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=mytracks test CA',
      '-keyout', 'ca.key', '-out', 'ca.crt']);
    o(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
    fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.crt']);
    ca = fs.readFileSync(path.join(dir, 'ca.crt'));
    // passwords
    const passwd = path.join(dir, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'alice-secret']);
    execFileSync('mosquitto_passwd', ['-b', passwd, 'bob', 'bob-secret']);
    execFileSync('mosquitto_passwd', ['-b', passwd, 'mytracks-bridge', 'bridge-secret']);
    // the ACL, as the example's comment gives it
    const example = fs.readFileSync(path.join(sourceDir, 'conf', 'mosquitto-production.conf.example'), 'utf8');
    const acl = fs.readFileSync(path.join(sourceDir, 'conf', 'mytracks.acl.example'), 'utf8');
    assert.match(acl, /pattern write owntracks\/%u\/#/);
    fs.writeFileSync(path.join(dir, 'mytracks.acl'), acl + '\n');
    const conf = example
      .replace(/^password_file .*/m, `password_file ${passwd}`)
      .replace(/^acl_file .*/m, `acl_file ${path.join(dir, 'mytracks.acl')}`)
      .replace(/^persistence_location .*/m, `persistence_location ${dir}/`)
      .replace(/^listener 1883 127.0.0.1$/m, `listener ${plainPort} 127.0.0.1`)
      .replace(/^listener 8883$/m, `listener ${tlsPort} 127.0.0.1`)
      .replace(/^certfile .*/m, `certfile ${path.join(dir, 'server.crt')}`)
      .replace(/^keyfile .*/m, `keyfile ${path.join(dir, 'server.key')}`)
      .replace(/^plugin .*/m, `plugin ${pluginPath}`)
      .replace(/^plugin_opt_database .*/m, `plugin_opt_database ${db}`)
      + (process.getuid() === 0 ? 'user root\nplugin_opt_stats_interval 1\n' : 'plugin_opt_stats_interval 1\n');
    fs.writeFileSync(path.join(dir, 'mosquitto.conf'), conf);
    broker = new Proc('mosquitto', 'mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { env: sanitizerEnv(true) });
    await waitFor(async () => {
      if (!broker.running) throw new Error(broker.output);
      return (await portOpen(plainPort)) && portOpen(tlsPort);
    }, { timeout: 15000, what: 'broker listeners' });
  });
  after(stopAll);

  it('refuses wrong or missing passwords', async () => {
    await assert.rejects(mqttConnect(plainPort, { username: 'alice', password: 'wrong' }));
    await assert.rejects(mqttConnect(plainPort, {}));
  });

  it('lets a phone write only its own user over TLS; the bridge reads the output', async () => {
    const out = await collector(plainPort, 'mytracks/#', { username: 'mytracks-bridge', password: 'bridge-secret' });
    const alice = await mqttConnect(tlsPort, {
      protocol: 'mqtts', ca, username: 'alice', password: 'alice-secret',
    });
    await alice.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
    // The denial is checked over plain TCP: a denied publish over TLS made
    // mosquitto 2.0.11 drop the connection here ("Bad socket read/write").
    const mallory = await mqttConnect(plainPort, { username: 'alice', password: 'alice-secret' });
    await mallory.publishAsync('owntracks/bob/phone', JSON.stringify(location({ tst: 1705329001 })), { qos: 1 });
    await mallory.endAsync();
    const m = await waitFor(() => out.messages.find((x) => x.topic.startsWith('mytracks/locations/')));
    await sleep(300);
    const locs = out.messages.filter((x) => x.topic.startsWith('mytracks/locations/'));
    assert.equal(locs.length, 1, 'the ACL keeps alice from writing as bob');
    assert.equal(JSON.parse(m.payload).device_name, 'alice/phone');
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    assert.deepEqual(sql(db, 'SELECT user, device FROM devices'), [{ user: 'alice', device: 'phone' }]);
    // phones may not read the plugin's output
    const bob = await collector(plainPort, 'mytracks/#', { username: 'bob', password: 'bob-secret' });
    await alice.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705329002 })), { qos: 1 });
    await waitFor(() => out.messages.filter((x) => x.topic.startsWith('mytracks/locations/')).length === 2);
    await sleep(200);
    assert.equal(bob.messages.filter((x) => x.topic.startsWith('mytracks/locations/')).length, 0);
    await alice.endAsync();
    await bob.close();
    await out.close();
  });

  it('refuses a TLS client that does not trust the server', async () => {
    await assert.rejects(mqttConnect(tlsPort, {
      protocol: 'mqtts', username: 'alice', password: 'alice-secret',
    }));
  });

  it('stops cleanly', async () => {
    await broker.stop();
    assert.equal(broker.exitCode, 0, broker.output.slice(-2000));
    assertNoSanitizerFindings(assert, broker);
  });
});
