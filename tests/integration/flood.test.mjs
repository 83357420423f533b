// One user floods the broker (QoS 0, many new devices) while the database
// is locked and the write buffer is small; other users publish at QoS 1.
// Whatever their clients saw acknowledged must be stored; the flooder's
// excess devices are refused and counted; the log stays short.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, sleep, stopAll,
  assertNoSanitizerFindings,
} from '../lib/harness.mjs';

const BUFFER_MAX = 60;
const PER_USER = 12;
const DEVICES_PER_USER = 5;
const T0 = 1705329000;

/** Another process takes the database's write lock; resolves once it
 * holds it, with a function that releases it (and resolves once the lock
 * is gone). */
async function lockDatabase(db) {
  const locker = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const held = new Promise((resolve, reject) => {
    locker.stdout.on('data', (d) => { out += d; if (out.includes('lock-held')) resolve(); });
    locker.once('exit', () => reject(new Error('sqlite3 ended before it held the lock')));
  });
  locker.stdin.write("BEGIN EXCLUSIVE;\nINSERT INTO events(device_id, type, received_at, raw) VALUES (1, 'x', 0, '{}');\nSELECT 'lock-held';\n");
  await held;
  return () => {
    locker.stdin.end('ROLLBACK;\n');
    return new Promise((r) => locker.once('exit', r));
  };
}

async function stats(port) {
  const c = await collector(port, 'mytracks/stats');
  try {
    const m = await waitFor(() => c.messages.at(-1), { what: 'mytracks/stats' });
    return JSON.parse(m.payload);
  } finally {
    await c.close();
  }
}

/** Publish at QoS 1 and say what the client saw: 'acked' (a PUBACK that
 * means success), 'refused' (a PUBACK with an error reason code) or
 * 'closed' (the broker dropped the connection, no PUBACK). */
function publishOutcome(client, topic, payload) {
  return new Promise((resolve) => {
    if (!client.connected) { resolve('closed'); return; }
    const done = (r) => { client.removeListener('close', onClose); clearTimeout(t); resolve(r); };
    const onClose = () => done('closed');
    // no answer at all counts as not acknowledged (never seen: bounded wait)
    const t = setTimeout(() => done('closed'), 5000);
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      done(err ? (err.code >= 0x80 ? 'refused' : 'closed') : 'acked');
    });
  });
}

/** A phone: sends `n` reports at QoS 1 one after the other, reconnecting
 * (at most `maxReconnects` times) when the broker drops it and sending
 * the unacknowledged report again, as the OwnTracks app does. Returns the
 * tst values the client saw acknowledged. */
async function phone(port, user, n, { protocolVersion = 4, maxReconnects = 3, stopWhen } = {}) {
  const acked = [];
  const outcomes = { acked: 0, refused: 0, closed: 0 };
  let client = await mqttConnect(port, { protocolVersion, clientId: `phone-${user}` });
  client.on('error', () => {});
  let reconnects = 0;
  for (let i = 0; i < n && !(stopWhen && stopWhen()); i++) {
    const tst = T0 + 1000 + i;
    const r = await publishOutcome(client, `owntracks/${user}/phone`, JSON.stringify(location({ tst })));
    outcomes[r]++;
    if (r === 'acked') acked.push(tst);
    if (r === 'closed') {
      if (reconnects++ >= maxReconnects) break;
      client.end(true);
      client = await mqttConnect(port, { protocolVersion, clientId: `phone-${user}` });
      client.on('error', () => {});
    }
  }
  client.end(true);
  return { acked, outcomes };
}

describe('plugin: one user cannot make the broker lose the others\' reports', () => {
  const cleanups = [];
  after(async () => {
    for (const f of cleanups) await f();
    await stopAll();
  });

  it('stores every acknowledged report of the others while one user floods', async () => {
    const startedAt = Date.now();
    const broker = await startBroker({
      options: {
        buffer_max: String(BUFFER_MAX), buffer_per_user: String(PER_USER),
        max_devices_per_user: String(DEVICES_PER_USER), max_devices: '1000',
      },
    });
    // seed the database so the locker has a device row to refer to
    const seed = await mqttConnect(broker.port);
    await seed.publishAsync('owntracks/seed/d', JSON.stringify(location({ tst: T0 })), { qos: 1 });
    await seed.endAsync();
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 1);
    let locked = true;
    const unlockOnce = await lockDatabase(broker.db);
    const unlock = async () => { if (locked) { locked = false; await unlockOnce(); } };
    cleanups.push(unlock);

    // the flood: QoS 0, bursts of 400 reports for 400 devices of one user,
    // one connection per burst. A report that cannot be stored is refused;
    // Debian's mosquitto 2.0.11 (with max_queued_messages 0) then drops
    // even a QoS 0 publisher, so each burst ends at its first refusal.
    let flooding = true;
    let drops = 0;
    const flood = (async () => {
      for (let round = 0; flooding && round < 300; round++) {
        let c;
        try {
          c = await mqttConnect(broker.port, { clientId: 'flooder' });
        } catch {
          continue;
        }
        c.on('error', () => {});
        c.on('close', () => { drops++; });
        for (let k = 0; k < 400 && c.connected; k++) {
          const i = (k + round * 37) % 400; // each burst starts elsewhere
          c.publish(`owntracks/flood/d${i}`, JSON.stringify(location({ tst: T0 + round * 400 + i })), { qos: 0 });
        }
        await sleep(30);
        c.end(true);
      }
    })();
    cleanups.push(async () => { flooding = false; await flood; });
    await waitFor(async () => {
      const s = await stats(broker.port);
      return s.rejected_by.too_many_devices > 0 && s.user_share_full > 0;
    }, { what: 'the flood to fill its share and hit the device limit' });

    // meanwhile two other users publish at QoS 1: a v3.1.1 phone (dropped
    // when a report cannot be stored) and a v5 one (PUBACK reason 0x87)
    const [alice, bob] = await Promise.all([
      phone(broker.port, 'alice', 50),
      phone(broker.port, 'bob', 50, { protocolVersion: 5 }),
    ]);
    flooding = false;
    await flood;
    // the flood's share is full, not the whole buffer: the others got
    // their own share while the database was locked
    assert.ok(alice.acked.length > 0, 'alice got some reports in');
    assert.ok(bob.acked.length > 0, 'bob got some reports in');
    // and what did not fit was not acknowledged as if stored
    assert.ok(alice.outcomes.closed > 0, `alice was dropped for a report that did not fit: ${JSON.stringify(alice.outcomes)}`);
    assert.ok(bob.outcomes.refused > 0, `bob got a refusing PUBACK: ${JSON.stringify(bob.outcomes)}`);

    await unlock();
    // every acknowledged report is stored
    const storedTst = (user) => sql(broker.db,
      `SELECT l.tst FROM locations l JOIN devices d ON d.id = l.device_id WHERE d.user = '${user}' ORDER BY l.tst`)
      .map((r) => r.tst);
    await waitFor(() => {
      const a = new Set(storedTst('alice'));
      const b = new Set(storedTst('bob'));
      return alice.acked.every((t) => a.has(t)) && bob.acked.every((t) => b.has(t));
    }, { timeout: 20000, what: 'every acknowledged report stored' });
    // a phone that sends its refused reports again gets them stored now
    // (a share of 12 rows is small: the phone may be dropped again while
    // its rows wait for the next commit, and then it tries again)
    await waitFor(async () => {
      await phone(broker.port, 'alice', 50, { maxReconnects: 20 });
      return storedTst('alice').length === 50;
    }, { timeout: 30000, what: 'alice\'s 50 reports after resending' });

    // the flooder got no more than its devices
    const floodDevices = sql(broker.db, "SELECT count(*) AS n FROM devices WHERE user = 'flood'")[0].n;
    assert.ok(floodDevices <= DEVICES_PER_USER, `flood has ${floodDevices} devices`);
    const s = await waitFor(async () => {
      const x = await stats(broker.port);
      return x.rejected_by.too_many_devices > 0 && x.refused > 0 && x;
    });
    assert.ok(s.devices <= DEVICES_PER_USER + 3, `devices in memory: ${s.devices}`);
    assert.ok(drops > 0, 'the flooder was dropped for reports that could not be stored');
    assert.ok(s.rejected_by.user_share_full > 0);
    // bounded log: rate-limited rejections, new devices and buffer-full lines
    const lines = broker.proc.output.split('\n');
    const count = (re) => lines.filter((l) => re.test(l)).length;
    const windows = 2 + Math.ceil((Date.now() - startedAt) / 10000);
    assert.ok(count(/rejected message on/) <= 20 * windows, `rejection lines: ${count(/rejected message on/)}`);
    assert.ok(count(/storage buffer full/) <= windows, `buffer-full lines: ${count(/storage buffer full/)}`);
    assert.ok(count(/new device/) <= 20 * windows, `new-device lines: ${count(/new device/)}`);
    assert.match(broker.proc.output, /\(too_many_devices\): user 'flood' has 5 devices/);

    await broker.stop();
    assert.equal(broker.proc.exitCode, 0);
    assertNoSanitizerFindings(assert, broker.proc);
  });
});
