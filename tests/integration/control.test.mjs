// The plugin's control channel (docs/control.md): deletes, imports and the
// retention policy, against a real mosquitto with the real plugin and its
// SQLite file.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBroker, mqttConnect, collector, untilSentinel, sql, location, waitFor, stopAll,
} from '../lib/harness.mjs';

const TRUSTED = 'mytracks-bridge';
let seq = 0;

/** A requester: the trusted client, collecting its answers. */
async function requester(port, username = TRUSTED) {
  const c = await collector(port, 'mytracks-control/reply/#', { username, protocolVersion: 5 });
  c.request = async (body, { raw } = {}) => {
    const id = `test-${process.pid}/${++seq}`;
    await c.client.publishAsync(`mytracks-control/req/${id}`, raw ?? JSON.stringify(body), { qos: 1 });
    const m = await waitFor(() => c.messages.find((x) => x.topic === `mytracks-control/reply/${id}`),
      { what: `the answer to request ${id}` });
    const answer = JSON.parse(m.payload);
    assert.equal(answer.id, id);
    return answer;
  };
  return c;
}

const count = (db, where = 'true') => sql(db, `SELECT count(*) AS n FROM locations WHERE ${where}`)[0].n;

describe('control: delete', () => {
  after(stopAll);

  it('deletes a fix, a range and a device after commit, and says so on mytracks/deleted/', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const phone = await mqttConnect(broker.port);
    const live = await collector(broker.port, 'mytracks/#');
    const T = 1705329000;
    for (let i = 0; i < 6; i++) {
      await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: T + i * 60 })), { qos: 1 });
    }
    await phone.publishAsync('owntracks/alice/phone/event', JSON.stringify({
      _type: 'transition', event: 'enter', desc: 'Home', t: 'c', tst: T + 150, wtst: T - 1000, lat: 52.5, lon: 13.4, acc: 10,
    }), { qos: 1 });
    await phone.publishAsync('owntracks/bob/phone', JSON.stringify(location({ tst: T })), { qos: 1 });
    await waitFor(() => count(broker.db) === 7, { what: 'seven stored fixes' });
    const ctl = await requester(broker.port);
    const [{ id: devId }] = sql(broker.db, `SELECT id FROM devices WHERE "user" = 'alice'`);
    const idOf = (tst) => sql(broker.db, `SELECT id FROM locations WHERE device_id = ${devId} AND tst = ${tst}`)[0].id;

    // one fix
    const one = await ctl.request({ op: 'delete', user: 'alice', device: 'phone', id: idOf(T + 60) });
    assert.deepEqual([one.ok, one.op, one.deleted], [true, 'delete', 1]);
    // the answer comes after the commit: the row is gone for any reader now
    assert.equal(count(broker.db, `tst = ${T + 60}`), 0);
    // a range: two fixes and the transition inside it
    const range = await ctl.request({ op: 'delete', user: 'alice', device: 'phone', from: T + 120, to: T + 180 });
    assert.equal(range.deleted, 3);
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM events')[0].n, 0);
    assert.deepEqual(sql(broker.db, `SELECT tst FROM locations WHERE device_id = ${devId} ORDER BY tst`).map((r) => r.tst),
      [T, T + 240, T + 300]);
    // bob is untouched by alice's deletes
    assert.equal(count(broker.db, `device_id <> ${devId}`), 1);

    // every delete is announced once, with what it removed
    const deleted = await waitFor(() => {
      const d = live.messages.filter((m) => m.topic === 'mytracks/deleted/alice/phone');
      return d.length === 2 && d.map((m) => JSON.parse(m.payload));
    }, { what: 'two deleted objects' });
    assert.deepEqual(deleted[0], { device: devId, device_name: 'alice/phone', user: 'alice', id: idOf(T) + 1, deleted: 1 });
    assert.deepEqual(deleted[1], { device: devId, device_name: 'alice/phone', user: 'alice', from: T + 120, to: T + 180, deleted: 3 });

    // a deleted fix sent again is stored again: it is not a duplicate any more
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: T + 60 })), { qos: 1 });
    await waitFor(() => count(broker.db, `tst = ${T + 60}`) === 1, { what: 'the fix stored again' });

    // the whole device: its fixes, events and row; it comes back with the same id
    const all = await ctl.request({ op: 'delete', user: 'alice', device: 'phone', all: true });
    assert.equal(all.deleted, 4);
    assert.equal(sql(broker.db, `SELECT count(*) AS n FROM devices WHERE "user" = 'alice'`)[0].n, 0);
    assert.equal((await ctl.request({ op: 'delete', user: 'alice', device: 'phone', all: true })).status, 404);
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location({ tst: T + 900 })), { qos: 1 });
    await waitFor(() => sql(broker.db, `SELECT id FROM devices WHERE "user" = 'alice'`)[0]?.id === devId,
      { what: 'alice/phone back with its id' });
    await waitFor(() => count(broker.db, `device_id = ${devId}`) === 1, { what: 'its new fix' });

    await phone.endAsync();
    await ctl.close();
    await live.close();
    await broker.stop();
  });

  it('removes a fix that is still in the write buffer', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED, commit_window: '2000' } });
    const phone = await mqttConnect(broker.port);
    const ctl = await requester(broker.port);
    await phone.publishAsync('owntracks/carol/phone', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
    // the device row itself is buffered too: wait until the plugin knows it
    const live = await collector(broker.port, 'mytracks/locations/#');
    await phone.publishAsync('owntracks/carol/phone', JSON.stringify(location({ tst: 1705329100 })), { qos: 1 });
    await waitFor(() => live.messages.length === 1, { what: 'the second fix republished' });
    const r = await ctl.request({ op: 'delete', user: 'carol', device: 'phone', from: 0, to: 1705329050 });
    assert.equal(r.deleted, 1);
    assert.deepEqual(sql(broker.db, 'SELECT tst FROM locations').map((x) => x.tst), [1705329100]);
    await phone.endAsync();
    await ctl.close();
    await live.close();
    await broker.stop();
  });

  it('refuses requests from others, bad requests and unknown devices, and counts them', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const phone = await mqttConnect(broker.port);
    await phone.publishAsync('owntracks/dave/phone', JSON.stringify(location()), { qos: 1 });
    await waitFor(() => count(broker.db) === 1, { what: 'one fix' });
    const mallory = await requester(broker.port, 'mallory');
    const r = await mallory.request({ op: 'delete', user: 'dave', device: 'phone', all: true });
    assert.deepEqual([r.ok, r.status], [false, 403]);
    assert.equal(count(broker.db), 1);
    const ctl = await requester(broker.port);
    const bad = [
      [{ raw: '{"op":"delete",' }, 400],
      [{ body: { op: 'drop-table' } }, 400],
      [{ body: { op: 'delete', user: 'dave', device: 'phone' } }, 400],
      [{ body: { op: 'delete', user: 'dave', device: 'phone', from: 10, to: 5 } }, 400],
      [{ body: { op: 'delete', user: 'dave', device: 'phone', id: 1, all: true } }, 400],
      [{ body: { op: 'delete', user: 'dave', device: 'phone', id: 'x' } }, 400],
      [{ body: { op: 'delete', user: 'dave/x', device: 'phone', all: true } }, 400],
      [{ body: { op: 'delete', user: 'erin', device: 'phone', all: true } }, 404],
    ];
    for (const [{ raw, body }, status] of bad) {
      const a = await ctl.request(body, { raw });
      assert.deepEqual([a.ok, a.status], [false, status], `${raw ?? JSON.stringify(body)} -> ${JSON.stringify(a)}`);
      assert.equal(typeof a.error, 'string');
    }
    assert.equal(count(broker.db), 1);
    const stats = await waitFor(async () => {
      const s = await collector(broker.port, 'mytracks/stats');
      const m = await waitFor(() => s.messages[0]);
      await s.close();
      const x = JSON.parse(m.payload);
      return x.control_refused >= 3 && x;
    }, { what: 'refusals counted' });
    assert.equal(stats.deleted, 0);
    assert.match(broker.proc.output, /control request from client '[^']*' refused: not plugin_opt_trusted_user/);
    await phone.endAsync();
    await mallory.close();
    await ctl.close();
    await broker.stop();
  });
});

describe('control: import', () => {
  after(stopAll);

  it('stores history without publishing it, skips what is stored, reports bad lines', async () => {
    const broker = await startBroker({ options: { trusted_user: TRUSTED } });
    const live = await collector(broker.port, 'mytracks/#');
    const ctl = await requester(broker.port);
    const T = 1600000000;
    const messages = [
      JSON.stringify(location({ tst: T })),
      JSON.stringify(location({ tst: T + 60, lat: 48.1 })),
      '{"_type":"location","lat":"north"}',
      JSON.stringify({ _type: 'card', name: 'Old name' }),
      JSON.stringify({ _type: 'transition', event: 'leave', desc: 'Work', t: 'c', tst: T + 30, wtst: T - 5, lat: 1, lon: 2, acc: 5 }),
      JSON.stringify(location({ tst: T })), // twice in one request
    ];
    const a = await ctl.request({ op: 'import', user: 'frank', device: 'old', messages });
    assert.equal(a.ok, true, JSON.stringify(a));
    assert.deepEqual([a.stored, a.duplicates, a.events, a.ignored, a.done, a.busy, a.rejected_count],
      [2, 1, 2, 0, 6, false, 1]);
    assert.equal(a.rejected[0].index, 2);
    assert.match(a.rejected[0].error, /bad_field|invalid/);
    // committed when answered
    assert.deepEqual(sql(broker.db, 'SELECT tst, ip_address FROM locations ORDER BY tst'),
      [{ tst: T, ip_address: null }, { tst: T + 60, ip_address: null }]);
    assert.equal(sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'transition'")[0].n, 1);
    // history is not news: nothing on the live topics, and the device stays offline
    const phone = await mqttConnect(broker.port);
    const before = await untilSentinel(phone, live);
    assert.deepEqual(before.filter((m) => !m.topic.endsWith('/stats')).map((m) => m.topic), []);
    assert.deepEqual(sql(broker.db, `SELECT online, display_name FROM devices WHERE "user" = 'frank'`),
      [{ online: 0, display_name: 'Old name' }]);
    const lwt = await ctl.request({ op: 'import', user: 'frank', device: 'old', messages: ['{"_type":"lwt","tst":1600000000}'] });
    assert.deepEqual([lwt.ignored, lwt.events, lwt.stored], [1, 0, 0]);

    // again: nothing new
    const b = await ctl.request({ op: 'import', user: 'frank', device: 'old', messages });
    assert.deepEqual([b.stored, b.duplicates, b.events], [0, 5, 0]);
    assert.equal(count(broker.db, `device_id = (SELECT id FROM devices WHERE "user" = 'frank')`), 2);
    const bad = await ctl.request({ op: 'import', user: 'frank', device: 'old', messages: 'no' });
    assert.equal(bad.status, 400);
    await phone.endAsync();
    await ctl.close();
    await live.close();
    await broker.stop();
  });
});

describe('retention', () => {
  after(stopAll);

  it('removes fixes and events older than retention_days in batches, keeps the rest, goes on ingesting', async () => {
    const broker = await startBroker({
      options: { trusted_user: TRUSTED, retention_days: '30', retention_batch: '3', retention_interval: '1' },
    });
    const now = Math.floor(Date.now() / 1000);
    const day = 86400;
    const ctl = await requester(broker.port);
    const old = [];
    for (let i = 0; i < 10; i++) old.push(JSON.stringify(location({ tst: now - 40 * day + i })));
    old.push(JSON.stringify({ _type: 'transition', event: 'enter', desc: 'Gone', t: 'c', tst: now - 31 * day, wtst: now - 50 * day, lat: 1, lon: 2, acc: 5 }));
    const recent = [JSON.stringify(location({ tst: now - 29 * day })), JSON.stringify(location({ tst: now - day }))];
    const a = await ctl.request({ op: 'import', user: 'gina', device: 'phone', messages: [...old, ...recent] });
    assert.equal(a.stored, 12);
    // live reports go on being stored while the old rows go, 3 at a time
    const phone = await mqttConnect(broker.port);
    for (let i = 0; i < 20; i++) {
      await phone.publishAsync('owntracks/gina/phone', JSON.stringify(location({ tst: now - 100 + i })), { qos: 1 });
    }
    await waitFor(() => count(broker.db, `tst < ${now - 30 * day}`) === 0 &&
      sql(broker.db, 'SELECT count(*) AS n FROM events')[0].n === 0, { timeout: 20000, what: 'old rows purged' });
    assert.equal(count(broker.db), 22);
    assert.equal(count(broker.db, `tst = ${now - 29 * day}`), 1);
    const s = await collector(broker.port, 'mytracks/stats');
    const stats = await waitFor(() => s.messages.map((m) => JSON.parse(m.payload)).find((x) => x.purged === 11),
      { what: 'purged counted' });
    assert.equal(stats.write_errors, 0);
    await s.close();
    await phone.endAsync();
    await ctl.close();
    await broker.stop();
  });
});
