// Install and package tests: `cmake --install` into a temporary root (prefix
// and DESTDIR), the installed broker config, plugin and bridge running
// together, the systemd units checked by systemd-analyze, and the CPack
// .deb (file list, Depends, conffiles, unpacked by dpkg into a temp root).
//
// A separate build directory configured with the Debian prefix /usr (the
// paths compiled into the bridge and written into the units come from the
// configure step), building only the installed targets. Runs in the plain
// build only: installing a sanitizer build is not what anybody ships.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  sourceDir, sanitize, tmpDir, freePort, Proc, waitFor, stopAll, mqttConnect, location, collector,
  untilSentinel, sql,
} from '../lib/harness.mjs';

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['cmake', 'cpack', 'dpkg-deb', 'dpkg', 'mosquitto', 'mosquitto_passwd', 'sqlite3'].filter((c) => !have(c));
const skip = sanitize ? 'install and package are tested in the plain build only'
  : missing.length ? `missing tools: ${missing.join(' ')} (tools/install-deps --test installs them)`
    : false;
const version = /project\(mytracks VERSION ([0-9.]+)/.exec(
  fs.readFileSync(path.join(sourceDir, 'CMakeLists.txt'), 'utf8'))[1];
const arch = have('dpkg') ? execFileSync('dpkg', ['--print-architecture']).toString().trim() : '';
const multiarch = have('dpkg-architecture')
  ? execFileSync('dpkg-architecture', ['-qDEB_HOST_MULTIARCH']).toString().trim() : 'x86_64-linux-gnu';
const targets = ['mytracks_plugin', 'mytracks-bridge-installed', 'mytracks-users', 'mytracks-otcrypto',
  'mytracks-backup', 'mytracks-import', 'mytracks-migrate', 'generate_load'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

function configure(build, prefix) {
  run('cmake', ['-S', sourceDir, '-B', build, '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
    `-DCMAKE_INSTALL_PREFIX=${prefix}`, '-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON']);
  run('cmake', ['--build', build, '-j2', '--target', ...targets]);
}

/** Every file and symlink under `root`, as absolute paths inside it. */
function listTree(root) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else out.push('/' + path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

// What an installation with prefix /usr must hold (at least).
const expected = [
  '/usr/bin/mytracks-bridge', '/usr/bin/mytracks-users', '/usr/bin/mytracks-otcrypto',
  '/usr/bin/mytracks-backup', '/usr/bin/mytracks-import', '/usr/bin/mytracks-migrate',
  '/usr/bin/mytracks-generate-load',
  `/usr/lib/${multiarch}/mytracks/mytracks_plugin.so`,
  '/usr/share/mytracks/web/index.html', '/usr/share/mytracks/web/login.html',
  '/usr/share/mytracks/web/js/main.js', '/usr/share/mytracks/web/css/app.css',
  '/usr/share/mytracks/web/node_modules/leaflet/dist/leaflet.js',
  '/usr/share/mytracks/web/node_modules/leaflet/dist/leaflet.css',
  '/usr/share/mytracks/web/node_modules/leaflet/LICENSE',
  '/usr/share/mytracks/schema.sql',
  '/usr/share/doc/mytracks/README.md',
  '/usr/share/doc/mytracks/examples/mosquitto-production.conf.example',
  '/usr/share/doc/mytracks/examples/users.example',
  '/etc/mytracks/mosquitto.conf', '/etc/mytracks/mosquitto.acl', '/etc/mytracks/users',
  '/etc/default/mytracks-bridge', '/usr/lib/mytracks/mytracks-broker-setup',
  '/usr/lib/systemd/system/mytracks-bridge.service',
  '/usr/lib/systemd/system/mytracks-mosquitto.service',
  '/usr/lib/sysusers.d/mytracks.conf',
];

describe('install and package', { skip }, () => {
  let dir; let build; let root;

  before(() => {
    dir = tmpDir('mytracks-install-');
    build = path.join(dir, 'build');
    root = path.join(dir, 'root');
  });
  after(stopAll);

  it('installed at its own prefix, the bridge finds its web files by default', async () => {
    const prefix = path.join(dir, 'prefix');
    configure(build, prefix);
    run('cmake', ['--install', build]);
    const bridge = path.join(prefix, 'bin', 'mytracks-bridge');
    const h = run(bridge, ['--help']);
    assert.match(h.stdout + h.stderr, new RegExp(`default ${prefix}/share/mytracks/web\\)`));
    // no --web-root: the compiled-in default must be the installed page
    // (marked, so that the checkout's web/ would not pass for it)
    const index = path.join(prefix, 'share/mytracks/web/index.html');
    fs.appendFileSync(index, '<!-- installed copy -->\n');
    const port = await freePort();
    const p = new Proc('bridge-prefix', bridge, ['--http-port', String(port), '--mqtt-port', '1',
      '--database', path.join(dir, 'none.db'), '--console'], { logFile: path.join(dir, 'bridge-prefix.log') });
    const page = await waitFor(async () => {
      if (!p.running) throw new Error(`bridge exited: ${p.output}`);
      const r = await fetch(`http://127.0.0.1:${port}/`);
      return r.status === 200 && r.text();
    }, { what: 'the installed page' });
    assert.match(page, /<!-- installed copy -->/);
    const leaflet = await fetch(`http://127.0.0.1:${port}/node_modules/leaflet/dist/leaflet.js`);
    assert.equal(leaflet.status, 200);
    await leaflet.arrayBuffer();
    assert.equal((await p.stop()).code, 0, p.output);
  });

  it('cmake --install with DESTDIR puts every file in its FHS place', () => {
    configure(build, '/usr');
    run('cmake', ['--install', build], { env: { ...process.env, DESTDIR: root } });
    const files = listTree(root);
    for (const f of expected) assert.ok(files.includes(f), `${f} not installed; have:\n${files.join('\n')}`);
    // nothing outside /usr and /etc, no npm tree beyond Leaflet's dist, no build files
    const stray = files.filter((f) => !/^\/(usr|etc)\//.test(f)
      || (f.includes('/node_modules/') && !/\/node_modules\/leaflet\/(dist\/|LICENSE$)/.test(f))
      || /package(-lock)?\.json$|CMake|\.in$/.test(f));
    assert.deepEqual(stray, []);
    assert.equal(fs.statSync(path.join(root, 'etc/mytracks/users')).mode & 0o777, 0o640);
    assert.equal(fs.statSync(path.join(root, 'usr/bin/mytracks-users')).mode & 0o111, 0o111);
    assert.equal(fs.statSync(path.join(root, 'etc/mytracks/mosquitto.acl')).mode & 0o777, 0o640);
    assert.equal(fs.statSync(path.join(root, 'usr/lib/mytracks/mytracks-broker-setup')).mode & 0o777, 0o755);
    // one ACL text for both setups: my-tracks-server copies the same file
    assert.equal(fs.readFileSync(path.join(root, 'etc/mytracks/mosquitto.acl'), 'utf8'),
      fs.readFileSync(path.join(sourceDir, 'conf/systemd/mosquitto.acl'), 'utf8'));
    assert.match(fs.readFileSync(path.join(sourceDir, 'my-tracks-server'), 'utf8'),
      /acl_src=\$top\/conf\/systemd\/mosquitto\.acl/);
    // the units and configs name the installed paths, not the build tree
    const conf = fs.readFileSync(path.join(root, 'etc/mytracks/mosquitto.conf'), 'utf8');
    assert.match(conf, /^password_file \/var\/lib\/mytracks\/mosquitto\.passwd$/m);
    assert.match(conf, /^acl_file \/etc\/mytracks\/mosquitto\.acl$/m);
    assert.match(fs.readFileSync(path.join(root, 'usr/lib/systemd/system/mytracks-mosquitto.service'), 'utf8'),
      /^ExecStartPre=\/usr\/lib\/mytracks\/mytracks-broker-setup$/m);
    assert.match(fs.readFileSync(path.join(root, 'usr/lib/systemd/system/mytracks-bridge.service'), 'utf8'),
      /^ExecStart=.* --mqtt-username mytracks-bridge --mqtt-password-file \/var\/lib\/mytracks\/bridge\.secret /m);
    for (const f of ['etc/mytracks/mosquitto.conf', 'usr/lib/systemd/system/mytracks-bridge.service',
      'usr/lib/systemd/system/mytracks-mosquitto.service']) {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      assert.ok(!text.includes(sourceDir) && !text.includes(build) && !/@[A-Z_]+@/.test(text), `${f}:\n${text}`);
    }
  });

  it('the installed broker config, plugin and bridge work together', async () => {
    const bridge = path.join(root, 'usr/bin/mytracks-bridge');
    const help = run(bridge, ['--help']);
    assert.match(help.stdout + help.stderr, /default \/usr\/share\/mytracks\/web\)/);
    const users = run(path.join(root, 'usr/bin/mytracks-users'), ['--help']).stdout;
    assert.match(users, /default \/etc\/mytracks\/users\)/);

    // the unit's ExecStartPre, pointed at a temp state directory: by its
    // argument, and as systemd runs it (STATE_DIRECTORY)
    const state = path.join(dir, 'state');
    fs.mkdirSync(state, { mode: 0o750 });
    const setup = path.join(root, 'usr/lib/mytracks/mytracks-broker-setup');
    const unset = { ...process.env };
    delete unset.STATE_DIRECTORY;
    const none = spawnSync(setup, [], { encoding: 'utf8', env: unset });
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /no state directory/);
    run(setup, [state], { env: unset });
    const secretFile = path.join(state, 'bridge.secret');
    const passwdFile = path.join(state, 'mosquitto.passwd');
    const secret = fs.readFileSync(secretFile, 'utf8');
    assert.match(secret, /^[0-9a-f]{64}\n$/);
    const hash1 = fs.readFileSync(passwdFile, 'utf8');
    assert.match(hash1, /^mytracks-bridge:\$7\$[^\n]+\n$/);
    assert.ok(!hash1.includes(secret.trim()), 'the password file holds the password itself');
    for (const f of [secretFile, passwdFile]) assert.equal(fs.statSync(f).mode & 0o777, 0o600, f);
    // a restart keeps the secret and rebuilds the password file
    fs.writeFileSync(passwdFile, 'stale\n');
    run(setup, [], { env: { ...unset, STATE_DIRECTORY: state } });
    assert.equal(fs.readFileSync(secretFile, 'utf8'), secret);
    assert.match(fs.readFileSync(passwdFile, 'utf8'), /^mytracks-bridge:\$7\$[^\n]+\n$/);
    assert.deepEqual(fs.readdirSync(state).sort(), ['bridge.secret', 'mosquitto.passwd']);

    // the bridge without its secret (started before the broker ever ran)
    // stops at once and names the file
    const early = spawnSync(bridge, ['--mqtt-password-file', path.join(dir, 'nosuch', 'bridge.secret'),
      '--database', path.join(dir, 'none.db'), '--http-port', '1'], { encoding: 'utf8', timeout: 10000 });
    assert.ok(early.status > 0, `status ${early.status}`);
    assert.match(early.stderr, /--mqtt-password-file: cannot read '[^']*\/nosuch\/bridge\.secret': No such file.*start the broker first/);

    // the shipped mosquitto.conf, with its paths moved into the temp root
    const mport = await freePort();
    let conf = fs.readFileSync(path.join(root, 'etc/mytracks/mosquitto.conf'), 'utf8')
      .replaceAll('/var/lib/mytracks', state)
      .replaceAll('/etc/mytracks/', `${root}/etc/mytracks/`)
      .replace(/^plugin \//m, `plugin ${root}/`)
      .replace(/^listener 1883 /m, `listener ${mport} `);
    assert.match(conf, new RegExp(`^acl_file ${root}/etc/mytracks/mosquitto\\.acl$`, 'm'));
    if (process.getuid() === 0) conf += 'user root\n';
    const confFile = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(confFile, conf);
    const broker = new Proc('mosquitto-installed', 'mosquitto', ['-c', confFile],
      { logFile: path.join(dir, 'mosquitto.log') });
    const hport = await freePort();
    const b = new Proc('bridge-installed', bridge, ['--http-port', String(hport), '--mqtt-port', String(mport),
      '--database', path.join(state, 'mytracks.db'), '--console',
      '--mqtt-username', 'mytracks-bridge', '--mqtt-password-file', secretFile,
      '--web-root', path.join(root, 'usr/share/mytracks/web')], { logFile: path.join(dir, 'bridge.log') });
    const url = `http://127.0.0.1:${hport}`;
    await waitFor(async () => {
      if (!broker.running) throw new Error(`mosquitto exited: ${broker.output}`);
      if (!b.running) throw new Error(`bridge exited: ${b.output}`);
      return (await fetch(`${url}/healthz`)).status === 200;
    }, { timeout: 15000, what: 'installed broker and bridge' });
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /leaflet\.js/);

    // the bridge's name without its password is refused (v3.1.1: "not
    // authorized", v5: "bad user name or password"), and so is a wrong one
    for (const opts of [{ username: 'mytracks-bridge' }, { username: 'mytracks-bridge', password: 'guess' },
      { username: 'mytracks-bridge', protocolVersion: 5 }, { username: 'someone', password: 'x' }]) {
      await assert.rejects(mqttConnect(mport, opts), (e) => {
        assert.ok([5, 4, 0x86, 0x87].includes(e.code), `${JSON.stringify(opts)}: ${e.message} (${e.code})`);
        return true;
      }, JSON.stringify(opts));
    }
    // with it, it may use the control topics (the bridge's own connection
    // is checked by /api/delete below)
    const spy = await collector(mport, ['owntracks/#', 'mytracks/#', 'mytracks-control/#'],
      { username: 'mytracks-bridge', password: secret.trim() });

    // anonymous clients (phones on this machine) publish OwnTracks topics,
    // but not the plugin's output nor control requests: refused (v5: in
    // the PUBACK), nothing reaches a subscriber. mosquitto 2.0.11 closes
    // the connection after a refused publish: one client per attempt.
    const phone = await mqttConnect(mport);
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location()), { qos: 1 });
    const fakes = [['mytracks/locations/alice/phone', JSON.stringify({ fake: 1 })],
      ['mytracks-control/req/fake', JSON.stringify({ op: 'delete', user: 'alice', device: 'phone', all: true })]];
    for (const [topic, payload] of fakes) {
      const v5 = await mqttConnect(mport, { protocolVersion: 5 });
      await assert.rejects(v5.publishAsync(topic, payload, { qos: 1 }), (e) => {
        assert.equal(e.code, 0x87, `${topic}: ${e.message}`);
        return true;
      }, topic);
      v5.end(true);
      const v3 = await mqttConnect(mport);
      await v3.publishAsync(topic, payload, { qos: 1 }).catch(() => {}); // PUBACK, then closed
      v3.end(true);
    }
    const before = await untilSentinel(phone, spy);
    const leaked = before.filter((m) => m.payload.includes('"fake"') || m.topic.startsWith('mytracks-control/'));
    assert.deepEqual(leaked, [], 'an anonymous publish on mytracks/ or mytracks-control/ got through');
    await phone.endAsync();
    await spy.close();

    const devices = await waitFor(async () => {
      const j = await (await fetch(`${url}/api/devices/`)).json();
      return j.results.some((d) => d.device_name === 'alice/phone' && d.last_location) && j.results;
    }, { what: 'the location through the installed plugin' });
    assert.ok(devices.some((d) => d.device_name === 'alice/phone'));

    // the bridge, as mytracks-bridge: an HTTP-mode report is stored, and a
    // delete (a control request) is answered
    const db = path.join(state, 'mytracks.db');
    const count = (dev) => sql(db, `SELECT count(*) AS n FROM locations l JOIN devices d ON d.id = l.device_id
      WHERE d.user || '/' || d.device = '${dev}'`)[0].n;
    const pub = await fetch(`${url}/pub`, {
      method: 'POST', body: JSON.stringify(location({ tst: 1705700000 })),
      headers: { 'Content-Type': 'application/json', 'X-Limit-U': 'olga', 'X-Limit-D': 'http' },
    });
    assert.equal(pub.status, 200);
    await waitFor(() => count('olga/http') === 1, { what: 'the HTTP-mode report stored' });
    const del = await fetch(`${url}/api/delete`, {
      method: 'POST', body: JSON.stringify({ device: 'olga/http', all: true }),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.deepEqual([del.status, await del.json()], [200, { deleted: 1 }]);
    assert.equal(count('olga/http'), 0);
    assert.equal(count('alice/phone'), 1);

    assert.equal((await b.stop()).code, 0, b.output);
    assert.equal((await broker.stop()).code, 0, broker.output);
    assert.ok(fs.existsSync(db));
  });

  it('systemd-analyze verify accepts the units, and they are hardened', (t) => {
    if (!have('systemd-analyze')) {
      t.skip('systemd-analyze is missing (Debian package systemd)');
      return;
    }
    // verify needs ExecStart's programs to exist: point the bridge at the
    // DESTDIR tree (mosquitto and /bin/kill are the system's)
    const units = path.join(dir, 'units');
    fs.mkdirSync(units);
    const names = ['mytracks-mosquitto.service', 'mytracks-bridge.service'];
    for (const n of names) {
      const text = fs.readFileSync(path.join(root, 'usr/lib/systemd/system', n), 'utf8');
      fs.writeFileSync(path.join(units, n), text.replace(/^ExecStart=\/usr\/bin\//m, `ExecStart=${root}/usr/bin/`)
        .replace(/^ExecStartPre=\/usr\/lib\/mytracks\//m, `ExecStartPre=${root}/usr/lib/mytracks/`));
    }
    const r = spawnSync('systemd-analyze', ['verify', ...names.map((n) => path.join(units, n))],
      { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'systemd-analyze verify complained');
    for (const n of names) {
      const text = fs.readFileSync(path.join(units, n), 'utf8');
      for (const k of ['User=mytracks', 'StateDirectory=mytracks', 'ProtectSystem=strict', 'NoNewPrivileges=yes',
        'PrivateTmp=yes', 'ProtectHome=yes', 'CapabilityBoundingSet=\n', 'SystemCallFilter=@system-service',
        'ExecReload=/bin/kill -HUP $MAINPID']) {
        assert.ok(text.includes(k), `${n} lacks ${k}`);
      }
      // the bridge reloads its users on SIGHUP: a reload must not restart it
      // (that would drop every session and WebSocket)
      if (n === 'mytracks-bridge.service') assert.doesNotMatch(text, /^RestartForceExitStatus=/m);
      const s = spawnSync('systemd-analyze', ['security', '--offline=yes', path.join(units, n)], { encoding: 'utf8' });
      const m = /Overall exposure level for \S+: ([0-9.]+)/.exec(s.stdout);
      assert.ok(m, s.stdout + s.stderr);
      assert.ok(Number(m[1]) <= 2.0, `${n} exposure ${m[1]}:\n${s.stdout}`);
    }
  });

  it('cpack builds a .deb with Debian dependencies that dpkg unpacks', () => {
    run('cpack', ['-G', 'DEB'], { cwd: build });
    const deb = path.join(build, `mytracks_${version}_${arch}.deb`);
    assert.ok(fs.existsSync(deb), `${deb}: ${fs.readdirSync(build).join(' ')}`);
    const info = run('dpkg-deb', ['-I', deb]).stdout;
    const depends = /^ Depends: (.*)$/m.exec(info)[1].split(', ').map((d) => d.split(' ')[0]);
    for (const p of ['mosquitto', 'libc6', 'libwebsockets17', 'libmosquitto1', 'libsqlite3-0', 'libcjson1', 'libcrypt1', 'libsodium23']) {
      assert.ok(depends.includes(p), `Depends lacks ${p}: ${depends}`);
    }
    const control = path.join(dir, 'control');
    run('dpkg-deb', ['-e', deb, control]);
    assert.deepEqual(fs.readFileSync(path.join(control, 'conffiles'), 'utf8').trim().split('\n').sort(),
      ['/etc/default/mytracks-bridge', '/etc/mytracks/mosquitto.acl', '/etc/mytracks/mosquitto.conf',
        '/etc/mytracks/users']);
    for (const s of ['postinst', 'postrm']) run('sh', ['-n', path.join(control, s)]);
    // the maintainer scripts against stubs that log their calls (the real
    // ones would change this machine): the files the services read get
    // root:mytracks 0640 by dpkg-statoverride, unless an override exists
    const stubs = path.join(dir, 'stubs');
    const calls = path.join(dir, 'calls');
    fs.mkdirSync(stubs);
    for (const [name, body] of [['systemd-sysusers', ''],
      ['dpkg-statoverride', '[ "$1" = --list ] && [ "$2" = "$HAS_OVERRIDE" ] && exit 0; [ "$1" != --list ] || exit 1'],
      ['systemctl', '']]) {
      fs.writeFileSync(path.join(stubs, name), `#!/bin/sh\necho "${name} $*" >>"${calls}"\n${body}\n`, { mode: 0o755 });
    }
    const stubEnv = { ...process.env, PATH: `${stubs}:/usr/bin:/bin`, HAS_OVERRIDE: '/etc/mytracks/users' };
    run('sh', [path.join(control, 'postinst'), 'configure', ''], { env: stubEnv });
    run('sh', [path.join(control, 'postrm'), 'purge'], { env: stubEnv });
    assert.deepEqual(fs.readFileSync(calls, 'utf8').split('\n').filter((l) => !l.startsWith('systemctl ')), [
      'systemd-sysusers /usr/lib/sysusers.d/mytracks.conf',
      'dpkg-statoverride --list /etc/mytracks/users',
      'dpkg-statoverride --list /etc/mytracks/mosquitto.acl',
      'dpkg-statoverride --update --add root mytracks 0640 /etc/mytracks/mosquitto.acl',
      'dpkg-statoverride --list /etc/mytracks/users',
      'dpkg-statoverride --remove /etc/mytracks/users',
      'dpkg-statoverride --list /etc/mytracks/mosquitto.acl', '']);
    // the package holds exactly what cmake --install installs
    const listed = run('dpkg-deb', ['-c', deb]).stdout.split('\n').filter((l) => l && !l.startsWith('d'))
      .map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, '')).sort();
    assert.deepEqual(listed, listTree(root));
    // dpkg -x, and dpkg's own unpack into an empty root (no maintainer
    // scripts run: they would act on this machine's users and systemd)
    const x = path.join(dir, 'x');
    run('dpkg', ['-x', deb, x]);
    assert.deepEqual(listTree(x), listTree(root));
    const dr = path.join(dir, 'dpkgroot');
    for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates']) fs.mkdirSync(path.join(dr, d), { recursive: true });
    fs.writeFileSync(path.join(dr, 'var/lib/dpkg/status'), '');
    run('dpkg', [`--root=${dr}`, '--force-depends', '--force-not-root', '--unpack', deb]);
    const status = run('dpkg', [`--root=${dr}`, '-s', 'mytracks']).stdout;
    assert.match(status, /^Status: install ok unpacked$/m);
    assert.ok(fs.existsSync(path.join(dr, 'usr/bin/mytracks-bridge')));
    for (const f of ['users', 'mosquitto.acl']) {
      assert.ok(fs.existsSync(path.join(dr, `etc/mytracks/${f}.dpkg-new`)), `${f}: conffile not handled as one`);
    }
    run(path.join(x, 'usr/bin/mytracks-bridge'), ['--help']);
  });
});
