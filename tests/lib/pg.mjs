// A real PostgreSQL for the tests: Debian's server binaries, a cluster made
// with initdb in a temp dir, listening on a free 127.0.0.1 port and a
// socket in that dir, stopped by PID like every other process.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// PostgreSQL refuses to run as root (CI runs as root): then the cluster
// belongs to "nobody" and its programs run through setpriv (util-linux).
//
// Environment:
//   MYTRACKS_TEST_BACKEND=postgres  startBroker() puts each broker's
//                                   database in PostgreSQL (see harness)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Proc, freePort, tmpDir, waitFor } from './harness.mjs';

export const backend = process.env.MYTRACKS_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

const NOBODY = 65534;
const asRoot = process.getuid && process.getuid() === 0;

/** The directory of the newest installed server binaries, or null. */
export function pgBinDir() {
  const base = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a);
  } catch { /* not installed */ }
  for (const v of versions) {
    const d = path.join(base, v, 'bin');
    if (fs.existsSync(path.join(d, 'initdb'))) return d;
  }
  return null;
}

function unprivileged(cmd, args) {
  return asRoot
    ? ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', cmd, ...args]]
    : [cmd, args];
}

function chownTree(p) {
  if (!asRoot) return;
  fs.chownSync(p, NOBODY, NOBODY);
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const q = path.join(p, e.name);
    if (e.isDirectory()) chownTree(q);
    else fs.chownSync(q, NOBODY, NOBODY);
  }
}

/** Run SQL through psql on `url`; the rows of a query as objects. */
export function pgSql(url, query) {
  const q = query.trim().replace(/;$/, '');
  const isQuery = /^(select|with|values)\b/i.test(q);
  const text = isQuery ? `SELECT coalesce(json_agg(t), '[]'::json) FROM (${q}) AS t` : q;
  const out = execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', text],
    { env: { ...process.env, PGCONNECT_TIMEOUT: '5' } }).toString().trim();
  return isQuery && out ? JSON.parse(out) : [];
}

/**
 * Start a PostgreSQL server. Returns { port, dir, url(db), createDatabase(name),
 * sql(db, query), stop(), start(), restart(), proc }. The superuser is
 * "mytracks" with password `password` (scram-sha-256 over TCP). `fsync`
 * off by default: the tests need no durability against power loss.
 */
export async function startPostgres({ dir = tmpDir('mytracks-pg-'), password = 'pg-secret-9c1e', fsync = false } = {}) {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
  const port = await freePort();
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock, { recursive: true });
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${password}\n`);
  fs.chmodSync(dir, 0o755);
  chownTree(dir);
  const [c, a] = unprivileged(path.join(bin, 'initdb'), ['-D', data, '-U', 'mytracks', '-E', 'UTF8',
    '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync']);
  execFileSync(c, a, { stdio: 'pipe' });
  const pg = { port, dir, password };
  pg.url = (db = 'postgres') => `postgresql://mytracks:${password}@127.0.0.1:${port}/${db}`;
  pg.start = async () => {
    const [cmd, args] = unprivileged(path.join(bin, 'postgres'), ['-D', data, '-p', String(port),
      '-k', sock, '-c', 'listen_addresses=127.0.0.1', '-c', `fsync=${fsync ? 'on' : 'off'}`, '-c', 'max_connections=60']);
    pg.proc = new Proc('postgres', cmd, args, { logFile: path.join(dir, 'postgres.log') });
    await waitFor(() => {
      if (!pg.proc.running) throw new Error(`postgres exited: ${pg.proc.output}`);
      try {
        pgSql(pg.url(), 'SELECT 1 AS one');
        return true;
      } catch {
        return false;
      }
    }, { timeout: 30000, interval: 100, what: `postgres on port ${port}` });
    return pg;
  };
  // SIGINT is PostgreSQL's "fast" shutdown: sessions are cut, what was
  // committed is on disk.
  pg.stop = (opts = {}) => pg.proc.stop({ signal: 'SIGINT', ...opts });
  pg.restart = async () => {
    await pg.stop();
    return pg.start();
  };
  let n = 0;
  pg.createDatabase = (name = `mt${++n}`) => {
    pgSql(pg.url(), `CREATE DATABASE ${name}`);
    return pg.url(name);
  };
  pg.sql = pgSql;
  return pg.start();
}

let shared;
/** One server per test process, started on first use, and again after a
 * stopAll() of an earlier describe() stopped it (its databases kept). */
export async function sharedPostgres() {
  shared = shared ? shared.then((pg) => (pg.proc.running ? pg : pg.start())) : startPostgres();
  return shared;
}
