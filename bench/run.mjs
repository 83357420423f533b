// bench/run.mjs (started by bench/run): mytracks benchmarks side by side in one run, printed as a Markdown table.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Starts everything it needs (mosquitto with and without the plugin, the
// bridge) on free 127.0.0.1 ports with temporary databases, runs the
// measurements of issue 5 and stops what it started, by PID, also on
// Ctrl-C. See docs/bench.md for what each row means.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '..');
const H = await import(path.join(top, 'tests', 'lib', 'harness.mjs'));
const { Proc, freePort, tmpDir, waitFor, sql, stopAll, buildDir, pluginPath, bridgePath } = H;

const SIZES = {
  // ingest: messages per run and rounds (bare and plugin alternate);
  // latency: seconds per cell; fanout: client counts; history: rows;
  // memory: messages per broker.
  smoke: { ingest: 2000, rounds: 1, latSecs: 1, latRates: [100], latClients: [1, 5],
    fanout: [20], fanSecs: 1, histRows: 20000, histReqs: 20, memory: 2000, warmup: 0.3, httpSecs: 1,
    exportRows: 20000, trackRows: 20000, trackReqs: 2, purgeRows: 20000 },
  quick: { ingest: 50000, rounds: 2, latSecs: 3, latRates: [100, 1000], latClients: [1, 100],
    fanout: [1000, 2000], fanSecs: 3, histRows: 200000, histReqs: 100, memory: 100000, warmup: 1, httpSecs: 3,
    exportRows: 200000, trackRows: 100000, trackReqs: 3, purgeRows: 200000 },
  full: { ingest: 200000, rounds: 3, latSecs: 10, latRates: [100, 1000], latClients: [1, 100],
    fanout: [1000, 10000], fanSecs: 10, histRows: 1000000, histReqs: 500, memory: 1000000, warmup: 2, httpSecs: 10,
    exportRows: 1000000, trackRows: 500000, trackReqs: 5, purgeRows: 1000000 },
};
const ALL = ['ingest', 'latency', 'fanout', 'history', 'memory', 'http', 'export', 'retention', 'postgres', 'nginx'];

function usage() {
  return `Usage: bench/run [--smoke | --quick] [--only LIST] [--fanout-frames F] [--max-clients N] [--json FILE] [--keep] [--no-build]
Runs the mytracks benchmarks and prints a Markdown table.
  --smoke          tiny counts, for tests: checks the tools work, times mean nothing
  --quick          a few seconds per measurement
  (default)        the full sizes of issue 5 (about 5 minutes)
  --only LIST      comma-separated subset of: ${ALL.join(', ')}
  --fanout-frames F  frames/s offered in the fan-out runs: locations/s = F / clients
                   (default 50000)
  --max-clients N  the largest fan-out (default 10000 in the full run)
  --json FILE      also write every raw result as JSON
  --keep           keep the temporary directory (logs, databases)
  --no-build       do not run cmake --build first
Environment: MYTRACKS_BUILD_DIR (default ./build).`;
}

let opts;
try {
  opts = parseArgs({
    options: {
      smoke: { type: 'boolean' }, quick: { type: 'boolean' }, only: { type: 'string' },
      'fanout-frames': { type: 'string' }, 'max-clients': { type: 'string' },
      json: { type: 'string' }, keep: { type: 'boolean' }, 'no-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (e) {
  console.error(`bench/run: ${e.message}\n${usage()}`);
  process.exit(2);
}
if (opts.help) {
  console.log(usage());
  process.exit(0);
}
const mode = opts.smoke ? 'smoke' : opts.quick ? 'quick' : 'full';
const S = { ...SIZES[mode] };
if (opts['max-clients']) S.fanout = [...new Set([Math.min(1000, +opts['max-clients']), +opts['max-clients']])];
const fanFrames = Number(opts['fanout-frames'] ?? (mode === 'smoke' ? 1000 : 50000));
const only = opts.only ? opts.only.split(',') : ALL;
for (const o of only) {
  if (!ALL.includes(o)) {
    console.error(`bench/run: unknown measurement '${o}'\n${usage()}`);
    process.exit(2);
  }
}

const tools = path.join(buildDir, 'tools');
const work = tmpDir('mytracks-bench-');
const log = (...a) => console.error('bench:', ...a);
const rows = [];
const raw = { mode, date: new Date().toISOString(), machine: machine(), results: {} };

// Ctrl-C / TERM: stop every process we started, then leave.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    log(`${sig}: stopping everything started`);
    await stopAll();
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}

function machine() {
  let mosq = '';
  try {
    mosq = spawnSync('mosquitto', ['-h']).stdout.toString().match(/mosquitto version (\S+)/)?.[1] ?? '';
  } catch { /* not installed: the run fails later with a clear message */ }
  return {
    cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(), mosquitto: mosq, node: process.version,
    nofile: spawnSync('sh', ['-c', 'ulimit -n']).stdout.toString().trim(),
  };
}

function build() {
  if (opts['no-build']) return;
  if (!fs.existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
    execFileSync('cmake', ['-S', top, '-B', buildDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const targets = ['generate_load', 'ws_bench', 'http_bench', 'mytracks_plugin'];
  execFileSync('cmake', ['--build', buildDir, '--target', ...targets], { stdio: ['ignore', 'ignore', 'inherit'] });
  // The bridge is optional: rows that need it are skipped when it does not build.
  spawnSync('cmake', ['--build', buildDir, '--target', 'mytracks-bridge'], { stdio: 'ignore' });
}

/** Run one of our tools to completion; returns its JSON result line. */
async function tool(name, args) {
  const p = new Proc(name, path.join(tools, name), args, { env: H.sanitizerEnv(false), logFile: path.join(work, `${name}.log`) });
  const { code, signal } = await p.exited;
  const line = p.output.split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${name} ${args.join(' ')} failed (${code ?? signal}): ${p.output.slice(-800)}`);
  return { ...JSON.parse(line), exitCode: code };
}

/** mosquitto on a free port; with the plugin when `db` is given. */
async function broker({ db, nodelay = true, options = [], cpu } = {}) {
  const dir = fs.mkdtempSync(path.join(work, 'broker-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false',
    'log_dest stderr', 'log_type error', 'log_type warning',
    // Subscribers that must see every message (the bridge) need an unbounded queue.
    'max_queued_messages 0',
    // as my-tracks-server configures it
    'max_inflight_messages 100'];
  if (nodelay) lines.push('set_tcp_nodelay true');
  if (process.getuid?.() === 0) lines.push('user root');
  // the bridge publishes HTTP-mode reports for other users under its own name
  if (db) lines.push(`plugin ${pluginPath}`, `plugin_opt_database ${db}`, 'plugin_opt_trusted_user mytracks-bridge');
  if (db) for (const o of options) lines.push(`plugin_opt_${o}`);
  fs.writeFileSync(conf, lines.join('\n') + '\n');
  // taskset execs mosquitto: the PID is the broker's
  const [cmd, args] = cpu === undefined ? ['mosquitto', ['-c', conf]] : ['taskset', ['-c', String(cpu), 'mosquitto', '-c', conf]];
  const proc = new Proc('mosquitto', cmd, args, { env: H.sanitizerEnv(true), logFile: path.join(dir, 'mosquitto.log') });
  await waitFor(async () => {
    if (!proc.running) throw new Error(`mosquitto exited: ${proc.output}`);
    return tcpOpen(port);
  }, { timeout: 15000, what: `mosquitto on ${port}` });
  return { proc, port, db, stop: () => proc.stop() };
}

async function tcpOpen(port) {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function haveBridge() {
  return fs.existsSync(bridgePath);
}

// A bridge for `clients` WebSocket clients: --max-connections is 1000 by
// default (a cap against floods), so the fan-out rows raise it. The bridge
// counts two descriptors per connection (its socket and a static file it
// may be sending), so it takes only as many clients as the open-files
// limit allows: fanoutFit() says how many.
const FD_PER_CONNECTION = 2;
const FD_RESERVE = 64 + 100;
function bridgeArgs(args, clients) {
  return clients ? ['--max-connections', String(clients), ...args] : args;
}
function fanoutFit(clients) {
  const hard = Number(spawnSync('sh', ['-c', 'ulimit -Hn']).stdout.toString().trim());
  if (!Number.isFinite(hard)) return clients; // unlimited
  return Math.min(clients, Math.floor((hard - FD_RESERVE) / FD_PER_CONNECTION));
}

async function bridge(mqttPort, db, clients = 0) {
  const port = await freePort();
  const args = bridgeArgs(['--http-port', String(port), '--mqtt-port', String(mqttPort),
    '--database', db, '--console', '--log-level', 'warning'], clients);
  const proc = new Proc('bridge', bridgePath, args, { env: H.sanitizerEnv(false), logFile: path.join(work, `bridge-${port}.log`) });
  await waitFor(async () => {
    if (!proc.running) throw new Error(`bridge exited: ${proc.output}`);
    const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
    return r && r.status === 200;
  }, { timeout: 15000, what: 'bridge /healthz' });
  return { proc, port, stop: () => proc.stop() };
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (n) => fmt(n, n < 10 ? 2 : 1);
const mb = (kb) => `${fmt(kb / 1024, 1)} MB`;
const verdict = (ok) => (ok === undefined ? '' : ok ? 'yes' : '**no**');
// In smoke mode only correctness is judged: timings from tiny runs mean nothing.
function row(measurement, result, target = '', ok, timing = false) {
  if (mode === 'smoke' && timing) ok = undefined;
  rows.push({ measurement, result, target: mode === 'smoke' && timing ? '' : target, met: verdict(ok) });
  if (ok === false) raw.missed = (raw.missed ?? 0) + 1;
}
function skip(measurement, why) {
  rows.push({ measurement, result: `skipped: ${why}`, target: '', met: '' });
}

// ---- 1. ingest ----
const CLK_TCK = 100; // Linux's USER_HZ: /proc stat times are in these ticks

/** CPU seconds (user, system) per thread of `pid`: the main thread (the
 * broker's event loop) and the sum of the others (the plugin's writer). */
function threadCpu(pid) {
  const out = { main: { user: 0, sys: 0 }, others: { user: 0, sys: 0 } };
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let stat;
    try { stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'); } catch { continue; } // ended
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    const t = +tid === pid ? out.main : out.others;
    t.user += +f[11] / CLK_TCK; // utime, field 14
    t.sys += +f[12] / CLK_TCK; // stime, field 15
  }
  return out;
}
const cpuDiff = (a, b) => ({ user: b.user - a.user, sys: b.sys - a.sys });

/** generate_load (pinned to `cpu` if given) under sh, whose `times`
 * reports the CPU its child used: { ...json result, cpu: { user, sys } }. */
async function timedLoad(args, cpu) {
  const gen = path.join(tools, 'generate_load');
  const cmd = cpu === undefined ? '"$@"' : `taskset -c ${cpu} "$@"`;
  const p = new Proc('generate_load', 'sh', ['-c', `${cmd}; rc=$?; times >&2; exit $rc`, 'sh', gen, ...args],
    { env: H.sanitizerEnv(false), logFile: path.join(work, 'generate_load.log') });
  const { code, signal } = await p.exited;
  const lines = p.output.split('\n');
  const json = lines.reverse().find((l) => l.startsWith('{'));
  const times = lines.filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim())); // reversed: children first
  if (!json || times.length < 2) throw new Error(`generate_load ${args.join(' ')} failed (${code ?? signal}): ${p.output.slice(-800)}`);
  const secs = (t) => { const [m, s] = t.split('m'); return +m * 60 + parseFloat(s); };
  const [user, sys] = times[0].trim().split(' ').map(secs);
  return { ...JSON.parse(json), exitCode: code, cpu: { user, sys } };
}

/* One user (generate_load's --user) sending flat out keeps about its rate
 * times plugin_opt_commit_window rows pending: 8,000-10,000 at 80,000 msg/s
 * and 100 ms, which is the default share of one user (buffer_per_user =
 * buffer_max / 10), so reports would now and then be refused and the
 * client disconnected (as designed). The bench measures throughput, not
 * that fairness limit: the load's one user may hold the whole buffer. */
const ONE_USER_FLOOD = ['buffer_per_user 100000'];

/** One ingest run on a fresh broker: rate, and CPU per message (µs) of
 * the broker thread, the writer thread and the load generator. With
 * `pinned` the broker (and so its writer) runs on CPU 0, the load on CPU 1.
 * With the plugin storing in `db` (a fresh SQLite file by default; plugin
 * `options` as broker() takes them), also `stored`: rows/s from the start
 * of the load until the last one was committed. */
async function ingestRun(n, r, withPlugin, pinned, check,
  db = withPlugin ? path.join(work, `ingest-${pinned ? 'pin-' : ''}${r}.db`) : undefined, options = ONE_USER_FLOOD) {
  const b = await broker({ db, cpu: pinned ? 0 : undefined, options });
  const t0 = Date.now();
  const before = threadCpu(b.proc.pid);
  const res = await timedLoad(['--port', String(b.port), '--devices', '10', '--rate', 'max',
    '--count', String(n), '--qos', '1', '--max-inflight', '20', '--json', '--user', `ingest${pinned ? 'p' : ''}${r}`], pinned ? 1 : undefined);
  const after = threadCpu(b.proc.pid);
  let stored;
  if (res.exitCode !== 0 || res.acked !== n) throw new Error(`ingest run failed: ${JSON.stringify(res)}`);
  const us = (c) => ({ user: (c.user / n) * 1e6, sys: (c.sys / n) * 1e6 });
  const cpu = { broker: us(cpuDiff(before.main, after.main)), writer: us(cpuDiff(before.others, after.others)), load: us(res.cpu) };
  if (withPlugin) {
    // every acknowledged location must be stored once: wait for the commit
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM locations')[0].n >= n,
      { timeout: 60000, interval: 50, what: 'all rows committed' }).catch(() => {});
    stored = n / ((Date.now() - t0) / 1000);
    await b.stop(); // a clean shutdown commits what is pending
    const q = sql(db, 'SELECT count(*) AS n, count(DISTINCT device_id || \'/\' || tst) AS d FROM locations')[0];
    check.stored += q.n; check.distinct += q.d; check.expected += n;
  } else {
    await b.stop();
  }
  log(`ingest${pinned ? ' pinned' : ''} round ${r + 1}: ${withPlugin ? 'plugin' : 'bare  '} ${fmt(res.rate)} msg/s`);
  return { rate: res.rate, cpu, stored };
}

/** Medians per component of a list of ingestRun results, as text. */
function cpuText(runs, withPlugin) {
  const m = (k, f) => median(runs.map((x) => x.cpu[k][f]));
  const one = (label, k) => `${label} ${fmt(m(k, 'user'), 2)} + ${fmt(m(k, 'sys'), 2)}`;
  return `CPU µs/msg user + sys: ${[one('broker thread', 'broker'), ...(withPlugin ? [one('writer', 'writer')] : []), one('generate_load', 'load')].join(', ')}`;
}

function canPin() {
  return os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

async function ingest() {
  const n = S.ingest;
  const check = { stored: 0, distinct: 0, expected: 0 };
  const res = { free: { bare: [], plugin: [] }, pinned: { bare: [], plugin: [] } };
  const setups = canPin() ? ['free', 'pinned'] : ['free'];
  for (const setup of setups) {
    for (let r = 0; r < S.rounds; r++) {
      // bare and plugin alternate, so drifting machine load hits both alike
      for (const withPlugin of [false, true]) {
        res[setup][withPlugin ? 'plugin' : 'bare'].push(await ingestRun(n, r, withPlugin, setup === 'pinned', check));
      }
    }
  }
  const rates = (a) => a.map((x) => x.rate);
  const runs = (a) => rates(a).map((x) => fmt(x)).join(', ');
  const { free, pinned } = res;
  const ratio = median(rates(free.plugin)) / median(rates(free.bare));
  raw.results.ingest = { n, bare: rates(free.bare), plugin: rates(free.plugin), ratio, ...check, runs: res };
  row(`Ingest, bare mosquitto: QoS 1, 10 devices, ${fmt(n)} msgs × ${S.rounds}`, `${fmt(median(rates(free.bare)))} msg/s (runs: ${runs(free.bare)}); ${cpuText(free.bare, false)}`);
  row('Ingest, mosquitto + mytracks plugin, same load', `${fmt(median(rates(free.plugin)))} msg/s (runs: ${runs(free.plugin)}); ${cpuText(free.plugin, true)}`);
  row('Ingest ratio plugin / bare (medians)', fmt(ratio, 2), '≥ 0.80', ratio >= 0.8, true);
  if (setups.includes('pinned')) {
    const pr = median(rates(pinned.plugin)) / median(rates(pinned.bare));
    raw.results.ingest.pinnedRatio = pr;
    row('Ingest pinned (taskset: broker and its writer on CPU 0, generate_load on CPU 1), bare',
      `${fmt(median(rates(pinned.bare)))} msg/s (runs: ${runs(pinned.bare)}); ${cpuText(pinned.bare, false)}`);
    row('Ingest pinned, with the plugin', `${fmt(median(rates(pinned.plugin)))} msg/s (runs: ${runs(pinned.plugin)}); ${cpuText(pinned.plugin, true)}`);
    row('Ingest ratio pinned plugin / bare (medians)', fmt(pr, 2), '≥ 0.80', pr >= 0.8, true);
  } else {
    skip('Ingest pinned (taskset)', 'needs 2 cores and taskset (util-linux)');
  }
  row('Every acknowledged location stored exactly once', `${fmt(check.stored)} rows, ${fmt(check.distinct)} distinct (device, tst), ${fmt(check.expected)} sent`,
    'all, once', check.stored === check.expected && check.distinct === check.expected);
  if (check.stored !== check.expected || check.distinct !== check.expected) raw.undelivered = true;
}

// ---- 2. latency ----
async function latency() {
  if (!haveBridge()) return skip('Publish-to-WebSocket latency', 'bridge not built');
  const out = [];
  const grid = [];
  for (const rate of S.latRates) for (const clients of S.latClients) grid.push({ rate, clients, pubNodelay: true });
  // Nagle's algorithm plus delayed ACKs cost ~40 ms at low rates when neither
  // the publisher (many phone MQTT libraries) nor the broker sets TCP_NODELAY.
  const nagle = { rate: 100, clients: 1, pubNodelay: false };
  const brokers = mode === 'full' ? [[true, [...grid, nagle]], [false, [nagle]]] : [[true, grid]];
  for (const [nodelay, cells] of brokers) {
    const db = path.join(work, `latency-${nodelay}.db`);
    const b = await broker({ db, nodelay });
    const br = await bridge(b.port, db);
    for (const { rate, clients, pubNodelay } of cells) {
      const res = await tool('ws_bench', ['--ws', `ws://127.0.0.1:${br.port}/ws/locations/`, '--mqtt-port', String(b.port),
        '--clients', String(clients), '--rate', String(rate), '--duration', String(S.latSecs), '--settle', '5',
        '--warmup', String(S.warmup), '--nodelay', pubNodelay ? '1' : '0', '--watch', `bridge:${br.proc.pid}`]);
      out.push({ brokerNodelay: nodelay, pubNodelay, rate, clients, ...res });
      const delivered = res.matched === res.frames_expected && res.open === clients;
      if (!delivered) raw.undelivered = true;
      const target = rate === 1000 && clients === 100 ? 'p99 ≤ 5 ms' : '';
      const label = `Latency publish → WebSocket, ${fmt(rate)}/s, ${clients} client${clients > 1 ? 's' : ''}` +
        (pubNodelay ? '' : `, publisher without TCP_NODELAY, broker ${nodelay ? 'with' : 'without'} set_tcp_nodelay`);
      row(label, `p50 ${ms(res.p50_ms)} / p90 ${ms(res.p90_ms)} / p99 ${ms(res.p99_ms)} / max ${ms(res.max_ms)} ms; ` +
        `${fmt(res.matched)}/${fmt(res.frames_expected)} frames`,
        target || 'all delivered', (target ? res.p99_ms <= 5 : true) && delivered, !!target);
      log(`latency ${rate}/s ${clients} clients broker nodelay=${nodelay} publisher nodelay=${pubNodelay}: p99 ${res.p99_ms} ms`);
    }
    await br.stop();
    await b.stop();
  }
  raw.results.latency = out;
}

// ---- 3. fan-out ----
async function fanout() {
  if (!haveBridge()) return skip('Fan-out to many WebSocket clients', 'bridge not built');
  const out = [];
  for (const asked of S.fanout) {
    const clients = fanoutFit(asked);
    const fanRate = Math.max(1, fanFrames / asked);
    const db = path.join(work, `fanout-${clients}.db`);
    const b = await broker({ db });
    const br = await bridge(b.port, db, clients);
    const idleRss = rss(br.proc.pid);
    const res = await tool('ws_bench', ['--ws', `ws://127.0.0.1:${br.port}/ws/locations/`, '--mqtt-port', String(b.port),
      '--clients', String(clients), '--rate', String(fanRate), '--duration', String(S.fanSecs), '--settle', '30', '--warmup', String(S.warmup),
      '--connect-timeout', '120', '--watch', `bridge:${br.proc.pid}`]);
    const w = res.watch.bridge;
    out.push({ clients, idleRss, ...res });
    const ok = res.open === clients && res.matched === res.frames_expected;
    const fit = clients < asked ? ` (of ${fmt(asked)}: the most the open-files limit, ulimit -Hn, gives the bridge at ${FD_PER_CONNECTION} per connection)` : '';
    row(`Fan-out: ${fmt(clients)} WebSocket clients${fit}, ${fmt(fanRate)} locations/s`,
      `${res.open === clients ? '' : `only ${fmt(res.open)} open (${res.first_failure}); `}` +
      `${fmt(res.frames_per_s)} frames/s, p99 ${ms(res.p99_ms)} ms, ${fmt(res.matched)}/${fmt(res.frames_expected)} frames; ` +
      `bridge RSS ${mb(w.rss_max_kb)} (idle ${mb(idleRss)}), CPU ${fmt(w.cpu_pct)} %`,
      asked >= 10000 ? '< 200 MB RSS' : 'all delivered',
      asked >= 10000 ? ok && w.rss_max_kb < 200 * 1024 : ok, asked >= 10000);
    if (res.matched !== res.frames_expected) raw.undelivered = true;
    log(`fanout ${clients}: ${res.open} open, ${res.frames_per_s} frames/s, rss ${w.rss_max_kb} kB`);
    await br.stop();
    await b.stop();
  }
  raw.results.fanout = out;
}

// ---- 10. two bridges behind nginx ----
/** The PID of the one worker of the nginx master `pid` (worker_processes 1). */
function nginxWorker(pid) {
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (kids.length !== 1) throw new Error(`nginx ${pid} has ${kids.length} workers`);
  return kids[0];
}

async function nginx() {
  if (!haveBridge()) return skip('Fan-out through nginx', 'bridge not built');
  const N = await import(path.join(top, 'tests', 'lib', 'nginx.mjs'));
  if (spawnSync(N.nginxBin, ['-v']).status !== 0) return skip('Fan-out through nginx', 'nginx not installed (tools/install-deps --test)');
  const clients = S.fanout[0];
  const fanRate = Math.max(1, fanFrames / clients);
  const db = path.join(work, 'nginx.db');
  const b = await broker({ db });
  const bridges = [await bridge(b.port, db, clients), await bridge(b.port, db, clients)];
  const dir = fs.mkdtempSync(path.join(work, 'nginx-'));
  const front = await N.startNginx({ dir, ports: bridges.map((x) => x.port), connections: 4 * clients + 64 });
  const res = await tool('ws_bench', ['--ws', `${front.ws}/ws/locations/`, '--mqtt-port', String(b.port),
    '--clients', String(clients), '--rate', String(fanRate), '--duration', String(S.fanSecs), '--settle', '30', '--warmup', String(S.warmup),
    '--connect-timeout', '120', '--watch', `bridge-a:${bridges[0].proc.pid}`, '--watch', `bridge-b:${bridges[1].proc.pid}`,
    '--watch', `nginx:${nginxWorker(front.proc.pid)}`]);
  const ok = res.open === clients && res.matched === res.frames_expected;
  const w = res.watch;
  row(`Fan-out through nginx to two bridges: ${fmt(clients)} WebSocket clients, ${fmt(fanRate)} locations/s`,
    `${res.open === clients ? '' : `only ${fmt(res.open)} open (${res.first_failure}); `}` +
    `${fmt(res.frames_per_s)} frames/s, p99 ${ms(res.p99_ms)} ms, ${fmt(res.matched)}/${fmt(res.frames_expected)} frames; ` +
    `CPU bridge a ${fmt(w['bridge-a'].cpu_pct)} %, bridge b ${fmt(w['bridge-b'].cpu_pct)} %, nginx worker ${fmt(w.nginx.cpu_pct)} %`,
    'all delivered', ok);
  if (res.matched !== res.frames_expected) raw.undelivered = true;
  raw.results.nginx = { clients, ...res };
  await front.proc.stop();
  for (const x of bridges) await x.stop();
  await b.stop();
}

function rss(pid) {
  try {
    return +fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1];
  } catch {
    return 0;
  }
}

// ---- 4. history ----
/** A history database of `rows` locations over 100 devices, written by sqlite3 directly. */
function historyDb(file, rows) {
  const schema = fs.readFileSync(path.join(top, 'schema', 'schema.sql'), 'utf8');
  const now = Math.floor(Date.now() / 1000);
  const perDev = Math.ceil(rows / 100);
  const script = `PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
${schema}
ALTER TABLE locations ADD COLUMN decrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN decrypted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX locations_tst ON locations(tst);
CREATE INDEX events_tst ON events(tst);
PRAGMA user_version = 3;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO devices (id, user, device, tid, first_seen, last_seen, online)
  SELECT i, 'hist', printf('dev%04d', i), printf('%02d', i), ${now - perDev}, ${now}, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows - 1})
INSERT INTO locations (id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, cog, bs,
                       created_at, ip_address, received_at, raw)
  SELECT i + 1, d, t, la, lo, acc, 40, vel, batt, 'm', printf('%02d', d), cog, 1, t, '127.0.0.1', t,
    printf('{"_type":"location","lat":%.6f,"lon":%.6f,"tst":%d,"acc":%d,"alt":40,"vel":%d,"cog":%d,"batt":%d,"bs":1,"conn":"m","tid":"%02d"}',
           la, lo, t, acc, vel, cog, batt, d)
  FROM (SELECT i, (i % 100) + 1 AS d, ${now - perDev} + i / 100 AS t,
               52.4 + (i % 100) * 0.003 + ((i / 100) % 1000) * 0.00001 AS la,
               13.3 + (i % 100) * 0.002 + ((i / 100) % 777) * 0.00001 AS lo,
               3 + (i % 27) AS acc, (i % 60) AS vel, (i * 7) % 360 AS cog, 100 - (i / 100) % 85 AS batt
        FROM n);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);`;
  // No ANALYZE: the plugin never runs it, and with sqlite_stat1 present SQLite
  // 3.40 plans the since_id query as a device scan plus a sort (25x slower).
  execFileSync('sqlite3', [file], { input: script, stdio: ['pipe', 'ignore', 'inherit'], maxBuffer: 1 << 26 });
}

async function history() {
  if (!haveBridge()) return skip('History API', 'bridge not built');
  const db = path.join(work, 'history.db');
  const t0 = Date.now();
  historyDb(db, S.histRows);
  const got = sql(db, 'SELECT count(*) AS n, max(id) AS m FROM locations')[0];
  log(`history: ${fmt(got.n)} rows written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const span = sql(db, 'SELECT min(tst) AS a, max(tst) AS b FROM locations')[0];
  raw.results.history = { rows: got.n, ...await historyPages(db, got.n, got.m, 'History', span) };
}

/** The history API's paged queries against the bridge on `db`: one row each;
 * with `span` ({a, b}: the first and last tst) also a time range without a
 * device (issue 12). */
async function historyPages(db, rowCount, maxId, label, span) {
  const b = await broker();
  const br = await bridge(b.port, db);
  const url = `http://127.0.0.1:${br.port}`;
  const limit = Math.min(1000, Math.floor(S.histRows / 100));
  const devPaths = Array.from({ length: 100 }, (_, i) => `--path=/api/locations/?device=${(i * 37) % 100 + 1}&limit=${limit}`);
  // since_id pages: from points spread over the table, all devices and one device
  const sincePaths = Array.from({ length: 100 }, (_, i) => `--path=/api/locations/?since_id=${Math.floor((maxId - 2 * limit) * i / 100)}&limit=${limit}`);
  const sinceDevPaths = Array.from({ length: 100 }, (_, i) =>
    `--path=/api/locations/?device=${i + 1}&since_id=${Math.max(0, Math.floor((maxId - 100 * 2 * limit) * ((i * 53) % 100) / 100))}&limit=${limit}`);
  // the last 1 % of the time span, all devices, from since_id 0: the rowid
  // walk alone passes 99 % of the table
  const rangePaths = span ? Array.from({ length: 10 }, (_, i) => {
    const from = span.b - Math.floor((span.b - span.a) / 100) - i;
    return `--path=/api/locations/?start_time=${from}&end_time=${span.b - i}&since_id=0&limit=${limit}`;
  }) : [];
  const out = {};
  for (const [key, what, paths] of [
    ['device', `?device=X&limit=${limit} (latest page of one device)`, devPaths],
    ['since', `?since_id=N&limit=${limit} (polling page, all devices)`, sincePaths],
    ['since_device', `?device=X&since_id=N&limit=${limit}`, sinceDevPaths],
    ['range', `?start_time=..&end_time=..&since_id=0&limit=${limit} (last 1 % of the time, all devices)`, rangePaths],
  ]) {
    if (!paths.length) continue;
    const res = await tool('http_bench', ['--url', url, ...paths, '--requests', String(S.histReqs), '--warmup', '10',
      '--expect-items', String(limit)]);
    out[key] = res;
    row(`${label}: ${what}, ${fmt(rowCount)}-row database`, `median ${ms(res.p50_ms)} ms, p99 ${ms(res.p99_ms)} ms, max ${ms(res.max_ms)} ms ` +
      `(${fmt(res.requests)} requests, ${fmt(res.bytes_avg / 1024)} KiB each${res.errors ? `, ${res.errors} errors: ${res.first_error}` : ''})`,
      '< 20 ms', res.errors === 0 && res.p99_ms < 20, res.errors === 0);
    if (res.errors) raw.httpErrors = true;
  }
  await br.stop();
  await b.stop();
  return out;
}

// ---- 9. the PostgreSQL backend ----
/** The history database of historyDb(), in PostgreSQL: the same rows. */
function historyPg(url, rows) {
  const schema = fs.readFileSync(path.join(top, 'schema', 'schema_pg.sql'), 'utf8');
  const now = Math.floor(Date.now() / 1000);
  const perDev = Math.ceil(rows / 100);
  const script = `${schema}
INSERT INTO devices (id, "user", device, tid, first_seen, last_seen, online)
  SELECT i, 'hist', format('dev%s', lpad(i::text, 4, '0')), lpad(i::text, 2, '0'), ${now - perDev}, ${now}, 0
  FROM generate_series(1, 100) AS i;
INSERT INTO locations (id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, cog, bs,
                       created_at, ip_address, received_at, raw)
  SELECT i + 1, d, t, la, lo, acc, 40, vel, batt, 'm', lpad(d::text, 2, '0'), cog, 1, t, '127.0.0.1', t,
    json_build_object('_type', 'location', 'lat', round(la::numeric, 6), 'lon', round(lo::numeric, 6), 'tst', t,
      'acc', acc, 'alt', 40, 'vel', vel, 'cog', cog, 'batt', batt, 'bs', 1, 'conn', 'm', 'tid', lpad(d::text, 2, '0'))::text
  FROM (SELECT i, (i % 100) + 1 AS d, ${now - perDev} + i / 100 AS t,
               52.4 + (i % 100) * 0.003 + ((i / 100) % 1000) * 0.00001 AS la,
               13.3 + (i % 100) * 0.002 + ((i / 100) % 777) * 0.00001 AS lo,
               3 + (i % 27) AS acc, (i % 60) AS vel, (i * 7) % 360 AS cog, 100 - (i / 100) % 85 AS batt
        FROM generate_series(0, ${rows - 1}) AS i) AS g;
ANALYZE;`;
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', url], { input: script, stdio: ['pipe', 'ignore', 'inherit'] });
}

async function postgres() {
  const { pgBinDir, startPostgres } = await import(path.join(top, 'tests', 'lib', 'pg.mjs'));
  if (!pgBinDir()) return skip('PostgreSQL backend', 'PostgreSQL server binaries not installed (tools/install-deps --test)');
  // durable as in production: fsync on, synchronous_commit on
  const pg = await startPostgres({ fsync: true });
  const version = sql(pg.url(), 'SELECT current_setting(\'server_version\') AS v')[0].v;
  const n = S.ingest;
  const check = { stored: 0, distinct: 0, expected: 0 };
  const res = { bare: [], plugin: [], shared: [] };
  for (let r = 0; r < S.rounds; r++) {
    for (const kind of ['bare', 'plugin', 'shared']) {
      const withPlugin = kind !== 'bare';
      const db = withPlugin ? pg.createDatabase(`ingest${kind}${r}`) : undefined;
      // a buffer for the whole run: the broker's rate, then the writer's
      const opts = [`buffer_max ${2 * n}`, `buffer_per_user ${2 * n}`];
      if (kind === 'shared') opts.push('shared_writers true');
      res[kind].push(await ingestRun(n, r, withPlugin, false, check, db, opts));
    }
  }
  const rates = (a) => a.map((x) => x.rate);
  const runs = (a) => rates(a).map((x) => fmt(x)).join(', ');
  const ratio = median(rates(res.plugin)) / median(rates(res.bare));
  row(`PostgreSQL ${version} (local, fsync on): ingest, bare mosquitto, QoS 1, 10 devices, ${fmt(n)} msgs × ${S.rounds}`,
    `${fmt(median(rates(res.bare)))} msg/s (runs: ${runs(res.bare)})`);
  row('PostgreSQL: ingest with the plugin storing in PostgreSQL, same load',
    `${fmt(median(rates(res.plugin)))} msg/s (runs: ${runs(res.plugin)}); ${cpuText(res.plugin, true)}`);
  row('PostgreSQL: ingest ratio plugin / bare (medians)', fmt(ratio, 2), '≥ 0.80', ratio >= 0.8, true);
  const stored = res.plugin.map((x) => x.stored);
  row('PostgreSQL: rows stored per second (load start to last commit; the writer catches up from the buffer)',
    `${fmt(median(stored))} rows/s (runs: ${stored.map((x) => fmt(x)).join(', ')})`);
  const sharedRatio = median(rates(res.shared)) / median(rates(res.bare));
  const sharedStored = res.shared.map((x) => x.stored);
  row('PostgreSQL, plugin_opt_shared_writers (one broker; ids at commit, published after it): ingest, same load',
    `${fmt(median(rates(res.shared)))} msg/s (runs: ${runs(res.shared)}), ratio ${fmt(sharedRatio, 2)}; ` +
    `${fmt(median(sharedStored))} rows/s stored; ${cpuText(res.shared, true)}`);
  row('PostgreSQL: every acknowledged location stored exactly once',
    `${fmt(check.stored)} rows, ${fmt(check.distinct)} distinct (device, tst), ${fmt(check.expected)} sent`,
    'all, once', check.stored === check.expected && check.distinct === check.expected);
  if (check.stored !== check.expected || check.distinct !== check.expected) raw.undelivered = true;
  const url = pg.createDatabase('history');
  const t0 = Date.now();
  historyPg(url, S.histRows);
  const got = sql(url, 'SELECT count(*) AS n, max(id) AS m FROM locations')[0];
  log(`postgres history: ${fmt(got.n)} rows written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const pages = await historyPages(url, got.n, got.m, 'PostgreSQL history');
  raw.results.postgres = {
    version,
    ingest: { n, bare: rates(res.bare), plugin: rates(res.plugin), ratio, shared: rates(res.shared), sharedRatio, ...check },
    history: pages,
  };
  await pg.stop();
}

// ---- 5. memory ----
async function memory() {
  const n = S.memory;
  const out = {};
  for (const withPlugin of [false, true]) {
    const db = withPlugin ? path.join(work, 'memory.db') : undefined;
    const b = await broker({ db });
    const before = rss(b.proc.pid);
    const res = await tool('generate_load', ['--port', String(b.port), '--devices', '10', '--rate', 'max',
      '--count', String(n), '--json', '--user', 'mem']);
    if (res.acked !== n) throw new Error(`memory run: ${JSON.stringify(res)}`);
    await H.sleep(withPlugin ? 1000 : 200); // let the writer drain its queue
    const status = fs.readFileSync(`/proc/${b.proc.pid}/status`, 'utf8');
    const after = +status.match(/VmRSS:\s+(\d+)/)[1];
    const peak = +status.match(/VmHWM:\s+(\d+)/)[1];
    out[withPlugin ? 'plugin' : 'bare'] = { before, after, peak, rate: res.rate };
    await b.stop();
  }
  raw.results.memory = { n, ...out };
  row(`Broker RSS after ${fmt(n)} messages, bare mosquitto`, `${mb(out.bare.after)} (peak ${mb(out.bare.peak)}, start ${mb(out.bare.before)})`);
  row(`Broker RSS after ${fmt(n)} messages, with the plugin`, `${mb(out.plugin.after)} (peak ${mb(out.plugin.peak)}, start ${mb(out.plugin.before)})`);
  row('Broker RSS ratio plugin / bare', fmt(out.plugin.after / out.bare.after, 2));
}

// ---- 6. HTTP mode ----
// Phones in HTTP mode wait for each answer before the next POST: compare them
// with MQTT phones that also keep one report in flight (QoS 1, one
// unacknowledged message), through the same broker, plugin and bridge.
/** A percentile of sorted numbers (nearest rank). */
function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

/**
 * One phone reporting `n` locations at `rate`/s through MQTT QoS 1 or HTTP
 * mode (POST /pub, keep-alive), and a WebSocket client on the bridge: the
 * time from sending each report to its frame, both measured the same way
 * in this process. { n, got, p50, p99, max } in ms.
 */
/**
 * One keep-alive HTTP/1.1 connection with TCP_NODELAY, as a phone's HTTP
 * stack keeps it: post(path, headers, body) resolves with the status once
 * the whole response is in. Raw bytes on a socket, so that what is timed is
 * the server rather than a client library's per-request work.
 */
async function keepAlivePoster(port) {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  let buf = Buffer.alloc(0);
  let waiting = null;
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || !waiting) return;
    const head = buf.subarray(0, end).toString();
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < end + 4 + len) return;
    buf = buf.subarray(end + 4 + len);
    const w = waiting;
    waiting = null;
    w.resolve(Number(head.split(' ')[1]));
  });
  sock.on('error', (e) => waiting?.reject(e));
  return {
    post(urlPath, headers, body) {
      const lines = Object.entries({ host: `127.0.0.1:${port}`, 'content-length': Buffer.byteLength(body), ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`).join('');
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        sock.write(`POST ${urlPath} HTTP/1.1\r\n${lines}\r\n${body}`);
      });
    },
    close: () => sock.destroy(),
  };
}

async function reportToFrame(b, br, via, n, rate) {
  const { wsConnect } = await import(path.join(top, 'tests', 'lib', 'bridge.mjs'));
  const ws = await wsConnect(`ws://127.0.0.1:${br.port}/ws/locations/`);
  const sentAt = new Map();
  const lat = [];
  ws.ws.on('message', (d) => {
    const now = performance.now();
    const m = JSON.parse(d.toString());
    const t0 = m.type === 'location' ? sentAt.get(m.data.timestamp_unix) : undefined;
    if (t0 === undefined) return;
    lat.push(now - t0);
    sentAt.delete(m.data.timestamp_unix);
  });
  const user = `frame${via}`;
  const mq = via === 'mqtt' ? await H.mqttConnect(b.port, { clientId: user }) : null;
  if (mq) mq.stream.setNoDelay(true); // as generate_load and phones' TCP stacks do
  const poster = mq ? null : await keepAlivePoster(br.port);
  const base = 1600000000 + (via === 'mqtt' ? 0 : 1000000);
  const gap = 1000 / rate;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify(H.location({ tst: base + i }));
    sentAt.set(base + i, performance.now());
    if (mq) {
      await mq.publishAsync(`owntracks/${user}/p`, body, { qos: 1 });
    } else {
      const status = await poster.post('/pub', { 'content-type': 'application/json', 'x-limit-u': user, 'x-limit-d': 'p' }, body);
      if (status !== 200) raw.undelivered = true;
    }
    const wait = start + (i + 1) * gap - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await waitFor(() => lat.length === n, { timeout: 10000, what: 'every frame' }).catch(() => {});
  await ws.close();
  if (mq) await mq.endAsync();
  poster?.close();
  lat.sort((x, y) => x - y);
  return { n, got: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] };
}

async function http() {
  if (!haveBridge()) return skip('HTTP mode', 'bridge not built');
  const db = path.join(work, 'http.db');
  const b = await broker({ db });
  const br = await bridge(b.port, db);
  const out = [];
  let sent = 0;
  for (const devices of [1, 20]) {
    const common = ['--devices', String(devices), '--rate', 'max', '--duration', String(S.httpSecs), '--json'];
    const mq = await tool('generate_load', ['--port', String(b.port), '--qos', '1', '--max-inflight', '1',
      '--user', `mqtt${devices}`, ...common]);
    const ht = await tool('generate_load', ['--http', `http://127.0.0.1:${br.port}/pub`, '--user', `http${devices}`, ...common]);
    if (ht.errors || ht.rejected || ht.acked !== ht.sent) raw.undelivered = true;
    sent += ht.acked;
    out.push({ devices, mqtt: mq, http: ht });
    const phones = `${devices} phone${devices > 1 ? 's' : ''}`;
    row(`MQTT QoS 1, one report in flight per phone, ${phones}`,
      `${fmt(mq.rate)} reports/s, ack p50 ${ms(mq.ack_p50_ms)} / p99 ${ms(mq.ack_p99_ms)} ms`);
    row(`HTTP mode (POST /pub, keep-alive), ${phones}`,
      `${fmt(ht.rate)} reports/s, ack p50 ${ms(ht.ack_p50_ms)} / p99 ${ms(ht.ack_p99_ms)} ms; ${fmt(ht.acked)}/${fmt(ht.sent)} acknowledged`,
      'p99 ≤ MQTT p99 + 2 ms', ht.ack_p99_ms <= mq.ack_p99_ms + 2 && ht.acked === ht.sent, true);
    log(`http ${devices}: mqtt ${fmt(mq.rate)}/s p99 ${mq.ack_p99_ms} ms, http ${fmt(ht.rate)}/s p99 ${ht.ack_p99_ms} ms`);
  }
  // the WebSocket side: report → frame on a page, both ways in
  const frames = {};
  const n = Math.max(20, S.httpSecs * 100);
  for (const via of ['mqtt', 'http']) frames[via] = await reportToFrame(b, br, via, n, 100);
  for (const via of ['mqtt', 'http']) {
    const f = frames[via];
    if (f.got !== f.n) raw.undelivered = true;
    const label = via === 'mqtt' ? 'MQTT QoS 1 (mqtt.js, TCP_NODELAY)' : 'HTTP mode (POST /pub, keep-alive socket, TCP_NODELAY)';
    const text = `p50 ${ms(f.p50)} / p99 ${ms(f.p99)} / max ${ms(f.max)} ms; ${fmt(f.got)}/${fmt(f.n)} frames`;
    if (via === 'mqtt') row(`Report → WebSocket frame, 1 phone, 100/s, ${label}`, text);
    else {
      row(`Report → WebSocket frame, 1 phone, 100/s, ${label}`, text, 'p99 ≤ MQTT p99 + 2 ms',
        f.p99 <= frames.mqtt.p99 + 2 && f.got === f.n, true);
    }
  }
  await br.stop();
  await b.stop(); // a clean stop commits everything
  const stored = sql(db, "SELECT count(*) AS n FROM locations l JOIN devices d ON d.id = l.device_id WHERE d.user LIKE 'http%'")[0].n;
  row('Every acknowledged HTTP-mode report stored exactly once', `${fmt(stored)} rows, ${fmt(sent)} acknowledged`, 'all, once', stored === sent);
  if (stored !== sent) raw.undelivered = true;
  raw.results.http = { load: out, frames };
}

// ---- 7. exports and thinned tracks (issue 13) ----
/** A database of one device with `rows` fixes, one a minute up to now. */
function trackDb(file, rows) {
  const schema = fs.readFileSync(path.join(top, 'schema', 'schema.sql'), 'utf8');
  const t0 = Math.floor(Date.now() / 1000) - rows * 60;
  const script = `PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
${schema}
PRAGMA user_version = 1;
INSERT INTO devices (id, user, device, tid, first_seen) VALUES (1, 'exp', 'phone', 'ep', ${t0});
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows - 1})
INSERT INTO locations (id, device_id, tst, lat, lon, acc, alt, vel, batt, conn, tid, cog, bs, received_at, raw)
  SELECT i + 1, 1, ${t0} + 60 * i, 52.4 + (i % 5000) * 0.00002, 13.3 + (i % 3000) * 0.00003,
         3 + (i % 27), 40, i % 60, 100 - i % 85, 'm', 'ep', (i * 7) % 360, 1, ${t0} + 60 * i, '{}' FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);`;
  execFileSync('sqlite3', [file], { input: script, stdio: ['pipe', 'ignore', 'inherit'] });
}

/** Fetch `url` to the end; bytes, seconds, and the bridge's RSS growth (KiB) meanwhile. */
async function fetchMeasured(url, pid) {
  const before = rss(pid);
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, rss(pid)); }, 50);
  const t0 = performance.now();
  let bytes = 0;
  let tail = '';
  try {
    const r = await fetch(url);
    if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
    for await (const chunk of r.body) {
      bytes += chunk.length;
      tail = (tail + Buffer.from(chunk).toString('latin1')).slice(-4096);
    }
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, rss(pid));
  return { bytes, secs: (performance.now() - t0) / 1000, grewKb: peak - before, tail };
}

async function exportBench() {
  if (!haveBridge()) return skip('History export', 'bridge not built');
  const out = {};
  const b = await broker();
  for (const [key, rows] of [['export', S.exportRows], ['track', S.trackRows]]) {
    const db = path.join(work, `${key}.db`);
    const t0 = Date.now();
    trackDb(db, rows);
    log(`${key}: ${fmt(rows)} rows written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const br = await bridge(b.port, db);
    const url = `http://127.0.0.1:${br.port}/api/locations/?device=exp/phone`;
    if (key === 'export') {
      const res = await fetchMeasured(`${url}&format=csv`, br.proc.pid);
      const lines = (res.tail.match(/\r\n/g) || []).length;
      const complete = res.tail.endsWith('\r\n') && lines > 0;
      out.export = { rows, ...res, tail: undefined };
      row(`History export: ${fmt(rows)} points as CSV, streamed`,
        `${ms(res.secs)} s (${fmt(rows / res.secs)} points/s, ${mb(res.bytes / 1024)}), bridge RSS +${mb(res.grewKb)}`,
        '< 60 s, RSS +< 32 MB', complete && res.grewKb < 32 * 1024 && res.secs < 60, true);
      if (!complete) raw.httpErrors = true;
    } else {
      const times = [];
      let last = null;
      for (let i = 0; i < S.trackReqs; i++) {
        const res = await fetchMeasured(`${url}&max_points=4000&max_acc=25&max_speed=300`, br.proc.pid);
        times.push(res.secs);
        last = JSON.parse(res.tail.slice(res.tail.lastIndexOf('],"count"') + 1).replace(/^,/, '{'));
      }
      const t = median(times);
      const ok = last.count <= 4001 && last.count + last.thinned + last.dropped_accuracy + last.dropped_jump === rows;
      out.track = { rows, times, ...last };
      row(`History page: ${fmt(rows)} points of one device thinned to max_points=4000 with the bad-fix filter`,
        `median ${ms(t * 1000)} ms (${fmt(last.count)} points shown, ${fmt(last.thinned)} thinned, ` +
        `${fmt(last.dropped_accuracy)} hidden, ${fmt(S.trackReqs)} requests)`,
        '< 2 s', ok && t < 2, true);
      if (!ok) raw.httpErrors = true;
    }
    await br.stop();
  }
  await b.stop();
  raw.results.export = out;
}

// ---- 8. retention (issue 13) ----
/** Ingest at full speed into a database holding `rows` fixes of which the
 * older half is past plugin_opt_retention_days, against the same load into
 * an empty database: the purge must not slow ingestion down. */
async function retention() {
  const rows = S.purgeRows;
  const days = Math.max(1, Math.floor((rows * 60) / 86400 / 2));
  const cutoff = Math.floor(Date.now() / 1000) - days * 86400;
  const load = (port, user) => tool('generate_load', ['--port', String(port), '--devices', '10', '--rate', 'max',
    '--count', String(S.ingest), '--qos', '1', '--max-inflight', '20', '--json', '--user', user]);
  const empty = path.join(work, 'retention-empty.db');
  const b0 = await broker({ db: empty, options: ONE_USER_FLOOD });
  const base = await load(b0.port, 'ret0');
  await b0.stop();
  const db = path.join(work, 'retention.db');
  trackDb(db, rows);
  const due = sql(db, `SELECT count(*) AS n FROM locations WHERE tst < ${cutoff}`)[0].n;
  // the plugin's cut-off moves on with the clock while it runs: rows within
  // two minutes past ours may go too; the ones beyond must all stay
  const sure = `tst >= ${cutoff + 120}`;
  const keep = sql(db, `SELECT count(*) AS n FROM locations WHERE ${sure}`)[0].n;
  const t0 = performance.now();
  const b = await broker({ db, options: [...ONE_USER_FLOOD, `retention_days ${days}`, 'retention_interval 1'] });
  const during = await load(b.port, 'ret1');
  await waitFor(() => sql(db, `SELECT count(*) AS n FROM locations WHERE tst < ${cutoff}`)[0].n === 0,
    { timeout: 600000, interval: 200, what: 'the old rows purged' });
  const secs = (performance.now() - t0) / 1000;
  await b.stop();
  const left = sql(db, 'SELECT count(*) AS n FROM locations')[0].n;
  const kept = sql(db, `SELECT count(*) AS n FROM locations WHERE ${sure}`)[0].n;
  const ok = kept === keep + S.ingest && base.acked === S.ingest && during.acked === S.ingest;
  raw.results.retention = { rows, days, due, secs, base: base.rate, during: during.rate, left, kept, keep, acked: [base.acked, during.acked], sent: [base.sent, during.sent], disconnects: [base.disconnects, during.disconnects], errors: [base.errors, during.errors], first_error: [base.first_error, during.first_error] };
  row(`Retention: ${fmt(due)} of ${fmt(rows)} rows past ${days} days, purged 1,000 per transaction while ingesting`,
    `${ms(secs)} s (${fmt(due / secs)} rows/s); ${fmt(left)} rows kept`, 'all old rows gone, the rest kept', ok);
  row('Ingest during the purge / into an empty database', `${fmt(during.rate)} / ${fmt(base.rate)} msg/s = ${fmt(during.rate / base.rate, 2)}`,
    '≥ 0.80', during.rate / base.rate >= 0.8, true);
  if (!ok) raw.undelivered = true;
}

function table() {
  const m = raw.machine;
  const lines = [
    `mytracks bench (${mode}), ${raw.date.slice(0, 16).replace('T', ' ')} UTC — ${m.cores} cores (${m.cpu}), ` +
      `${m.memGiB} GiB, Linux ${m.kernel}, mosquitto ${m.mosquitto}, ulimit -n ${m.nofile}`,
    '',
    '| Measurement | Result | Target | Met |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.measurement} | ${r.result} | ${r.target} | ${r.met} |`),
  ];
  if (mode === 'smoke') lines.push('', '_Smoke mode: tiny counts; the numbers only show that every part ran._');
  return lines.join('\n');
}

let failed = false;
try {
  build();
  const steps = { ingest, latency, fanout, history, memory, http, export: exportBench, retention, postgres, nginx };
  for (const name of only) {
    log(`running ${name}`);
    try {
      await steps[name]();
    } catch (e) {
      failed = true;
      log(`${name} failed: ${e.stack || e}`);
      rows.push({ measurement: name, result: `failed: ${String(e.message).split('\n')[0].slice(0, 200)}`, target: '', met: '**no**' });
      await stopAll();
    }
  }
} finally {
  await stopAll();
}
console.log(table());
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ ...raw, rows }, null, 2) + '\n');
if (opts.keep) log(`kept ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
// Exit status: 1 when a measurement failed or lost data (correctness), never for a missed timing target.
process.exit(failed || raw.undelivered || raw.httpErrors ? 1 : 0);
