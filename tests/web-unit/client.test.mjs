// Unit tests: the connection state machine (LiveClient) with a virtual clock,
// a fake /api/ and fake WebSockets: backoff, polling fallback, background
// retry, catch-up after reconnect, de-duplication, restart detection.
// Part of mytracks. SPDX-License-Identifier: MIT
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveClient } from '../../web/js/client.js';
import { parseConfig } from '../../web/js/config.js';
import { Store } from '../../web/js/store.js';
import { Clock, FakeApi, FakeSockets, dataObject } from './fakes.mjs';

const WS = 'ws://127.0.0.1:8080/ws/locations/';

function setup(query = '?backoff_ms=100&poll_ms=500&ws_retry_ms=2000') {
  const clock = new Clock();
  const api = new FakeApi();
  const sockets = new FakeSockets(clock);
  const statuses = [];
  const events = [];
  const cfg = parseConfig(query);
  const store = new Store(cfg);
  const client = new LiveClient({
    config: cfg, store, url: WS, fetchJson: api.fetchJson, createSocket: sockets.create,
    setTimer: clock.setTimer, clearTimer: clock.clearTimer,
    onEvent: (kind, d) => { events.push([kind, d]); if (kind === 'status') statuses.push(d.text); },
  });
  return { clock, api, sockets, statuses, events, store, client };
}

const ids = (store) => store.activity.map((l) => l.id).sort((a, b) => a - b);

test('load: history first, then the WebSocket; Live on open; catch-up from the highest id', async () => {
  const t = setup();
  t.api.devices = [{ id: 1, user: 'alice', device: 'phone', device_name: 'alice/phone', display_name: null, tid: 'ph', online: true, last_seen_unix: 1, last_location: null }];
  t.api.add(...[1, 2, 3].map((id) => dataObject({ id })));
  await t.client.start();
  assert.deepEqual(ids(t.store), [1, 2, 3]);
  assert.equal(t.sockets.all.length, 1);
  assert.equal(t.sockets.last.url, WS);
  assert.equal(t.client.status, 'connecting');
  t.api.add(dataObject({ id: 4 })); // arrives between the history fetch and the open
  t.sockets.last.accept(1000);
  await t.clock.settle();
  assert.equal(t.client.status, 'live');
  assert.deepEqual(t.api.sinceIds(), [3]);
  assert.deepEqual(ids(t.store), [1, 2, 3, 4]);
  t.sockets.last.send({ type: 'location', data: dataObject({ id: 5 }) });
  t.sockets.last.send({ type: 'location', data: dataObject({ id: 5 }) });
  t.sockets.last.send({ type: 'location', data: dataObject({ id: 4 }) });
  assert.deepEqual(ids(t.store), [1, 2, 3, 4, 5], 'nothing doubled');
  assert.equal(t.store.highestId, 5);
  t.client.stop();
});

test('close: 5 reconnect attempts with exponential backoff, then polling every poll_ms', async () => {
  const t = setup();
  await t.client.start();
  t.sockets.last.accept(1000);
  await t.clock.settle();
  t.sockets.last.fail();
  await t.clock.settle();
  assert.equal(t.client.status, 'reconnecting');
  assert.equal(t.client.attempt, 1);
  const delays = [];
  for (let n = 1; n <= 5; n++) {
    const before = t.sockets.all.length;
    const start = t.clock.now;
    while (t.sockets.all.length === before) await t.clock.advance(10);
    delays.push(t.clock.now - start);
    assert.equal(t.client.attempt, n);
    assert.equal(t.statuses.at(-1), `Reconnecting (attempt ${n} of 5)`);
    t.sockets.last.fail();
    await t.clock.settle();
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600]);
  assert.equal(t.client.status, 'polling');
  assert.deepEqual(t.client.snapshot().statusLog, ['Live', 'Reconnecting (attempt 1 of 5)', 'Reconnecting (attempt 2 of 5)',
    'Reconnecting (attempt 3 of 5)', 'Reconnecting (attempt 4 of 5)', 'Reconnecting (attempt 5 of 5)', 'Polling']);
  assert.equal(t.statuses.at(-1), 'Polling');
  // polls: since_id=<highest>, every 500 ms
  t.api.add(dataObject({ id: 1 }));
  const polls0 = t.client.counters.polls;
  await t.clock.advance(1000);
  assert.equal(t.client.counters.polls - polls0, 2);
  assert.deepEqual(ids(t.store), [1]);
  assert.equal(t.sockets.all.length, 6, 'no WebSocket try before ws_retry_ms');
  t.client.stop();
});

test('while polling, the WebSocket is retried in the background and Live resumes', async () => {
  const t = setup('?backoff_ms=100&poll_ms=500&ws_retry_ms=2000&max_attempts=2');
  await t.client.start();
  t.sockets.last.fail();
  await t.clock.advance(100); t.sockets.last.fail();
  await t.clock.advance(200); t.sockets.last.fail();
  await t.clock.settle();
  assert.equal(t.client.status, 'polling');
  const n = t.sockets.all.length;
  await t.clock.advance(1999);
  assert.equal(t.sockets.all.length, n);
  await t.clock.advance(1);
  assert.equal(t.sockets.all.length, n + 1, 'background try after ws_retry_ms');
  t.sockets.last.fail(); // still broken: keep polling, no reconnect cycle
  await t.clock.settle();
  assert.equal(t.client.status, 'polling');
  assert.equal(t.client.attempt, 2);
  await t.clock.advance(2000);
  assert.equal(t.sockets.all.length, n + 2, 'and again after another ws_retry_ms');
  t.api.add(dataObject({ id: 7 }));
  t.sockets.last.accept(1000);
  await t.clock.settle();
  assert.equal(t.client.status, 'live');
  assert.equal(t.client.polling, false);
  assert.equal(t.client.attempt, 0, 'a working connection resets the attempts');
  assert.deepEqual(ids(t.store), [7], 'catch-up after switching back to Live');
  const polls = t.client.counters.polls;
  await t.clock.advance(5000);
  assert.equal(t.client.counters.polls, polls, 'polling stopped');
  t.client.stop();
});

test('a server that accepts and drops at once counts as a failed attempt (no endless reconnect loop)', async () => {
  const t = setup();
  await t.client.start();
  t.sockets.onCreate = (s) => t.clock.setTimer(() => { s.accept(); s.fail(); }, 0);
  t.sockets.last.accept(); t.sockets.last.fail();
  await t.clock.advance(100 + 200 + 400 + 800 + 1600 + 50);
  assert.equal(t.client.status, 'polling');
  assert.equal(t.sockets.all.length, 6);
  t.client.stop();
});

test('a connection that worked resets the attempt counter when it closes', async () => {
  const t = setup();
  await t.client.start();
  t.sockets.last.fail();
  await t.clock.advance(100);
  t.sockets.last.fail();
  await t.clock.advance(200);
  assert.equal(t.client.attempt, 2);
  t.sockets.last.accept(1000); // welcome: working
  await t.clock.settle();
  assert.equal(t.client.attempt, 0);
  t.sockets.last.fail();
  await t.clock.settle();
  assert.equal(t.client.attempt, 1);
  assert.deepEqual(t.clock.pending().filter((d) => d > 0 && d <= 100), [100], 'back to the first delay');
  t.client.stop();
});

test('an open socket with no messages at all counts as working after stable_ms', async () => {
  const t = setup('?backoff_ms=100&stable_ms=1000');
  await t.client.start();
  t.sockets.last.fail();
  await t.clock.advance(100);
  t.sockets.last.accept();
  await t.clock.advance(1000);
  assert.equal(t.client.attempt, 0);
  t.client.stop();
});

test('nothing is missed or doubled across an outage', async () => {
  const t = setup();
  t.api.add(...[1, 2].map((id) => dataObject({ id })));
  await t.client.start();
  t.sockets.last.accept(1000);
  await t.clock.settle();
  t.api.add(dataObject({ id: 3 }));
  t.sockets.last.send({ type: 'location', data: t.api.locations[2] });
  t.sockets.last.fail();
  // during the outage the server stores 4..2600 (more than one page)
  t.api.add(...Array.from({ length: 2597 }, (_, i) => dataObject({ id: i + 4, device: 1 + (i % 3) })));
  await t.clock.advance(100);
  t.sockets.last.accept(1000);
  t.sockets.last.send({ type: 'location', data: dataObject({ id: 2601 }) });
  t.api.add(dataObject({ id: 2601 }));
  await t.clock.settle();
  assert.equal(t.store.highestId, 2601);
  const all = [...t.store.devices.values()].flatMap((d) => d.track.map((l) => l.id));
  assert.equal(all.length, new Set(all).size, 'no id twice in the tracks');
  assert.equal(t.store.seen.size, 2601, 'every id seen once');
  assert.deepEqual(t.api.sinceIds(), [2, 3, 1003, 2003], 'paged with next_since_id');
  assert.equal(t.store.activity[0].id, 2601);
  assert.equal(t.store.activity.length, 100);
  t.client.stop();
});

test('polls that fail show Offline; the next good poll shows Polling again', async () => {
  const t = setup('?backoff_ms=10&poll_ms=500&ws_retry_ms=60000&max_attempts=1');
  await t.client.start();
  t.api.down = true;
  t.sockets.last.fail();
  await t.clock.advance(10);
  t.sockets.last.fail();
  await t.clock.settle();
  assert.equal(t.client.status, 'offline');
  await t.clock.advance(500);
  assert.equal(t.client.status, 'offline');
  t.api.down = false;
  t.api.add(dataObject({ id: 1 }));
  await t.clock.advance(500);
  assert.equal(t.client.status, 'polling');
  assert.deepEqual(ids(t.store), [1], 'history loaded once the API answered');
  t.client.stop();
});

test('welcome with a new server_startup reloads history; the same one does not', async () => {
  const t = setup();
  t.api.add(...[1, 2, 3].map((id) => dataObject({ id })));
  await t.client.start();
  t.sockets.last.accept(1000);
  await t.clock.settle();
  t.sockets.last.fail();
  await t.clock.advance(100);
  t.sockets.last.accept(1000);
  await t.clock.settle();
  assert.equal(t.client.counters.resets, 0);
  // the server restarted with a fresh database: ids start again
  t.api.locations = [];
  t.api.add(dataObject({ id: 1, latitude: '1.000000' }));
  t.sockets.last.fail();
  await t.clock.advance(100);
  t.sockets.last.accept(2000);
  await t.clock.settle();
  assert.equal(t.client.counters.resets, 1);
  assert.equal(t.client.serverStartup, 2000);
  assert.deepEqual(ids(t.store), [1]);
  assert.equal(t.store.activity[0].lat, 1);
  assert.equal(t.store.highestId, 1);
  assert.ok(t.events.some(([k]) => k === 'reset'));
  t.client.stop();
});

test('device_status, card and transition update devices; unknown and malformed messages are ignored', async () => {
  const t = setup();
  await t.client.start();
  const s = t.sockets.last;
  s.accept(1000);
  s.send({ type: 'location', data: dataObject({ id: 1 }) });
  s.send({ type: 'device_status', data: { device: 1, device_name: 'alice/phone', user: 'alice', online: false, timestamp: '2030-01-01T00:00:00Z', timestamp_unix: 1893456000 } });
  assert.equal(t.store.devices.get(1).online, false);
  s.send({ type: 'card', data: { device: 1, device_name: 'alice/phone', user: 'alice', display_name: 'Alice', tid: 'AL' } });
  assert.equal(t.store.devices.get(1).displayName, 'Alice');
  s.send({ type: 'transition', data: { id: 1, device: 1, device_name: 'alice/phone', user: 'alice', event: 'leave', desc: 'Work', timestamp_unix: 10 } });
  assert.equal(t.store.devices.get(1).transition.desc, 'Work');
  const before = JSON.stringify(t.client.snapshot());
  assert.equal(t.client.handleMessage('{"type":"mystery","data":{"id":99}}'), null);
  assert.equal(t.client.handleMessage('not json'), null);
  assert.equal(t.client.handleMessage('{"type":"location","data":{"id":"x"}}'), 'location');
  assert.equal(t.client.handleMessage('[1,2]'), null);
  const after = JSON.parse(JSON.stringify(t.client.snapshot()));
  assert.equal(after.highestId, JSON.parse(before).highestId);
  assert.equal(after.activity, 1);
  t.client.stop();
});

test('the initial history failing does not stop the page: it loads once the socket opens', async () => {
  const t = setup();
  t.api.down = true;
  await t.client.start();
  assert.equal(t.sockets.all.length, 1);
  t.api.down = false;
  t.api.add(...[1, 2].map((id) => dataObject({ id })));
  t.sockets.last.accept(1000);
  await t.clock.settle();
  assert.deepEqual(ids(t.store), [1, 2]);
  assert.deepEqual(t.api.sinceIds(), [], 'latest history, not since_id=0');
  t.client.stop();
});

test('stop() cancels every timer and the socket', async () => {
  const t = setup();
  await t.client.start();
  t.sockets.last.fail();
  await t.clock.settle();
  t.client.stop();
  assert.deepEqual(t.clock.pending().filter((d) => d > 0), []);
  await t.clock.advance(100000);
  assert.equal(t.sockets.all.length, 1);
});
