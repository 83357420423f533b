// Bridge test helpers: start mytracks-bridge against a broker, talk to it
// over HTTP and WebSocket.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import path from 'node:path';
import WebSocket from 'ws';
import {
  bridgePath, freePort, giveUp, Proc, sanitizerEnv, waitFor,
} from './harness.mjs';

/**
 * Start the bridge on a free port, connected to `broker` (from startBroker)
 * and reading its database. `args` are extra command-line options.
 * Resolves once /healthz answers (200 or 503) and, unless `waitBroker` is
 * false, once the bridge is connected and subscribed (200).
 */
export async function startBridge(broker, { args = [], waitBroker = true, port, name = 'bridge' } = {}) {
  port ??= await freePort();
  const argv = [
    '--http-port', String(port),
    '--mqtt-port', String(broker.port),
    '--database', broker.db,
    '--console', '--log-level', 'info',
    ...args,
  ];
  // A sanitizer build of the bridge is itself instrumented: no preload.
  const proc = new Proc(name, bridgePath, argv, {
    env: sanitizerEnv(false), logFile: path.join(broker.dir, `${name}-${port}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  const bridge = {
    proc, port, url, wsUrl: `ws://127.0.0.1:${port}/ws/locations/`,
    stop: (opts) => proc.stop(opts),
  };
  await waitFor(async () => {
    if (!proc.running) {
      await proc.closed;
      throw giveUp(`bridge exited: ${proc.output}`);
    }
    const r = await fetch(`${url}/healthz`);
    return waitBroker ? r.status === 200 : true;
  }, { timeout: 15000, what: `bridge on port ${port}` });
  return bridge;
}

/** GET a JSON endpoint: { status, body, headers }. */
export async function getJson(url) {
  const r = await fetch(url);
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, headers: r.headers, text };
}

/** A metric's value from /metrics text (first sample with that name). */
export async function metric(bridge, name) {
  const text = await (await fetch(`${bridge.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

/**
 * Connect a WebSocket client and keep every text frame as a string.
 * `options` go to the ws client (e.g. { headers: { cookie } }).
 * Resolves once open: { ws, frames, closed (promise), waitFrames(n), waitFor(pred) }.
 */
export function wsConnect(url, options = undefined) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const frames = [];
    const client = { ws, frames, isClosed: false };
    client.closed = new Promise((r) => ws.on('close', (code) => { client.isClosed = true; r(code); }));
    ws.on('message', (data) => frames.push(data.toString()));
    client.waitFrames = (n, opts = {}) => waitFor(() => frames.length >= n,
      { what: `${n} WebSocket frames (have ${frames.length})`, ...opts });
    client.waitFor = (pred, opts = {}) => waitFor(() => frames.find(pred),
      { what: 'a matching WebSocket frame', ...opts });
    client.close = () => { if (!client.isClosed) ws.close(); return client.closed; };
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Frames of one type, parsed. */
export function framesOfType(frames, type) {
  return frames.map((f) => JSON.parse(f)).filter((m) => m.type === type);
}

/**
 * POST a JSON request (e.g. /api/delete, /api/command) to the bridge, with
 * a session cookie and an Origin if given: { status, body } (body parsed
 * when it is JSON, else the text). `body` may be a string, sent as is.
 */
export async function postJson(bridge, urlPath, body, { cookie, origin, type = 'application/json' } = {}) {
  const headers = { 'content-type': type };
  if (cookie) headers.cookie = cookie;
  if (origin) headers.origin = origin;
  const r = await fetch(`${bridge.url}${urlPath}`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: r.status, body: json };
}

/** Log `user` in with `password` (JSON); returns the session cookie ("name=value"). */
export async function loginCookie(bridge, user, password) {
  const r = await fetch(`${bridge.url}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`login of ${user}: HTTP ${r.status}`);
  return r.headers.get('set-cookie').split(';')[0];
}
