/**
 * Keeps the peer benchmark from rotting: runs peer-bench in --quick mode as a child process, the
 * way `npm run bench:peers -- --quick --json` does, and checks that every library wrote what it
 * was given (each side reopened and counted, the last records compared byte for byte), and that
 * every comparison has a positive ratio and sane HDR percentiles. Speed is not asserted: the
 * figures depend on the machine and its load (docs/performance.md has the full runs). The peer
 * libraries come from peer-bench/node_modules (.ci/run installs them; the suite would otherwise
 * run `npm ci` in peer-bench/ itself, within the run's timeout).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport, type BenchDocument } from '../../native-free-bench/report.js';
import { tempRoot } from '../../support/tmp.js';

const run = promisify(execFile);
const RUNNER = fileURLToPath(new URL('../../peer-bench/run.js', import.meta.url));
const SUBJECTS = ['aof2 appendSync', 'aof2 append'];
const PEERS = ['lmdb-js', 'hypercore', 'sonic-boom', 'fs.createWriteStream'];

/** One quick run (about 5 s) shared by both tests. */
let quickRun: Promise<BenchDocument> | undefined;
function runQuick(): Promise<BenchDocument> {
  quickRun ??= run(process.execPath, ['--expose-gc', RUNNER, '--quick', '--json'], { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => JSON.parse(stdout) as BenchDocument,
  );
  return quickRun;
}

test('bench:peers --quick --json: aof2 and every peer verified, a positive ratio for each pair', { timeout: 180_000 }, async () => {
  const doc = await runQuick();
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
    assert.ok(r.verified.some((v) => v.what === 'baseline'), `${label}: ${r.baseline.name} not verified`);
    for (const v of r.verified) assert.ok(v.ok && v.expected > 0 && v.found === v.expected, `${label} ${v.what}: expected ${v.expected}, found ${v.found}`);
  }
  // The targets are attached to the comparisons they name (reported, not asserted here).
  for (const r of doc.results) {
    const want = r.baseline.name === 'lmdb-js' || r.baseline.name === 'hypercore' ? 1 : 0;
    assert.equal(r.targets.length, want, `${r.case}: targets`);
  }
});

test('the report of a run: JSON copy, an SVG bar per case, and a generated block spliced into the Markdown', { timeout: 180_000 }, async (t) => {
  const { root: dir, cleanup } = tempRoot('aof2-report-');
  t.after(cleanup);
  const doc = await runQuick();
  const markdown = join(dir, 'performance.md');
  // Twice: the second run replaces the block instead of appending another one.
  writeReport([doc], dir, markdown);
  writeReport([doc], dir, markdown);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'peer-bench.json'), 'utf8')), doc);
  const svg = readFileSync(join(dir, 'peer-bench.svg'), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  // One bar per case (the background is the other rect), one latency curve per side of each case.
  assert.equal(svg.match(/<rect /g)?.length, doc.results.length + 1);
  assert.equal(svg.match(/<polyline /g)?.length, doc.results.length * 2);
  for (const r of doc.results) assert.ok(svg.includes(`${r.ratio.toFixed(2)}x`), `${r.case}: ratio label`);
  const md = readFileSync(markdown, 'utf8');
  assert.equal(md.match(/<!-- bench:peer-bench:begin -->/g)?.length, 1);
  assert.equal(md.match(/^\| peers \|/gm)?.length, doc.results.length);
});
