// HTTP mode's reply as the apps read it: the friends the reporting user may
// see (their cards and last locations, OwnTracks' own objects) and the
// commands queued for the device (POST /api/command, reportLocation), which
// MQTT phones get on owntracks/<user>/<device>/cmd. Real broker, plugin and
// bridge; exact objects.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startBroker, mqttConnect, collector, sql, location, waitFor, stopAll,
} from '../lib/harness.mjs';
import {
  startBridge, postJson, loginCookie, wsConnect, framesOfType,
} from '../lib/bridge.mjs';
import { sodiumReady, seal, open } from '../lib/otcrypto.mjs';

const T = 1705329000;
const PW = { alice: 'alice pw 1', bob: 'bob pw 2', carol: 'carol pw 3', root: 'root pw 4' };
const FACE = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const DAVE_KEY = 'dave shared secret';

const iso = (t) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
/** The Recorder-shaped location a friend's last fix is sent as (isorcv left out). */
function recLoc(user, device, l) {
  const o = { _type: 'location', tid: l.tid, lat: l.lat, lon: l.lon, tst: l.tst, acc: l.acc, alt: l.alt,
    batt: l.batt, vel: l.vel, conn: l.conn, inregions: l.inregions ?? [],
    topic: `owntracks/${user}/${device}`, username: user, device, isotst: iso(l.tst),
    disptst: iso(l.tst).replace('T', ' ').replace('Z', '') };
  if (l.poi) o.poi = l.poi;
  return o;
}
const withoutIsorcv = (arr) => arr.map((o) => {
  if (o._type !== 'location') return o;
  const { isorcv, ...rest } = o;
  assert.match(isorcv, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  return rest;
});

describe('HTTP mode: friends and commands in the reply', () => {
  let broker; let openBridge; let authed; let phone; let cmds;
  const fixes = {
    'alice/phone': location({ tst: T, tid: 'al', lat: 52.52, lon: 13.405, inregions: ['Home'], poi: 'Bakery' }),
    'alice/watch': location({ tst: T + 1, tid: 'aw', lat: 52.53, lon: 13.41 }),
    'bob/phone': location({ tst: T + 2, tid: 'bp', lat: 48.1, lon: 11.6 }),
    'carol/phone': location({ tst: T + 3, tid: 'cp', lat: 45.4, lon: 9.2 }),
  };
  const card = { _type: 'card', name: 'Alice Liddell', face: FACE, tid: 'al' };

  before(async () => {
    await sodiumReady;
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    const hash = (pw) => execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${pw}\n` }).toString().trim();
    const usersFile = path.join(broker.dir, 'users');
    fs.writeFileSync(usersFile, `alice:${hash(PW.alice)}:share=bob\nbob:${hash(PW.bob)}\n`
      + `carol:${hash(PW.carol)}\nroot:${hash(PW.root)}:admin\n`);
    const keys = path.join(broker.dir, 'keys');
    fs.writeFileSync(keys, `dave:${DAVE_KEY}\n`, { mode: 0o600 });
    openBridge = await startBridge(broker, { name: 'open', args: ['--keys', keys] });
    authed = await startBridge(broker, { name: 'authed', args: ['--users', usersFile] });
    phone = await mqttConnect(broker.port, { clientId: 'friends' });
    cmds = await collector(broker.port, 'owntracks/+/+/cmd');
    await phone.publishAsync('owntracks/alice/phone/info', JSON.stringify(card), { qos: 1, retain: true });
    for (const [k, l] of Object.entries(fixes)) {
      await phone.publishAsync(`owntracks/${k}`, JSON.stringify(l), { qos: 1 });
    }
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 4
      && sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'card'")[0].n === 1, { what: 'four fixes and a card' });
  });

  after(async () => {
    await cmds?.close();
    await phone?.endAsync();
    await stopAll();
  });

  const basic = (u) => `Basic ${Buffer.from(`${u}:${PW[u]}`).toString('base64')}`;
  async function report(bridge, user, device, body, headers = {}) {
    const r = await fetch(`${bridge.url}/pub`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-limit-u': user, 'x-limit-d': device, ...headers },
      body,
    });
    return { status: r.status, text: await r.text() };
  }
  const cardOf = (c, topic) => ({ ...c, topic });
  const all = () => [
    cardOf(card, 'owntracks/alice/phone'), recLoc('alice', 'phone', fixes['alice/phone']),
    recLoc('alice', 'watch', fixes['alice/watch']), recLoc('bob', 'phone', fixes['bob/phone']),
    recLoc('carol', 'phone', fixes['carol/phone']),
  ];

  it('answers a user with the devices shared with them and their own others, never the reporting one', async () => {
    let r = await report(authed, 'bob', 'tablet', JSON.stringify(location({ tst: T + 10 })), { authorization: basic('bob') });
    assert.equal(r.status, 200);
    assert.deepEqual(withoutIsorcv(JSON.parse(r.text)), all().slice(0, 4));
    // alice sees her own other device only; the card goes with its device
    r = await report(authed, 'alice', 'phone', JSON.stringify(location({ tst: T + 11, tid: 'al' })), { authorization: basic('alice') });
    assert.equal(r.status, 200);
    assert.deepEqual(withoutIsorcv(JSON.parse(r.text)), [recLoc('alice', 'watch', fixes['alice/watch'])]);
    // carol: nobody shares with her, and this is her only device
    r = await report(authed, 'carol', 'phone', JSON.stringify(location({ tst: T + 12, tid: 'cp' })), { authorization: basic('carol') });
    assert.deepEqual(JSON.parse(r.text), []);
    // an admin sees everyone
    r = await report(authed, 'root', 'pad', JSON.stringify(location({ tst: T + 13 })), { authorization: basic('root') });
    const got = withoutIsorcv(JSON.parse(r.text));
    const names = got.map((o) => o.topic);
    assert.ok(names.includes('owntracks/carol/phone') && names.includes('owntracks/alice/phone'));
    assert.ok(!names.includes('owntracks/root/pad'));
  });

  it('without --users answers with every device but the reporting one, also to a zero-length POST', async () => {
    // the reply shows what is committed: wait for the reports above
    await waitFor(() => sql(broker.db, 'SELECT count(*) AS n FROM locations')[0].n === 8, { what: 'eight fixes' });
    const r = await report(openBridge, 'erin', 'phone', JSON.stringify(location({ tst: T + 20 })));
    assert.equal(r.status, 200);
    const got = withoutIsorcv(JSON.parse(r.text));
    // the newest fixes of the reports above are in it too: check the seeded ones
    const byTopic = Object.fromEntries(got.filter((o) => o._type === 'location').map((o) => [o.topic, o]));
    assert.deepEqual(got[0], cardOf(card, 'owntracks/alice/phone'));
    assert.deepEqual(byTopic['owntracks/alice/watch'], recLoc('alice', 'watch', fixes['alice/watch']));
    assert.deepEqual(byTopic['owntracks/bob/phone'], recLoc('bob', 'phone', fixes['bob/phone']));
    assert.equal(byTopic['owntracks/erin/phone'], undefined);
    const empty = await report(openBridge, 'erin', 'phone', '');
    assert.equal(empty.status, 200);
    assert.deepEqual(withoutIsorcv(JSON.parse(empty.text)), got);
  });

  it('follows what the phones send after the first reply: fixes, cards, new devices, deletes', async () => {
    // the bridge keeps the friends between replies (bridge/friends.c): every
    // change must show in the next reply once it is committed
    const friendsOf = async (user, device) => withoutIsorcv(JSON.parse((await report(openBridge, user, device, '')).text));
    const locOf = (arr, topic) => arr.find((o) => o._type === 'location' && o.topic === topic);
    await friendsOf('erin', 'phone'); // the set is read now, at the latest
    // a reply shows a change once it is committed and the bridge relayed it
    // (the plugin publishes before its commit, a shared writer after it)
    const ws = await wsConnect(openBridge.wsUrl);
    const storedOnly = (topic, tst) => sql(broker.db, `SELECT count(*) AS n FROM locations l JOIN devices d
      ON d.id = l.device_id WHERE d.user || '/' || d.device = '${topic}' AND l.tst = ${tst}`)[0].n === 1;
    const stored = (topic, tst) => storedOnly(topic, tst) && framesOfType(ws.frames, 'location')
      .some((m) => m.data.device_name === topic && m.data.timestamp_unix === tst);
    const cardRelayed = (name) => framesOfType(ws.frames, 'card').some((m) => m.data.display_name === name);
    const watch = location({ tst: T + 100, tid: 'aw', lat: 52.6, lon: 13.5 });
    await phone.publishAsync('owntracks/alice/watch', JSON.stringify(watch), { qos: 1 });
    await waitFor(() => stored('alice/watch', T + 100), { what: 'the watch\'s new fix' });
    assert.deepEqual(locOf(await friendsOf('erin', 'phone'), 'owntracks/alice/watch'), recLoc('alice', 'watch', watch));
    // an older fix sent late (a backlog) does not replace the newest
    await phone.publishAsync('owntracks/alice/watch', JSON.stringify(location({ tst: T + 50, tid: 'aw' })), { qos: 1 });
    await waitFor(() => stored('alice/watch', T + 50), { what: 'the late fix' });
    assert.deepEqual(locOf(await friendsOf('erin', 'phone'), 'owntracks/alice/watch'), recLoc('alice', 'watch', watch));
    // a new card: its name in the next replies
    const card2 = { _type: 'card', name: 'Alice L.', face: FACE, tid: 'al' };
    const cards = () => sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'card'")[0].n;
    const c0 = cards();
    await phone.publishAsync('owntracks/alice/phone/info', JSON.stringify(card2), { qos: 1, retain: true });
    await waitFor(() => cards() === c0 + 1 && cardRelayed('Alice L.'), { what: 'the new card' });
    let got = await friendsOf('erin', 'phone');
    assert.deepEqual(got[0], cardOf(card2, 'owntracks/alice/phone'));
    assert.equal(got.filter((o) => o._type === 'card').length, 1);
    // a device never seen before, in user order
    const aaron = location({ tst: T + 101, tid: 'aa', lat: 40.4, lon: -3.7 });
    await phone.publishAsync('owntracks/aaron/pad', JSON.stringify(aaron), { qos: 1 });
    await waitFor(() => stored('aaron/pad', T + 101), { what: 'aaron\'s fix' });
    got = await friendsOf('erin', 'phone');
    assert.deepEqual(got[0], recLoc('aaron', 'pad', aaron));
    assert.deepEqual(got[1], cardOf(card2, 'owntracks/alice/phone'));
    // the whole of aaron/pad deleted through this bridge: gone from the next reply
    const r = await postJson(openBridge, '/api/delete', { device: 'aaron/pad', all: true });
    assert.deepEqual([r.status, r.body], [200, { deleted: 1 }]);
    got = await friendsOf('erin', 'phone');
    assert.equal(got.some((o) => o.topic === 'owntracks/aaron/pad'), false);
    assert.deepEqual(got[0], cardOf(card2, 'owntracks/alice/phone'));
    // the first reply's card again, for the cases below
    await phone.publishAsync('owntracks/alice/phone/info', JSON.stringify(card), { qos: 1, retain: true });
    await waitFor(() => cards() === c0 + 2 && framesOfType(ws.frames, 'card').length === 2, { what: 'the card again' });
    assert.deepEqual((await friendsOf('erin', 'phone'))[0], cardOf(card, 'owntracks/alice/phone'));
    ws.ws.close();
  });

  it('encrypts the friends for a phone that encrypts', async () => {
    const r = await report(openBridge, 'dave', 'phone', seal(DAVE_KEY, JSON.stringify(location({ tst: T + 30 }))));
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(r.text)), ['_type', 'data']);
    const plain = JSON.parse(open(DAVE_KEY, r.text));
    assert.deepEqual(plain[0], cardOf(card, 'owntracks/alice/phone'));
    assert.ok(plain.some((o) => o.topic === 'owntracks/carol/phone'));
  });

  const command = (bridge, body, opts) => postJson(bridge, '/api/command', body, opts);
  const login = (bridge, user) => loginCookie(bridge, user, PW[user]);
  const CMD = { _type: 'cmd', action: 'reportLocation' };

  it('publishes reportLocation on the cmd topic and hands it to an HTTP phone once', async () => {
    const before = cmds.messages.length;
    const r = await command(openBridge, { device: 'carol/phone', action: 'reportLocation' });
    assert.deepEqual([r.status, r.body], [200, { sent: true }]);
    const m = await waitFor(() => cmds.messages.slice(before).find((x) => x.topic === 'owntracks/carol/phone/cmd'),
      { what: 'the command on MQTT' });
    assert.deepEqual(JSON.parse(m.payload), CMD);
    assert.equal(m.retain, false);
    // the plugin stored nothing for it
    assert.equal(sql(broker.db, "SELECT count(*) AS n FROM events WHERE type = 'cmd'")[0].n, 0);
    // the next HTTP reply of carol/phone carries it, after the friends; once
    let rep = await report(openBridge, 'carol', 'phone', JSON.stringify(location({ tst: T + 40, tid: 'cp' })));
    let arr = JSON.parse(rep.text);
    assert.deepEqual(arr.at(-1), CMD);
    assert.equal(arr.filter((o) => o._type === 'cmd').length, 1);
    rep = await report(openBridge, 'carol', 'phone', '');
    arr = JSON.parse(rep.text);
    assert.equal(arr.filter((o) => o._type === 'cmd').length, 0);
    // another device of hers does not get it
    await command(openBridge, { device: 'carol/phone', action: 'reportLocation' });
    rep = await report(openBridge, 'carol', 'tablet', '');
    assert.equal(JSON.parse(rep.text).filter((o) => o._type === 'cmd').length, 0);
    rep = await report(openBridge, 'carol', 'phone', '');
    assert.deepEqual(JSON.parse(rep.text).at(-1), CMD);
  });

  it('lets only the owner or an admin send commands, from this site, as JSON', async () => {
    assert.equal((await command(authed, { device: 'alice/phone', action: 'reportLocation' })).status, 401);
    const bob = await login(authed, 'bob');
    const alice = await login(authed, 'alice');
    const root = await login(authed, 'root');
    // bob sees alice's devices but does not own them
    let r = await command(authed, { device: 'alice/phone', action: 'reportLocation' }, { cookie: bob });
    assert.equal(r.status, 403);
    r = await command(authed, { device: 'alice/phone', action: 'reportLocation' }, { cookie: alice });
    assert.deepEqual([r.status, r.body], [200, { sent: true }]);
    r = await command(authed, { device: 'bob/phone', action: 'reportLocation' }, { cookie: root });
    assert.equal(r.status, 200);
    r = await command(authed, { device: 'alice/phone', action: 'reportLocation' }, { cookie: alice, origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    r = await command(authed, { device: 'alice/nothing', action: 'reportLocation' }, { cookie: alice });
    assert.equal(r.status, 404);
    r = await command(authed, { device: 'alice/phone', action: 'dump' }, { cookie: alice });
    assert.equal(r.status, 400);
    r = await command(authed, { device: 'alice', action: 'reportLocation' }, { cookie: alice });
    assert.equal(r.status, 400);
    const form = await fetch(`${authed.url}/api/command`, {
      method: 'POST', headers: { 'content-type': 'text/plain', cookie: alice }, body: '{}',
    });
    assert.equal(form.status, 415);
    // alice's HTTP phone gets the command queued through the authed bridge
    const rep = await report(authed, 'alice', 'phone', '', { authorization: basic('alice') });
    assert.deepEqual(JSON.parse(rep.text).at(-1), CMD);
  });
});
