/**
 * The read path: the one owner of "make this (segment, frame) readable". Readers ask it; it asks
 * the sources (Tier 1's local files, Tier 2's objects) and runs the hydrate pool. Nothing else
 * brings data back into the arena.
 *
 * "Hydrate" used to mean three things; here each has its own name (docs/read-path.md):
 *
 * Everything comes back as a **read range** (docs/tier0-windows.md, stage 3): a run of its own
 * whose START is the data offset of its first byte, published to the segment (RANGE_LOADED) and
 * CLEAN once complete; never a run of a whole segment.
 *
 * - **load**: the chunk of a raw segment file (`.seg`) holding a record, ~`tier0.readChunkBytes`
 *   of whole records from a known record boundary, read and CRC-checked frame by frame by a worker
 *   (src/read/segment-load.ts, workers/hydrate.ts `loadChunk`); sealed segments and the written
 *   part of open ones (active, parked, sealing) alike. The first load of a segment recovery
 *   trusted from the catalog checks its file's length, header and footer first (lazy footers).
 * - **index**: a compressed segment's frame index is fetched from the source that holds it (the
 *   local `.t1` file, or two ranged GETs of the Tier 2 object); for a segment only Tier 2 holds,
 *   the index the manifest recorded at upload is taken instead when there is one (no request).
 * - **fill**: the zstd frame holding a record is decompressed by a worker straight into a run of
 *   the frame's raw size, which then becomes a range (START = the frame's rawOffset)
 *   (workers/hydrate.ts default export). Concurrent readers of a frame share one task; sequential
 *   readers ask for the next range (chunk or frame) while they read the current one.
 *
 * And one that reads nothing: **publish**, the new frames of a writer's active segment that a
 * read-only manager's refresh has already read and CRC-checked on the main thread, copied into a
 * run as a range for the readers at the tail (src/read/tail-publish.ts), with no worker.
 *
 * A fourth, **recache** (the whole Tier 2 object copied back into the local Tier 1 cache), stays
 * with Tier 2: it moves no data into the arena. The read path only tells the remote source which
 * segments readers touched. The public names (`aof2:segment.hydrated`, task kind `hydrate`,
 * `aof_tier1_hydrate_*`) keep "hydrate" as the umbrella word for all of them.
 *
 * Failure policy (unchanged from when this lived in log.ts and tier1.ts): a load failure is left
 * in `seg.error` for readers (corruption permanent, anything else reported once and retried); a
 * fill is retried with backoff up to MAX_FILL_ATTEMPTS, except CORRUPT and UNSAFE_PATH, which are
 * final, unless the damaged copy is the local one and Tier 2 holds the segment: then the local
 * copy is dropped and the fill goes to Tier 2.
 */
import { Piscina } from 'piscina';
import type { Arena } from '../arena/arena.js';
import { G_PROGRESS_EPOCH, SegState, SlotState } from '../arena/layout.js';
import type { ResolvedConfig } from '../config.js';
import type { ZstdImplementation } from '../codec/zstd.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { AofError, ErrorCode } from '../errors.js';
import type { EngineEvents } from '../events.js';
import type { EngineCounters } from '../metrics/engine-counters.js';
import { SegmentEventType, SegmentTier, type Segment } from '../tier0/segment.js';
import { frameForRecord } from '../format/tier1.js';
import { fromWorkerRejection } from '../worker-error.js';
import type { ChunkLoadResult, ChunkLoadTask, HydrateTask, WarmTask } from '../../workers/tier1-protocol.js';
import type { RemoteSegmentSource, SegmentSource, StreamView } from './ports.js';
import { publishRange, startChunkLoad, type ChunkLoaded } from './segment-load.js';
import { publishCheckedFrames, type CheckedFrames } from './tail-publish.js';
import { BackgroundWork, retry, systemClock, type Backoff, type Clock, type Random } from '../background.js';
import { SPANS, type SegmentHydrateSpanContext } from '../tracing.js';

/** Attempts of one frame fill before its error is handed to readers. */
export const MAX_FILL_ATTEMPTS = 8;
/** Backoff between fill attempts (full jitter; src/background.ts). */
const FILL_BACKOFF: Backoff = { baseMs: 10, maxMs: 1000 };
/** Pool threads end after this long without a task (and are started again on demand). */
const IDLE_MS = 1000;
/**
 * A scan of segments only Tier 2 holds (a follower's, or a writer's of evicted segments) keeps the
 * frames past its own range resident or on their way, across segment boundaries, up to this many
 * bytes of arena runs, and asks for them half that window at a time, each request one ranged GET
 * of consecutive frames: a request to the bucket has a cost of its own on both ends whatever its
 * size (moto on loopback: ~3 ms for one 45 KiB frame, ~6 ms for a whole 740 KiB segment), so one
 * GET per frame held a follower's scan at a quarter of a local one however many were in flight
 * (docs/decisions.md, "A follower's scan reads ahead in coalesced GETs"). Counted in runs as the
 * arena hands them out (a frame takes a run of the next power of two: a 256 KiB frame 256 KiB, one
 * of a file written before frames stayed within `frameTarget` 512 KiB): 16 MiB is 64 default
 * frames, four default segments ahead in requests of one segment.
 *
 * The window is also capped by the reader reserve (`tier0.readerReserveBytes`, an eighth of the
 * arena by default: one reader's read-ahead never holds more of the arena than readers are
 * promised; 16 MiB with the default arena) and by a quarter of the arena: frames read ahead are
 * cached runs, evicted oldest first, so a window near the arena's size evicts them before the
 * reader gets there and fetches them twice. At least two frames, one per request.
 */
const REMOTE_READ_AHEAD_BYTES = 16 * 1024 * 1024;

const HYDRATE_WORKER = new URL('../../workers/hydrate.js', import.meta.url).href;

/**
 * Counters of the read path. Reported inside `manager.stats().tier1` (Tier1Stats keeps these
 * names; the metrics are `aof_tier1_hydrate_*`), where they were before the read path existed.
 */
export interface ReadStats {
  framesDecompressed: number;
  hydrateRetries: number;
  hydrateFailures: number;
  /** Frames being filled (a read of several frames counts each). */
  hydrateQueue: number;
  /** Threads of the hydrate pool right now (between tier1.hydrateMin/MaxThreads). */
  hydrateThreads: number;
  /** The most the hydrate pool grows to (`tier1.hydrateMaxThreads`): the ceiling of hydrateThreads. */
  hydrateThreadsMax: number;
  /** Damaged local Tier 1 copies dropped and read from Tier 2 instead. */
  localCorruptRefetches: number;
}

/**
 * Lazy footers (reported in `manager.stats().recovery`, not with the Tier 1 counters): sealed raw
 * segments recovery trusted from the catalog whose file the first load checked.
 */
export interface FooterCheckStats {
  /** Files checked at a first load and found to agree with the catalog. */
  footersChecked: number;
  /** Files found not to agree (AOF_ERR_CORRUPT for every read of the segment): `aof_recovery_bad_footers_total`. */
  badFooters: number;
}

/** What the read path is given at construction (its ports). */
export interface ReadPathDeps {
  arena: Arena;
  coordinator: Coordinator;
  config: ResolvedConfig;
  events: EngineEvents;
  counters: EngineCounters;
  /** Tier 1: the local `.t1` files. */
  local: SegmentSource;
  /** Tier 2, or null without one. */
  remote: RemoteSegmentSource | null;
  /** No slot was free for a load: ask the manager to seal an active segment somewhere. */
  relievePressure(): void;
  /** The latest failure, as `CODE: message` (reported as `stats().tier1.lastError`). */
  noteError(message: string): void;
  /**
   * A file the read path was sent to (a raw segment, a Tier 1 file) is not there (ENOENT). A
   * read-only manager passes this: another process writes the root and may have moved the segment
   * on (compressed, evicted, expired) after this process last looked, always recording the move
   * in the manifest before removing the file. It resolves once the view is up to date, and the
   * failure is then judged against the segment as it is now (docs/read-path.md, "Read-only opens
   * from another process"). Absent (the writer): the failure stands as it is.
   */
  sourceGone?(): Promise<void>;
  /** Time for the backoff between fill attempts (default real time; tests inject a fake). */
  clock?: Clock;
  /** Jitter of that backoff (default Math.random). */
  random?: Random;
}

export class ReadPath {
  readonly #stats: ReadStats = {
    framesDecompressed: 0,
    hydrateRetries: 0,
    hydrateFailures: 0,
    hydrateQueue: 0,
    hydrateThreads: 0,
    hydrateThreadsMax: 0,
    localCorruptRefetches: 0,
  };
  readonly #footers: FooterCheckStats = { footersChecked: 0, badFooters: 0 };
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #events: EngineEvents;
  readonly #counters: EngineCounters;
  readonly #local: SegmentSource;
  readonly #remote: RemoteSegmentSource | null;
  readonly #relievePressure: () => void;
  readonly #noteError: (message: string) => void;
  readonly #sourceGone: (() => Promise<void>) | null;
  readonly #pool: Piscina;
  /** Loads, index fetches and fills under way; close() waits for them. */
  readonly #work: BackgroundWork;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #load: (task: ChunkLoadTask) => Promise<ChunkLoadResult>;
  /** tier0.readChunkBytes: the size of a raw chunk load. */
  readonly #chunkBytes: number;
  /** The zstd implementation of every hydrate task (`tier1.codec`, resolved at open). */
  readonly #codec: ZstdImplementation;
  /** Tier 1 is on: the warm-up loads the codec too. */
  readonly #codecWarm: boolean;
  /** Bytes of arena runs a scan keeps ahead in segments only Tier 2 holds: REMOTE_READ_AHEAD_BYTES within the reader reserve and a quarter of the arena. */
  readonly #remoteAheadBytes: number;
  #closed = false;

  constructor(deps: ReadPathDeps) {
    this.#stats.hydrateThreadsMax = deps.config.tier1.hydrateMaxThreads;
    this.#arena = deps.arena;
    this.#coordinator = deps.coordinator;
    this.#events = deps.events;
    this.#counters = deps.counters;
    this.#local = deps.local;
    this.#remote = deps.remote;
    this.#relievePressure = deps.relievePressure;
    this.#noteError = deps.noteError;
    this.#sourceGone = deps.sourceGone === undefined ? null : () => deps.sourceGone!();
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    this.#work = new BackgroundWork(this.#clock);
    this.#codec = deps.config.tier1.codec;
    this.#codecWarm = deps.config.tier1.enabled;
    this.#chunkBytes = deps.config.readChunkBytes;
    this.#remoteAheadBytes = Math.min(REMOTE_READ_AHEAD_BYTES, deps.config.readerReserveBytes, (deps.config.slotCount * deps.config.segmentBytes) / 4);
    // Scales with the backlog: piscina starts a thread (up to the maximum) whenever a task would
    // queue, and retires threads idle for IDLE_MS down to the minimum (seed 000: hydration
    // worker auto-scaling). Tier 2 fetches wait on the network, so each thread takes two at once.
    // I/O settings (atomics disabled, bounded queue, no inherited Node flags) as for every pool.
    this.#pool = new Piscina({
      filename: HYDRATE_WORKER,
      minThreads: deps.config.tier1.hydrateMinThreads,
      maxThreads: deps.config.tier1.hydrateMaxThreads,
      concurrentTasksPerWorker: 2,
      idleTimeout: IDLE_MS,
      maxQueue: 256,
      atomics: 'disabled',
      execArgv: [],
    });
    // Bound once: one closure for every load, rejections rebuilt into coded AofErrors. A file
    // that is gone is judged after the view caught up (sourceGone): the segment may have moved on.
    this.#load = (task) =>
      this.#pool.run(task, { name: 'loadChunk' }).then(
        (result: ChunkLoadResult) => result,
        async (raw: unknown) => {
          const err = fromWorkerRejection(raw);
          if (this.#sourceGone !== null && isGone(err)) await this.#sourceGone();
          throw err;
        },
      );
  }

  /**
   * Starts a hydrate thread and, with Tier 1 on, loads the codec in it (the `warm` task of
   * workers/hydrate.ts), so the first cold read after `open()` does not pay for both. Best effort:
   * a failure is noted (`lastError`) and the first read tries again. The thread then lives like
   * any other: it ends after IDLE_MS without a task (docs/decisions.md, "Pool threads end when idle").
   */
  warm(): Promise<void> {
    const task: WarmTask = { codec: this.#codecWarm ? this.#codec : null };
    return this.#work.track(
      this.#pool.run(task, { name: 'warm' }).then(
        () => undefined,
        (raw: unknown) => this.#noteError(`hydrate warm-up failed: ${fromWorkerRejection(raw).message}`),
      ),
    );
  }

  /** A snapshot of the counters, with the pool's live thread count. */
  stats(): ReadStats {
    this.#stats.hydrateThreads = this.#pool.threads.length;
    return { ...this.#stats };
  }

  /**
   * Makes record `index` (0-based) of a segment resident, or starts to: for a raw segment (sealed,
   * or the written part of one the flush worker has open) the chunk holding it is loaded into a
   * run of its own (src/read/segment-load.ts); for a compressed one its frame index is fetched
   * once, then the frame holding the record is decompressed into a run of its own. Returns false
   * when no run is free yet (the caller waits for a coordinator change and calls again); true
   * when resident or on its way. `readAhead`: a sequential reader asking for the range after its
   * own; never relieves pressure for it.
   * @throws AOF_ERR_UNAVAILABLE when no copy of the segment exists
   */
  ensureResident(stream: string, seg: Segment, index: number, readAhead = false): boolean {
    if (seg.slot >= 0) return true;
    const open = seg.handle >= 0 && this.#arena.segments.state(seg.handle) === SegState.OPEN;
    if (open || seg.tier === SegmentTier.RAW) {
      const started = seg.hydration === null;
      const t0 = performance.now();
      // Its `aof2:segment.hydrate` span (kind load), made only if this call started a load: the
      // load settles asynchronously (a worker task), so always after this start.
      let span: SegmentHydrateSpanContext | null = null;
      const ok = startChunkLoad(this.#arena, seg, index, this.#chunkBytes, this.#load, (loaded) => this.#onLoaded(stream, seg, t0, loaded, span));
      if (ok === true && started && seg.hydration !== null) {
        if (SPANS.segmentHydrate.active) {
          span = hydrateSpan(stream, seg, 'load', 'raw', null);
          SPANS.segmentHydrate.start(span);
        }
        void this.#work.track(seg.hydration);
      }
      if (ok === false && !readAhead) this.#relievePressure();
      return ok !== false;
    }
    if (seg.tier === SegmentTier.MISSING) {
      if (readAhead) return false; // the reader's own record is still readable: it reports this when it gets there
      throw new AofError(ErrorCode.UNAVAILABLE, `records ${seg.baseId}..${seg.endId - 1} of stream ${stream} have no local copy (${seg.path})`, {
        details: { stream, baseId: seg.baseId, path: seg.path },
      });
    }
    // A manager without Tier 2 (a read-only one opened without the writer's tier2 option) meets a
    // segment the writer evicted: nothing here can read it.
    if (seg.tier === SegmentTier.TIER2 && this.#remote === null) {
      if (readAhead) return false;
      throw new AofError(ErrorCode.UNAVAILABLE, `records ${seg.baseId}..${seg.endId - 1} of stream ${stream} are only in Tier 2, which this manager does not read (open it with the writer's tier2 option)`, {
        details: { stream, baseId: seg.baseId },
      });
    }
    // A segment only Tier 2 holds whose index the manifest recorded: no index round trip, the
    // frame's ranged GET is the read's only request.
    if (seg.frameIndex === null && seg.tier === SegmentTier.TIER2 && seg.hydration === null) this.#takeRecordedIndex(stream, seg);
    if (seg.frameIndex === null) {
      if (seg.hydration === null) {
        const loading = this.#fetchIndex(stream, seg).finally(() => {
          seg.apply({ type: SegmentEventType.LOAD_SETTLED });
          this.#coordinator.kick();
        });
        seg.apply({ type: SegmentEventType.LOAD_STARTED, work: loading });
        void this.#work.track(loading);
      }
      return true;
    }
    // A chunk load of the raw file that began before compression finished is still running: let
    // it settle first (one load per segment at a time; its range stays valid: same bytes).
    if (seg.hydration !== null) return true;
    const frame = frameForRecord(seg.frameIndex, index);
    return this.#frameOnItsWay(seg, frame) || this.#startFill(stream, seg, frame, 1, readAhead) > 0;
  }

  /**
   * A scanning reader pinned the range of `seg` that ends before record `next` (0-based in the
   * segment; the segment's record count when the range is its last): starts loading what it
   * reads next, so that it finds it resident. In a segment only Tier 2 holds, the next
   * `REMOTE_READ_AHEAD_BYTES`, into the following segments too while they are only in Tier 2, in
   * requests of consecutive frames (`#remoteReadAhead`); elsewhere the next range of the segment
   * (a chunk or a frame), as a local read costs little more than its bytes. Never relieves
   * pressure: read-ahead takes only runs that are free or evictable.
   */
  readAhead(view: StreamView, seg: Segment, next: number): void {
    if (this.#remote !== null && onlyRemote(seg) && seg.frameIndex !== null) {
      this.#remoteReadAhead(view, seg, next);
      return;
    }
    if (next < view.endIdOf(seg) - seg.baseId && seg.rangeFor(next) === null) this.ensureResident(view.name, seg, next, true);
  }

  /**
   * Keeps the frames after record `next` of `seg` resident or on their way, as many as
   * #remoteAheadBytes of arena runs hold (at least two), continuing into the next segments of the
   * stream while they are only in Tier 2. The first missing frame starts a fill of half that many
   * consecutive frames (one ranged GET; fewer at a segment's end), once the window has room for
   * all of them: a scan that frees one frame at a time must not go back to one request per frame.
   * Counted in runs of `seg`'s first frame (a full one). Stops at the first run the arena cannot
   * give, and at a segment that is not only in Tier 2 or whose index is not known yet (its fetch
   * is started: a later call goes on there).
   */
  #remoteReadAhead(view: StreamView, seg: Segment, next: number): void {
    let s = seg;
    let frame = next < s.count ? frameForRecord(s.frameIndex!, next) : s.frameIndex!.length;
    const run = Math.max(1, this.#arena.runBytesFor(s.frameIndex![0]?.rawBytes ?? 0));
    let room = Math.max(2, Math.floor(this.#remoteAheadBytes / run));
    const groupFrames = Math.floor(room / 2);
    while (room > 0) {
      const frames = s.frameIndex!.length;
      if (frame >= frames) {
        const following = view.segmentFor(s.endId);
        if (following === undefined || !onlyRemote(following)) return;
        if (following.frameIndex === null) this.#takeRecordedIndex(view.name, following);
        if (following.frameIndex === null) {
          // No recorded index: the object's is fetched (two small GETs), the frames come later.
          this.ensureResident(view.name, following, 0, true);
          return;
        }
        s = following;
        frame = 0;
        continue;
      }
      if (this.#frameOnItsWay(s, frame)) {
        frame++;
        room--;
        continue;
      }
      const group = Math.min(groupFrames, frames - frame);
      if (group > room) return;
      const started = this.#startFill(view.name, s, frame, group, true);
      if (started === 0) return;
      frame += started;
      room -= started;
    }
  }

  /** Frame `frame` of a compressed segment is resident or being filled. */
  #frameOnItsWay(seg: Segment, frame: number): boolean {
    if (seg.frameHydrations.has(frame)) return true;
    const entry = seg.frameIndex![frame]!;
    const resident = seg.rangeFor(entry.firstRecord);
    return resident !== null && resident.endRecord >= entry.firstRecord + entry.recordCount;
  }

  /**
   * Starts filling frame `first` of a compressed segment (not resident, not on its way) and, up to
   * `count` frames in all, the frames after it that are neither: each gets a run
   * of its raw size (HYDRATING) that a worker decompresses it into, all with one read of their
   * compressed span (one ranged GET from Tier 2); each run becomes a range of the segment (START =
   * the frame's rawOffset) and CLEAN once the task is done (no residency bitmap: a run is either
   * loading or complete). Returns the frames started: 0 when no run was free for the first.
   */
  #startFill(stream: string, seg: Segment, first: number, count: number, readAhead: boolean): number {
    const index = seg.frameIndex!;
    const slots: number[] = [];
    for (let f = first; f < Math.min(first + count, index.length); f++) {
      if (f > first && this.#frameOnItsWay(seg, f)) break;
      const slot = this.#arena.acquire(seg, SlotState.HYDRATING, index[f]!.rawBytes);
      if (slot < 0) break;
      slots.push(slot);
    }
    if (slots.length === 0) {
      if (!readAhead) this.#relievePressure();
      return 0;
    }
    for (let i = 0; i < slots.length; i++) seg.frameHydrations.add(first + i);
    this.#stats.hydrateQueue += slots.length;
    void this.#work.track(
      this.#fill(stream, seg, slots, first).finally(() => {
        for (let i = 0; i < slots.length; i++) seg.frameHydrations.delete(first + i);
        this.#stats.hydrateQueue -= slots.length;
        this.#coordinator.kick();
      }),
    );
    return slots.length;
  }

  /**
   * Frames a read-only manager's refresh has just read and CRC-checked on this thread, put into
   * the arena as a read range (src/read/tail-publish.ts), so that a reader at the tail reads them
   * without loading them again in a hydrate thread. Returns the bytes published; 0 when none were
   * (no run free, or closed): readers then load them as before.
   */
  publishChecked(seg: Segment, frames: CheckedFrames): number {
    if (this.#closed) return 0;
    return publishCheckedFrames(this.#arena, seg, frames, this.#chunkBytes);
  }

  /** The lazy footer checks so far. */
  footerStats(): FooterCheckStats {
    return { ...this.#footers };
  }

  /** Frame fills, loads and index fetches under way (tests and settle use the stats instead). */
  drain(): Promise<void> {
    return this.#work.drain();
  }

  /** Waits for everything under way, then stops the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.drain();
    await this.#pool.destroy();
  }

  /** A raw chunk load settled (successfully or not). */
  #onLoaded(stream: string, seg: Segment, t0: number, loaded: ChunkLoaded, span: SegmentHydrateSpanContext | null): void {
    if (loaded.footer === 'checked') this.#footers.footersChecked++;
    else if (loaded.footer === 'bad') {
      // Never silent: counted, noted as the last error, published as a failed event, and thrown
      // to every reader of the segment.
      this.#footers.badFooters++;
      this.#noteError(`${seg.error!.code}: ${seg.error!.message}`);
    }
    if (seg.error !== null) this.#events.failed('hydrate', stream, seg.baseId, 1, seg.error);
    // Nothing published and no error: compressed while it loaded (the raw copy's failure was
    // moot), or the run was too small for a record and the next try takes a larger one.
    else if (loaded.bytes > 0) this.#events.hydrated(stream, seg.baseId, 'raw', 'arena', null, (performance.now() - t0) / 1000, loaded.start, loaded.bytes);
    if (span !== null) {
      span.offset = loaded.start;
      span.bytes = loaded.bytes;
      if (seg.error !== null) SPANS.segmentHydrate.fail(span, seg.error);
      else SPANS.segmentHydrate.end(span);
    }
    this.#coordinator.kick();
  }

  /**
   * Installs the frame index the manifest recorded for a segment only Tier 2 holds, when there is
   * one that describes it; then, as after a fetched index, the segment may be copied back locally.
   */
  #takeRecordedIndex(stream: string, seg: Segment): void {
    const remote = this.#remote;
    const index = remote?.recordedIndex(stream, seg) ?? null;
    if (index === null) return;
    seg.apply({ type: SegmentEventType.INDEX_LOADED, frameIndex: index });
    remote!.touched(stream, seg);
  }

  /**
   * Fetches the frame index from the source holding the segment: the local Tier 1 file (after a
   * restart it is only there) or, for a segment only Tier 2 holds, the object, which is then
   * copied back locally in the background when the budget allows. A failure is left in seg.error.
   */
  #fetchIndex(stream: string, seg: Segment): Promise<void> {
    const remote = seg.tier === SegmentTier.TIER2 ? this.#remote : null;
    // Its `aof2:segment.hydrate` span (kind index), when anyone subscribes.
    const span: SegmentHydrateSpanContext | null = SPANS.segmentHydrate.active ? hydrateSpan(stream, seg, 'index', remote !== null ? 'tier2' : 'tier1', null) : null;
    const fetch = (): Promise<void> =>
      (remote ?? this.#local).loadIndex(stream, seg).then(
        (index) => {
          seg.apply({ type: SegmentEventType.INDEX_LOADED, frameIndex: index });
          if (span !== null) SPANS.segmentHydrate.end(span);
          remote?.touched(stream, seg);
        },
        async (err: unknown) => {
          const error = err instanceof AofError ? err : AofError.io('read tier 1 index', seg.t1Path, err);
          if (this.#sourceGone !== null && isGone(error)) {
            // Moved on meanwhile (evicted, expired): the reader's retry goes where it is now.
            const tier = seg.tier;
            await this.#sourceGone();
            if (seg.tier !== tier || seg.expired) {
              if (span !== null) SPANS.segmentHydrate.end(span);
              return;
            }
          }
          seg.apply({ type: SegmentEventType.FAILED, error });
          if (span !== null) SPANS.segmentHydrate.fail(span, error);
        },
      );
    return span === null ? fetch() : SPANS.segmentHydrate.run(span, fetch);
  }

  /**
   * Fills `slots` with frames `first`, `first + 1`, ... (one run each), inside their
   * `aof2:segment.hydrate` span (kind fill: `frame` the first one, `bytes` all of them) when
   * anyone subscribes.
   */
  #fill(stream: string, seg: Segment, slots: number[], first: number): Promise<void> {
    if (!SPANS.segmentHydrate.active) return this.#fillAttempts(stream, seg, slots, first, null);
    const span = hydrateSpan(stream, seg, 'fill', seg.tier === SegmentTier.TIER2 ? 'tier2' : 'tier1', first);
    span.offset = seg.frameIndex![first]!.rawOffset;
    for (let i = 0; i < slots.length; i++) span.bytes += seg.frameIndex![first + i]!.rawBytes;
    return SPANS.segmentHydrate.run(span, () => this.#fillAttempts(stream, seg, slots, first, span));
  }

  /**
   * Fills `slots` with frames `first`, `first + 1`, ... in one task (one read of their span), then
   * publishes each as a range; or releases them all on failure, which the segment reports as a
   * fill of one frame does.
   */
  async #fillAttempts(stream: string, seg: Segment, slots: number[], first: number, span: SegmentHydrateSpanContext | null): Promise<void> {
    const started = performance.now();
    const entries = seg.frameIndex!.slice(first, first + slots.length);
    const following = entries.slice(1).map((entry, i) => ({ entry, targetOffset: this.#arena.base(slots[i + 1]!) }));
    /** The source of the attempt that failed last: Tier 2, or null for the local copy. */
    let remote: RemoteSegmentSource | null = null;
    const outcome = await retry(
      async (attempt) => {
        // Retention removed the segment meanwhile: its files are gone; readers report OUT_OF_RANGE.
        if (seg.expired) return;
        // Chosen per attempt: an eviction between attempts moves the segment to Tier 2.
        remote = seg.tier === SegmentTier.TIER2 ? this.#remote : null;
        if (span !== null) {
          span.attempts = attempt;
          span.source = remote !== null ? 'tier2' : 'tier1';
        }
        const task: HydrateTask = {
          // A credentials provider is called here, on the main thread: the task carries its answer.
          source: await (remote ?? this.#local).frameSource(seg),
          entry: entries[0]!,
          sab: this.#arena.sab,
          targetOffset: this.#arena.base(slots[0]!),
          progressIndex: G_PROGRESS_EPOCH,
          codec: this.#codec,
        };
        if (following.length > 0) task.following = following;
        await this.#pool.run(task);
        this.#stats.framesDecompressed += entries.length;
        const seconds = (performance.now() - started) / 1000;
        const source = remote !== null ? 'tier2' : 'tier1';
        entries.forEach((entry, i) => {
          this.#counters.hydration.record(seconds);
          this.#events.hydrated(stream, seg.baseId, source, 'arena', first + i, seconds, entry.rawOffset, entry.rawBytes);
        });
      },
      {
        attempts: MAX_FILL_ATTEMPTS,
        backoff: FILL_BACKOFF,
        toError: fromWorkerRejection,
        clock: this.#clock,
        random: this.#random,
        classify: (err) => {
          // Gone from where this process last saw it: the next attempt looks where it is now.
          if (this.#sourceGone !== null && isGone(err)) return this.#sourceGone().then(() => 'backoff' as const);
          this.#noteError(`${err.code}: ${err.message}`);
          const tier2 = this.#remote;
          if (err.code === ErrorCode.CORRUPT && remote === null && seg.uploaded && tier2 !== null) {
            // The local copy is damaged but Tier 2 has the segment: drop the copy, fetch from
            // there at once (the next attempt picks Tier 2; it does not count against the limit).
            return tier2.dropCorruptLocal(seg).then(() => {
              this.#stats.localCorruptRefetches++;
              return 'now';
            });
          }
          return err.code === ErrorCode.CORRUPT || err.code === ErrorCode.UNSAFE_PATH ? 'stop' : 'backoff';
        },
        onRetry: (err, attempt) => {
          this.#stats.hydrateRetries++;
          this.#events.retried('hydrate', stream, seg.baseId, attempt, err);
        },
      },
    );
    if (outcome.ok && !seg.expired) {
      entries.forEach((entry, i) => {
        publishRange(this.#arena, seg, slots[i]!, {
          start: entry.rawOffset,
          first: entry.firstRecord,
          end: entry.rawOffset + entry.rawBytes,
          endRecord: entry.firstRecord + entry.recordCount,
        });
      });
      if (span !== null) SPANS.segmentHydrate.end(span);
      return;
    }
    for (const slot of slots) this.#arena.release(slot);
    if (outcome.ok) {
      // Expired meanwhile: readers report OUT_OF_RANGE; nothing was brought back.
      if (span !== null) {
        span.bytes = 0;
        SPANS.segmentHydrate.end(span);
      }
      return;
    }
    this.#stats.hydrateFailures++;
    this.#events.failed('hydrate', stream, seg.baseId, outcome.attempt, outcome.error);
    seg.apply({ type: SegmentEventType.FAILED, error: outcome.error });
    if (span !== null) SPANS.segmentHydrate.fail(span, outcome.error);
  }
}

/** A segment only Tier 2 holds, with no whole-segment slot and no load or index fetch under way. */
function onlyRemote(seg: Segment): boolean {
  return seg.tier === SegmentTier.TIER2 && seg.slot < 0 && seg.hydration === null && !seg.expired;
}

/** An AOF_ERR_IO whose file was not there (a worker's rebuilt error keeps the errno in details). */
function isGone(err: AofError): boolean {
  return err.code === ErrorCode.IO && err.details?.['errno'] === 'ENOENT';
}

/** A new `aof2:segment.hydrate` context for the read path (one attempt, nothing brought back yet). */
function hydrateSpan(stream: string, seg: Segment, kind: 'load' | 'index' | 'fill', source: SegmentHydrateSpanContext['source'], frame: number | null): SegmentHydrateSpanContext {
  return { stream, baseId: seg.baseId, kind, source, target: 'arena', frame, offset: kind === 'load' ? -1 : 0, bytes: 0, attempts: 1 };
}
