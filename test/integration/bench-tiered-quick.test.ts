/**
 * Keeps the Tier 1 and Tier 2 benchmarks from rotting: runs native-codec-bench in --quick mode as a
 * child process, the way `npm run bench:tiered -- --quick --json` does, and checks the JSON it
 * prints — every suite produced results, each with a positive ratio against its same-run baseline,
 * sane HDR percentiles on both sides, and every verification (records really in Tier 1, bytes read
 * back, cold reads really cold, frames decompressed once, objects really in the bucket at their
 * size) matched. Performance targets are not asserted: the figures depend on the machine and its
 * load. The Tier 2 suites start moto themselves (or use AOF2_TEST_S3_ENDPOINT, like the tests).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { BenchResult } from '../../native-free-bench/shared.js';
import { offeredImplementations } from '../../src/codec/zstd.js';

const run = promisify(execFile);
const RUNNER = fileURLToPath(new URL('../../native-codec-bench/run.js', import.meta.url));
const SUITES = ['tiered-ingest', 'point-read', 'cold-scan', 'tier2-cold-read', 'tier2-upload', 'follower-scan', 'zstd-zlib', 'burst', 'sustained'];
/** zstd-zlib measures zlib's zstd against the addon: nothing to measure where zlib has none (Node < 22.15). */
const SKIPPED = offeredImplementations().includes('zstd-zlib') ? [] : ['zstd-zlib'];
/** native-free-bench's suites, run here at tiers off and at defaults side by side (issue #12). */
const TWINNED = ['append-sync', 'append-async', 'append-batch', 'durable', 'many-streams', 'first-touch', 'cold-start', 'low-rate', 'http-audit'];

interface BenchDocument {
  mode: string;
  suites: string[];
  errors: { suite: string; message: string }[];
  machine: { cores: number; node: string };
  results: BenchResult[];
}

test('bench:tiered --quick --json: every suite reports a positive ratio and verified counts', { timeout: 720_000 }, async () => {
  const { stdout } = await run(process.execPath, [RUNNER, '--quick', '--json'], { timeout: 700_000, maxBuffer: 64 * 1024 * 1024 });
  const doc = JSON.parse(stdout) as BenchDocument;
  assert.equal(doc.mode, 'quick');
  assert.deepEqual(doc.suites, [...SUITES, ...TWINNED]);
  assert.deepEqual(doc.errors, []);
  assert.ok(doc.machine.cores > 0 && doc.machine.node.startsWith('v'));

  for (const suite of SKIPPED) assert.equal(doc.results.filter((r) => r.suite === suite).length, 0, `${suite} has nothing to measure here`);
  for (const suite of [...SUITES, ...TWINNED].filter((s) => !SKIPPED.includes(s))) {
    const results = doc.results.filter((r) => r.suite === suite);
    assert.ok(results.length > 0, `suite ${suite} produced no result`);
    for (const r of results) {
      const label = `${r.suite} ${r.case}`;
      assert.ok(Number.isFinite(r.ratio) && r.ratio > 0, `${label}: ratio ${r.ratio}`);
      for (const m of [r.subject, r.baseline]) {
        assert.ok(m.records > 0 && m.samples > 0 && m.elapsedMs > 0 && m.ratePerSec > 0, `${label} ${m.name}: nothing measured`);
        const l = m.latency;
        assert.ok(l.count > 0 && l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${label} ${m.name}: percentiles ${JSON.stringify(l)}`);
      }
      // The Tier 1/2 suites and burst/sustained write on both sides; the twins' baselines are checked by native-free-bench's test.
      const sides = SUITES.includes(r.suite) ? ['subject', 'baseline'] : ['subject'];
      for (const side of sides) assert.ok(r.verified.some((v) => v.what === side), `${label}: ${side} not verified`);
      for (const v of r.verified) {
        assert.ok(v.ok && v.expected > 0 && v.found === v.expected, `${label} ${v.what}: expected ${v.expected}, found ${v.found} (${v.how})`);
      }
    }
  }
  // The ingest figures the docs quote: MB/s on both sides and a real compression ratio (JSON logs, not padding).
  // Two paths: into Tier 1 (issue #3's 0.7x target) and on into the local-directory Tier 2.
  const ingests = doc.results.filter((r) => r.suite === 'tiered-ingest');
  assert.deepEqual(ingests.map((r) => r.targets.length), [1, 0]);
  assert.deepEqual(ingests.map((r) => r.subject.name), ['append() -> Tier 1', 'append() -> Tier 2']);
  for (const m of ingests.flatMap((r) => [r.subject, r.baseline])) {
    assert.ok(m.extra['mbPerSec']! > 0, `${m.name}: MB/s`);
    const ratio = m.extra['compressionRatio']!;
    assert.ok(ratio > 2 && ratio < 20, `${m.name}: compression ratio ${ratio}`);
  }
  assert.equal(doc.results.filter((r) => r.suite === 'cold-scan').length, 2, 'cold-scan: log.read() and reader.next() cases');
  // Issue #12: defaults against tiers off. burst and sustained are that comparison (target, cost,
  // WouldBlock by kind, a real compression ratio for sustained); every twinned suite reports each
  // case at tiers off and at defaults, the defaults one with the cost of the tiers.
  for (const suite of ['burst', 'sustained']) {
    const [r, ...rest] = doc.results.filter((x) => x.suite === suite);
    assert.ok(r !== undefined && rest.length === 0, `${suite}: one case`);
    assert.equal(r.targets.length, 1, `${suite}: target`);
    assert.deepEqual(r.costOfTiers, { ratio: r.ratio, tiersOff: 'baseline' });
    assert.ok(r.subject.extra['includingClosePerSec']! > 0 && r.baseline.extra['includingClosePerSec']! > 0, `${suite}: rate including close`);
    assert.ok(Object.keys(r.subject.extra).some((k) => k.startsWith('wouldBlock.')), `${suite}: WouldBlock by kind`);
  }
  const sustained = doc.results.find((r) => r.suite === 'sustained')!;
  assert.ok(sustained.subject.extra['compressionRatio']! > 1.5, `sustained: compression ratio ${sustained.subject.extra['compressionRatio']}`);
  for (const suite of TWINNED) {
    // Cases with no engine in them (many-streams' ceiling: the bare copy over N regions vs 1) are
    // measured once per run, not per tier setting.
    const engineFree = doc.results.filter((r) => r.suite === suite && r.tiers === undefined);
    for (const r of engineFree) assert.ok(suite === 'many-streams' && r.case.includes('bare SAB copy (the ceiling)'), `${suite}: ${r.case} has no tier setting`);
    const results = doc.results.filter((r) => r.suite === suite && r.tiers !== undefined);
    const off = results.filter((r) => r.tiers === 'off');
    const def = results.filter((r) => r.tiers === 'defaults');
    assert.ok(off.length > 0 && off.length === def.length && off.length + def.length === results.length, `${suite}: tiers-off and defaults cases in pairs`);
    for (const r of off) assert.ok(r.case.endsWith(', tiers off'), `${suite}: ${r.case}`);
    for (const r of def) {
      assert.ok(r.case.endsWith(', defaults'), `${suite}: ${r.case}`);
      assert.ok(r.costOfTiers !== undefined && r.costOfTiers.ratio > 0, `${suite} ${r.case}: cost of the tiers`);
      assert.ok(off.some((o) => o.case === r.costOfTiers!.tiersOff), `${suite} ${r.case}: twin ${r.costOfTiers!.tiersOff}`);
    }
  }
  // Many streams at defaults: local segment files are counted against the allowance; no Tier 2
  // objects (the defaults have no Tier 2 since issue 14).
  for (const r of doc.results.filter((x) => x.suite === 'many-streams' && x.tiers === 'defaults' && x.case.includes('default arena'))) {
    assert.ok(r.subject.extra['segmentFilesMaxPerStream']! > 0, `${r.case}: local segment files counted`);
    assert.equal(r.subject.extra['tier2Objects'], undefined, `${r.case}: no Tier 2 at defaults`);
  }
  // Tier 2: index-warm and index-cold reads against the frame GET (the 1.5x target), and the
  // index-cold read against the same GETs done raw; uploads against PutObject and PutObject + HEAD.
  const coldRead = doc.results.filter((r) => r.suite === 'tier2-cold-read');
  assert.deepEqual(coldRead.map((r) => r.targets.length), [1, 1, 0]);
  const upload = doc.results.filter((r) => r.suite === 'tier2-upload');
  assert.equal(upload.length, 2);
  for (const m of upload.flatMap((r) => [r.subject, r.baseline])) assert.ok(m.extra['mbPerSec']! > 0, `${m.name}: MB/s`);
  // zlib zstd vs the addon (issue 14): a compress and a decompress case, CPU per MB and a real ratio on both sides.
  const zstd = doc.results.filter((r) => r.suite === 'zstd-zlib');
  assert.deepEqual(
    zstd.map((r) => /: (compress|decompress),/.exec(r.case)?.[1]),
    SKIPPED.length === 0 ? ['compress', 'decompress'] : [],
  );
  for (const m of zstd.flatMap((r) => [r.subject, r.baseline])) {
    assert.ok(m.extra['cpuUsPerMB']! > 0 && m.extra['compressionRatio']! > 2, `${m.name}: CPU per MB ${m.extra['cpuUsPerMB']}, ratio ${m.extra['compressionRatio']}`);
  }
});
