// nginx for the tests and the bench: conf/nginx.conf.example changed only
// where a run on free loopback ports must, inside a whole nginx.conf that
// keeps everything in one temp dir; started and stopped by PID.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sourceDir, freePort, Proc, waitFor } from './harness.mjs';

const example = path.join(sourceDir, 'conf', 'nginx.conf.example');
export const nginxBin = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']
  .find((p) => fs.existsSync(p)) ?? 'nginx';
const isRoot = process.getuid && process.getuid() === 0;

/** The example, changed only where a test must: the bridges' ports, and
 * (for the live run) a plain listener on a free port instead of TLS. */
export function fromExample({ ports, listen, cert, key }) {
  let text = fs.readFileSync(example, 'utf8');
  const servers = [...text.matchAll(/^\s*server 127\.0\.0\.1:\d+ /gm)];
  assert.equal(servers.length, 2, 'the example has an upstream of two bridges');
  let i = 0;
  text = text.replace(/^(\s*server) 127\.0\.0\.1:\d+ /gm, (m, pre) => `${pre} 127.0.0.1:${ports[i++]} `);
  if (listen) {
    text = text.replace(/^\s*listen 443 ssl;$/m, `    listen 127.0.0.1:${listen};`)
      .replace(/^\s*ssl_certificate.*$/gm, '');
  } else {
    text = text.replace(/^(\s*ssl_certificate)\s+\S+;$/m, `$1 ${cert};`)
      .replace(/^(\s*ssl_certificate_key)\s+\S+;$/m, `$1 ${key};`);
  }
  assert.ok(!/\/etc\/letsencrypt/.test(text) || listen, 'certificate paths replaced');
  return text;
}

/** A whole nginx.conf around the http-context example: everything in `dir`. */
export function mainConf(dir, http, { connections = 256 } = {}) {
  return [
    // as root the workers would switch to "nobody", who cannot enter the temp dir
    isRoot ? 'user root;' : '',
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    `worker_rlimit_nofile ${4 * connections};`,
    `events { worker_connections ${connections}; }`,
    'http {',
    `    access_log ${dir}/access.log;`,
    `    client_body_temp_path ${dir}/client_body;`,
    `    proxy_temp_path ${dir}/proxy;`,
    `    fastcgi_temp_path ${dir}/fastcgi;`,
    `    uwsgi_temp_path ${dir}/uwsgi;`,
    `    scgi_temp_path ${dir}/scgi;`,
    http,
    '}',
    '',
  ].join('\n');
}

export function nginxTest(dir, conf) {
  const r = spawnSync(nginxBin, ['-t', '-p', dir, '-e', `${dir}/error.log`, '-c', conf], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}


/**
 * nginx from the example in front of the bridges on `ports`, listening on
 * a free port; ready once `ready(url)` holds (default: any answer).
 * Returns { proc, port, url, ws }.
 */
export async function startNginx({ dir, ports, connections, ready = async (url) => !!(await fetch(url)) }) {
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, mainConf(dir, fromExample({ ports, listen: port }), { connections }));
  const proc = new Proc('nginx', nginxBin, ['-p', dir, '-e', `${dir}/error.log`, '-c', conf], {
    logFile: path.join(dir, 'nginx.out'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (!proc.running) throw new Error(`nginx exited: ${proc.output}${fs.readFileSync(`${dir}/error.log`, 'utf8')}`);
    return ready(url).catch(() => false);
  }, { timeout: 15000, what: 'nginx in front of the bridges' });
  return { proc, port, url, ws: `ws://127.0.0.1:${port}` };
}
