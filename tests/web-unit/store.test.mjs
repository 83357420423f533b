// Unit tests: de-duplication, since-id bookkeeping, bounded lists (Store).
// Part of mytracks. SPDX-License-Identifier: MIT
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store, normalizeLocation } from '../../web/js/store.js';
import { dataObject } from './fakes.mjs';

test('a location id is accepted once; highestId is the largest id seen', () => {
  const s = new Store();
  assert.equal(s.highestId, 0);
  assert.equal(s.addLocation(dataObject({ id: 5 })).added, true);
  assert.equal(s.addLocation(dataObject({ id: 5 })).added, false);
  assert.equal(s.addLocation(dataObject({ id: 3 })).added, true, 'an older id not seen before is still new');
  assert.equal(s.highestId, 5);
  assert.equal(s.addLocation(dataObject({ id: 9 })).added, true);
  assert.equal(s.highestId, 9);
  assert.deepEqual(s.activity.map((l) => l.id), [9, 5, 3]);
  assert.equal(s.devices.get(1).track.length, 3);
});

test('invalid data objects are dropped without touching the state', () => {
  const s = new Store();
  for (const bad of [null, 'x', {}, dataObject({ id: 0 }), dataObject({ id: -1 }), dataObject({ id: 1.5 }),
    dataObject({ id: 7, latitude: '91.000000' }), dataObject({ id: 8, longitude: 'abc' }),
    dataObject({ id: 9, device: null }), dataObject({ id: 10, latitude: null })]) {
    assert.equal(s.addLocation(bad).added, false, JSON.stringify(bad));
  }
  assert.equal(s.highestId, 0);
  assert.equal(s.activity.length, 0);
  assert.equal(s.devices.size, 0);
  assert.equal(normalizeLocation(dataObject({ id: 3, latitude: '-90.000000', longitude: '180.000000' })).lat, -90);
});

test('Live Activity keeps the 100 newest rows, newest first, whatever the arrival order', () => {
  const s = new Store({ panelSize: 100 });
  const ids = Array.from({ length: 250 }, (_, i) => i + 1);
  // shuffled deterministically
  ids.sort((a, b) => ((a * 7919) % 251) - ((b * 7919) % 251));
  for (const id of ids) s.addLocation(dataObject({ id }));
  assert.equal(s.activity.length, 100);
  assert.deepEqual(s.activity.map((l) => l.id), Array.from({ length: 100 }, (_, i) => 250 - i));
  assert.equal(s.highestId, 250);
});

test('tracks are bounded and ordered by fix time; the marker shows the latest fix', () => {
  const s = new Store({ trackLength: 10 });
  for (let i = 1; i <= 30; i++) s.addLocation(dataObject({ id: i, timestamp_unix: 1000 + i }));
  const dev = s.devices.get(1);
  assert.equal(dev.track.length, 10);
  assert.deepEqual(dev.track.map((l) => l.id), [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  // a phone flushing its queue: a newer id with an older fix time
  s.addLocation(dataObject({ id: 31, timestamp_unix: 1025, latitude: '10.000000' }));
  assert.equal(dev.last.id, 30, 'an older fix does not move the marker back');
  assert.deepEqual(dev.track.map((l) => l.ts).slice(-3), [1028, 1029, 1030]);
  assert.ok(dev.track.some((l) => l.id === 31));
  assert.equal(s.highestId, 31);
});

test('devices: list entries, cards, status events, per-device tracks', () => {
  const s = new Store();
  s.applyDevice({ id: 1, user: 'alice', device: 'phone', device_name: 'alice/phone', display_name: null, tid: 'ph', online: false, last_seen_unix: 100, last_location: null });
  s.addLocation(dataObject({ id: 1, device: 2, device_name: 'bob/car', user: 'bob', tid: 'bc' }));
  assert.equal(s.devices.size, 2);
  assert.equal(s.devices.get(2).name, 'bob/car');
  assert.equal(s.devices.get(2).online, true, 'a live location marks its device online');
  s.applyCard({ device: 1, device_name: 'alice/phone', user: 'alice', display_name: 'Alice', tid: 'AL' });
  assert.equal(s.devices.get(1).displayName, 'Alice');
  assert.equal(s.devices.get(1).tid, 'AL');
  s.applyStatus({ device: 2, device_name: 'bob/car', user: 'bob', online: false, timestamp: 'x', timestamp_unix: 2000000000 });
  assert.equal(s.devices.get(2).online, false);
  s.applyStatus({ device: 2, online: true, timestamp_unix: 1 });
  assert.equal(s.devices.get(2).online, false, 'an older status event does not override a newer one');
  s.applyTransition({ device: 1, event: 'enter', desc: 'Home', timestamp_unix: 5 });
  assert.deepEqual(s.devices.get(1).transition, { event: 'enter', desc: 'Home', ts: 5 });
  // history (not live) does not flip online flags
  s.addLocation(dataObject({ id: 2, device: 1 }), { live: false });
  assert.equal(s.devices.get(1).online, false);
});

test('last heard (receive time) and the newest fix (fix time) are kept apart', () => {
  const s = new Store();
  const iso = (unix) => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
  s.applyDevice({ id: 1, user: 'ann', device: 'phone', device_name: 'ann/phone', online: false, last_seen_unix: 1705329000,
    last_location: dataObject({ id: 5, device: 1, timestamp_unix: 1705328990 }) });
  assert.deepEqual([s.devices.get(1).heardUnix, s.devices.get(1).fixUnix], [1705329000, 1705328990]);
  // a 2017 fix sent late, received now: heard now, the newest fix is still the newer one
  s.addLocation(dataObject({ id: 6, device: 1, timestamp_unix: 1495095540, received_at: iso(1705329050) }));
  assert.deepEqual([s.devices.get(1).heardUnix, s.devices.get(1).fixUnix], [1705329050, 1705328990]);
  // a device whose only fix is from 2017: fix 2017, heard at the receive time
  s.addLocation(dataObject({ id: 7, device: 2, device_name: 'ann/old', timestamp_unix: 1495095540, received_at: iso(1705329060) }));
  assert.deepEqual([s.devices.get(2).heardUnix, s.devices.get(2).fixUnix], [1705329060, 1495095540]);
  // history (it may hold imports, received at the import) moves only the fix time
  s.addLocation(dataObject({ id: 8, device: 3, device_name: 'ann/imp', timestamp_unix: 1495000000, received_at: iso(1705329070) }), { live: false });
  assert.deepEqual([s.devices.get(3).heardUnix, s.devices.get(3).fixUnix], [null, 1495000000]);
  // going offline (closed connection, HTTP window) is not news from the phone
  s.applyStatus({ device: 1, online: false, timestamp_unix: 1705330000 });
  assert.equal(s.devices.get(1).heardUnix, 1705329050);
});

test("the device list's last location places a device but does not move highestId", () => {
  const s = new Store();
  s.addLocation(dataObject({ id: 10 }));
  s.applyDevice({ id: 3, user: 'c', device: 'd', device_name: 'c/d', online: true, last_seen_unix: 5,
    last_location: dataObject({ id: 15, device: 3, device_name: 'c/d' }) });
  assert.equal(s.highestId, 10, 'since_id must stay 10 so ids 11..14 are still fetched');
  assert.equal(s.devices.get(3).last.id, 15);
  assert.equal(s.hasSeen(15), false);
  // when 15 arrives for real it is drawn once, not twice
  assert.equal(s.addLocation(dataObject({ id: 15, device: 3, device_name: 'c/d' })).added, true);
  assert.equal(s.devices.get(3).track.length, 1);
  assert.equal(s.highestId, 15);
  assert.deepEqual(s.activity.map((l) => l.id), [15, 10]);
});

test('clear() forgets everything (server restart)', () => {
  const s = new Store();
  s.addLocation(dataObject({ id: 50 }));
  s.clear();
  assert.equal(s.highestId, 0);
  assert.equal(s.addLocation(dataObject({ id: 50 })).added, true, 'a fresh database may reuse ids');
});

test('the seen-id set is bounded; forgotten old ids still count as seen', () => {
  const s = new Store({ seenLimit: 100 });
  for (let i = 1; i <= 1000; i++) s.addLocation(dataObject({ id: i }));
  assert.ok(s.seen.size <= 100, `seen holds ${s.seen.size}`);
  assert.equal(s.addLocation(dataObject({ id: 3 })).added, false);
  assert.equal(s.addLocation(dataObject({ id: 999 })).added, false);
  assert.equal(s.addLocation(dataObject({ id: 1001 })).added, true);
});

test('deleted events drop a fix, a time range or a whole device', () => {
  const s = new Store();
  for (let i = 1; i <= 6; i++) s.addLocation(dataObject({ id: i, timestamp_unix: 1000 + i * 10 }));
  s.addLocation(dataObject({ id: 7, device: 2, device_name: 'bob/phone', timestamp_unix: 1030 }));
  const dev = s.devices.get(1);
  // the newest fix: the marker goes back to the one before
  assert.equal(s.applyDeleted({ device: 1, id: 6, deleted: 1 }), 1);
  assert.equal(dev.last.id, 5);
  assert.equal(s.activity.some((l) => l.id === 6), false);
  // a range, inclusive at both ends; bob's fix at the same time stays
  s.applyDeleted({ device: 1, from: 1020, to: 1040, deleted: 3 });
  assert.deepEqual(dev.track.map((l) => l.id), [1, 5]);
  assert.deepEqual(s.activity.map((l) => l.id).sort(), [1, 5, 7]);
  // the whole device
  assert.equal(s.applyDeleted({ device: 1, all: true, deleted: 2 }), 1);
  assert.equal(s.devices.has(1), false);
  assert.deepEqual(s.activity.map((l) => l.id), [7]);
  // nonsense changes nothing
  for (const bad of [null, {}, { device: 2 }, { device: 2, from: 'a', to: 2 }, { device: 'x', all: true }]) {
    assert.equal(s.applyDeleted(bad), null);
  }
  assert.equal(s.devices.get(2).track.length, 1);
});
