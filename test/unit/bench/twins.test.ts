/**
 * The benchmark report's pure parts for issue #12: defaults twins are paired with their tiers-off
 * case and get the cost of the tiers, the report puts them side by side, tiny ratios stay
 * readable, and the JSON event generator is deterministic, within its size range and checkable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_MAX_BYTES, EVENT_MIN_BYTES, JsonEvents } from '../../../native-free-bench/events.js';
import { costOfTiersTable, renderMarkdown, type BenchDocument } from '../../../native-free-bench/report.js';
import { formatRatio, formatResults, LatencyHistogram, pairTwins, type BenchResult, type Measurement } from '../../../native-free-bench/shared.js';

function side(name: string, ratePerSec: number, extra: Record<string, number> = {}): Measurement {
  const h = new LatencyHistogram('op');
  h.record(1000);
  return { name, records: 1, elapsedMs: 1, ratePerSec, samples: 1, latency: h.summary(), extra };
}

function result(caseName: string, tiers: 'off' | 'defaults' | undefined, rate: number, base = 100, extra: Record<string, number> = {}): BenchResult {
  return {
    suite: 'append-sync',
    case: caseName,
    subject: side(caseName, rate, extra),
    baseline: side('copy loop', base),
    ratio: rate / base,
    ratioOf: 'records/s',
    targets: [],
    verified: [{ what: 'subject', expected: 1, found: 1, ok: true, how: 'test' }],
    notes: [],
    ...(tiers === undefined ? {} : { tiers }),
  };
}

test('pairTwins gives each defaults case the cost of the tiers against its tiers-off twin', () => {
  const results = pairTwins([
    result('1 KiB, tiers off', 'off', 80, 100, { stalls: 0, sustainedPerSec: 80 }),
    result('1 KiB, defaults', 'defaults', 40, 100, { stalls: 3, sustainedPerSec: 20 }),
    result('100 B, tiers off', 'off', 90),
    result('100 B, defaults', 'defaults', 90),
    result('16 KiB, defaults', 'defaults', 10),
  ]);
  assert.deepEqual(results[1]!.costOfTiers, { ratio: 0.5, tiersOff: '1 KiB, tiers off', wallRatio: 0.25 });
  // No WouldBlock on either side: the wall ratio would repeat the ratio, so it is left out.
  assert.deepEqual(results[3]!.costOfTiers, { ratio: 1, tiersOff: '100 B, tiers off' });
  assert.equal(results[4]!.costOfTiers, undefined, 'no twin, no cost');
  assert.equal(results[0]!.costOfTiers, undefined, 'the tiers-off case carries none');
});

test('a case that is its own comparison (burst: defaults vs tiers off) keeps its cost as set', () => {
  const r = result('600k events', 'defaults', 25, 100);
  r.costOfTiers = { ratio: 0.25, tiersOff: 'baseline' };
  pairTwins([r]);
  assert.deepEqual(r.costOfTiers, { ratio: 0.25, tiersOff: 'baseline' });
});

test('the report puts the twins side by side, and the text table names the cost', () => {
  const results = pairTwins([result('1 KiB, tiers off', 'off', 80), result('1 KiB, defaults', 'defaults', 40)]);
  const burst = result('600k events', 'defaults', 25, 100);
  burst.suite = 'burst';
  burst.costOfTiers = { ratio: 0.25, tiersOff: 'baseline' };
  const rows = costOfTiersTable([...results, burst]);
  assert.ok(rows.includes('| suite | case | tiers off | defaults | cost of the tiers |'));
  assert.ok(rows.some((l) => l.startsWith('| append-sync | 1 KiB | 80 /s, 0.80x | 40 /s, 0.40x | **0.50x** |')), rows.join('\n'));
  assert.ok(rows.some((l) => l.startsWith('| burst | 600k events | 100 /s, (the baseline) | 25 /s, - | **0.25x** |')), rows.join('\n'));
  assert.deepEqual(costOfTiersTable([result('1 KiB', undefined, 80)]), [], 'no twins, no table');
  assert.match(formatResults(results), /cost of the tiers: defaults 0\.50x of "1 KiB, tiers off"/);
  const doc: BenchDocument = {
    tool: 'aof2 native-codec-bench',
    mode: 'quick',
    command: 'node run.js',
    startedAt: '2026-12-02T00:00:00.000Z',
    durationMs: 1000,
    machine: { cores: 2, cpuModel: 'cpu', node: 'v20', platform: 'linux-x64', totalMemGiB: 24, loadAvgAtStart: [0], loadAvgAtEnd: [0] },
    suites: ['append-sync'],
    nativeAddons: [],
    addonCheck: 'x',
    errors: [],
    results,
  };
  assert.match(renderMarkdown(doc), /Cost of the tiers, same run/);
});

test('formatRatio keeps two significant digits below 0.01', () => {
  assert.equal(formatRatio(0.71), '0.71');
  assert.equal(formatRatio(0.00123), '0.0012');
  assert.equal(formatRatio(0), '0.00');
});

test('JsonEvents: deterministic, ~180 B on average within the stated range, valid JSON, checkable by id', () => {
  const a = new JsonEvents(7, 512);
  const b = new JsonEvents(7, 512);
  assert.ok(a.meanBytes > 160 && a.meanBytes < 200, `mean ${a.meanBytes}`);
  for (const id of [0, 1, 511, 512, 123_456_789]) {
    const bytes = a.payload(id).slice();
    assert.deepEqual(bytes, b.payload(id));
    assert.ok(bytes.length >= EVENT_MIN_BYTES && bytes.length <= EVENT_MAX_BYTES + 40, `size ${bytes.length}`);
    assert.equal(bytes.length, a.sizeOf(id));
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { seq: string };
    assert.equal(Number(parsed.seq), id);
    assert.ok(a.matches(id, bytes));
    assert.ok(!a.matches(id + 512, bytes), 'another id sharing the pool entry does not match');
  }
  assert.notDeepEqual(new JsonEvents(8, 512).payload(0), a.payload(0));
});
