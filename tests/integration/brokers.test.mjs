// Several brokers, each with the plugin, on one PostgreSQL database
// (issue 15; the design and why its ids are correct: docs/scale-out.md).
//
// Two real mosquitto brokers load the plugin with plugin_opt_shared_writers
// (conf/mosquitto-postgres.conf.example) on one real PostgreSQL; broker A bridges mytracks/# in from broker B as
// conf/mosquitto-bridge.conf.example says (tests/lib/brokers.mjs), and one mytracks bridge on A
// serves a WebSocket and the history API. Phones report to either broker,
// one phone to both (the same reports twice):
// - every location is stored once, and reaches the WebSocket once, with the
//   id of its row;
// - a since_id poller that follows the whole run sees every row: the ids
//   committed by both writers are always a prefix of all ids;
// - the same holds across a PostgreSQL restart under load from both;
// - a plugin without the option is refused on that database, and a shared
//   one on a database a single writer holds.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startBroker, stopAll, mqttConnect, location, sql, waitFor, sleep, assertNoSanitizerFindings, dbIntegrity,
} from '../lib/harness.mjs';
import { startBridge, wsConnect, framesOfType } from '../lib/bridge.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { startSharedBrokers } from '../lib/brokers.mjs';

let pg, url, a, b, bridge, ws;
const T0 = 1706000000;

/** Follow /api/locations/?since_id like the page's polling fallback. */
function poller(base) {
  const seen = new Map();
  let since = 0;
  let stop = false;
  let polls = 0;
  const run = (async () => {
    while (!stop) {
      const r = await fetch(`${base}/api/locations/?since_id=${since}&limit=1000`).catch(() => null);
      if (r && r.status === 200) {
        const body = await r.json();
        const rows = body.results ?? body;
        for (const row of rows) {
          seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
          if (row.id > since) since = row.id;
        }
        polls++;
      }
      await sleep(20);
    }
  })();
  return { seen, polls: () => polls, stop: async () => { stop = true; await run; } };
}

before(async () => {
  pg = await startPostgres();
  url = pg.createDatabase('shared');
  ({ a, b } = await startSharedBrokers(url));
  bridge = await startBridge(a, { name: 'bridge-a' });
  ws = await wsConnect(bridge.wsUrl);
});
after(async () => { await stopAll(); });

/** Report `n` locations of user/device from `tst0` through `port`. */
async function phone(port, user, device, tst0, n) {
  const c = await mqttConnect(port, { clientId: `${user}-${device}-${port}` });
  for (let i = 0; i < n; i++) {
    await c.publishAsync(`owntracks/${user}/${device}`,
      JSON.stringify(location({ tst: tst0 + i, lat: 50 + i / 1000, tid: user.slice(0, 2) })), { qos: 1 });
  }
  return c;
}

/** Wait until each broker's sentinel has reached the WebSocket. */
async function settle(tag) {
  for (const br of [a, b]) {
    const c = await mqttConnect(br.port, { clientId: `sentinel-${tag}-${br.port}` });
    const tst = T0 + 500000 + br.port;
    await c.publishAsync(`owntracks/sentinel/${tag}${br === a ? 'a' : 'b'}`, JSON.stringify(location({ tst })), { qos: 1 });
    await ws.waitFor((f) => f.includes(`"timestamp_unix":${tst}`), { timeout: 20000 });
    await c.endAsync();
  }
}

function wsLocations() {
  return framesOfType(ws.frames, 'location').map((m) => m.data);
}

/** Every stored location reached the WebSocket once with its row's id, and
 * the poller saw every row once. */
function checkDelivery(poll) {
  const all = sql(url, `SELECT l.id, d."user" || '/' || d.device AS name, l.tst FROM locations l
    JOIN devices d ON d.id = l.device_id ORDER BY l.id`);
  for (const r of all) assert.equal(poll.seen.get(r.id), 1, `row ${r.id} (${r.name} ${r.tst}) seen once by the since_id poller`);
  assert.equal(poll.seen.size, all.length, 'the poller saw nothing else');
  const rows = all.filter((r) => r.name !== 'warm/up'); // before the WebSocket
  const relayed = new Map();
  for (const d of wsLocations()) {
    if (d.device_name === 'warm/up') continue; // its last position, sent on connect
    assert.equal(relayed.has(d.id), false, `location ${d.id} relayed twice`);
    relayed.set(d.id, d);
  }
  for (const r of rows) {
    const d = relayed.get(r.id);
    assert.ok(d, `row ${r.id} (${r.name} ${r.tst}) reached the WebSocket`);
    assert.equal(`${d.timestamp_unix}`, `${r.tst}`, `row ${r.id}: the frame carries the row's id`);
  }
  assert.equal(relayed.size, rows.length, 'nothing relayed that is not stored');
}

describe('two brokers with the plugin on one PostgreSQL database', () => {
  it('stores every location once, relays it once with its id, and since_id misses none', { timeout: 120000 }, async () => {
    const poll = poller(bridge.url);
    const N = 300;
    const clients = await Promise.all([
      phone(a.port, 'alice', 'phone', T0, N),
      phone(b.port, 'bob', 'tab', T0, N),
      // one phone whose reports reach both brokers (a retry after a switch)
      phone(a.port, 'carol', 'phone', T0, 100),
      phone(b.port, 'carol', 'phone', T0, 100),
    ]);
    // a transition through each broker: events get ids at commit too
    await clients[0].publishAsync('owntracks/alice/phone/event', JSON.stringify({
      _type: 'transition', event: 'enter', desc: 'home', tst: T0 + 5, lat: 50, lon: 13, acc: 10, t: 'c', wtst: T0 - 10,
    }), { qos: 1 });
    await clients[1].publishAsync('owntracks/bob/tab/event', JSON.stringify({
      _type: 'transition', event: 'leave', desc: 'work', tst: T0 + 6, lat: 51, lon: 13, acc: 10, t: 'c', wtst: T0 - 10,
    }), { qos: 1 });
    await settle('one');
    await waitFor(() => poll.polls() > 3 && poll.seen.size >= sql(url, 'SELECT count(*) AS n FROM locations')[0].n,
      { timeout: 15000, what: 'the poller caught up' });
    await poll.stop();
    await Promise.all(clients.map((c) => c.endAsync()));

    const counts = Object.fromEntries(sql(url, `SELECT d."user" || '/' || d.device AS name, count(*) AS n,
      count(DISTINCT l.tst) AS d FROM locations l JOIN devices d ON d.id = l.device_id GROUP BY 1`).map((r) => [r.name, r]));
    assert.equal(counts['alice/phone'].n, N);
    assert.equal(counts['bob/tab'].n, N);
    assert.equal(counts['carol/phone'].n, 100, 'the reports sent to both brokers stored once');
    assert.equal(dbIntegrity(url), 'ok');
    const devices = sql(url, `SELECT "user", device, count(*) AS n FROM devices GROUP BY 1, 2 HAVING count(*) > 1`);
    assert.deepEqual(devices, [], 'one row per device');
    assert.equal(sql(url, 'SELECT min(id) AS m FROM devices')[0].m, 1, 'device ids start at 1, as with one writer');
    checkDelivery(poll);

    const tr = framesOfType(ws.frames, 'transition').map((m) => m.data);
    const evRows = sql(url, `SELECT id, tst FROM events WHERE type = 'transition' ORDER BY id`);
    assert.equal(evRows.length, 2);
    assert.deepEqual(tr.map((t) => t.id).sort(), evRows.map((r) => r.id).sort(), 'transitions relayed with their row ids');
  });

  it('keeps both writers correct across a PostgreSQL restart under load', { timeout: 180000 }, async () => {
    const poll = poller(bridge.url);
    const N = 1500;
    let acked = 0;
    const load = [a, b].map(async (br, k) => {
      const c = await mqttConnect(br.port, { clientId: `load-${k}` });
      for (let i = 0; i < N; i++) {
        await c.publishAsync(`owntracks/load/d${k}`, JSON.stringify(location({ tst: T0 + 10000 + i })), { qos: 1 });
        acked++;
      }
      return c;
    });
    await waitFor(() => acked > 600, { what: 'load under way' });
    await pg.restart();
    const clients = await Promise.all(load);
    assert.equal(acked, 2 * N);
    await settle('two');
    await waitFor(() => poll.polls() > 3 && poll.seen.size >= sql(url, 'SELECT count(*) AS n FROM locations')[0].n,
      { timeout: 30000, what: 'the poller caught up' });
    await poll.stop();
    await Promise.all(clients.map((c) => c.endAsync()));
    const [r] = sql(url, `SELECT count(*) AS n, count(DISTINCT tst) AS d FROM locations l JOIN devices d
      ON d.id = l.device_id WHERE d."user" = 'load'`);
    assert.equal(r.n, 2 * N, 'every acknowledged report stored');
    assert.equal(r.d, N, 'each device once per tst');
    // this poller started after the first case: compare from its first row
    const first = Math.min(...poll.seen.keys());
    const rows = sql(url, `SELECT id FROM locations WHERE id >= ${first} ORDER BY id`);
    for (const row of rows) assert.equal(poll.seen.get(row.id), 1, `row ${row.id} seen once by the since_id poller`);
    assert.equal(poll.seen.size, rows.length);
    assert.match(a.proc.output + b.proc.output, /mytracks: .*(PostgreSQL connection lost|terminating connection|server closed)/i, 'the outage was logged');
  });

  it('refuses a writer that is not shared, and a shared one beside a single writer', async () => {
    await assert.rejects(startBroker({ options: { database: url }, ownLeaksOnly: true }),
      /plugin_opt_shared_writers/);
    const single = pg.createDatabase('single');
    const one = await startBroker({ options: { database: single } });
    await assert.rejects(startBroker({ options: { database: single, shared_writers: 'true' }, ownLeaksOnly: true }),
      /without plugin_opt_shared_writers/);
    await one.stop();
    await assert.rejects(startBroker({ options: { database: path.join(one.dir, 'x.db'), shared_writers: 'true' }, ownLeaksOnly: true }),
      /plugin_opt_shared_writers needs a PostgreSQL database/);
  });

  it('leaves no sanitizer findings', async () => {
    await ws.close();
    await bridge.stop();
    await a.stop();
    await b.stop();
    assertNoSanitizerFindings(assert, a.proc);
    assertNoSanitizerFindings(assert, b.proc);
  });
});
