// Unit tests: the page's view model (web/js/view.js): device order and
// texts, popup and activity fields, and what each LiveClient event makes
// the next render redraw.
// Part of mytracks. SPDX-License-Identifier: MIT
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../web/js/store.js';
import {
  RenderPlan, activityFields, deviceMeta, deviceState, needsFit, popupPairs, sortDevices, transitionText,
  viewAction,
} from '../../web/js/view.js';
import { dataObject } from './fakes.mjs';
import { formatTime } from '../../web/js/format.js';

const NOW = Date.UTC(2024, 0, 15, 15, 0, 0);

function dev(fields) {
  return {
    id: 1, name: 'alice/phone', displayName: null, tid: null, online: null, heardUnix: null, fixUnix: null,
    transition: null, ...fields,
  };
}

test('devices sort by label, then by id, whatever order they came in', () => {
  const list = [
    dev({ id: 3, name: 'bob/phone' }),
    dev({ id: 2, name: 'zed/tab', displayName: 'Anna' }),
    dev({ id: 5, name: 'bob/phone' }),
    dev({ id: 1, name: 'alice/phone' }),
  ];
  assert.deepEqual(sortDevices(list).map((d) => d.id), [1, 2, 3, 5]);
  assert.deepEqual(list.map((d) => d.id), [3, 2, 5, 1], 'the input is not reordered');
});

test('device state and the meta line', () => {
  assert.equal(deviceState(dev({ online: true })), 'online');
  assert.equal(deviceState(dev({ online: false })), 'offline');
  assert.equal(deviceState(dev({})), 'unknown');
  assert.equal(deviceMeta(dev({}), NOW), 'never heard from');
  assert.equal(
    deviceMeta(dev({ displayName: 'Alice', tid: 'AP', heardUnix: NOW / 1000 - 300, fixUnix: NOW / 1000 - 302 }), NOW),
    'alice/phone · tid AP · last heard 5 min ago',
  );
  // the name is not repeated when it is the label
  assert.equal(deviceMeta(dev({ tid: 'AP', heardUnix: NOW / 1000 }), NOW), 'tid AP · last heard just now');
});

test('last heard and the fix time are never confused', () => {
  const now = NOW / 1000;
  // a 2017 fix sent (or imported) 49 s ago: heard 49 s ago, the fix is from 2017
  const fix2017 = formatTime(1495095540, NOW); // local time: 2017-05-18 08:19 in UTC
  assert.match(fix2017, /^2017-05-1\d \d\d:\d\d$/);
  assert.equal(deviceMeta(dev({ heardUnix: now - 49, fixUnix: 1495095540 }), NOW),
    `last heard 49 s ago · fix of ${fix2017}`);
  // a phone's backlog of this morning, delivered now
  assert.match(deviceMeta(dev({ heardUnix: now - 2, fixUnix: now - 3 * 3600 }), NOW),
    /^last heard just now · fix of \d\d:\d\d:\d\d$/);
  // only a fix known (history, no device row yet): no "heard" claimed
  assert.equal(deviceMeta(dev({ fixUnix: 1495095540 }), NOW), `fix of ${fix2017}`);
  // within two minutes of each other: one text
  assert.equal(deviceMeta(dev({ heardUnix: now - 60, fixUnix: now - 170 }), NOW), 'last heard 1 min ago');
});

test('transition text: entered/left, unknown events as sent, a region without a name', () => {
  const ts = NOW / 1000 - 60;
  assert.equal(transitionText(dev({}), NOW), null);
  assert.match(transitionText(dev({ transition: { event: 'enter', desc: 'Home', ts } }), NOW), /^entered Home · \d\d:\d\d:\d\d$/);
  assert.match(transitionText(dev({ transition: { event: 'leave', desc: '', ts } }), NOW), /^left a region · /);
  assert.match(transitionText(dev({ transition: { event: 'dwell', desc: 'Work', ts } }), NOW), /^dwell Work · /);
});

test('popup pairs: optional rows only when known', () => {
  const loc = { ts: NOW / 1000, lat: 52.5, lon: 13.4, accuracy: 9.6, velocity: 12, battery_level: 80, connection_type: 'm', altitude: null, ssid: null };
  const keys = (pairs) => pairs.map(([k]) => k);
  assert.deepEqual(keys(popupPairs(dev({}), loc, NOW)), ['Device', 'Fix time', 'Position', 'Accuracy', 'Speed', 'Battery', 'Connection']);
  // received at about the fix time: no second time; received much later: both, labelled
  assert.equal(keys(popupPairs(dev({}), { ...loc, received_at: '2024-01-15T15:01:00Z' }, NOW)).length, 7);
  const late = Object.fromEntries(popupPairs(dev({}), { ...loc, ts: 1495095540, received_at: '2024-01-15T14:59:11Z' }, NOW));
  assert.equal(late['Fix time'], formatTime(1495095540, NOW));
  assert.equal(late.Received, formatTime(Date.UTC(2024, 0, 15, 14, 59, 11) / 1000, NOW));
  assert.deepEqual(keys(popupPairs(dev({}), { ...loc, ts: 1495095540, received_at: '2024-01-15T14:59:11Z' }, NOW)).slice(0, 3),
    ['Device', 'Fix time', 'Received']);
  const full = popupPairs(dev({ online: false }), { ...loc, altitude: 34, ssid: 'home-net' }, NOW);
  assert.deepEqual(keys(full).slice(7), ['Altitude', 'SSID', 'Status']);
  assert.deepEqual(Object.fromEntries(full).Position, '52.500000, 13.400000');
  assert.deepEqual(Object.fromEntries(full).Status, 'offline');
  assert.deepEqual(Object.fromEntries(full).Connection, 'Mobile');
  // regions and the point of interest the phone reported, as text
  const at = popupPairs(dev({}), { ...loc, inregions: ['Home', 7, '', '<b>Work</b>'], poi: 'Café' }, NOW);
  assert.deepEqual(at.slice(7), [['Regions', 'Home, <b>Work</b>'], ['POI', 'Café']]);
  assert.deepEqual(keys(popupPairs(dev({}), { ...loc, inregions: [], poi: null }, NOW)).length, 7);
  assert.deepEqual(activityFields(loc), [['pos', '52.500000, 13.400000'], ['acc', '±10 m'], ['speed', '12 km/h'], ['batt', 'batt 80%']]);
});

test('render plan: live locations mark their device dirty and follow the newest position', () => {
  const store = new Store();
  const plan = new RenderPlan();
  plan.done();
  const a = store.addLocation(dataObject({ id: 10, device: 1, timestamp_unix: 1000 })).loc;
  const b = store.addLocation(dataObject({ id: 11, device: 2, timestamp_unix: 1001 })).loc;
  assert.equal(plan.apply('locations', { added: [a, b], live: true }, store, { drawn: (id) => id === 1 }), true);
  assert.deepEqual([...plan.dirty].sort(), [1, 2]);
  assert.deepEqual([...plan.fresh].sort(), [10, 11]);
  assert.equal(plan.devicesChanged, true, 'device 2 has no marker yet: the list changes');
  assert.equal(plan.follow.id, 11);
  plan.done();
  assert.equal(plan.dirty.size + plan.fresh.size, 0);
  assert.equal(plan.follow, null);
  assert.equal(plan.devicesChanged, false);
});

test('render plan: a late older fix does not pull the map back; history is not fresh', () => {
  const store = new Store();
  const plan = new RenderPlan();
  plan.done();
  store.addLocation(dataObject({ id: 20, device: 1, timestamp_unix: 2000 }));
  const late = store.addLocation(dataObject({ id: 21, device: 1, timestamp_unix: 1500 })).loc;
  plan.apply('locations', { added: [late], live: true }, store);
  assert.equal(plan.follow.id, 20, 'follows the device\'s current position');
  assert.equal(plan.devicesChanged, false, 'a drawn device does not rebuild the list');
  plan.done();
  const old = store.addLocation(dataObject({ id: 5, device: 1, timestamp_unix: 100 }), { live: false }).loc;
  plan.apply('locations', { added: [old], live: false }, store);
  assert.equal(plan.fresh.size, 0);
  assert.equal(plan.follow, null);
});

test('render plan: reset and device events redraw everything; reset re-fits only when following', () => {
  const store = new Store();
  store.addLocation(dataObject({ id: 1, device: 1 }));
  store.addLocation(dataObject({ id: 2, device: 7 }));
  const plan = new RenderPlan();
  plan.fitted = true;
  plan.done();
  assert.equal(plan.apply('devices', {}, store), true);
  assert.deepEqual([...plan.dirty].sort((x, y) => x - y), [1, 7]);
  plan.done();
  plan.apply('reset', {}, store, { following: true });
  assert.equal(plan.fitted, false, 'following: fit the reloaded devices');
  plan.fitted = true;
  plan.apply('reset', {}, store, { following: false });
  assert.equal(plan.fitted, true, 'panned away: leave the view alone');
  assert.equal(plan.apply('welcome', {}, store), false);
});

test('needsFit: a device near or past the edge of the map needs a fit', () => {
  const size = { x: 800, y: 600 };
  assert.equal(needsFit([], size), false);
  assert.equal(needsFit([{ x: 400, y: 300 }, { x: 20, y: 580 }], size), false, 'on the margin is in view');
  assert.equal(needsFit([{ x: 400, y: 300 }, { x: 19, y: 300 }], size), true);
  assert.equal(needsFit([{ x: 400, y: 581 }], size), true);
  assert.equal(needsFit([{ x: -5000, y: 300 }], size), true, 'far off the map');
  assert.equal(needsFit([{ x: 795, y: 5 }], size, 0), false, 'margin 0');
  assert.equal(needsFit([{ x: NaN, y: 300 }], size), true, 'no position on screen');
});

test('viewAction: fit every device until the user moves the map', () => {
  const size = { x: 800, y: 600 };
  const inside = [{ x: 100, y: 100 }, { x: 700, y: 500 }];
  const outside = [{ x: 100, y: 100 }, { x: 900, y: 500 }];
  const base = { follow: true, fitted: true, changed: true, size };
  // first sight: fit, whether or not all is in view already
  assert.equal(viewAction({ ...base, fitted: false, points: inside }), 'fit');
  assert.equal(viewAction({ ...base, fitted: false, points: [] }), null, 'nothing to fit yet');
  // then: fit again only when a device leaves the view
  assert.equal(viewAction({ ...base, points: inside }), null);
  assert.equal(viewAction({ ...base, points: outside }), 'fit');
  assert.equal(viewAction({ ...base, changed: false, points: outside }), null, 'nothing moved');
  // the user moved the map: never, not even on first sight
  assert.equal(viewAction({ ...base, follow: false, points: outside }), null);
  assert.equal(viewAction({ ...base, follow: false, fitted: false, points: outside }), null);
});

test('viewAction: a followed device is panned to, others leave the map alone', () => {
  const size = { x: 800, y: 600 };
  const points = [{ x: 100, y: 100 }, { x: 900, y: 500 }];
  const base = { follow: true, fitted: true, changed: true, size, points, focused: 7 };
  assert.equal(viewAction({ ...base, newest: { device: 7 } }), 'pan');
  assert.equal(viewAction({ ...base, newest: { device: 8 } }), null);
  assert.equal(viewAction({ ...base, newest: null }), null);
  assert.equal(viewAction({ ...base, fitted: false, newest: null }), null);
  assert.equal(viewAction({ ...base, follow: false, newest: { device: 7 } }), null);
});
