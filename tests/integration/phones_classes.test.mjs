// Every OwnTracks message class a phone sends, as the apps send it (written
// from the booklet's descriptions of each type, not copied fixtures),
// through a real broker and plugin: the exact stored row (events or
// locations) and the exact data object republished, or that nothing is.
// The location classes are in phones.test.mjs and extras.test.mjs, wills in
// wills.test.mjs; this suite covers transition, card, waypoint, waypoints,
// lwt, cmd and an encrypted transition.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, mqttConnect, collector, sql, location, waitFor, stopAll, tmpDir } from '../lib/harness.mjs';
import { sodiumReady, seal } from '../lib/otcrypto.mjs';

const iso = (unix) => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

describe('every message class a phone sends', () => {
  let broker; let sub; let pub;
  let sentinels = 0;
  const dir = tmpDir();

  before(async () => {
    await sodiumReady;
    const keys = path.join(dir, 'keys');
    fs.writeFileSync(keys, 'zoe:zoe secret\n', { mode: 0o600 });
    broker = await startBroker({ dir, options: { keys } });
    sub = await collector(broker.port, 'mytracks/#');
    pub = await mqttConnect(broker.port, { clientId: 'classes' });
  });
  after(async () => {
    await pub?.endAsync();
    await sub?.close();
    await stopAll();
  });

  /** Publish, then a sentinel location: once it is republished and stored
   * (one writer, in order), all the first message caused is too. Returns
   * what the plugin published in between (topic, parsed payload). */
  async function send(topic, payload) {
    const before = sub.messages.length;
    await pub.publishAsync(topic, payload, { qos: 1 });
    const st = 1705500000 + (++sentinels);
    await pub.publishAsync('owntracks/sentinel/s', JSON.stringify(location({ tst: st })), { qos: 1 });
    await waitFor(() => sub.messages.slice(before).some((m) => m.topic === 'mytracks/locations/sentinel/s'
      && JSON.parse(m.payload).timestamp_unix === st), { what: `sentinel ${st} republished` });
    await waitFor(() => sql(broker.db, `SELECT 1 AS x FROM locations WHERE tst = ${st}`).length === 1,
      { what: `sentinel ${st} stored` });
    return sub.messages.slice(before).filter((m) => !m.topic.endsWith('/sentinel/s') && !m.topic.startsWith('mytracks/stats'))
      .map((m) => ({ topic: m.topic, obj: JSON.parse(m.payload) }));
  }

  const events = (user, device) => sql(broker.db, `SELECT e.id, e.type, e.tst, e.raw, e.decrypted, e.received_at
    FROM events e JOIN devices d ON d.id = e.device_id WHERE d.user = '${user}' AND d.device = '${device}' ORDER BY e.id`);
  const devRow = (user, device) => sql(broker.db, `SELECT id, display_name, tid, online FROM devices
    WHERE user = '${user}' AND device = '${device}'`)[0];
  const strip = (rows) => rows.map(({ id, received_at: rx, ...r }) => r);
  const locs = (user) => sql(broker.db, `SELECT count(*) AS n FROM locations l JOIN devices d ON d.id = l.device_id
    WHERE d.user = '${user}'`)[0].n;

  it('transition: an iPhone entering a region (on …/event), stored and republished exactly', async () => {
    const tst = 1705329120;
    const payload = `{"_type":"transition","wtst":1704067200,"lat":48.856613,"lon":2.352222,"tst":${tst},`
      + '"acc":14,"tid":"zo","event":"enter","desc":"Home","t":"c","rid":"6582c0a9"}';
    const before = Math.floor(Date.now() / 1000);
    const out = await send('owntracks/zoe/iphone/event', payload);
    const [ev] = events('zoe', 'iphone');
    assert.deepEqual(strip([ev]), [{ type: 'transition', tst, raw: payload, decrypted: 0 }]);
    assert.ok(ev.received_at >= before && ev.received_at <= before + 5);
    const dev = devRow('zoe', 'iphone');
    assert.deepEqual(out, [{
      topic: 'mytracks/transitions/zoe/iphone',
      obj: {
        id: ev.id, device: dev.id, device_name: 'zoe/iphone', user: 'zoe', event: 'enter', desc: 'Home',
        rid: '6582c0a9', latitude: '48.856613', longitude: '2.352222', accuracy: 14,
        timestamp: iso(tst), timestamp_unix: tst, trigger: 'c',
      },
    }]);
    // a transition is an event, not a position
    assert.equal(locs('zoe'), 0);
  });

  it('transition, encrypted (an iPhone with a payload key): the plaintext is stored, marked decrypted', async () => {
    const tst = 1705329180;
    const plain = `{"_type":"transition","wtst":1704067200,"lat":48.856613,"lon":2.352222,"tst":${tst},`
      + '"acc":9,"tid":"zo","event":"leave","desc":"Home","t":"c","rid":"6582c0a9"}';
    const out = await send('owntracks/zoe/iphone/event', seal('zoe secret', plain));
    const ev = events('zoe', 'iphone').at(-1);
    assert.deepEqual(strip([ev]), [{ type: 'transition', tst, raw: plain, decrypted: 1 }]);
    assert.deepEqual(out.map((o) => o.topic), ['mytracks/transitions/zoe/iphone']);
    assert.deepEqual(out[0].obj, {
      id: ev.id, device: devRow('zoe', 'iphone').id, device_name: 'zoe/iphone', user: 'zoe', event: 'leave',
      desc: 'Home', rid: '6582c0a9', latitude: '48.856613', longitude: '2.352222', accuracy: 9,
      timestamp: iso(tst), timestamp_unix: tst, trigger: 'c',
    });
  });

  it('card: name, face and tid (on …/info) set the display name, stored and republished exactly', async () => {
    const face = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const payload = `{"_type":"card","name":"Zoë Martin","face":"${face}","tid":"zo"}`;
    const out = await send('owntracks/zoe/iphone/info', payload);
    const dev = devRow('zoe', 'iphone');
    assert.deepEqual(strip([events('zoe', 'iphone').at(-1)]), [{ type: 'card', tst: null, raw: payload, decrypted: 0 }]);
    assert.equal(dev.display_name, 'Zoë Martin');
    assert.deepEqual(out, [{
      topic: 'mytracks/cards/zoe/iphone',
      obj: { device: dev.id, device_name: 'zoe/iphone', user: 'zoe', display_name: 'Zoë Martin', tid: 'zo' },
    }]);
  });

  it('waypoint: a region the user made on the phone (on …/waypoint): stored, nothing republished', async () => {
    const payload = '{"_type":"waypoint","desc":"Office","lat":48.873792,"lon":2.295028,"rad":"120",'
      + '"tst":1704153600,"rid":"b1e4f2c7"}';
    const out = await send('owntracks/zoe/iphone/waypoint', payload);
    assert.deepEqual(strip([events('zoe', 'iphone').at(-1)]), [{ type: 'waypoint', tst: 1704153600, raw: payload, decrypted: 0 }]);
    assert.deepEqual(out, []);
  });

  it('waypoints: the phone\'s region list, as exported (on …/waypoints): stored, nothing republished', async () => {
    const payload = '{"_type":"waypoints","waypoints":['
      + '{"_type":"waypoint","desc":"Home","lat":48.856613,"lon":2.352222,"rad":80,"tst":1704067200,"rid":"6582c0a9"},'
      + '{"_type":"waypoint","desc":"Office","lat":48.873792,"lon":2.295028,"rad":120,"tst":1704153600,"rid":"b1e4f2c7"}'
      + ']}';
    const out = await send('owntracks/zoe/iphone/waypoints', payload);
    assert.deepEqual(strip([events('zoe', 'iphone').at(-1)]), [{ type: 'waypoints', tst: null, raw: payload, decrypted: 0 }]);
    assert.deepEqual(out, []);
  });

  it('lwt: sent by the phone on its base topic, stored, the device goes offline', async () => {
    await send('owntracks/zoe/iphone', JSON.stringify(location({ tst: 1705329300, tid: 'zo' })));
    assert.equal(devRow('zoe', 'iphone').online, 1);
    const payload = '{"_type":"lwt","tst":1705329000}';
    const out = await send('owntracks/zoe/iphone', payload);
    assert.deepEqual(strip([events('zoe', 'iphone').at(-1)]), [{ type: 'lwt', tst: 1705329000, raw: payload, decrypted: 0 }]);
    const dev = devRow('zoe', 'iphone');
    assert.equal(dev.online, 0);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0], {
      topic: 'mytracks/status/zoe/iphone',
      obj: {
        device: dev.id, device_name: 'zoe/iphone', user: 'zoe', online: false,
        timestamp: out[0].obj.timestamp, timestamp_unix: out[0].obj.timestamp_unix,
      },
    });
    assert.equal(out[0].obj.timestamp, iso(out[0].obj.timestamp_unix));
  });

  it('cmd: a command to the phone (on …/cmd, or a cmd on the base topic) is neither stored nor republished', async () => {
    const n = events('zoe', 'iphone').length;
    assert.deepEqual(await send('owntracks/zoe/iphone/cmd', '{"_type":"cmd","action":"reportLocation"}'), []);
    assert.deepEqual(await send('owntracks/zoe/iphone', '{"_type":"cmd","action":"setWaypoints","waypoints":'
      + '{"_type":"waypoints","waypoints":[]}}'), []);
    assert.equal(events('zoe', 'iphone').length, n);
    assert.equal(locs('zoe'), 1);
  });
});
