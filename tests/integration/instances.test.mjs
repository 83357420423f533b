// One instance per database and per data directory: a second broker with
// the plugin on the same database, and a second ./my-tracks-server on the
// same data directory, refuse to start and leave the first one alone.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  Proc, buildDir, sourceDir, startBroker, freePort, tmpDir, waitFor, sleep, sanitizerEnv,
  mqttConnect, location, sql, stopAll, assertNoSanitizerFindings,
} from '../lib/harness.mjs';

const script = path.join(sourceDir, 'my-tracks-server');

describe('one instance per database', () => {
  after(stopAll);

  it('a second broker with the plugin on the same database refuses to start', async () => {
    const first = await startBroker();
    const pub = await mqttConnect(first.port);
    await pub.publishAsync('owntracks/one/d', JSON.stringify(location()), { qos: 1 });
    await waitFor(() => sql(first.db, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    await assert.rejects(startBroker({ dir: tmpDir(), options: { database: first.db }, ownLeaksOnly: true }),
      (e) => {
        assert.match(e.message, new RegExp(`database ${first.db.replace(/[.]/g, '\\.')} is in use by another process \\(pid ${first.proc.pid} holds`));
        return true;
      });
    // the first one goes on storing
    await pub.publishAsync('owntracks/one/d', JSON.stringify(location({ tst: 1705329001 })), { qos: 1 });
    await waitFor(() => sql(first.db, 'SELECT count(*) AS n FROM locations')[0].n === 2);
    await pub.endAsync();
    await first.stop();
    assertNoSanitizerFindings(assert, first.proc);
    // once it is gone the lock is free again
    const again = await startBroker({ dir: first.dir, options: { database: first.db } });
    await again.stop();
    assert.equal(again.proc.exitCode, 0);
  });

  it('a second my-tracks-server on the same data directory exits and touches nothing', async () => {
    const dir = tmpDir();
    const args = (http, mqtt) => ['--no-install', '--no-build', '--build-dir', buildDir,
      '--http-port', String(http), '--mqtt-port', String(mqtt), '--data-dir', dir];
    const server = new Proc('my-tracks-server', script, args(await freePort(), await freePort()),
      { env: sanitizerEnv(false), logFile: path.join(dir, 'server.out') });
    await waitFor(() => {
      if (!server.running) throw new Error(`exited: ${server.output}`);
      return server.output.includes('mytracks is running');
    }, { timeout: 30000, what: 'the first server' });
    const mqttPort = Number(server.output.match(/127\.0\.0\.1:(\d+), topic/)[1]);
    const phone = await mqttConnect(mqttPort);
    await phone.publishAsync('owntracks/dora/phone', JSON.stringify(location()), { qos: 1 });
    await phone.endAsync();
    const db = path.join(dir, 'mytracks.db');
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    const files = ['mosquitto.conf', 'mosquitto.acl', 'mosquitto.passwd', 'bridge.secret'];
    const before = Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    const mtimes = Object.fromEntries(files.map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs]));

    const second = spawnSync(script, args(await freePort(), await freePort()),
      { encoding: 'utf8', env: sanitizerEnv(false), timeout: 30000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`another my-tracks-server \\(pid ${server.pid}\\) is running on data directory`));
    for (const f of files) {
      assert.equal(fs.readFileSync(path.join(dir, f), 'utf8'), before[f], `${f} was rewritten`);
      assert.equal(fs.statSync(path.join(dir, f)).mtimeMs, mtimes[f], `${f} was touched`);
    }
    // the first one still stores
    const phone2 = await mqttConnect(mqttPort);
    await phone2.publishAsync('owntracks/dora/phone', JSON.stringify(location({ tst: 1705329001 })), { qos: 1 });
    await phone2.endAsync();
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n === 2);
    const r = await server.stop();
    assert.equal(r.code, 0, server.output);
    await sleep(10);
  });
});
