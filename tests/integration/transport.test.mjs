// Transport tests of the bridge: HTTPS that browsers' clients can use
// (ALPN http/1.1, curl with and without --http1.1), Upgrade: h2c ignored,
// request time-outs, the memory budget of unfinished bodies, the
// descriptor limit, and the status codes of odd requests. Real broker,
// plugin and bridge on free loopback ports; raw sockets where a client
// library would tidy the request up.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  startBroker, mqttConnect, location, waitFor, stopAll, assertNoSanitizerFindings,
  bridgePath, freePort, sanitizerEnv, Proc, sleep,
} from '../lib/harness.mjs';
import { startBridge, getJson, metric } from '../lib/bridge.mjs';

const PASSWORD = 'alice-secret';
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** curl, resolving { code, body, version } (-k: the test certificate). */
function curl(args) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sk', '--max-time', '10', '-o', '-', '-w', '\n%{http_code} %{http_version}', ...args],
      { timeout: 20000 }, (err, stdout) => {
        if (err && !stdout) { reject(err); return; }
        const nl = stdout.lastIndexOf('\n');
        const [code, version] = stdout.slice(nl + 1).split(' ');
        resolve({ code: Number(code), version, body: stdout.slice(0, nl) });
      });
  });
}

/**
 * A raw TCP connection: write `chunks` (strings or Buffers), keep what
 * comes back. Resolves { data (Buffer), status (first line's code or
 * null), ended } once the peer closes or `wait` ms passed.
 */
function raw(port, chunks, { wait = 5000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got = [];
    let ended = false;
    const done = () => {
      clearTimeout(t);
      s.destroy();
      const data = Buffer.concat(got);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.toString('latin1'));
      resolve({ data, text: data.toString('latin1'), status: m ? Number(m[1]) : null, ended });
    };
    const t = setTimeout(done, wait);
    s.on('connect', () => { for (const c of [].concat(chunks)) s.write(c); });
    s.on('data', (d) => got.push(d));
    s.on('end', () => { ended = true; done(); });
    s.on('error', () => { ended = true; done(); });
  });
}

/** Open a socket, send `head`, then `trickle` one byte every `everyMs`
 * until the peer closes or `maxMs` passed. Resolves { closed, text, sent }. */
function trickle(port, head, trickleText, { everyMs = 300, maxMs = 25000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = ''; let sent = 0; let closed = false; let timer;
    const finish = () => {
      clearInterval(timer); clearTimeout(stop); s.destroy();
      resolve({ closed, text, sent });
    };
    const stop = setTimeout(finish, maxMs);
    s.on('connect', () => {
      s.write(head);
      timer = setInterval(() => {
        if (sent < trickleText.length) s.write(trickleText[sent++]);
      }, everyMs);
    });
    s.on('data', (d) => { text += d.toString('latin1'); });
    s.on('end', () => { closed = true; finish(); });
    s.on('error', () => { closed = true; finish(); });
  });
}

/** Connect and finish a WebSocket handshake by hand: { socket, rest }. */
function wsHandshake(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(
      `GET /ws/locations/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      if (!/^HTTP\/1\.1 101/.test(buf.toString('latin1'))) { reject(new Error(buf.toString('latin1'))); return; }
      resolve({ socket: s, rest: buf.subarray(end + 4) });
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

/** Frames of a server's byte stream: [{ opcode, payload }]. */
function parseFrames(buf) {
  const frames = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    let len = buf[i + 1] & 0x7f; let h = 2;
    if (len === 126) { len = buf.readUInt16BE(i + 2); h = 4; }
    if (i + h + len > buf.length) break;
    frames.push({ opcode: buf[i] & 0x0f, payload: buf.subarray(i + h, i + h + len) });
    i += h + len;
  }
  return frames;
}

/** A client frame; masked unless `masked` is false. */
function clientFrame(opcode, text, masked = true) {
  const payload = Buffer.from(text);
  if (!masked) return Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload.map((b, j) => b ^ key[j % 4]));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), key, body]);
}

async function stopChecked(b) {
  const r = await b.stop();
  assert.equal(r.code, 0, `${b.proc.name} exit: ${JSON.stringify(r)}\n${b.proc.output.slice(-2000)}`);
  assertNoSanitizerFindings(assert, b.proc);
}

/** Start the bridge with TLS; ready once /healthz answers 200 over HTTPS. */
async function startTlsBridge(broker, args, name) {
  const port = await freePort();
  const proc = new Proc(name, bridgePath, ['--http-port', String(port), '--mqtt-port', String(broker.port),
    '--database', broker.db, '--console', '--log-level', 'info', ...args],
  { env: sanitizerEnv(false), logFile: path.join(broker.dir, `${name}.log`) });
  const url = `https://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (!proc.running) throw new Error(`bridge exited: ${proc.output}`);
    return (await curl(['--http1.1', `${url}/healthz`])).code === 200;
  }, { timeout: 15000, what: 'TLS bridge' });
  return { proc, port, url, stop: (o) => proc.stop(o) };
}

describe('transport', () => {
  let broker; let plain; let tls; let phone; let usersFile; let cert; let key;
  const extra = [];

  before(async () => {
    broker = await startBroker({ options: { trusted_user: 'mytracks-bridge' } });
    cert = path.join(broker.dir, 'cert.pem'); key = path.join(broker.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${PASSWORD}\n` }).toString().trim();
    usersFile = path.join(broker.dir, 'users');
    fs.writeFileSync(usersFile, `alice:${hash}:admin\n`);
    plain = await startBridge(broker, { name: 'plain', args: ['--request-timeout', '2', '--max-body', '4096', '--max-body-memory', '16384'] });
    tls = await startTlsBridge(broker, ['--users', usersFile, '--tls-cert', cert, '--tls-key', key], 'tls');
    phone = await mqttConnect(broker.port, { clientId: 'transport-phone' });
    await phone.publishAsync('owntracks/alice/phone', JSON.stringify(location({ lat: 10, lon: 10 })), { qos: 1 });
    await waitFor(async () => (await getJson(`${plain.url}/api/devices/`)).body.results?.length === 1, { what: 'a device stored' });
  });

  after(async () => {
    await phone?.endAsync();
    for (const b of [plain, tls, ...extra]) if (b) await stopChecked(b);
    await stopAll();
  });

  describe('HTTPS', () => {
    for (const mode of [[], ['--http1.1']]) {
      const label = mode.length ? 'curl --http1.1' : 'curl (offering h2)';
      it(`answers the bridge's own endpoints with real bodies: ${label}`, async () => {
        const health = await curl([...mode, `${tls.url}/healthz`]);
        assert.equal(health.code, 200);
        assert.equal(health.version, '1.1', 'ALPN picks http/1.1');
        assert.equal(JSON.parse(health.body).status, 'ok');

        // login: wrong password redirects back, a right one sets a cookie
        const failed = await curl([...mode, '-D', '-', '-d', 'user=alice&password=nope', `${tls.url}/login`]);
        assert.equal(failed.code, 303);
        assert.match(failed.body, /^location: \/login\?failed=1\r?$/mi);
        const jar = path.join(broker.dir, `jar${mode.length}`);
        const ok = await curl([...mode, '-c', jar, '-d', `user=alice&password=${PASSWORD}`, `${tls.url}/login`]);
        assert.equal(ok.code, 303);
        const redirect = await curl([...mode, '-D', '-', `${tls.url}/`]);
        assert.equal(redirect.code, 302);
        assert.match(redirect.body, /^location: \/login\r?$/mi);

        const devices = await curl([...mode, '-b', jar, `${tls.url}/api/devices/`]);
        assert.equal(devices.code, 200);
        assert.equal(JSON.parse(devices.body).results[0].user, 'alice');
        const page = await curl([...mode, '-b', jar, `${tls.url}/`]);
        assert.equal(page.code, 200);
        assert.match(page.body, /<html/i);

        const pub = await curl([...mode, '-u', `alice:${PASSWORD}`, '-H', 'content-type: application/json',
          '-H', 'x-limit-u: alice', '-H', 'x-limit-d: phone',
          '--data-binary', JSON.stringify(location({ lat: 11, lon: 11 })), `${tls.url}/pub`]);
        assert.equal(pub.code, 200, pub.body);
        assert.deepEqual(JSON.parse(pub.body), []);
      });
    }
  });

  it('ignores Upgrade: h2c and answers as HTTP/1.1', async () => {
    const r = await raw(plain.port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${plain.port}\r\n`
      + 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', { wait: 3000 });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"status":"ok"/);
    const c = await curl(['--http2', `${plain.url}/api/devices/`]);
    assert.equal(c.code, 200);
    assert.equal(c.version, '1.1');
    assert.equal(JSON.parse(c.body).results.length, 1);
  });

  describe('time-outs and memory (--request-timeout 2, --max-body-memory 16384)', () => {
    it('closes a connection whose headers trickle in', async () => {
      const r = await trickle(plain.port, 'GET /healthz HTTP/1.1\r\n', `X-Slow: ${'a'.repeat(200)}\r\n\r\n`);
      assert.ok(r.closed, `still open after sending ${r.sent} header bytes`);
      assert.ok(r.sent < 200, `closed only after ${r.sent} bytes`);
    });

    it('answers 408 to a body that trickles in, even though each byte comes in time', async () => {
      const r = await trickle(plain.port, `POST /pub HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n`,
        JSON.stringify(location()).padEnd(300, ' '));
      assert.ok(r.closed, `still open after ${r.sent} body bytes`);
      assert.ok(r.sent < 300, `closed only after the whole body (${r.sent} bytes)`);
      assert.match(r.text, /^HTTP\/1\.1 408/);
      assert.ok(await metric(plain, 'mytracks_bridge_http_timeouts_total') >= 1);
    });

    it('refuses with 503 a body beyond the memory held by unfinished bodies, and frees it again', async () => {
      const head = (n) => `POST /pub HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${n}\r\n\r\n`;
      // four unfinished 4096-byte bodies fill the 16384-byte budget
      const held = [];
      for (let i = 0; i < 4; i++) {
        const s = net.connect(plain.port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        s.write(`${head(4096)}{"_type"`);
        s.on('error', () => {});
        held.push(s);
      }
      await sleep(300); // let the bridge read them (no answer is expected)
      const refused = await raw(plain.port, head(4096), { wait: 5000 });
      assert.equal(refused.status, 503, refused.text);
      assert.ok(await metric(plain, 'mytracks_bridge_http_shed_total') >= 1);
      for (const s of held) s.destroy();
      // their bytes come back: a whole report is accepted again
      const body = JSON.stringify(location({ lat: 12, lon: 12 }));
      await waitFor(async () => {
        const r = await fetch(`${plain.url}/pub`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'alice', 'x-limit-d': 'phone' }, body });
        return r.status === 200;
      }, { timeout: 10000, what: 'a report accepted after the bodies went away' });
    });
  });

  it('stops accepting at the descriptor limit instead of spinning on accept()', async () => {
    const port = await freePort();
    const proc = new Proc('fdlimit', 'prlimit', ['--nofile=100:100', '--', bridgePath, '--http-port', String(port),
      '--mqtt-port', String(broker.port), '--database', broker.db, '--console', '--log-level', 'info'],
    { env: sanitizerEnv(false), logFile: path.join(broker.dir, 'fdlimit.log') });
    const b = { proc, port, url: `http://127.0.0.1:${port}`, stop: (o) => proc.stop(o) };
    extra.push(b);
    await waitFor(async () => {
      if (!proc.running) throw new Error(`bridge exited: ${proc.output}`);
      return (await fetch(`${b.url}/healthz`)).status === 200;
    }, { timeout: 15000, what: 'bridge under prlimit' });
    assert.match(proc.output, /--max-connections lowered from 1000 to 18/);
    // more idle connections than descriptors
    const sockets = [];
    for (let i = 0; i < 150; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => new Promise((r) => { s.once('connect', r); s.once('error', r); })));
    await sleep(1500);
    const acceptErrors = (proc.output.match(/accept/gi) || []).length;
    assert.ok(acceptErrors < 10, `${acceptErrors} accept lines logged`);
    for (const s of sockets) s.destroy();
    await waitFor(async () => (await fetch(`${b.url}/healthz`)).status === 200, { timeout: 20000, what: 'served again' });
  });

  describe('status codes', () => {
    it('answers 414 to an /api path of 256 bytes or more', async () => {
      const r = await raw(plain.port, `GET /api/${'a'.repeat(300)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 414, r.text);
    });

    it('answers 403 to a refused WebSocket upgrade', async () => {
      const up = (p, extraHdr = '') => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${plain.port}\r\n${extraHdr}Upgrade: websocket\r\n`
        + `Connection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
      assert.equal((await raw(plain.port, up('/ws/other/'))).status, 403);
      assert.equal((await raw(plain.port, up('/ws/locations/', 'Origin: http://evil.example\r\n'))).status, 403);
      // with --users, no session
      const r = await curl(['--http1.1', '-H', 'Upgrade: websocket', '-H', 'Connection: Upgrade', '-H', `Sec-WebSocket-Key: ${WS_KEY}`,
        '-H', 'Sec-WebSocket-Version: 13', `${tls.url}/ws/locations/`]);
      assert.equal(r.code, 403);
    });

    it('closes the WebSocket on an unmasked client frame (and on any data frame)', async () => {
      for (const masked of [false, true]) {
        const { socket, rest } = await wsHandshake(plain.port);
        let buf = rest;
        socket.on('data', (d) => { buf = Buffer.concat([buf, d]); });
        socket.on('error', () => {});
        await waitFor(() => parseFrames(buf).length >= 1, { what: 'the welcome frame' });
        socket.write(clientFrame(1, 'hello', masked));
        const close = await waitFor(() => parseFrames(buf).find((f) => f.opcode === 8),
          { timeout: 10000, what: `a close frame (masked ${masked})` });
        assert.equal(close.payload.readUInt16BE(0), 1008);
        socket.destroy();
      }
    });

    it('closes at once, and keeps serving, on requests lws 4.1 refuses while parsing', async () => {
      // lws closes these without a status (documented in docs/security.md)
      const cases = [
        `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(8000)}\r\n\r\n`,
        `GET /healthz HTTP/1.1\r\nHost: a\r\n${'Accept: a\r\n'.repeat(200)}\r\n`,
        'GET /api/locations/?limit=%00 HTTP/1.1\r\nHost: a\r\n\r\n',
        `GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      ];
      for (const c of cases) {
        const r = await raw(plain.port, c, { wait: 10000 });
        assert.ok(r.ended, 'closed');
        assert.ok(r.status === null || r.status >= 400, r.text.slice(0, 200));
      }
      assert.equal((await fetch(`${plain.url}/healthz`)).status, 200);
    });
  });
});

