// The database's file system full: the broker keeps routing and
// republishing, the failures are logged and counted, storage resumes when
// space returns, and nothing stored is damaged. (A read-only remount is
// refused while the database is open for writing, so "read-only" is the
// start-up check in plugin.test.mjs; a locked database is tested there too.)
//
// Needs root to mount a small tmpfs (CI and the dev machines run as root);
// elsewhere the test is skipped and says why.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, sleep, stopAll, tmpDir,
  assertNoSanitizerFindings,
} from '../lib/harness.mjs';

function tryMount(dir, sizeKb) {
  if (process.getuid() !== 0) return 'not root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `cannot mount a tmpfs: ${e.stderr}`;
  }
}

async function stats(port) {
  const c = await collector(port, 'mytracks/stats');
  const m = await waitFor(() => c.messages.at(-1));
  await c.close();
  return JSON.parse(m.payload);
}

describe('plugin: a full or read-only disk', () => {
  const mnt = tmpDir('mytracks-tmpfs-');
  let mounted = false;
  after(async () => {
    await stopAll();
    if (mounted) execFileSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  it('keeps routing, counts the failures and resumes when space returns', async (t) => {
    const why = tryMount(mnt, 2048);
    if (why) { t.skip(why); return; }
    mounted = true;
    const db = path.join(mnt, 'mytracks.db');
    const broker = await startBroker({ options: { database: db, commit_window: '20' } });
    const sub = await collector(broker.port, 'mytracks/locations/#');
    const pub = await mqttConnect(broker.port);
    let tst = 1705329000;
    const send = async (n) => {
      for (let i = 0; i < n; i++) {
        await pub.publishAsync('owntracks/disk/d', JSON.stringify(location({ tst: tst++ })), { qos: 1 });
      }
    };
    await send(10);
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 10);
    const before = sql(db, 'SELECT id, raw FROM locations ORDER BY id');

    // fill the file system
    const filler = path.join(mnt, 'filler');
    try { execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'pipe' }); } catch { /* full */ }
    await send(300); // more than fits in what is left
    await waitFor(() => sub.messages.length === 310, { what: 'all republished while full' });
    await waitFor(() => /database write failed/.test(broker.proc.output), { timeout: 15000, what: 'write failure logged' });
    await waitFor(async () => (await stats(broker.port)).write_errors >= 1, { what: 'write failure counted' });
    assert.equal(broker.proc.running, true);

    fs.rmSync(filler);
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 310,
      { timeout: 20000, what: 'everything stored after space returned' });
    assert.deepEqual(sql(db, 'SELECT id, raw FROM locations WHERE id <= 10 ORDER BY id'), before);
    assert.equal(sql(db, 'PRAGMA integrity_check')[0].integrity_check, 'ok');

    const ids = sql(db, 'SELECT id FROM locations ORDER BY id').map((r) => r.id);
    assert.deepEqual(ids, Array.from({ length: 310 }, (_, i) => i + 1));

    await pub.endAsync();
    await sub.close();
    await broker.stop();
    assertNoSanitizerFindings(assert, broker.proc);
  });
});
