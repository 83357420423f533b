// The data object's extra keys (inregions, inrids, poi, tag,
// monitoring_mode, source): taken from what the phone sent, the same bytes
// live (the plugin's object, relayed) and from history (the bridge reads
// them from the stored raw report with the same parser).
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, mqttConnect, sql, waitFor, stopAll } from '../lib/harness.mjs';
import { startBridge, getJson, wsConnect } from '../lib/bridge.mjs';

describe('data object extra keys', () => {
  let broker; let bridge; let pub; let ws;

  before(async () => {
    broker = await startBroker();
    bridge = await startBridge(broker);
    pub = await mqttConnect(broker.port, { clientId: 'extras' });
    ws = await wsConnect(bridge.wsUrl);
  });
  after(async () => {
    await ws?.close();
    await pub?.endAsync();
    await stopAll();
  });

  it('keeps regions, POI, tag, monitoring mode and source, live and in history alike', async () => {
    // an iPhone at a point of interest inside two regions, in move mode;
    // escapes and non-ASCII on purpose, a number among the region names
    const full = '{"_type":"location","lat":48.858370,"lon":2.294481,"tst":1705329100,"acc":5,'
      + '"tid":"ip","m":2,"inregions":["Home","Caf\\u00e9 \\"Zinc\\"",7],"inrids":["a1b2c3","d4e5f6"],'
      + '"poi":"Tour Eiffel","tag":"holiday","source":"gps","topic":"owntracks/xena/iphone"}';
    // an older Android in quiet mode, nothing else extra
    const quiet = { _type: 'location', lat: 1.5, lon: 2.5, tst: 1705329200, m: -1, inregions: [] };
    // wrong types are left out, the report is still taken
    const odd = { _type: 'location', lat: 3.5, lon: 4.5, tst: 1705329300, m: 'move', poi: 12, tag: ['x'], inrids: 'a1' };
    for (const p of [full, JSON.stringify(quiet), JSON.stringify(odd)]) {
      await pub.publishAsync('owntracks/xena/iphone', p, { qos: 1 });
    }
    const live = await waitFor(() => {
      const f = ws.frames.map((x) => JSON.parse(x)).filter((m) => m.type === 'location'
        && m.data.device_name === 'xena/iphone');
      return f.length === 3 ? f.map((m) => m.data) : null;
    }, { what: 'three live locations' });
    const tail = (o) => {
      const keys = Object.keys(o);
      return Object.fromEntries(keys.slice(keys.indexOf('received_at') + 1).map((k) => [k, o[k]]));
    };
    assert.deepEqual(Object.keys(live[0]).slice(-7),
      ['received_at', 'inregions', 'inrids', 'poi', 'tag', 'monitoring_mode', 'source']);
    assert.deepEqual(tail(live[0]), {
      inregions: ['Home', 'Café "Zinc"'], inrids: ['a1b2c3', 'd4e5f6'], poi: 'Tour Eiffel',
      tag: 'holiday', monitoring_mode: 2, source: 'gps',
    });
    assert.deepEqual(tail(live[1]), {
      inregions: [], inrids: null, poi: null, tag: null, monitoring_mode: -1, source: null,
    });
    assert.deepEqual(tail(live[2]), {
      inregions: null, inrids: null, poi: null, tag: null, monitoring_mode: null, source: null,
    });
    // raw keeps everything as sent
    await waitFor(() => sql(broker.db, "SELECT COUNT(*) AS n FROM locations WHERE tst >= 1705329100 AND tst <= 1705329300")[0].n === 3,
      { what: 'three stored rows' });
    assert.equal(sql(broker.db, 'SELECT raw FROM locations WHERE tst = 1705329100')[0].raw, full);

    // history: the same bytes, from the page API and the devices list
    const hist = await getJson(`${bridge.url}/api/locations/?device=xena/iphone`);
    assert.equal(hist.status, 200);
    assert.deepEqual(hist.body.results.map((r) => JSON.stringify(r)), live.map((d) => JSON.stringify(d)));
    const devs = await getJson(`${bridge.url}/api/devices/`);
    const dev = devs.body.results.find((d) => d.device_name === 'xena/iphone');
    assert.equal(JSON.stringify(dev.last_location), JSON.stringify(live[2]));
    // and the GeoJSON export's properties
    const gj = await getJson(`${bridge.url}/api/locations/?device=xena/iphone&format=geojson&start_time=1705329000&end_time=1705329400`);
    assert.equal(gj.status, 200);
    assert.deepEqual(gj.body.features[0].properties.inregions, ['Home', 'Café "Zinc"']);
  });
});
