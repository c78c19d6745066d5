/**
 * Issue #5 "Must show": a real workload (two streams, a 4-slot arena so segments seal, compress,
 * upload to the local-directory Tier 2 store, get evicted past a small Tier 1 budget and are read
 * back from Tier 2; sync WouldBlocks on both the append and the read side), then a scrape of the
 * metrics endpoint over HTTP. Every engine metric must be there with plausible values, exact where
 * the workload makes them exact (records and bytes per stream, segments compressed and uploaded),
 * and `manager.stats()` must report the same figures. Plus the options around it: a registry
 * passed in, the sampling kill switch, and misuse that must fail with a code.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { AofManager, ErrorCode, WouldBlockError, serveMetrics, type AofLog, type ManagerStats } from '../../src/index.js';
import { DEFAULT_ADMISSION_SAMPLE_EVERY } from '../../src/metrics/engine-counters.js';
import { maxOpenFilesFor, softFdLimit } from '../../src/fd-limit.js';
import { rejectionOf } from '../../support/engine.js';
import { parseExposition, samplesOf, valueOf, type Exposition } from '../../support/prom-text.js';
import { smallEngine } from '../../support/tier2-suite.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';

const SEGMENT_BYTES = 64 * 1024;
const WOULD_BLOCK_KINDS = ['admission', 'rollover', 'flush', 'hydration', 'tier2', 'compression'];

/** Every metric the engine exports, with its Prometheus type (docs/metrics.md lists the same). */
const EXPECTED_METRICS: Record<string, string> = {
  aof_appended_records_total: 'counter',
  aof_appended_bytes_total: 'counter',
  aof_streams: 'gauge',
  aof_wouldblock_total: 'counter',
  aof_tier0_admission_seconds: 'histogram',
  aof_tier0_fsync_seconds: 'histogram',
  aof_tier0_open_segment_files: 'gauge',
  aof_tier0_open_segment_files_budget: 'gauge',
  aof_tier0_segment_file_reopens_total: 'counter',
  aof_tier0_window_pages: 'gauge',
  aof_tier0_window_pages_budget: 'gauge',
  aof_tier0_reader_reserve_pages: 'gauge',
  aof_tier0_read_range_pages: 'gauge',
  aof_tier0_windows_cut_total: 'counter',
  aof_tier0_window_refusals_total: 'counter',
  aof_queue_depth: 'gauge',
  aof_tier1_compressed_segments_total: 'counter',
  aof_tier1_compress_input_bytes_total: 'counter',
  aof_tier1_compress_output_bytes_total: 'counter',
  aof_tier1_compress_retries_total: 'counter',
  aof_tier1_compress_failures_total: 'counter',
  aof_tier1_hydration_seconds: 'histogram',
  aof_tier1_hydrate_retries_total: 'counter',
  aof_tier1_hydrate_failures_total: 'counter',
  aof_tier1_raw_backlog_bytes: 'gauge',
  aof_tier1_raw_backlog_budget_bytes: 'gauge',
  aof_tier1_compression_level: 'gauge',
  aof_tier1_compression_level_max: 'gauge',
  aof_tier1_compress_threads: 'gauge',
  aof_tier1_compress_threads_max: 'gauge',
  aof_tier1_hydrate_threads: 'gauge',
  aof_tier1_hydrate_threads_max: 'gauge',
  aof_segments: 'gauge',
  aof_arena_slots: 'gauge',
  aof_arena_utilisation_ratio: 'gauge',
  aof_tier1_local_bytes: 'gauge',
  aof_tier2_breaker_state: 'gauge',
  aof_tier2_breaker_transitions_total: 'counter',
  aof_tier2_uploads_total: 'counter',
  aof_tier2_upload_bytes_total: 'counter',
  aof_tier2_upload_retries_total: 'counter',
  aof_tier2_upload_failures_total: 'counter',
  aof_tier2_upload_queue: 'gauge',
  aof_tier2_pending_bytes: 'gauge',
  aof_tier2_evictions_total: 'counter',
  aof_tier2_index_fetches_total: 'counter',
  aof_tier2_index_manifest_reads_total: 'counter',
  aof_manifest_replay_chunk_lag_seconds: 'gauge',
  aof_manifest_replay_journal_lag_bytes: 'gauge',
  aof_manifest_replay_chunk_count: 'gauge',
  aof_manifest_replay_corruption_events: 'counter',
  aof_recovery_bad_footers_total: 'counter',
};

const sizeOf = (stream: number, i: number): number => 100 + ((i * 37 + stream * 11) % 1100);

interface Written {
  records: number;
  bytes: number;
}

/**
 * Appends `counts[s]` records to each stream, interleaved, in a tight appendSync loop that never
 * yields until it meets WouldBlock (counted per kind), then waits with append().
 */
async function writeWorkload(logs: AofLog[], counts: number[], syncBlocks: Map<string, number>): Promise<{ written: Written[]; calls: number }> {
  const written = logs.map(() => ({ records: 0, bytes: 0 }));
  let calls = 0;
  const max = Math.max(...counts);
  for (let i = 0; i < max; i++) {
    for (let s = 0; s < logs.length; s++) {
      if (i >= counts[s]!) continue;
      const log = logs[s]!;
      const payload = payloadFor(i, sizeOf(s, i));
      calls++;
      try {
        assert.equal(log.appendSync(payload), i);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        syncBlocks.set(err.kind, (syncBlocks.get(err.kind) ?? 0) + 1);
        calls++;
        assert.equal(await withTimeout(log.append(payload), 20_000, `append ${i}`), i);
      }
      written[s]!.records++;
      written[s]!.bytes += payload.length;
    }
  }
  return { written, calls };
}

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return parseExposition(await res.text());
}

/** Checks a histogram family: cumulative buckets ending in +Inf == count, and returns count and sum. */
function histogram(exp: Exposition, name: string): { count: number; sum: number; buckets: number } {
  const buckets = samplesOf(exp, `${name}_bucket`);
  assert.ok(buckets.length >= 5, `${name} has buckets`);
  let previous = 0;
  for (const b of buckets) {
    assert.ok(b.value >= previous, `${name} buckets are cumulative (le=${b.labels['le']})`);
    previous = b.value;
  }
  assert.equal(buckets.at(-1)!.labels['le'], '+Inf');
  const count = valueOf(exp, `${name}_count`);
  assert.equal(buckets.at(-1)!.value, count, `${name}: +Inf bucket equals the count`);
  return { count, sum: valueOf(exp, `${name}_sum`), buckets: buckets.length };
}

function sameHistogram(name: string, scraped: { count: number; sum: number }, snap: ManagerStats['latency']['admission']): void {
  assert.equal(snap.count, scraped.count, `${name}: stats() count equals the scrape`);
  assert.ok(Math.abs(snap.sum - scraped.sum) <= 1e-9 * Math.max(1, snap.sum), `${name}: stats() sum ${snap.sum} vs scraped ${scraped.sum}`);
}

test('a scrape over HTTP after a tiered workload finds every metric with the values of the workload', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-metrics-');
  t.after(cleanup);
  const registry = new Registry();
  // 4 slots: a writer that never yields runs out of them (WouldBlock). A 128 KiB Tier 1 budget
  // holds two incompressible segments: the rest is evicted and read back from Tier 2.
  const options = smallEngine(root, { kind: 'fs', root: `${root}-tier2` }, 128 * 1024, {
    tier0: { arenaBytes: 4 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    metrics: { registry },
  });
  const manager = await AofManager.open(options);
  assert.equal(manager.registry, registry, 'the registry passed in is the one used');
  const server = await serveMetrics(registry);
  t.after(() => server.close());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'bound to loopback by default');
  try {
    const logs = [await manager.openStream('orders'), await manager.openStream('clicks')];
    const counts = [1500, 1100];
    const syncBlocks = new Map<string, number>();
    const { written, calls } = await writeWorkload(logs, counts, syncBlocks);
    const syncAppendBlocks = [...syncBlocks.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`sync append WouldBlocks: ${JSON.stringify(Object.fromEntries(syncBlocks))}`);
    assert.ok(syncAppendBlocks > 0, 'the tight loop met WouldBlock at least once');
    await withTimeout(manager.settle(), 30_000, 'settle');

    // The oldest segment of "orders" is only in Tier 2 now: a sync read would block.
    const sync = logs[0]!.openReader({ from: 0 });
    assert.throws(() => sync.nextSync(), (err: unknown) => err instanceof WouldBlockError && err.kind === 'hydration');
    sync.close();
    await readOrders(logs[0]!, counts[0]!);
    await withTimeout(manager.settle(), 30_000, 'settle after reading');

    const exp = await scrape(server.url);
    const stats = manager.stats();

    // Every metric, with its type.
    for (const [name, type] of Object.entries(EXPECTED_METRICS)) assert.equal(exp.types.get(name), type, `${name} is exported as a ${type}`);

    // Appends: exact per stream.
    for (const [s, name] of ['orders', 'clicks'].entries()) {
      assert.equal(valueOf(exp, 'aof_appended_records_total', { stream: name }), written[s]!.records, `${name} records`);
      assert.equal(valueOf(exp, 'aof_appended_bytes_total', { stream: name }), written[s]!.bytes, `${name} bytes`);
      assert.deepEqual(stats.appended[name], written[s], `stats().appended.${name}`);
    }
    assert.equal(valueOf(exp, 'aof_streams'), 2);
    assert.equal(stats.streams, 2);

    // WouldBlock: every kind has a series; the ones seen are there at least as often as seen.
    for (const kind of WOULD_BLOCK_KINDS) assert.equal(valueOf(exp, 'aof_wouldblock_total', { kind }), stats.wouldBlock[kind as 'admission'], `wouldblock ${kind}`);
    for (const [kind, n] of syncBlocks) assert.ok(valueOf(exp, 'aof_wouldblock_total', { kind }) >= n, `wouldblock ${kind} >= ${n} sync throws`);
    assert.ok(valueOf(exp, 'aof_wouldblock_total', { kind: 'hydration' }) >= 1, 'the reader WouldBlock is counted');

    // Admission: sampled 1 in 256 calls by default (a sampled call that threw WouldBlock is not timed).
    const admission = histogram(exp, 'aof_tier0_admission_seconds');
    assert.ok(admission.count > 0 && admission.count <= Math.floor(calls / DEFAULT_ADMISSION_SAMPLE_EVERY), `admission samples ${admission.count} for ${calls} calls`);
    assert.ok(admission.sum > 0 && admission.sum / admission.count < 1, `mean admission ${admission.sum / admission.count} s`);
    sameHistogram('admission', admission, stats.latency.admission);

    // Segments: every sealed one compressed and uploaded exactly once.
    const sealed = logs.flatMap((log) => logCore(log).segments.filter((seg) => seg.sealed));
    const inputBytes = sealed.reduce((a, seg) => a + seg.dataBytes, 0);
    const outputBytes = sealed.reduce((a, seg) => a + seg.compressedBytes, 0);
    assert.ok(sealed.length >= 20, `${sealed.length} sealed segments`);
    assert.equal(valueOf(exp, 'aof_tier1_compressed_segments_total'), sealed.length);
    assert.equal(valueOf(exp, 'aof_tier1_compress_input_bytes_total'), inputBytes);
    assert.equal(valueOf(exp, 'aof_tier1_compress_output_bytes_total'), outputBytes);
    assert.equal(valueOf(exp, 'aof_tier2_uploads_total'), sealed.length);
    assert.equal(valueOf(exp, 'aof_tier2_upload_bytes_total'), outputBytes);
    for (const name of ['compress_retries', 'compress_failures', 'hydrate_retries', 'hydrate_failures']) {
      assert.equal(valueOf(exp, `aof_tier1_${name}_total`), 0, `a healthy run has no ${name}`);
    }
    assert.equal(valueOf(exp, 'aof_tier2_upload_failures_total'), 0);
    assert.equal(stats.tier1.segmentsCompressed, sealed.length);
    assert.ok(valueOf(exp, 'aof_tier2_evictions_total') > 0, 'local copies were evicted');

    // Budgets and their current values: the raw backlog is empty after settle; the level is back
    // at (or never left) the configured one; the pool's width is within its bounds.
    assert.equal(valueOf(exp, 'aof_tier1_raw_backlog_bytes'), 0);
    assert.equal(stats.tier1.rawBacklogBytes, 0);
    assert.equal(valueOf(exp, 'aof_tier1_raw_backlog_budget_bytes'), stats.tier1.rawBacklogBudget);
    assert.equal(stats.tier1.rawBacklogBudget, manager.config.tier1.rawBacklogBytes);
    assert.equal(valueOf(exp, 'aof_tier1_compression_level'), stats.tier1.compressionLevel);
    assert.equal(valueOf(exp, 'aof_tier1_compression_level_max'), manager.config.tier1.compressionLevel);
    assert.ok(stats.tier1.compressionLevel >= 1 && stats.tier1.compressionLevel <= stats.tier1.compressionLevelMax);
    assert.equal(valueOf(exp, 'aof_tier1_compress_threads'), stats.tier1.compressThreads);
    assert.equal(valueOf(exp, 'aof_tier1_compress_threads_max'), Math.max(1, availableParallelism()));
    assert.equal(stats.tier1.compressThreadsMax, Math.max(1, availableParallelism()));
    assert.ok(stats.tier1.compressThreads >= 1 && stats.tier1.compressThreads <= stats.tier1.compressThreadsMax);
    assert.equal(valueOf(exp, 'aof_tier1_hydrate_threads'), stats.tier1.hydrateThreads);
    // Lazy footers: no damaged sealed file here, so none found bad (recovery-sealed-damage.test.ts has the other case).
    assert.equal(valueOf(exp, 'aof_recovery_bad_footers_total'), stats.recovery.badFooters);
    assert.equal(stats.recovery.badFooters, 0);
    assert.equal(valueOf(exp, 'aof_tier1_hydrate_threads_max'), manager.config.tier1.hydrateMaxThreads);
    assert.equal(stats.tier1.hydrateThreadsMax, manager.config.tier1.hydrateMaxThreads);
    assert.ok(stats.tier1.hydrateThreads >= 0 && stats.tier1.hydrateThreads <= stats.tier1.hydrateThreadsMax);

    // fsync: at least one per sealed segment (the footer), each well under a second on average.
    const fsync = histogram(exp, 'aof_tier0_fsync_seconds');
    assert.ok(fsync.count >= sealed.length, `${fsync.count} fsyncs for ${sealed.length} seals`);
    assert.ok(fsync.sum > 0 && fsync.sum / fsync.count < 1, `mean fsync ${fsync.sum / fsync.count} s`);
    sameHistogram('fsync', fsync, stats.latency.fsync);

    // Open segment files: the two active segments (a sealed one is closed), within the default
    // budget (derived from the fd limit, at least 16), which two streams never exceed: no reopens.
    assert.equal(valueOf(exp, 'aof_tier0_open_segment_files'), stats.tier0.openSegmentFiles);
    assert.equal(stats.tier0.openSegmentFiles, 2);
    assert.equal(valueOf(exp, 'aof_tier0_open_segment_files_budget'), maxOpenFilesFor(softFdLimit()));
    assert.equal(stats.tier0.maxOpenFiles, manager.config.maxOpenFiles);
    assert.equal(valueOf(exp, 'aof_tier0_segment_file_reopens_total'), 0);
    assert.equal(stats.tier0.segmentFileReopens, 0);

    // The arena's split (32 pages of 8 KiB): the default reader reserve is an eighth, windows may
    // hold the rest; the two active windows are in it, the frames read back are read ranges.
    assert.deepEqual([stats.tier0.pageBytes, stats.tier0.readerReservePages, stats.tier0.windowPagesBudget], [8192, 4, 28]);
    assert.ok(stats.tier0.windowPages >= 2 && stats.tier0.windowPages <= 28, `${stats.tier0.windowPages} window pages`);
    assert.ok(stats.tier0.readRangePages >= 1, `${stats.tier0.readRangePages} read-range pages`);
    const budgetMetrics = {
      aof_tier0_window_pages: stats.tier0.windowPages,
      aof_tier0_window_pages_budget: stats.tier0.windowPagesBudget,
      aof_tier0_reader_reserve_pages: stats.tier0.readerReservePages,
      aof_tier0_read_range_pages: stats.tier0.readRangePages,
      aof_tier0_windows_cut_total: stats.tier0.windowsCut,
      aof_tier0_window_refusals_total: stats.tier0.windowRefusals,
    };
    for (const [name, value] of Object.entries(budgetMetrics)) assert.equal(valueOf(exp, name), value, name);

    // Hydration: the read-back of "orders" fetched frames from Tier 2.
    const hydration = histogram(exp, 'aof_tier1_hydration_seconds');
    assert.equal(hydration.count, stats.tier1.framesDecompressed);
    assert.ok(hydration.count >= 1 && hydration.sum > 0, `${hydration.count} frame hydrations`);
    sameHistogram('hydration', hydration, stats.latency.hydration);

    // Queues: all four, idle after settle.
    for (const queue of ['flush', 'compress', 'upload', 'hydrate'] as const) {
      const depth = valueOf(exp, 'aof_queue_depth', { queue });
      assert.equal(depth, stats.queues[queue], `queue ${queue}`);
      if (queue !== 'flush') assert.equal(depth, 0, `queue ${queue} idle after settle`);
    }

    // Residency: every segment of both streams counted once; the oldest are cold in Tier 2.
    const segmentSamples = samplesOf(exp, 'aof_segments');
    assert.equal(segmentSamples.length, 4 * 3, 'every tier x state pair has a series');
    const totalSegments = logs.reduce((a, log) => a + logCore(log).segments.length, 0);
    assert.equal(segmentSamples.reduce((a, s) => a + s.value, 0), totalSegments);
    // At most one active segment per stream: pressure relief in the 4-slot arena may have sealed
    // either or both (a reader's hydration relieves pressure on behalf of no stream, so it may seal
    // the last writer's segment too).
    const unsealed = logs.reduce((a, log) => a + logCore(log).segments.filter((seg) => !seg.sealed).length, 0);
    assert.ok(unsealed <= 2, `${unsealed} unsealed segments`);
    assert.equal(valueOf(exp, 'aof_segments', { tier: 'raw', state: 'active' }), unsealed, 'the unsealed segments are the active ones');
    assert.ok(valueOf(exp, 'aof_segments', { tier: 'tier2', state: 'cold' }) >= 1, 'evicted segments are cold in Tier 2');
    for (const s of segmentSamples) assert.equal(s.value, stats.segments[s.labels['tier'] as 'raw'][s.labels['state'] as 'cold'], `segments ${JSON.stringify(s.labels)}`);

    // Arena: runs per state and free pages (stage 2: 8 KiB pages), utilisation a fraction.
    const slots = samplesOf(exp, 'aof_arena_slots');
    const free = slots.find((s) => s.labels['state'] === 'free');
    assert.ok(free !== undefined && free.value >= 0 && free.value <= (4 * SEGMENT_BYTES) / 8192, `free pages ${free?.value}`);
    for (const s of slots) assert.equal(s.value, stats.arena[s.labels['state'] as 'free'], `arena slots ${s.labels['state']}`);
    const utilisation = valueOf(exp, 'aof_arena_utilisation_ratio');
    assert.ok(utilisation >= 0 && utilisation <= 1);
    assert.equal(utilisation, stats.arenaUtilisation);

    // The existing families still report.
    assert.equal(valueOf(exp, 'aof_tier2_breaker_state'), 0);
    assert.ok(valueOf(exp, 'aof_manifest_replay_chunk_count') >= 0);
  } finally {
    await manager.close();
  }
  // Closing removed the engine's metrics, so the same registry serves the next manager.
  assert.equal(registry.getSingleMetric('aof_appended_records_total'), undefined);
  const reopened = await AofManager.open({ ...options, tier2: { kind: 'none' } });
  try {
    assert.ok(registry.getSingleMetric('aof_appended_records_total') !== undefined);
  } finally {
    await reopened.close();
  }
});

/** Reads records [0, count) of "orders" back with the async reader, checking bytes. */
async function readOrders(log: AofLog, count: number): Promise<void> {
  const reader = log.openReader({ from: 0 });
  try {
    for (let id = 0; id < count; id++) {
      const rec = await withTimeout(reader.next(), 20_000, `record ${id}`);
      assert.ok(rec !== null && rec.id === id, `record ${id}`);
      const want = payloadFor(id, sizeOf(0, id));
      assert.ok(rec.payload.length === want.length && rec.payload.every((b, i) => b === want[i]), `record ${id} differs`);
    }
  } finally {
    reader.close();
  }
}

test('admissionSampleEvery 0 turns the sampling off; the rest still counts', async (t) => {
  const { root, cleanup } = tempRoot('aof2-metrics-off-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier2: { kind: 'none' }, tier1: { enabled: false }, metrics: { admissionSampleEvery: 0 } });
  try {
    const log = await manager.openStream('s');
    for (let i = 0; i < 1000; i++) log.appendSync(payloadFor(i, 10));
    const stats = manager.stats();
    assert.equal(stats.latency.admission.count, 0);
    assert.deepEqual(stats.appended['s'], { records: 1000, bytes: 10_000 });
    const exp = parseExposition(await manager.registry.metrics());
    assert.equal(valueOf(exp, 'aof_tier0_admission_seconds_count'), 0);
    assert.equal(valueOf(exp, 'aof_appended_records_total', { stream: 's' }), 1000);
  } finally {
    await manager.close();
  }
});

test('the sampling rate is exact: 1 call in admissionSampleEvery is timed', async (t) => {
  const { root, cleanup } = tempRoot('aof2-metrics-rate-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier2: { kind: 'none' }, tier1: { enabled: false }, metrics: { admissionSampleEvery: 10 } });
  try {
    const log = await manager.openStream('s');
    for (let i = 0; i < 995; i++) log.appendSync(payloadFor(i, 10));
    for (let i = 0; i < 10; i++) await log.append(payloadFor(i, 10));
    assert.equal(manager.stats().latency.admission.count, 100);
  } finally {
    await manager.close();
  }
});

test('metrics and logger options are validated; a registry in use by an open manager is refused', async (t) => {
  const { root, cleanup } = tempRoot('aof2-metrics-opts-');
  t.after(cleanup);
  const bad = [
    [{ metrics: { registy: new Registry() } }, ErrorCode.UNKNOWN_OPTION],
    [{ metrics: { registry: {} } }, ErrorCode.INVALID_ARGUMENT],
    [{ metrics: { admissionSampleEvery: -1 } }, ErrorCode.INVALID_ARGUMENT],
    [{ metrics: { admissionSampleEvery: 1.5 } }, ErrorCode.INVALID_ARGUMENT],
    [{ metrics: 5 }, ErrorCode.INVALID_ARGUMENT],
    [{ logger: { info() {} } }, ErrorCode.INVALID_ARGUMENT],
  ] as const;
  for (const [extra, code] of bad) {
    const err = await rejectionOf(AofManager.open({ root, ...(extra as object) }));
    assert.equal(err.code, code, JSON.stringify(Object.keys(extra)));
  }
  const registry = new Registry();
  const first = await AofManager.open({ root, tier2: { kind: 'none' }, metrics: { registry } });
  try {
    const other = tempRoot('aof2-metrics-opts2-');
    t.after(other.cleanup);
    const err = await rejectionOf(AofManager.open({ root: other.root, tier2: { kind: 'none' }, metrics: { registry } }));
    assert.equal(err.code, ErrorCode.INVALID_ARGUMENT);
    assert.match(err.message, /one registry per manager/);
  } finally {
    await first.close();
  }
});

test('serveMetrics: 404 off /metrics, 405 for other methods, and close() is idempotent', async (t) => {
  const registry = new Registry();
  const server = await serveMetrics(registry, { port: 0 });
  t.after(() => server.close());
  assert.equal((await fetch(server.url.replace('/metrics', '/nope'))).status, 404);
  assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${server.url}?x=1`)).status, 200);
  await server.close();
  await server.close();
  await assert.rejects(fetch(server.url));
  await assert.rejects(serveMetrics(registry, { port: 70_000 }), (err: unknown) => (err as { code?: string }).code === ErrorCode.INVALID_ARGUMENT);
});

test('aof_wouldblock_total counts every sync throw exactly, by kind', async (t) => {
  const { root, cleanup } = tempRoot('aof2-metrics-wb-');
  t.after(cleanup);
  // Two 4 KiB slots, no tiers: a loop that never yields fills both and meets rollover/admission.
  const manager = await AofManager.open({ root, tier2: { kind: 'none' }, tier1: { enabled: false }, tier0: { arenaBytes: 8192, segmentBytes: 4096 } });
  try {
    const log = await manager.openStream('s');
    const seen = new Map<string, number>();
    let appended = 0;
    for (let i = 0; i < 200_000 && (seen.get('rollover') ?? 0) + (seen.get('admission') ?? 0) < 50; i++) {
      try {
        log.appendSync(payloadFor(appended, 200));
        appended++;
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        seen.set(err.kind, (seen.get(err.kind) ?? 0) + 1);
      }
    }
    const stats = manager.stats();
    t.diagnostic(`sync WouldBlocks ${JSON.stringify(Object.fromEntries(seen))} after ${appended} appends`);
    assert.ok(seen.size > 0, 'the loop met WouldBlock');
    for (const kind of WOULD_BLOCK_KINDS) assert.equal(stats.wouldBlock[kind as 'admission'], seen.get(kind) ?? 0, `kind ${kind}`);
    assert.equal(stats.appended['s']!.records, appended);
  } finally {
    await manager.close();
  }
});
