// app.js: the live map page's DOM and Leaflet side.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// The logic lives in modules without DOM that the Node tests import:
// config.js, format.js, store.js (de-duplication, bounded lists),
// client.js (the connection state machine), view.js (what to show, what
// to redraw, when to fit the map) and tiles.js (the server's tile layer);
// this module draws their state. Importing it does
// nothing: main.js calls start(). Every string that came from a
// phone (device names, display names, tracker ids, region names) goes into
// the page through textContent or DOM nodes handed to Leaflet, never as HTML.

import { parseConfig, wsUrl } from './config.js';
import {
  SLIDER_STEPS, dateString, dayRange, exportUrl, filterDefaults, formatDistance, historyUrl, last24h,
  parseTrack, pointAtSlider, stepDay, trackSummary,
} from './history.js';
import { deviceColor, deviceLabel, formatConnection, formatTime } from './format.js';
import { Store } from './store.js';
import { tileSettings } from './tiles.js';
import { LiveClient } from './client.js';
import {
  RenderPlan, activityFields, deviceMeta, deviceState, popupPairs, sortDevices, transitionText, viewAction,
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
let liveGroup = null;    // the live markers and tracks (off the map in history mode)
let historyGroup = null; // the history track (on the map in history mode only)
let canvas = null;       // renders the history's many points
let mode = 'live';
const layers = new Map(); // device id → { marker, track, tid, offline }
let follow = true;          // keep new positions in view (until the user moves the map)
let focusedDevice = null;   // follow this device only, when set
const plan = new RenderPlan(); // what the next render redraws

function initMap() {
  if (!L) {
    // Leaflet failed to load: the lists still work
    $('map').textContent = 'The map library could not be loaded; the lists below still update.';
    return;
  }
  map = L.map('map', { worldCopyJump: true, zoomControl: true }).setView([20, 0], 2);
  liveGroup = L.layerGroup().addTo(map);
  historyGroup = L.layerGroup();
  canvas = L.canvas({ padding: 0.5 });
  addFitControl();
  watchUserMoves();
}

let tileNoted = false;
/** Say once that the map has no tiles (unreachable, or none configured). */
function noteNoTiles() {
  if (tileNoted || !map) return;
  tileNoted = true;
  const note = L.control({ position: 'bottomleft' });
  note.onAdd = () => el('div', 'tile-note', 'Map tiles unavailable — positions still update');
  note.addTo(map);
}

/** The tile layer the server names (GET /api/config: --tile-url, --tile-attribution). */
function addTiles(config) {
  if (!map) return;
  const t = tileSettings(config);
  if (!t) { noteNoTiles(); return; }
  const tiles = L.tileLayer(t.url, { maxZoom: 19, attribution: t.attribution }).addTo(map);
  tiles.on('tileerror', noteNoTiles);
}

/** A "Fit all" button on the map: show every device and keep them in view again. */
function addFitControl() {
  const ctl = L.control({ position: 'topleft' });
  ctl.onAdd = () => {
    const box = el('div', 'leaflet-bar fit-all');
    const b = el('button', 'fit-all-button', 'Fit all');
    b.type = 'button';
    b.id = 'fit-all';
    b.title = 'Show all devices and keep them in view';
    b.addEventListener('click', () => { setFollow(true); fitAll(); });
    box.append(b);
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  ctl.addTo(map);
}

/**
 * The user moved the map (drag, wheel, pinch, double click, box zoom, the
 * keyboard or the zoom buttons): stop following until they ask again. Our
 * own fits and pans come through none of these.
 */
function watchUserMoves() {
  const moved = () => { if (follow) setFollow(false); };
  const box = map.getContainer();
  map.on('dragstart boxzoomstart', moved);
  box.addEventListener('wheel', moved, { passive: true });
  box.addEventListener('dblclick', moved);
  box.addEventListener('touchstart', (ev) => { if (ev.touches.length > 1) moved(); }, { passive: true });
  box.addEventListener('keydown', (ev) => {
    if (ev.target === box && /^(Arrow|[-+=_])/.test(ev.key)) moved();
  });
  box.addEventListener('click', (ev) => { if (ev.target.closest('.leaflet-control-zoom')) moved(); }, true);
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

/** The latest position of every device, [lat, lon]. */
function devicePositions() {
  return [...store.devices.values()].filter((d) => d.last).map((d) => [d.last.lat, d.last.lon]);
}

/** Show every device; `animate` false for the automatic fits (no half-done view to measure). */
function fitAll(animate = true) {
  if (!map) return;
  const pts = devicePositions();
  if (pts.length === 1) map.setView(pts[0], Math.max(map.getZoom(), 14), { animate });
  else if (pts.length > 1) map.fitBounds(pts, { padding: [40, 40], maxZoom: 15, animate });
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

// ---------------------------------------------------------------- deletes

let me = null; // GET /api/me: { user, admin, login }, once known

/** Whether the viewer may delete the fixes of device "user/device". */
function mayDelete(name) {
  if (!me || typeof name !== 'string') return false;
  return me.admin === true || name.split('/')[0] === me.user;
}

/** POST /api/delete; every page then hears {"type":"deleted"}. */
function requestDelete(body) {
  return postApi('/api/delete', body);
}

/** POST a JSON request to the bridge; the answer, or an Error with its message. */
async function postApi(path, body) {
  const r = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body), cache: 'no-store', credentials: 'same-origin',
  });
  let answer = null;
  try { answer = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new Error((answer && answer.error) || `HTTP ${r.status}`);
  return answer;
}

function deleteFixButton(dev, loc) {
  const box = el('div', 'mt-delete');
  const b = el('button', 'danger', 'Delete this fix');
  b.type = 'button';
  b.dataset.action = 'delete-fix';
  const note = el('span', 'note');
  b.addEventListener('click', async () => {
    if (!globalThis.confirm(`Delete the fix of ${deviceLabel(dev)} at ${formatTime(loc.ts)}? This cannot be undone.`)) return;
    b.disabled = true;
    try {
      await requestDelete({ device: dev.name, id: loc.id });
      note.textContent = 'Deleted.';
      if (map) map.closePopup();
    } catch (e) {
      note.textContent = `Not deleted: ${e.message}`;
      b.disabled = false;
    }
  });
  box.append(b, note);
  return box;
}

/** "Report now": POST /api/command reportLocation (owner or admin, like deletes). */
function reportNowButton(dev) {
  const box = el('div', 'mt-command');
  const b = el('button', null, 'Report now');
  b.type = 'button';
  b.dataset.action = 'report-now';
  b.title = 'Ask the phone to send its location now';
  const note = el('span', 'note');
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await postApi('/api/command', { device: dev.name, action: 'reportLocation' });
      note.textContent = 'Asked. An MQTT phone answers at once, an HTTP one with its next report.';
    } catch (e) {
      note.textContent = `Not sent: ${e.message}`;
    }
    b.disabled = false;
  });
  box.append(b, note);
  return box;
}

/** Popup content for a location: DOM nodes, text only. */
function locationPopup(dev, loc) {
  const box = el('div', 'mt-popup');
  box.append(el('div', 'title', deviceLabel(dev)));
  box.append(detailList(popupPairs(dev, loc)));
  if (mayDelete(dev.name)) box.append(reportNowButton(dev));
  if (mayDelete(dev.name) && Number.isSafeInteger(loc.id)) box.append(deleteFixButton(dev, loc));
  return box;
}

function drawDevice(dev) {
  if (!map || !dev.last) return;
  let layer = layers.get(dev.id);
  const color = deviceColor(dev.id);
  const latlngs = dev.track.map((l) => [l.lat, l.lon]);
  const offline = dev.online === false;
  if (!layer) {
    const track = L.polyline(latlngs, { color, weight: 3, opacity: 0.65 }).addTo(liveGroup);
    const marker = L.marker([dev.last.lat, dev.last.lon], { icon: makeIcon(dev), title: deviceLabel(dev), riseOnHover: true }).addTo(liveGroup);
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
  if (liveGroup) liveGroup.clearLayers();
  layers.clear();
}

/** A device deleted, or left without fixes: off the live map. */
function dropDevice(id) {
  const layer = layers.get(id);
  if (!layer) return;
  layer.marker.remove();
  layer.track.remove();
  layers.delete(id);
}

/** Keep every device (or the followed one) in view, unless the user has moved the map. */
function autoView() {
  if (!map) return;
  const points = devicePositions().map((p) => map.latLngToContainerPoint(p));
  const action = viewAction({
    follow, focused: focusedDevice, fitted: plan.fitted, changed: plan.dirty.size > 0,
    newest: plan.follow, points, size: map.getSize(),
  });
  if (points.length) plan.fitted = true;
  if (action === 'fit') fitAll(false);
  else if (action === 'pan') map.panTo([plan.follow.lat, plan.follow.lon]);
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
    if (dev && dev.last) drawDevice(dev);
    else dropDevice(id);
  }
  // in history mode the live layers update off the map
  if (mode === 'live') autoView();
  // "last heard" texts change with every location: rebuild for those once a second
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
  if (mode === 'history') { // show that device's history instead
    fillDeviceSelect();
    ui.histDevice.value = String(id);
    loadHistory(chosenRange());
    return;
  }
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

// ---------------------------------------------------------------- history

const hist = {
  filter: filterDefaults(null), // thresholds and max_points, from /api/config
  range: null,                  // { start, end } shown
  device: null,                 // device id, or null: all visible devices
  track: null,                  // parseTrack() of the last answer
  seq: 0,                       // ignores answers to superseded requests
  marker: null,                 // the slider's marker
  loading: false,
  last24: false,                // the range is "last 24 h", not the date inputs
};

/** The range the controls say: the last 24 h, or From..To. */
function chosenRange() {
  return hist.last24 ? last24h(Date.now()) : dayRange(ui.histFrom.value, ui.histTo.value);
}

function setMode(next) {
  if (next === mode) return;
  mode = next;
  const history = mode === 'history';
  ui.modeLive.setAttribute('aria-pressed', String(!history));
  ui.modeHistory.setAttribute('aria-pressed', String(history));
  ui.historyPanel.hidden = !history;
  ui.activityPanel.hidden = history;
  document.body.dataset.mode = mode;
  if (history) {
    fillDeviceSelect();
    if (map) { map.removeLayer(liveGroup); historyGroup.addTo(map); }
    if (!ui.histFrom.value) {
      ui.histFrom.value = ui.histTo.value = dateString(Date.now());
    }
    if (!hist.track) loadHistory(chosenRange());
    else fitHistory();
    return;
  }
  // back to Live: the client kept running, the live layers are current
  if (map) { map.removeLayer(historyGroup); liveGroup.addTo(map); }
  plan.devicesChanged = true;
  if (follow) fitAll();
  scheduleRender();
}

function fillDeviceSelect() {
  const keep = ui.histDevice.value;
  const opts = [el('option', null, 'All visible devices')];
  opts[0].value = '';
  for (const dev of sortDevices(store.devices.values())) {
    const o = el('option', null, deviceLabel(dev));
    o.value = String(dev.id);
    opts.push(o);
  }
  ui.histDevice.replaceChildren(...opts);
  ui.histDevice.value = [...ui.histDevice.options].some((o) => o.value === keep) ? keep : '';
}

function historyOptions() {
  return {
    device: hist.device, ...hist.range, hideBad: ui.histHideBad.checked,
    maxAcc: hist.filter.maxAcc, maxSpeed: hist.filter.maxSpeed, maxPoints: hist.filter.maxPoints,
  };
}

/** The range delete: one device the viewer may delete, a track shown. */
function setDeleteRange() {
  if (!ui.histDelete) return;
  const dev = hist.device === null ? null : store.devices.get(hist.device);
  ui.histDelete.hidden = !(dev && mayDelete(dev.name) && hist.range);
}

async function deleteRange() {
  const dev = hist.device === null ? null : store.devices.get(hist.device);
  if (!dev || !hist.range) return;
  const { start, end } = hist.range;
  if (!globalThis.confirm(`Delete every fix of ${deviceLabel(dev)} from ${formatTime(start)} to ${formatTime(end)}? This cannot be undone.`)) return;
  ui.histDelete.disabled = true;
  ui.histDeleteNote.textContent = 'Deleting…';
  try {
    const r = await requestDelete({ device: dev.name, from: start, to: end });
    // its own line: the track reloads (and rewrites the summary) meanwhile
    ui.histDeleteNote.textContent = `Deleted ${r.deleted} ${r.deleted === 1 ? 'entry' : 'entries'}.`;
  } catch (e) {
    ui.histDeleteNote.textContent = `Not deleted: ${e.message}`;
  } finally {
    ui.histDelete.disabled = false;
  }
}

function setExportLinks(on) {
  for (const [f, a] of [['gpx', ui.exportGpx], ['geojson', ui.exportGeojson], ['csv', ui.exportCsv]]) {
    if (on) { a.href = exportUrl(f, historyOptions()); a.removeAttribute('aria-disabled'); } else { a.href = '#'; a.setAttribute('aria-disabled', 'true'); }
  }
}

/** Fetch and draw the track of `range` (null: what the inputs say). */
async function loadHistory(range) {
  if (!range) { ui.histSummary.textContent = 'Pick a valid day or range (From not after To).'; return; }
  hist.range = range;
  hist.device = ui.histDevice.value === '' ? null : Number(ui.histDevice.value);
  const seq = ++hist.seq;
  hist.loading = true;
  ui.histSummary.textContent = 'Loading…';
  setExportLinks(true);
  try {
    const body = await fetchJson(historyUrl(historyOptions()), 120000);
    if (seq !== hist.seq) return;
    hist.track = parseTrack(body);
    drawHistory();
    setDeleteRange();
  } catch (e) {
    if (seq !== hist.seq) return;
    ui.histSummary.textContent = `Could not load the history: ${e.message}`;
  } finally {
    if (seq === hist.seq) hist.loading = false;
  }
}

function historyDev(p) {
  const d = store.devices.get(p.device);
  // no online/offline line: that is now, not then
  return { id: p.device, name: d ? d.name : String(p.device_name ?? p.device), displayName: d ? d.displayName : null };
}

function drawHistory() {
  const t = hist.track;
  ui.histDistance.textContent = formatDistance(t.distanceM);
  ui.histSummary.textContent = trackSummary(t);
  ui.histSlider.disabled = t.timeline.length === 0;
  ui.histSlider.value = '0';
  ui.histTime.textContent = '';
  if (!map) return;
  historyGroup.clearLayers();
  hist.marker = null;
  for (const [id, pts] of t.byDevice) {
    const color = deviceColor(id);
    L.polyline(pts.map((p) => [p.lat, p.lon]), { color, weight: 3, opacity: 0.7, renderer: canvas }).addTo(historyGroup);
    for (const p of pts) {
      const cm = L.circleMarker([p.lat, p.lon], { renderer: canvas, radius: 4, color, weight: 1, fillOpacity: 0.8 });
      cm.bindPopup(() => locationPopup(historyDev(p), p));
      cm.addTo(historyGroup);
    }
  }
  if (t.timeline.length) {
    const first = t.timeline[0];
    hist.marker = L.circleMarker([first.lat, first.lon], { radius: 9, color: '#1d2430', weight: 3, fillColor: '#fff', fillOpacity: 1 })
      .addTo(historyGroup);
    hist.marker.bindPopup(() => { const p = pointAtSlider(t.timeline, ui.histSlider.value); return locationPopup(historyDev(p), p); });
    onSlider();
  }
  fitHistory();
}

function fitHistory() {
  const t = hist.track;
  if (!map || !t || !t.points.length) return;
  map.fitBounds(t.points.map((p) => [p.lat, p.lon]), { padding: [40, 40], maxZoom: 16, animate: false });
}

function onSlider() {
  const t = hist.track;
  const p = t ? pointAtSlider(t.timeline, ui.histSlider.value) : null;
  if (!p) return;
  ui.histTime.textContent = `${formatTime(p.ts)} · ${deviceLabel(historyDev(p))}`;
  if (hist.marker) {
    hist.marker.setLatLng([p.lat, p.lon]);
    if (hist.marker.isPopupOpen()) hist.marker.getPopup().setContent(locationPopup(historyDev(p), p));
  }
}

function stepRange(delta) {
  const from = stepDay(ui.histFrom.value, delta);
  const to = stepDay(ui.histTo.value, delta);
  if (!from || !to) return;
  ui.histFrom.value = from;
  ui.histTo.value = to;
  hist.last24 = false;
  loadHistory(dayRange(from, to));
}

function initHistory() {
  ui.histSlider.max = String(SLIDER_STEPS);
  ui.modeLive.addEventListener('click', () => setMode('live'));
  ui.modeHistory.addEventListener('click', () => setMode('history'));
  const byDates = () => { hist.last24 = false; loadHistory(chosenRange()); };
  ui.histForm.addEventListener('submit', (ev) => { ev.preventDefault(); byDates(); });
  if (ui.histDelete) ui.histDelete.addEventListener('click', deleteRange);
  ui.histFrom.addEventListener('change', byDates);
  ui.histTo.addEventListener('change', byDates);
  ui.histPrev.addEventListener('click', () => stepRange(-1));
  ui.histNext.addEventListener('click', () => stepRange(1));
  ui.hist24h.addEventListener('click', () => {
    const now = Date.now();
    ui.histFrom.value = dateString(now - 86400000);
    ui.histTo.value = dateString(now);
    hist.last24 = true;
    loadHistory(last24h(now));
  });
  ui.histHideBad.addEventListener('change', () => loadHistory(chosenRange()));
  ui.histDevice.addEventListener('change', () => loadHistory(chosenRange()));
  ui.histSlider.addEventListener('input', onSlider);
  setExportLinks(false);
}

/** GET /api/config: the tile layer and the history defaults; retried until it answers. */
function loadServerConfig(win, delayMs = 2000) {
  fetchJson('/api/config').then((c) => {
    addTiles(c);
    hist.filter = filterDefaults(c);
    ui.histHideBad.checked = hist.filter.hideBad;
  }).catch(() => {
    win.setTimeout(() => loadServerConfig(win, Math.min(delayMs * 2, 30000)), delayMs);
  });
}

// ---------------------------------------------------------------- wiring

function showStatus({ status, text }) {
  ui.status.dataset.status = status;
  ui.status.textContent = text;
}

async function fetchJson(url, timeoutMs = 10000) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), timeoutMs);
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
  if (kind === 'deleted') {
    plan.dirty.add(detail.device);
    // a shown track that had the device: fetch it again
    if (hist.track && (hist.device === null || hist.device === detail.device)) loadHistory(hist.range);
  }
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
    /** Whether the map shows the position lat, lon (inside its edges). */
    inView(lat, lon) { return !!map && map.getBounds().contains([lat, lon]); },
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
    history() {
      const t = hist.track;
      return {
        mode,
        loading: hist.loading,
        range: hist.range,
        points: t ? t.points.map((p) => ({ id: p.id, device: p.device, ts: p.ts, lat: p.lat, lon: p.lon })) : [],
        distance: ui.histDistance.textContent,
        summary: ui.histSummary.textContent,
        marker: hist.marker ? (({ lat, lng }) => ({ lat, lng }))(hist.marker.getLatLng()) : null,
        filter: { ...hist.filter },
      };
    },
    /** Page coordinates of a position on the map (for clicking points). */
    screenPoint(lat, lon) {
      if (!map) return null;
      const p = map.latLngToContainerPoint([lat, lon]);
      const r = map.getContainer().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    },
    devices() {
      return [...store.devices.values()].map((d) => ({
        id: d.id, name: d.name, displayName: d.displayName, tid: d.tid, online: d.online,
        heardUnix: d.heardUnix, fixUnix: d.fixUnix, points: d.track.length,
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
    modeLive: $('mode-live'), modeHistory: $('mode-history'), historyPanel: $('history-panel'),
    activityPanel: $('activity-panel'), histForm: $('history-form'), histDevice: $('history-device'),
    histFrom: $('history-from'), histTo: $('history-to'), histPrev: $('history-prev'), histNext: $('history-next'),
    hist24h: $('history-24h'), histHideBad: $('history-hide-bad'), histDistance: $('history-distance'),
    histSummary: $('history-summary'), histSlider: $('history-slider'), histTime: $('history-time'),
    exportGpx: $('export-gpx'), exportGeojson: $('export-geojson'), exportCsv: $('export-csv'),
    histDelete: $('history-delete'), histDeleteNote: $('history-delete-note'),
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
  // refresh "last heard ... ago" now and then
  win.setInterval(renderDevices, 10000);
  Object.defineProperty(win, 'mytracks', { value: debugView(), enumerable: true });
  initMap();
  initHistory();
  loadServerConfig(win);
  fetchJson('/api/me').then((m) => { me = m; setDeleteRange(); }).catch(() => {});
  client.start();
}
