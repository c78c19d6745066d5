/**
 * Tier 1 on the main thread: turns sealed segments into compressed Tier 1 files. Reading them back
 * is the read path's (src/read/read-path.ts), which uses the files through src/tier1/local-source.ts.
 *
 * - Sealing: a segment the log sealed is watched until the flush worker marks its segment table
 *   entry SEALED (footer durable, file closed; its slot, if any, says nothing: a parked segment is
 *   sealed without one). The entry is then released, its data CRC read from the footer, a SEALED
 *   record goes to the manifest and the segment joins the compression queue.
 * - Compression: a piscina pool reads the segment straight from its arena slot when it is resident
 *   (the slot is pinned meanwhile, so it cannot be evicted under the worker) or from the raw file
 *   otherwise, and writes the .t1 file (temp, fsync, rename). Its width (compressions at once, one
 *   thread each: one, up to the machine's cores while the backlog is high and a core idle) and the
 *   zstd level follow the raw backlog (src/tier1/compression-controller.ts, widen before lowering
 *   the level). Then COMPRESSION_DONE is made durable in the
 *   manifest and only then the raw file is removed: a crash at any point leaves a state recovery
 *   understands. Failed or crashed attempts are retried with backoff; after MAX_COMPRESS_ATTEMPTS
 *   the segment is recorded COMPRESSION_FAILED and stays raw (still durable and readable). An
 *   attempt that fails while closing is not retried and not given up: the segment stays SEALED and
 *   the next open compresses it.
 * - Hand-over: a compressed segment is passed to the `onCompressed` port the manager wired at
 *   construction (Tier 2's upload queue); Tier 1 does not know who listens.
 * - Budget: sealed segments not compressed yet are the raw backlog. It may grow up to
 *   `tier1.rawBacklogBytes` without writers noticing; past that the log's rollover waits
 *   ({@link Tier1.rawBacklogFull}, WouldBlock `compression`) until a compression ends.
 */
import { unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Arena } from '../arena/arena.js';
import type { ZstdImplementation } from '../codec/zstd.js';
import { SegState, SlotState } from '../arena/layout.js';
import { POOL_IDLE_MS, type ResolvedConfig } from '../config.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { AofError, ErrorCode } from '../errors.js';
import { OpenMode, openFile } from '../safe-fs.js';
import { ManifestRecordType } from '../format/manifest.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter, type SegmentFooter } from '../format/segment.js';
import { sealedRecord } from '../manifest/records.js';
import type { ManifestLog } from '../manifest/manifest-log.js';
import { SegmentEventType, type Segment } from '../tier0/segment.js';
import { fromWorkerRejection } from '../worker-error.js';
import { EngineEvents } from '../events.js';
import { BackgroundWork, retry, systemClock, type Backoff, type Clock, type Random } from '../background.js';
import { SPANS, type SegmentCompressSpanContext, type SegmentSealSpanContext } from '../tracing.js';
import type { CompressResult, CompressTask } from '../../workers/tier1-protocol.js';
import { compressionPolicy, initialCompressionState, stepCompression, type CompressionPolicy, type CompressionState } from './compression-controller.js';
import { IdleCoreSampler, type IdleCores } from './idle-cores.js';

export const MAX_COMPRESS_ATTEMPTS = 5;
/**
 * Footers read at once by the sealing watcher. A close (or a burst of seals) with 10,000 streams
 * seals 10,000 segments in one go: reading every footer at once held an fd per segment, as many
 * again as the flush worker's, and met EMFILE. 32 keeps libuv's 4 threads busy.
 */
const FOOTER_READS_AT_ONCE = 32;
/** Backoff between compression attempts: up to 20, 40, 80, 160 ms (full jitter; src/background.ts). */
const COMPRESS_BACKOFF: Backoff = { baseMs: 10, maxMs: 1000 };

/**
 * `manager.stats().tier1`: compression counters (Tier1's own) and frame-read counters (the read
 * path's, src/read/read-path.ts ReadStats), reported together as they always were.
 */
export interface Tier1Stats {
  segmentsSealed: number;
  segmentsCompressed: number;
  rawBytesCompressed: number;
  compressedBytes: number;
  compressRetries: number;
  compressFailures: number;
  framesDecompressed: number;
  hydrateRetries: number;
  hydrateFailures: number;
  /** Compression queue depth (waiting + running). */
  compressQueue: number;
  /**
   * Raw bytes of sealed segments not compressed yet (sealing, queued or running): the raw backlog
   * on local disk, compared with {@link rawBacklogBudget} at every rollover.
   */
  rawBacklogBytes: number;
  /** The raw backlog's budget (`tier1.rawBacklogBytes`): one more segment past it and writers wait (WouldBlock `compression`). */
  rawBacklogBudget: number;
  /** The same figure as rawBacklogBytes, under its older name (kept for existing dashboards). */
  rawPendingBytes: number;
  /** zstd level the next compression uses (src/tier1/level-controller.ts): between 1 and compressionLevelMax. */
  compressionLevel: number;
  /** The configured level (`tier1.compressionLevel`): the ceiling the controller returns to. */
  compressionLevelMax: number;
  /**
   * Compressions allowed to run at once, one pool thread each (src/tier1/width-controller.ts):
   * 1 while compression keeps up, wider while the raw backlog is above a quarter of its budget and
   * a core is idle, up to compressThreadsMax. Threads start on demand and end after 30 s idle, so
   * the threads alive may briefly differ from this figure; never more run compressions.
   */
  compressThreads: number;
  /** The widest the pool gets: os.availableParallelism(), at least 1. */
  compressThreadsMax: number;
  /**
   * The zstd every compress and hydrate thread uses: `'zstd-zlib'` (Node's built-in) or
   * `'zstd-addon'` (@mongodb-js/zstd), `tier1.codec` as resolved at open. Both write and read the same frames.
   */
  codec: ZstdImplementation;
  /** Frames being filled (a read of several frames counts each). */
  hydrateQueue: number;
  /** Threads of the hydration pool right now (between tier1.hydrateMin/MaxThreads). */
  hydrateThreads: number;
  /** The most the hydration pool grows to (`tier1.hydrateMaxThreads`). */
  hydrateThreadsMax: number;
  /** Damaged local Tier 1 copies dropped and read from Tier 2 instead. */
  localCorruptRefetches: number;
  /**
   * Compression attempts that read the raw file because the segment was not resident: queued by
   * recovery, or its held slot was taken by a writer or reader that needed one (see Arena.hold).
   */
  compressedFromFile: number;
  /**
   * Manifest appends compression went on without (COMPRESSION_STARTED, COMPRESSION_FAILED) that
   * failed: the transition is not recorded, the next open re-derives it (the segment is still
   * SEALED there, so it is compressed again).
   */
  manifestAppendFailures: number;
  lastError: string | null;
}

/** The part of Tier1Stats this class counts (the rest is the read path's). */
export type CompressStats = Omit<Tier1Stats, 'framesDecompressed' | 'hydrateRetries' | 'hydrateFailures' | 'hydrateQueue' | 'hydrateThreads' | 'hydrateThreadsMax' | 'localCorruptRefetches'>;

/** What Tier 1 is given at construction (its ports). */
export interface Tier1Deps {
  arena: Arena;
  coordinator: Coordinator;
  manifest: ManifestLog;
  config: ResolvedConfig;
  events?: EngineEvents;
  /**
   * A segment's Tier 1 file is durable and recorded (COMPRESSION_DONE) and its raw file gone: the
   * manager wires Tier 2's upload queue here (nothing without Tier 2).
   */
  onCompressed?: (stream: string, seg: Segment) => void;
  /** Time for the backoff between attempts (default real time; tests inject a fake). */
  clock?: Clock;
  /** Jitter of that backoff (default Math.random). */
  random?: Random;
  /**
   * The machine's idle cores, read once per compression task by the width controller (default:
   * measured from os.cpus(), src/tier1/idle-cores.ts; the manager passes a fixed reading under the
   * `compress.idlecores` failpoint).
   */
  idleCores?: IdleCores;
}

interface Job {
  stream: string;
  seg: Segment;
  /** The segment's arena slot, held for the compressor from queueing to the end of its compression (see #hold). */
  held?: number;
  /** Its `aof2:segment.seal` span while the seal is watched (src/tracing.ts), when anyone subscribes. */
  seal?: SegmentSealSpanContext;
}

const COMPRESS_WORKER = new URL('../../workers/compress.js', import.meta.url).href;

/**
 * The footer (data CRC, newest timestamp) of a sealed, durable segment, from disk (the slot's CRC word is only
 * valid until the slot is next acquired, which may already have happened).
 * @throws AOF_ERR_CORRUPT if the footer does not describe the segment; AOF_ERR_IO
 */
async function sealedFooter(seg: Segment): Promise<SegmentFooter> {
  let fh;
  try {
    fh = await openFile(seg.path, OpenMode.READ);
    const tail = new Uint8Array(SEGMENT_FOOTER_BYTES);
    await fh.read(tail, 0, SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES + seg.dataBytes);
    const footer = tryDecodeFooter(tail);
    if (footer === null || footer.baseId !== seg.baseId || footer.recordCount !== seg.count || footer.dataBytes !== seg.dataBytes) {
      throw AofError.corrupt(`segment ${seg.path} has no footer matching its ${seg.count} records`, { path: seg.path });
    }
    return footer;
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('read segment footer', seg.path, err);
  } finally {
    await fh?.close();
  }
}

/** Tier 1's counters: reported only, never read to decide anything (see rawPendingBytes). */
type CompressCounters = Omit<
  CompressStats,
  'compressQueue' | 'rawBacklogBytes' | 'rawBacklogBudget' | 'rawPendingBytes' | 'compressionLevel' | 'compressionLevelMax' | 'compressThreads' | 'compressThreadsMax' | 'codec'
>;

export class Tier1 {
  readonly #stats: CompressCounters = {
    segmentsSealed: 0,
    segmentsCompressed: 0,
    rawBytesCompressed: 0,
    compressedBytes: 0,
    compressRetries: 0,
    compressFailures: 0,
    compressedFromFile: 0,
    manifestAppendFailures: 0,
    lastError: null,
  };
  /**
   * Raw bytes sealed and not compressed yet (queued, running or waiting for their seal to be
   * recorded): control state, read by Tier 2's back-pressure through {@link rawPendingBytes}.
   */
  #rawPendingBytes = 0;
  /** `tier1.rawBacklogBytes`: see {@link rawBacklogFull}. */
  readonly #budget: number;
  readonly #segmentBytes: number;
  readonly #compressionPolicy: CompressionPolicy;
  /** The width and level controllers' state, stepped once per compression job (#pump). */
  #controllers: CompressionState;
  readonly #idleCores: IdleCores;
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #manifest: ManifestLog;
  readonly #config: ResolvedConfig;
  readonly #compressPool: Piscina | null;
  readonly #sealing: Job[] = [];
  readonly #queue: Job[] = [];
  /** The sealing watcher and running compressions; close() drains them. */
  readonly #work: BackgroundWork;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #onCompressed: (stream: string, seg: Segment) => void;
  readonly #events: EngineEvents;
  #watching = false;
  #running = 0;
  /** Raw bytes of the running compressions: the part of the backlog that already has a thread. */
  #runningBytes = 0;
  #closed = false;

  constructor({
    arena,
    coordinator,
    manifest,
    config,
    events = new EngineEvents(null),
    onCompressed = () => undefined,
    clock = systemClock,
    random = Math.random,
    idleCores = new IdleCoreSampler(),
  }: Tier1Deps) {
    this.#clock = clock;
    this.#random = random;
    this.#work = new BackgroundWork(clock);
    this.#events = events;
    this.#onCompressed = onCompressed;
    this.#arena = arena;
    this.#coordinator = coordinator;
    this.#manifest = manifest;
    this.#config = config;
    this.#budget = config.tier1.rawBacklogBytes;
    this.#segmentBytes = config.segmentBytes;
    this.#compressionPolicy = compressionPolicy(config.tier1.compressionLevel, Math.max(1, availableParallelism()));
    this.#controllers = initialCompressionState(this.#compressionPolicy);
    this.#idleCores = idleCores;
    // I/O-heavy pools: atomics disabled (piscina's Atomics.wait idling would block the worker's
    // event loop); bounded queues; no inherited Node flags. As many threads as the width can
    // reach; they start on demand (#pump runs at most `width` tasks), so one thread is all a
    // compressor that keeps up ever starts. Idle threads end after POOL_IDLE_MS; until then they
    // keep nothing alive: piscina 5 unrefs a thread and its port while it has no task, so a
    // manager the user forgot to close does not hold the process
    // (test/integration/exit-without-close.test.ts).
    this.#compressPool = config.tier1.enabled
      ? new Piscina({
          filename: COMPRESS_WORKER,
          minThreads: 0,
          maxThreads: this.#compressionPolicy.width.maxWidth,
          idleTimeout: POOL_IDLE_MS,
          maxQueue: 64,
          atomics: 'disabled',
          execArgv: [],
        })
      : null;
  }

  /**
   * A snapshot of the counters, with the queue depth and the raw backlog as they are now. Nothing
   * reads it to decide anything: the backlog's owner is {@link rawPendingBytes}.
   */
  stats(): CompressStats {
    return {
      ...this.#stats,
      compressQueue: this.#queue.length + this.#running,
      rawBacklogBytes: this.#rawPendingBytes,
      rawBacklogBudget: this.#budget,
      rawPendingBytes: this.#rawPendingBytes,
      compressionLevel: this.#controllers.level.level,
      compressionLevelMax: this.#compressionPolicy.level.maxLevel,
      compressThreads: this.#controllers.width.width,
      compressThreadsMax: this.#compressionPolicy.width.maxWidth,
      codec: this.#config.tier1.codec,
    };
  }

  /**
   * Raw bytes sealed and not compressed yet: local data not in Tier 2, which the manager adds to
   * Tier 2's backlog for the `tier2` back-pressure (counted from the seal, synchronously).
   */
  get rawPendingBytes(): number {
    return this.#rawPendingBytes;
  }

  /** The latest failure of the read path's Tier 1 work, reported as `stats().lastError` (one lastError for both pools). */
  noteError(message: string): void {
    this.#stats.lastError = message;
  }

  /** A log sealed `seg`; record and compress it once the flush worker made it durable. */
  onSealing(stream: string, seg: Segment): void {
    // Counted from the seal, synchronously: a writer that never yields must still see the
    // backlog at its next rollover (Tier 2 back-pressure), not after the next event-loop turn.
    const job: Job = { stream, seg };
    if (SPANS.segmentSeal.active) {
      job.seal = { stream, baseId: seg.baseId, records: seg.count, bytes: seg.dataBytes };
      SPANS.segmentSeal.start(job.seal);
    }
    if (this.#compressPool !== null) {
      this.#rawPendingBytes += seg.dataBytes;
      // Held from the seal on: by the time the seal is recorded, a fast writer would have evicted it.
      this.#hold(job);
    }
    this.#sealing.push(job);
    if (!this.#watching) void this.#work.track(this.#watchSealing());
  }

  /** Queues a sealed raw segment found at recovery. */
  enqueue(stream: string, seg: Segment): void {
    if (this.#compressPool === null) return;
    this.#rawPendingBytes += seg.dataBytes;
    this.#queueJob({ stream, seg });
  }

  #queueJob(job: Job): void {
    if (this.#compressPool === null) return; // tier1.enabled false: sealed segments stay raw
    if (job.held === undefined) this.#hold(job);
    this.#queue.push(job);
    this.#pump();
  }

  /**
   * Holds a sealed segment's slot for the compressor until its compression ends, so the worker
   * reads it from the arena instead of the raw file (a raw file read costs about 0.5 ms of CPU per
   * MB on this machine's tiered-ingest). Opportunistic: a hold is not a pin and never makes a
   * writer or reader wait. Held slots are evicted last, the newest hold first (Arena.hold); one
   * taken that way is compressed from its file, which is fresh and normally in the page cache.
   * (Holds used to be pins, up to half the arena, and writers then ran at the compressor's speed.)
   */
  #hold(job: Job): void {
    const slot = job.seg.slot;
    if (slot < 0) return;
    const state = this.#arena.state(slot);
    if (state !== SlotState.SEALING && state !== SlotState.CLEAN) return;
    this.#arena.hold(slot, job.seg);
    job.held = slot;
  }

  /**
   * True when one more segment could take the raw backlog past its budget: the log's rollover then
   * waits (WouldBlock `compression`) until a compression ends and frees room (the coordinator is
   * kicked then). Checked once per segment, before a new one is admitted; counting the new
   * segment in full keeps the sealed raw backlog within the budget for a single writing stream,
   * and within budget + (streams with an active segment - 1) x segmentBytes in general (each
   * stream's active segment was admitted while the room for it existed). A recovery that queues
   * more than the budget makes writers wait until compression brings it back under.
   */
  get rawBacklogFull(): boolean {
    return this.#rawPendingBytes + this.#segmentBytes > this.#budget;
  }

  #release(job: Job): void {
    if (job.held === undefined) return;
    this.#arena.unhold(job.held, job.seg);
    delete job.held;
  }

  /** A segment left the raw backlog (compressed, given up, or not to be compressed now): wake writers waiting for room. */
  #leaveBacklog(job: Job): void {
    this.#rawPendingBytes -= job.seg.dataBytes;
    this.#coordinator.kick();
  }

  /** Resolves once nothing is sealing, queued or running. */
  drain(): Promise<void> {
    return this.#work.drain();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Wakes the sealing watcher at once, so it sees #closed (see #watchSealing).
    this.#coordinator.kick();
    await this.drain();
    await this.#compressPool?.destroy();
  }

  async #watchSealing(): Promise<void> {
    this.#watching = true;
    try {
      while (this.#sealing.length > 0) {
        const durable: Job[] = [];
        for (let i = 0; i < this.#sealing.length; ) {
          const job = this.#sealing[i]!;
          const state = this.#sealState(job.seg);
          // Still OPEN once close() began: the manager waits for every seal before closing
          // Tier 1 unless it failed, and then the flush worker will never finish this one.
          if (state === SegState.OPEN && !this.#closed) {
            i++;
            continue;
          }
          this.#sealing.splice(i, 1);
          if (state === SegState.SEALED) durable.push(job);
          else {
            this.#sealFailed(job, new AofError(ErrorCode.IO, `segment ${job.seg.baseId} of stream ${job.stream} was not sealed: the flush worker failed it or stopped`, { details: { stream: job.stream, baseId: job.seg.baseId } }));
            this.#dropPending(job);
          }
          // FAILED (or SEALING at close after a failure): the flush failure is already the
          // manager's; nothing to record or compress. Recovery deals with the file at the next open.
        }
        // The data CRC comes from the footer on disk, not from the slot's CRC word: while this
        // loop awaited the manifest, the slot may have been evicted, or evicted and then filled
        // again by a hydration (CLEAN, same segment, CRC word reset to 0).
        const ready: Job[] = [];
        const footers: PromiseSettledResult<SegmentFooter>[] = [];
        for (let at = 0; at < durable.length; at += FOOTER_READS_AT_ONCE) {
          footers.push(...(await Promise.allSettled(durable.slice(at, at + FOOTER_READS_AT_ONCE).map((job) => sealedFooter(job.seg)))));
        }
        for (let i = 0; i < durable.length; i++) {
          const footer = footers[i]!;
          if (footer.status === 'fulfilled') {
            durable[i]!.seg.apply({ type: SegmentEventType.SEALED, dataCrc: footer.value.dataCrc, maxTimestamp: footer.value.maxTimestamp });
            ready.push(durable[i]!);
          } else {
            // Left raw and unrecorded: recovery records and compresses it at the next open.
            this.#dropPending(durable[i]!);
            const err: unknown = footer.reason;
            this.#sealFailed(durable[i]!, err);
            this.#stats.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
          }
        }
        if (ready.length > 0) {
          this.#stats.segmentsSealed += ready.length;
          try {
            await this.#manifest.append(ready.map((job) => sealedRecord(job.stream, job.seg)));
            for (const job of ready) this.#events.sealed(job.stream, job.seg.baseId, job.seg.count, job.seg.dataBytes);
            for (const job of ready) this.#sealDone(job);
            for (const job of ready) this.#queueJob(job);
          } catch (err) {
            for (const job of ready) this.#sealFailed(job, err);
            for (const job of ready) this.#dropPending(job);
            // The raw files are sealed and durable; without their SEALED record they are not
            // compressed now. Recovery records and compresses them at the next open.
            this.#stats.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
          }
        }
        if (this.#sealing.length > 0) await this.#coordinator.nextChange();
      }
    } finally {
      this.#watching = false;
    }
  }

  /**
   * The state of a sealing segment's table entry: OPEN until the flush worker wrote the footer and
   * fsynced, then SEALED, at which point the entry is released here (this watcher is its last
   * reader: durableId takes a released entry for SEALED), or FAILED.
   */
  #sealState(seg: Segment): number {
    if (seg.handle < 0) return SegState.SEALED;
    const state = this.#arena.segments.state(seg.handle);
    if (state === SegState.SEALED) {
      this.#arena.segments.free(seg.handle);
      seg.apply({ type: SegmentEventType.HANDLE_RELEASED });
    }
    return state;
  }

  /** The seal is durable and recorded: its span completes. */
  #sealDone(job: Job): void {
    if (job.seal === undefined) return;
    SPANS.segmentSeal.end(job.seal);
    delete job.seal;
  }

  /** The seal did not complete (flush failure, unreadable footer, unrecorded): its span fails. */
  #sealFailed(job: Job, err: unknown): void {
    if (job.seal === undefined) return;
    SPANS.segmentSeal.fail(job.seal, err);
    delete job.seal;
  }

  /** A sealed segment that will not be compressed now leaves the backlog. */
  #dropPending(job: Job): void {
    if (this.#compressPool !== null) this.#leaveBacklog(job);
    this.#release(job);
  }

  /**
   * Starts queued compressions up to the controller's width, never more; the width never exceeds
   * the pool's maxThreads, so every job started finds a thread or room to start one. That matters:
   * piscina (5.x, with `minThreads: 0`) strands a task queued inside the pool when the worker
   * running another one exits (crash, OOM): it starts no thread for the queue until the next
   * `run()`, which may never come (no more seals, or close() waiting on it). Queued here instead, a
   * job starts only when a `run()` can start a thread for it. A narrower width lets running jobs
   * finish and starts no more until fewer run.
   */
  #pump(): void {
    while (this.#running < this.#controllers.width.width && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running++;
      this.#runningBytes += job.seg.dataBytes;
      // One controller step per job, with the backlog waiting for a thread: the segments being
      // compressed, this one included, are left out (with a budget of a few segments, one segment
      // being compressed is not a compressor falling behind, and with w threads a pool that keeps
      // up always has w - 1 others running). Every attempt of the job uses that level. A widen
      // lets this loop start one more job at once; the idle-core reading starts over, since it did
      // not see the new thread.
      const width = this.#controllers.width.width;
      const sample = {
        backlog: (this.#rawPendingBytes - this.#runningBytes) / this.#budget,
        running: this.#runningBytes / this.#budget,
        idleCores: this.#idleCores.read(),
      };
      this.#controllers = stepCompression(this.#controllers, sample, this.#compressionPolicy);
      if (this.#controllers.width.width > width) this.#idleCores.restart();
      const level = this.#controllers.level.level;
      void this.#work.track(
        this.#compress(job, level).finally(() => {
          this.#release(job);
          this.#running--;
          this.#runningBytes -= job.seg.dataBytes;
          this.#leaveBacklog(job);
          this.#pump();
        }),
      );
    }
  }

  /** One segment's compression, every attempt, inside its `aof2:segment.compress` span when anyone subscribes. */
  #compress(job: Job, level: number): Promise<void> {
    if (!SPANS.segmentCompress.active) return this.#compressAttempts(job, level, null);
    const span: SegmentCompressSpanContext = {
      stream: job.stream,
      baseId: job.seg.baseId,
      bytes: job.seg.dataBytes,
      level,
      compressedBytes: 0,
      frames: 0,
      source: 'arena',
      attempts: 0,
    };
    return SPANS.segmentCompress.run(span, () => this.#compressAttempts(job, level, span));
  }

  async #compressAttempts({ stream, seg }: Job, level: number, span: SegmentCompressSpanContext | null): Promise<void> {
    const pool = this.#compressPool!;
    /** Set when a failure met close(): neither retried nor given up (see classify). */
    let cutShort = false;
    /** The span completed: at the hand-over, so the upload's span starts after it. */
    let spanEnded = false;
    const outcome = await retry(
      async (attempt) => {
        // Not awaited: the record only makes a crash mid-compression visible in the log. A failure
        // is counted and reported; the manifest then refuses COMPRESSION_DONE too, so the segment
        // stays SEALED and the next open compresses it again.
        void this.#manifest
          .append([{ type: ManifestRecordType.COMPRESSION_STARTED, stream, baseId: seg.baseId, fields: { attempt } }])
          .catch((err: unknown) => this.#manifestAppendFailed(stream, seg.baseId, 'COMPRESSION_STARTED', err));
        // Read from the arena when the whole segment is resident; pin so the slot outlives the task.
        const slot = seg.slot >= 0 && this.#arena.state(seg.slot) === SlotState.CLEAN ? seg.slot : -1;
        if (slot >= 0) this.#arena.pin(slot);
        else this.#stats.compressedFromFile++;
        if (span !== null) {
          span.attempts = attempt;
          span.source = slot >= 0 ? 'arena' : 'file';
        }
        const task: CompressTask = {
          source: slot >= 0 ? { kind: 'arena', sab: this.#arena.sab, offset: this.#arena.base(slot) } : { kind: 'file', path: seg.path },
          dataBytes: seg.dataBytes,
          recordCount: seg.count,
          baseId: seg.baseId,
          dataCrc: seg.dataCrc,
          level,
          codec: this.#config.tier1.codec,
          frameTarget: this.#config.tier1.frameBytes,
          targetPath: seg.t1Path,
        };
        try {
          const result = (await pool.run(task)) as CompressResult;
          await this.#manifest.append([
            {
              type: ManifestRecordType.COMPRESSION_DONE,
              stream,
              baseId: seg.baseId,
              fields: { compressedBytes: result.compressedBytes, frameCount: result.frameCount },
            },
          ]);
          seg.apply({ type: SegmentEventType.COMPRESSION_DONE, frameIndex: result.index, compressedBytes: result.compressedBytes, frameCount: result.frameCount });
          this.#stats.segmentsCompressed++;
          this.#stats.rawBytesCompressed += seg.dataBytes;
          this.#stats.compressedBytes += result.compressedBytes;
          await unlink(seg.path).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
          this.#events.compressed(stream, seg.baseId, seg.dataBytes, result.compressedBytes, result.frameCount, attempt);
          if (span !== null && !spanEnded) {
            span.compressedBytes = result.compressedBytes;
            span.frames = result.frameCount;
            SPANS.segmentCompress.end(span);
            spanEnded = true;
          }
          this.#onCompressed(stream, seg);
        } finally {
          if (slot >= 0) {
            this.#arena.unpin(slot);
            this.#coordinator.kick();
          }
        }
      },
      {
        attempts: MAX_COMPRESS_ATTEMPTS,
        backoff: COMPRESS_BACKOFF,
        toError: fromWorkerRejection,
        clock: this.#clock,
        random: this.#random,
        classify: (err, attempt) => {
          this.#stats.lastError = `${err.code}: ${err.message}`;
          if (this.#closed && attempt < MAX_COMPRESS_ATTEMPTS && err.code !== ErrorCode.CORRUPT) {
            // Closing: no retry now, but no give-up either. COMPRESSION_FAILED is final (recovery
            // never queues it again), so an attempt cut short by close() leaves the segment SEALED
            // and the next open compresses it.
            cutShort = true;
            return 'stop';
          }
          // UNSAFE_PATH: a link or non-regular file where a segment or its Tier 1 file goes;
          // retrying cannot help. CORRUPT: the source is damaged.
          return err.code === ErrorCode.UNSAFE_PATH || err.code === ErrorCode.CORRUPT ? 'stop' : 'backoff';
        },
        onRetry: (err, attempt) => {
          this.#stats.compressRetries++;
          this.#events.retried('compress', stream, seg.baseId, attempt, err);
        },
      },
    );
    if (outcome.ok) return;
    const { error: err, attempt } = outcome;
    const failSpan = (): void => {
      if (span !== null && !spanEnded) SPANS.segmentCompress.fail(span, err);
    };
    if (cutShort) {
      // Not a give-up (the next open compresses it), but this compression did not happen.
      failSpan();
      return;
    }
    this.#stats.compressFailures++;
    this.#events.failed('compress', stream, seg.baseId, attempt, err);
    // UNSAFE_PATH: COMPRESSION_FAILED would outlive the fix. Left SEALED: once the entry is
    // replaced by the real file, the next open compresses it (or refuses the link again).
    if (err.code !== ErrorCode.UNSAFE_PATH) {
      // Out of attempts, or CORRUPT: given up for good.
      await this.#manifest
        .append([{ type: ManifestRecordType.COMPRESSION_FAILED, stream, baseId: seg.baseId, fields: { attempts: attempt } }])
        // Unrecorded, the segment stays SEALED (raw, readable): the next open tries again.
        .catch((err: unknown) => this.#manifestAppendFailed(stream, seg.baseId, 'COMPRESSION_FAILED', err));
    }
    failSpan();
  }

  /** A manifest append compression went on without failed: counted, kept as lastError, reported. */
  #manifestAppendFailed(stream: string, baseId: number, record: string, err: unknown): void {
    this.#stats.manifestAppendFailures++;
    this.#stats.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
    this.#events.manifestAppendFailed('tier1', stream, baseId, record, err);
  }
}
