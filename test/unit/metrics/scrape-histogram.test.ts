/**
 * The scrape-time histogram must print exactly what prom-client's own Histogram prints for the
 * same observations (Prometheus and Grafana must not be able to tell them apart), and the
 * shared-memory fsync histogram must count what it is given.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { fsyncHistogramView, readFsyncHistogram, recordFsync } from '../../../src/arena/fsync-histogram.js';
import { FSYNC_BUCKET_BOUNDS } from '../../../src/arena/layout.js';
import { ADMISSION_BUCKET_BOUNDS, LatencyHistogram } from '../../../src/metrics/latency-histogram.js';
import { ScrapeHistogram } from '../../../src/metrics/scrape-histogram.js';

const OBSERVATIONS = [0, 1e-7, 1e-6, 1.5e-6, 3e-6, 2e-5, 2e-5, 1e-3, 0.3, 2.5, 7, 1e-4];

test('ScrapeHistogram renders the same exposition as prom-client Histogram', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const engine = new LatencyHistogram(ADMISSION_BUCKET_BOUNDS);
  new ScrapeHistogram('aof_test_seconds', 'a test histogram', () => engine.snapshot()).register(ours);
  const reference = new Histogram({ name: 'aof_test_seconds', help: 'a test histogram', buckets: [...ADMISSION_BUCKET_BOUNDS], registers: [theirs] });
  for (const v of OBSERVATIONS) {
    engine.record(v);
    reference.observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  const snap = engine.snapshot();
  assert.equal(snap.count, OBSERVATIONS.length);
  assert.equal(snap.counts.reduce((a, b) => a + b, 0), OBSERVATIONS.length);
  assert.equal(snap.counts.at(-1), 1, 'one observation above the last bound (+Inf)');
});

test('an empty ScrapeHistogram still prints every bucket, a zero sum and a zero count', async () => {
  const registry = new Registry();
  new ScrapeHistogram('aof_empty_seconds', 'empty', () => new LatencyHistogram([0.1, 1]).snapshot()).register(registry);
  const text = await registry.metrics();
  assert.match(text, /^# TYPE aof_empty_seconds histogram$/m);
  assert.match(text, /^aof_empty_seconds_bucket\{le="0.1"\} 0$/m);
  assert.match(text, /^aof_empty_seconds_bucket\{le="\+Inf"\} 0$/m);
  assert.match(text, /^aof_empty_seconds_count 0$/m);
});

test('the shared-memory fsync histogram counts durations into their buckets, in nanoseconds exactly', () => {
  const view = fsyncHistogramView(new SharedArrayBuffer(64 * 1024));
  const durationsNs = [30_000, 50_000, 50_001, 2_000_000, 3e9];
  for (const ns of durationsNs) recordFsync(view, ns);
  const snap = readFsyncHistogram(view);
  assert.deepEqual(snap.bounds, FSYNC_BUCKET_BOUNDS);
  assert.equal(snap.count, durationsNs.length);
  assert.equal(snap.sum, durationsNs.reduce((a, b) => a + b, 0) / 1e9);
  assert.equal(snap.counts[0], 2, '30 µs and exactly 50 µs fall in le=0.00005');
  assert.equal(snap.counts[1], 1, '50.001 µs falls in le=0.0001');
  assert.equal(snap.counts[FSYNC_BUCKET_BOUNDS.indexOf(0.0025)], 1, '2 ms in le=0.0025');
  assert.equal(snap.counts.at(-1), 1, '3 s in +Inf');
});
