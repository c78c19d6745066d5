/**
 * The `stats()` snapshot of a manager that does not write: the read-only manager and the follower
 * (src/read-only/read-only-manager.ts, follower-manager.ts). Both run the same parts (an arena of
 * their own, a coordinator, the read path) and nothing of the writer's, so one function builds
 * their snapshot: zeros for what only a writer does (appends, flushes, compression, upload,
 * retention, recovery scans), the read path's figures for the rest. Each manager adds only its own
 * section (`readOnly` or `follower`), which keeps the two from drifting apart field by field.
 */
import type { Arena } from '../arena/arena.js';
import { G_OPEN_SEGMENT_FILES, G_SEGMENT_FILE_REOPENS } from '../arena/layout.js';
import { fsyncHistogramView, readFsyncHistogram } from '../arena/fsync-histogram.js';
import type { ResolvedConfig } from '../config.js';
import type { FollowerStats, ManagerStats, ReadOnlyStats } from '../manager.js';
import type { ReplayReport } from '../manifest/manifest-log.js';
import type { EngineCounters } from '../metrics/engine-counters.js';
import { arenaUtilisation, segmentCounts } from '../metrics/residency.js';
import type { ReadPath } from '../read/read-path.js';
import type { Tier1Stats } from '../tier1/tier1.js';
import type { ReadOnlyLog } from './read-only-log.js';

/** The parts of a non-writing manager its snapshot reads, fixed for the manager's life. */
export interface NonWriterParts {
  readonly config: ResolvedConfig;
  readonly arena: Arena;
  readonly read: ReadPath;
  readonly counters: EngineCounters;
}

/** What changes between snapshots, and the manager's own section. */
export interface NonWriterView {
  /** The opened streams' logs. */
  readonly logs: readonly ReadOnlyLog[];
  /** What the last manifest replay found. */
  readonly manifest: ReplayReport;
  /** `tier1.lastError`: the read path's latest failure, else Tier 2's, else null. */
  readonly readError: string | null;
  /** The read-only manager's section (null on a follower). */
  readonly readOnly: ReadOnlyStats | null;
  /** The follower's section (null on a read-only manager). */
  readonly follower: FollowerStats | null;
}

/** Builds the `stats()` snapshots of one read-only manager or follower. */
export class NonWriterStats {
  readonly #parts: NonWriterParts;
  readonly #fsyncHistogram: BigInt64Array;

  constructor(parts: NonWriterParts) {
    this.#parts = parts;
    this.#fsyncHistogram = fsyncHistogramView(parts.arena.sab);
  }

  /** A snapshot (see ManagerStats: zeros for what only a writer does). */
  snapshot(view: NonWriterView): ManagerStats {
    const { config, arena, read, counters } = this.#parts;
    const { logs } = view;
    const reads = read.stats();
    const occupancy = arena.occupancy();
    const tier1: Tier1Stats = {
      segmentsSealed: 0,
      segmentsCompressed: 0,
      rawBytesCompressed: 0,
      compressedBytes: 0,
      compressRetries: 0,
      compressFailures: 0,
      compressQueue: 0,
      rawBacklogBytes: 0,
      rawBacklogBudget: 0,
      rawPendingBytes: 0,
      compressionLevel: 0,
      compressionLevelMax: 0,
      compressThreads: 0,
      compressThreadsMax: 0,
      codec: config.tier1.codec,
      compressedFromFile: 0,
      manifestAppendFailures: 0,
      ...reads,
      lastError: view.readError,
    };
    const footers = read.footerStats();
    return {
      streams: logs.length,
      slots: arena.slotCount,
      segmentBytes: arena.segmentBytes,
      arena: occupancy,
      openSegments: 0,
      tier0: {
        openSegmentFiles: Atomics.load(arena.ctrl, G_OPEN_SEGMENT_FILES),
        maxOpenFiles: 0,
        segmentFileReopens: Atomics.load(arena.ctrl, G_SEGMENT_FILE_REOPENS) >>> 0,
        readOnlyFollowers: 0,
        ...arena.budgets(),
      },
      flushWorker: 'none',
      prefault: { doneBytes: 0, totalBytes: 0 },
      recovery: {
        trustedSegments: 0,
        resumedSegments: 0,
        deferredFooters: 0,
        footersChecked: footers.footersChecked,
        badFooters: footers.badFooters,
        scannedSegments: 0,
        scannedBytes: 0,
        trimmedBytes: 0,
        removedFiles: 0,
        missingSegments: 0,
        staleObjectsDeleted: 0,
      },
      manifest: { ...view.manifest },
      tier1,
      tier2: null,
      restoredManifestFiles: 0,
      retention: { expiredSegments: 0, expiredRecords: 0, deletedObjects: 0, lastError: null },
      failure: null,
      appended: Object.fromEntries(logs.map((log) => [log.name, { records: 0, bytes: 0 }])),
      wouldBlock: counters.wouldBlockByKind(),
      latency: {
        admission: counters.admission.snapshot(),
        fsync: readFsyncHistogram(this.#fsyncHistogram),
        hydration: counters.hydration.snapshot(),
      },
      queues: { flush: 0, compress: 0, upload: 0, hydrate: reads.hydrateQueue + occupancy.hydrating },
      segments: segmentCounts(logs),
      arenaUtilisation: arenaUtilisation(arena),
      readOnly: view.readOnly,
      follower: view.follower,
    };
  }
}
