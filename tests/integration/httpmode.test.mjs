// HTTP mode as the OwnTracks apps use it: zero-length POSTs, the Recorder's
// /pub?u=&d= form, and payload encryption (--keys) with reports encrypted
// by an independent implementation (libsodium-wrappers), against the real
// broker, plugin and bridge.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, collector, sql, location, waitFor, stopAll, tmpDir, freePort, Proc,
  bridgePath, sanitizerEnv,
} from '../lib/harness.mjs';
import { startBridge, metric } from '../lib/bridge.mjs';
import { sodiumReady, seal, open } from '../lib/otcrypto.mjs';

const SECRET = 'abcde'; // 5 bytes: the key is padded with 27 NULs

describe('HTTP mode as the apps use it', () => {
  let broker, bridge, mqtt, keys;

  before(async () => {
    await sodiumReady;
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    keys = path.join(broker.dir, 'keys');
    fs.writeFileSync(keys, `# test keys\nalice:${SECRET}\nalice/tablet:tablet secret\n`, { mode: 0o600 });
    bridge = await startBridge(broker, { args: ['--keys', keys] });
    mqtt = await collector(broker.port, 'owntracks/#');
  });

  after(async () => {
    await mqtt?.close();
    await stopAll();
  });

  const post = (url, body, headers = {}) => fetch(`${bridge.url}${url}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body,
  });
  const rowsOf = (user, device) => sql(broker.db, `SELECT l.tst, l.lat, l.raw FROM locations l
    JOIN devices d ON d.id = l.device_id WHERE d.user = '${user}' AND d.device = '${device}'`);
  /** Publish a plain report and wait for its row: the plugin handled everything before it. */
  async function barrier(tag) {
    const tst = 1705500000 + Math.floor(Math.random() * 1e6);
    const r = await post('/pub', JSON.stringify(location({ tst })), { 'X-Limit-U': 'barrier', 'X-Limit-D': tag });
    assert.equal(r.status, 200);
    await waitFor(() => rowsOf('barrier', tag).length === 1, { what: `barrier ${tag}` });
    await waitFor(() => mqtt.messages.some((m) => m.topic === `owntracks/barrier/${tag}`),
      { what: `barrier ${tag} on MQTT` });
  }

  it('answers a zero-length POST 200 [] and publishes nothing', async () => {
    const before = mqtt.messages.length;
    const r = await post('/pub', '', { 'X-Limit-U': 'zed', 'X-Limit-D': 'phone' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(await r.text(), '[]');
    // without any user/device too (nothing to publish, nothing to check)
    const r2 = await post('/pub', '');
    assert.equal(r2.status, 200);
    assert.equal(await r2.text(), '[]');
    await barrier('zero');
    assert.deepEqual(mqtt.messages.slice(before).map((m) => m.topic), ['owntracks/barrier/zero']);
  });

  it('takes user and device from /pub?u=&d=, headers winning', async () => {
    let r = await post('/pub?u=dora&d=phone', JSON.stringify(location({ tst: 1705600001 })));
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(JSON.parse(await r.text())), 'the friends array');
    const rows = await waitFor(() => { const x = rowsOf('dora', 'phone'); return x.length ? x : null; },
      { what: 'the row of dora/phone' });
    assert.equal(rows[0].tst, 1705600001);
    // the headers win over the query, each level on its own
    r = await post('/pub?u=query&d=qdev', JSON.stringify(location({ tst: 1705600002 })),
      { 'X-Limit-U': 'erin' });
    assert.equal(r.status, 200);
    await waitFor(() => rowsOf('erin', 'qdev').length === 1, { what: 'the row of erin/qdev' });
    assert.equal(rowsOf('query', 'qdev').length, 0);
    // a query name that is not a topic level is refused like a header one
    r = await post('/pub?u=a%2Fb&d=x', JSON.stringify(location()));
    assert.equal(r.status, 400);
  });

  it('decrypts an encrypted report with its key, checks the plaintext, publishes it as sent', async () => {
    const plain = JSON.stringify(location({ tst: 1705700001, lat: 48.1371, lon: 11.5754 }));
    const body = seal(SECRET, plain);
    const decrypted0 = await metric(bridge, 'mytracks_bridge_http_reports_decrypted_total');
    const r = await post('/pub', body, { 'X-Limit-U': 'alice', 'X-Limit-D': 'phone' });
    assert.equal(r.status, 200);
    // the reply is encrypted with the phone's key: one object holding the array
    const reply = await r.text();
    assert.deepEqual(Object.keys(JSON.parse(reply)), ['_type', 'data']);
    assert.equal(JSON.parse(reply)._type, 'encrypted');
    assert.ok(Array.isArray(JSON.parse(open(SECRET, reply))), 'the friends array');
    assert.equal(open('wrong', reply), null);
    assert.equal(await metric(bridge, 'mytracks_bridge_http_reports_decrypted_total'), decrypted0 + 1);
    // published as received: the plugin decrypts MQTT and HTTP reports alike
    const m = await waitFor(() => mqtt.messages.find((x) => x.topic === 'owntracks/alice/phone'),
      { what: 'the encrypted report on MQTT' });
    assert.equal(m.payload, body);
    // The plugin has no plugin_opt_keys here: it keeps the ciphertext as an
    // "encrypted" event and stores no location (integration_encrypted
    // covers the plugin opening it with the same keys file).
    await barrier('enc');
    assert.deepEqual(rowsOf('alice', 'phone'), []);
    assert.deepEqual(sql(broker.db, `SELECT e.type, e.raw FROM events e JOIN devices d ON d.id = e.device_id
      WHERE d.user = 'alice' AND d.device = 'phone'`), [{ type: 'encrypted', raw: body }]);

    // the device key, from the Recorder's query form
    const r2 = await post('/pub?u=alice&d=tablet', seal('tablet secret', plain));
    assert.equal(r2.status, 200);
    assert.ok(Array.isArray(JSON.parse(open('tablet secret', await r2.text()))));
  });

  it('refuses an encrypted report whose plaintext is not a valid report', async () => {
    const r = await post('/pub', seal(SECRET, JSON.stringify(location({ lat: 123 }))),
      { 'X-Limit-U': 'alice', 'X-Limit-D': 'phone' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /lat/);
    // and one whose data no key could open
    const r2 = await post('/pub', JSON.stringify({ _type: 'encrypted', data: 'not base64!' }),
      { 'X-Limit-U': 'alice', 'X-Limit-D': 'phone' });
    assert.equal(r2.status, 400);
    assert.match((await r2.json()).error, /base64/);
  });

  it('acknowledges and keeps a report it cannot decrypt (wrong key, no key)', async () => {
    const kept0 = await metric(bridge, 'mytracks_bridge_http_reports_undecryptable_total');
    const wrong = seal('not the key', JSON.stringify(location({ tst: 1705800001 })));
    let r = await post('/pub', wrong, { 'X-Limit-U': 'alice', 'X-Limit-D': 'watch' });
    assert.equal(r.status, 200, 'a 2xx, or the phone resends it for ever');
    assert.ok(Array.isArray(JSON.parse(await r.text())), 'the friends array'); // not encrypted: the key is not the phone's
    const nokey = seal('carol secret', JSON.stringify(location({ tst: 1705800002 })));
    r = await post('/pub?u=carol&d=phone', nokey);
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(JSON.parse(await r.text())), 'the friends array');
    assert.equal(await metric(bridge, 'mytracks_bridge_http_reports_undecryptable_total'), kept0 + 2);
    // kept: published as sent, so a key added later recovers it
    await waitFor(() => mqtt.messages.some((x) => x.topic === 'owntracks/alice/watch' && x.payload === wrong)
      && mqtt.messages.some((x) => x.topic === 'owntracks/carol/phone' && x.payload === nokey),
    { what: 'the undecryptable reports on MQTT' });
    await waitFor(() => /kept undecrypted \(auth_failed\)/.test(bridge.proc.output)
      && /kept undecrypted \(no_key\)/.test(bridge.proc.output), { what: 'the log lines' });
    assert.doesNotMatch(bridge.proc.output, new RegExp(SECRET));
  });

  it('refuses to start with a keys file others can read', async () => {
    const dir = tmpDir('mytracks-keys-');
    const open644 = path.join(dir, 'keys');
    fs.writeFileSync(open644, `alice:${SECRET}\n`);
    fs.chmodSync(open644, 0o644);
    const port = await freePort();
    const p = new Proc('bridge-badkeys', bridgePath, ['--http-port', String(port), '--mqtt-port',
      String(broker.port), '--database', broker.db, '--console', '--keys', open644],
    { env: sanitizerEnv(false), logFile: path.join(dir, 'bridge.log') });
    const { code } = await p.exited;
    assert.equal(code, 2, p.output);
    assert.match(p.output, /mode 0644.*chmod 600/);
    assert.doesNotMatch(p.output, new RegExp(SECRET));
  });
});
