/**
 * One stream: dense ids, an active segment written through a write window in the arena, and the
 * list of older segments.
 *
 * The append hot path (`#tryAppend`) writes one frame into the active window with typed-array
 * stores and a `Uint8Array.set`, publishes it with `Atomics.store`, and rings the flusher's
 * doorbell. It allocates nothing, creates no promise, makes no syscall and computes no CRC (the
 * flush worker does). `#base` is the window's run address less the window's START, so
 * `#base + #writeOff` addresses segment byte `#writeOff`, and `#capacity` is the window's end in
 * segment bytes. Everything else — window rollover, segment rollover, admission, unparking,
 * waiting — is the slow path, taken once per window.
 *
 * Windows (docs/tier0-windows.md, stage 2): a full window with room left in the segment rolls
 * over to a new run chained to it in shared memory (`#nextWindow`); window sizes adapt to the
 * append rate and the stream's share of the window budget (`#adaptWindow`, the rule in
 * src/tier0/window-size.ts), and windows are taken within the arena's window budget
 * (`Arena.acquireWindow`: a smaller window, or the pressure path, when the writers' share is
 * spent; stage 4). Parking (stage 1): when the arena is full, the manager parks
 * another stream's active segment instead of sealing it. The segment stays active and its file
 * open; its window is written out and becomes an evictable cache entry; the log's capacity drops
 * to 0, so its next append takes the slow path and takes its window back (if still resident) or a
 * new one at the segment's end. Segments seal by size, or at close with Tier 2. Without Tier 2 a
 * close leaves the active segment open (the flush worker writes a footer the manifest does not
 * record), and the next open hands it back as the active segment, parked without a window: the
 * stream goes on in the same segment file across sessions (docs/decisions.md, "A clean close
 * leaves the tail open").
 *
 * The async API is a loop over the sync one: `append` tries `#tryAppend`; when that reports
 * "would block" the payload joins a FIFO queue that retries after each coordinator wake-up, so
 * async appends keep their call order and a sync append cannot overtake a queued one. An
 * `AbortSignal` (`append(payload, { signal })`) takes a queued append out of the queue before it
 * is admitted; once admitted, abort only stops the wait for durability (docs/read-path.md).
 *
 * Live tail (`follow()`, `reader.next({ wait })`): readers caught up with the tail await
 * `nextAppend()`. The hot path pays one test of a boolean field for it (`#tailWaiting`); only when
 * it is set does an append resolve the waiters' shared promise, and it clears the flag, so a run
 * of appends in one synchronous stretch wakes them once (docs/decisions.md, "Live tail").
 */
import type { Arena } from './arena/arena.js';
import type { SegmentTable } from './arena/segment-table.js';
import { S_FLUSHED_LEN, S_NEXT, S_START, S_WRITE_LEN, SegState, SlotState, slotWord } from './arena/layout.js';
import { maxPayloadBytes, type ResolvedConfig } from './config.js';
import type { Coordinator } from './coordinator/coordinator.js';
import { AofError, ErrorCode, WouldBlockError, WouldBlockKind, type WouldBlockKindValue } from './errors.js';
import { RECORD_HEADER_BYTES, encodeFrameInto, frameLength } from './format/record.js';
import { CLONE_REMEDY, refuseClone } from './not-cloneable.js';
import { abortError, untilAborted } from './abort.js';
import { checkOptions, signalOf } from './call-options.js';
import { openFollow, type FollowOptions } from './follow.js';
import { openArenaReader, openReader, recordsUpTo, type AofReader, type ArenaReader, type LogRecord, type ReaderEngine, type ReaderHost, type ReaderOptions } from './reader.js';
import {
  createReadStream,
  createWriteStream,
  type LogReadStream,
  type ReadStreamOptions,
  type ReadStreamSource,
  type WriteStreamOptions,
  type WriteStreamTarget,
} from './node-streams.js';
import type { Writable } from 'node:stream';
import type { StreamView } from './read/ports.js';
import type { ReadPath } from './read/read-path.js';
import type { Flusher } from './tier0/flusher.js';
import { Segment, SegmentEventType } from './tier0/segment.js';
import type { Tier1 } from './tier1/tier1.js';
import type { EngineCounters } from './metrics/engine-counters.js';
import { segmentPath, tier1Path } from './format/root-layout.js';
import { nextWindowBytes, windowShareBytes, windowSizeBounds, type WindowSizeBounds } from './tier0/window-size.js';
import { SPANS, type AppendDurableSpanContext } from './tracing.js';

// Defined with the reader that returns it; re-exported here where users have always found it.
export type { LogRecord } from './reader.js';

interface QueuedAppend {
  payload: Uint8Array;
  /** A batch (appendBatch): its payloads, appended together; `payload` is then unused. */
  batch: readonly Uint8Array[] | null;
  /** performance.now() at the call when this append is sampled for admission latency, else -1. */
  startedAt: number;
  resolve: (id: number | Promise<number>) => void;
  reject: (err: unknown) => void;
  /** The call's AbortSignal (`append(payload, { signal })`), or null. */
  signal: AbortSignal | null;
  /** Its abort listener while the append is queued (removed when it leaves the queue), or null. */
  onAbort: (() => void) | null;
}

/** Options of `log.append(payload, options)` and `log.appendBatch(payloads, options)`. */
export interface AppendOptions {
  /**
   * Aborting it rejects the call with an `AbortError` (`cause`: the signal's reason). An append
   * still queued for room is taken out of the queue: nothing is appended, no id is used (the
   * appends queued after it get the ids). An append already admitted stays appended: abort only
   * stops the wait for durability under `fsync: 'always'`. An already aborted signal rejects at
   * once, with nothing appended.
   */
  signal?: AbortSignal;
}

/** Options of `log.flush(options)`. */
export interface FlushOptions {
  /**
   * Aborting it rejects the call with an `AbortError` (`cause`: the signal's reason); the fsync it
   * asked for still happens (the records become durable all the same). An already aborted signal
   * rejects at once.
   */
  signal?: AbortSignal;
}

const APPEND_OPTIONS = ['signal'];

/**
 * The signal of `append`/`appendBatch` options, or null.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
function appendSignal(options: AppendOptions, call: string): AbortSignal | null {
  checkOptions(options, APPEND_OPTIONS, call);
  return signalOf(options.signal, call) ?? null;
}

interface DurableWaiter {
  id: number;
  resolve: (id: number) => void;
  reject: (err: unknown) => void;
}

/** What the manager lends each log. */
export interface LogContext {
  arena: Arena;
  flusher: Flusher;
  coordinator: Coordinator;
  config: ResolvedConfig;
  /** Parks another stream's active segment when the arena is full of active segments. */
  relievePressure(requester: LogCore | null): void;
  /** Monotonic counter for ordering admissions. */
  tick(): number;
  /** Tier 1: compression of sealed segments (and its raw backlog budget, which holds writers back once spent). */
  tier1: Tier1;
  /** Makes segments and frames resident for this log's readers. */
  read: ReadPath;
  /** True while Tier 2 is too far behind for new segments (WouldBlock kind `tier2`). */
  tier2Blocked(): boolean;
  /** WouldBlock counts and latency histograms (read at scrape time). */
  counters: EngineCounters;
  /** close() seals the active segment (with Tier 2: it is shipped); else it stays open for the next session. */
  sealOnClose: boolean;
}

/**
 * What the public {@link AofLog} delegates to: the writer's {@link LogCore}, or the log of a
 * read-only manager (src/read-only/read-only-log.ts), whose writes throw AOF_ERR_READ_ONLY. The
 * Node streams see the same object through their own ports.
 */
export interface LogEngine extends ReadStreamSource, WriteStreamTarget {
  readonly name: string;
  readonly firstId: number;
  readonly durableId: number;
  append(payload: Uint8Array, options?: AppendOptions): Promise<number>;
  appendBatchSync(payloads: readonly Uint8Array[]): number;
  appendBatch(payloads: readonly Uint8Array[], options?: AppendOptions): Promise<number>;
  flush(options?: FlushOptions): Promise<void>;
  read(options: { from?: number }): AsyncIterableIterator<LogRecord>;
  follow(options: FollowOptions): AsyncIterableIterator<LogRecord>;
  /** What `await using` does when the scope ends. */
  dispose(): Promise<void>;
}

/**
 * The engine's side of one stream: everything the manager, retention, metrics and readers need,
 * behind the public {@link AofLog} facade (piscina's pattern: a thin public class over a private
 * core). Not exported from the package: its members are internal by construction, not by a doc tag.
 */
export class LogCore implements StreamView, LogEngine {
  readonly #name: string;
  readonly #dir: string;
  readonly #ctx: LogContext;
  readonly #arena: Arena;
  readonly #u8: Uint8Array;
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  readonly #ctrl: Int32Array;
  readonly #table: SegmentTable;
  readonly #flusher: Flusher;
  readonly #segmentBytes: number;
  readonly #fsyncAlways: boolean;
  /** Every segment, oldest first; the last one is the active one when #active is not null. */
  readonly #segments: Segment[];
  /** Segments whose records may not all be durable yet (oldest first); see durableId. */
  readonly #undurable: Segment[] = [];
  readonly #queue: QueuedAppend[] = [];
  /**
   * True exactly while #queue is not empty, where user code can run: `append` starts the drain as
   * it queues the first payload, and the drain ends in the same synchronous step that empties the
   * queue (resolving a queued append runs no user code synchronously). The hot path tests this
   * field of the log rather than `#queue.length`: the array is one more heap object, hence one
   * more cache line, per append, which costs with thousands of streams round-robin (issue 11).
   */
  #draining = false;
  /**
   * Drain loops started: a loop that finds it is no longer the latest stops (an abort emptied the
   * queue and ended its run while it waited; a later append may have started another).
   */
  #drainRuns = 0;
  readonly #durableWaiters: DurableWaiter[] = [];
  #durableDraining = false;
  #nextId: number;
  // Active segment, unpacked into fields for the hot path.
  #active: Segment | null = null;
  #base = 0; // byte offset in the SAB of the active segment's byte 0 (the window's run less its START)
  #writeOff = 0; // bytes used in the active segment (kept while it is parked)
  #capacity = 0; // end of the window in segment bytes; 0 without an active segment or while it is parked, so the next append takes the slow path
  #windowSlot = -1; // run of the active segment's last write window (kept while parked)
  #windowOpenedAt = 0; // performance.now() when that window was opened
  #windowFilledFrom = 0; // #writeOff when that window was opened (or taken back): its fill is measured from there
  #windowBytes: number; // size of the next window asked for (adapts to the append rate: see #adaptWindow)
  readonly #windowBounds: WindowSizeBounds;
  #writeLenIndex = 0;
  /**
   * True while a reader waits at the tail (`nextAppend()`): the only thing the append hot path
   * checks for followers. Declared among the hot fields, so the test reads a line they load anyway.
   */
  #tailWaiting = false;
  /** The tail waiters' shared promise and its resolver, while #tailWaiting. */
  #tailChange: Promise<void> | null = null;
  #tailResolve: (() => void) | null = null;
  #activatedAt = -1;
  #blockedKind: WouldBlockKindValue = WouldBlockKind.ADMISSION;
  // Metrics (read at scrape time). Records appended since open are #nextId - #openedNextId: free.
  readonly #openedNextId: number;
  #appendedBytes = 0;
  readonly #counters: EngineCounters;
  /** Appends left until the next one is timed; Infinity when sampling is off (Infinity - 1 stays Infinity). */
  #sampleCountdown: number;
  readonly #sampleEvery: number;
  /** Set on close or on a failure that makes writing unsafe; every write then throws it. */
  #writeError: AofError | null = null;
  readonly #readers = new Set<ReaderEngine>();
  /** Lent to every reader: the log as a read-only view plus the read path (see ReaderHost). */
  readonly #readerHost: ReaderHost;

  /**
   * Created by AofManager.openStream, which hands users `logFacade(core)`. `resumed`: the segment
   * the last close left open (Segment.resumed: parked, no window, a table entry the flush worker
   * took over), continued as the active one; it ends at `nextId`.
   */
  constructor(name: string, dir: string, ctx: LogContext, segments: Segment[], nextId: number, resumed: Segment | null = null) {
    this.#name = name;
    this.#dir = dir;
    this.#ctx = ctx;
    this.#arena = ctx.arena;
    this.#u8 = ctx.arena.u8;
    this.#u32 = ctx.arena.u32;
    this.#f64 = ctx.arena.f64;
    this.#ctrl = ctx.arena.ctrl;
    this.#table = ctx.arena.segments;
    this.#flusher = ctx.flusher;
    this.#segmentBytes = ctx.config.segmentBytes;
    this.#windowBytes = ctx.arena.pageBytes;
    this.#windowBounds = windowSizeBounds(ctx.arena.pageBytes, ctx.config.segmentBytes, ctx.arena.pages * ctx.arena.pageBytes);
    this.#fsyncAlways = ctx.config.fsync === 'always';
    this.#segments = segments;
    this.#nextId = nextId;
    this.#openedNextId = nextId;
    if (resumed !== null) {
      // Its next append unparks it (#unpark: a new window at its data length, attached by command).
      this.#segments.push(resumed);
      this.#undurable.push(resumed);
      this.#active = resumed;
      this.#writeOff = resumed.dataBytes;
    }
    this.#counters = ctx.counters;
    this.#sampleEvery = ctx.counters.sampleEvery;
    this.#sampleCountdown = this.#sampleEvery > 0 ? this.#sampleEvery : Number.POSITIVE_INFINITY;
    this.#readerHost = {
      stream: this,
      read: ctx.read,
      arena: ctx.arena,
      coordinator: ctx.coordinator,
      counters: ctx.counters,
      opened: (reader) => this.#readers.add(reader),
      closed: (reader) => {
        this.#readers.delete(reader);
        ctx.coordinator.kick();
        // A wait of this reader at the tail ends now (with AOF_ERR_CLOSED); the others look again.
        this.#wakeTail();
      },
      nextAppend: () => this.nextAppend(),
      durableId: () => this.durableId,
      durabilityFailure: () => this.#durabilityFailure(),
    };
  }

  /** The stream's name. */
  get name(): string {
    return this.#name;
  }

  /** Records appended through this log since the manager opened it (aof_appended_records_total). */
  get appendedRecords(): number {
    return this.#nextId - this.#openedNextId;
  }

  /** Payload bytes appended since the manager opened it (aof_appended_bytes_total). */
  get appendedBytes(): number {
    return this.#appendedBytes;
  }

  /** Id the next append will get. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Lowest id still stored: everything below it expired (retention). */
  get firstId(): number {
    return this.#segments.length > 0 ? this.#segments[0]!.baseId : this.#nextId;
  }

  /**
   * Highest id such that it and every id below it survive `kill -9` (-1 when none does). Read live
   * from shared memory (the segment table, which outlives slots: a parked segment's count is there
   * whether or not it still has a slot): no waiting, no allocation.
   */
  get durableId(): number {
    const pending = this.#undurable;
    while (pending.length > 0 && this.#fullyDurable(pending[0]!)) pending.shift();
    for (const seg of pending) {
      if (this.#fullyDurable(seg)) continue;
      const durable = this.#table.durableCount(seg.handle);
      if (durable < this.endIdOf(seg) - seg.baseId) return seg.baseId + durable - 1;
    }
    return this.#nextId - 1;
  }

  /**
   * Sealed, footer and data on disk: the table entry says SEALED, or was already released (Tier 1
   * releases it once it read SEALED, in the same step as it clears `seg.handle`).
   */
  #fullyDurable(seg: Segment): boolean {
    return seg.sealed && (seg.handle < 0 || this.#table.state(seg.handle) === SegState.SEALED);
  }

  /**
   * Appends one record and returns its id. The payload is copied; the caller may reuse it at once.
   * The record is readable immediately and durable once `durableId` reaches the returned id.
   *
   * @throws AOF_ERR_WOULD_BLOCK (`WouldBlockError`, kind `admission`, `rollover`, `compression` or
   *   `tier2`) when the record cannot be admitted now; nothing was written. AOF_ERR_INVALID_ARGUMENT (not a Uint8Array),
   *   AOF_ERR_RECORD_TOO_LARGE, AOF_ERR_CLOSED, AOF_ERR_IO / AOF_ERR_WORKER_FAILED after a failure.
   */
  appendSync(payload: Uint8Array): number {
    // One decrement per call pays for the sampled admission histogram (1 call in sampleEvery).
    if (--this.#sampleCountdown === 0) return this.#sampledAppendSync(payload);
    const id = !this.#draining ? this.#tryAppend(payload) : this.#queuedBlock(payload);
    if (id < 0) throw this.#wouldBlock();
    return id;
  }

  /** appendSync, timed into aof_tier0_admission_seconds (successful calls only; a WouldBlock is counted instead). */
  #sampledAppendSync(payload: Uint8Array): number {
    this.#sampleCountdown = this.#sampleEvery;
    const t0 = performance.now();
    const id = !this.#draining ? this.#tryAppend(payload) : this.#queuedBlock(payload);
    if (id < 0) throw this.#wouldBlock();
    this.#counters.admission.record((performance.now() - t0) / 1000);
    return id;
  }

  /**
   * Appends one record, waiting for room instead of throwing WouldBlock. Resolves with the id; under
   * `fsync: 'always'` only once the record is durable. Calls resolve in call order. `signal`: see
   * {@link AppendOptions}.
   *
   * @throws (rejects) the same codes as appendSync, except AOF_ERR_WOULD_BLOCK; AbortError
   */
  append(payload: Uint8Array, options?: AppendOptions): Promise<number> {
    let signal: AbortSignal | null = null;
    if (options !== undefined) {
      // Only a call with options pays for them: the plain call is the hot async path.
      try {
        signal = appendSignal(options, 'append');
      } catch (err) {
        return Promise.reject(err);
      }
      if (signal?.aborted === true) return Promise.reject(abortError(signal));
    }
    let startedAt = -1;
    if (--this.#sampleCountdown === 0) {
      this.#sampleCountdown = this.#sampleEvery;
      startedAt = performance.now();
    }
    try {
      if (!this.#draining) {
        const id = this.#tryAppend(payload);
        if (id >= 0) {
          if (startedAt >= 0) this.#counters.admission.record((performance.now() - startedAt) / 1000);
          return this.#fsyncAlways ? this.#whenDurable(id, signal) : Promise.resolve(id);
        }
      } else {
        this.#queuedBlock(payload);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // This call waits: counted as a WouldBlock of the kind that holds the queue up.
    this.#counters.noteWouldBlock(this.#blockedKind);
    return new Promise<number>((resolve, reject) => {
      this.#enqueue({ payload, batch: null, resolve, reject, startedAt, signal, onAbort: null });
    });
  }

  /** Queues an append that must wait (FIFO), listening to its signal while it is queued. */
  #enqueue(entry: QueuedAppend): void {
    this.#queue.push(entry);
    const signal = entry.signal;
    if (signal !== null) {
      entry.onAbort = () => this.#abortQueued(entry);
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    if (!this.#draining) void this.#drainQueue();
  }

  /** The entry left the queue (admitted, failed, or aborted): stop listening to its signal. */
  #dequeued(entry: QueuedAppend): void {
    if (entry.onAbort !== null) entry.signal!.removeEventListener('abort', entry.onAbort);
    entry.onAbort = null;
  }

  /**
   * An abort of a queued append: out of the queue, nothing appended, no id used. When it was the
   * head, the next one may fit now (a smaller record than the aborted batch): the coordinator is
   * kicked so the drain tries it. When the queue is empty, the drain's run ends here, so a sync
   * append right after the abort is not held behind an empty queue.
   */
  #abortQueued(entry: QueuedAppend): void {
    const at = this.#queue.indexOf(entry);
    if (at < 0) return;
    this.#queue.splice(at, 1);
    entry.onAbort = null; // a once listener: already removed
    entry.reject(abortError(entry.signal!));
    if (this.#queue.length === 0) {
      this.#draining = false;
      this.#drainRuns++;
    } else if (at === 0) {
      this.#ctx.coordinator.kick();
    }
  }

  /**
   * Appends every payload as consecutive records, or none: returns the first record's id, or throws
   * WouldBlock with nothing appended. The records share one window and one publish (one store of
   * WRITE_LEN, one doorbell check), so a batch costs less per record than as many appendSync calls.
   * A batch must fit one segment with its frames (`tier0.segmentBytes`): a larger one is refused
   * with AOF_ERR_BATCH_TOO_LARGE, never waited for.
   */
  appendBatchSync(payloads: readonly Uint8Array[]): number {
    const id = !this.#draining ? this.#tryAppendBatch(payloads) : this.#queuedBatchBlock(payloads);
    if (id < 0) throw this.#wouldBlock();
    return id;
  }

  /**
   * appendBatchSync that waits for room instead of throwing WouldBlock, in call order with
   * `append()`. Resolves with the first id; under `fsync: 'always'` once the whole batch is durable.
   * `signal`: see {@link AppendOptions} (a batch is taken out of the queue whole).
   */
  appendBatch(payloads: readonly Uint8Array[], options?: AppendOptions): Promise<number> {
    let signal: AbortSignal | null = null;
    if (options !== undefined) {
      try {
        signal = appendSignal(options, 'appendBatch');
      } catch (err) {
        return Promise.reject(err);
      }
      if (signal?.aborted === true) return Promise.reject(abortError(signal));
    }
    try {
      if (!this.#draining) {
        const id = this.#tryAppendBatch(payloads);
        if (id >= 0) return this.#batchAppended(id, payloads.length, signal);
      } else {
        this.#queuedBatchBlock(payloads);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    this.#counters.noteWouldBlock(this.#blockedKind);
    // A copy of the array (not of the bytes, as for a queued append()): the caller may reuse it.
    const batch = [...payloads];
    return new Promise<number>((resolve, reject) => {
      this.#enqueue({ payload: batch[0]!, batch, resolve, reject, startedAt: -1, signal, onAbort: null });
    });
  }

  /** What an appended batch's promise resolves with: its first id, once its last is durable under 'always'. */
  #batchAppended(first: number, count: number, signal: AbortSignal | null): Promise<number> {
    if (!this.#fsyncAlways) return Promise.resolve(first);
    return this.#whenDurable(first + count - 1, signal).then(() => first);
  }

  /**
   * Resolves once every record appended before the call is durable (forces an fsync under
   * 'interval' and 'never'). `signal`: see {@link FlushOptions}.
   * @throws (rejects) AOF_ERR_CLOSED, AOF_ERR_IO, AOF_ERR_WORKER_FAILED; AbortError
   */
  flush(options?: FlushOptions): Promise<void> {
    if (options === undefined) return this.#flush();
    let signal: AbortSignal | undefined;
    try {
      checkOptions(options, ['signal'], 'flush');
      signal = signalOf(options.signal, 'flush');
    } catch (err) {
      return Promise.reject(err);
    }
    return signal === undefined ? this.#flush() : untilAborted(this.#flush(), signal);
  }

  async #flush(): Promise<void> {
    // After close everything is durable, but the call is still a mistake worth reporting (as
    // appendSync/append/openReader do), and its TSDoc promised AOF_ERR_CLOSED.
    if (this.#writeError !== null && this.#writeError.code === ErrorCode.CLOSED) throw this.#writeError;
    const target = this.#nextId - 1;
    if (this.durableId >= target) return;
    this.#flusher.requestSync();
    await this.#durable(target);
  }

  /** Throws AOF_ERR_CLOSED once the manager closed the log (a write failure alone does not: reads go on). */
  checkOpen(): void {
    if (this.#writeError !== null && this.#writeError.code === ErrorCode.CLOSED) throw this.#writeError;
  }

  /** What a write stream checks at creation: the log is open (a writer's log is writable while open). */
  checkWritable(): void {
    this.checkOpen();
  }

  /** True under `fsync: 'always'`: `append()` resolves once the record is durable. */
  get fsyncAlways(): boolean {
    return this.#fsyncAlways;
  }

  /**
   * Resolves at the next append to this log (after the synchronous run of appends it is part of:
   * resolving defers the waiters to the microtask queue), or when one of its readers closes (the
   * manager's close closes them all). One promise shared by every waiter; never rejects. What
   * readers caught up with the tail await (`reader.next({ wait })`, `follow()`, a follow read
   * stream). Holds no timer or handle: a wait at the tail alone does not keep the process alive.
   */
  nextAppend(): Promise<void> {
    if (this.#tailChange === null) {
      this.#tailChange = new Promise<void>((resolve) => {
        this.#tailResolve = resolve;
      });
      this.#tailWaiting = true;
    }
    return this.#tailChange;
  }

  /**
   * Wakes the tail waiters (an append, or a reader closed). Clears the flag first, so the rest of
   * a synchronous run of appends does not come here again; the waiters re-arm when they have read.
   */
  #wakeTail(): void {
    const resolve = this.#tailResolve;
    this.#tailWaiting = false;
    this.#tailChange = null;
    this.#tailResolve = null;
    resolve?.();
  }

  /**
   * `await using`: what was appended through the log is durable when the scope ends (a flush); the
   * log itself stays open (it is the manager's, shared by every `openStream` of its name). After
   * the manager closed, nothing is left to do.
   */
  async dispose(): Promise<void> {
    if (this.#writeError !== null && this.#writeError.code === ErrorCode.CLOSED) return;
    await this.flush();
  }

  /** A reader over the arena for an attached view's leases (src/share/share-host.ts). */
  openLeaseReader(from: number): ArenaReader {
    this.checkOpen();
    return openArenaReader(this.#readerHost, from);
  }

  /** Opens a reader positioned at `from` (default: the first stored id). */
  openReader(options: ReaderOptions = {}): AofReader {
    this.checkOpen();
    return openReader(this.#readerHost, options);
  }

  /**
   * Every record from `from` on, waiting at the tail for new ones (see {@link AofLog.follow}).
   * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED,
   *   AbortError (synchronously)
   */
  follow(options: FollowOptions = {}): AsyncIterableIterator<LogRecord> {
    return openFollow(this, options);
  }

  /**
   * Every record from `from` up to the tail at the time of the call, as copies the caller owns.
   * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT (synchronously, before iterating)
   */
  read(options: { from?: number } = {}): AsyncIterableIterator<LogRecord> {
    const end = this.#nextId;
    return recordsUpTo(this.openReader({ ...options, copy: true }), end);
  }

  // ---------------------------------------------------------------------------------------------
  // Hot path

  /** Returns the id, or -1 when the append would block (reason in #blockedKind). */
  #tryAppend(payload: Uint8Array): number {
    if (this.#writeError !== null) throw this.#writeError;
    if (!(payload instanceof Uint8Array)) throw this.#notBytes(payload);
    const length = payload.length;
    const frame = frameLength(length);
    if (this.#writeOff + frame > this.#capacity && !this.#rollover(frame, length)) return -1;
    this.#appendedBytes += length;
    // Padding zeroed too (a reused slot must not carry stale bytes to disk): see encodeFrameInto.
    encodeFrameInto(this.#u8, this.#u32, this.#f64, this.#base + this.#writeOff, frame, payload, Date.now());
    this.#writeOff += frame;
    // Publish after the plain writes: the flusher loads WRITE_LEN before reading the frame.
    Atomics.store(this.#ctrl, this.#writeLenIndex, this.#writeOff);
    this.#flusher.published();
    // Followers at the tail: one field test per append; set only while one waits. Resolving defers
    // them to the microtask queue, after this append returns (and after #nextId moved).
    if (this.#tailWaiting) this.#wakeTail();
    // No Segment field is written here: the active segment's count is #nextId - baseId (endIdOf)
    // until SEALING records it. With 1,000 streams round-robin, writing the stream's Segment too
    // cost one more cache line and heap page per append (issue 11; src/tier0/segment.ts).
    return this.#nextId++;
  }

  // ---------------------------------------------------------------------------------------------
  // Slow path

  /**
   * Makes room for a frame of `frame` bytes: unparks the active segment if it was parked and the
   * frame fits in it, else seals it (if any) and admits a new one. False when the append must wait
   * (the reason in #blockedKind). `length` (the payload's) only feeds the RECORD_TOO_LARGE message:
   * the check is on the frame.
   */
  #rollover(frame: number, length: number): boolean {
    if (frame > this.#segmentBytes) throw this.#tooLarge(length);
    const active = this.#active;
    if (active !== null) {
      if (this.#writeOff + frame <= this.#segmentBytes) return active.parked ? this.#unpark(active, frame) : this.#nextWindow(active, frame);
      this.sealActive();
    }
    // Checked once per segment, never per record: the local disk must not outgrow the Tier 1
    // budget while Tier 2 cannot take the data (an outage). The sealed segment above is safe.
    if (this.#ctx.tier2Blocked()) {
      this.#blockedKind = WouldBlockKind.TIER2;
      return false;
    }
    // Sealed raw segments waiting for the compressor fill their local budget: wait for it. Below
    // the budget the compressor never slows the writer down (docs/architecture.md, Tier 1).
    if (this.#ctx.tier1.rawBacklogFull) {
      this.#blockedKind = WouldBlockKind.COMPRESSION;
      return false;
    }
    // Every segment table entry is in use (MAX_OPEN_SEGMENTS open segments): wait for a seal.
    const handle = this.#table.alloc();
    if (handle < 0) {
      this.#blockedKind = WouldBlockKind.ADMISSION;
      return false;
    }
    const seg = new Segment(this.#nextId, segmentPath(this.#dir, this.#nextId), tier1Path(this.#dir, this.#nextId), 0, 0, false, handle);
    const slot = this.#arena.acquireWindow(seg, this.#windowFor(frame, 0), frame);
    if (slot < 0) {
      this.#table.free(handle);
      this.#blockedKind = active !== null ? WouldBlockKind.ROLLOVER : WouldBlockKind.ADMISSION;
      this.#ctx.relievePressure(this);
      return false;
    }
    seg.apply({ type: SegmentEventType.WINDOW_OPENED, slot, start: 0, first: 0 });
    this.#segments.push(seg);
    this.#undurable.push(seg);
    this.#active = seg;
    this.#writeOff = 0;
    this.#activate(slot, 0);
    this.#flusher.open(handle, slot, seg.path, seg.baseId);
    return true;
  }

  /**
   * Bytes of the next write window starting at segment byte `start`: the adaptive size (at least
   * the frame), never past the segment's end. The run holding it is rounded up to 2^k pages; the
   * arena may hand out a smaller one (down to the frame's) when the window budget is short.
   */
  #windowFor(frame: number, start: number): number {
    return Math.max(frame, Math.min(this.#windowBytes, this.#segmentBytes - start));
  }

  /**
   * Adapts the size asked for when a window filled (src/tier0/window-size.ts: twice as large when
   * the window's rate would fill the size asked within 50 ms, or when twice the size is within the
   * stream's share of the window budget and a page fills within 2 s; half when the size would take
   * over 2 s and is over twice the share, or a page over 8 s; between a page and
   * min(segment, arena / 8)). The share is half the budget over the segments being written, one
   * per writing stream. A busy stream converges on large windows (few rollovers, large writes)
   * within 9 windows by default, a stream written in bursts on what its share allows whatever
   * pauses its windows span, and many quiet streams keep one page each.
   */
  #adaptWindow(): void {
    const share = windowShareBytes(this.#arena.windowBudgetBytes, this.#table.writing);
    this.#windowBytes = nextWindowBytes(this.#windowBytes, this.#writeOff - this.#windowFilledFrom, performance.now() - this.#windowOpenedAt, share, this.#windowBounds);
  }

  /**
   * Window rollover (the window is full, the segment is not): a new run continues the segment at
   * START = the segment's data length. Its words are set before the old window's NEXT names it,
   * and NEXT before the old window goes RETIRING (race notes in layout.ts): the flusher writes the
   * old window out, then follows NEXT, so it writes the segment's windows in START order.
   */
  #nextWindow(seg: Segment, frame: number): boolean {
    this.#adaptWindow();
    const start = this.#writeOff;
    const slot = this.#arena.acquireWindow(seg, this.#windowFor(frame, start), frame);
    if (slot < 0) {
      this.#blockedKind = WouldBlockKind.ROLLOVER;
      this.#ctx.relievePressure(this);
      return false;
    }
    const old = this.#windowSlot;
    this.#arena.setWord(slot, S_START, start);
    this.#arena.setWord(slot, S_WRITE_LEN, start);
    this.#arena.setWord(slot, S_FLUSHED_LEN, start);
    const records = this.#nextId - seg.baseId;
    seg.apply({ type: SegmentEventType.WINDOW_CLOSED, end: start, endRecord: records });
    seg.apply({ type: SegmentEventType.WINDOW_OPENED, slot, start, first: records });
    this.#arena.setWord(old, S_NEXT, slot + 1);
    this.#arena.setState(old, SlotState.RETIRING);
    // Not urgent: the append that called this publishes a frame next, which rings a sleeping
    // flusher; a busy or lingering one finds RETIRING in its pass within writeDelayMs. An urgent
    // wake here cut the write delay short at every rollover: with 10,000 streams round-robin
    // (a rollover every ~37 appends) the flusher then ran a pass per rollover, one pwrite per
    // stream per pass, instead of one pass per delay (docs/performance.md, issue 12).
    this.#activate(slot, start);
    return true;
  }

  /** Points the hot path at the window in `slot`, which starts at segment byte `start`. */
  #activate(slot: number, start: number): void {
    this.#windowSlot = slot;
    this.#base = this.#arena.base(slot) - start;
    this.#capacity = Math.min(this.#segmentBytes, start + this.#arena.runBytes(slot));
    this.#writeLenIndex = slotWord(slot, S_WRITE_LEN);
    this.#activatedAt = this.#ctx.tick();
    this.#windowOpenedAt = performance.now();
    this.#windowFilledFrom = this.#writeOff;
  }

  /**
   * Arena pressure (the manager's relief): the active segment gives its window up without being
   * sealed. The window goes RETIRING with no NEXT (every WRITE_LEN store came before: this thread
   * made them); the flush worker writes what is published, detaches the run and hands it back
   * CLEAN, evictable, keeping the file open. Capacity 0 sends the next append to {@link #unpark}.
   */
  park(): void {
    const seg = this.#active;
    if (seg === null || seg.parked) return;
    seg.apply({ type: SegmentEventType.PARKED, count: this.#nextId - seg.baseId, dataBytes: this.#writeOff });
    this.#arena.setState(this.#windowSlot, SlotState.RETIRING);
    this.#flusher.wake();
    this.#capacity = 0;
  }

  /**
   * The parked segment takes a window again. Its last window if still resident: RETIRING (the
   * flusher has not detached it; the exchange makes sure it will not) or CLEAN (detached: its
   * words are set to the written length from the segment table and the flusher re-attaches it).
   * Evicted: a new window at START = the segment's data length, attached by command (stage 2: no
   * load of the written prefix, which stage 1 needed because a slot mirrored the whole segment).
   * False when no run is free (WouldBlock `admission`; relief parks another stream).
   */
  #unpark(seg: Segment, frame: number): boolean {
    const last = this.#windowSlot;
    const range = seg.ranges.find((r) => r.slot === last);
    if (range !== undefined && range.end === this.#writeOff) {
      // RETIRING → ACTIVE: its pages never left the window budget. A CLEAN window counts again
      // once ACTIVE, so it is taken back only if the budget has room for it; otherwise it stays a
      // CLEAN range and the segment continues in a new window below (smaller, if need be).
      const found = this.#arena.exchangeState(last, SlotState.RETIRING, SlotState.ACTIVE);
      if (found !== SlotState.RETIRING && found !== SlotState.CLEAN) {
        // FAILED: the flusher failed the segment; the manager's coded failure follows.
        throw this.#writeError ?? new AofError(ErrorCode.IO, `stream ${this.#name}: the flush worker failed segment ${seg.baseId} (slot state ${found})`, { details: { baseId: seg.baseId, slotState: found } });
      }
      if (found === SlotState.RETIRING || this.#arena.windowFits(last)) {
        if (found === SlotState.CLEAN) {
          this.#checkWritten(seg);
          // Not attached in the flusher: this thread owns the words until the attach command.
          this.#arena.setWord(last, S_WRITE_LEN, this.#writeOff);
          this.#arena.setWord(last, S_FLUSHED_LEN, this.#writeOff);
          this.#arena.setWord(last, S_NEXT, 0);
          this.#arena.setState(last, SlotState.ACTIVE);
          this.#flusher.attach(seg.handle, last);
        }
        seg.apply({ type: SegmentEventType.WINDOW_REOPENED, slot: last });
        seg.apply({ type: SegmentEventType.UNPARKED });
        this.#arena.touch(last);
        this.#activate(last, range.start);
        // The frame does not fit in what is left of it: an ordinary window rollover.
        return this.#writeOff + frame <= this.#capacity || this.#nextWindow(seg, frame);
      }
    }
    // The last window was evicted, or is CLEAN and stays so (no room in the window budget): the
    // flusher has detached the segment (a run is evicted only once CLEAN), so a new window,
    // attached by command.
    const start = this.#writeOff;
    const slot = this.#arena.acquireWindow(seg, this.#windowFor(frame, start), frame);
    if (slot < 0) {
      this.#blockedKind = WouldBlockKind.ADMISSION;
      this.#ctx.relievePressure(this);
      return false;
    }
    this.#checkWritten(seg);
    this.#arena.setWord(slot, S_START, start);
    this.#arena.setWord(slot, S_WRITE_LEN, start);
    this.#arena.setWord(slot, S_FLUSHED_LEN, start);
    seg.apply({ type: SegmentEventType.WINDOW_OPENED, slot, start, first: this.#nextId - seg.baseId });
    seg.apply({ type: SegmentEventType.UNPARKED });
    this.#flusher.attach(seg.handle, slot);
    this.#activate(slot, start);
    return true;
  }

  /** A detached parked segment has every appended byte written (the flusher detaches only then). */
  #checkWritten(seg: Segment): void {
    const written = this.#table.flushedLen(seg.handle);
    if (written !== this.#writeOff) {
      throw new AofError(ErrorCode.INTERNAL, `stream ${this.#name}: parked segment ${seg.baseId} has ${written} bytes written, ${this.#writeOff} appended`, {
        details: { baseId: seg.baseId, written, appended: this.#writeOff },
      });
    }
  }

  /**
   * Seals the active segment: no more records go into it; the flush worker writes its footer and
   * fsyncs, then marks its table entry SEALED (and hands its slot back as CLEAN). Called on
   * rollover (the segment is full) and on close, never under arena pressure (that parks). A parked
   * segment is sealed where it is: in its slot if the flusher has not detached it yet, else by
   * command, without loading it back.
   */
  sealActive(): void {
    const seg = this.#active;
    if (seg === null) return;
    const parked = seg.parked;
    const last = this.#windowSlot;
    // Before SEALING (which may turn the window's range into the segment's slot): is the last
    // window still this segment's run? An evicted one may belong to another segment by now.
    const resident = seg.ranges.some((r) => r.slot === last);
    seg.apply({ type: SegmentEventType.SEALING, count: this.#nextId - seg.baseId, dataBytes: this.#writeOff });
    this.#table.markSealing(seg.handle);
    if (!parked) {
      this.#arena.setState(last, SlotState.SEALING);
    } else {
      const found = resident ? this.#arena.exchangeState(last, SlotState.RETIRING, SlotState.SEALING) : SlotState.CLEAN;
      // CLEAN: detached. FAILED: nothing to seal; the failure is the manager's.
      if (found === SlotState.CLEAN) this.#flusher.seal(seg.handle);
    }
    this.#flusher.wake();
    this.#ctx.tier1.onSealing(this.name, seg);
    this.#active = null;
    this.#capacity = 0;
    this.#writeOff = 0;
    this.#windowSlot = -1;
  }

  /**
   * When the active segment was admitted or last unparked (manager tick), or -1 without one or
   * while it is parked: pressure relief parks the oldest.
   */
  get activatedAt(): number {
    return this.#active === null || this.#active.parked ? -1 : this.#activatedAt;
  }

  /** The payload's own length is reported, not its padded frame (which users never see). */
  #tooLarge(payloadBytes: number): AofError {
    const maxPayload = maxPayloadBytes(this.#segmentBytes);
    return new AofError(
      ErrorCode.RECORD_TOO_LARGE,
      `record payload of ${payloadBytes} bytes is larger than the ${maxPayload}-byte limit (a segment of ${this.#segmentBytes} bytes less the ${RECORD_HEADER_BYTES}-byte record header)`,
      { details: { payloadBytes, maxPayload, segmentBytes: this.#segmentBytes } },
    );
  }

  #wouldBlock(): WouldBlockError {
    this.#counters.noteWouldBlock(this.#blockedKind);
    const why =
      this.#blockedKind === WouldBlockKind.TIER2
        ? 'Tier 2 is behind and the local Tier 1 budget is full of segments not uploaded yet'
        : this.#blockedKind === WouldBlockKind.COMPRESSION
          ? 'compression is behind and sealed raw segments fill the tier1.rawBacklogBytes budget'
          : this.#blockedKind === WouldBlockKind.ROLLOVER
            ? 'the active segment is full and no arena slot is free for the next one'
            : 'no arena slot is free for its segment yet';
    return new WouldBlockError(this.#blockedKind, `stream ${this.name}: ${why}; retry later or use append()`);
  }

  /**
   * The batch's appendSync: validates every payload before writing any, makes room for all their
   * frames in one window (#rollover treats them as one frame: the window, or a new segment, takes
   * them whole), then writes them and publishes once. Returns the first id, or -1 (would block).
   */
  #tryAppendBatch(payloads: readonly Uint8Array[]): number {
    if (this.#writeError !== null) throw this.#writeError;
    const bytes = this.#batchBytes(payloads);
    if (this.#writeOff + bytes > this.#capacity && !this.#rollover(bytes, bytes)) return -1;
    const now = Date.now();
    let at = this.#base + this.#writeOff;
    for (const payload of payloads) {
      const frame = frameLength(payload.length);
      encodeFrameInto(this.#u8, this.#u32, this.#f64, at, frame, payload, now);
      at += frame;
      this.#appendedBytes += payload.length;
    }
    this.#writeOff += bytes;
    Atomics.store(this.#ctrl, this.#writeLenIndex, this.#writeOff);
    this.#flusher.published();
    if (this.#tailWaiting) this.#wakeTail(); // once per batch, as for one append
    const first = this.#nextId;
    this.#nextId += payloads.length;
    return first;
  }

  /** Frame bytes of a batch after checking it whole: an array of 1+ Uint8Arrays whose frames fit one segment. */
  #batchBytes(payloads: readonly Uint8Array[]): number {
    if (!Array.isArray(payloads)) throw AofError.invalidArgument(`a batch must be an array of Uint8Array payloads, got ${payloads === null ? 'null' : typeof payloads}`);
    if (payloads.length === 0) throw AofError.invalidArgument('a batch must hold at least one payload');
    let bytes = 0;
    for (let i = 0; i < payloads.length; i++) {
      const payload: unknown = payloads[i];
      if (!(payload instanceof Uint8Array)) {
        const err = this.#notBytes(payload);
        throw AofError.invalidArgument(`batch payload ${i}: ${err.message}`, { index: i });
      }
      if (frameLength(payload.length) > this.#segmentBytes) throw this.#tooLarge(payload.length);
      bytes += frameLength(payload.length);
    }
    if (bytes > this.#segmentBytes) {
      throw new AofError(
        ErrorCode.BATCH_TOO_LARGE,
        `a batch of ${payloads.length} records takes ${bytes} bytes with its frame headers, more than one ${this.#segmentBytes}-byte segment (tier0.segmentBytes); split it`,
        { details: { records: payloads.length, batchBytes: bytes, segmentBytes: this.#segmentBytes } },
      );
    }
    return bytes;
  }

  /** Validates a batch that must wait behind queued async appends; returns -1 (would block). */
  #queuedBatchBlock(payloads: readonly Uint8Array[]): number {
    if (this.#writeError !== null) throw this.#writeError;
    this.#batchBytes(payloads);
    return -1;
  }

  /** Validates a payload that must wait behind queued async appends; returns -1 (would block). */
  #queuedBlock(payload: Uint8Array): number {
    if (this.#writeError !== null) throw this.#writeError;
    if (!(payload instanceof Uint8Array)) throw this.#notBytes(payload);
    if (frameLength(payload.length) > this.#segmentBytes) throw this.#tooLarge(payload.length);
    return -1;
  }

  #notBytes(payload: unknown): AofError {
    const got = payload === null ? 'null' : typeof payload === 'object' ? (payload.constructor?.name ?? 'object') : typeof payload;
    return AofError.invalidArgument(`payload must be a Uint8Array (or Buffer), got ${got}`, { got });
  }

  async #drainQueue(): Promise<void> {
    const run = ++this.#drainRuns;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        await this.#ctx.coordinator.nextChange();
        if (run !== this.#drainRuns) return; // an abort emptied the queue and ended this run
        while (this.#queue.length > 0) {
          const head = this.#queue[0]!;
          let id: number;
          try {
            id = head.batch === null ? this.#tryAppend(head.payload) : this.#tryAppendBatch(head.batch);
          } catch (err) {
            this.#queue.shift();
            this.#dequeued(head);
            head.reject(err);
            continue;
          }
          if (id < 0) break;
          this.#queue.shift();
          this.#dequeued(head);
          if (head.startedAt >= 0) this.#counters.admission.record((performance.now() - head.startedAt) / 1000);
          if (head.batch !== null) head.resolve(this.#batchAppended(id, head.batch.length, head.signal));
          else head.resolve(this.#fsyncAlways ? this.#whenDurable(id, head.signal) : id);
        }
      }
    } finally {
      if (run === this.#drainRuns) this.#draining = false;
    }
  }

  /**
   * Resolves with `id` once durableId >= id; with a signal, rejects with an AbortError when it
   * aborts first (the record stays appended and becomes durable all the same).
   */
  #whenDurable(id: number, signal: AbortSignal | null = null): Promise<number> {
    return signal === null ? this.#durable(id) : untilAborted(this.#durable(id), signal);
  }

  /**
   * Resolves with `id` once durableId >= id. Waiters queue in id order (appends are ordered), so
   * one loop per stream settles a whole group commit by computing durableId once per wake-up.
   */
  #durable(id: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#durableWaiters.push({ id, resolve, reject });
      if (!this.#durableDraining) void this.#drainDurable();
    });
  }

  async #drainDurable(): Promise<void> {
    this.#durableDraining = true;
    const waiters = this.#durableWaiters;
    // The open `aof2:append.durable` span (src/tracing.ts), or null: none open, or nobody
    // subscribes. One per wait for an fsync, never per record: opened here, on the context of the
    // caller whose wait started this loop, and completed by the wake-up that settles a waiter.
    let span: AppendDurableSpanContext | null = null;
    try {
      while (waiters.length > 0) {
        const durable = this.durableId;
        let settled = 0;
        while (settled < waiters.length && waiters[settled]!.id <= durable) settled++;
        if (span !== null && settled > 0) {
          span.toId = waiters[settled - 1]!.id;
          span.waiters = settled;
          SPANS.appendDurable.end(span);
          span = null;
        }
        for (const waiter of waiters.splice(0, settled)) waiter.resolve(waiter.id);
        if (waiters.length === 0) break;
        const failure = this.#durabilityFailure();
        if (failure !== null) {
          if (span !== null) {
            span.waiters = waiters.length;
            SPANS.appendDurable.fail(span, failure);
            span = null;
          }
          for (const waiter of waiters.splice(0)) waiter.reject(failure);
          break;
        }
        if (span === null && SPANS.appendDurable.active) {
          span = { stream: this.#name, fsync: this.#ctx.config.fsync, fromId: durable + 1, toId: waiters[0]!.id, waiters: 0 };
          SPANS.appendDurable.start(span);
        }
        await this.#ctx.coordinator.nextChange();
      }
    } finally {
      this.#durableDraining = false;
      // Only an exception out of the wait gets here with a span open: never leave one dangling.
      if (span !== null) SPANS.appendDurable.end(span);
    }
  }

  /**
   * Error that means durableId will never advance again, or null. A slot the flush worker marked
   * FAILED (in shared memory, before its message reaches this thread) is not reported by itself:
   * the manager's coded failure (AOF_ERR_IO with the errno, or AOF_ERR_WORKER_FAILED if the worker
   * died first) follows through `fail()` and a coordinator kick, and waiters reject with that one.
   * (Rejecting at once gave them a generic AOF_ERR_IO without `details.errno`.)
   */
  #durabilityFailure(): AofError | null {
    if (this.#writeError !== null && this.#writeError.code !== ErrorCode.CLOSED) return this.#writeError;
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals shared with readers and the manager

  /** The segment holding `id`, or undefined when id is outside [firstId, nextId). */
  segmentFor(id: number): Segment | undefined {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const seg = segs[mid]!;
      if (id < seg.baseId) hi = mid - 1;
      else if (id >= this.endIdOf(seg)) lo = mid + 1;
      else return seg;
    }
    return undefined;
  }

  /** Bytes of frames in the segment's slot (live for the active segment). */
  dataBytesOf(seg: Segment): number {
    return seg === this.#active ? this.#writeOff : seg.dataBytes;
  }

  /** Id one past the segment's last record (live for the active segment: its records end at nextId). */
  endIdOf(seg: Segment): number {
    return seg === this.#active ? this.#nextId : seg.endId;
  }

  /**
   * Waits for queued appends, then refuses further writes; seals the active segment when the close
   * ships it to Tier 2 (`sealOnClose`), else leaves it open: the flush worker's shutdown writes it
   * out, fsyncs it and gives it a footer the manifest does not record, and the next open continues
   * it. Used by manager.close().
   */
  async closeForWrites(): Promise<void> {
    while (this.#queue.length > 0 && this.#writeError === null) await this.#ctx.coordinator.nextChange();
    this.#writeError ??= AofError.closed(`stream ${this.name}`);
    if (this.#ctx.sealOnClose) this.sealActive();
  }

  /** Makes every later write fail with `err`, and rejects queued appends. */
  fail(err: AofError): void {
    if (this.#writeError === null || this.#writeError.code === ErrorCode.CLOSED) this.#writeError = err;
    for (const queued of this.#queue.splice(0)) {
      this.#dequeued(queued);
      queued.reject(err);
    }
  }

  /** Closes readers (manager close). */
  closeReaders(): void {
    for (const reader of [...this.#readers]) reader.close();
  }

  /** The stream's segments, oldest first (the last may be the active one). Do not mutate. */
  get segments(): readonly Segment[] {
    return this.#segments;
  }

  /** Bytes of records the stream holds, the active segment's included (retention). */
  get liveBytes(): number {
    let bytes = 0;
    for (const seg of this.#segments) bytes += this.dataBytesOf(seg);
    return bytes;
  }

  /**
   * Retention: forgets the first `n` segments (sealed, settled; never the active one).
   * Ids below the new first segment read as AOF_ERR_OUT_OF_RANGE from now on. Returns them.
   */
  expireFirst(n: number): Segment[] {
    const count = Math.min(n, this.#active === null ? this.#segments.length : this.#segments.length - 1);
    return this.#segments.splice(0, count);
  }

  /**
   * Number of segments, how many have anything in the arena (a whole slot or a range), and
   * whether one is still being written, for stats/tests.
   */
  describe(): { segments: number; resident: number; active: boolean; parked: boolean } {
    let resident = 0;
    for (const seg of this.#segments) if (seg.slot >= 0 || seg.ranges.length > 0) resident++;
    return { segments: this.#segments.length, resident, active: this.#active !== null, parked: this.#active?.parked ?? false };
  }
}

let wrapCore: (core: LogEngine) => AofLog;
let unwrapFacade: (log: AofLog) => LogEngine;

/**
 * One stream, as users see it: appends, durability, readers. A thin facade over the engine's
 * `LogCore` (not exported from the package), so the public type shows only the API.
 * Obtained from `manager.openStream(name)`; never constructed directly. A read-only manager's
 * logs (`readOnly` in the options) read and follow the writer's records, and every write throws
 * AOF_ERR_READ_ONLY (docs/read-path.md, "Read-only opens from another process").
 */
export class AofLog {
  // The only state: a private field, which structured clone never sees. The clone guard is the one
  // own property (src/not-cloneable.ts).
  readonly #core: LogEngine;

  private constructor(core: LogEngine) {
    refuseClone(this, `an AofLog (stream ${core.name})`, CLONE_REMEDY, () => ({ name: core.name, nextId: core.nextId }));
    this.#core = core;
  }

  static {
    wrapCore = (core) => new AofLog(core);
    unwrapFacade = (log) => log.#core;
  }

  /** The stream's name. */
  get name(): string {
    return this.#core.name;
  }

  /**
   * Id the next append will get. On a read-only manager: one past the last record this process can
   * read now (it advances as the manager follows the writer's files).
   */
  get nextId(): number {
    return this.#core.nextId;
  }

  /** Lowest id still stored: everything below it expired (retention). */
  get firstId(): number {
    return this.#core.firstId;
  }

  /**
   * Highest id such that it and every id below it survive `kill -9` (-1 when none does). Read live
   * from shared memory: no waiting, no allocation. On a read-only manager: a lower bound, from what
   * the writer's manifest and files say is fdatasynced (what survives a power cut too).
   */
  get durableId(): number {
    return this.#core.durableId;
  }

  /**
   * Appends one record and returns its id. The payload is copied; the caller may reuse it at once.
   * The record is readable immediately and durable once `durableId` reaches the returned id.
   *
   * @throws AOF_ERR_WOULD_BLOCK (`WouldBlockError`, kind `admission`, `rollover`, `compression` or
   *   `tier2`) when the record cannot be admitted now; nothing was written. AOF_ERR_INVALID_ARGUMENT (not a
   *   Uint8Array), AOF_ERR_RECORD_TOO_LARGE, AOF_ERR_CLOSED, AOF_ERR_IO / AOF_ERR_WORKER_FAILED
   *   after a failure, AOF_ERR_READ_ONLY (a log of a read-only manager).
   */
  appendSync(payload: Uint8Array): number {
    return this.#core.appendSync(payload);
  }

  /**
   * Appends one record, waiting for room instead of throwing WouldBlock. Resolves with the id; under
   * `fsync: 'always'` only once the record is durable. Calls resolve in call order.
   *
   * `options.signal` ({@link AppendOptions}): aborting it rejects the call with an `AbortError`. An
   * append still waiting for room leaves the queue with nothing appended and no id used; an append
   * already admitted stays appended (abort then only ends the wait for its fsync under 'always').
   *
   * @throws (rejects) the same codes as appendSync, except AOF_ERR_WOULD_BLOCK; AOF_ERR_UNKNOWN_OPTION
   *   and AOF_ERR_INVALID_ARGUMENT for bad options; an `AbortError` (`cause`: the signal's reason)
   */
  append(payload: Uint8Array, options?: AppendOptions): Promise<number> {
    return this.#core.append(payload, options);
  }

  /**
   * Appends every payload as consecutive records, all or none, and returns the first record's id.
   * The payloads are copied. Cheaper per record than as many appendSync calls (one publish).
   *
   * @throws AOF_ERR_WOULD_BLOCK (`WouldBlockError`, kinds as appendSync) with nothing appended.
   *   AOF_ERR_BATCH_TOO_LARGE when the frames (each payload plus 16 bytes, rounded up to 8) exceed
   *   `tier0.segmentBytes`: split it. AOF_ERR_INVALID_ARGUMENT (not an array, empty, or an element
   *   not a Uint8Array: `details.index`), AOF_ERR_RECORD_TOO_LARGE, AOF_ERR_CLOSED, AOF_ERR_IO /
   *   AOF_ERR_WORKER_FAILED after a failure, AOF_ERR_READ_ONLY (a read-only manager's log). On any
   *   error nothing was appended. All or nothing at admission: a kill -9 before `durableId` reaches
   *   the last id may keep a prefix (as for single appends).
   */
  appendBatchSync(payloads: readonly Uint8Array[]): number {
    return this.#core.appendBatchSync(payloads);
  }

  /**
   * appendBatchSync that waits for room instead of throwing WouldBlock; in call order with
   * `append()`. Resolves with the first id; under `fsync: 'always'` once the whole batch is durable.
   *
   * `options.signal`: as for {@link AofLog.append} (a queued batch leaves the queue whole).
   *
   * @throws (rejects) the same codes as appendBatchSync, except AOF_ERR_WOULD_BLOCK; AOF_ERR_UNKNOWN_OPTION
   *   and AOF_ERR_INVALID_ARGUMENT for bad options; an `AbortError`
   */
  appendBatch(payloads: readonly Uint8Array[], options?: AppendOptions): Promise<number> {
    return this.#core.appendBatch(payloads, options);
  }

  /**
   * Resolves once every record appended before the call is durable (forces an fsync under
   * 'interval' and 'never'). `options.signal` ({@link FlushOptions}): aborting it rejects the call
   * with an `AbortError`; the fsync asked for still happens.
   * @throws (rejects) AOF_ERR_CLOSED, AOF_ERR_IO, AOF_ERR_WORKER_FAILED; AOF_ERR_UNKNOWN_OPTION and
   *   AOF_ERR_INVALID_ARGUMENT for bad options; an `AbortError`; AOF_ERR_READ_ONLY (a read-only
   *   manager's log: durability is the writer's)
   */
  flush(options?: FlushOptions): Promise<void> {
    return this.#core.flush(options);
  }

  /**
   * Opens a reader positioned at `from` (default: the first stored id).
   * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED
   */
  openReader(options: ReaderOptions = {}): AofReader {
    return this.#core.openReader(options);
  }

  /**
   * Every record from `from` up to the tail at the time of the call, as copies the caller owns.
   * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT (synchronously, before iterating)
   */
  read(options: { from?: number } = {}): AsyncIterableIterator<LogRecord> {
    return this.#core.read(options);
  }

  /**
   * A live tail: every record from `from` (default: the first stored id, as `openReader`) on, in
   * id order; at the tail it waits for new ones, woken by the append itself (no polling, no timer).
   * `for await (const record of log.follow({ from: log.nextId, signal }))`.
   *
   * - `copy` (default true): payloads are copies the caller owns; `copy: false` yields views into
   *   the arena, valid until the iterator's next step (`next()`, or the next turn of `for await`).
   * - `durable: true`: yields a record only once it is at or below `durableId` (woken by the flush
   *   worker's progress); under `fsync: 'never'` only `flush()`, seals and the close make records
   *   durable.
   * - Ends: on `signal` abort the pending (or next) step rejects with an `AbortError`; when the
   *   manager closes, the iteration completes (`done`) at its next step, after the records it had
   *   already yielded (records appended before the close that it had not reached are not yielded:
   *   resume from the last id + 1). `break` / `return()` ends it and releases its reader, also
   *   during a wait.
   * - A wait at the tail holds no timer or handle: it does not keep the process alive by itself.
   *
   * @throws AOF_ERR_OUT_OF_RANGE (`from` outside [firstId, nextId]), AOF_ERR_INVALID_ARGUMENT,
   *   AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED, or an `AbortError` for an already aborted signal:
   *   synchronously, before any record is read. While iterating (rejects): what `reader.next()`
   *   rejects with (AOF_ERR_CORRUPT, AOF_ERR_OUT_OF_RANGE after retention, ...); with `durable`,
   *   the flush failure that stops durableId for good.
   */
  follow(options: FollowOptions = {}): AsyncIterableIterator<LogRecord> {
    return this.#core.follow(options);
  }

  /**
   * An object-mode `Readable` of the stream's records from `from` (default: the first stored id).
   * Each chunk is a {@link LogRecord} whose payload is a **copy** the consumer owns (a Readable
   * buffers up to `highWaterMark` records before they are consumed; an arena view would not live
   * that long). With `follow: false` (default) it ends after the last record appended before the
   * call; with `follow: true` it waits at the tail for new records and ends cleanly when the
   * manager closes. A bounded stream cut short by the manager's close errors with AOF_ERR_CLOSED;
   * a record that cannot be read (AOF_ERR_CORRUPT, AOF_ERR_OUT_OF_RANGE after retention, ...)
   * destroys the stream with that error. `destroy()` releases its reader (docs/read-path.md).
   *
   * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED
   *   (synchronously, before any record is read)
   */
  createReadStream(options: ReadStreamOptions = {}): LogReadStream {
    return createReadStream(this.#core, options);
  }

  /**
   * An object-mode `Writable` that appends each chunk (a `Uint8Array` or `Buffer`; a string or any
   * other value fails with AOF_ERR_INVALID_ARGUMENT) as one record, in write order. Its
   * back-pressure is the arena's: a write the arena cannot take now waits as `append()` does, so
   * `write()` returns false and a pipeline pauses its source. A write's callback means appended
   * (under `fsync: 'always'`: durable); `end()` flushes, so 'finish' (a resolved `pipeline`) means
   * every record written is durable under any fsync policy. An append error (AOF_ERR_RECORD_TOO_LARGE,
   * AOF_ERR_CLOSED, AOF_ERR_IO, ...) destroys the stream with that error; the records before it
   * stay appended.
   *
   * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED, AOF_ERR_READ_ONLY
   *   (synchronously)
   */
  createWriteStream(options: WriteStreamOptions = {}): Writable {
    return createWriteStream(this.#core, options);
  }

  /**
   * `await using log = await manager.openStream(name)`: when the scope ends, everything appended
   * before is durable (`flush()`). The log stays open: it belongs to its manager and is shared by
   * every `openStream` of the same name (close the manager to close it). Resolves at once after the
   * manager closed (everything is durable then).
   *
   * @throws (rejects) AOF_ERR_IO, AOF_ERR_WORKER_FAILED (records that will never be durable)
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#core.dispose();
  }
}

/** The public handle of `core` (one per core: the manager creates it once, in openStream). */
export function logFacade(core: LogEngine): AofLog {
  return wrapCore(core);
}

/**
 * The writer's engine core behind a public handle: for the manager and for tests, never exported
 * by the package.
 * @throws AOF_ERR_INTERNAL for a read-only manager's log (see {@link logEngine})
 */
export function logCore(log: AofLog): LogCore {
  const core = unwrapFacade(log);
  if (!(core instanceof LogCore)) throw new AofError(ErrorCode.INTERNAL, `stream ${log.name} belongs to a read-only manager: it has no writer core`);
  return core;
}

/** Whatever engine is behind a public handle (the writer's core, or a read-only log): for tests. */
export function logEngine(log: AofLog): LogEngine {
  return unwrapFacade(log);
}
