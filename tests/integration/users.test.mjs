// The users command (tools/mytracks-users): add, passwd, del, share,
// unshare and list on a real file; the real bridge accepts what it wrote;
// concurrent edits lose nothing; the file keeps its mode, comments and lines
// it does not understand; a password never shows in the output.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  buildDir, tmpDir, startBroker, stopAll, sanitizerEnv, sanitizerFindings,
} from '../lib/harness.mjs';
import { startBridge } from '../lib/bridge.mjs';

const tool = path.join(buildDir, 'tools', 'mytracks-users');
const outputs = [];

/** Run the command with `input` on stdin (not a terminal): { status, out }. */
function users(file, args, input = '') {
  const r = spawnSync(tool, ['--file', file, ...args], {
    input, encoding: 'utf8', env: sanitizerEnv(false),
  });
  const out = r.stdout + r.stderr;
  outputs.push(out);
  return { status: r.status, out };
}

function usersAsync(file, args, input) {
  return new Promise((resolve) => {
    const c = spawn(tool, ['--file', file, ...args], { env: sanitizerEnv(false) });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { out += d; });
    c.on('close', (status) => { outputs.push(out); resolve({ status, out }); });
    c.stdin.on('error', () => {}); // it may exit before reading its stdin
    c.stdin.end(input);
  });
}

async function login(bridge, user, password) {
  const r = await fetch(`${bridge.url}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  await r.arrayBuffer();
  return r.status;
}

const PW = {
  alice: 'alice: correct horse', alice2: 'alice-the-second-pw', bob: 'bob s3cret pw', carol: 'c4r0l-pass',
  tty: 'typed-on-a-terminal', tty2: 'typed-differently',
};

/** Run the command on a terminal (script(1) gives it a pty), typing each
 * answer once its prompt appeared: { status, out } (all the pty showed). */
function usersOnTty(file, args, answers) {
  return new Promise((resolve) => {
    const cmd = [tool, '--file', file, ...args].map((a) => `'${a}'`).join(' ');
    const c = spawn('script', ['-qec', cmd, '/dev/null'], { env: sanitizerEnv(false) });
    let out = ''; let answered = 0;
    const onData = (d) => {
      out += d;
      const asked = (out.match(/New password for [^:]*: |Retype it: /g) || []).length;
      while (answered < Math.min(asked, answers.length)) c.stdin.write(`${answers[answered++]}\n`);
    };
    c.stdout.on('data', onData);
    c.stderr.on('data', onData);
    // never hang the suite on a prompt that did not come
    const timer = setTimeout(() => c.kill('SIGKILL'), 20000);
    c.on('close', (status) => { clearTimeout(timer); outputs.push(out); resolve({ status, out }); });
  });
}

describe('mytracks-users', () => {
  let dir; let file;

  before(() => {
    dir = tmpDir('mytracks-users-');
    file = path.join(dir, 'users');
  });
  after(async () => {
    await stopAll();
    // whatever happened, no password was ever printed
    const all = outputs.join('\n');
    for (const pw of Object.values(PW)) assert.ok(!all.includes(pw), 'a password appeared in the output');
    const found = sanitizerFindings(all);
    assert.deepEqual(found, []);
  });

  it('add, share, list, unshare, del on a new file', () => {
    let r = users(file, ['add', 'alice', '--admin'], `${PW.alice}\n`);
    assert.equal(r.status, 0, r.out);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640, 'a new file is 0640');
    // comments and lines the command does not understand stay as they are
    fs.appendFileSync(file, '# a comment, kept\n\nsome line the parser refuses\n');
    for (const u of ['bob', 'carol']) {
      r = users(file, ['add', u], `${PW[u]}\n`);
      assert.equal(r.status, 0, r.out);
    }
    assert.notEqual(users(file, ['add', 'bob'], 'x\n').status, 0, 'adding twice is refused');
    assert.notEqual(users(file, ['add', 'dave'], '').status, 0, 'no password on stdin is refused');
    assert.notEqual(users(file, ['add', 'a/b'], 'x\n').status, 0, 'a bad name is refused');
    assert.notEqual(users(file, ['share', 'bob', 'nobody'], '').status, 0, 'sharing with an unknown user is refused');
    r = users(file, ['share', 'bob', 'carol,alice']);
    assert.equal(r.status, 0, r.out);
    r = users(file, ['list']);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(r.out.split('\n').filter((l) => /^\w+( |$)/.test(l)),
      ['alice admin', 'bob share=carol,alice', 'carol']);
    let text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^alice:\$y\$[^:]+:admin$/m, 'yescrypt hashes');
    assert.match(text, /^# a comment, kept$/m);
    assert.match(text, /^some line the parser refuses$/m);
    assert.equal(users(file, ['unshare', 'bob', 'alice']).status, 0);
    assert.match(fs.readFileSync(file, 'utf8'), /^bob:\$y\$[^:]+:share=carol$/m);
    // del removes the user and every share with them (the bridge would
    // refuse a file that shares with an unknown user)
    assert.equal(users(file, ['del', 'carol']).status, 0);
    text = fs.readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /carol/);
    assert.match(text, /^bob:\$y\$[^:]+$/m);
    assert.notEqual(users(file, ['del', 'carol']).status, 0, 'deleting an unknown user fails');
    // no temporary file left behind
    assert.deepEqual(fs.readdirSync(dir).sort(), ['users', 'users.lock']);
  });

  it('the bridge logs in with the passwords the command set', async () => {
    // drop the line the bridge would refuse, keep the comment
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('some line the parser refuses\n', ''));
    fs.chmodSync(file, 0o600);
    const r = users(file, ['passwd', 'alice'], `${PW.alice2}\n`);
    assert.equal(r.status, 0, r.out);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the mode is kept');
    assert.match(fs.readFileSync(file, 'utf8'), /^# a comment, kept$/m);
    assert.notEqual(users(file, ['passwd', 'nobody'], 'x\n').status, 0);

    const broker = await startBroker();
    const bridge = await startBridge(broker, { args: ['--users', file] });
    assert.equal(await login(bridge, 'alice', PW.alice2), 200);
    assert.equal(await login(bridge, 'alice', PW.alice), 401, 'the old password no longer works');
    assert.equal(await login(bridge, 'bob', PW.bob), 200);
    assert.equal(await login(bridge, 'bob', PW.alice2), 401);
    await bridge.stop();
    await broker.stop();
  });

  it('on a terminal the password is asked twice and not echoed', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) {
      t.skip('script(1) is missing (Debian package bsdutils)');
      return;
    }
    const f = path.join(dir, 'tty');
    let r = await usersOnTty(f, ['add', 'tina'], [PW.tty, PW.tty]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /New password for tina: /);
    assert.match(r.out, /Retype it: /);
    assert.ok(!r.out.includes(PW.tty), `the password was echoed: ${JSON.stringify(r.out)}`);
    r = await usersOnTty(f, ['passwd', 'tina'], [PW.tty2, PW.tty]);
    assert.notEqual(r.status, 0, 'two different passwords are refused');
    assert.match(r.out, /differ/);
    const broker = await startBroker();
    const bridge = await startBridge(broker, { args: ['--users', f] });
    assert.equal(await login(bridge, 'tina', PW.tty), 200);
    await bridge.stop();
    await broker.stop();
  });

  it('8 concurrent adds all end up in the file', async () => {
    const f = path.join(dir, 'concurrent');
    fs.writeFileSync(f, '# concurrent\n', { mode: 0o600 });
    fs.chmodSync(f, 0o600);
    const names = Array.from({ length: 8 }, (_, i) => `user${i}`);
    const results = await Promise.all(names.map((n) => usersAsync(f, ['add', n], `pw-of-${n}\n`)));
    for (const r of results) assert.equal(r.status, 0, r.out);
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    assert.equal(lines[0], '# concurrent');
    assert.deepEqual(lines.filter((l) => l.startsWith('user')).map((l) => l.split(':')[0]).sort(), names);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    for (const r of results) assert.ok(!/pw-of-/.test(r.out), r.out);
  });
});
