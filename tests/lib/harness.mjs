// Test harness: real processes on free loopback ports, stopped by PID.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Environment (set by ctest, see tests/CMakeLists.txt):
//   MYTRACKS_BUILD_DIR   the CMake build directory whose binaries are tested
//   MYTRACKS_SANITIZE    "1" when that build uses ASan/UBSan
//   MYTRACKS_TEST_BACKEND "postgres": brokers store in PostgreSQL (lib/pg.mjs)
//   MYTRACKS_TEST_SHARED "1": and every plugin is a shared writer
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { backend, pgSql, sharedPostgres } from './pg.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceDir = path.resolve(here, '..', '..');
export const buildDir = process.env.MYTRACKS_BUILD_DIR || path.join(sourceDir, 'build');
export const sanitize = process.env.MYTRACKS_SANITIZE === '1';
export const pluginPath = path.join(buildDir, 'plugin', 'mytracks_plugin.so');
export const bridgePath = path.join(buildDir, 'bridge', 'mytracks-bridge');

const started = new Set();

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll fn() until it returns a truthy value or the timeout passes. */
export async function waitFor(fn, { timeout = 10000, interval = 25, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      if (e && e.stopWaiting) throw e; // giveUp(): waiting longer cannot help
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await sleep(interval);
  }
}

/** An error that ends a waitFor() at once (a process it waits for exited). */
export function giveUp(message) {
  return Object.assign(new Error(message), { stopWaiting: true });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const tmpDirs = [];
/** A fresh temporary directory: removed when the test file passes, kept
 * (and named on stderr) when it fails, or always with MYTRACKS_KEEP_TMP=1. */
export function tmpDir(prefix = 'mytracks-test-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

let asanLibs;
/** Environment for a process that loads (or is) a sanitizer build. */
export function sanitizerEnv(preload) {
  const env = { ...process.env };
  if (!sanitize) return env;
  if (preload) {
    // mosquitto itself is not instrumented: the ASan runtime must come first.
    // asan_first.so makes the runtime initialise before the gettext lock
    // that libgpg-error's constructor takes (tests/sanitizer/asan_first.c).
    asanLibs ??= [...['libasan.so', 'libubsan.so']
      .map((l) => execFileSync('gcc', [`-print-file-name=${l}`]).toString().trim()),
    path.join(buildDir, 'tests', 'libasan_first.so')].join(':');
    env.LD_PRELOAD = asanLibs;
  }
  env.ASAN_OPTIONS = [
    'detect_leaks=1', 'abort_on_error=0', 'halt_on_error=1',
    `suppressions=${path.join(sourceDir, 'tests', 'sanitizer', 'asan.supp')}`,
  ].join(':');
  env.LSAN_OPTIONS = `suppressions=${path.join(sourceDir, 'tests', 'sanitizer', 'lsan.supp')}:print_suppressions=0`;
  env.UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=1';
  return env;
}

/**
 * Lines a sanitizer prints when it finds something. With `ownLeaksOnly`,
 * a LeakSanitizer report counts only when one of its leaks was allocated
 * from mytracks code (a frame in our plugin or binaries): mosquitto itself
 * leaks its configuration when a plugin refuses to start, and a test that
 * checks exactly that must still catch the plugin's own leaks.
 */
export function sanitizerFindings(text, { ownLeaksOnly = false } = {}) {
  const lines = text.split('\n');
  if (ownLeaksOnly && /ERROR: LeakSanitizer/.test(text)) {
    const leaks = text.split(/\n(?=(?:[^\n]*: )?(?:Direct|Indirect) leak of )/).slice(1);
    const ours = leaks.some((b) => /mytracks|\/work\/|\/plugin\/|\/bridge\/|\/core\//.test(b.split(/\n[^\n]*SUMMARY:/)[0]));
    if (!ours) {
      return lines.filter((l) => /ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|Undefined)Sanitizer(?!: \d+ byte\(s\) leaked)/.test(l));
    }
  }
  return lines.filter((l) =>
    /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)/.test(l));
}

// Every process this test file started, for the sanitizer check at exit.
const everStarted = [];

/**
 * A child process with its output kept in a log file and in memory.
 * stop() sends SIGTERM to its PID and waits; SIGKILL after `killAfter` ms.
 * Whatever a test asserts, a sanitizer finding in the output of any process
 * it started fails the test file at exit (`ownLeaksOnly`: see
 * sanitizerFindings).
 */
export class Proc {
  constructor(name, cmd, args, { env, logFile, cwd, ownLeaksOnly = false } = {}) {
    this.name = name;
    this.ownLeaksOnly = ownLeaksOnly;
    this.logFile = logFile;
    this.output = '';
    this.child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        started.delete(this);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve({ code, signal });
      });
    });
    const sink = (d) => {
      this.output += d.toString();
      if (logFile) fs.appendFileSync(logFile, d);
    };
    this.child.stdout.on('data', sink);
    this.child.stderr.on('data', sink);
    // exited, and everything it wrote read (after 'exit')
    this.closed = new Promise((resolve) => this.child.once('close', resolve));
    started.add(this);
    everStarted.push(this);
  }

  get running() {
    return this.exitCode === undefined && this.exitSignal === undefined;
  }

  async stop({ signal = 'SIGTERM', killAfter = 15000 } = {}) {
    if (!this.running) return this.exited;
    try { process.kill(this.pid, signal); } catch { /* already gone */ }
    const t = setTimeout(() => { try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ } }, killAfter);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

/** Stop everything this process started (for after() hooks and crashes). */
export async function stopAll() {
  await Promise.all([...started].map((p) => p.stop()));
}
/** Sanitizer findings in the output of any process started so far. */
export function allSanitizerFindings() {
  return everStarted.flatMap((p) => sanitizerFindings(p.output, { ownLeaksOnly: p.ownLeaksOnly })
    .map((l) => `${p.name} (pid ${p.pid}): ${l}`));
}

process.on('exit', (code) => {
  for (const p of started) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  const findings = allSanitizerFindings();
  if (findings.length) {
    process.stderr.write(`sanitizer findings in processes this test started:\n${findings.join('\n')}\n`);
    process.exitCode = 1;
    code = 1;
  }
  if (code === 0 && !process.exitCode && process.env.MYTRACKS_KEEP_TMP !== '1') {
    for (const d of tmpDirs) {
      try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* a mount point, busy */ }
    }
  } else if (tmpDirs.length) {
    process.stderr.write(`test files and logs kept in: ${tmpDirs.join(' ')}\n`);
  }
});

/**
 * Start a real mosquitto on a free port with the built plugin.
 * `options` become plugin_opt_<key> lines; `extraConf` is appended verbatim.
 * `ownLeaksOnly` for a broker expected to refuse to start (see Proc).
 * Returns { proc, port, dir, db, confFile, restart(), stop() }.
 */
export async function startBroker({ dir = tmpDir(), options = {}, extraConf = '', port, plugin = true, ownLeaksOnly = false } = {}) {
  port ??= await freePort();
  // With MYTRACKS_TEST_BACKEND=postgres, a fresh database on the test
  // process's PostgreSQL server instead of the file.
  const db = options.database ?? (backend === 'postgres'
    ? (await sharedPostgres()).createDatabase()
    : path.join(dir, 'mytracks.db'));
  const confFile = path.join(dir, `mosquitto-${port}.conf`);
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type error', 'log_type warning', 'log_type notice', 'log_type information',
    'max_queued_messages 0',
  ];
  // As root, mosquitto would drop to user "mosquitto", who cannot write the temp dir.
  if (process.getuid && process.getuid() === 0) lines.push('user root');
  if (plugin) {
    lines.push(`plugin ${pluginPath}`);
    // MYTRACKS_TEST_SHARED=1 (with the postgres backend): every plugin a
    // shared writer (plugin_opt_shared_writers, docs/scale-out.md)
    const shared = process.env.MYTRACKS_TEST_SHARED === '1' && /^postgres(ql)?:\/\//.test(db)
      ? { shared_writers: 'true' } : {};
    const opts = { database: db, commit_window: '20', stats_interval: '1', ...shared, ...options };
    for (const [k, v] of Object.entries(opts)) lines.push(`plugin_opt_${k} ${v}`);
  }
  fs.writeFileSync(confFile, lines.join('\n') + '\n' + extraConf + '\n');
  const broker = { dir, db, confFile, port };
  broker.start = async () => {
    const proc = new Proc('mosquitto', 'mosquitto', ['-c', confFile], {
      env: sanitizerEnv(true), logFile: path.join(dir, 'mosquitto.log'), ownLeaksOnly,
    });
    broker.proc = proc;
    await waitFor(async () => {
      if (!proc.running) {
        await proc.closed;
        throw giveUp(`mosquitto exited: ${proc.output}`);
      }
      return portOpen(port);
    }, { timeout: 15000, what: `mosquitto on port ${port}` });
    return broker;
  };
  broker.stop = async (opts) => {
    const r = await broker.proc.stop(opts);
    return r;
  };
  broker.restart = async () => {
    await broker.stop();
    return broker.start();
  };
  return broker.start();
}

/** Connect a real MQTT client (mqtt.js). Resolves once connected. */
export function mqttConnect(port, opts = {}) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({
      host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...opts,
    });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => { c.end(true); reject(e); });
  });
}

/** Subscribe and collect every message: returns { messages, client, close() }. */
export async function collector(port, filter, opts = {}) {
  const client = await mqttConnect(port, opts);
  const messages = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages, close: () => client.endAsync() };
}

let sentinelSeq = 0;

/**
 * "Nothing else arrived", checked without a sleep: publish one last
 * location on `topic` through `pub` (the connection whose reports are under
 * test), wait until `sub` has the plugin's copy of it, and return the
 * messages `sub` had received before it. mosquitto hands one client's
 * messages to the plugin and on to each subscriber in order, so anything the
 * earlier publishes caused has arrived by then.
 */
export async function untilSentinel(pub, sub, topic = 'owntracks/sentinel/last') {
  const tst = 1705300000 + (++sentinelSeq);
  const [, user, device] = topic.split('/');
  const mine = (m) => m.topic.endsWith(`/${user}/${device}`) && m.payload.includes(`"timestamp_unix":${tst}`);
  await pub.publishAsync(topic, JSON.stringify(location({ tst })), { qos: 1 });
  await waitFor(() => sub.messages.some(mine), { what: `the sentinel on ${topic}` });
  return sub.messages.slice(0, sub.messages.findIndex(mine));
}

/**
 * Run SQL against a database file with the sqlite3 shell, or a PostgreSQL
 * URL with psql; rows as objects. Write SQL both read ("user" quoted).
 */
export function sql(db, query) {
  if (/^postgres(ql)?:\/\//.test(db)) return pgSql(db, query);
  // waits for the plugin's writer like any other connection would
  const out = execFileSync('sqlite3', ['-json', '-bail', '-cmd', '.timeout 5000', db, query]).toString().trim();
  return out ? JSON.parse(out) : [];
}

/**
 * 'ok' when the database is intact: SQLite's integrity_check; on
 * PostgreSQL (which has no such check) that no (device, tst) is stored
 * twice and no row points at a missing device. Else what is wrong.
 */
export function dbIntegrity(db) {
  if (!/^postgres(ql)?:\/\//.test(db)) return sql(db, 'PRAGMA integrity_check')[0].integrity_check;
  const [r] = sql(db, `SELECT (SELECT count(*) - count(DISTINCT (device_id, tst)) FROM locations) AS dup,
    (SELECT count(*) FROM locations l WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = l.device_id)) AS orphans`);
  return r.dup === 0 && r.orphans === 0 ? 'ok' : JSON.stringify(r);
}

/** A valid OwnTracks location with sensible defaults. */
export function location(fields = {}) {
  return { _type: 'location', lat: 52.520008, lon: 13.404954, tst: 1705329000, acc: 10, alt: 50,
    vel: 5, batt: 85, conn: 'w', tid: 'ph', ...fields };
}

/** Assert a process log holds no sanitizer findings. */
export function assertNoSanitizerFindings(assert, proc) {
  const found = sanitizerFindings(proc.output);
  assert.deepEqual(found, [], `${proc.name} sanitizer findings:\n${proc.output.slice(-4000)}`);
}
