/**
 * The writer's manager (behind the public `AofManager` facade, src/aof-manager.ts, which opens it
 * unless the options ask for `readOnly`): owns a root directory, the Tier 0 arena shared by all its streams, the flush worker,
 * the coordinator, Tier 1 and Tier 2. `open` validates options, locks the root, restores the
 * manifest from Tier 2 when the root is empty (a rebuild), replays it and starts the workers;
 * `openStream` recovers a stream's segments before admitting appends (continuing the segment the
 * last close left open); retention runs on a timer; `close` drains, seals (with Tier 2: without
 * one, each stream's tail stays open for the next session), uploads what the store accepts and
 * stops everything.
 */
import { readdir, realpath, unlink } from 'node:fs/promises';
import { makeDirectory } from './make-directory.js';
import { join } from 'node:path';
import { Arena, type ArenaOccupancy } from './arena/arena.js';
import { G_OPEN_SEGMENT_FILES, G_SEGMENT_FILE_REOPENS, SlotState } from './arena/layout.js';
import {
  DEFAULTS,
  resolveFlushSyncTimeout,
  resolveStreamOptions,
  type ResolvedConfig,
  type StreamOptions,
} from './config.js';
import { BackgroundWork } from './background.js';
import { registerExitDrain } from './exit-drain.js';
import { Coordinator } from './coordinator/coordinator.js';
import { AofError, ErrorCode } from './errors.js';
import { ShareHost, shareHandleOf, type ShareHandle } from './share/share-host.js';
import { LogCore, logCore, logFacade, type AofLog, type LogContext } from './log.js';
import { RootLock } from './root-lock.js';
import { ensureDirectory } from './safe-fs.js';
import { isValidStreamName, validateStreamName } from './stream-name.js';
import { Flusher } from './tier0/flusher.js';
import { recoverStream, type RecoveredStream, type RecoveryReport } from './tier0/recovery.js';
import { Tier1, type Tier1Stats } from './tier1/tier1.js';
import { fixedIdleCores } from './tier1/idle-cores.js';
import { ManifestLog, type ReplayReport } from './manifest/manifest-log.js';
import type { Catalog } from './manifest/catalog.js';
import { Registry } from 'prom-client';
import { ManifestRecordType } from './format/manifest.js';
import { expiredCount, type RetentionOptions } from './retention.js';
import { Segment, SegmentEventType, SegmentTier } from './tier0/segment.js';
import type { ManifestReplica } from './tier2/manifest-replica.js';
import { ReadPath } from './read/read-path.js';
import { PresenceListener } from './follower-presence.js';
import { tier1Source } from './tier1/local-source.js';
import { openObjectStore, type ObjectStore } from './tier2/object-store.js';
import { MANIFEST_DIR, STREAMS_DIR, parseSegmentKey, streamDir, streamPrefix } from './format/root-layout.js';
import { adoptUploadedObjects, restoreManifest } from './tier2/rebuild.js';
import { Tier2, type Tier2Stats } from './tier2/tier2.js';
import { registerTier2Metrics } from './metrics/tier2-metrics.js';
import { registerEngineMetrics, type EngineFigures, type Tier0Figures } from './metrics/engine-metrics.js';
import { EngineCounters } from './metrics/engine-counters.js';
import { fsyncHistogramView, readFsyncHistogram } from './arena/fsync-histogram.js';
import { arenaUtilisation, flushBacklog, segmentCounts, type SegmentCounts } from './metrics/residency.js';
import { EngineEvents } from './events.js';
import type { WouldBlockKindValue } from './errors.js';
import type { HistogramSnapshot } from './metrics/latency-histogram.js';
import { FAILPOINTS_ENV, FAILPOINTS_SEED_ENV, parseFailpoints, type FailpointConfig } from '../workers/failpoints.js';
import { prefaultDone, prefaultNext, prefaultProgress } from './arena/prefault.js';

/**
 * While `open()` faults the arena in on the main thread (`prefault: 'open'`), it lets the event
 * loop run this often: the user's other I/O waits at most this long (and one chunk more).
 */
const PREFAULT_SLICE_MS = 4;
/**
 * `prefault: 'open'`: how long `open()` faults the arena in (main thread and flush worker in
 * parallel) before it resolves and leaves the rest to the flush worker. Enough for a default
 * 128 MiB arena on an idle 2-core VM (about 45 ms at 2.6 µs a page fault); under load, the
 * lowest slots (the ones the first appends take) come first.
 */
const PREFAULT_OPEN_BUDGET_MS = 100;


/** Plain snapshot of what the manager is doing (`manager.stats()`). */
export interface ManagerStats {
  streams: number;
  slots: number;
  segmentBytes: number;
  /** Arena runs per state, plus the pinned and held ones (docs/metrics.md). */
  arena: ArenaOccupancy;
  /**
   * Segments the flush worker has open (active, parked, or sealing): entries of the shared segment
   * table in use, of MAX_OPEN_SEGMENTS (65,536); past that, new segments wait (WouldBlock `admission`).
   */
  openSegments: number;
  /**
   * The flush worker's open segment files against their budget (`tier0.maxOpenFiles`), and how
   * many times a file the budget had closed was reopened (a fast-growing count: the streams
   * written in turn outnumber the budget; docs/operations.md, "Sizing by number of streams").
   * The arena's split, in pages of `pageBytes`: pages held by write windows (`windowPages`)
   * against their cap (`windowPagesBudget`, the arena less `readerReservePages`), pages of
   * readers' loads (`readRangePages`), and windows the budget cut or refused (docs/metrics.md).
   */
  tier0: Tier0Figures;
    /** The flush worker's state word: `openStream()` resolves once it is 'running' (warm start). */
  flushWorker: 'starting' | 'running' | 'stopped' | 'failed' | 'none';
  /**
   * How far the arena has been faulted in ahead of the writer (`tier0.prefault`): bytes of slot
   * data passed over (faulted in, or skipped because their slot was in use) out of `totalBytes`.
   */
  prefault: { doneBytes: number; totalBytes: number };
  /**
   * What the recovery of the opened streams did. `trustedSegments`: sealed segments taken without
   * reading their records; of them `deferredFooters`: raw segment files the manifest catalog
   * records as sealed, taken from the catalog without being opened (flat recovery), each checked
   * against it at its first read: `footersChecked` agreed, `badFooters` did not (reads of that
   * segment fail with AOF_ERR_CORRUPT; `aof_recovery_bad_footers_total`). `resumedSegments`:
   * streams whose last segment was continued (the tail a clean close without Tier 2 left open, or
   * a crash's scanned tail) instead of starting a new segment; a part of `trustedSegments` or
   * `scannedSegments`.
   */
  recovery: {
    trustedSegments: number;
    resumedSegments: number;
    deferredFooters: number;
    footersChecked: number;
    badFooters: number;
    scannedSegments: number;
    scannedBytes: number;
    trimmedBytes: number;
    removedFiles: number;
    missingSegments: number;
    /** Tier 2 objects past a gap deleted by a rebuild (the loss window's remnants). */
    staleObjectsDeleted: number;
  };
  /** What replaying the manifest log found when the manager opened. */
  manifest: ReplayReport;
  tier1: Tier1Stats;
  /** null without Tier 2 (`tier2: { kind: 'none' }`). */
  tier2: (Tier2Stats & { manifestSyncs: number; manifestUploads: number; manifestLastError: string | null }) | null;
  /** Manifest files restored from Tier 2 when the root was opened empty (0: not a rebuild). */
  restoredManifestFiles: number;
  retention: { expiredSegments: number; expiredRecords: number; deletedObjects: number; lastError: string | null };
  failure: string | null;
  // The figures below are what the engine metrics export (docs/metrics.md), value for value.
  /** Per open stream: records and payload bytes appended since it was opened. */
  appended: Record<string, { records: number; bytes: number }>;
  /** WouldBlock occurrences by kind (sync throws plus async calls that waited). */
  wouldBlock: Record<WouldBlockKindValue, number>;
  /** Latency histograms: sampled admission, flush-worker fsyncs, Tier 1 frame hydrations. */
  latency: { admission: HistogramSnapshot; fsync: HistogramSnapshot; hydration: HistogramSnapshot };
  /** Queue depths: flush (slots with unwritten bytes, sealing or retiring), compress, upload, hydrate. */
  queues: { flush: number; compress: number; upload: number; hydrate: number };
  /** Segments of the open streams by tier and residency state. */
  segments: SegmentCounts;
  /** Fraction of arena slots not reusable right now. */
  arenaUtilisation: number;
  /** How a read-only manager follows the writer (null on the writer). */
  readOnly: ReadOnlyStats | null;
  /** How a follower follows the writer's bucket, and how far behind it is (null unless `follower`). */
  follower: FollowerStats | null;
}

/**
 * What a follower did to follow the writer's bucket, and its lag (`stats().follower`;
 * docs/metrics.md, docs/read-path.md "Followers from the bucket").
 */
export interface FollowerStats {
  /** The poll interval (`follower.pollMs`). */
  pollMs: number;
  /** Polls run (each one LIST of `manifest/`): the interval, `refresh()`, or a reader that found an object gone. */
  polls: number;
  /** Manifest objects fetched (one GET each): only those whose ETag changed since the last look. */
  manifestGets: number;
  /** Polls that found the manifest objects changed and replayed them. */
  manifestReplays: number;
  /** When a poll last found the manifest objects changed (ms since the epoch), or null. */
  lastChangeAt: number | null;
  /** When the last poll that reached the bucket ended (ms since the epoch), or null. */
  lastPollAt: number | null;
  /** The latest poll failure as `CODE: message`, or null; polls go on after one. */
  lastError: string | null;
  /** Per opened stream: how far behind the writer the follower is, as far as it can know. */
  streams: Record<string, FollowerLag>;
}

/** How far a follower's stream is behind its writer (`stats().follower.streams[name]`). */
export interface FollowerLag {
  /** Id one past the last record the follower can read (`log.nextId`). */
  nextId: number;
  /**
   * Seconds from the newest record the follower can read (its last uploaded segment's
   * `maxTimestamp`, whole seconds as the manifest keeps them) to now; null while it shows no
   * segment. An upper bound of the lag while the writer appends; it also grows while the writer
   * is idle, when nothing is missing.
   */
  lagSeconds: number | null;
  /**
   * Records the writer's replicated manifest records as sealed that are not in the bucket yet
   * (compressing or uploading): what the follower knows it lacks. The writer's unsealed segment
   * is not in the manifest and not counted.
   */
  recordsNotUploaded: number;
}

/**
 * What a read-only manager did to follow the writer (`stats().readOnly`; docs/metrics.md). The
 * rest of its `stats()` reports its reads (arena, hydrations, segments of its streams) and zeros
 * for what only a writer does (appends, flushes, compression, uploads, retention).
 */
export interface ReadOnlyStats {
  /** The safety-net interval (`readOnly.refreshMs`). */
  refreshMs: number;
  /**
   * Refreshes run: after an `fs.watch` wake-up, the interval, `manager.refresh()` or a file found
   * gone under a reader. Each covers every change made before it started; wake-ups that arrive
   * while one runs share the next.
   */
  refreshes: number;
  /** Refreshes that found the manifest directory changed and replayed it. */
  manifestReplays: number;
  /** Bytes of the writer's unsealed segment files read and checked frame by frame. */
  tailBytesScanned: number;
  /**
   * Of those, bytes put straight into the arena for readers at the tail (`readOnly.publishTail`),
   * which then read them without loading them again.
   */
  tailBytesPublished: number;
  /**
   * Whether refreshes read the writer's new bytes synchronously on the main thread
   * (`readOnly.syncTailReads`; by default on a local file system) or through the libuv pool.
   */
  syncTailReads: boolean;
  /**
   * Whether the writer counts this manager as a follower (src/follower-presence.ts): once a reader
   * waited at a stream's tail, the manager holds a connection to the writer, which then writes each
   * append at once (`tier0.followedWriteDelayMs`). False before, without a writer, or off Linux.
   */
  announced: boolean;
  /** Directories watched with `fs.watch`: the manifest's and each opened stream's. */
  watchedDirectories: number;
  /** Watches that could not be set up (inotify limits): there, changes are seen at the next interval. */
  watchFailures: number;
  /** The latest refresh failure as `CODE: message`, or null; refreshes go on after one. */
  lastError: string | null;
}

/** What `open` prepares before the manager exists. */
interface Opened {
  manifest: Awaited<ReturnType<typeof ManifestLog.open>>;
  store: ObjectStore | null;
  restoredManifestFiles: number;
  /** AOF2_FAILPOINTS as parsed at open (null: off); the main thread reads `compress.idlecores` from it. */
  failpoints: FailpointConfig | null;
}

/**
 * The writing engine for one root directory: the Tier 0 arena shared by all its streams, the flush
 * worker, Tier 1 compression, Tier 2 uploads, the manifest and retention. `AofManager.open(options)`
 * opens one (without `readOnly`) behind the public facade, which delegates every call here.
 */
export class WriterManager {
  readonly #config: ResolvedConfig;
  readonly #registry: Registry;
  readonly #counters: EngineCounters;
  readonly #events: EngineEvents;
  readonly #fsyncHistogram: BigInt64Array;
  /** Metric names this manager registered (removed from the registry at close). */
  readonly #metricNames: string[] = [];
  readonly #lock: RootLock;
  readonly #manifest: ManifestLog;
  readonly #catalog: Catalog;
  readonly #replay: ReplayReport;
  readonly #tier1: Tier1;
  readonly #tier2: Tier2 | null;
  /** The one owner of bringing data back into the arena (src/read/read-path.ts). */
  readonly #read: ReadPath;
  readonly #replica: ManifestReplica | null;
  readonly #restoredManifestFiles: number;
  readonly #retention = { expiredSegments: 0, expiredRecords: 0, deletedObjects: 0, lastError: null as string | null };
  readonly #retentionPolicy = new Map<LogCore, RetentionOptions>();
  /** Streams whose Tier 2 objects below the retention floor were swept since open. */
  readonly #swept = new Set<string>();
  #retentionTimer: NodeJS.Timeout | null = null;
  /** The retention run under way (one at a time: the timer and callers share it). */
  #retentionRun: Promise<void> | null = null;
  /** The manager's own background work (retention runs); close() drains it after stopping the timer. */
  readonly #background = new BackgroundWork();
  readonly #arena: Arena;
  readonly #flusher: Flusher;
  readonly #coordinator: Coordinator;
  /** The public handles users get (facades); the engine works on their cores (#logs). */
  readonly #streams = new Map<string, Promise<AofLog>>();
  /** Counts read-only processes following this root (null: no channel here; src/follower-presence.ts). */
  #presence: PresenceListener | null = null;
  /** Answers views attached from worker threads; made by the first shareHandle(). */
  #share: ShareHost | null = null;
  readonly #logs = new Set<LogCore>();
  readonly #ctx: LogContext;
  readonly #recovery = {
    trustedSegments: 0,
    resumedSegments: 0,
    deferredFooters: 0,
    scannedSegments: 0,
    scannedBytes: 0,
    trimmedBytes: 0,
    removedFiles: 0,
    missingSegments: 0,
    staleObjectsDeleted: 0,
  };
  #clock = 0;
  /** The hydrate pool's warm-up was started (at most once per manager). */
  #warmed = false;
  #closing: Promise<void> | null = null;
  /** close() has finished (flushSync then throws AOF_ERR_CLOSED; until then it still drains). */
  #closed = false;
  #failure: AofError | null = null;
  readonly #unregisterExitDrain: () => void;

  private constructor(config: ResolvedConfig, lock: RootLock, registry: Registry, { manifest: opened, store, restoredManifestFiles, failpoints }: Opened) {
    this.#config = config;
    this.#registry = registry;
    this.#lock = lock;
    this.#manifest = opened.manifest;
    this.#catalog = opened.catalog;
    this.#replay = opened.report;
    this.#restoredManifestFiles = restoredManifestFiles;
    this.#arena = new Arena(config.slotCount, config.segmentBytes, config.readerReserveBytes);
    this.#fsyncHistogram = fsyncHistogramView(this.#arena.sab);
    this.#counters = new EngineCounters(config.metrics.admissionSampleEvery);
    this.#events = new EngineEvents(config.logger);
    this.#coordinator = new Coordinator(this.#arena.ctrl);
    this.#flusher = new Flusher(this.#arena, config, (err, slot) => this.#onFlushFailure(err, slot));
    // Wired through constructors, upwards only: Tier 2 first (it needs nothing of Tier 1), then
    // Tier 1 with Tier 2's upload queue as its `onCompressed` port, then the read path with both
    // as its sources. No component gets a collaborator assigned after construction.
    const tier2 =
      store !== null && config.tier2.kind !== 'none'
        ? new Tier2({
            store,
            storeConfig: config.tier2,
            manifest: this.#manifest,
            manifestDir: join(config.root, MANIFEST_DIR),
            coordinator: this.#coordinator,
            config,
            events: this.#events,
          })
        : null;
    this.#tier2 = tier2;
    this.#replica = tier2?.replica ?? null;
    const tier1 = new Tier1({
      arena: this.#arena,
      coordinator: this.#coordinator,
      manifest: this.#manifest,
      config,
      events: this.#events,
      ...(tier2 !== null && { onCompressed: (stream: string, seg: Segment) => tier2.enqueueUpload(stream, seg) }),
      // Measured from os.cpus() unless a test injects the reading (workers/failpoints.ts).
      ...(failpoints?.idleCores != null && { idleCores: fixedIdleCores(failpoints.idleCores) }),
    });
    this.#tier1 = tier1;
    this.#read = new ReadPath({
      arena: this.#arena,
      coordinator: this.#coordinator,
      config,
      events: this.#events,
      counters: this.#counters,
      local: tier1Source,
      remote: tier2,
      relievePressure: () => this.#relievePressure(null),
      // One lastError for both Tier 1 pools, as before the split (the chaos suites sample it).
      noteError: (message) => tier1.noteError(message),
    });
    this.#metricNames.push(...registerEngineMetrics(registry, () => this.#engineFigures()));
    if (tier2 !== null) this.#metricNames.push(...registerTier2Metrics(registry, () => tier2.stats(), () => tier1.rawPendingBytes));
    this.#ctx = {
      arena: this.#arena,
      flusher: this.#flusher,
      coordinator: this.#coordinator,
      config,
      relievePressure: (requester) => this.#relievePressure(requester),
      tick: () => ++this.#clock,
      tier1,
      read: this.#read,
      // Local data not in Tier 2 yet: compressed files waiting for upload plus raw segments waiting
      // for compression (the writer outruns the compressor, so raw files count too).
      // While closing, appends already queued go through: close must not wait on a dead store, and
      // what they add is bounded by what was queued (the next open uploads it).
      tier2Blocked: tier2 === null ? () => false : () => this.#closing === null && tier2.blockedWith(this.#tier1.rawPendingBytes),
      counters: this.#counters,
      // With Tier 2, close ships each stream's tail (sealed, compressed, uploaded); without one it
      // leaves the tail open and the next open continues it (docs/decisions.md).
      sealOnClose: tier2 !== null,
    };
    if (config.retentionCheckMs > 0) {
      // Not once close() began: enforceRetention throws AOF_ERR_CLOSED synchronously then, which
      // the .catch would not see (an uncaught exception when a slow close outlasts the interval).
      this.#retentionTimer = setInterval(() => {
        if (this.#closing === null) void this.enforceRetention().catch(() => undefined);
      }, config.retentionCheckMs);
      this.#retentionTimer.unref();
    }
    // Last, once nothing above can throw: a manager that failed to construct must not stay listed.
    this.#unregisterExitDrain = registerExitDrain({ drainForExit: (event) => this.#drainForExit(event) }, config.flushOnExit);
  }

  /** The options as resolved; `root` is the real path of the root (a symlinked root resolved at open). */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** prom-client registry holding this manager's metrics (`metrics.registry`, or a private one). */
  get registry(): Registry {
    return this.#registry;
  }

  /**
   * Opens (creating if needed) the root and starts the engine.
   * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_LOCKED, AOF_ERR_IO,
   *   AOF_ERR_UNSUPPORTED_PLATFORM, AOF_ERR_WORKER_FAILED (under `tier0.prefault: 'open'` only: the flush
   *   worker failed before it ran; otherwise openStream() reports that)
   */
  static async open(requested: ResolvedConfig): Promise<WriterManager> {
    // A malformed AOF2_FAILPOINTS fails here, once and clearly, rather than in every pool task.
    const failpoints = parseFailpoints(process.env[FAILPOINTS_ENV], process.env[FAILPOINTS_SEED_ENV]);
    let config: ResolvedConfig;
    try {
      await makeDirectory(requested.root); // EROFS reported as EROFS, not ENOENT
      // The root may be a symlink (the user's choice): resolved once here, so `config.root` is the
      // real directory and everything below it is held to the rule of src/safe-fs.ts.
      config = { ...requested, root: await realpath(requested.root) };
      await ensureDirectory(join(config.root, STREAMS_DIR));
      await ensureDirectory(join(config.root, MANIFEST_DIR));
    } catch (err) {
      throw err instanceof AofError ? err : AofError.io('create root', requested.root, err);
    }
    const lock = RootLock.acquire(config.root);
    let store: ObjectStore | null = null;
    let manager: WriterManager;
    try {
      const manifestDir = join(config.root, MANIFEST_DIR);
      let restoredManifestFiles = 0;
      if (config.tier2.kind !== 'none') {
        store = await openObjectStore(config.tier2);
        // An empty root beside a bucket that holds a manifest: a new machine rebuilding. A root
        // that still has stream files but lost its manifest is local damage instead, which
        // recovery reconciles from the files; restoring an older manifest over them would not.
        const local = await readdir(join(config.root, STREAMS_DIR));
        if (local.length === 0) restoredManifestFiles = await restoreManifest(manifestDir, store);
      }
      // The catalog is rebuilt before any stream can be opened, so before any append is admitted.
      const registry = config.metrics.registry ?? new Registry();
      checkRegistryFree(registry);
      const manifest = await ManifestLog.open({ dir: manifestDir, registry });
      try {
        manager = new WriterManager(config, lock, registry, { manifest, store, restoredManifestFiles, failpoints });
      } catch (err) {
        await manifest.manifest.close();
        throw err;
      }
    } catch (err) {
      await store?.close().catch(() => undefined);
      lock.release();
      throw err;
    }
    try {
      manager.#presence = await PresenceListener.start(
        config.root,
        (followers) => manager.#flusher.followed(followers > 0),
        (err) => manager.#events.presenceRefused(config.root, err),
      );
      await manager.#start();
    } catch (err) {
      // close() owns every teardown from here (the worker, the pools, the manifest, the lock).
      await manager.close().catch(() => undefined);
      throw err;
    }
    return manager;
  }

  /**
   * Warm start (issue 12), without holding `open()` up: the flush worker was started by the
   * constructor and comes up (40-90 ms of thread start-up on the project's VMs) while the caller
   * goes on; `openStream()` waits for it after its recovery, so the first durable append still
   * costs what the hundredth does, and a stream's recovery overlaps the worker's start. Once the
   * worker runs, and when there is stored data to read, a hydrate thread is warmed (started, the
   * codec loaded) in the background: only the first cold read needs it, and starting it beside the
   * flush worker made both start slower on 2 cores. Both are tracked, so close() waits for them.
   * Under `tier0.prefault: 'open'` (not the default), `open()` does wait for the flush worker, then
   * faults the arena in beside it (src/arena/prefault.ts), lowest slots first, in slices between
   * which the event loop runs, until all of it is or PREFAULT_OPEN_BUDGET_MS have passed; the flush
   * worker does the rest in the background. (Nothing is faulted while the worker starts: measured,
   * that made its start 20-140 ms slower on 2 busy cores, more than it saved.)
   * @throws AOF_ERR_WORKER_FAILED under `prefault: 'open'`, if the flush worker fails before it runs
   */
  async #start(): Promise<void> {
    const ready = this.#flusher.ready();
    // A worker that fails to start is reported by the flusher (onFailure) and thrown by openStream().
    ready.catch(() => undefined);
    if (this.#catalog.segmentCount > 0) this.#warmHydrate();
    if (this.#config.prefault !== 'open') return;
    await ready;
    const arena = this.#arena;
    const deadline = performance.now() + PREFAULT_OPEN_BUDGET_MS;
    let sliceEnd = performance.now() + PREFAULT_SLICE_MS;
    let claimed = true;
    while (performance.now() < deadline && (claimed = prefaultNext(arena.ctrl, arena.u8, arena))) {
      if (performance.now() >= sliceEnd) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + PREFAULT_SLICE_MS;
      }
    }
    // Every chunk is claimed: the flush worker may still be in its last one (8 page faults).
    while (!claimed && !prefaultDone(arena.ctrl, arena) && performance.now() < deadline) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Warms a hydrate thread (started, the codec loaded) once the flush worker runs, in the
   * background, once per manager: when the root holds data to read (the catalog records segments,
   * or a stream's open tail was continued).
   */
  #warmHydrate(): void {
    if (this.#warmed) return;
    this.#warmed = true;
    // A worker that fails to start is reported by the flusher (onFailure) and thrown by openStream().
    void this.#background.track(
      this.#flusher.ready().then(
        () => (this.#closing === null ? this.#read.warm() : undefined),
        () => undefined,
      ),
    );
  }

  /**
   * Opens a stream by name, creating it if needed. Recovery of its files (trusting sealed footers,
   * scanning and trimming an unsealed tail) completes before the returned log accepts appends,
   * and the log is returned once the flush worker runs (warm start: see #start).
   * Opening the same name twice returns the same log.
   * @throws AOF_ERR_INVALID_STREAM_NAME, AOF_ERR_CLOSED, AOF_ERR_CORRUPT, AOF_ERR_IO,
   *   AOF_ERR_WORKER_FAILED (the flush worker failed before it ran)
   */
  openStream(name: string, options?: StreamOptions): Promise<AofLog> {
    let retention: RetentionOptions;
    try {
      this.#checkOpen();
      validateStreamName(name);
      retention = resolveStreamOptions(options, this.config.retention).retention;
    } catch (err) {
      return Promise.reject(err);
    }
    let log = this.#streams.get(name);
    if (log !== undefined && options?.retention !== undefined) {
      // Reopening with a new policy replaces the old one.
      void log.then((opened) => this.#retentionPolicy.set(logCore(opened), retention), () => undefined);
    }
    if (log === undefined) {
      log = this.#openStream(name, retention);
      this.#streams.set(name, log);
      log.catch(() => this.#streams.delete(name));
    }
    return log;
  }

  /**
   * Names of the streams stored under the root or recorded in the manifest, opened or not, sorted.
   * Only valid stream names (each one `openStream` accepts).
   * @throws AOF_ERR_CLOSED
   */
  async listStreams(): Promise<string[]> {
    this.#checkOpen();
    const entries = await readdir(join(this.config.root, STREAMS_DIR), { withFileTypes: true });
    // Only directories openStream would accept: anything else in streams/ is not a stream.
    const names = new Set(entries.filter((e) => e.isDirectory() && isValidStreamName(e.name)).map((e) => e.name));
    for (const name of this.#catalog.streams()) names.add(name);
    return [...names].sort();
  }

  /**
   * The handle a worker thread attaches with (`AofManager.attach`): the arena and the share board,
   * whose host (src/share/share-host.ts) starts with the first call.
   * @throws AOF_ERR_CLOSED
   */
  shareHandle(): ShareHandle {
    this.#checkOpen();
    this.#share ??= new ShareHost({
      existingStream: async (name) => {
        validateStreamName(name);
        if (!this.#streams.has(name) && !(await this.listStreams()).includes(name)) {
          throw new AofError(ErrorCode.IO, `stream ${name} does not exist under ${this.config.root} (an attached view creates nothing)`, { details: { errno: 'ENOENT', name } });
        }
        return logCore(await this.openStream(name));
      },
      listStreams: () => this.listStreams(),
      nextChange: () => this.#coordinator.nextChange(),
      stats: () => this.stats(),
    });
    return shareHandleOf(this.config.root, this.#arena, this.#share);
  }

  /** A plain-object snapshot of the engine's state; cheap, safe to call often. */
  stats(): ManagerStats {
    const figures = this.#engineFigures();
    return {
      ...figures, // streams, arena (the same occupancy arenaUtilisation was read with), and the rest
      slots: this.#arena.slotCount,
      segmentBytes: this.#arena.segmentBytes,
      openSegments: this.#arena.segments.size,
      flushWorker: this.#flusher.state,
      prefault: prefaultProgress(this.#arena.ctrl, this.#arena),
      recovery: { ...this.#recovery, ...this.#read.footerStats() },
      manifest: { ...this.#replay },
      tier1: { ...figures.tier1 },
      tier2:
        this.#tier2 === null
          ? null
          : {
              ...this.#tier2.stats(),
              manifestSyncs: this.#replica!.syncs,
              manifestUploads: this.#replica!.uploads,
              manifestLastError: this.#replica!.lastError,
            },
      restoredManifestFiles: this.#restoredManifestFiles,
      retention: { ...this.#retention },
      failure: this.#failure?.message ?? null,
      readOnly: null,
      follower: null,
    };
  }

  /** What the engine metrics export; stats() includes the same object. */
  #engineFigures(): EngineFigures & Pick<ManagerStats, 'arena' | 'segments' | 'tier1'> {
    const appended: Record<string, { records: number; bytes: number }> = {};
    for (const log of this.#logs) appended[log.name] = { records: log.appendedRecords, bytes: log.appendedBytes };
    const arena = this.#arena.occupancy();
    // Tier 1's figures as users know them: compression (Tier1) and frame reads (the read path).
    const t1: Tier1Stats = { ...this.#tier1.stats(), ...this.#read.stats() };
    return {
      streams: this.#logs.size,
      appended,
      wouldBlock: this.#counters.wouldBlockByKind(),
      latency: {
        admission: this.#counters.admission.snapshot(),
        fsync: readFsyncHistogram(this.#fsyncHistogram),
        hydration: this.#counters.hydration.snapshot(),
      },
      queues: {
        flush: flushBacklog(this.#arena),
        compress: t1.compressQueue,
        upload: this.#tier2?.stats().uploadQueue ?? 0,
        // Frame hydrations running plus raw segments being read into HYDRATING slots.
        hydrate: t1.hydrateQueue + arena.hydrating,
      },
      segments: segmentCounts(this.#logs),
      tier0: {
        openSegmentFiles: Atomics.load(this.#arena.ctrl, G_OPEN_SEGMENT_FILES),
        maxOpenFiles: this.#config.maxOpenFiles,
        // Unsigned: the word wraps at 2^32 (a counter reset, which Prometheus tolerates).
        segmentFileReopens: Atomics.load(this.#arena.ctrl, G_SEGMENT_FILE_REOPENS) >>> 0,
        readOnlyFollowers: this.#presence?.followers ?? 0,
        ...this.#arena.budgets(),
      },
      arena,
      arenaUtilisation: arenaUtilisation(this.#arena),
      tier1: t1,
      recovery: { badFooters: this.#read.footerStats().badFooters },
    };
  }

  /** A writer's view is the truth: nothing to catch up with (the read-only manager's refresh does). */
  refresh(): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  /**
   * Applies every open stream's retention now (it also runs every `retention.checkIntervalMs`).
   * Expired segments are recorded (EXPIRED) before their files and objects are removed.
   * @throws AOF_ERR_CLOSED
   */
  enforceRetention(): Promise<void> {
    this.#checkOpen();
    this.#retentionRun ??= this.#background.track(
      this.#enforceRetention().finally(() => {
        this.#retentionRun = null;
      }),
    );
    return this.#retentionRun;
  }

  /**
   * Waits until Tier 1 and Tier 2 are idle: sealed segments compressed, compressed ones uploaded
   * (as far as the store accepts them) and the manifest replicated. For tests, tools and a
   * deliberate hand-over to another machine.
   */
  async settle(): Promise<void> {
    this.#checkOpen();
    while (this.#sealsPending() && this.#failure === null) await this.#coordinator.nextChange();
    await this.#tier1.drain();
    await this.#tier2?.drain();
    await this.#replica?.sync();
  }

  /**
   * Blocks the calling thread until every record appended so far, on every stream, is written and
   * fdatasynced (whatever the `fsync` policy), like sonic-boom's `flushSync()`: `durableId` then
   * equals `nextId - 1` everywhere. Safe in a `process.on('exit')` listener (the flush worker
   * runs on its own thread); prefer `await log.flush()` elsewhere, which leaves the event loop free.
   * Appends still queued in `append()` waiting for an arena slot have no id yet and are not covered.
   *
   * @param options.timeoutMs deadline (default 10,000 ms); the worker goes on after a timeout
   * @throws AOF_ERR_TIMEOUT, AOF_ERR_IO / AOF_ERR_WORKER_FAILED (the manager failed: some records
   *   will never be durable), AOF_ERR_CLOSED (after `close()` resolved), AOF_ERR_INVALID_ARGUMENT,
   *   AOF_ERR_UNKNOWN_OPTION
   */
  flushSync(options?: { timeoutMs?: number }): void {
    // While close() runs it is still useful (an exit during close); once closed, all is durable.
    if (this.#closed) throw AofError.closed('manager');
    const timeoutMs = resolveFlushSyncTimeout(options);
    if (this.#failure !== null) throw this.#failure;
    this.#flusher.drainSync('durable', timeoutMs);
  }

  /**
   * The process is ending without close() (src/exit-drain.ts): drain what is not yet written, and
   * unless `fsync` is 'never' not yet fdatasynced. Never throws: a listener that threw would turn
   * the exit into an uncaught exception. What could not be drained is reported on stderr (and to
   * the logger), since those records are lost.
   */
  #drainForExit(event: 'beforeExit' | 'exit'): void {
    if (this.#closed) return;
    let err: unknown;
    try {
      // After a failure the worker may be dead: only look (a deadline of 0), so the exit is not
      // held up for nothing, and stay quiet if everything had been written before it failed.
      this.#flusher.drainSync(this.config.fsync === 'never' ? 'written' : 'durable', this.#failure === null ? DEFAULTS.flushSyncTimeoutMs : 0);
      return;
    } catch (caught) {
      err = this.#failure ?? caught;
    }
    const why = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
    const message = `aof2: records of ${this.config.root} above durableId may be lost: the ${event} drain could not finish (${why})`;
    try {
      this.config.logger?.error({ event, root: this.config.root, err }, message);
    } catch {
      // a logger that throws must not break the exit
    }
    process.stderr.write(`${message}\n`);
  }

  /**
   * Graceful shutdown: waits for queued appends, makes everything durable, stops the flush worker
   * and releases the root. With Tier 2 it seals every active segment and uploads what the store
   * accepts; without one each stream's active segment stays open (the flush worker gives it a
   * footer the manifest does not record) and the next open continues it. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close().finally(() => {
      this.#closed = true;
      this.#unregisterExitDrain();
    });
    return this.#closing;
  }

  /**
   * `await using manager = await AofManager.open(options)`: closes the manager when the scope ends
   * ({@link close}: drains, seals, makes everything durable, releases the root). Idempotent.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const logs = await Promise.allSettled([...this.#streams.values()]);
    const open = logs.flatMap((r) => (r.status === 'fulfilled' ? [logCore(r.value)] : []));
    await Promise.all(open.map((log) => log.closeForWrites()));
    this.#presence?.close(); // read-only processes connect again to the next writer
    this.#share?.close(); // attached views end with AOF_ERR_CLOSED, their leases with the readers below
    for (const log of open) log.closeReaders();
    if (this.#retentionTimer !== null) clearInterval(this.#retentionTimer);
    await this.#background.drain();
    while (this.#failure === null && this.#sealsPending()) await this.#coordinator.nextChange();
    await this.#read.close(); // readers are closed: finishes loads and fills under way, stops the pool
    await this.#tier1.close(); // records the last seals, finishes queued compressions
    await this.#tier2?.close(); // uploads what the store accepts; the rest waits for the next open
    await this.#flusher.close();
    await this.#manifest.close();
    await this.#replica?.close(); // the final manifest, so a rebuild sees every recorded upload
    await this.#tier2?.store.close();
    this.#coordinator.close();
    // The registry may be the user's and outlive this manager: a reopen registers afresh. The
    // manifest replay metrics stay (get-or-create, their corruption counter accumulates).
    for (const name of this.#metricNames) this.registry.removeSingleMetric(name);
    this.#lock.release();
  }

  async #openStream(name: string, retention: RetentionOptions): Promise<AofLog> {
    const dir = streamDir(this.config.root, name);
    try {
      // Checked once per open of the stream, never per append: a stream directory that is a link
      // would receive new segment files outside the root (src/safe-fs.ts).
      await ensureDirectory(dir);
    } catch (err) {
      throw err instanceof AofError ? err : AofError.io('create stream directory', dir, err);
    }
    const known = new Map(this.#catalog.entries(name).map((entry) => [entry.baseId, entry]));
    // A stream with no local file left is rebuilt from Tier 2, whether the root was restored at
    // this open or an earlier one (a stream first opened sessions after the rebuild) or only this
    // stream's directory was lost: what Tier 2 never got is then the loss window, not damage.
    // Recovery decides "no local file left" on its own listing of the directory.
    const recovered = await recoverStream(dir, name, this.config.segmentBytes, known, this.#tier2 !== null && (known.size > 0 || this.#restoredManifestFiles > 0));
    const rebuilt = recovered.rebuilt;
    let nextId = recovered.nextId;
    let stale: string[] = [];
    if (rebuilt && this.#tier2 !== null) {
      // Segments uploaded after the last manifest sync are in the bucket, not in the manifest.
      const adopted = await adoptUploadedObjects(this.#tier2.store, dir, name, nextId);
      recovered.segments.push(...adopted.segments);
      recovered.records.push(...adopted.records);
      nextId = adopted.nextId;
      stale = adopted.stale;
    }
    this.#checkOpen();
    this.#addRecovery(recovered.report);
    if (recovered.records.length > 0) await this.#manifest.append(recovered.records);
    // Objects past the loss window's gap: their ids are given out again from here, so they go
    // before any new segment could reuse a key (and before a later rebuild could adopt them).
    for (const key of stale) await this.#tier2!.store.delete(key);
    this.#recovery.staleObjectsDeleted += stale.length;
    // Warm start: the log is handed out once the flush worker runs (started at open, it came up
    // while the recovery above ran), so its first durable append does not wait for a thread.
    await this.#flusher.ready();
    const active = recovered.tail === null ? null : await this.#resumeTail(recovered);
    // The catalog may record nothing while the stream holds records (the open tail a close left):
    // there is data to read, so warm up as an open of a root with sealed segments does.
    if (active !== null) this.#warmHydrate();
    const log = new LogCore(name, dir, this.#ctx, recovered.segments, nextId, active);
    for (const seg of recovered.toCompress) this.#tier1.enqueue(name, seg);
    if (this.#tier2 !== null) {
      for (const seg of recovered.segments) {
        if (seg.tier === SegmentTier.TIER2) this.#tier2.adoptRemote(name, seg);
        else if (seg.tier === SegmentTier.TIER1 && seg.uploaded) this.#tier2.adoptCached(name, seg);
        else if (seg.tier === SegmentTier.TIER1) this.#tier2.enqueueUpload(name, seg);
      }
    }
    if (this.#failure !== null) log.fail(this.#failure);
    this.#logs.add(log);
    this.#retentionPolicy.set(log, retention);
    return logFacade(log);
  }

  /**
   * The segment a clean close left open becomes the stream's active segment again, parked without
   * a window: a segment table entry at its lengths, and the flush worker told to take it over
   * (workers/flush.ts `resume`). Without a free table entry (every one of MAX_OPEN_SEGMENTS in
   * use) it is sealed instead, as before this existed: its SEALED record appended, queued for
   * compression; null then.
   */
  async #resumeTail(recovered: RecoveredStream): Promise<Segment | null> {
    const tail = recovered.tail!;
    const handle = this.#arena.segments.allocResumed(tail.dataBytes, tail.count);
    if (handle >= 0) {
      this.#flusher.resume(handle, tail.path, tail.baseId, tail.createdAt, {
        count: tail.count,
        dataBytes: tail.dataBytes,
        dataCrc: tail.dataCrc,
        minTimestamp: tail.minTimestamp,
        maxTimestamp: tail.maxTimestamp,
      });
      return Segment.resumed(tail.baseId, tail.path, tail.t1Path, tail.count, tail.dataBytes, handle);
    }
    const { segment, record } = tail.asSealed();
    await this.#manifest.append([record]);
    recovered.segments.push(segment);
    recovered.toCompress.push(segment);
    return null;
  }

  async #enforceRetention(): Promise<void> {
    const now = Date.now();
    const tier2 = this.#tier2;
    const settled = (seg: Segment): boolean => {
      if (tier2 !== null) return seg.uploaded && !seg.recaching;
      if (this.config.tier1.enabled) return seg.tier === SegmentTier.TIER1;
      return seg.handle < 0; // sealed, footer durable, its table entry released
    };
    for (const log of this.#logs) {
      const policy = this.#retentionPolicy.get(log) ?? {};
      const n = expiredCount(log.segments, policy, now, log.liveBytes, settled);
      try {
        if (n > 0) await this.#expire(log, n);
        if (tier2 !== null && !this.#swept.has(log.name) && (n > 0 || log.firstId > 0)) await this.#sweep(log);
      } catch (err) {
        this.#retention.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
      }
    }
  }

  /** Expires the first `n` segments of `log`: record first, then remove files and objects. */
  async #expire(log: LogCore, n: number): Promise<void> {
    const last = log.segments[n - 1]!;
    await this.#manifest.append([{ type: ManifestRecordType.EXPIRED, stream: log.name, baseId: last.baseId, fields: {} }]);
    const expired = log.expireFirst(n);
    for (const seg of expired) seg.apply({ type: SegmentEventType.EXPIRED });
    this.#coordinator.kick(); // readers waiting on a frame of an expired segment learn it now
    for (const seg of expired) {
      this.#retention.expiredSegments++;
      this.#retention.expiredRecords += seg.count;
      this.#tier2?.forget(seg);
      for (const path of [seg.path, seg.t1Path]) {
        await unlink(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw AofError.io('remove expired segment', path, err);
        });
      }
    }
    if (this.#tier2 === null) return;
    // The replicated manifest must stop naming the objects before they go, so a rebuild from
    // Tier 2 never meets a recorded segment whose object is gone.
    await this.#replica!.sync();
    for (const seg of expired) {
      if (!seg.uploaded) continue;
      await this.#tier2.store.delete(seg.key);
      this.#retention.deletedObjects++;
    }
  }

  /** Deletes Tier 2 objects of `log` below its first id (left by a crash mid-expiry). */
  async #sweep(log: LogCore): Promise<void> {
    const tier2 = this.#tier2!;
    // The mirrored manifest may still name them (a crash before the mirror): mirror first.
    await this.#replica!.sync();
    for (const object of await tier2.store.list(streamPrefix(log.name))) {
      const parsed = parseSegmentKey(object.key);
      if (parsed === null || parsed.baseId >= log.firstId) continue;
      await tier2.store.delete(object.key);
      this.#retention.deletedObjects++;
    }
    this.#swept.add(log.name);
  }

  #addRecovery(report: RecoveryReport): void {
    this.#recovery.trustedSegments += report.trustedSegments;
    this.#recovery.resumedSegments += report.resumedSegments;
    this.#recovery.deferredFooters += report.deferredFooters;
    this.#recovery.scannedSegments += report.scannedSegments;
    this.#recovery.scannedBytes += report.scannedBytes;
    this.#recovery.trimmedBytes += report.trimmedBytes;
    this.#recovery.removedFiles += report.removedFiles.length;
    this.#recovery.missingSegments += report.missingSegments;
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw AofError.closed('manager');
  }

  /** Seals asked for whose footer is not durable yet (attached or parked segments alike). */
  #sealsPending(): boolean {
    return this.#arena.segments.sealsPending() > 0;
  }

  /**
   * Every slot is taken. Park the oldest active segments of other streams (admitted or unparked
   * longest ago): their slots are written out and become reusable without a footer or an fsync,
   * and the segments stay active, their files open (segments seal by size, never because another
   * stream needs room). Up to a quarter of the arena retires, seals or loads at once, and relief
   * tops the retiring up to that in one go: one flusher pass retires them all, so with many
   * streams taking turns the next few requesters find a CLEAN slot without waiting for the
   * flusher (2,000 streams round-robin, one await append() at a time: ~290 appends/s parking one
   * per call, ~900 topping up). A parked stream that appends before its slot is reused takes it
   * straight back, so parking one too many is cheap.
   * `requester` is excluded (a writer must not park itself); null for a load (a reader's, or a
   * parked stream taking a slot again, which is parked already and so never picked).
   */
  #relievePressure(requester: LogCore | null): void {
    const occupancy = this.#arena.occupancy();
    const room = Math.max(1, this.#arena.slotCount >> 2) - (occupancy.retiring + occupancy.sealing + occupancy.hydrating);
    if (room <= 0) return;
    // Only streams whose active segment holds an ACTIVE slot are candidates: at most slotCount.
    const candidates: LogCore[] = [];
    for (const log of this.#logs) if (log !== requester && log.activatedAt >= 0) candidates.push(log);
    candidates.sort((a, b) => a.activatedAt - b.activatedAt);
    for (let i = 0; i < room && i < candidates.length; i++) candidates[i]!.park();
  }

  /** A write failed (disk full, I/O error) or the worker died: stop accepting writes everywhere. */
  #onFlushFailure(err: AofError, slot: number): void {
    this.#failure ??= err;
    for (const log of this.#logs) log.fail(err);
    if (slot >= 0) this.#arena.setState(slot, SlotState.FAILED);
    this.#coordinator.kick();
  }
}

/**
 * A registry already holding the engine metrics belongs to another open manager (prom-client
 * would throw a plain Error half-way through registering).
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
export function checkRegistryFree(registry: Registry): void {
  if (registry.getSingleMetric('aof_appended_records_total') !== undefined) {
    throw AofError.invalidArgument('metrics.registry already holds aof2 metrics of another open manager; use one registry per manager (Registry.merge to combine)', {
      option: 'metrics.registry',
    });
  }
}
