// Last Wills the broker publishes for a phone whose connection drops
// (socket destroyed, no DISCONNECT): with plugin_opt_wills and an
// acl_file, stored as an lwt event (the row a phone-sent lwt gives) and the
// device goes offline with device_status. Mosquitto 2.0.11 fires no MESSAGE
// event for wills; the plugin learns of them from the ACL check of the will
// (plugin/will.h). Also what the option costs without an acl_file, and that
// without the option a will is not stored.
// Real broker and plugin, real MQTT clients.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, stopAll, sourceDir, tmpDir,
} from '../lib/harness.mjs';

// the ACL the packaged service and ./my-tracks-server use
const ACL = path.join(sourceDir, 'conf', 'systemd', 'mosquitto.acl');

function lwtRows(db, user, device) {
  return sql(db, `SELECT e.type, e.tst, e.raw, e.received_at FROM events e JOIN devices d ON d.id = e.device_id
    WHERE d.user = '${user}' AND d.device = '${device}' AND e.type = 'lwt' ORDER BY e.id`);
}

function deviceRow(db, user, device) {
  return sql(db, `SELECT id, online, status_changed FROM devices WHERE user = '${user}' AND device = '${device}'`)[0];
}

/** A phone as the OwnTracks apps connect: clean session off, a will of
 * {"_type":"lwt","tst":<connect time>} at QoS 1 on its own topic. */
function phone(port, user, device, tst, opts = {}) {
  return mqttConnect(port, {
    clientId: `${user}-${device}`, clean: false, keepalive: 60,
    will: { topic: `owntracks/${user}/${device}`, payload: Buffer.from(`{"_type":"lwt","tst":${tst}}`), qos: 1, retain: false },
    ...opts,
  });
}

/** The reason code of a QoS 1 publish's PUBACK (0 = success); mqtt.js
 * rejects a v5 PUBACK with a failure code. */
async function pubackCode(client, topic, payload) {
  try {
    const ack = await client.publishAsync(topic, payload, { qos: 1 });
    return ack?.reasonCode ?? 0;
  } catch (e) {
    if (typeof e.code === 'number') return e.code;
    throw e;
  }
}

/** The connection drops the way a phone's does: the socket goes, no DISCONNECT. */
function kill(client) {
  client.stream.destroy();
}

/** A location through its own connection, stored: everything published
 * before it (by any client, the plugin has one writer) is committed. */
async function sentinel(broker, sub, n) {
  const c = await mqttConnect(broker.port, { clientId: `sentinel-${n}` });
  const tst = 1705400000 + n;
  await c.publishAsync('owntracks/sentinel/s', JSON.stringify(location({ tst })), { qos: 1 });
  await waitFor(() => sub.messages.some((m) => m.topic === 'mytracks/locations/sentinel/s'
    && JSON.parse(m.payload).timestamp_unix === tst), { what: `sentinel ${n} republished` });
  await waitFor(() => sql(broker.db, `SELECT 1 AS x FROM locations WHERE tst = ${tst}`).length === 1,
    { what: `sentinel ${n} stored` });
  await c.endAsync();
}

describe('Last Wills with plugin_opt_wills and an acl_file', () => {
  let broker; let sub; let raw;
  const statuses = (user, device) => sub.messages.filter((m) => m.topic === `mytracks/status/${user}/${device}`)
    .map((m) => JSON.parse(m.payload));

  before(async () => {
    broker = await startBroker({ options: { wills: 'true' }, extraConf: `acl_file ${ACL}` });
    sub = await collector(broker.port, 'mytracks/#');
    raw = await collector(broker.port, 'owntracks/#');
  });
  after(async () => {
    await sub?.close();
    await raw?.close();
    await stopAll();
  });

  it('stores the will of a dropped phone as an lwt event and relays the device going offline', async () => {
    const connectedAt = 1705329000;
    const p = await phone(broker.port, 'lea', 'phone', connectedAt);
    await p.publishAsync('owntracks/lea/phone', JSON.stringify(location({ tst: connectedAt + 5, tid: 'le' })), { qos: 1 });
    await waitFor(() => statuses('lea', 'phone').length === 1, { what: 'lea online' });
    assert.equal(statuses('lea', 'phone')[0].online, true);
    const before = Math.floor(Date.now() / 1000);
    kill(p);
    // the broker delivers the will to subscribers (the ACL allowed it)...
    await waitFor(() => raw.messages.some((m) => m.topic === 'owntracks/lea/phone' && m.payload.includes('"lwt"')),
      { what: 'the will delivered' });
    // ...and the plugin stored it: the same row a phone-sent lwt gives
    await waitFor(() => lwtRows(broker.db, 'lea', 'phone').length === 1, { what: 'the lwt event stored' });
    const [ev] = lwtRows(broker.db, 'lea', 'phone');
    assert.deepEqual({ type: ev.type, tst: ev.tst, raw: ev.raw },
      { type: 'lwt', tst: connectedAt, raw: `{"_type":"lwt","tst":${connectedAt}}` });
    assert.ok(ev.received_at >= before && ev.received_at <= before + 5, `received_at ${ev.received_at}`);
    // offline, once (the disconnect and the will are one change), stored and published
    await waitFor(() => deviceRow(broker.db, 'lea', 'phone').online === 0, { what: 'lea stored offline' });
    await sentinel(broker, sub, 1);
    const st = statuses('lea', 'phone');
    assert.equal(st.length, 2, JSON.stringify(st));
    const dev = deviceRow(broker.db, 'lea', 'phone');
    const off = st[1];
    assert.deepEqual(off, {
      device: dev.id, device_name: 'lea/phone', user: 'lea', online: false,
      timestamp: off.timestamp, timestamp_unix: dev.status_changed,
    });
    assert.equal(Date.parse(off.timestamp) / 1000, off.timestamp_unix);
    assert.ok(off.timestamp_unix >= before, 'offline at the drop, not at the fix time');
    // the will is an event, not a location
    assert.equal(sql(broker.db, `SELECT count(*) AS n FROM locations l JOIN devices d ON d.id = l.device_id
      WHERE d.user = 'lea'`)[0].n, 1);
  });

  it('an MQTT v5 phone\'s will (no will delay) is stored the same way', async () => {
    const p = await phone(broker.port, 'lea', 'ipad', 1705329100, { protocolVersion: 5 });
    await p.publishAsync('owntracks/lea/ipad', JSON.stringify(location({ tst: 1705329101 })), { qos: 1 });
    await waitFor(() => statuses('lea', 'ipad').length === 1, { what: 'ipad online' });
    kill(p);
    await waitFor(() => lwtRows(broker.db, 'lea', 'ipad').length === 1, { what: 'the v5 will stored' });
    assert.equal(lwtRows(broker.db, 'lea', 'ipad')[0].raw, '{"_type":"lwt","tst":1705329100}');
    await waitFor(() => statuses('lea', 'ipad').length === 2, { what: 'ipad offline' });
    assert.equal(statuses('lea', 'ipad')[1].online, false);
  });

  it('a phone that says DISCONNECT has no will: offline, nothing stored; later publishes are not wills', async () => {
    const p = await phone(broker.port, 'max', 'phone', 1705329200);
    await p.publishAsync('owntracks/max/phone', JSON.stringify(location({ tst: 1705329201 })), { qos: 1 });
    await waitFor(() => statuses('max', 'phone').length === 1, { what: 'max online' });
    await p.endAsync(); // a clean DISCONNECT: the broker discards the will
    await waitFor(() => statuses('max', 'phone').length === 2, { what: 'max offline' });
    // a client without a will drops, then another client publishes an lwt-looking report
    const nowill = await mqttConnect(broker.port, { clientId: 'nowill' });
    await nowill.publishAsync('owntracks/max/tablet', JSON.stringify(location({ tst: 1705329202 })), { qos: 1 });
    kill(nowill);
    await sentinel(broker, sub, 2);
    assert.deepEqual(lwtRows(broker.db, 'max', 'phone'), []);
    assert.deepEqual(lwtRows(broker.db, 'max', 'tablet'), []);
    assert.equal(deviceRow(broker.db, 'max', 'phone').online, 0);
    assert.ok(!raw.messages.some((m) => m.topic === 'owntracks/max/phone' && m.payload.includes('"lwt"')),
      'the broker sent no will either');
  });

  it('the acl_file still decides: a publish on mytracks/ is refused', async () => {
    const c = await mqttConnect(broker.port, { clientId: 'forger', protocolVersion: 5 });
    assert.equal(await pubackCode(c, 'owntracks/forger/phone', JSON.stringify(location({ tst: 1705329300 }))), 0);
    // (with max_queued_messages 0 mosquitto 2.0.11 also closes the connection after a 0x87)
    assert.equal(await pubackCode(c, 'mytracks/locations/lea/phone', '{"fake":true}'), 135); // Not authorized
    c.end(true);
    assert.ok(!sub.messages.some((m) => m.payload.includes('"fake"')));
  });
});

describe('Last Wills: what the option costs, and the default', () => {
  after(() => stopAll());

  it('without an acl_file, plugin_opt_wills makes mosquitto refuse every publish (why it is off by default)', async () => {
    // mosquitto 2.0.11: when every ACL callback defers the answer is "denied"
    const broker = await startBroker({ options: { wills: 'true' } });
    const c = await mqttConnect(broker.port, { clientId: 'v5', protocolVersion: 5 });
    assert.equal(await pubackCode(c, 'owntracks/ann/phone', JSON.stringify(location({ tst: 1705329400 }))), 135);
    c.end(true);
    await broker.stop();
    assert.deepEqual(sql(broker.db, 'SELECT id FROM locations'), []);
  });

  it('without plugin_opt_wills a will is delivered but not stored; the device still goes offline', async () => {
    const dir = tmpDir();
    fs.copyFileSync(ACL, path.join(dir, 'mosquitto.acl'));
    const broker = await startBroker({ dir, extraConf: `acl_file ${path.join(dir, 'mosquitto.acl')}` });
    const sub = await collector(broker.port, 'mytracks/#');
    const raw = await collector(broker.port, 'owntracks/#');
    const p = await phone(broker.port, 'ann', 'phone', 1705329500);
    await p.publishAsync('owntracks/ann/phone', JSON.stringify(location({ tst: 1705329501 })), { qos: 1 });
    await waitFor(() => sub.messages.some((m) => m.topic === 'mytracks/status/ann/phone'), { what: 'ann online' });
    kill(p);
    await waitFor(() => raw.messages.some((m) => m.topic === 'owntracks/ann/phone' && m.payload.includes('"lwt"')),
      { what: 'the will delivered' });
    await waitFor(() => deviceRow(broker.db, 'ann', 'phone').online === 0, { what: 'ann offline' });
    await sentinel(broker, sub, 3);
    assert.deepEqual(lwtRows(broker.db, 'ann', 'phone'), []);
    await sub.close();
    await raw.close();
  });
});
