/**
 * One stream of a read-only manager: the segments another process writes, as this process last
 * saw them, behind the same public `AofLog` as the writer's (src/log.ts `LogEngine`). Readers,
 * `read()` and `createReadStream()` work as on the writer (the same `AofReader` over the same read
 * path); every write throws AOF_ERR_READ_ONLY.
 *
 * One owner of the view: {@link ReadOnlyLog.update} is the only place segments are added, moved
 * between tiers (the transitions the writer recorded, replayed as `Segment.apply` events),
 * expired, or grown, and `#advanceTail` the only place `nextId` moves. It moves forward only, and
 * wakes whoever waits at the tail: `nextAppend()` waiters, i.e. `log.follow()`,
 * `reader.next({ wait: true })` and follow read streams (src/follow.ts, src/reader.ts), exactly as
 * an append wakes them on the writer. An update also kicks the coordinator: a `durable` wait for a
 * record already visible waits there for `durableId`, which moves only with updates here.
 *
 * Ids never come back: a segment shown stays until retention expires it, and the view never
 * shrinks even if the files would say so (someone cut a file): reads of what is gone then fail
 * with coded errors instead.
 */
import type { Arena } from '../arena/arena.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { AofError, ErrorCode } from '../errors.js';
import { segmentKey, segmentPath, tier1Path } from '../format/root-layout.js';
import type { LogEngine } from '../log.js';
import type { EngineCounters } from '../metrics/engine-counters.js';
import type { StreamView } from '../read/ports.js';
import type { ReadPath } from '../read/read-path.js';
import { openFollow, type FollowOptions } from '../follow.js';
import { openReader, recordsUpTo, type AofReader, type LogRecord, type ReaderEngine, type ReaderHost, type ReaderOptions } from '../reader.js';
import { Segment, SegmentEventType, SegmentTier } from '../tier0/segment.js';
import { RefusedWrites } from './refused-writes.js';
import { eventsToward, type RecordedSegment, type RecordedStream } from './recorded-view.js';
import type { TailFile } from './stream-tail.js';

/** What a read-only manager lends each of its logs. */
export interface ReadOnlyLogContext {
  root: string;
  arena: Arena;
  read: ReadPath;
  coordinator: Coordinator;
  counters: EngineCounters;
  /** How the manager was opened, for AOF_ERR_READ_ONLY messages (default 'readOnly'). */
  openedWith?: 'readOnly' | 'follower';
  /** Called when a wait at the tail begins (a follower keeps its poll timer alive meanwhile). */
  tailWaitStarted?: () => void;
  /**
   * Put the frames a refresh checked into the arena for readers at the tail (`readOnly.publishTail`;
   * default false: a follower's view has no tail files).
   */
  publishTail?: boolean;
}

/** The writer's stream as the files show it now: what the manifest records, then what only the files hold. */
export interface StreamState {
  recorded: RecordedStream;
  /** Raw files past `recorded.endId`, contiguous from it (src/read-only/stream-tail.ts). */
  tail: readonly TailFile[];
  /** Files of the tail the manifest now records, with the frames read of them since the last look. */
  settled: readonly TailFile[];
}

/** A segment this process shows and what it knows of it beyond the Segment itself. */
interface Shown {
  seg: Segment;
  /** Recorded in the manifest (sealed there); false: seen only in the files so far. */
  recorded: boolean;
  /** For a segment seen only in the files: the header's durable length when last read. */
  durableBytes: number;
}

export class ReadOnlyLog extends RefusedWrites implements StreamView, LogEngine {
  readonly #name: string;
  readonly #dir: string;
  readonly #ctx: ReadOnlyLogContext;
  readonly #shown: Shown[] = [];
  /** Segments, oldest first: the same objects as #shown, as readers and the stats walk them. */
  readonly #segments: Segment[] = [];
  readonly #readers = new Set<ReaderEngine>();
  readonly #readerHost: ReaderHost;
  #nextId = 0;
  /** Where the records the last advance of the tail brought begin: a reader at or past it follows the tail. */
  #batchFrom = 0;
  /** Bytes of checked frames put into the arena for readers at the tail (stats: `tailBytesPublished`). */
  #publishedBytes = 0;
  #closed = false;
  /** The pending `nextAppend()` promise and its resolver (one per change, shared by every waiter). */
  #tailWait: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(name: string, dir: string, ctx: ReadOnlyLogContext) {
    super();
    this.#name = name;
    this.#dir = dir;
    this.#ctx = ctx;
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
      // The writer's failures are its own: here durableId simply stops until it goes on.
      durabilityFailure: () => null,
    };
  }

  /** The stream's name. */
  get name(): string {
    return this.#name;
  }

  /** Id one past the last record this process can read: where readers are caught up. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Lowest id still stored (retention expired everything below). */
  get firstId(): number {
    // With nothing shown, nextId was moved up to the retention floor (update).
    return this.#segments.length > 0 ? this.#segments[0]!.baseId : this.#nextId;
  }

  /**
   * Highest id that is durable as far as the files say (-1 when none): every segment the manifest
   * records as sealed (recorded only once its footer is durable), then, in the first segment only
   * the files hold, the records within the durable length its header states (rewritten by the
   * writer after each fdatasync). A lower bound: the header lags the writer's own `durableId`.
   */
  get durableId(): number {
    let durable = this.firstId - 1;
    for (const shown of this.#shown) {
      const seg = shown.seg;
      if (shown.recorded) {
        durable = seg.endId - 1;
        continue;
      }
      const [, records] = seg.boundaryIndex.atOrBelowOffset(Math.min(shown.durableBytes, seg.dataBytes));
      durable = seg.baseId + records - 1;
      if (records < seg.count) break;
    }
    return durable;
  }

  /** The shown segments, oldest first. Do not mutate. */
  get segments(): readonly Segment[] {
    return this.#segments;
  }

  // --- StreamView ----------------------------------------------------------------------------

  /** The segment holding `id`, or undefined when id is outside [firstId, nextId). */
  segmentFor(id: number): Segment | undefined {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const seg = segs[mid]!;
      if (id < seg.baseId) hi = mid - 1;
      else if (id >= seg.endId) lo = mid + 1;
      else return seg;
    }
    return undefined;
  }

  /** Bytes of checked frames: a followed segment's grow with each refresh (TAIL_EXTENDED). */
  dataBytesOf(seg: Segment): number {
    return seg.dataBytes;
  }

  endIdOf(seg: Segment): number {
    return seg.endId;
  }

  // --- Reads ---------------------------------------------------------------------------------

  /** Opens a reader positioned at `from` (default: the first stored id). */
  openReader(options: ReaderOptions = {}): AofReader {
    this.#checkOpen();
    return openReader(this.#readerHost, options);
  }

  /** Every record from `from` up to the tail at the time of the call, as copies the caller owns. */
  read(options: { from?: number } = {}): AsyncIterableIterator<LogRecord> {
    const end = this.#nextId;
    return recordsUpTo(this.openReader({ ...options, copy: true }), end);
  }

  /**
   * Every record from `from` on, waiting at the tail for the writer's next ones (see
   * `AofLog.follow`): woken by `#advanceTail`.
   * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED,
   *   AbortError (synchronously)
   */
  follow(options: FollowOptions = {}): AsyncIterableIterator<LogRecord> {
    return openFollow(this, options);
  }

  /**
   * Resolves the next time `nextId` advances (a refresh found new records), a reader closes, or the
   * log closes: the tail wake-up of `reader.next({ wait })` (the ReaderHost port the writer's log
   * resolves on each append), no timer, no polling. One promise per change, shared by every
   * waiter. Never rejects.
   */
  nextAppend(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#tailWait === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#tailWait = { promise, resolve };
      this.#ctx.tailWaitStarted?.();
    }
    return this.#tailWait.promise;
  }

  /** Bytes of frames a refresh checked and put straight into the arena (`stats().readOnly.tailBytesPublished`). */
  get publishedBytes(): number {
    return this.#publishedBytes;
  }

  /** Whether someone waits at the tail now (`nextAppend()` not yet resolved). */
  get waitingAtTail(): boolean {
    return this.#tailWait !== null;
  }

  // --- The manager's side --------------------------------------------------------------------

  /**
   * Brings the view to `state` (see the file comment): expires what retention removed, moves
   * shown segments through the transitions the manifest recorded, grows the followed ones, adds
   * new ones, then advances the tail. Returns problems it could not reconcile (as messages), for
   * the manager's `lastError`; the view stays consistent (it never shrinks).
   */
  update(state: StreamState): string[] {
    const problems: string[] = [];
    const { recorded, tail } = state;
    // Retention: the writer recorded EXPIRED before removing the files.
    while (this.#shown.length > 0 && this.#shown[0]!.seg.endId <= recorded.firstId && this.#shown[0]!.seg.sealed) {
      const { seg } = this.#shown.shift()!;
      this.#segments.shift();
      seg.apply({ type: SegmentEventType.EXPIRED });
    }
    // Everything expired: the stream goes on at the retention floor.
    if (this.#shown.length === 0) this.#advanceTail(recorded.firstId);
    if (recorded.gapAt !== null) problems.push(`stream ${this.#name}: the manifest records segment ${recorded.gapAt} after a gap (records end at ${recorded.endId}); reads stop there`);
    let i = 0;
    let consistent = true;
    for (const want of recorded.segments) {
      if (!(consistent = this.#bring(i, want, problems))) break;
      i++;
    }
    // The last frames of segments sealed since the last look, when a scan had not seen them.
    for (const file of state.settled) {
      const seg = this.segmentFor(file.baseId);
      if (seg !== undefined && seg.baseId === file.baseId) this.#publishFresh(seg, file);
    }
    for (let t = 0; consistent && t < tail.length; t++) {
      if (!(consistent = this.#follow(i, tail[t]!, t < tail.length - 1, problems))) break;
      i++;
    }
    const last = this.#segments[this.#segments.length - 1];
    if (last !== undefined) this.#advanceTail(last.endId);
    // durableId may have moved (a seal recorded, a header rewritten): durable waits look again.
    this.#ctx.coordinator.kick();
    return problems;
  }

  /** Closes every reader and wakes the tail's waiters (manager close). */
  close(): void {
    this.#closed = true;
    for (const reader of [...this.#readers]) reader.close();
    this.#wakeTail();
  }

  /**
   * The one place `nextId` moves: forward only, waking the tail's waiters (`nextAppend()`:
   * `follow()`, `reader.next({ wait })`, follow read streams).
   */
  #advanceTail(nextId: number): void {
    if (nextId <= this.#nextId) return;
    this.#batchFrom = this.#nextId;
    this.#nextId = nextId;
    this.#wakeTail();
  }

  #wakeTail(): void {
    const wait = this.#tailWait;
    this.#tailWait = null;
    wait?.resolve();
  }

  /** Shown segment `i` becomes (or is created as) the recorded `want`. False: stop here (inconsistent). */
  #bring(i: number, want: RecordedSegment, problems: string[]): boolean {
    const shown = this.#shown[i];
    if (shown === undefined) {
      if (!this.#continues(want.baseId, problems)) return false;
      this.#push({ seg: this.#restored(want), recorded: true, durableBytes: 0 });
      return true;
    }
    const seg = shown.seg;
    if (seg.baseId !== want.baseId) {
      problems.push(`stream ${this.#name}: the manifest records segment ${want.baseId} where this process shows segment ${seg.baseId}; the view stops there`);
      return false;
    }
    const events = eventsToward(seg, want);
    // The object key Tier 2 reads use (RemoteReads), once the segment may be there.
    if (events !== null && want.uploaded && seg.key === '') events.unshift({ type: SegmentEventType.KEYED, key: segmentKey(this.#name, seg.baseId) });
    if (events === null) {
      // The catalog went back (the writer's recovery sealed the segment again, or counts differ):
      // later reads use a fresh segment; readers inside the old one get an error and reopen.
      problems.push(`stream ${this.#name}: segment ${seg.baseId} went from ${seg.tier} (${seg.count} records) to ${want.tier} (${want.count} records) in the manifest; replaced`);
      if (want.count < seg.count) return false; // records shown would disappear: keep the view as it is
      seg.apply({ type: SegmentEventType.FAILED, error: new AofError(ErrorCode.UNAVAILABLE, `segment ${seg.baseId} of stream ${this.#name} changed under the reader; open a new reader`, { details: { stream: this.#name, baseId: seg.baseId } }) });
      const fresh = this.#restored(want);
      this.#shown[i] = { seg: fresh, recorded: true, durableBytes: 0 };
      this.#segments[i] = fresh;
      return true;
    }
    for (const event of events) seg.apply(event);
    shown.recorded = true;
    return true;
  }

  /** Shown segment `i` becomes (or is created as) the tail file `file`; `superseded`: a later file continues it. */
  #follow(i: number, file: TailFile, superseded: boolean, problems: string[]): boolean {
    let shown = this.#shown[i];
    if (shown === undefined) {
      if (!this.#continues(file.baseId, problems)) return false;
      shown = { seg: new Segment(file.baseId, segmentPath(this.#dir, file.baseId), tier1Path(this.#dir, file.baseId), 0, 0, false), recorded: false, durableBytes: 0 };
      this.#push(shown);
    } else if (shown.seg.baseId !== file.baseId || shown.recorded) {
      problems.push(`stream ${this.#name}: file ${file.path} follows where this process shows segment ${shown.seg.baseId}; the view stops there`);
      return false;
    }
    const seg = shown.seg;
    shown.durableBytes = file.durableBytes;
    if (!seg.sealed && (file.count > seg.count || file.dataBytes > seg.dataBytes)) {
      seg.apply({ type: SegmentEventType.TAIL_EXTENDED, count: file.count, dataBytes: file.dataBytes });
    }
    this.#publishFresh(seg, file);
    // The next file starts where this one's frames end: it will never grow again.
    if (superseded && !seg.sealed) seg.apply({ type: SegmentEventType.SEALING, count: seg.count, dataBytes: seg.dataBytes });
    return true;
  }

  /**
   * The new frames of `file`, checked already: a reader at the tail reads them from the arena at
   * once instead of loading them again in a hydrate thread (src/read/tail-publish.ts). Only for
   * such a reader: anyone else may never read them, and the arena is a cache of what is read.
   */
  #publishFresh(seg: Segment, file: TailFile): void {
    if (file.fresh !== null && this.#ctx.publishTail === true && this.#readerAtTail()) {
      this.#publishedBytes += this.#ctx.read.publishChecked(seg, file.fresh);
    }
  }

  /**
   * Whether a reader follows the tail: it waits there, or it is still reading the records the
   * last advance brought (a follower busy with the previous batch when the next one comes).
   */
  #readerAtTail(): boolean {
    for (const reader of this.#readers) if (!reader.closed && reader.position >= this.#batchFrom) return true;
    return false;
  }

  /** Whether a new segment at `baseId` continues the shown ones (or starts the view). */
  #continues(baseId: number, problems: string[]): boolean {
    const last = this.#segments[this.#segments.length - 1];
    const end = last === undefined ? this.#nextId : last.endId;
    if (last === undefined && this.#nextId === 0) return true;
    if (baseId === end) return true;
    problems.push(`stream ${this.#name}: segment ${baseId} does not continue the records shown (they end at ${end}); the view stops there`);
    return false;
  }

  #push(shown: Shown): void {
    this.#shown.push(shown);
    this.#segments.push(shown.seg);
  }

  /** A segment as the manifest records it (a raw one is checked against the entry at its first read). */
  #restored(want: RecordedSegment): Segment {
    return Segment.restored(want.baseId, segmentPath(this.#dir, want.baseId), tier1Path(this.#dir, want.baseId), {
      count: want.count,
      dataBytes: want.dataBytes,
      tier: want.tier,
      dataCrc: want.dataCrc,
      maxTimestamp: want.maxTimestamp,
      compressedBytes: want.compressedBytes,
      frameCount: want.frameCount,
      frameIndex: null,
      recordedIndex: want.recordedIndex,
      uploaded: want.uploaded,
      key: segmentKey(this.#name, want.baseId),
      footerUnchecked: want.tier === SegmentTier.RAW,
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw AofError.closed(`stream ${this.#name}`);
  }

  protected refusal(what: string): AofError {
    if (this.#closed) return AofError.closed(`stream ${this.#name}`);
    return AofError.readOnly(`${what} on stream ${this.#name}`, this.#ctx.root, this.#ctx.openedWith);
  }
}
