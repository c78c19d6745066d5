/**
 * Keeps the peer benchmark from rotting: runs peer-bench in --quick mode as a child process, the
 * way `npm run bench:peers -- --quick --json` does, and checks that every library wrote what it
 * was given (each side reopened and counted, the last records compared byte for byte), and that
 * every comparison has a positive ratio and sane HDR percentiles. Speed is not asserted: the
 * figures depend on the machine and its load (docs/performance.md has the full runs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { BenchResult } from '../../native-free-bench/shared.js';

const run = promisify(execFile);
const RUNNER = fileURLToPath(new URL('../../peer-bench/run.js', import.meta.url));
const SUBJECTS = ['aof2 appendSync', 'aof2 append'];
const PEERS = ['lmdb-js', 'hypercore', 'sonic-boom', 'fs.createWriteStream'];

test('bench:peers --quick --json: aof2 and every peer verified, a positive ratio for each pair', { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, ['--expose-gc', RUNNER, '--quick', '--json'], { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 });
  const doc = JSON.parse(stdout) as { mode: string; errors: unknown[]; results: BenchResult[] };
  assert.equal(doc.mode, 'quick');
  assert.deepEqual(doc.errors, []);
  const pairs = doc.results.map((r) => `${r.subject.name} / ${r.baseline.name}`);
  assert.deepEqual(pairs, SUBJECTS.flatMap((s) => PEERS.map((p) => `${s} / ${p}`)));
  for (const r of doc.results) {
    const label = r.case;
    assert.ok(Number.isFinite(r.ratio) && r.ratio > 0, `${label}: ratio ${r.ratio}`);
    for (const m of [r.subject, r.baseline]) {
      assert.ok(m.records > 0 && m.records % 1000 === 0 && m.ratePerSec > 0, `${label} ${m.name}: ${m.records} records`);
      const l = m.latency;
      assert.ok(l.count > 0 && l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${label} ${m.name}: percentiles`);
    }
    assert.ok(r.verified.some((v) => v.what === 'subject'), `${label}: aof2 not verified`);
    assert.ok(r.verified.some((v) => v.what === r.baseline.name), `${label}: ${r.baseline.name} not verified`);
    for (const v of r.verified) assert.ok(v.ok && v.expected > 0 && v.found === v.expected, `${label} ${v.what}: expected ${v.expected}, found ${v.found}`);
  }
  // The targets are attached to the comparisons they name (reported, not asserted here).
  for (const r of doc.results) {
    const want = r.baseline.name === 'lmdb-js' || r.baseline.name === 'hypercore' ? 1 : 0;
    assert.equal(r.targets.length, want, `${r.case}: targets`);
  }
});
