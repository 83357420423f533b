// Encrypted OwnTracks payloads over MQTT: the plugin opens them with
// plugin_opt_keys (payloads sealed by libsodium-wrappers, an independent
// implementation), stores the plaintext marked decrypted, republishes it,
// and keeps what it cannot open as ciphertext.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, mqttConnect, collector, sql, location, waitFor, stopAll, tmpDir } from '../lib/harness.mjs';
import { sodiumReady, seal } from '../lib/otcrypto.mjs';

describe('plugin: encrypted payloads', () => {
  let broker; let sub; let pub;
  const dir = tmpDir();
  const keys = path.join(dir, 'keys');

  before(async () => {
    await sodiumReady;
    fs.writeFileSync(keys, '# payload keys\nalice:alice secret\nbob/tab:tab key\n', { mode: 0o600 });
    broker = await startBroker({ dir, options: { keys } });
    sub = await collector(broker.port, 'mytracks/#');
    pub = await mqttConnect(broker.port, { clientId: 'enc' });
  });
  after(async () => {
    await pub?.endAsync();
    await sub?.close();
    await stopAll();
  });

  const rows = (user) => sql(broker.db, `SELECT l.tst, l.raw, l.decrypted FROM locations l JOIN devices d
    ON d.id = l.device_id WHERE d.user = '${user}' ORDER BY l.tst`);
  const events = (user) => sql(broker.db, `SELECT e.type, e.raw, e.decrypted FROM events e JOIN devices d
    ON d.id = e.device_id WHERE d.user = '${user}' ORDER BY e.id`);
  /** A plain sentinel after the others: once stored, everything before it is. */
  async function sentinel(tst) {
    await pub.publishAsync('owntracks/sentinel/s', JSON.stringify(location({ tst })), { qos: 1 });
    await waitFor(() => sql(broker.db, `SELECT 1 FROM locations WHERE tst = ${tst}`).length === 1, { what: 'sentinel stored' });
  }

  it('opens a report with the user key and the device key, stores the plaintext marked decrypted', async () => {
    const plain = JSON.stringify(location({ tst: 1705600000, lat: 45.5, lon: 9.2 }));
    await pub.publishAsync('owntracks/alice/phone', seal('alice secret', plain), { qos: 1 });
    const tab = JSON.stringify(location({ tst: 1705600001 }));
    await pub.publishAsync('owntracks/bob/tab', seal('tab key', tab), { qos: 1 });
    await sentinel(1705600100);
    assert.deepEqual(rows('alice'), [{ tst: 1705600000, raw: plain, decrypted: 1 }]);
    assert.deepEqual(rows('bob'), [{ tst: 1705600001, raw: tab, decrypted: 1 }]);
    const m = await waitFor(() => sub.messages.find((x) => x.topic === 'mytracks/locations/alice/phone'),
      { what: 'the republished plaintext' });
    const obj = JSON.parse(m.payload);
    assert.equal(obj.latitude, '45.500000');
    assert.doesNotMatch(broker.proc.output, /alice secret|tab key/);
  });

  it('keeps what it cannot open as ciphertext, and says so once per device', async () => {
    const wrong = seal('not the key', JSON.stringify(location({ tst: 1705600200 })));
    const nokey = seal('carol secret', JSON.stringify(location({ tst: 1705600201 })));
    await pub.publishAsync('owntracks/alice/watch', wrong, { qos: 1 });
    await pub.publishAsync('owntracks/alice/watch', wrong, { qos: 1 });
    await pub.publishAsync('owntracks/carol/phone', nokey, { qos: 1 });
    await pub.publishAsync('owntracks/carol/phone', '{"_type":"encrypted","data":"***"}', { qos: 1 });
    await sentinel(1705600300);
    assert.deepEqual(rows('carol'), []);
    assert.deepEqual(events('carol').map((e) => [e.type, e.decrypted]), [['encrypted', 0], ['encrypted', 0]]);
    assert.equal(events('carol')[0].raw, nokey, 'the ciphertext exactly as sent');
    assert.equal(events('alice').filter((e) => e.type === 'encrypted').length, 2);
    await waitFor(() => /kept undecrypted \(auth_failed\)/.test(broker.proc.output), { what: 'the log line' });
    assert.equal(broker.proc.output.match(/report of alice\/watch was kept undecrypted/g).length, 1);
    assert.match(broker.proc.output, /report of carol\/phone was kept undecrypted \(no_key\)/);
    assert.equal(sub.messages.filter((m) => m.topic.startsWith('mytracks/locations/carol')).length, 0);
  });

  it('refuses to start with a keys file others can read', async () => {
    const open = path.join(tmpDir(), 'keys');
    fs.writeFileSync(open, 'alice:x\n');
    fs.chmodSync(open, 0o644);
    await assert.rejects(startBroker({ options: { keys: open }, ownLeaksOnly: true }), /plugin_opt_keys.*0644/s);
  });
});
