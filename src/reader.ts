/**
 * A cursor over one stream. `nextSync()` returns records that are resident in the arena and throws
 * WouldBlock (kind `hydration`) after starting the load of a segment that is not; `next()` is the
 * same loop awaiting the coordinator's wake-up in between.
 *
 * Byte ownership: without `copy`, payloads are views into the arena. The reader pins the run it
 * is positioned in (a window, a raw chunk, a Tier 1 frame, or a sealed segment's whole slot), so
 * the view cannot be overwritten until the reader moves to another run, which happens only inside
 * a later nextSync()/next() call, or on close(). Hence: a payload is valid until the next call on
 * the same reader.
 *
 * Waiting (`next({ wait, durable, signal })`, the cursor form of `log.follow()`): at the tail the
 * reader awaits the log's next append (`ReaderHost.nextAppend`: a promise the append path resolves,
 * one per synchronous run of appends, never a timer); for a record not durable yet, or not
 * resident yet, the coordinator's next change (the flush worker's PROGRESS_EPOCH through
 * `Atomics.waitAsync`). Closing the reader wakes both, so a pending wait ends with AOF_ERR_CLOSED.
 *
 * Dependencies: a read-only view of the stream's segments (src/read/ports.ts StreamView) and the
 * read path that makes a segment or frame resident (src/read/read-path.ts), never the log itself.
 */
import type { Arena } from './arena/arena.js';
import type { Coordinator } from './coordinator/coordinator.js';
import { abortError, untilAborted } from './abort.js';
import { booleanOf, checkOptions, signalOf } from './call-options.js';
import { AofError, ErrorCode, WouldBlockError, WouldBlockKind } from './errors.js';
import { RECORD_PAYLOAD_OFFSET, frameLength, frameOffsetOf, framePayloadLengthAt, frameTimestampAt } from './format/record.js';
import type { EngineCounters } from './metrics/engine-counters.js';
import { CLONE_REMEDY, refuseClone } from './not-cloneable.js';
import type { StreamView } from './read/ports.js';
import type { ReadPath } from './read/read-path.js';
import { SegmentEventType, type ResidentRange, type Segment } from './tier0/segment.js';

/** A record as returned by readers. */
export interface LogRecord {
  /** Dense per-stream id, from 0. */
  id: number;
  /** Milliseconds since the Unix epoch, taken when the record was appended. */
  timestamp: number;
  /**
   * The bytes appended. From `AofReader.nextSync()`/`next()` this is a **view into the arena**,
   * valid until the next call on that reader (or its close); copy it (`slice()`) to keep it, or open
   * the reader with `{ copy: true }`. From `log.read()` it is always a copy you own; from
   * `log.follow()` too, unless it was opened with `copy: false` (then a view valid until the
   * iterator's next step).
   */
  payload: Uint8Array;
}

/** Options of `log.openReader(options)`. */
export interface ReaderOptions {
  /** First id to read (default: the first stored id). Must be within [firstId, nextId]. */
  from?: number;
  /** Return payloads as copies the caller owns instead of arena views (default false). */
  copy?: boolean;
}

/**
 * Options of `reader.next(options)`. Without them `next()` returns null at the tail, as always.
 */
export interface ReaderNextOptions {
  /**
   * true: never return null; at the tail wait for the next append (woken by the append itself, no
   * timer), as `log.follow()` does. Default false.
   */
  wait?: boolean;
  /**
   * true: return only records at or below `log.durableId`: a record not durable yet counts as not
   * there (null, or with `wait`, waited for until the flush worker has made it durable). Under
   * `fsync: 'never'` records become durable only through `flush()`, a seal or the close. Default false.
   */
  durable?: boolean;
  /**
   * Aborting it rejects the pending call with an `AbortError` (`cause`: the signal's reason); an
   * already aborted signal rejects at once. The reader does not move and stays open: the next call
   * returns the same record.
   */
  signal?: AbortSignal;
}

/** Keys of {@link ReaderNextOptions}. */
const NEXT_OPTIONS = ['wait', 'durable', 'signal'];

/**
 * `reader.next(options)`'s options, checked, with their defaults.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
export function nextOptions(options: ReaderNextOptions): { wait: boolean; durable: boolean; signal: AbortSignal | undefined } {
  checkOptions(options, NEXT_OPTIONS, 'reader.next');
  return {
    wait: booleanOf(options.wait, 'wait', 'reader.next', false),
    durable: booleanOf(options.durable, 'durable', 'reader.next', false),
    signal: signalOf(options.signal, 'reader.next'),
  };
}

/** What a reader is lent by the log that opens it. */
export interface ReaderHost {
  /** The stream's segments, read-only. */
  readonly stream: StreamView;
  /** Makes segments and frames resident. */
  readonly read: ReadPath;
  readonly arena: Arena;
  readonly coordinator: Coordinator;
  /** WouldBlock counts (aof_would_block_total{kind="hydration"}). */
  readonly counters: EngineCounters;
  /** A reader opened: the log tracks it (its close() closes every reader). */
  opened(reader: ReaderEngine): void;
  /** The reader closed: the log stops tracking it (and wakes every tail waiter, this reader's included). */
  closed(reader: ReaderEngine): void;
  /**
   * Resolves at the stream's next append, or when one of its readers closes (the manager's close
   * closes them all). Shared by every waiter; never rejects.
   */
  nextAppend(): Promise<void>;
  /** The stream's durableId, live. */
  durableId(): number;
  /** The error that means durableId will never advance again (a failed flush worker), or null. */
  durabilityFailure(): AofError | null;
}

/** Returned by #tryNext (and lease) when the record is not resident yet. */
export const BLOCKED = Symbol('blocked');

/**
 * A run an attached view reads (ArenaReader.lease): arena byte `base + o` is segment byte `o`;
 * its first record to read starts at segment byte `offset`. A live run (a write window still being
 * written: `end` and `endId` -1) holds frames up to its slot's WRITE_LEN word.
 */
export interface RunLease {
  slot: number;
  base: number;
  offset: number;
  end: number;
  endId: number;
}

/**
 * What a reader's engine does, behind the public {@link AofReader} facade: the arena reader below
 * (the thread that owns the arena, and read-only managers), or an attached view's reader in a
 * worker thread (src/share/attached-reader.ts).
 */
export interface ReaderEngine {
  /** The stream's name (error messages, inspection). */
  readonly streamName: string;
  readonly position: number;
  readonly closed: boolean;
  nextSync(): LogRecord | null;
  /**
   * The next record if it is at hand now, null at the tail, BLOCKED when getting it means a wait
   * (a load, a lease): no WouldBlock thrown or counted, never blocks (the live tail's fast path).
   */
  poll(): LogRecord | null | typeof BLOCKED;
  next(options?: ReaderNextOptions): Promise<LogRecord | null>;
  close(): void;
}

let wrapEngine: (core: ReaderEngine) => AofReader;
let unwrapEngine: (reader: AofReader) => ReaderEngine;

/** The engine behind a public reader (follow's fast path). */
export function readerEngine(reader: AofReader): ReaderEngine {
  return unwrapEngine(reader);
}

/**
 * A new reader (for the log's openReader). The constructor is private, so the public type shows
 * no engine types; this module function, not exported by the package, is the way in.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_OUT_OF_RANGE
 */
export function openReader(host: ReaderHost, options: ReaderOptions): AofReader {
  return wrapEngine(new ArenaReader(host, options));
}

/**
 * A reader over the arena for the thread that owns it, unwrapped: what an attached view's lease
 * holds on the owner's side (src/share/share-host.ts). Tracked by `host` like any reader.
 */
export function openArenaReader(host: ReaderHost, from: number): ArenaReader {
  return new ArenaReader(host, { from });
}

/** The public reader over an engine (an attached view's reader). */
export function wrapReader(core: ReaderEngine): AofReader {
  return wrapEngine(core);
}

/**
 * A cursor over one stream, from `log.openReader({ from, copy })`: `nextSync()` returns the next
 * resident record (or null when caught up) and throws WouldBlock `hydration` after starting to load
 * an evicted segment; `next()` awaits that load, and `next({ wait: true, durable?, signal? })`
 * also waits at the tail for the next append (the cursor form of `log.follow()`). Without `copy`,
 * a payload is a view into the arena, valid until the next call on the same reader. `close()`
 * releases the pinned run and ends a pending wait with AOF_ERR_CLOSED.
 *
 * In a worker thread (a view from `AofManager.attach(handle)`) the same calls read the owner's
 * arena directly, under the same rules (docs/read-path.md, "Readers in worker threads").
 */
export class AofReader {
  // The only state: a private field, which structured clone never sees.
  readonly #core: ReaderEngine;

  private constructor(core: ReaderEngine) {
    refuseClone(this, `an AofReader (stream ${core.streamName})`, CLONE_REMEDY, () => ({ stream: core.streamName, position: core.position, closed: core.closed }));
    this.#core = core;
  }

  static {
    wrapEngine = (core) => new AofReader(core);
    unwrapEngine = (reader) => reader.#core;
  }

  /** Id of the record the next call returns. */
  get position(): number {
    return this.#core.position;
  }

  /**
   * The next record, or null when caught up with the tail (call again later for new records).
   * @throws AOF_ERR_WOULD_BLOCK (kind `hydration`) when the record's segment is being loaded;
   *   AOF_ERR_CORRUPT / AOF_ERR_IO when it cannot be loaded; AOF_ERR_CLOSED
   */
  nextSync(): LogRecord | null {
    return this.#core.nextSync();
  }

  /**
   * The next record, waiting for hydration when needed; null when caught up with the tail. With
   * options (see {@link ReaderNextOptions}): `wait` waits at the tail for the next append instead
   * of returning null, `durable` returns only records at or below `durableId`, `signal` aborts the
   * wait. A call without options costs what it always did.
   *
   * @throws (rejects) AOF_ERR_CORRUPT, AOF_ERR_IO, AOF_ERR_CLOSED (also when the reader or the
   *   manager closes during a wait); AOF_ERR_INVALID_ARGUMENT / AOF_ERR_UNKNOWN_OPTION (bad
   *   options); an `AbortError` when `signal` aborts; with `durable`, the flush failure
   *   (AOF_ERR_IO, AOF_ERR_WORKER_FAILED) that stops durableId for good
   */
  next(options?: ReaderNextOptions): Promise<LogRecord | null> {
    return this.#core.next(options);
  }

  /**
   * Releases the pinned run. Idempotent; later calls throw AOF_ERR_CLOSED, and a pending
   * `next({ wait: true })` rejects with it.
   */
  close(): void {
    this.#core.close();
  }

  /** `using reader = log.openReader()`: closes the reader when the scope ends ({@link close}). */
  [Symbol.dispose](): void {
    this.#core.close();
  }

  /** `await using reader = log.openReader()`: closes the reader when the scope ends ({@link close}). */
  [Symbol.asyncDispose](): Promise<void> {
    this.#core.close();
    return Promise.resolve();
  }
}

/** The arena's views a frame is read through (the owner's Arena, or an attached view's). */
export interface ArenaViews {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
}

/**
 * Record `id` from the frame at arena byte `at`: its payload a view into the arena, or a copy with
 * `copy`. The frame takes `frameLength(payload.length)` bytes. Shared by the arena reader and an
 * attached view's reader.
 */
export function recordAt(arena: ArenaViews, at: number, id: number, copy: boolean): LogRecord {
  const length = framePayloadLengthAt(arena.u32, at);
  const timestamp = frameTimestampAt(arena.f64, at);
  const start = at + RECORD_PAYLOAD_OFFSET;
  const payload = copy ? arena.u8.slice(start, start + length) : arena.u8.subarray(start, start + length);
  return { id, timestamp, payload };
}

/**
 * The first id of a reader opened with `options` on `log` (checked: known keys, a safe integer
 * within [firstId, nextId]).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_OUT_OF_RANGE
 */
export function readerStart(options: ReaderOptions, log: { readonly name: string; readonly firstId: number; readonly nextId: number }): number {
  if (typeof options !== 'object' || options === null) throw AofError.invalidArgument('reader options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'from' && key !== 'copy') {
      throw new AofError(ErrorCode.UNKNOWN_OPTION, `unknown reader option ${key}; expected from, copy`, { details: { option: key } });
    }
  }
  const from = options.from ?? log.firstId;
  if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0) {
    throw AofError.invalidArgument(`reader option from must be a non-negative integer, got ${String(from)}`);
  }
  if (from < log.firstId || from > log.nextId) {
    throw new AofError(ErrorCode.OUT_OF_RANGE, `stream ${log.name} holds ids [${log.firstId}, ${log.nextId}); cannot start reading at ${from}`, {
      details: { from, firstId: log.firstId, nextId: log.nextId },
    });
  }
  return from;
}

/**
 * The reader's engine on the thread that owns the arena (and in read-only managers): locates the
 * run holding the next record (a write window, a raw chunk, a Tier 1 frame, or a sealed segment's
 * whole slot), pins it, and reads frames from it. See the module comment.
 */
export class ArenaReader implements ReaderEngine {
  readonly #host: ReaderHost;
  readonly #stream: StreamView;
  readonly #read: ReadPath;
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #copy: boolean;
  #nextId: number;
  #seg: Segment | null = null;
  #pinned = -1; // run pinned by this reader, or -1
  #range: ResidentRange | null = null; // the pinned run's range when it is not the segment's slot
  #offset = -1; // byte offset of the next frame in the segment, -1 = not located yet
  #base = 0; // arena byte of segment byte 0 in the pinned run (set by #locate)
  /** Runs pinned beyond #pinned for an attached view's lease (lease()), released at the next one. */
  readonly #extraPins: number[] = [];
  #scanning = false; // read through a range of this segment to its end: read ahead
  #closed = false;
  /** durableId as last read: ids at or below it need no new look (durableId only grows). */
  #durableSeen = -1;

  /** Obtained from `log.openReader()` (wrapped in an AofReader) or `openArenaReader`. */
  constructor(host: ReaderHost, options: ReaderOptions) {
    const log = host.stream;
    const from = readerStart(options, log);
    this.#host = host;
    this.#stream = log;
    this.#read = host.read;
    this.#arena = host.arena;
    this.#coordinator = host.coordinator;
    this.#copy = options.copy === true;
    this.#nextId = from;
    host.opened(this);
  }

  get streamName(): string {
    return this.#stream.name;
  }

  /** Id of the record the next call returns. */
  get position(): number {
    return this.#nextId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The next record, or null when caught up with the tail (call again later for new records).
   * @throws AOF_ERR_WOULD_BLOCK (kind `hydration`) when the record's segment is being loaded;
   *   AOF_ERR_CORRUPT / AOF_ERR_IO when it cannot be loaded; AOF_ERR_CLOSED
   */
  nextSync(): LogRecord | null {
    const record = this.#tryNext();
    if (record === BLOCKED) {
      this.#host.counters.noteWouldBlock(WouldBlockKind.HYDRATION);
      throw new WouldBlockError(WouldBlockKind.HYDRATION, `stream ${this.#stream.name}: record ${this.#nextId} is not resident; loading it`);
    }
    return record;
  }

  /**
   * The next record, waiting for hydration when needed; null when caught up with the tail. With
   * options (see {@link ReaderNextOptions}): `wait` waits at the tail for the next append instead
   * of returning null, `durable` returns only records at or below `durableId`, `signal` aborts the
   * wait. A call without options costs what it always did.
   *
   * @throws (rejects) AOF_ERR_CORRUPT, AOF_ERR_IO, AOF_ERR_CLOSED (also when the reader or the
   *   manager closes during a wait); AOF_ERR_INVALID_ARGUMENT / AOF_ERR_UNKNOWN_OPTION (bad
   *   options); an `AbortError` when `signal` aborts; with `durable`, the flush failure
   *   (AOF_ERR_IO, AOF_ERR_WORKER_FAILED) that stops durableId for good
   */
  next(options?: ReaderNextOptions): Promise<LogRecord | null> {
    return options === undefined ? this.#next() : this.#nextWith(options);
  }

  /** next() without options: nextSync's loop, awaiting the coordinator while a load runs. */
  async #next(): Promise<LogRecord | null> {
    let waited = false;
    for (;;) {
      const record = this.#tryNext();
      if (record !== BLOCKED) return record;
      if (!waited) this.#host.counters.noteWouldBlock(WouldBlockKind.HYDRATION); // once per call that waits
      waited = true;
      await this.#coordinator.nextChange();
    }
  }

  /** next() with options: the same loop, waiting also at the tail (`wait`) and for durability (`durable`). */
  async #nextWith(options: ReaderNextOptions): Promise<LogRecord | null> {
    const { wait, durable, signal } = nextOptions(options);
    let waited = false;
    for (;;) {
      if (signal?.aborted === true) throw abortError(signal);
      if (durable && this.#nextId > this.#durableSeen) {
        if (this.#closed) throw AofError.closed('reader');
        this.#durableSeen = this.#host.durableId();
        if (this.#nextId > this.#durableSeen) {
          if (!wait) return null;
          const failure = this.#host.durabilityFailure();
          if (failure !== null) throw failure;
          // Not appended yet: the append wakes us (then we wait here for its fsync). Appended,
          // not durable yet: the flush worker's progress does (PROGRESS_EPOCH, Atomics.waitAsync).
          await this.#waitFor(this.#nextId >= this.#stream.nextId ? this.#host.nextAppend() : this.#coordinator.nextChange(), signal);
          continue;
        }
      }
      const record = this.#tryNext();
      if (record === BLOCKED) {
        if (!waited) this.#host.counters.noteWouldBlock(WouldBlockKind.HYDRATION);
        waited = true;
        await this.#waitFor(this.#coordinator.nextChange(), signal);
        continue;
      }
      if (record !== null || !wait) return record;
      await this.#waitFor(this.#host.nextAppend(), signal);
    }
  }

  /** `change`, or an AbortError when `signal` aborts first. */
  #waitFor(change: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    return signal === undefined ? change : untilAborted(change, signal);
  }

  /**
   * Releases the pinned slot. Idempotent; later calls throw AOF_ERR_CLOSED, and a pending
   * `next({ wait: true })` rejects with it.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unpin();
    this.#host.closed(this);
  }

  poll(): LogRecord | null | typeof BLOCKED {
    return this.#tryNext();
  }

  #tryNext(): LogRecord | null | typeof BLOCKED {
    const located = this.#locate();
    if (located !== true) return located;
    const record = recordAt(this.#arena, this.#base + this.#offset, this.#nextId++, this.#copy);
    this.#offset += frameLength(record.payload.length);
    return record;
  }

  /**
   * Positions the reader on record #nextId: pins the run holding it and sets #base and #offset
   * (segment byte `o` is at arena byte `#base + o`). True when positioned; null at the tail; BLOCKED
   * while the run is loaded.
   */
  #locate(): true | null | typeof BLOCKED {
    if (this.#closed) throw AofError.closed('reader');
    const id = this.#nextId;
    if (id >= this.#stream.nextId) return null;
    let seg = this.#seg;
    if (seg === null || id >= this.#stream.endIdOf(seg)) {
      this.#unpin();
      seg = this.#stream.segmentFor(id) ?? null;
      if (seg === null) {
        throw new AofError(ErrorCode.OUT_OF_RANGE, `record ${id} of stream ${this.#stream.name} is no longer stored`, { details: { id } });
      }
      this.#seg = seg;
      this.#offset = -1;
      this.#scanning = false;
    }
    const index = id - seg.baseId;
    // Past the end of the pinned range (a window that retired, a chunk, a frame): locate again.
    const pinnedRange = this.#range;
    if (pinnedRange !== null && pinnedRange.endRecord >= 0 && index >= pinnedRange.endRecord) {
      this.#unpin();
      this.#offset = -1;
      this.#scanning = true;
    }
    if (this.#pinned < 0) {
      // The whole-segment slot if there is one, else the range holding the record (a write
      // window, a raw chunk, a Tier 1 frame).
      const range = seg.slot < 0 ? seg.rangeFor(index) : null;
      if (range !== null) {
        this.#arena.pin(range.slot);
        this.#pinned = range.slot;
        this.#range = range;
        this.#offset = -1;
        // Read ahead, once the reader has read through a range (a scan, not a point read), at
        // every new range: the read path loads the next chunk or frame while this one is read (a
        // scan then waits once per segment, not once per range), or, in segments only Tier 2
        // holds, keeps a window of frames on their way, into the next segments too.
        if (this.#scanning && range.endRecord >= 0) this.#read.readAhead(this.#stream, seg, range.endRecord);
      } else {
        if (seg.slot < 0) {
          throwIfFailed(seg);
          this.#read.ensureResident(this.#stream.name, seg, index);
          return BLOCKED; // loading (the retry finds the range)
        }
        this.#arena.pin(seg.slot);
        this.#pinned = seg.slot;
        this.#range = null;
      }
    }
    const range = this.#range;
    if (range !== null) {
      // Run byte i is segment byte range.start + i: `base + offset` addresses segment byte offset.
      this.#base = this.#arena.base(range.slot) - range.start;
      if (this.#offset < 0) {
        const end = range.end >= 0 ? range.end : this.#stream.dataBytesOf(seg);
        this.#offset = range.start + frameOffsetOf(this.#arena.u8, this.#base + range.start, this.#base + end, index - range.first);
      }
    } else {
      this.#base = this.#arena.base(seg.slot);
      if (this.#offset < 0) this.#offset = frameOffsetOf(this.#arena.u8, this.#base, this.#base + this.#stream.dataBytesOf(seg), index);
    }
    return true;
  }

  /**
   * Pins the run holding record `id` for an attached view (src/share/share-host.ts) and describes
   * it, followed by the resident runs that continue it (up to `maxRuns` in all, each starting at
   * the id the one before ends at: a stream's small first windows then cost the view one request,
   * not one each). The runs stay pinned until the next lease or close. A `live` run (a write window
   * still written: `end` and `endId` -1) ends the list; it holds frames up to its WRITE_LEN word.
   * null at the tail; BLOCKED while the first run is loaded.
   */
  lease(id: number, maxRuns: number): RunLease[] | null | typeof BLOCKED {
    this.#unpinExtra();
    if (id !== this.#nextId) {
      // Forward (the view read through its last lease): keep the segment, so that #locate finds
      // the next range and reads ahead as a scan. Backward: locate from scratch.
      if (id < this.#nextId) {
        this.#unpin();
        this.#seg = null;
      }
      this.#nextId = id;
      this.#offset = -1;
    }
    const located = this.#locate();
    if (located !== true) return located;
    const runs: RunLease[] = [this.#runOf(this.#seg!, this.#range, this.#offset)];
    for (let next = runs[0]!.endId; runs.length < maxRuns && next >= 0 && next < this.#stream.nextId; ) {
      const run = this.#residentRunAt(next);
      if (run === null) break;
      this.#arena.pin(run.slot);
      this.#extraPins.push(run.slot);
      runs.push(run);
      next = run.endId;
    }
    return runs;
  }

  /** The resident run that starts exactly at record `id` (a segment's slot, or a range), or null. */
  #residentRunAt(id: number): RunLease | null {
    const seg = this.#stream.segmentFor(id);
    if (seg === undefined) return null;
    const index = id - seg.baseId;
    if (seg.slot >= 0) return index === 0 ? this.#runOf(seg, null, 0) : null;
    const range = seg.rangeFor(index);
    return range === null || range.first !== index ? null : this.#runOf(seg, range, range.start);
  }

  /**
   * A run of `seg` described for a lease, from segment byte `offset`: its `range`, or the
   * segment's whole slot (null). A live range (the write window) has no end yet: -1.
   */
  #runOf(seg: Segment, range: ResidentRange | null, offset: number): RunLease {
    if (range === null) {
      return { slot: seg.slot, base: this.#arena.base(seg.slot), offset, end: this.#stream.dataBytesOf(seg), endId: this.#stream.endIdOf(seg) };
    }
    const live = range.end < 0;
    return {
      slot: range.slot,
      base: this.#arena.base(range.slot) - range.start,
      offset,
      end: live ? -1 : range.end,
      endId: live ? -1 : seg.baseId + range.endRecord,
    };
  }

  #unpinExtra(): void {
    if (this.#extraPins.length === 0) return;
    for (const slot of this.#extraPins) this.#arena.unpin(slot);
    this.#extraPins.length = 0;
    this.#coordinator.kick();
  }

  /**
   * Resolves once record `id` exists (`durable`: is durable), for an attached view's wait
   * (src/share/share-host.ts), or as soon as `cancelled()` says so after a wake-up. Woken as this
   * thread's own waits are: by the append, or by the coordinator for durability.
   * @throws (rejects) AOF_ERR_CLOSED when this reader closes (the manager's close closes it); with
   *   `durable`, the flush failure that stops durableId for good
   */
  async until(id: number, durable: boolean, cancelled: () => boolean): Promise<void> {
    for (;;) {
      if (this.#closed) throw AofError.closed('reader');
      if (cancelled()) return;
      if (!durable) {
        if (id < this.#stream.nextId) return;
        await this.#host.nextAppend();
        continue;
      }
      if (id <= this.#host.durableId()) return;
      const failure = this.#host.durabilityFailure();
      if (failure !== null) throw failure;
      await (id >= this.#stream.nextId ? this.#host.nextAppend() : this.#coordinator.nextChange());
    }
  }

  #unpin(): void {
    this.#unpinExtra();
    this.#range = null;
    if (this.#pinned >= 0) {
      this.#arena.unpin(this.#pinned);
      this.#pinned = -1;
      this.#coordinator.kick();
    }
  }
}

/**
 * Every record `reader` reads before id `end` (what `log.read()` yields: the tail at the time of
 * the call), closing the reader when the iteration ends, however it ends. Shared by the writer's
 * log and a read-only manager's.
 */
export async function* recordsUpTo(reader: AofReader, end: number): AsyncGenerator<LogRecord> {
  try {
    while (reader.position < end) {
      const record = await reader.next();
      if (record === null) return;
      yield record;
    }
  } finally {
    reader.close();
  }
}

/**
 * Reports the segment's last load failure. Corruption and expiry (retention removed the segment
 * under the reader) are permanent; anything else (an I/O error, a worker that kept crashing) is
 * reported once and then retried by the next call.
 */
function throwIfFailed(seg: Segment): void {
  if (seg.expired) {
    throw new AofError(ErrorCode.OUT_OF_RANGE, `records ${seg.baseId}..${seg.endId - 1} expired (retention) while being read`, {
      details: { baseId: seg.baseId },
    });
  }
  const failure = seg.error;
  if (failure === null) return;
  if (failure.code !== ErrorCode.CORRUPT) seg.apply({ type: SegmentEventType.ERROR_CLEARED });
  throw failure;
}
