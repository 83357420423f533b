// What real phones send: payloads written from the OwnTracks booklet's
// descriptions of each app's habits, through a real broker and plugin,
// with the stored row and the republished data object checked exactly.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, mqttConnect, collector, sql, waitFor, stopAll } from '../lib/harness.mjs';

const COLS = ['tst', 'lat', 'lon', 'acc', 'alt', 'vel', 'batt', 'conn', 'tid', 'trig', 'cog', 'vac', 'bs', 'ssid', 'bssid', 'created_at', 'raw']
  .map((c) => `l.${c}`).join(', ');

describe('real phones', () => {
  let broker; let sub; let pub;
  let tst = 1705329000;
  let sentinels = 0;

  before(async () => {
    broker = await startBroker();
    sub = await collector(broker.port, 'mytracks/#');
    pub = await mqttConnect(broker.port, { clientId: 'phones' });
  });
  after(async () => {
    await pub?.endAsync();
    await sub?.close();
    await stopAll();
  });

  /** Publish, then a sentinel location after it: once the sentinel is
   * republished and stored (one writer, in order), whatever the first
   * message caused has been published and committed too. Returns the data
   * objects republished for `topic` in between. */
  async function send(topic, payload) {
    const before = sub.messages.length;
    await pub.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
    const marker = `S${++sentinels}`;
    const st = tst++;
    await pub.publishAsync('owntracks/sentinel/s', JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst: st, tid: marker }), { qos: 1 });
    await waitFor(() => sub.messages.slice(before).some((m) => m.topic === 'mytracks/locations/sentinel/s'
      && JSON.parse(m.payload).tid === marker), { what: `sentinel ${marker} republished` });
    await waitFor(() => rowOf('sentinel', 's', st), { what: `sentinel ${marker} stored` });
    const [, user, device] = topic.split('/');
    return sub.messages.slice(before).filter((m) => m.topic === `mytracks/locations/${user}/${device}`)
      .map((m) => JSON.parse(m.payload));
  }

  function rowOf(user, device, t) {
    return sql(broker.db, `SELECT ${COLS} FROM locations l JOIN devices d ON d.id = l.device_id
      WHERE d.user = '${user}' AND d.device = '${device}' AND l.tst = ${t}`)[0];
  }

  it('an iPhone on iOS 18.3 or later: lowercase ssid/bssid, regions and monitoring mode', async () => {
    const t = tst++;
    const payload = `{"_type":"location","acc":8,"alt":41,"batt":67,"bs":1,"conn":"w","created_at":${t + 2},`
      + `"lat":51.507351,"lon":-0.127758,"m":2,"tid":"ip","tst":${t},"vac":3,"vel":0,"ssid":"Flat 4",`
      + `"bssid":"a4:2b:b0:1c:9d:e2","inregions":["home"],"inrids":["5e1d8f"],"topic":"owntracks/jane/iphone"}`;
    const [obj] = await send('owntracks/jane/iphone', payload);
    assert.equal(obj.ssid, 'Flat 4');
    assert.equal(obj.bssid, 'a4:2b:b0:1c:9d:e2');
    assert.equal(obj.battery_status, 1);
    assert.equal(obj.velocity, 0);
    const row = rowOf('jane', 'iphone', t);
    assert.deepEqual({ ...row, raw: undefined }, {
      tst: t, lat: 51.507351, lon: -0.127758, acc: 8, alt: 41, vel: 0, batt: 67, conn: 'w', tid: 'ip',
      trig: null, cog: null, vac: 3, bs: 1, ssid: 'Flat 4', bssid: 'a4:2b:b0:1c:9d:e2', created_at: t + 2,
      raw: undefined,
    });
    assert.equal(row.raw, payload, 'everything the phone sent is kept, byte for byte');
  });

  it('an Android phone: upper-case SSID/BSSID', async () => {
    const t = tst++;
    const [obj] = await send('owntracks/omar/pixel', { _type: 'location', lat: 48.137154, lon: 11.576124,
      tst: t, acc: 13, conn: 'w', SSID: 'FRITZ!Box 7590', BSSID: '3c:a6:2f:00:11:22', batt: 91, bs: 2, t: 'p' });
    assert.equal(obj.ssid, 'FRITZ!Box 7590');
    assert.equal(obj.bssid, '3c:a6:2f:00:11:22');
    assert.equal(obj.trigger, 'p');
    assert.equal(rowOf('omar', 'pixel', t).ssid, 'FRITZ!Box 7590');
  });

  it('an older iPhone: -1 means "not known", and the position is kept', async () => {
    const t = tst++;
    const [obj] = await send('owntracks/li/oldphone', { _type: 'location', lat: -33.8688, lon: 151.2093,
      tst: t, acc: 65, alt: -12, vel: -1, cog: -1, batt: -1, vac: -3, conn: 'm', tid: 'li' });
    assert.ok(obj, 'the report is stored and republished');
    assert.deepEqual(
      [obj.velocity, obj.course, obj.battery_level, obj.vertical_accuracy, obj.altitude, obj.accuracy],
      [null, null, null, null, -12, 65],
    );
    const row = rowOf('li', 'oldphone', t);
    assert.deepEqual([row.vel, row.cog, row.batt, row.vac, row.alt], [null, null, null, null, -12]);
  });

  it('numbers sent as strings, as older apps and imported histories do', async () => {
    const t = tst++;
    const [obj] = await send('owntracks/ann/tablet', { _type: 'location', lat: '45.464211', lon: '9.191383',
      tst: String(t), acc: '20', batt: '55' });
    assert.equal(obj.latitude, '45.464211');
    assert.equal(obj.timestamp_unix, t);
    assert.equal(obj.accuracy, 20);
    const row = rowOf('ann', 'tablet', t);
    assert.deepEqual([row.lat, row.lon, row.acc, row.batt], [45.464211, 9.191383, 20, 55]);
    // an lwt with a string tst (older Android): stored as an lwt event, the device goes offline
    const status = sub.messages.length;
    await send('owntracks/ann/tablet', '{"_type":"lwt","tst":"1526617158"}');
    const ev = sql(broker.db, `SELECT e.type, e.tst FROM events e JOIN devices d ON d.id = e.device_id
      WHERE d.user = 'ann' AND e.type = 'lwt'`);
    assert.deepEqual(ev, [{ type: 'lwt', tst: 1526617158 }]);
    const off = sub.messages.slice(status).find((m) => m.topic === 'mytracks/status/ann/tablet');
    assert.equal(JSON.parse(off.payload).online, false);
  });

  it('a string that is not a plain number is still refused, and nothing is stored', async () => {
    const t = tst++;
    for (const bad of [{ lat: '45.5N' }, { tst: `${t}s` }, { acc: 'ten' }, { lat: '0x2d' }, { lon: '1e1' }]) {
      const got = await send('owntracks/ann/tablet', { _type: 'location', lat: 45.5, lon: 9.2, tst: t, ...bad });
      assert.deepEqual(got, [], `refused: ${JSON.stringify(bad)}`);
    }
    assert.equal(rowOf('ann', 'tablet', t), undefined);
    assert.match(broker.proc.output, /field 'lat': expected a finite number/);
  });
});
