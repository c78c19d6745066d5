/**
 * The read path: the one owner of "make this (segment, frame) readable". Readers ask it; it asks
 * the sources (Tier 1's local files, Tier 2's objects) and runs the hydrate pool. Nothing else
 * brings data back into the arena.
 *
 * "Hydrate" used to mean three things; here each has its own name (docs/read-path.md):
 *
 * - **load**: a raw segment (`.seg`) is read into a slot and checked by a worker: a sealed one
 *   whole, against its footer's CRC; a parked active one (its slot given to another stream and
 *   evicted) up to what the flush worker wrote, frame by frame (src/read/segment-load.ts,
 *   workers/hydrate.ts `loadSegment`). The log's unpark uses the same load.
 * - **index**: a compressed segment's frame index is fetched from the source that holds it (the
 *   local `.t1` file, or two ranged GETs of the Tier 2 object); the segment then gets an empty
 *   slot that is filled frame by frame (`seg.partial`).
 * - **fill**: one zstd frame is decompressed by a worker straight into that slot, its residency
 *   bit set and PROGRESS_EPOCH bumped (workers/hydrate.ts default export). Concurrent readers of a
 *   frame share one task; sequential readers ask for one frame ahead.
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
import type { Coordinator } from '../coordinator/coordinator.js';
import { AofError, ErrorCode } from '../errors.js';
import type { EngineEvents } from '../events.js';
import type { EngineCounters } from '../metrics/engine-counters.js';
import { SegmentEventType, SegmentTier, type Segment } from '../tier0/segment.js';
import { fromWorkerRejection } from '../worker-error.js';
import type { HydrateTask, SegmentLoadTask, WarmTask } from '../../workers/tier1-protocol.js';
import type { RemoteSegmentSource, SegmentSource } from './ports.js';
import { startPrefixLoad, startSegmentLoad } from './segment-load.js';
import { BackgroundWork, retry, systemClock, type Backoff, type Clock, type Random } from '../background.js';

/** Attempts of one frame fill before its error is handed to readers. */
export const MAX_FILL_ATTEMPTS = 8;
/** Backoff between fill attempts (full jitter; src/background.ts). */
const FILL_BACKOFF: Backoff = { baseMs: 10, maxMs: 1000 };
/** Pool threads end after this long without a task (and are started again on demand). */
const IDLE_MS = 1000;

const HYDRATE_WORKER = new URL('../../workers/hydrate.js', import.meta.url).href;

/**
 * Counters of the read path. Reported inside `manager.stats().tier1` (Tier1Stats keeps these
 * names; the metrics are `aof_tier1_hydrate_*`), where they were before the read path existed.
 */
export interface ReadStats {
  framesDecompressed: number;
  hydrateRetries: number;
  hydrateFailures: number;
  /** Frame fills running. */
  hydrateQueue: number;
  /** Threads of the hydrate pool right now (between tier1.hydrateMin/MaxThreads). */
  hydrateThreads: number;
  /** Damaged local Tier 1 copies dropped and read from Tier 2 instead. */
  localCorruptRefetches: number;
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
    localCorruptRefetches: 0,
  };
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #events: EngineEvents;
  readonly #counters: EngineCounters;
  readonly #local: SegmentSource;
  readonly #remote: RemoteSegmentSource | null;
  readonly #relievePressure: () => void;
  readonly #noteError: (message: string) => void;
  readonly #pool: Piscina;
  /** Loads, index fetches and fills under way; close() waits for them. */
  readonly #work: BackgroundWork;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #load: (task: SegmentLoadTask) => Promise<void>;
  /** Tier 1 is on: the warm-up loads the zstd binding too. */
  readonly #codecWarm: boolean;
  #closed = false;

  constructor(deps: ReadPathDeps) {
    this.#arena = deps.arena;
    this.#coordinator = deps.coordinator;
    this.#events = deps.events;
    this.#counters = deps.counters;
    this.#local = deps.local;
    this.#remote = deps.remote;
    this.#relievePressure = deps.relievePressure;
    this.#noteError = deps.noteError;
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    this.#work = new BackgroundWork(this.#clock);
    this.#codecWarm = deps.config.tier1.enabled;
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
    // Bound once: one closure for every load, rejections rebuilt into coded AofErrors.
    this.#load = (task) =>
      this.#pool.run(task, { name: 'loadSegment' }).then(
        () => undefined,
        (raw: unknown) => {
          throw fromWorkerRejection(raw);
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
    const task: WarmTask = { codec: this.#codecWarm };
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
   * Makes a non-resident segment resident, or starts to: a raw segment is loaded into a slot
   * (a parked active one up to its written length); a compressed one gets its frame index fetched and then an empty slot that readers fill
   * frame by frame ({@link requestFrame}). Returns false when no slot is free yet (the caller
   * waits for a coordinator change and calls again); true when resident or on its way.
   * @throws AOF_ERR_UNAVAILABLE when no copy of the segment exists
   */
  ensureResident(stream: string, seg: Segment, index = 0): boolean {
    if (seg.slot >= 0) return true;
    // The flush worker still has the file open (active, parked or sealing): its windows hold the
    // tail, the written prefix is loaded as a range (stage 2).
    if (seg.handle >= 0 && this.#arena.segments.state(seg.handle) === SegState.OPEN) {
      const started = seg.hydration === null;
      const t0 = performance.now();
      const ok = startPrefixLoad(this.#arena, seg, index, this.#load, () => this.#onLoaded(stream, seg, t0));
      if (ok === true && started && seg.hydration !== null) void this.#work.track(seg.hydration);
      if (ok === false) this.#relievePressure();
      return ok !== false;
    }
    if (seg.tier === SegmentTier.MISSING) {
      throw new AofError(ErrorCode.UNAVAILABLE, `records ${seg.baseId}..${seg.endId - 1} of stream ${stream} have no local copy (${seg.path})`, {
        details: { stream, baseId: seg.baseId, path: seg.path },
      });
    }
    if (seg.tier === SegmentTier.RAW) {
      const started = seg.hydration === null;
      const t0 = performance.now();
      const ok = startSegmentLoad(this.#arena, seg, this.#load, () => this.#onLoaded(stream, seg, t0));
      if (ok && started && seg.hydration !== null) void this.#work.track(seg.hydration);
      if (!ok) this.#relievePressure();
      return ok;
    }
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
    // A load of the raw file that began before compression finished is still running: it gives
    // the segment a whole slot. A partial slot taken now would be a second slot of one segment.
    if (seg.hydration !== null) return true;
    const slot = this.#arena.acquire(seg, SlotState.CLEAN, seg.dataBytes);
    if (slot < 0) {
      this.#relievePressure();
      return false;
    }
    seg.apply({ type: SegmentEventType.SLOT_ASSIGNED, slot, partial: true });
    return true;
  }

  /**
   * Makes sure frame `frame` of `seg` (a compressed segment holding a partial slot) is resident or
   * on its way. Returns at once; readers wait on the coordinator. Out-of-range frames (a read
   * ahead past the last one) are ignored.
   */
  requestFrame(stream: string, seg: Segment, frame: number): void {
    if (seg.slot < 0 || seg.frameIndex === null || frame >= seg.frameIndex.length) return;
    if (seg.frameHydrations.has(frame) || this.#arena.frameResident(seg.slot, frame)) return;
    seg.frameHydrations.add(frame);
    const slot = seg.slot;
    this.#arena.pin(slot); // the worker writes into this slot: it must not be evicted meanwhile
    this.#stats.hydrateQueue++;
    void this.#work.track(
      this.#fill(stream, seg, slot, frame).finally(() => {
        seg.frameHydrations.delete(frame);
        this.#arena.unpin(slot);
        this.#stats.hydrateQueue--;
        this.#coordinator.kick();
      }),
    );
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

  /** A raw segment's load into the arena settled (successfully or not). */
  #onLoaded(stream: string, seg: Segment, t0: number): void {
    if (seg.error !== null) this.#events.failed('hydrate', stream, seg.baseId, 1, seg.error);
    // No slot and no error: compressed while it loaded, the raw copy's failure was moot (segment-load.ts).
    else if (seg.slot >= 0 || seg.ranges.length > 0) this.#events.hydrated(stream, seg.baseId, 'raw', 'arena', null, (performance.now() - t0) / 1000);
    this.#coordinator.kick();
  }

  /**
   * Fetches the frame index from the source holding the segment: the local Tier 1 file (after a
   * restart it is only there) or, for a segment only Tier 2 holds, the object, which is then
   * copied back locally in the background when the budget allows. A failure is left in seg.error.
   */
  #fetchIndex(stream: string, seg: Segment): Promise<void> {
    const remote = seg.tier === SegmentTier.TIER2 ? this.#remote : null;
    return (remote ?? this.#local).loadIndex(stream, seg).then(
      (index) => {
        seg.apply({ type: SegmentEventType.INDEX_LOADED, frameIndex: index });
        remote?.touched(stream, seg);
      },
      (err: unknown) => {
        seg.apply({ type: SegmentEventType.FAILED, error: err instanceof AofError ? err : AofError.io('read tier 1 index', seg.t1Path, err) });
      },
    );
  }

  async #fill(stream: string, seg: Segment, slot: number, frame: number): Promise<void> {
    const started = performance.now();
    const entry = seg.frameIndex![frame]!;
    const { index, bit } = this.#arena.frameBit(slot, frame);
    /** The source of the attempt that failed last: Tier 2, or null for the local copy. */
    let remote: RemoteSegmentSource | null = null;
    const outcome = await retry(
      async () => {
        // Retention removed the segment meanwhile: its files are gone; readers report OUT_OF_RANGE.
        if (seg.expired) return;
        // Chosen per attempt: an eviction between attempts moves the segment to Tier 2.
        remote = seg.tier === SegmentTier.TIER2 ? this.#remote : null;
        const task: HydrateTask = {
          // A credentials provider is called here, on the main thread: the task carries its answer.
          source: await (remote ?? this.#local).frameSource(seg),
          entry,
          sab: this.#arena.sab,
          targetOffset: this.#arena.base(slot) + entry.rawOffset,
          bitmapIndex: index,
          bitmapBit: bit,
          progressIndex: G_PROGRESS_EPOCH,
        };
        await this.#pool.run(task);
        this.#stats.framesDecompressed++;
        const seconds = (performance.now() - started) / 1000;
        this.#counters.hydration.record(seconds);
        this.#events.hydrated(stream, seg.baseId, remote !== null ? 'tier2' : 'tier1', 'arena', frame, seconds);
      },
      {
        attempts: MAX_FILL_ATTEMPTS,
        backoff: FILL_BACKOFF,
        toError: fromWorkerRejection,
        clock: this.#clock,
        random: this.#random,
        classify: (err) => {
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
    if (outcome.ok) return;
    this.#stats.hydrateFailures++;
    this.#events.failed('hydrate', stream, seg.baseId, outcome.attempt, outcome.error);
    seg.apply({ type: SegmentEventType.FAILED, error: outcome.error });
  }
}
