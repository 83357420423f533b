// "Online", honestly: an HTTP-mode phone is online for
// plugin_opt_http_online_window seconds after its last location and then
// goes offline (device_status relayed); an MQTT phone while its connection
// is up; after a restart every device is offline until heard from.
// Real broker, plugin and bridge, a 2-second window.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startBroker, mqttConnect, sql, location, waitFor, stopAll,
} from '../lib/harness.mjs';
import { startBridge, getJson, wsConnect, framesOfType } from '../lib/bridge.mjs';

const WINDOW = 2;

describe('online state', () => {
  let broker; let bridge; let phone; let ws;
  const row = (user, device) => sql(broker.db, `SELECT online, last_seen, status_changed FROM devices
    WHERE user = '${user}' AND device = '${device}'`)[0];
  const statuses = (name) => framesOfType(ws.frames, 'device_status').filter((f) => f.data.device_name === name)
    .map((f) => f.data.online);

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge', http_online_window: String(WINDOW) } });
    bridge = await startBridge(broker);
    ws = await wsConnect(bridge.wsUrl);
    phone = await mqttConnect(broker.port, { clientId: 'mqtt-phone' });
  });
  after(async () => {
    await ws?.close();
    await phone?.endAsync();
    await stopAll();
  });

  it('keeps an HTTP-mode phone online for the window after its last report, then offline', async () => {
    await phone.publishAsync('owntracks/mia/phone', JSON.stringify(location({ tst: 1705329000 })), { qos: 1 });
    const post = (tst) => fetch(`${bridge.url}/pub`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'hank', 'x-limit-d': 'phone' },
      body: JSON.stringify(location({ tst })),
    });
    const started = Date.now();
    assert.equal((await post(1705329001)).status, 200);
    await waitFor(() => statuses('hank/phone').length === 1, { what: 'online' });
    // a second report within the window keeps it online and moves the window
    await waitFor(() => Date.now() - started >= 1000, { what: 'a second', timeout: 3000 });
    const second = Date.now();
    assert.equal((await post(1705329002)).status, 200);
    await waitFor(() => statuses('hank/phone').length === 2, { what: 'offline after the window', timeout: 8000 });
    const off = Date.now();
    assert.deepEqual(statuses('hank/phone'), [true, false]);
    // not before the window after the second report (the check runs once a second)
    assert.ok(off - second >= (WINDOW - 1) * 1000, `offline ${off - second} ms after the last report`);
    await waitFor(() => row('hank', 'phone').online === 0, { what: 'stored offline' });
    const dev = (await getJson(`${bridge.url}/api/devices/`)).body.results.find((d) => d.device_name === 'hank/phone');
    assert.equal(dev.online, false);
    // the MQTT phone, still connected, stays online
    assert.deepEqual(statuses('mia/phone'), [true]);
    assert.equal(row('mia', 'phone').online, 1);
    // a new report brings it back
    assert.equal((await post(1705329003)).status, 200);
    await waitFor(() => statuses('hank/phone').length === 3, { what: 'online again' });
    assert.deepEqual(statuses('hank/phone'), [true, false, true]);
  });

  it('starts with every device offline, last seen unchanged', async () => {
    await waitFor(() => row('mia', 'phone').online === 1, { what: 'mia stored online' });
    const seen = row('mia', 'phone').last_seen;
    await ws.close();
    await bridge.stop();
    // a broker that stops with phones connected may leave rows online
    await broker.stop();
    sql(broker.db, "UPDATE devices SET online = 1 WHERE user IN ('mia', 'hank')");
    await broker.start();
    bridge = await startBridge(broker);
    await waitFor(() => row('mia', 'phone').online === 0 && row('hank', 'phone').online === 0,
      { what: 'both offline after the restart' });
    assert.equal(row('mia', 'phone').last_seen, seen);
    const devs = (await getJson(`${bridge.url}/api/devices/`)).body.results;
    assert.deepEqual(devs.filter((d) => ['mia/phone', 'hank/phone'].includes(d.device_name)).map((d) => d.online),
      [false, false]);
    // heard from again: online
    ws = await wsConnect(bridge.wsUrl);
    await phone.endAsync();
    phone = await mqttConnect(broker.port, { clientId: 'mqtt-phone-2' });
    await phone.publishAsync('owntracks/mia/phone', JSON.stringify(location({ tst: 1705329100 })), { qos: 1 });
    await waitFor(() => statuses('mia/phone').includes(true), { what: 'mia online again' });
  });
});
