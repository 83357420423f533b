// Unit tests: the map's tile settings from /api/config (web/js/tiles.js):
// which URLs the page uses, and the attribution as safe HTML.
// Part of mytracks. SPDX-License-Identifier: MIT
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributionHtml, tileSettings } from '../../web/js/tiles.js';

const OSM = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';

test('the server\'s tile URL is used as it is', () => {
  assert.deepEqual(tileSettings({ tile_url: OSM, tile_attribution: 'Tiles' }), { url: OSM, attribution: 'Tiles' });
  assert.equal(tileSettings({ tile_url: 'https://{s}.t.example.org/{z}/{x}/{-y}{r}.png' }).url,
    'https://{s}.t.example.org/{z}/{x}/{-y}{r}.png');
  assert.equal(tileSettings({ tile_url: 'http://127.0.0.1:9/tiles/{z}/{x}/{y}.png' }).attribution, '');
});

test('no usable tile URL: no tiles', () => {
  for (const c of [null, {}, { tile_url: 42 }, { tile_url: '' }, { tile_url: 'javascript:alert(1)//{z}{x}{y}' },
    { tile_url: 'https://x.org/{z}/{x}.png' }, { tile_url: 'https://x.org/{z}/{x}/{y}/{key}.png' },
    { tile_url: 'https://x.org/{z}/{x}/{y}" onerror="x' }, { tile_url: 'https://x.org/ {z}/{x}/{y}' }]) {
    assert.equal(tileSettings(c), null, JSON.stringify(c));
  }
});

test('the default OpenStreetMap attribution keeps its link and ©', () => {
  assert.equal(attributionHtml('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'),
    '&copy; <a href="https://www.openstreetmap.org/copyright" rel="noopener noreferrer">OpenStreetMap</a> contributors');
  assert.equal(attributionHtml('© Example & Co'), '© Example &amp; Co');
});

test('any other markup in the attribution stays text', () => {
  assert.equal(attributionHtml('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert(1)&gt;');
  assert.equal(attributionHtml('<a href="javascript:alert(1)">x</a>'), '&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;');
  assert.equal(attributionHtml('<a href="https://x.org" onclick="alert(1)">x</a>'),
    '&lt;a href=&quot;https://x.org&quot; onclick=&quot;alert(1)&quot;&gt;x&lt;/a&gt;');
  assert.equal(attributionHtml('<a href="https://x.org/?a=1&b=2">A <b>B</b></a>'),
    '&lt;a href=&quot;https://x.org/?a=1&amp;b=2&quot;&gt;A &lt;b&gt;B&lt;/b&gt;&lt;/a&gt;');
  assert.equal(attributionHtml('<a href="https://x.org/?a=1&b=2">Tiles</a> & \'q\''),
    '<a href="https://x.org/?a=1&amp;b=2" rel="noopener noreferrer">Tiles</a> &amp; &#39;q&#39;');
  assert.equal(attributionHtml('&lt;script&gt; &bogus; &#169;'), '&lt;script&gt; &amp;bogus; &#169;');
});
