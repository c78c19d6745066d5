/**
 * A cursor over one stream. `nextSync()` returns records that are resident in the arena and throws
 * WouldBlock (kind `hydration`) after starting the load of a segment that is not; `next()` is the
 * same loop awaiting the coordinator's wake-up in between.
 *
 * Byte ownership: without `copy`, payloads are views into the arena. The reader pins the slot it
 * is positioned in, so the view cannot be overwritten until the reader moves to another segment,
 * which happens only inside a later nextSync()/next() call, or on close(). Hence: a payload is valid
 * until the next call on the same reader.
 *
 * Dependencies: a read-only view of the stream's segments (src/read/ports.ts StreamView) and the
 * read path that makes a segment or frame resident (src/read/read-path.ts), never the log itself.
 */
import type { Arena } from './arena/arena.js';
import type { Coordinator } from './coordinator/coordinator.js';
import { AofError, ErrorCode, WouldBlockError, WouldBlockKind } from './errors.js';
import { RECORD_PAYLOAD_OFFSET, frameLength, frameOffsetOf, framePayloadLengthAt, frameTimestampAt } from './format/record.js';
import { frameForRecord } from './format/tier1.js';
import type { EngineCounters } from './metrics/engine-counters.js';
import { CLONE_REMEDY, refuseClone } from './not-cloneable.js';
import type { StreamView } from './read/ports.js';
import type { ReadPath } from './read/read-path.js';
import { SegmentEventType, type Segment } from './tier0/segment.js';

/** A record as returned by readers. */
export interface LogRecord {
  /** Dense per-stream id, from 0. */
  id: number;
  /** Milliseconds since the Unix epoch, taken when the record was appended. */
  timestamp: number;
  /**
   * The bytes appended. From `AofReader.nextSync()`/`next()` this is a **view into the arena**,
   * valid until the next call on that reader (or its close); copy it (`slice()`) to keep it, or open
   * the reader with `{ copy: true }`. From `log.read()` it is always a copy you own.
   */
  payload: Uint8Array;
}

export interface ReaderOptions {
  /** First id to read (default: the first stored id). Must be within [firstId, nextId]. */
  from?: number;
  /** Return payloads as copies the caller owns instead of arena views (default false). */
  copy?: boolean;
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
  /** The reader closed: the log stops tracking it. */
  closed(reader: AofReader): void;
}

/** Returned by #tryNext when the record is not resident yet. */
const BLOCKED = Symbol('blocked');

let construct: (host: ReaderHost, options: ReaderOptions) => AofReader;

/**
 * A new reader (for the log's openReader). The constructor is private, so the public type shows
 * no engine types; this module function, not exported by the package, is the way in.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_OUT_OF_RANGE
 */
export function openReader(host: ReaderHost, options: ReaderOptions): AofReader {
  return construct(host, options);
}

export class AofReader {
  readonly #host: ReaderHost;
  readonly #stream: StreamView;
  readonly #read: ReadPath;
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #copy: boolean;
  #nextId: number;
  #seg: Segment | null = null;
  #pinned = -1; // slot pinned by this reader, or -1
  #offset = -1; // byte offset of the next frame in the segment, -1 = not located yet
  // For segments filled frame by frame from Tier 1: the zstd frame the offset is in, and where it ends.
  #frame = -1;
  #frameEnd = -1;
  #closed = false;

  static {
    construct = (host, options) => new AofReader(host, options);
  }

  /** Obtained from `log.openReader()`. */
  private constructor(host: ReaderHost, options: ReaderOptions) {
    const log = host.stream;
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
    refuseClone(this, `an AofReader (stream ${log.name})`, CLONE_REMEDY, () => ({ stream: log.name, position: this.#nextId, closed: this.#closed }));
    this.#host = host;
    this.#stream = log;
    this.#read = host.read;
    this.#arena = host.arena;
    this.#coordinator = host.coordinator;
    this.#copy = options.copy === true;
    this.#nextId = from;
  }

  /** Id of the record the next call returns. */
  get position(): number {
    return this.#nextId;
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
   * The next record, waiting for hydration when needed; null when caught up with the tail.
   * @throws (rejects) AOF_ERR_CORRUPT, AOF_ERR_IO, AOF_ERR_CLOSED
   */
  async next(): Promise<LogRecord | null> {
    let waited = false;
    for (;;) {
      const record = this.#tryNext();
      if (record !== BLOCKED) return record;
      if (!waited) this.#host.counters.noteWouldBlock(WouldBlockKind.HYDRATION); // once per call that waits
      waited = true;
      await this.#coordinator.nextChange();
    }
  }

  /** Releases the pinned slot. Idempotent; later calls throw AOF_ERR_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unpin();
    this.#host.closed(this);
  }

  #tryNext(): LogRecord | null | typeof BLOCKED {
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
      this.#frame = -1;
      this.#frameEnd = -1;
    }
    if (this.#pinned < 0) {
      if (seg.slot < 0) {
        throwIfFailed(seg);
        this.#read.ensureResident(this.#stream.name, seg);
        if (seg.slot < 0) return BLOCKED;
      }
      this.#arena.pin(seg.slot);
      this.#pinned = seg.slot;
    }
    const base = this.#arena.base(seg.slot);
    if (seg.partial) {
      if ((this.#offset < 0 || this.#offset >= this.#frameEnd) && !this.#enterFrame(seg, base, id)) return BLOCKED;
    } else if (this.#offset < 0) {
      this.#offset = frameOffsetOf(this.#arena.u8, base, base + this.#stream.dataBytesOf(seg), id - seg.baseId);
    }
    const at = base + this.#offset;
    const length = framePayloadLengthAt(this.#arena.u32, at);
    const timestamp = frameTimestampAt(this.#arena.f64, at);
    const start = at + RECORD_PAYLOAD_OFFSET;
    const payload = this.#copy ? this.#arena.u8.slice(start, start + length) : this.#arena.u8.subarray(start, start + length);
    this.#offset += frameLength(length);
    this.#nextId = id + 1;
    return { id, timestamp, payload };
  }

  /**
   * Positions the reader in the Tier 1 frame holding `id` of a partially resident segment: the
   * first frame by index lookup, later ones by moving to the next. If the frame is not resident,
   * asks for it (and, when reading sequentially, for the one after) and returns false.
   */
  #enterFrame(seg: Segment, base: number, id: number): boolean {
    const index = seg.frameIndex!;
    const sequential = this.#offset >= 0;
    const frame = sequential ? this.#frame + 1 : frameForRecord(index, id - seg.baseId);
    if (!this.#arena.frameResident(seg.slot, frame)) {
      throwIfFailed(seg);
      this.#read.requestFrame(this.#stream.name, seg, frame);
      if (sequential) this.#read.requestFrame(this.#stream.name, seg, frame + 1);
      return false;
    }
    if (sequential) this.#read.requestFrame(this.#stream.name, seg, frame + 1); // read ahead while this frame is consumed
    const entry = index[frame]!;
    this.#frame = frame;
    this.#frameEnd = entry.rawOffset + entry.rawBytes;
    if (!sequential) {
      const start = base + entry.rawOffset;
      this.#offset = entry.rawOffset + frameOffsetOf(this.#arena.u8, start, start + entry.rawBytes, id - seg.baseId - entry.firstRecord);
    }
    return true;
  }

  #unpin(): void {
    if (this.#pinned >= 0) {
      this.#arena.unpin(this.#pinned);
      this.#pinned = -1;
      this.#coordinator.kick();
    }
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
