// otcrypto against an independent implementation: payloads sealed by
// libsodium-wrappers (libsodium compiled to JavaScript, npm) with known keys
// are opened by tools/mytracks-otcrypto (core/otcrypto.c, Debian's
// libsodium), and the other way round.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildDir, tmpDir } from '../lib/harness.mjs';
import { sodiumReady, seal, open } from '../lib/otcrypto.mjs';

const tool = path.join(buildDir, 'tools', 'mytracks-otcrypto');

function run(args, input) {
  const r = spawnSync(tool, args, { input, encoding: 'utf8', timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const location = JSON.stringify({
  _type: 'location', lat: 48.8584, lon: 2.2945, tst: 1700000000, acc: 12, batt: 77,
  tid: 'ph', conn: 'w', ssid: 'Caf\u00e9 \u2615',
});

describe('otcrypto against libsodium-wrappers', () => {
  let dir, keys;

  before(async () => {
    await sodiumReady;
    dir = tmpDir('mytracks-otcrypto-');
    keys = path.join(dir, 'keys');
    fs.writeFileSync(keys, [
      '# test keys',
      'alice:abcde', // 5 bytes: padded with 27 NULs
      'alice/tablet:the tablet has its own key',
      'bob:0123456789abcdef0123456789abcdef-beyond-32', // cut to 32 bytes
      '',
    ].join('\n'), { mode: 0o600 });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens what libsodium-wrappers sealed with a padded 5-byte secret', () => {
    const r = run(['decrypt', '--keys', keys, 'alice', 'phone'], seal('abcde', location));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, location);
  });

  it('opens a fixed nonce and key (known answer)', () => {
    // the same bytes every run: a regression here means the format changed
    const nonce = new Uint8Array(24).map((_, i) => i);
    const msg = seal('abcde', '{"_type":"location","lat":1,"lon":2,"tst":3}', nonce);
    assert.equal(JSON.parse(msg).data.slice(0, 32), 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYX');
    const r = run(['decrypt', '--keys', keys, 'alice', 'phone'], msg);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '{"_type":"location","lat":1,"lon":2,"tst":3}');
  });

  it('uses the device key over the user key', () => {
    let r = run(['decrypt', '--keys', keys, 'alice', 'tablet'],
      seal('the tablet has its own key', location));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, location);
    r = run(['decrypt', '--keys', keys, 'alice', 'tablet'], seal('abcde', location));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /auth_failed/);
  });

  it('cuts a secret over 32 bytes to 32, as the apps do', () => {
    const r = run(['decrypt', '--keys', keys, 'bob', 'phone'],
      seal('0123456789abcdef0123456789abcdef', location));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, location);
  });

  it('refuses a wrong key, truncated and corrupt ciphertext, bad base64, no key', () => {
    const good = seal('abcde', location);
    const data = JSON.parse(good).data;
    const cases = [
      ['wrong key', seal('abcdf', location), 'auth_failed'],
      ['truncated', JSON.stringify({ _type: 'encrypted', data: data.slice(0, 80) }), 'auth_failed'],
      ['short', JSON.stringify({ _type: 'encrypted', data: data.slice(0, 52) }), 'too_short'],
      ['corrupt', JSON.stringify({
        _type: 'encrypted',
        data: data.slice(0, 70) + (data[70] === 'A' ? 'B' : 'A') + data.slice(71),
      }), 'auth_failed'],
      ['url-safe base64', JSON.stringify({ _type: 'encrypted', data: data.replace(/\+/g, '-').replace(/\//g, '_') + '-_' }), 'bad_base64'],
      ['no data', '{"_type":"encrypted"}', 'malformed'],
    ];
    for (const [what, msg, reason] of cases) {
      const r = run(['decrypt', '--keys', keys, 'alice', 'phone'], msg);
      assert.equal(r.status, 1, what);
      assert.match(r.stderr, new RegExp(reason), what);
      assert.equal(r.stdout, msg, `${what}: written unchanged`);
    }
    const r = run(['decrypt', '--keys', keys, 'carol', 'phone'], good);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no_key/);
  });

  it('passes a plain message through', () => {
    const r = run(['decrypt', '--keys', keys, 'alice', 'phone'], location);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, location);
  });

  it('encrypts what libsodium-wrappers opens', () => {
    const reply = JSON.stringify([{ _type: 'cmd', action: 'reportLocation' }]);
    let r = run(['encrypt', '--keys', keys, 'alice', 'phone'], reply);
    assert.equal(r.status, 0, r.stderr);
    const msg = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(msg), ['_type', 'data']);
    assert.equal(msg._type, 'encrypted');
    assert.match(msg.data, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(open('abcde', r.stdout), reply);
    assert.equal(open('abcdf', r.stdout), null);
    r = run(['encrypt', '--keys', keys, 'alice', 'tablet'], '[]');
    assert.equal(open('the tablet has its own key', r.stdout), '[]');
    r = run(['encrypt', '--keys', keys, 'carol', 'phone'], '[]');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
  });

  it('recovers a column of stored messages line by line', () => {
    const lines = [seal('abcde', location), location, seal('wrong', location)];
    const r = run(['decrypt', '--lines', '--keys', keys, 'alice', 'phone'], lines.join('\n') + '\n');
    assert.equal(r.status, 1); // one line did not open
    assert.deepEqual(r.stdout.split('\n'), [location, location, lines[2], '']);
  });

  it('refuses a keys file others can read, and names a bad line', () => {
    const open644 = path.join(dir, 'keys644');
    fs.writeFileSync(open644, 'alice:abcde\n', { mode: 0o644 });
    fs.chmodSync(open644, 0o644);
    let r = run(['check', '--keys', open644]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /mode 0644.*chmod 600/);
    const bad = path.join(dir, 'keysbad');
    fs.writeFileSync(bad, 'alice:TOPSECRET\nnot a key line\n', { mode: 0o600 });
    r = run(['check', '--keys', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /line 2/);
    assert.doesNotMatch(r.stderr, /TOPSECRET/);
    r = run(['check', '--keys', keys]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '3 keys\n');
  });
});
