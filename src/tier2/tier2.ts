/**
 * Tier 2 on the main thread: ships compressed Tier 1 files to the object store, keeps the local
 * Tier 1 directory within its budget by evicting uploaded files, and brings segments back from
 * the store when only it holds them.
 *
 * - Upload: every segment that reaches Tier 1 joins the upload queue. A piscina pool (I/O
 *   settings: async atomics off, 2 threads, 2 tasks each) puts the file under its deterministic key
 *   and checks the stored size; then UPLOADED goes to the manifest and only then may the local
 *   file be evicted. Attempts pass through the circuit breaker: while it is open nothing is tried
 *   (one probe after the cool-down), failures back off with jitter, and an upload is never given
 *   up while the engine runs (data must reach Tier 2); close abandons the queue and the next open
 *   queues it again (recovery finds TIER1 entries without the uploaded flag).
 * - Budget: `tier1.maxBytes` bounds the local Tier 1 files. Uploaded files are a cache, evicted
 *   oldest-uploaded first (EVICTED is made durable before the unlink; the object is never touched).
 *   Files not uploaded yet cannot be evicted: once they alone fill the budget, `blocked` turns true
 *   and writers get WouldBlock kind `tier2` at their next rollover (async appends wait) until
 *   uploads catch up. That is the outage behaviour: data queues on local disk up to the budget,
 *   never beyond, never lost.
 * - Source for the read path (src/read/ports.ts RemoteSegmentSource): a segment only Tier 2 holds
 *   takes its frame index from the manifest, where the upload recorded it (FRAME_INDEX, appended
 *   with UPLOADED: src/format/recorded-index.ts), so its first read is one ranged GET; a segment
 *   uploaded before that record existed (or of more than 4,096 frames) gets its header and frame
 *   index with two ranged GETs (sizes known from the catalog) and the index is then recorded, so
 *   the next process reads it in one. The read path fills single frames by range through its
 *   hydrate pool (`frameSource` says where).
 *   Once a reader touched such a segment, the whole object is copied back into the local Tier 1
 *   cache in the background when the budget has room ("recache", recorded HYDRATED), so a scan of
 *   old data pays the network once.
 * - Manifest mirror: Tier 2 owns the ManifestReplica (it shares the store and the breaker) and
 *   asks it for a sync after every recorded upload.
 */
import { unlink } from 'node:fs/promises';
import { writeFileAtomically } from '../durable-file.js';
import { Piscina } from 'piscina';
import { POOL_IDLE_MS, type ResolvedConfig } from '../config.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { AofError, ErrorCode } from '../errors.js';
import { ManifestRecordType, type FrameIndexRecord, type ManifestRecord } from '../format/manifest.js';
import { RECORDED_INDEX_ENTRY_BYTES, expandRecordedIndex, recordedIndexOf } from '../format/recorded-index.js';
import type { FrameIndexEntry } from '../format/tier1.js';
import type { ManifestLog } from '../manifest/manifest-log.js';
import { SegmentEventType, SegmentTier, type Segment } from '../tier0/segment.js';
import { decodeTier1Image } from '../format/tier1-file.js';
import { fromWorkerRejection } from '../worker-error.js';
import type { HydrateSource } from '../../workers/tier1-protocol.js';
import type { UploadResult, UploadTask } from '../../workers/tier2-protocol.js';
import { BreakerState, CircuitBreaker } from './circuit-breaker.js';
import { CredentialSource } from './credentials.js';
import { type ObjectStore, type Tier2StoreConfig } from './object-store.js';
import { ManifestReplica } from './manifest-replica.js';
import { fetchTier1Meta } from './remote-meta.js';
import { EngineEvents } from '../events.js';
import { parseSegmentKey, segmentKey } from '../format/root-layout.js';
import { BackgroundWork, retry, systemClock, type Backoff, type Clock, type Random } from '../background.js';
import { SPANS, type SegmentHydrateSpanContext, type SegmentUploadSpanContext } from '../tracing.js';

const UPLOAD_WORKER = new URL('../../workers/upload.js', import.meta.url).href;
/** Backoff between upload attempts (full jitter; src/background.ts): the cap is reached at attempt 7. */
const UPLOAD_BACKOFF: Backoff = { baseMs: 20, maxMs: 2000 };
/** How often close() looks again at the upload queue while a task may hang. */
const CLOSE_POLL_MS = 100;
/** Uploads in flight at once: the pool's threads times its tasks per thread. */
const UPLOAD_WIDTH = 4;

/** Tier 2 figures (`stats().tier2`; docs/metrics.md). */
export interface Tier2Stats {
  segmentsUploaded: number;
  uploadedBytes: number;
  uploadRetries: number;
  uploadFailures: number;
  /** Uploads waiting or running. */
  uploadQueue: number;
  /** Local Tier 1 bytes not in Tier 2 yet (`blockedWith` compares them, plus Tier 1's raw backlog, with the budget). */
  pendingBytes: number;
  /** Local Tier 1 bytes in total. */
  localBytes: number;
  segmentsEvicted: number;
  evictedBytes: number;
  /** Segments copied back from Tier 2 into the local Tier 1 cache. */
  segmentsRecached: number;
  /**
   * Frame indexes read from Tier 2 objects (two ranged GETs each, before a segment's first frame):
   * segments whose index the manifest does not hold (uploaded by an aof2 that did not record it,
   * or of more than 4,096 frames). Each such index is recorded once read.
   */
  indexFetches: number;
  /** First reads of a Tier 2 segment whose frame index came from the manifest (no index request). */
  indexesFromManifest: number;
  breakerState: number;
  breakerOpened: number;
  breakerClosed: number;
  /**
   * NEEDS_RECOVERY records (a damaged local copy found at upload) that failed to append: the
   * catalog still says TIER1, so the next open trusts the file again, and its upload finds the
   * damage and tries to record it again (reads never return the damaged bytes: frames are CRC-checked).
   */
  manifestAppendFailures: number;
  lastError: string | null;
}

interface Job {
  stream: string;
  seg: Segment;
}

/** What Tier 2 is given at construction. */
export interface Tier2Deps {
  store: ObjectStore;
  storeConfig: Tier2StoreConfig;
  manifest: ManifestLog;
  /** The local manifest directory, mirrored into the store by `replica`. */
  manifestDir: string;
  coordinator: Coordinator;
  config: ResolvedConfig;
  events?: EngineEvents;
  /** Time for backoffs, the breaker's cool-down and close's polling (default real time). */
  clock?: Clock;
  /** Jitter of the backoffs (default Math.random). */
  random?: Random;
}

function describe(err: unknown): string {
  return err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
}

/** Tier 2's counters: reported only, never read to decide anything (the byte budgets have their own fields). */
type Tier2Counters = Omit<Tier2Stats, 'uploadQueue' | 'pendingBytes' | 'localBytes'>;

export class Tier2 {
  readonly #stats: Tier2Counters = {
    segmentsUploaded: 0,
    uploadedBytes: 0,
    uploadRetries: 0,
    uploadFailures: 0,
    segmentsEvicted: 0,
    evictedBytes: 0,
    segmentsRecached: 0,
    indexFetches: 0,
    indexesFromManifest: 0,
    breakerState: BreakerState.closed,
    breakerOpened: 0,
    breakerClosed: 0,
    manifestAppendFailures: 0,
    lastError: null,
  };
  readonly store: ObjectStore;
  readonly storeConfig: Tier2StoreConfig;
  readonly breaker: CircuitBreaker;
  readonly #manifest: ManifestLog;
  readonly #coordinator: Coordinator;
  readonly #budget: number;
  readonly #pool: Piscina;
  readonly #queue: Job[] = [];
  /** Uploaded segments with a local Tier 1 file, oldest upload first: the eviction order. */
  readonly #cached = new Map<Segment, Job>();
  /** Uploads, evictions and recaches under way; close() drains them. */
  readonly #work: BackgroundWork;
  readonly #clock: Clock;
  readonly #random: Random;
  /** The manifest mirror in this store; synced after each recorded upload. */
  readonly replica: ManifestReplica;
  #running = 0;
  #closing = false;
  /** Local Tier 1 bytes not in Tier 2 yet: with Tier 1's raw backlog, what `blockedWith` holds against the budget. */
  #pendingBytes = 0;
  /** Local Tier 1 bytes in total: what eviction and recache hold against the budget. */
  #localBytes = 0;

  readonly #events: EngineEvents;
  /** Calls a `tier2.credentials` provider for tasks (a function cannot cross to a worker), or null. */
  readonly #credentials: CredentialSource | null;
  /** Segments whose recorded frame index did not describe them: read from the object instead. */
  readonly #rejectedIndexes = new WeakSet<Segment>();

  constructor({
    store,
    storeConfig,
    manifest,
    manifestDir,
    coordinator,
    config,
    events = new EngineEvents(null),
    clock = systemClock,
    random = Math.random,
  }: Tier2Deps) {
    this.#events = events;
    this.#clock = clock;
    this.#random = random;
    this.#work = new BackgroundWork(clock);
    this.store = store;
    this.storeConfig = storeConfig;
    const credentials = storeConfig.kind === 's3' ? storeConfig.credentials : undefined;
    this.#credentials = typeof credentials === 'function' ? new CredentialSource(credentials) : null;
    this.#manifest = manifest;
    this.#coordinator = coordinator;
    this.#budget = config.tier1.maxBytes;
    this.breaker = new CircuitBreaker({
      now: () => clock.now(),
      onChange: (from, to) => {
        this.#stats.breakerState = BreakerState[to];
        this.#stats.breakerOpened = this.breaker.openedCount;
        this.#stats.breakerClosed = this.breaker.closedCount;
        this.#events.breaker(store.location, from, to, this.breaker.coolDownMs);
      },
    });
    this.replica = new ManifestReplica(manifestDir, store, this.breaker);
    this.#pool = new Piscina({
      filename: UPLOAD_WORKER,
      minThreads: 0,
      maxThreads: 2,
      concurrentTasksPerWorker: 2,
      idleTimeout: POOL_IDLE_MS,
      maxQueue: 64,
      atomics: 'disabled',
      execArgv: [],
    });
  }

  /**
   * A snapshot of the counters, with the queue and the local byte figures as they are now.
   * Nothing reads it to decide anything: the budgets are held by private fields.
   */
  stats(): Tier2Stats {
    return { ...this.#stats, uploadQueue: this.#queue.length + this.#running, pendingBytes: this.#pendingBytes, localBytes: this.#localBytes };
  }

  /**
   * True while local data not yet in Tier 2 (compressed files waiting for upload plus
   * `rawPendingBytes` still waiting for compression) fills the Tier 1 budget: writers must wait
   * (WouldBlock kind `tier2`) until uploads catch up.
   */
  blockedWith(rawPendingBytes: number): boolean {
    return this.#pendingBytes + rawPendingBytes >= this.#budget;
  }

  /** A segment reached Tier 1 (compressed now, or found at recovery without its upload). */
  enqueueUpload(stream: string, seg: Segment): void {
    seg.apply({ type: SegmentEventType.KEYED, key: segmentKey(stream, seg.baseId) });
    this.#pendingBytes += seg.compressedBytes;
    this.#localBytes += seg.compressedBytes;
    this.#queue.push({ stream, seg });
    this.#pump();
  }

  /** An uploaded segment whose local Tier 1 file exists (found at recovery): cache accounting. */
  adoptCached(stream: string, seg: Segment): void {
    seg.apply({ type: SegmentEventType.KEYED, key: segmentKey(stream, seg.baseId) });
    this.#localBytes += seg.compressedBytes;
    this.#cached.set(seg, { stream, seg });
    void this.#work.track(this.#evictOverBudget());
  }

  /** A segment only Tier 2 holds (found at recovery). */
  adoptRemote(stream: string, seg: Segment): void {
    seg.apply({ type: SegmentEventType.KEYED, key: segmentKey(stream, seg.baseId) });
  }

  /**
   * The frame index the manifest recorded for `seg`, checked against the segment's records, raw
   * bytes and object size; null when none was recorded or it does not describe the segment (noted
   * in `lastError` once: `loadIndex` then reads the index from the object).
   */
  recordedIndex(_stream: string, seg: Segment): FrameIndexEntry[] | null {
    const recorded = seg.recordedIndex;
    if (recorded === null || this.#rejectedIndexes.has(seg)) return null;
    try {
      const index = expandRecordedIndex(recorded, { frameCount: seg.frameCount, recordCount: seg.count, dataBytes: seg.dataBytes, fileBytes: seg.compressedBytes });
      this.#stats.indexesFromManifest++;
      return index;
    } catch (err) {
      this.#rejectedIndexes.add(seg);
      this.#stats.lastError = `${describe(err)} (segment ${seg.key}; its index is read from the object instead)`;
      return null;
    }
  }

  /**
   * The frame index of a segment only Tier 2 holds, from its object (two ranged GETs). The manifest
   * did not hold it, so it is recorded now (in the background; a failure only means the next
   * process fetches it again).
   * @throws (rejects) AOF_ERR_UNAVAILABLE (the store, or no object), AOF_ERR_CORRUPT (details.key)
   */
  loadIndex(stream: string, seg: Segment): Promise<FrameIndexEntry[]> {
    this.#stats.indexFetches++;
    return fetchTier1Meta(this.store, seg.key, seg.compressedBytes, seg.frameCount).then(
      (meta) => {
        const frames = recordedIndexOf(meta.index);
        if (frames !== null && !this.#closing) {
          const record: FrameIndexRecord = { type: ManifestRecordType.FRAME_INDEX, stream, baseId: seg.baseId, fields: { frameCount: meta.index.length }, frames };
          void this.#work.track(this.#manifest.append([record]).catch((err: unknown) => void (this.#stats.lastError = describe(err))));
        }
        return meta.index;
      },
      (err: unknown) => {
        this.#stats.lastError = describe(err);
        throw err instanceof AofError ? err : new AofError(ErrorCode.UNAVAILABLE, `tier 2: ${String(err)}`, { cause: err });
      },
    );
  }

  /**
   * Where a hydrate task reads a frame of `seg`: one ranged GET of its object.
   * @throws (rejects) AOF_ERR_UNAVAILABLE when a credentials provider fails
   */
  async frameSource(seg: Segment): Promise<HydrateSource> {
    return { kind: 'object', store: await this.taskStoreConfig(), key: seg.key };
  }

  /** A reader opened `seg` (only Tier 2 holds it): copy it back locally if the budget has room. */
  touched(stream: string, seg: Segment): void {
    this.#recache(stream, seg);
  }

  /**
   * A frame of the segment's local Tier 1 copy failed its checks, and Tier 2 holds the segment:
   * NEEDS_RECOVERY is recorded, the copy is removed and reads go to Tier 2 from now on (the
   * background re-cache may bring a good copy back). Idempotent: concurrent readers of damaged
   * frames of one segment drop it once.
   */
  async dropCorruptLocal(seg: Segment): Promise<void> {
    if (seg.tier !== SegmentTier.TIER1) return;
    // Uploaded (the read path asks only then): the segment moves to TIER2, reads go there.
    seg.apply({ type: SegmentEventType.NEEDS_RECOVERY, error: null });
    const stream = parseSegmentKey(seg.key)!.stream;
    await this.#manifest
      .append([{ type: ManifestRecordType.NEEDS_RECOVERY, stream, baseId: seg.baseId, fields: {} }])
      .catch((err: unknown) => void (this.#stats.lastError = describe(err)));
    if (this.#cached.delete(seg)) this.#localBytes -= seg.compressedBytes;
    await unlink(seg.t1Path).catch(() => undefined);
  }

  /** Retention removed the segment: stop tracking it (its upload is settled: see retention.ts). */
  forget(seg: Segment): void {
    if (this.#cached.delete(seg)) this.#localBytes -= seg.compressedBytes;
  }

  drain(): Promise<void> {
    return this.#work.drain();
  }

  /**
   * Graceful stop: finishes the upload queue while the store answers, abandons it (for the next
   * open, which queues it again) once the breaker opens, waits for running work. The store stays
   * open: the manager replicates the manifest through it after this.
   */
  async close(): Promise<void> {
    while ((this.#queue.length > 0 || this.#running > 0) && this.breaker.state === 'closed') {
      await this.#work.settleWithin(CLOSE_POLL_MS);
    }
    this.#closing = true;
    this.#queue.length = 0;
    await this.drain();
    await this.#pool.destroy();
  }

  #pump(): void {
    while (!this.#closing && this.#running < UPLOAD_WIDTH && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running++;
      void this.#work.track(
        this.#upload(job).finally(() => {
          this.#running--;
          this.#pump();
        }),
      );
    }
  }

  /**
   * The store configuration to send with a worker task: `storeConfig` itself, or with a
   * credentials provider, a copy carrying the identity the provider returned (plain data).
   * @throws (rejects) AOF_ERR_UNAVAILABLE when the provider fails
   */
  async taskStoreConfig(): Promise<Tier2StoreConfig> {
    if (this.#credentials === null) return this.storeConfig;
    return { ...this.storeConfig, credentials: await this.#credentials.get() } as Tier2StoreConfig;
  }

  /** Waits until the breaker admits an attempt; false when closing. */
  async #admitted(): Promise<boolean> {
    while (!this.breaker.canAttempt()) {
      if (this.#closing) return false;
      await this.#clock.sleep(Math.max(10, Math.min(this.breaker.msUntilProbe(), 250)));
    }
    return !this.#closing;
  }

  /** One segment's upload, every attempt, inside its `aof2:segment.upload` span when anyone subscribes. */
  #upload(job: Job): Promise<void> {
    if (!SPANS.segmentUpload.active) return this.#uploadAttempts(job, null);
    const span: SegmentUploadSpanContext = { stream: job.stream, baseId: job.seg.baseId, key: job.seg.key, bytes: job.seg.compressedBytes, attempts: 0 };
    return SPANS.segmentUpload.run(span, () => this.#uploadAttempts(job, span));
  }

  async #uploadAttempts({ stream, seg }: Job, span: SegmentUploadSpanContext | null): Promise<void> {
    const task: UploadTask = { store: this.storeConfig, path: seg.t1Path, key: seg.key, expectedBytes: seg.compressedBytes };
    // Never given up while the engine runs (data must reach Tier 2): only CORRUPT is final, and
    // close stops the retries (the next open queues the upload again).
    const outcome = await retry(
      async (attempt): Promise<UploadResult | null> => {
        if (!(await this.#admitted())) return null; // closing while the breaker was open
        if (span !== null) span.attempts = attempt;
        task.store = await this.taskStoreConfig();
        const result = (await this.#pool.run(task)) as UploadResult;
        this.breaker.onSuccess();
        return result;
      },
      {
        attempts: Infinity,
        backoff: UPLOAD_BACKOFF,
        toError: fromWorkerRejection,
        clock: this.#clock,
        random: this.#random,
        classify: (err) => {
          this.#stats.lastError = `${err.code}: ${err.message}`;
          if (err.code === ErrorCode.CORRUPT) return 'stop';
          // A crashed worker says nothing about the store; everything else counts against it.
          if (err.code !== ErrorCode.WORKER_FAILED) this.breaker.onFailure();
          return 'backoff';
        },
        onRetry: (err, attempt) => {
          this.#stats.uploadRetries++;
          this.#events.retried('upload', stream, seg.baseId, attempt, err);
        },
        stopped: () => this.#closing,
      },
    );
    if (!outcome.ok) {
      if (outcome.reason === 'stopped') {
        // Abandoned at close: the next open queues it again.
        if (span !== null) SPANS.segmentUpload.fail(span, outcome.error);
        return;
      }
      // CORRUPT: the only local copy is damaged: never upload damage. Nothing else holds the records.
      const { error: err, attempt } = outcome;
      this.#stats.uploadFailures++;
      this.#events.failed('upload', stream, seg.baseId, attempt, err);
      this.#pendingBytes -= seg.compressedBytes;
      this.#localBytes -= seg.compressedBytes;
      // Not uploaded: NEEDS_RECOVERY leaves the segment MISSING, with the error for readers.
      seg.apply({ type: SegmentEventType.NEEDS_RECOVERY, error: err });
      await this.#manifest.append([{ type: ManifestRecordType.NEEDS_RECOVERY, stream, baseId: seg.baseId, fields: {} }]).catch((failure: unknown) => {
        // Unrecorded: see Tier2Stats.manifestAppendFailures for why that is safe.
        this.#stats.manifestAppendFailures++;
        this.#stats.lastError = describe(failure);
        this.#events.manifestAppendFailed('tier2', stream, seg.baseId, 'NEEDS_RECOVERY', failure);
      });
      if (span !== null) SPANS.segmentUpload.fail(span, err);
      return;
    }
    const { value: result, attempt } = outcome;
    if (result === null) {
      // Closing while the breaker was open: abandoned; the next open queues it again.
      if (span !== null) SPANS.segmentUpload.fail(span, AofError.closed('tier 2'));
      return;
    }
    // The frame index of exactly the bytes uploaded, in the same commit: a process that later finds
    // the segment only in Tier 2 reads a record with one ranged GET (docs/decisions.md).
    const records: ManifestRecord[] = [{ type: ManifestRecordType.UPLOADED, stream, baseId: seg.baseId, fields: { objectBytes: result.objectBytes } }];
    if (result.frameIndex !== null) {
      records.push({ type: ManifestRecordType.FRAME_INDEX, stream, baseId: seg.baseId, fields: { frameCount: result.frameIndex.length / RECORDED_INDEX_ENTRY_BYTES }, frames: result.frameIndex });
    }
    try {
      await this.#manifest.append(records);
    } catch (err) {
      // Not recorded: the next open uploads it again (same key, same bytes: harmless).
      this.#stats.lastError = describe(err);
      if (span !== null) SPANS.segmentUpload.fail(span, err);
      return;
    }
    seg.apply({ type: SegmentEventType.UPLOADED, recordedIndex: result.frameIndex });
    this.#stats.segmentsUploaded++;
    this.#stats.uploadedBytes += result.objectBytes;
    this.#pendingBytes -= seg.compressedBytes;
    if (seg.tier === SegmentTier.TIER1) this.#cached.set(seg, { stream, seg });
    this.#events.uploaded(stream, seg.baseId, seg.key, result.objectBytes, attempt);
    if (span !== null) SPANS.segmentUpload.end(span);
    this.replica.request();
    this.#coordinator.kick(); // writers blocked on the budget may go on
    await this.#evictOverBudget();
  }

  /** Evicts uploaded local files, oldest upload first, until the local bytes fit the budget. */
  async #evictOverBudget(): Promise<void> {
    while (this.#localBytes > this.#budget && this.#cached.size > 0) {
      const [seg, job] = this.#cached.entries().next().value as [Segment, Job];
      this.#cached.delete(seg);
      try {
        await this.#manifest.append([{ type: ManifestRecordType.EVICTED, stream: job.stream, baseId: seg.baseId, fields: {} }]);
      } catch (err) {
        this.#stats.lastError = describe(err);
        this.#cached.set(seg, job);
        return;
      }
      // From here readers fetch from Tier 2; a frame read already under way keeps its open file.
      seg.apply({ type: SegmentEventType.EVICTED });
      await unlink(seg.t1Path).catch(() => undefined);
      this.#localBytes -= seg.compressedBytes;
      this.#stats.segmentsEvicted++;
      this.#stats.evictedBytes += seg.compressedBytes;
      this.#events.evicted(job.stream, seg.baseId, seg.compressedBytes);
    }
  }

  /** Copies a segment only Tier 2 holds back into the local cache, when the budget has room. */
  #recache(stream: string, seg: Segment): void {
    if (this.#closing || seg.recaching || this.#localBytes + seg.compressedBytes > this.#budget) return;
    seg.apply({ type: SegmentEventType.RECACHE_STARTED });
    // A background `aof2:segment.hydrate` span of kind recache, when anyone subscribes.
    const span: SegmentHydrateSpanContext | null = SPANS.segmentRecache.active
      ? { stream, baseId: seg.baseId, kind: 'recache', source: 'tier2', target: 'tier1', frame: null, offset: 0, bytes: 0, attempts: 1 }
      : null;
    const copy = span === null ? this.#copyBack(stream, seg, null) : SPANS.segmentRecache.run(span, () => this.#copyBack(stream, seg, span));
    void this.#work.track(
      copy
        .then(
          () => {
            if (span !== null) SPANS.segmentRecache.end(span);
          },
          (err: unknown) => {
            this.#stats.lastError = describe(err);
            if (span !== null) SPANS.segmentRecache.fail(span, err);
          },
        )
        .finally(() => {
          seg.apply({ type: SegmentEventType.RECACHE_ENDED });
        }),
    );
  }

  /** Copies the object back; `span.bytes` is set once it is recorded (it stays 0 when nothing was cached). */
  async #copyBack(stream: string, seg: Segment, span: SegmentHydrateSpanContext | null): Promise<void> {
    const started = performance.now();
    const image = await this.store.get(seg.key);
    if (image === null || image.length !== seg.compressedBytes) return;
    decodeTier1Image(image); // never cache damage
    await writeFileAtomically(seg.t1Path, image);
    if (seg.tier !== SegmentTier.TIER2) return;
    await this.#manifest.append([{ type: ManifestRecordType.HYDRATED, stream, baseId: seg.baseId, fields: {} }]);
    seg.apply({ type: SegmentEventType.HYDRATED });
    if (span !== null) span.bytes = seg.compressedBytes;
    this.#localBytes += seg.compressedBytes;
    this.#stats.segmentsRecached++;
    this.#cached.set(seg, { stream, seg });
    this.#events.hydrated(stream, seg.baseId, 'tier2', 'tier1', null, (performance.now() - started) / 1000, 0, seg.compressedBytes);
  }
}
