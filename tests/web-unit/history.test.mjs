// Unit tests: the history mode's logic (web/js/history.js): local days and
// ranges across daylight-saving changes, API and export URLs, the track,
// the slider.
// Part of mytracks. SPDX-License-Identifier: MIT
import { test } from 'node:test';
import assert from 'node:assert/strict';

// a zone with daylight saving: Europe/Berlin springs forward on
// 2024-03-31 (a 23-hour day) and falls back on 2024-10-27 (25 hours)
process.env.TZ = 'Europe/Berlin';

const {
  dateString, stepDay, dayRange, last24h, isoUtc, historyUrl, exportUrl, parseTrack, formatDistance,
  trackSummary, pointAtSlider, sliderForPoint, filterDefaults, FALLBACK_FILTER, HISTORY_MAX_POINTS,
} = await import('../../web/js/history.js');

const params = (url) => Object.fromEntries(new URL(url, 'http://x').searchParams);

test('a day is the viewer\'s local day, 23 or 25 hours on a DST change', () => {
  const d = dayRange('2024-01-15');
  assert.equal(isoUtc(d.start), '2024-01-14T23:00:00Z'); // midnight in Berlin (UTC+1)
  assert.equal(isoUtc(d.end), '2024-01-15T22:59:59Z');
  const spring = dayRange('2024-03-31');
  assert.equal(spring.end - spring.start + 1, 23 * 3600);
  const autumn = dayRange('2024-10-27');
  assert.equal(autumn.end - autumn.start + 1, 25 * 3600);
  const summer = dayRange('2024-07-01');
  assert.equal(isoUtc(summer.start), '2024-06-30T22:00:00Z'); // UTC+2
});

test('a range runs from the first day\'s start to the last day\'s end; bad dates give null', () => {
  const r = dayRange('2024-03-30', '2024-04-01');
  assert.equal(isoUtc(r.start), '2024-03-29T23:00:00Z');
  assert.equal(isoUtc(r.end), '2024-04-01T21:59:59Z');
  assert.equal(dayRange('2024-04-02', '2024-04-01'), null);
  for (const bad of ['2024-02-30', '2024-13-01', '', 'yesterday', null, undefined, '2024-1-5']) {
    assert.equal(dayRange(bad), null, String(bad));
  }
});

test('previous and next day step across months, years and DST changes', () => {
  assert.equal(stepDay('2024-03-31', 1), '2024-04-01');
  assert.equal(stepDay('2024-03-31', -1), '2024-03-30');
  assert.equal(stepDay('2024-10-27', 1), '2024-10-28');
  assert.equal(stepDay('2024-12-31', 1), '2025-01-01');
  assert.equal(stepDay('2024-03-01', -1), '2024-02-29');
  assert.equal(stepDay('nope', 1), null);
  // just after midnight local time is still that local day
  assert.equal(dateString(Date.UTC(2024, 2, 9, 23, 30)), '2024-03-10');
});

test('last 24 h ends now', () => {
  const now = Date.UTC(2024, 2, 10, 12, 0, 0);
  assert.deepEqual(last24h(now), { start: now / 1000 - 86400, end: now / 1000 });
});

test('the track URL carries the range as ISO UTC, max_points and the filter when on', () => {
  const range = dayRange('2024-03-10');
  const u = historyUrl({ device: 3, ...range, hideBad: true, maxAcc: 100, maxSpeed: 250 });
  assert.ok(u.startsWith('/api/locations/?'));
  assert.deepEqual(params(u), {
    device: '3', start_time: '2024-03-09T23:00:00Z', end_time: '2024-03-10T22:59:59Z',
    max_points: String(HISTORY_MAX_POINTS), max_acc: '100', max_speed: '250',
  });
  const all = params(historyUrl({ device: null, ...range, hideBad: false, maxAcc: 100, maxPoints: 2500 }));
  assert.equal(all.device, undefined);
  assert.equal(all.max_acc, undefined);
  assert.equal(all.max_points, '2500');
});

test('export URLs: the same range and filter, a format, no thinning', () => {
  const range = dayRange('2024-03-10');
  for (const f of ['gpx', 'geojson', 'csv']) {
    const p = params(exportUrl(f, { device: 'alice/phone', ...range, hideBad: true, maxAcc: 50, maxSpeed: 0 }));
    assert.deepEqual(p, {
      device: 'alice/phone', start_time: '2024-03-09T23:00:00Z', end_time: '2024-03-10T22:59:59Z', format: f, max_acc: '50',
    });
  }
  assert.throws(() => exportUrl('kml', range));
});

test('the filter default comes from the server, with fallbacks', () => {
  assert.deepEqual(filterDefaults({ hide_accuracy_over: 150, hide_speed_over: 300, max_points: 3000 }),
    { hideBad: true, maxAcc: 150, maxSpeed: 300, maxPoints: 3000 });
  assert.deepEqual(filterDefaults({ hide_accuracy_over: 0, hide_speed_over: 0 }),
    { hideBad: false, maxAcc: FALLBACK_FILTER.maxAcc, maxSpeed: FALLBACK_FILTER.maxSpeed, maxPoints: HISTORY_MAX_POINTS });
  assert.deepEqual(filterDefaults({ hide_accuracy_over: 80 }), { hideBad: true, maxAcc: 80, maxSpeed: 0, maxPoints: HISTORY_MAX_POINTS });
  assert.equal(filterDefaults(null).hideBad, false);
  assert.equal(filterDefaults({ max_points: 1e9 }).maxPoints, HISTORY_MAX_POINTS);
});

function loc(id, device, ts, extra = {}) {
  return { id, device, device_name: `u/d${device}`, latitude: '52.500000', longitude: '13.400000', timestamp_unix: ts, ...extra };
}

test('a fetched track: points by device, a timeline, distance and counts; bad rows skipped', () => {
  const t = parseTrack({
    results: [loc(1, 1, 100), loc(3, 1, 160), loc(2, 2, 130), { id: 'x' }, loc(4, 2, 90, { latitude: '91' })],
    distance_m: 6671.2, dropped_accuracy: 1, dropped_jump: 2, thinned: 5, resolution: 60, truncated: false,
  });
  assert.equal(t.points.length, 3);
  assert.deepEqual([...t.byDevice.keys()], [1, 2]);
  assert.deepEqual(t.timeline.map((p) => p.id), [1, 2, 3]);
  assert.equal(t.distanceM, 6671.2);
  assert.equal(t.hidden, 3);
  assert.equal(trackSummary(t), '3 fixes · 6.67 km · 3 bad fixes hidden · thinned to one per 60 s');
  const empty = parseTrack({});
  assert.equal(empty.points.length, 0);
  assert.equal(trackSummary(empty), '0 fixes · 0 m');
  assert.match(trackSummary(parseTrack({ results: [loc(1, 1, 5)], truncated: true })), /1 fix · 0 m · cut off/);
});

test('distances read as metres or kilometres', () => {
  assert.equal(formatDistance(0), '0 m');
  assert.equal(formatDistance(849.6), '850 m');
  assert.equal(formatDistance(6671.2), '6.67 km');
  assert.equal(formatDistance(222390), '222 km');
  assert.equal(formatDistance(NaN), '—');
});

test('the slider maps to the last fix at or before its moment, and back', () => {
  const tl = parseTrack({ results: [loc(1, 1, 1000), loc(2, 1, 1100), loc(3, 2, 1150), loc(4, 1, 2000)] }).timeline;
  assert.equal(pointAtSlider(tl, 0).id, 1);
  assert.equal(pointAtSlider(tl, 1000).id, 4);
  assert.equal(pointAtSlider(tl, 100).id, 2); // t = 1100
  assert.equal(pointAtSlider(tl, 149).id, 2); // t = 1149
  assert.equal(pointAtSlider(tl, 150).id, 3);
  assert.equal(pointAtSlider(tl, 999).id, 3);
  assert.equal(pointAtSlider(tl, -5).id, 1);
  assert.equal(pointAtSlider(tl, 5000).id, 4);
  assert.equal(pointAtSlider([], 10), null);
  for (const p of tl) assert.equal(pointAtSlider(tl, sliderForPoint(tl, p)).id, p.id);
  assert.equal(sliderForPoint([tl[0]], tl[0]), 0);
});
