/**
 * Prometheus metrics of the engine (issue #5), read at scrape time from `manager.stats()`-shaped
 * figures, so the append path, the flush worker and the tiers never call prom-client:
 *
 * - `aof_appended_records_total{stream}`, `aof_appended_bytes_total{stream}` (counters, payload
 *   bytes), `aof_streams` (gauge: open streams);
 * - `aof_wouldblock_total{kind}` (counter: sync WouldBlock throws plus async calls that waited);
 * - `aof_tier0_admission_seconds` (histogram, sampled 1 append in `metrics.admissionSampleEvery`),
 *   `aof_tier0_fsync_seconds` (histogram, every data fsync of the flush worker);
 * - `aof_tier0_open_segment_files` and its budget `aof_tier0_open_segment_files_budget` (gauges),
 *   `aof_tier0_segment_file_reopens_total` (counter: files the budget had closed, reopened);
 * - `aof_tier0_window_pages` and its budget `aof_tier0_window_pages_budget`,
 *   `aof_tier0_reader_reserve_pages`, `aof_tier0_read_range_pages` (gauges: the arena's split
 *   between writers and readers, in pages), `aof_tier0_windows_cut_total`,
 *   `aof_tier0_window_refusals_total` (counters: windows the budget made smaller, or refused);
 * - `aof_queue_depth{queue}` (gauge: flush, compress, upload, hydrate);
 * - `aof_tier1_compressed_segments_total`, `aof_tier1_compress_input_bytes_total`,
 *   `aof_tier1_compress_output_bytes_total`, `aof_tier1_compress_retries_total`,
 *   `aof_tier1_compress_failures_total`, `aof_tier1_hydration_seconds` (histogram),
 *   `aof_tier1_hydrate_retries_total`, `aof_tier1_hydrate_failures_total`;
 * - `aof_tier1_raw_backlog_bytes` and its budget `aof_tier1_raw_backlog_budget_bytes`,
 *   `aof_tier1_compression_level` and its ceiling `aof_tier1_compression_level_max`,
 *   `aof_tier1_compress_threads` and its ceiling `aof_tier1_compress_threads_max`,
 *   `aof_tier1_hydrate_threads` and its ceiling `aof_tier1_hydrate_threads_max` (gauges);
 * - `aof_recovery_bad_footers_total` (counter: sealed segments trusted from the catalog at open
 *   whose file did not agree with it at their first read);
 * - `aof_segments{tier,state}` (gauge: residency of the open streams' segments),
 *   `aof_arena_slots{state}` (gauge), `aof_arena_utilisation_ratio` (gauge).
 *
 * Tier 2 and manifest replay metrics live in tier2-metrics.ts and manifest-metrics.ts.
 * Every collector of one scrape reads the same snapshot: `figures()` is called once per scrape
 * (cached until the microtask queue drains), so the figures are consistent with each other.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WouldBlockKindValue } from '../errors.js';
import type { WindowBudgetFigures } from '../arena/window-budget.js';
import type { HistogramSnapshot } from './latency-histogram.js';
import { ScrapeHistogram } from './scrape-histogram.js';

/** Names of the engine's metrics (arena, appends, flush, Tier 1, residency), by field; docs/metrics.md describes each. */
export const ENGINE_METRIC_NAMES = {
  appendedRecords: 'aof_appended_records_total',
  appendedBytes: 'aof_appended_bytes_total',
  streams: 'aof_streams',
  wouldBlock: 'aof_wouldblock_total',
  admissionSeconds: 'aof_tier0_admission_seconds',
  fsyncSeconds: 'aof_tier0_fsync_seconds',
  openSegmentFiles: 'aof_tier0_open_segment_files',
  openSegmentFilesBudget: 'aof_tier0_open_segment_files_budget',
  segmentFileReopens: 'aof_tier0_segment_file_reopens_total',
  readOnlyFollowers: 'aof_tier0_read_only_followers',
  windowPages: 'aof_tier0_window_pages',
  windowPagesBudget: 'aof_tier0_window_pages_budget',
  readerReservePages: 'aof_tier0_reader_reserve_pages',
  readRangePages: 'aof_tier0_read_range_pages',
  windowsCut: 'aof_tier0_windows_cut_total',
  windowRefusals: 'aof_tier0_window_refusals_total',
  queueDepth: 'aof_queue_depth',
  compressedSegments: 'aof_tier1_compressed_segments_total',
  compressInputBytes: 'aof_tier1_compress_input_bytes_total',
  compressOutputBytes: 'aof_tier1_compress_output_bytes_total',
  compressRetries: 'aof_tier1_compress_retries_total',
  compressFailures: 'aof_tier1_compress_failures_total',
  hydrationSeconds: 'aof_tier1_hydration_seconds',
  hydrateRetries: 'aof_tier1_hydrate_retries_total',
  hydrateFailures: 'aof_tier1_hydrate_failures_total',
  tier1ManifestAppendFailures: 'aof_tier1_manifest_append_failures_total',
  rawBacklogBytes: 'aof_tier1_raw_backlog_bytes',
  rawBacklogBudget: 'aof_tier1_raw_backlog_budget_bytes',
  compressionLevel: 'aof_tier1_compression_level',
  compressionLevelMax: 'aof_tier1_compression_level_max',
  compressThreads: 'aof_tier1_compress_threads',
  compressThreadsMax: 'aof_tier1_compress_threads_max',
  hydrateThreads: 'aof_tier1_hydrate_threads',
  hydrateThreadsMax: 'aof_tier1_hydrate_threads_max',
  badFooters: 'aof_recovery_bad_footers_total',
  segments: 'aof_segments',
  arenaSlots: 'aof_arena_slots',
  arenaUtilisation: 'aof_arena_utilisation_ratio',
} as const;

/** Slot states reported by `aof_arena_slots` (pinned overlaps them and is in stats() only). */
export const ARENA_SLOT_STATES = ['free', 'active', 'retiring', 'sealing', 'clean', 'hydrating', 'failed'] as const;

/** The flush worker's open segment files and the arena's budgets (`stats().tier0`). */
export interface Tier0Figures extends WindowBudgetFigures {
  /** Segment files the flush worker has open now (at most `maxOpenFiles`). */
  openSegmentFiles: number;
  /** `tier0.maxOpenFiles`. */
  maxOpenFiles: number;
  /** Files the budget had closed, reopened to be written, fsynced or sealed (wraps at 2^32). */
  segmentFileReopens: number;
  /**
   * Read-only processes following a stream of this root now (src/follower-presence.ts): while
   * there is one the flush worker's write delay is `tier0.followedWriteDelayMs`. 0 on a non-writer.
   */
  readOnlyFollowers: number;
  /** Bytes of an arena page, the unit of the page figures. */
  pageBytes: number;
}

/** What the exporter reads (a subset of ManagerStats). */
export interface EngineFigures {
  streams: number;
  appended: Record<string, { records: number; bytes: number }>;
  wouldBlock: Record<WouldBlockKindValue, number>;
  latency: { admission: HistogramSnapshot; fsync: HistogramSnapshot; hydration: HistogramSnapshot };
  queues: { flush: number; compress: number; upload: number; hydrate: number };
  tier0: Tier0Figures;
  segments: Record<string, Record<string, number>>;
  arena: Record<(typeof ARENA_SLOT_STATES)[number], number>;
  arenaUtilisation: number;
  tier1: {
    segmentsCompressed: number;
    rawBytesCompressed: number;
    compressedBytes: number;
    compressRetries: number;
    compressFailures: number;
    hydrateRetries: number;
    hydrateFailures: number;
    manifestAppendFailures: number;
    rawBacklogBytes: number;
    rawBacklogBudget: number;
    compressionLevel: number;
    compressionLevelMax: number;
    compressThreads: number;
    compressThreadsMax: number;
    hydrateThreads: number;
    hydrateThreadsMax: number;
  };
  /** Lazy footers found bad at first read (`stats().recovery.badFooters`). */
  recovery: { badFooters: number };
}

/** Calls `read` at most once per scrape (all collectors run in one synchronous pass). */
function oncePerScrape<T>(read: () => T): () => T {
  let cached: T | null = null;
  return () => {
    if (cached === null) {
      cached = read();
      queueMicrotask(() => {
        cached = null;
      });
    }
    return cached;
  };
}

/**
 * Registers the engine metrics on `registry`. Returns their names (the manager unregisters them
 * at close, so a registry can serve a manager reopened in the same process).
 * @throws Error from prom-client when a name is already registered (another open manager)
 */
export function registerEngineMetrics(registry: Registry, read: () => EngineFigures): string[] {
  const figures = oncePerScrape(read);
  const names: string[] = [];
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void): void => {
    names.push(name);
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void): void => {
    names.push(name);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  };
  const histogram = (name: string, help: string, pick: (f: EngineFigures) => HistogramSnapshot): void => {
    names.push(name);
    new ScrapeHistogram(name, help, () => pick(figures())).register(registry);
  };
  const N = ENGINE_METRIC_NAMES;
  counter(N.appendedRecords, 'Records appended per stream since the manager opened it', ['stream'], (c) => {
    for (const [stream, s] of Object.entries(figures().appended)) c.inc({ stream }, s.records);
  });
  counter(N.appendedBytes, 'Payload bytes appended per stream since the manager opened it', ['stream'], (c) => {
    for (const [stream, s] of Object.entries(figures().appended)) c.inc({ stream }, s.bytes);
  });
  gauge(N.streams, 'Streams open in this manager', [], (g) => g.set(figures().streams));
  counter(N.wouldBlock, 'WouldBlock occurrences by kind: sync throws plus async calls that had to wait', ['kind'], (c) => {
    for (const [kind, n] of Object.entries(figures().wouldBlock)) c.inc({ kind }, n);
  });
  histogram(N.admissionSeconds, 'Append admission latency in seconds (sampled: 1 append in metrics.admissionSampleEvery)', (f) => f.latency.admission);
  histogram(N.fsyncSeconds, 'Duration of the flush worker data fsyncs in seconds', (f) => f.latency.fsync);
  gauge(N.openSegmentFiles, 'Segment files the flush worker has open (at most tier0.maxOpenFiles)', [], (g) => g.set(figures().tier0.openSegmentFiles));
  gauge(N.openSegmentFilesBudget, 'Budget of open segment files (tier0.maxOpenFiles); past it the least recently written are closed', [], (g) =>
    g.set(figures().tier0.maxOpenFiles),
  );
  counter(N.segmentFileReopens, 'Segment files the open-file budget had closed, reopened to be written, fsynced or sealed', [], (c) =>
    c.inc(figures().tier0.segmentFileReopens),
  );
  gauge(N.readOnlyFollowers, 'Read-only processes following a stream of this root (the write delay is then tier0.followedWriteDelayMs)', [], (g) =>
    g.set(figures().tier0.readOnlyFollowers),
  );
  gauge(N.windowPages, 'Arena pages held by write windows (active, retiring or sealing runs)', [], (g) => g.set(figures().tier0.windowPages));
  gauge(N.windowPagesBudget, 'Cap on aof_tier0_window_pages: the arena pages less the reader reserve', [], (g) => g.set(figures().tier0.windowPagesBudget));
  gauge(N.readerReservePages, 'Arena pages write windows may not take (tier0.readerReserveBytes)', [], (g) => g.set(figures().tier0.readerReservePages));
  gauge(N.readRangePages, 'Arena pages of runs loaded for readers (raw chunks, Tier 1 frames), loading or loaded', [], (g) =>
    g.set(figures().tier0.readRangePages),
  );
  counter(N.windowsCut, 'Write windows handed out smaller than the stream asked (window budget or no block of that size)', [], (c) =>
    c.inc(figures().tier0.windowsCut),
  );
  counter(N.windowRefusals, 'Write windows refused because the window budget had no room even for the record (the writer waited)', [], (c) =>
    c.inc(figures().tier0.windowRefusals),
  );
  gauge(N.queueDepth, 'Work waiting or running per queue (flush: slots with unwritten bytes or sealing)', ['queue'], (g) => {
    for (const [queue, n] of Object.entries(figures().queues)) g.set({ queue }, n);
  });
  const t1 = (name: string, help: string, pick: (t: EngineFigures['tier1']) => number): void =>
    counter(name, help, [], (c) => c.inc(pick(figures().tier1)));
  t1(N.compressedSegments, 'Segments compressed into Tier 1 files', (t) => t.segmentsCompressed);
  t1(N.compressInputBytes, 'Raw segment bytes compressed', (t) => t.rawBytesCompressed);
  t1(N.compressOutputBytes, 'Bytes of the Tier 1 files compression produced', (t) => t.compressedBytes);
  t1(N.compressRetries, 'Compression attempts that failed and were retried', (t) => t.compressRetries);
  t1(N.compressFailures, 'Segments whose compression was given up (they stay raw)', (t) => t.compressFailures);
  histogram(N.hydrationSeconds, 'Tier 1 frame hydration latency in seconds (request to frame resident, retries included)', (f) => f.latency.hydration);
  t1(N.hydrateRetries, 'Frame hydration attempts that failed and were retried', (t) => t.hydrateRetries);
  t1(N.hydrateFailures, 'Frame hydrations given up (readers get the error)', (t) => t.hydrateFailures);
  t1(N.tier1ManifestAppendFailures, 'COMPRESSION_STARTED/FAILED records that could not be appended (the next open re-derives them)', (t) => t.manifestAppendFailures);
  const t1Gauge = (name: string, help: string, pick: (t: EngineFigures['tier1']) => number): void =>
    gauge(name, help, [], (g) => g.set(pick(figures().tier1)));
  t1Gauge(N.rawBacklogBytes, 'Raw bytes of sealed segments waiting for compression (local disk)', (t) => t.rawBacklogBytes);
  t1Gauge(N.rawBacklogBudget, 'Budget of that raw backlog (tier1.rawBacklogBytes); past it writers wait (WouldBlock compression)', (t) => t.rawBacklogBudget);
  t1Gauge(N.compressionLevel, 'zstd level the next compression uses (lowered while compression is behind)', (t) => t.compressionLevel);
  t1Gauge(N.compressionLevelMax, 'Configured zstd level (tier1.compressionLevel), the ceiling of aof_tier1_compression_level', (t) => t.compressionLevelMax);
  t1Gauge(N.compressThreads, 'Compressions allowed to run at once (widened while compression is behind and a core is idle)', (t) => t.compressThreads);
  t1Gauge(N.compressThreadsMax, 'The widest the compression pool gets (the machine\'s cores), the ceiling of aof_tier1_compress_threads', (t) => t.compressThreadsMax);
  t1Gauge(N.hydrateThreads, 'Threads of the frame hydration pool now (grown while fetches queue, ended after 1 s idle)', (t) => t.hydrateThreads);
  t1Gauge(N.hydrateThreadsMax, 'The most the hydration pool grows to (tier1.hydrateMaxThreads), the ceiling of aof_tier1_hydrate_threads', (t) => t.hydrateThreadsMax);
  counter(N.badFooters, 'Sealed segments trusted from the manifest catalog at open whose file did not agree with it at the first read (reads of them fail)', [], (c) =>
    c.inc(figures().recovery.badFooters),
  );
  gauge(N.segments, 'Segments of the open streams by tier (raw, tier1, tier2, missing) and state (active, resident, cold)', ['tier', 'state'], (g) => {
    for (const [tier, states] of Object.entries(figures().segments)) {
      for (const [state, n] of Object.entries(states)) g.set({ tier, state }, n);
    }
  });
  gauge(N.arenaSlots, 'Arena slots by state', ['state'], (g) => {
    const arena = figures().arena;
    for (const state of ARENA_SLOT_STATES) g.set({ state }, arena[state]);
  });
  gauge(N.arenaUtilisation, 'Fraction of arena slots not reusable now (active, sealing, hydrating, failed, or pinned)', [], (g) =>
    g.set(figures().arenaUtilisation),
  );
  return names;
}
