/**
 * Keeps the peer benchmark from rotting: runs peer-bench in --quick mode as a child process, the
 * way `npm run bench:peers -- --quick --json` does, and checks that every library wrote what it
 * was given (each side reopened and counted, the last records compared byte for byte), and that
 * every comparison has a positive ratio and sane HDR percentiles. Speed is not asserted: the
 * figures depend on the machine and its load (docs/performance.md has the full runs). The peer
 * libraries come from peer-bench/node_modules (.ci/run installs them; the suite would otherwise
 * run `npm ci` in peer-bench/ itself, within the run's timeout).
 *
 * The Redis Streams case needs Debian's redis-server, which .ci/run installs. Where it is missing
 * the case must say so in the report (`skipped`, naming the apt command), and the test checks
 * exactly that instead: it never passes on a case that silently did not run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport, type BenchDocument } from '../../native-free-bench/report.js';
import { formatRatio } from '../../native-free-bench/shared.js';
import { findRedisServer } from '../../peer-bench/redis-server.js';
import { tempRoot } from '../../support/tmp.js';

const run = promisify(execFile);
const RUNNER = fileURLToPath(new URL('../../peer-bench/run.js', import.meta.url));
const SUBJECTS = ['aof2 appendSync', 'aof2 append'];
const PEERS = ['lmdb-js', 'hypercore', 'sonic-boom', 'fs.createWriteStream'];
const REDIS_SUITE = 'redis-streams';
/** The Redis sides, and whether each carries issue 15's two targets (p50, p99); compared at each pace. */
const REDIS_SIDES: [string, boolean][] = [
  ['Redis XADD + XREAD BLOCK, in memory', true],
  ['Redis XADD + XREAD BLOCK, AOF everysec', true],
  ['Redis pipelined XADD + XREAD BLOCK, in memory', false],
];
/** The read-only sides (follower in a child process), each compared with the per-record Redis sides. */
const READ_ONLY_SIDES = ['aof2 follow, read-only process', 'aof2 follow, read-only process, writeDelayMs 0'];
/** The Redis side whose consumer is a child process too: compared with the read-only sides only. */
const REDIS_CHILD_SIDE = 'Redis XADD + XREAD BLOCK, in memory, consumer in another process';
/** Every comparison of one pace: subject, Redis side, whether it carries the p50 and p99 targets. */
const PAIRS: [string, string, boolean][] = [
  ...REDIS_SIDES.map(([name, targets]): [string, string, boolean] => ['aof2 follow', name, targets]),
  ...READ_ONLY_SIDES.flatMap((ro) =>
    [...REDIS_SIDES.filter(([, targets]) => targets).map(([name]) => name), REDIS_CHILD_SIDE].map((name): [string, string, boolean] => [ro, name, true]),
  ),
];

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
  const results = doc.results.filter((r) => r.suite === 'peers');
  const pairs = results.map((r) => `${r.subject.name} / ${r.baseline.name}`);
  assert.deepEqual(pairs, SUBJECTS.flatMap((s) => PEERS.map((p) => `${s} / ${p}`)));
  for (const r of results) {
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
  for (const r of results) {
    const want = r.baseline.name === 'lmdb-js' || r.baseline.name === 'hypercore' ? 1 : 0;
    assert.equal(r.targets.length, want, `${r.case}: targets`);
  }
});

test('bench:peers --quick --json: aof2 follow vs Redis Streams ran and verified where redis-server is installed, else reported as not installed', { timeout: 180_000 }, async () => {
  const doc = await runQuick();
  assert.deepEqual(doc.errors, []);
  const results = doc.results.filter((r) => r.suite === REDIS_SUITE);
  if (findRedisServer() === null) {
    assert.deepEqual(results, []);
    assert.equal(doc.skipped?.length, 1);
    assert.equal(doc.skipped![0]!.suite, REDIS_SUITE);
    assert.match(doc.skipped![0]!.reason, /redis-server is not installed.*apt-get install -y redis-server/);
    return;
  }
  assert.deepEqual(doc.skipped, []);
  const paces = ['100k/s', '10k/s'];
  assert.deepEqual(
    results.map((r) => `${r.subject.name} / ${r.baseline.name} (${/at ([0-9]+k\/s)\)$/.exec(r.case)?.[1]})`),
    paces.flatMap((pace) => PAIRS.map(([subject, name]) => `${subject} / ${name} (${pace})`)),
  );
  for (const [k, r] of results.entries()) {
    const label = r.case;
    // Redis p50 / aof2 p50, so positive and finite whatever the machine did.
    assert.ok(Number.isFinite(r.ratio) && r.ratio > 0, `${label}: ratio ${r.ratio}`);
    assert.equal(r.ratio, r.baseline.latency.p50 / r.subject.latency.p50, `${label}: the ratio is the p50s'`);
    for (const m of [r.subject, r.baseline]) {
      // Every record of every timed window has one latency sample.
      assert.ok(m.records > 0 && m.latency.count === m.records && m.ratePerSec > 0, `${label} ${m.name}: ${m.records} records, ${m.latency.count} samples`);
      const l = m.latency;
      assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${label} ${m.name}: percentiles`);
    }
    // Each side: delivered count, order, sampled bytes, the store's own count; a read-only side
    // also the clock check (the child's clock read between the parent's, every round trip).
    const readOnly = READ_ONLY_SIDES.includes(r.subject.name);
    assert.equal(r.verified.filter((v) => v.what === 'subject').length, readOnly ? 5 : 4, `${label}: aof2's checks`);
    assert.equal(r.verified.filter((v) => v.what === 'baseline').length, r.baseline.name === REDIS_CHILD_SIDE ? 5 : 4, `${label}: Redis's checks`);
    for (const v of r.verified) assert.ok(v.ok && v.expected > 0 && v.found === v.expected, `${label} ${v.what}: ${v.how}: expected ${v.expected}, found ${v.found}`);
    // p50 and p99 targets on the per-record cases, none on the pipelined one (reported, not asserted).
    assert.deepEqual(
      r.targets.map((t) => t.name),
      PAIRS[k % PAIRS.length]![2] ? ['p50 latency, Redis / aof2', 'p99 latency, Redis / aof2'] : [],
      `${label}: targets`,
    );
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
  // The label as the report writes it: a ratio under 0.01 (a read-only follower against Redis can
  // be 100x slower) keeps two significant digits instead of printing 0.00.
  for (const r of doc.results) assert.ok(svg.includes(`${formatRatio(r.ratio)}x`), `${r.case}: ratio label ${formatRatio(r.ratio)}x`);
  const md = readFileSync(markdown, 'utf8');
  assert.equal(md.match(/<!-- bench:peer-bench:begin -->/g)?.length, 1);
  assert.equal(md.match(/^\| peers \|/gm)?.length, doc.results.filter((r) => r.suite === 'peers').length);
  assert.equal(md.match(/^\| redis-streams \|/gm)?.length ?? 0, doc.results.filter((r) => r.suite === REDIS_SUITE).length);
});
