// MQTT access control with the production broker config from conf/: a
// password file, a TLS listener and an ACL, written by tools/mytracks-acl
// from a users file, binding each user to owntracks/<their user>/# and
// letting them read only what the web would show them. The config under
// test is conf/mosquitto-production.conf.example with its paths pointed at
// temporary files, so the example cannot rot; conf/mytracks.acl.example
// must be the tool's output for conf/users.example.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  sourceDir, buildDir, pluginPath, tmpDir, freePort, Proc, sanitizerEnv, waitFor, stopAll,
  mqttConnect, collector, untilSentinel, sql, location, assertNoSanitizerFindings,
} from '../lib/harness.mjs';
import net from 'node:net';

const aclTool = path.join(buildDir, 'tools', 'mytracks-acl');
// parse_users_line only checks the shape of a hash: mytracks-acl never reads it
const HASH = '$6$testsalt$0123456789abcdefghij';

/** Run mytracks-acl; returns { status, stdout, stderr } and never throws. */
function acl(args) {
  try {
    const stdout = execFileSync(aclTool, args, { stdio: 'pipe' }).toString();
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
  }
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('MQTT access control (conf/mosquitto-production.conf.example)', () => {
  let broker; let dir; let db; let plainPort; let tlsPort; let ca; let usersFile; let aclFile;

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
    execFileSync('mosquitto_passwd', ['-b', passwd, 'carol', 'carol-secret']);
    execFileSync('mosquitto_passwd', ['-b', passwd, 'mytracks-bridge', 'bridge-secret']);
    // the ACL, as the example's comment gives it: mytracks-acl from the
    // bridge's users file (bob shares with alice)
    const example = fs.readFileSync(path.join(sourceDir, 'conf', 'mosquitto-production.conf.example'), 'utf8');
    assert.match(example, /^#\s+mytracks-acl \S+ \/etc\/mosquitto\/mytracks.acl$/m);
    usersFile = path.join(dir, 'users');
    aclFile = path.join(dir, 'mytracks.acl');
    fs.writeFileSync(usersFile, `alice:${HASH}\nbob:${HASH}:share=alice\ncarol:${HASH}\n`);
    const r = acl([usersFile, aclFile]);
    assert.equal(r.status, 0, r.stderr);
    const conf = example
      .replace(/^password_file .*/m, `password_file ${passwd}`)
      .replace(/^acl_file .*/m, `acl_file ${aclFile}`)
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
    // mallory's publish was handled before its PUBACK, so before alice's
    // sentinel (an older fix of alice/phone), sent after it
    const locs = (await untilSentinel(alice, out, 'owntracks/alice/phone'))
      .filter((x) => x.topic.startsWith('mytracks/locations/'));
    assert.equal(locs.length, 1, 'the ACL keeps alice from writing as bob');
    assert.equal(JSON.parse(locs[0].payload).device_name, 'alice/phone');
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 2, { what: 'the report and the sentinel' });
    assert.deepEqual(sql(db, 'SELECT user, device FROM devices'), [{ user: 'alice', device: 'phone' }]);
    // phones may not read the plugin's output. bob's sentinel: his own
    // report comes back to him, after anything queued for him before it
    const bob = await collector(plainPort, ['mytracks/#', 'owntracks/bob/sentinel0'], { username: 'bob', password: 'bob-secret' });
    await alice.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: 1705329002 })), { qos: 1 });
    await waitFor(() => out.messages.filter((x) => x.topic.startsWith('mytracks/locations/')).length === 3);
    await bob.client.publishAsync('owntracks/bob/sentinel0', JSON.stringify(location({ tst: 1705329003 })), { qos: 1 });
    await waitFor(() => bob.messages.some((x) => x.topic === 'owntracks/bob/sentinel0'), { what: 'bob\'s sentinel' });
    assert.deepEqual(bob.messages.map((x) => x.topic), ['owntracks/bob/sentinel0']);
    await alice.endAsync();
    await bob.close();
    await out.close();
  });

  // A phone as the OwnTracks app runs it: subscribed to its friends'
  // locations, events and cards. Records the topics it receives.
  async function phone(user, filters = ['owntracks/+/+', 'owntracks/+/+/event', 'owntracks/+/+/info']) {
    const c = await mqttConnect(tlsPort, {
      protocol: 'mqtts', ca, username: user, password: `${user}-secret`, clientId: `${user}-${Math.random()}`,
    });
    const p = { user, c, got: [] };
    c.on('message', (topic, payload, packet) => p.got.push({ topic, retain: packet.retain }));
    await c.subscribeAsync(filters, { qos: 1 });
    return p;
  }

  // Proves a phone has received everything it ever will of what was
  // published so far: it publishes on its own topic and waits for that
  // message to come back. The broker routes each acknowledged publish to
  // every subscriber before it reads the next packet, and delivers to one
  // subscriber in order, so anything it would have sent comes first.
  let sentinels = 0;
  async function settle(phones) {
    const n = ++sentinels;
    for (const p of phones) {
      const topic = `owntracks/${p.user}/sentinel${n}`;
      await p.c.publishAsync(topic, JSON.stringify(location({ tst: 1705400000 + n })), { qos: 1 });
    }
    await waitFor(() => phones.every((p) => p.got.some((m) => m.topic === `owntracks/${p.user}/sentinel${n}`)),
      { what: 'every phone\'s own sentinel' });
  }

  /** The topics a phone received, without sentinels, sorted; then forgets them. */
  function take(p) {
    const t = [...new Set(p.got.map((m) => m.topic).filter((x) => !/\/sentinel\d+$/.test(x)))].sort();
    p.got.length = 0;
    return t;
  }

  let tst = 1705330000;
  /** Every phone reports a location and a card. */
  async function report(phones) {
    for (const p of phones) {
      await p.c.publishAsync(`owntracks/${p.user}/phone`, JSON.stringify(location({ tst: tst++ })), { qos: 1 });
      await p.c.publishAsync(`owntracks/${p.user}/phone/info`, JSON.stringify({ _type: 'card', name: p.user }), { qos: 1 });
    }
  }
  const own = (u) => [`owntracks/${u}/phone`, `owntracks/${u}/phone/info`];

  it('lets a phone read only what its owners share, and applies a new users file on SIGHUP', async () => {
    const alice = await phone('alice');
    const bob = await phone('bob');
    // carol tries harder: everything under owntracks/
    const carol = await phone('carol', ['owntracks/#']);
    const all = [alice, bob, carol];
    await report(all);
    await settle(all);
    assert.deepEqual(take(alice), [...own('alice'), ...own('bob')].sort(), 'bob shares with alice');
    assert.deepEqual(take(bob), own('bob'), 'alice does not share with bob');
    assert.deepEqual(take(carol), own('carol'), 'nobody shares with carol');

    // bob now shares with carol instead, alice with bob: regenerate, SIGHUP
    fs.writeFileSync(usersFile, `alice:${HASH}:share=bob\nbob:${HASH}:share=carol\ncarol:${HASH}\n`);
    const r = acl([usersFile, aclFile]);
    assert.equal(r.status, 0, r.stderr);
    const reloads = () => broker.output.split('Reloading config.').length - 1;
    const before = reloads();
    process.kill(broker.pid, 'SIGHUP');
    // the broker logs this, then reloads before it reads another packet
    await waitFor(() => reloads() > before, { what: 'the broker reloading its config' });
    await report(all);
    await settle(all);
    assert.deepEqual(take(alice), own('alice'), 'bob no longer shares with alice');
    assert.deepEqual(take(bob), [...own('alice'), ...own('bob')].sort(), 'alice shares with bob');
    assert.deepEqual(take(carol), [...own('bob'), ...own('carol')].sort(), 'bob shares with carol');
    assert.ok(alice.c.connected && bob.c.connected && carol.c.connected, 'the reload kept the phones connected');

    // retained reports (the apps publish them) follow the same rules
    await bob.c.publishAsync('owntracks/bob/phone', JSON.stringify(location({ tst: tst++ })), { qos: 1, retain: true });
    const alice2 = await phone('alice');
    const carol2 = await phone('carol');
    await settle([alice2, carol2]);
    assert.deepEqual(alice2.got.filter((m) => m.topic === 'owntracks/bob/phone'), []);
    assert.deepEqual(carol2.got.filter((m) => m.topic === 'owntracks/bob/phone'),
      [{ topic: 'owntracks/bob/phone', retain: true }]);
    await bob.c.publishAsync('owntracks/bob/phone', '', { qos: 1, retain: true });
    for (const p of [...all, alice2, carol2]) await p.c.endAsync();
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

describe('tools/mytracks-acl', () => {
  let dir;
  before(() => { dir = tmpDir(); });

  it('wrote conf/mytracks.acl.example from conf/users.example', () => {
    const r = acl([path.join(sourceDir, 'conf', 'users.example'), '-']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, fs.readFileSync(path.join(sourceDir, 'conf', 'mytracks.acl.example'), 'utf8'),
      'regenerate the example: build/tools/mytracks-acl conf/users.example conf/mytracks.acl.example');
  });

  it('gives admins every user and leaves users without friends to the patterns', () => {
    const users = path.join(dir, 'u-admin');
    fs.writeFileSync(users, `# comment\n\nroot:${HASH}:admin\nann:${HASH}\nal ice:${HASH}:share=ann,,al ice,ann\n`);
    const r = acl(['--bridge-user', 'web', '--input-prefix', 'ot/x', '--output-prefix', 'mt', users, '-']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(lines, [
      'pattern write ot/x/%u/#', 'pattern read ot/x/%u/#',
      'user root', 'topic read ot/x/+/+', 'topic read ot/x/+/+/event', 'topic read ot/x/+/+/info',
      'user ann', 'topic read ot/x/al ice/+', 'topic read ot/x/al ice/+/event', 'topic read ot/x/al ice/+/info',
      'user web', 'topic write ot/x/#', 'topic read mt/#', 'topic readwrite mytracks-control/#',
    ]);
  });

  it('refuses names that could change another user\'s rules, and unknown friends', () => {
    const cases = [
      [` alice:${HASH}\n`, /line 1: user name starts or ends with a space/],
      [`alice :${HASH}\n`, /line 1: user name starts or ends with a space/],
      [`bob:${HASH}\nali\tce:${HASH}\n`, /line 2: invalid user name/],
      [`al#ice:${HASH}\n`, /line 1: invalid user name/],
      [`a+b:${HASH}\n`, /line 1: invalid user name/],
      [`a\u0000b:${HASH}\n`, /line 1: NUL byte/],
      [`mytracks-bridge:${HASH}\n`, /line 1: user has the bridge's MQTT name/],
      [`alice:${HASH}\nalice:${HASH}\n`, /line 2: user listed twice/],
      [`alice:${HASH}:share=bob\n`, /user 'alice' shares with an unknown user/],
      [`alice:${HASH}:share=bob\nbob\r\n:${HASH}\n`, /line 2: expected name:hash/],
      [`alice:${HASH}:share=x\ntopic read #:${HASH}\n`, /line 2: invalid user name/],
      [`alice:nohash\n`, /line 1: the password hash must be/],
      [`${'a'.repeat(5000)}:${HASH}\n`, /line 1: line too long/],
      ['# nobody\n', /no users/],
    ];
    for (const [text, err] of cases) {
      const users = path.join(dir, 'u-bad');
      fs.writeFileSync(users, text);
      const r = acl([users, '-']);
      assert.equal(r.status, 1, JSON.stringify(text));
      assert.match(r.stderr, err, JSON.stringify(text));
      assert.equal(r.stdout, '');
    }
    assert.equal(acl(['--bridge-user', ' x', path.join(dir, 'u-bad'), '-']).status, 2);
    assert.equal(acl(['--input-prefix', 'a/+', path.join(dir, 'u-bad'), '-']).status, 2);
    assert.equal(acl(['only-one-argument']).status, 2);
    assert.match(acl(['--help']).stdout, /Usage: mytracks-acl/);
  });

  it('replaces the ACL atomically and leaves it alone on error', () => {
    const users = path.join(dir, 'u-ok');
    const out = path.join(dir, 'acl-dir', 'mytracks.acl');
    fs.mkdirSync(path.dirname(out));
    fs.writeFileSync(out, 'old\n');
    fs.writeFileSync(users, `alice:${HASH}:share=nobody\n`);
    assert.equal(acl([users, out]).status, 1);
    assert.equal(fs.readFileSync(out, 'utf8'), 'old\n');
    fs.writeFileSync(users, `alice:${HASH}\n`);
    const ino = fs.statSync(out).ino;
    assert.equal(acl([users, out]).status, 0);
    assert.match(fs.readFileSync(out, 'utf8'), /^pattern write owntracks\/%u\/#$/m);
    assert.notEqual(fs.statSync(out).ino, ino, 'a new file renamed over the old one');
    assert.equal(fs.statSync(out).mode & 0o777, 0o644);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['mytracks.acl'], 'no temporary file left');
    assert.equal(acl([users, path.join(dir, 'missing-dir', 'x.acl')]).status, 1);
  });
});
