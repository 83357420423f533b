// Hostile input: malformed messages interleaved with valid ones. The broker
// stays up, routes everything as usual, and only the valid ones are stored
// and republished; every rejection is counted and logged with its reason.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, stopAll, untilSentinel,
  assertNoSanitizerFindings, dbIntegrity,
} from '../lib/harness.mjs';
import { startBridge, wsConnect, framesOfType } from '../lib/bridge.mjs';

const MAX_PAYLOAD = 4096;

// [topic suffix, payload, counter that must count it]
const hostile = [
  ['', 'not json at all', 'invalid_json'],
  ['', '{"_type":"location","lat":52.5,"lon":13.4', 'invalid_json'],
  ['', '[1,2,3]', 'invalid_json'],
  ['', '{"_type":"location","lat":52.5,"lon":13.4,"tst":1705329000} {"x":1}', 'invalid_json'],
  ['', '['.repeat(5000) + ']'.repeat(5000), 'oversized'],
  ['', '{"_type":"location","x":' + '['.repeat(1100) + ']'.repeat(1100) + '}', 'invalid_json'], // deeper than cJSON's limit
  ['', JSON.stringify({ ...location(), junk: 'x'.repeat(MAX_PAYLOAD) }), 'oversized'],
  ['', Buffer.from([0x7b, 0x22, 0x5f, 0x74, 0xff, 0xfe, 0x7d]), 'invalid_utf8'],
  ['', Buffer.from(JSON.stringify({ ...location(), tid: 'a#b' }).replace('#', '\0')), 'invalid_utf8'], // raw NUL
  ['', JSON.stringify({ lat: 1, lon: 2, tst: 3 }), 'bad_type'],
  ['', JSON.stringify({ ...location(), _type: 'teleport' }), 'bad_type'],
  ['', '{"_type":"location","lat":NaN,"lon":1,"tst":1705329000}', 'invalid_json'],
  ['', '{"_type":"location","lat":1e999,"lon":1,"tst":1705329000}', 'bad_field'],
  ['', JSON.stringify({ ...location(), lat: '52.5N' }), 'bad_field'], // a string, not a plain number
  ['', JSON.stringify({ ...location(), lat: 90.5 }), 'bad_field'],
  ['', JSON.stringify({ ...location(), lon: -181 }), 'bad_field'],
  ['', JSON.stringify({ ...location(), batt: 101 }), 'bad_field'],
  ['', JSON.stringify({ ...location(), tst: -1 }), 'bad_field'],
  ['', JSON.stringify({ ...location(), tst: 95617584000 }), 'bad_field'], // year 5000
  ['', JSON.stringify({ ...location(), tst: '1705329000 ' }), 'bad_field'],
  ['', JSON.stringify({ ...location(), acc: { x: 1 } }), 'bad_field'],
  ['', JSON.stringify({ ...location(), tid: "'; DROP TABLE locations; --".repeat(3) }), 'bad_field'],
  ['/extra/level', JSON.stringify(location()), 'bad_topic'],
  ['/event', JSON.stringify(location()), 'bad_topic'], // a location on a sub-topic
];

describe('plugin: hostile input', () => {
  after(stopAll);

  it('stores and republishes only the valid messages, counts and logs the rest', async () => {
    const broker = await startBroker({ options: { max_payload: String(MAX_PAYLOAD), trusted_user: 'mytracks-bridge' } });
    const bridge = await startBridge(broker);
    const browser = await wsConnect(bridge.wsUrl);
    const sub = await collector(broker.port, 'mytracks/locations/#');
    const routed = await collector(broker.port, 'owntracks/#');
    const pub = await mqttConnect(broker.port);
    const short = await mqttConnect(broker.port);
    let valid = 0;
    let tst = 1705329000;
    for (const [suffix, payload] of hostile) {
      await pub.publishAsync(`owntracks/h/d${suffix}`, payload, { qos: 1 });
      // a valid one in between, with a hostile but well-formed tid and SSID
      await pub.publishAsync('owntracks/h/d',
        JSON.stringify(location({ tst: tst++, tid: '<b>', SSID: "x'); DROP TABLE devices;--" })), { qos: 1 });
      valid++;
    }
    // too few levels, and an empty payload (clears a retained message): not errors for the broker
    await short.publishAsync('owntracks/h', JSON.stringify(location()), { qos: 1 });
    await short.publishAsync('owntracks/h/d', '', { qos: 1, retain: true });
    // a valid report of exactly the size limit is accepted
    const base = JSON.stringify(location({ tst: tst++, pad: '' }));
    const atLimit = base.replace('"pad":""', `"pad":"${'x'.repeat(MAX_PAYLOAD - base.length)}"`);
    assert.equal(Buffer.byteLength(atLimit), MAX_PAYLOAD);
    await pub.publishAsync('owntracks/h/d', atLimit, { qos: 1 });
    valid++;
    // hostile HTTP-mode bodies through the bridge: what the plugin would
    // drop is refused there (400), never acknowledged (issue 9)
    const http = [
      ['{"_type":"location","lat":', 400], ['\u0000'.repeat(10), 400],
      [JSON.stringify({ ...location(), lat: 'x' }), 400],
      [JSON.stringify({ ...location(), tst: 95617584000 }), 400],
    ];
    for (const [body, status] of http) {
      const r = await fetch(`${bridge.url}/pub`, {
        method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Limit-U': 'h', 'X-Limit-D': 'd' },
      });
      assert.equal(r.status, status, `HTTP mode for ${JSON.stringify(body)}`);
      await r.arrayBuffer();
    }

    await waitFor(() => sub.messages.length >= valid, { what: `${valid} republished` });
    // one sentinel through each way in: whatever an earlier message there
    // would have caused has been republished before it
    const viaHttp = {
      publishAsync: async (topic, body) => {
        const [, u, d] = topic.split('/');
        const r = await fetch(`${bridge.url}/pub`, {
          method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Limit-U': u, 'X-Limit-D': d },
        });
        await r.arrayBuffer();
        assert.equal(r.status, 200, 'the HTTP-mode sentinel');
      },
    };
    for (const way of [pub, short, viaHttp]) {
      assert.equal((await untilSentinel(way, sub, 'owntracks/h/d')).length, valid);
      valid++;
    }
    assert.equal(sub.messages.length, valid);
    // and relayed to the browser, the same objects in the same order
    await waitFor(() => framesOfType(browser.frames, 'location').length >= valid, { what: 'relayed' });
    assert.deepEqual(framesOfType(browser.frames, 'location').map((f) => f.data.id),
      sub.messages.map((m) => JSON.parse(m.payload).id));
    assert.equal((await fetch(`${bridge.url}/healthz`)).status, 200);
    for (const m of sub.messages) {
      const o = JSON.parse(m.payload);
      if (o.ssid === null) continue; // the one at the size limit
      assert.equal(o.tid, '<b>');
      assert.equal(o.ssid, "x'); DROP TABLE devices;--");
    }
    // the broker routed every original message as usual
    await waitFor(() => routed.messages.length >= 2 * hostile.length + 2, { what: 'routing' });

    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === valid,
      { what: 'valid rows' });
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM devices')[0].n, 1);
    assert.equal(dbIntegrity(broker.db), 'ok');

    const expected = {};
    for (const [, , why] of hostile) expected[why] = (expected[why] ?? 0) + 1;
    expected.bad_topic += 1; // the short topic
    // the two bad HTTP-mode reports never reach the plugin: the bridge refuses them
    const stats = await waitFor(async () => {
      const c = await collector(broker.port, 'mytracks/stats');
      const m = await waitFor(() => c.messages.at(-1));
      await c.close();
      const s = JSON.parse(m.payload);
      return s.received === 2 * hostile.length + 6 && s; // with the three sentinels
    }, { what: 'stats with all messages' });
    for (const [why, n] of Object.entries(expected)) {
      assert.equal(stats.rejected_by[why], n, `rejected_by.${why}`);
    }
    assert.equal(stats.rejected, hostile.length + 1);
    assert.equal(stats.accepted, valid);
    assert.equal(stats.ignored, 1);
    // rejections are logged with their reason, rate-limited
    assert.match(broker.proc.output, /rejected message on 'owntracks\/h\/d' .*\(invalid_json\): payload is not valid JSON/);
    assert.match(broker.proc.output, /\(bad_field\): field 'batt': out of range \[0, 100\]/);
    assert.match(broker.proc.output, /more rejected messages not logged|rejected message/);
    const logged = broker.proc.output.split('\n').filter((l) => l.includes('rejected message on')).length;
    assert.ok(logged <= 20, `at most 20 rejection lines per 10 s, got ${logged}`);

    assert.equal(broker.proc.running, true);
    for (const c of [pub, short]) await c.endAsync();
    await sub.close();
    await routed.close();
    await browser.close();
    await bridge.stop();
    assert.equal(bridge.proc.exitCode, 0);
    assertNoSanitizerFindings(assert, bridge.proc);
    await broker.stop();
    assert.equal(broker.proc.exitCode, 0);
    assertNoSanitizerFindings(assert, broker.proc);
  });

  it('survives a flood of valid messages with duplicates from many clients', async () => {
    const broker = await startBroker();
    const sub = await collector(broker.port, 'mytracks/locations/#');
    const clients = await Promise.all([0, 1, 2, 3].map(() => mqttConnect(broker.port)));
    const per = 200;
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < per; k++) {
        const msg = JSON.stringify(location({ tst: 1705329000 + k }));
        // every report sent twice
        await Promise.all([
          c.publishAsync(`owntracks/flood/d${i}`, msg, { qos: 1 }),
          c.publishAsync(`owntracks/flood/d${i}`, msg, { qos: 1 }),
        ]);
      }
    }));
    await waitFor(() => sub.messages.length >= 4 * per, { timeout: 30000, what: 'all unique locations' });
    // each client's duplicates were handled before its own sentinel
    for (const [i, c] of clients.entries()) await untilSentinel(c, sub, `owntracks/flood/sentinel${i}`);
    assert.equal(sub.messages.filter((m) => !m.topic.includes('/sentinel')).length, 4 * per);
    const ids = sub.messages.map((m) => JSON.parse(m.payload).id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 4 * per + clients.length,
      { timeout: 20000 });
    for (const c of clients) await c.endAsync();
    await sub.close();
    await broker.stop();
    assertNoSanitizerFindings(assert, broker.proc);
  });

  it('never lets a client string forge a log line', async () => {
    const broker = await startBroker();
    // a literal backslash escape in the topic is escaped in turn, so it
    // cannot pass for an escaped newline
    const pub = await mqttConnect(broker.port, { clientId: 'id\\x0amytracks: forged' });
    await pub.publishAsync('owntracks/u\\x0amytracks: forged/d', 'not json', { qos: 1 });
    await waitFor(() => /rejected message on/.test(broker.proc.output));
    assert.match(broker.proc.output, /rejected message on 'owntracks\/u\\\\x0amytracks: forged\/d' from client 'id\\\\x0amytracks: forged'/);
    // a raw newline in a client id or topic never reaches the plugin
    const str = (b) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
    const packet = (type, body) => Buffer.concat([Buffer.from([type, body.length]), body]);
    const sock = net.connect(broker.port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(packet(0x10, Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, 2, 0, 30]), str(Buffer.from('x\nmytracks: forged id'))])));
    let closed = false;
    sock.once('close', () => { closed = true; });
    await waitFor(() => closed, { timeout: 5000, what: 'the broker to drop the client' });
    // a line logged after the refusal: everything before it has been read
    await pub.publishAsync('owntracks/sentinel/log', 'not json', { qos: 1 });
    await waitFor(() => /rejected message on 'owntracks\/sentinel\/log'/.test(broker.proc.output),
      { what: 'the sentinel\'s log line' });
    assert.ok(!broker.proc.output.split('\n').some((l) => /^(\d+: )?mytracks: forged/.test(l)), 'a forged line');
    await pub.endAsync();
    await broker.stop();
    assertNoSanitizerFindings(assert, broker.proc);
  });

  it('drops a client that sends a topic that is not UTF-8, and carries on', async () => {
    const broker = await startBroker();
    const sub = await collector(broker.port, 'mytracks/locations/#');
    // raw MQTT 3.1.1: CONNECT, then PUBLISH (QoS 0) on "owntracks/\xff/d"
    const str = (b) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
    const packet = (type, body) => Buffer.concat([Buffer.from([type, body.length]), body]);
    const connect = packet(0x10, Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, 2, 0, 30]), str(Buffer.from('raw'))]));
    const topic = Buffer.concat([Buffer.from('owntracks/'), Buffer.from([0xff, 0xfe]), Buffer.from('/d')]);
    const publish = packet(0x30, Buffer.concat([str(topic), Buffer.from(JSON.stringify(location()))]));
    const sock = net.connect(broker.port, '127.0.0.1');
    let closed = false;
    sock.on('close', () => { closed = true; });
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    const connack = new Promise((r) => sock.once('data', r));
    sock.write(connect);
    await connack;
    sock.write(publish);
    await waitFor(() => closed, { timeout: 5000, what: 'the broker to drop the client' });
    // the broker is up and the plugin still stores
    const pub = await mqttConnect(broker.port);
    await pub.publishAsync('owntracks/h/d', JSON.stringify(location()), { qos: 1 });
    await waitFor(() => sub.messages.length === 1);
    assert.equal(sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n, 1);
    await pub.endAsync();
    await sub.close();
    await broker.stop();
    assert.equal(broker.proc.exitCode, 0);
    assertNoSanitizerFindings(assert, broker.proc);
  });
});
