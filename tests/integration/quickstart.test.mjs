// The README's quick start on a fresh checkout: ./my-tracks-server before
// ./run-tests, on a machine without the test-only packages, with a build
// directory left behind by a configure step that failed; then run-tests'
// configure in the same build directory.
//
// The checkout is a copy of the working tree's tracked files (what a clone
// holds, with uncommitted edits) in a temporary directory. CUnit is hidden
// from CMake with PKG_CONFIG_LIBDIR: a directory holding every .pc file of
// the system but cunit.pc. Only the targets my-tracks-server needs are
// built, with two jobs.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  Proc, sourceDir, sanitize, freePort, tmpDir, waitFor, sanitizerEnv, sanitizerFindings, stopAll,
} from '../lib/harness.mjs';

/** Copy the tracked files of the working tree to `dest` (modes kept). */
function checkout(dest) {
  const files = execFileSync('git', ['-C', sourceDir, 'ls-files', '-z']).toString().split('\0').filter(Boolean);
  for (const f of files) {
    const from = path.join(sourceDir, f);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, f));
    fs.chmodSync(path.join(dest, f), fs.statSync(from).mode & 0o777);
  }
}

/** A PKG_CONFIG_LIBDIR with every package of the system but `hidden`. */
function pkgConfigWithout(dir, hidden) {
  fs.mkdirSync(dir);
  const dirs = execFileSync('pkg-config', ['--variable', 'pc_path', 'pkg-config']).toString().trim().split(':');
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) {
      if (!f.endsWith('.pc') || hidden.includes(f) || fs.existsSync(path.join(dir, f))) continue;
      fs.symlinkSync(path.join(d, f), path.join(dir, f));
    }
  }
  return dir;
}

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('quick start on a fresh checkout', () => {
  after(stopAll);
  const top = tmpDir('mytracks-quickstart-');
  const src = path.join(top, 'mytracks');
  const build = path.join(src, 'build');
  let noCunit;

  it('configures without CUnit, and refuses to when run-tests requires it', () => {
    checkout(src);
    noCunit = { ...process.env, PKG_CONFIG_LIBDIR: pkgConfigWithout(path.join(top, 'pc'), ['cunit.pc']) };
    assert.equal(run('pkg-config', ['--exists', 'cunit'], noCunit).status, 1, 'cunit.pc is hidden');
    const plain = path.join(top, 'configure-only');
    let r = run('cmake', ['-S', src, '-B', plain], noCunit);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /CUnit.*not found.*install-deps --test/s);
    r = run('cmake', ['-S', src, '-B', path.join(top, 'configure-required'), '-DMYTRACKS_REQUIRE_UNIT_TESTS=ON'], noCunit);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /CUnit.*install-deps --test/s);
  });

  it('./my-tracks-server builds and starts from a build dir a failed configure left', async () => {
    // a configure step that failed (here: no packages at all) leaves a
    // CMakeCache.txt and no Makefile
    const empty = path.join(top, 'pc-empty');
    fs.mkdirSync(empty);
    const cacheArgs = sanitize ? ['-DMYTRACKS_SANITIZE=ON', '-DCMAKE_BUILD_TYPE=Debug'] : [];
    const r = run('cmake', ['-S', src, '-B', build, ...cacheArgs], { ...process.env, PKG_CONFIG_LIBDIR: empty });
    assert.notEqual(r.status, 0, r.out);
    assert.ok(fs.existsSync(path.join(build, 'CMakeCache.txt')));
    assert.ok(!fs.existsSync(path.join(build, 'Makefile')));

    const data = path.join(top, 'data');
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const server = new Proc('my-tracks-server', path.join(src, 'my-tracks-server'), [
      '--no-install', '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--data-dir', data,
    ], { env: { ...sanitizerEnv(false), ...noCunit, MYTRACKS_BUILD_JOBS: '2' }, cwd: src });
    // (a build can take minutes on a busy machine: no time is asserted)
    await waitFor(() => !server.running || server.output.includes('mytracks is running'),
      { timeout: 540000, interval: 200, what: 'my-tracks-server to build and start' });
    const log = path.join(data, 'build.log');
    assert.ok(server.running, `exited: ${server.output}\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-3000) : ''}`);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200,
      { what: '/healthz 200' });
    assert.ok(fs.existsSync(path.join(build, 'plugin', 'mytracks_plugin.so')));
    assert.ok(fs.existsSync(path.join(build, 'bridge', 'mytracks-bridge')));
    // only what the server needs was built
    assert.ok(!fs.existsSync(path.join(build, 'tools', 'http_bench')));
    const s = await server.stop();
    assert.equal(s.code, 0, server.output);
    assert.deepEqual(sanitizerFindings(server.output), []);
    for (const f of ['bridge.log', 'mosquitto.log']) {
      assert.deepEqual(sanitizerFindings(fs.readFileSync(path.join(data, f), 'utf8')), [], f);
    }
  });

  it('run-tests\' configure then works in the same build dir, with CUnit', () => {
    // what ./run-tests does after tools/install-deps --test installed CUnit
    let r = run('cmake', ['-S', src, '-B', build, '-DMYTRACKS_WERROR=ON', '-DMYTRACKS_REQUIRE_UNIT_TESTS=ON'], process.env);
    assert.equal(r.status, 0, r.out);
    r = run('cmake', ['--build', build, '-j2', '--target', 'test_core'], process.env);
    assert.equal(r.status, 0, r.out);
    r = run(path.join(build, 'tests', 'test_core'), [], sanitizerEnv(false));
    assert.equal(r.status, 0, r.out);
  });
});
