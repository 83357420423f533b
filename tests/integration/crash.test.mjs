// A broker killed with SIGKILL during load: after a restart the database is
// intact, and what was lost is only the newest tail (the commit window),
// never a row in the middle. The size of the tail is printed, not asserted:
// it is a timing, and these machines are noisy (bench/ measures it).
// Run against SQLite and, as integration_crash_pg, PostgreSQL.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBroker, mqttConnect, sql, location, waitFor, sleep, stopAll, assertNoSanitizerFindings, dbIntegrity,
} from '../lib/harness.mjs';

describe('plugin: crash during load', () => {
  after(stopAll);

  it('keeps every committed row intact and loses only the tail', async () => {
    const broker = await startBroker({ options: { commit_window: '100' } });
    const pub = await mqttConnect(broker.port);
    pub.on('error', () => {});
    const acked = []; // [tst, ack time]
    let stop = false;
    const sender = (async () => {
      for (let i = 0; !stop && i < 20000; i++) {
        const tst = 1705329000 + i;
        try {
          await pub.publishAsync('owntracks/crash/d', JSON.stringify(location({ tst })), { qos: 1 });
          acked.push([tst, Date.now()]);
        } catch {
          break;
        }
        if (i % 20 === 0) await sleep(1); // a steady, not saturating, load
      }
    })();
    // kill once something is committed and more is in flight
    await waitFor(() => acked.length >= 500 && sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n > 0,
      { timeout: 20000, what: '500 acknowledged and a first commit' });
    await sleep(Math.floor(Math.random() * 150)); // anywhere in a commit window
    const killedAt = Date.now();
    await broker.stop({ signal: 'SIGKILL' });
    stop = true;
    pub.end(true);
    await sender;

    assert.equal(dbIntegrity(broker.db), 'ok');
    await broker.start(); // recovers the WAL, and must start cleanly
    const rows = sql(broker.db, 'SELECT id, tst, raw FROM locations ORDER BY id');
    assert.ok(rows.length > 0, 'something was committed before the kill');
    rows.forEach((r, i) => {
      assert.equal(r.id, i + 1, 'ids have no gaps');
      assert.equal(r.tst, 1705329000 + i, 'rows are a prefix of what was sent, in order');
      assert.equal(JSON.parse(r.raw).tst, r.tst, 'raw JSON intact');
    });
    const lost = acked.filter(([tst]) => tst >= 1705329000 + rows.length);
    const span = lost.length ? killedAt - lost[0][1] : 0;
    console.log(`# crash: ${acked.length} acknowledged, ${rows.length} stored, ` +
      `${lost.length} acknowledged but lost, acknowledged in the last ${span} ms before the kill`);
    // the restarted broker stops cleanly, with nothing for the sanitizers
    const r = await broker.stop();
    assert.equal(r.code, 0, `broker exit: ${JSON.stringify(r)}`);
    assertNoSanitizerFindings(assert, broker.proc);
  });
});
