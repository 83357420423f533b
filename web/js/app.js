// app.js: the live map page's DOM and Leaflet side.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// The logic lives in modules without DOM that the Node tests import:
// config.js, format.js, store.js (de-duplication, bounded lists),
// client.js (the connection state machine) and view.js (what to show and
// what to redraw); this module draws their state. Importing it does
// nothing: main.js calls start(). Every string that came from a
// phone (device names, display names, tracker ids, region names) goes into
// the page through textContent or DOM nodes handed to Leaflet, never as HTML.

import { parseConfig, wsUrl } from './config.js';
import { deviceColor, deviceLabel, formatConnection, formatTime } from './format.js';
import { Store } from './store.js';
import { LiveClient } from './client.js';
import {
  RenderPlan, activityFields, deviceMeta, deviceState, popupPairs, sortDevices, transitionText,
} from './view.js';

// set by start(): the page's window, Leaflet, settings, state and elements
let L = null;
let cfg = null;
let store = null;
let client = null;
let ui = null;
const $ = (id) => document.getElementById(id);

/** A DOM element with text content only (no HTML parsing anywhere). */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// ---------------------------------------------------------------- map

let map = null;
const layers = new Map(); // device id → { marker, track, tid, offline }
let follow = true;          // keep new positions in view
let focusedDevice = null;   // follow this device only, when set
const plan = new RenderPlan(); // what the next render redraws

function initMap() {
  if (!L) {
    // Leaflet failed to load: the lists still work
    $('map').textContent = 'The map library could not be loaded; the lists below still update.';
    return;
  }
  map = L.map('map', { worldCopyJump: true, zoomControl: true }).setView([20, 0], 2);
  const tiles = L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
  }).addTo(map);
  let noted = false;
  tiles.on('tileerror', () => {
    if (noted) return;
    noted = true;
    const note = L.control({ position: 'bottomleft' });
    note.onAdd = () => el('div', 'tile-note', 'Map tiles unavailable — positions still update');
    note.addTo(map);
  });
  // the user dragged the map: stop following until they ask again
  map.on('dragstart', () => setFollow(false));
}

function setFollow(on, deviceId = null) {
  follow = on;
  focusedDevice = on ? deviceId : null;
  ui.follow.setAttribute('aria-pressed', String(on));
  ui.follow.textContent = on ? (deviceId !== null ? 'Following device' : 'Following') : 'Follow';
  for (const li of ui.devices.children) li.classList.toggle('focused', on && Number(li.dataset.deviceId) === deviceId);
}

function onFollowClick() {
  if (follow) { setFollow(false); return; }
  setFollow(true);
  fitAll();
}

function fitAll() {
  if (!map) return;
  const pts = [...store.devices.values()].filter((d) => d.last).map((d) => [d.last.lat, d.last.lon]);
  if (pts.length === 1) map.setView(pts[0], Math.max(map.getZoom(), 14));
  else if (pts.length > 1) map.fitBounds(pts, { padding: [40, 40], maxZoom: 15 });
}

function pinElement(dev) {
  const pin = el('div', 'mt-pin', (dev.tid || deviceLabel(dev).slice(0, 2)).slice(0, 3));
  pin.style.background = deviceColor(dev.id);
  pin.dataset.deviceId = String(dev.id);
  if (dev.online === false) pin.classList.add('offline');
  return pin;
}

function makeIcon(dev) {
  return L.divIcon({ className: 'mt-marker', html: pinElement(dev), iconSize: [28, 28], iconAnchor: [14, 14], popupAnchor: [0, -14] });
}

function detailList(pairs) {
  const dl = el('dl');
  for (const [k, v] of pairs) {
    dl.append(el('dt', null, k), el('dd', null, v));
  }
  return dl;
}

/** Popup content for a location: DOM nodes, text only. */
function locationPopup(dev, loc) {
  const box = el('div', 'mt-popup');
  box.append(el('div', 'title', deviceLabel(dev)));
  box.append(detailList(popupPairs(dev, loc)));
  return box;
}

function drawDevice(dev) {
  if (!map || !dev.last) return;
  let layer = layers.get(dev.id);
  const color = deviceColor(dev.id);
  const latlngs = dev.track.map((l) => [l.lat, l.lon]);
  const offline = dev.online === false;
  if (!layer) {
    const track = L.polyline(latlngs, { color, weight: 3, opacity: 0.65 }).addTo(map);
    const marker = L.marker([dev.last.lat, dev.last.lon], { icon: makeIcon(dev), title: deviceLabel(dev), riseOnHover: true }).addTo(map);
    marker.bindPopup(() => { const d = store.devices.get(dev.id); return locationPopup(d, d.last); });
    marker.on('click', () => setFollow(true, dev.id));
    layer = { marker, track, tid: dev.tid, label: deviceLabel(dev), offline };
    layers.set(dev.id, layer);
    return;
  }
  layer.track.setLatLngs(latlngs);
  layer.marker.setLatLng([dev.last.lat, dev.last.lon]);
  if (layer.tid !== dev.tid || layer.label !== deviceLabel(dev) || layer.offline !== offline) {
    layer.marker.setIcon(makeIcon(dev));
    const icon = layer.marker.getElement();
    if (icon) icon.title = deviceLabel(dev);
    layer.tid = dev.tid;
    layer.label = deviceLabel(dev);
    layer.offline = offline;
  }
  if (layer.marker.isPopupOpen()) layer.marker.getPopup().setContent(locationPopup(dev, dev.last));
}

function clearMap() {
  for (const { marker, track } of layers.values()) { marker.remove(); track.remove(); }
  layers.clear();
}

/** Keep the newest position in view, unless the user has panned away. */
function followTo(loc) {
  if (!map || !follow) return;
  if (focusedDevice !== null && loc.device !== focusedDevice) return;
  const ll = L.latLng(loc.lat, loc.lon);
  if (focusedDevice !== null) { map.panTo(ll); return; }
  if (!map.getBounds().pad(-0.15).contains(ll)) map.panTo(ll);
}

// ---------------------------------------------------------------- lists

let lastDevicesRender = 0;
let renderTimer = null;
let lastRender = 0;
const RENDER_GAP_MS = 100;     // under load, draw at most ~10 times a second

function scheduleRender() {
  if (renderTimer !== null) return;
  const wait = Math.max(20, lastRender + RENDER_GAP_MS - performance.now());
  renderTimer = setTimeout(render, wait);
}

function render() {
  renderTimer = null;
  for (const id of plan.dirty) {
    const dev = store.devices.get(id);
    if (dev) drawDevice(dev);
  }
  if (!plan.fitted && store.devices.size && map) {
    plan.fitted = true;
    fitAll();
  } else if (plan.follow) {
    followTo(plan.follow);
  }
  // "last seen" texts change with every location: rebuild for those once a second
  if (plan.devicesChanged || performance.now() - lastDevicesRender > 1000) renderDevices();
  renderActivity();
  plan.done();
  lastRender = performance.now();
}

function renderDevices() {
  lastDevicesRender = performance.now();
  const devs = sortDevices(store.devices.values());
  ui.deviceCount.textContent = String(devs.length);
  ui.noDevices.hidden = devs.length > 0;
  const now = Date.now();
  const items = devs.map((dev) => {
    const li = el('li', 'device');
    li.tabIndex = 0;
    li.dataset.deviceId = String(dev.id);
    if (follow && focusedDevice === dev.id) li.classList.add('focused');
    const dot = el('span', 'dot');
    dot.style.background = deviceColor(dev.id);
    const state = deviceState(dev);
    const badge = el('span', `badge ${state}`, state);
    badge.dataset.field = 'online';
    const name = el('span', 'name', deviceLabel(dev));
    name.dataset.field = 'name';
    name.title = dev.name;
    const meta = el('div', 'meta', deviceMeta(dev, now));
    meta.dataset.field = 'meta';
    li.append(dot, name, badge, meta);
    const event = transitionText(dev, now);
    if (event !== null) li.append(el('div', 'event', event));
    return li;
  });
  ui.devices.replaceChildren(...items);
}

/** Click and Enter/Space on the items of `list` (matching `sel`) call fn(item). */
function onActivate(list, sel, fn) {
  list.addEventListener('click', (ev) => {
    const li = ev.target.closest(sel);
    if (li) fn(li);
  });
  list.addEventListener('keydown', (ev) => {
    const li = ev.target.closest(sel);
    if (li && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); fn(li); }
  });
}

function focusDevice(id) {
  const dev = store.devices.get(id);
  if (!dev || !dev.last || !map) return;
  setFollow(true, id);
  map.setView([dev.last.lat, dev.last.lon], Math.max(map.getZoom(), 15));
  const layer = layers.get(id);
  if (layer) layer.marker.openPopup();
}

const rows = new Map(); // location id → <li>

function activityRow(loc) {
  const dev = store.devices.get(loc.device) || { id: loc.device, name: loc.device_name };
  const li = el('li', 'row');
  li.tabIndex = 0;
  li.dataset.id = String(loc.id);
  li.dataset.deviceId = String(loc.device);
  const line1 = el('div', 'line1');
  const time = el('span', 'time', formatTime(loc.ts));
  time.title = String(loc.timestamp ?? '');
  time.dataset.field = 'time';
  const dot = el('span', 'dot');
  dot.style.background = deviceColor(dev.id);
  const name = el('span', 'dev', deviceLabel(dev));
  name.dataset.field = 'device';
  const conn = el('span', 'conn', formatConnection(loc.connection_type));
  conn.dataset.field = 'conn';
  line1.append(time, dot, name, conn);
  const line2 = el('div', 'line2');
  for (const [k, v] of activityFields(loc)) {
    const s = el('span', k, v);
    s.dataset.field = k;
    line2.append(s);
  }
  li.append(line1, line2);
  li._label = deviceLabel(dev);
  return li;
}

function renderActivity() {
  const list = store.activity;
  ui.activityCount.textContent = String(list.length);
  ui.noActivity.hidden = list.length > 0;
  const keep = new Set(list.map((l) => l.id));
  for (const [id, li] of rows) if (!keep.has(id)) { li.remove(); rows.delete(id); }
  let prev = null;
  for (const loc of list) {
    let li = rows.get(loc.id);
    const dev = store.devices.get(loc.device);
    if (li && dev && li._label !== deviceLabel(dev)) { li.remove(); rows.delete(loc.id); li = null; }
    if (!li) {
      li = activityRow(loc);
      if (plan.fresh.has(loc.id)) li.classList.add('fresh');
      rows.set(loc.id, li);
    }
    const want = prev ? prev.nextSibling : ui.activity.firstChild;
    if (want !== li) ui.activity.insertBefore(li, want);
    prev = li;
  }
}

function focusLocation(id) {
  const loc = store.activity.find((l) => l.id === id);
  if (!loc || !map) return;
  setFollow(false);
  const dev = store.devices.get(loc.device) || { id: loc.device, name: loc.device_name };
  map.setView([loc.lat, loc.lon], Math.max(map.getZoom(), 15));
  L.popup().setLatLng([loc.lat, loc.lon]).setContent(locationPopup(dev, loc)).openOn(map);
}

// ---------------------------------------------------------------- wiring

function showStatus({ status, text }) {
  ui.status.dataset.status = status;
  ui.status.textContent = text;
}

async function fetchJson(url) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 10000);
  try {
    const r = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', signal: ctl.signal });
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return await r.json();
  } finally {
    clearTimeout(t);
  }
}

function onClientEvent(kind, detail) {
  if (kind === 'status') { showStatus(detail); return; }
  if (kind === 'reset') {
    clearMap();
    for (const li of rows.values()) li.remove();
    rows.clear();
  }
  if (plan.apply(kind, detail, store, { drawn: (id) => layers.has(id), following: follow })) scheduleRender();
}

/** A read-only view for tests and the browser console (window.mytracks). */
function debugView() {
  return Object.freeze({
    get state() { return client.snapshot(); },
    get status() { return client.status; },
    get highestId() { return store.highestId; },
    get follow() { return follow; },
    config: Object.freeze({ ...cfg }),
    view() {
      if (!map) return null;
      const c = map.getCenter();
      return { lat: c.lat, lng: c.lng, zoom: map.getZoom() };
    },
    marker(deviceId) {
      const l = layers.get(deviceId);
      if (!l) return null;
      const ll = l.marker.getLatLng();
      return { lat: ll.lat, lng: ll.lng, points: l.track.getLatLngs().length };
    },
    devices() {
      return [...store.devices.values()].map((d) => ({
        id: d.id, name: d.name, displayName: d.displayName, tid: d.tid, online: d.online,
        lastSeenUnix: d.lastSeenUnix, points: d.track.length,
      }));
    },
  });
}

/** Start the page in `win`: read the settings, draw, connect. Call once. */
export function start(win) {
  L = win.L;
  cfg = parseConfig(win.location.search, win.MYTRACKS_CONFIG || {});
  store = new Store(cfg);
  ui = {
    status: $('status'), follow: $('follow'), devices: $('devices'), noDevices: $('no-devices'),
    deviceCount: $('device-count'), activity: $('activity'), noActivity: $('no-activity'),
    activityCount: $('activity-count'),
  };
  ui.follow.addEventListener('click', onFollowClick);
  onActivate(ui.devices, '.device', (li) => focusDevice(Number(li.dataset.deviceId)));
  onActivate(ui.activity, '.row', (li) => focusLocation(Number(li.dataset.id)));
  client = new LiveClient({
    config: cfg,
    store,
    url: wsUrl(win.location),
    fetchJson,
    createSocket: (url) => new win.WebSocket(url),
    log: (...a) => console.debug('[mytracks]', ...a),
    onEvent: onClientEvent,
  });
  // refresh "last seen ... ago" now and then
  win.setInterval(renderDevices, 10000);
  Object.defineProperty(win, 'mytracks', { value: debugView(), enumerable: true });
  initMap();
  client.start();
}
