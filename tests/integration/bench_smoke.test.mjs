// bench/run --smoke: every measurement runs end to end and the table prints.
//
// Part of mytracks. SPDX-License-Identifier: MIT
//
// Correctness only: messages stored once, frames delivered, history pages
// complete. Timings from a smoke run mean nothing and are never asserted.
// Sanitizer findings: bench/run starts its processes through the harness,
// whose exit check (lib/harness.mjs) makes it exit 1 on any finding in any
// of them, and that exit status is asserted here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { sourceDir, buildDir } from '../lib/harness.mjs';

describe('bench/run --smoke', () => {
  it('runs every measurement and prints a Markdown table', async () => {
    const { code, stdout, stderr } = await new Promise((resolve) => {
      execFile(path.join(sourceDir, 'bench', 'run'), ['--smoke', '--no-build'],
        { env: { ...process.env, MYTRACKS_BUILD_DIR: buildDir }, timeout: 300000 },
        (err, out, errout) => resolve({ code: err ? err.code ?? 1 : 0, stdout: out, stderr: errout }));
    });
    assert.equal(code, 0, `bench/run failed:\n${stdout}\n${stderr.slice(-3000)}`);
    assert.match(stdout, /^\| Measurement \| Result \| Target \| Met \|$/m);
    assert.doesNotMatch(stdout, /failed:/);
    assert.doesNotMatch(stdout, /\*\*no\*\*/, 'smoke mode judges correctness only, and all of it held');
    assert.match(stdout, /Every acknowledged location stored exactly once \| [\d,]+ rows.*\| yes \|/);
    for (const m of ['Ingest, bare mosquitto', 'Ingest, mosquitto \\+ mytracks plugin', 'Broker RSS after']) {
      assert.match(stdout, new RegExp(`\\| ${m}`));
    }
    // rows that need the bridge either ran or say why they did not
    for (const m of ['Latency publish', 'Fan-out', 'History', 'HTTP mode']) {
      assert.match(stdout, new RegExp(`\\| ${m}[^|]*\\| (skipped: bridge not built|.*frames|median|.*reports\\/s)`));
    }
  });
});
