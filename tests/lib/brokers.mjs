// Two brokers, each with the plugin, writing to one PostgreSQL database
// (plugin_opt_shared_writers), broker A bridging mytracks/# in from broker B
// as the examples in conf/ say. Shared by integration_brokers and
// e2e_brokers.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, mqttConnect, collector, location, waitFor, sourceDir } from './harness.mjs';

function example(name) {
  return fs.readFileSync(path.join(sourceDir, 'conf', name), 'utf8');
}

/** conf/mosquitto-bridge.conf.example with broker B's loopback address
 * and without its credentials (the test brokers are anonymous). */
export function bridgeConf(port) {
  const conf = example('mosquitto-bridge.conf.example').split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^address .*/, `address 127.0.0.1:${port}`))
    .filter((l) => !/^remote_(username|password) /.test(l));
  if (!conf.some((l) => /^topic mytracks\/# in 1$/.test(l))) throw new Error('the example does not bridge mytracks/# in');
  return `${conf.join('\n')}\nrestart_timeout 1\n`;
}

/** The plugin options of conf/mosquitto-postgres.conf.example, its
 * commented shared_writers line taken, on `database`. */
export function sharedWriterOptions(database, extra = {}) {
  const opts = {};
  for (const m of example('mosquitto-postgres.conf.example').matchAll(/^#?plugin_opt_(\w+) (.+)$/gm)) opts[m[1]] = m[2].trim();
  if (opts.shared_writers !== 'true') throw new Error('the example does not name plugin_opt_shared_writers');
  return { ...opts, database, commit_window: '30', ...extra };
}

/**
 * Start broker B, then broker A bridged to it, both shared writers on
 * `database`, and wait until what B's plugin publishes reaches A (a warm-up
 * location of the device warm/up). Returns { a, b }.
 */
export async function startSharedBrokers(database, extra = {}) {
  const options = sharedWriterOptions(database, extra);
  const b = await startBroker({ options });
  const a = await startBroker({ options, extraConf: bridgeConf(b.port) });
  const onA = await collector(a.port, 'mytracks/locations/warm/up');
  const phoneB = await mqttConnect(b.port, { clientId: 'warm-b' });
  let tst = 1600000000;
  await waitFor(async () => {
    await phoneB.publishAsync('owntracks/warm/up', JSON.stringify(location({ tst: tst++ })), { qos: 1 });
    return onA.messages.length > 0;
  }, { timeout: 20000, interval: 300, what: 'broker A receiving mytracks/# from broker B' });
  await phoneB.endAsync();
  await onA.close();
  return { a, b };
}
