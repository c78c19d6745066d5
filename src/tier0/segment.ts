/**
 * Main-thread record of one segment of one stream: where its records are (raw file, Tier 1 file,
 * Tier 2 object, arena slot) and how many. Ids are implicit: record i of the segment has id
 * `baseId + i`.
 *
 * One owner of segment state. Every field below is read through a getter and changed only by
 * {@link Segment.apply}, one event at a time, the way `Catalog.apply` (src/manifest/catalog.ts)
 * changes the persistent view with one manifest record at a time. Where an event has a manifest
 * record, it carries the record's name and the same meaning, so the live engine and the catalog
 * the next open replays agree (test/unit/tier0/segment.test.ts checks that they do). The events
 * without a record are residency: arena slots, loads, failures, recaching.
 *
 * The transition table (event → requires → effect; anything else is a bug and throws
 * AOF_ERR_INTERNAL, changing nothing):
 *
 * Lifecycle (tier, persistent: the manifest records the same step)
 * - SEALING (log: rollover by size, close)        not sealed, RAW    → sealed, count, dataBytes fixed, not parked
 * - SEALED (Tier 1: footer durable)               sealed, RAW        → dataCrc, maxTimestamp
 * - COMPRESSION_DONE (Tier 1; a read-only manager sealed, RAW        → TIER1, frame index, sizes (footer
 *   replaying the writer's record)                                     checked: compression checks it);
 *                                                                      a null index: the read path
 *                                                                      loads it from the file
 * - UPLOADED (Tier 2)                             TIER1, not uploaded → uploaded
 * - EVICTED (Tier 2: budget)                      TIER1|TIER2, uploaded → TIER2
 * - HYDRATED (Tier 2: recache)                    TIER2, uploaded    → TIER1
 * - NEEDS_RECOVERY (damaged local Tier 1 copy)    TIER1              → TIER2 if uploaded, else
 *                                                                      MISSING; error (if given)
 * - EXPIRED (retention)                           not expired        → expired
 * Residency and bookkeeping (memory only)
 * - WINDOW_OPENED (log: new segment, rollover)    active, no window  → a live write window (a range)
 * - WINDOW_CLOSED (log: window rollover)          a window           → the window's range ends; no window
 * - WINDOW_REOPENED (log: unpark, run still ours) parked, that range  → it is the live window again
 * - PARKED (log: arena pressure)                  active, not parked, a window → parked, count, dataBytes, no window
 * - UNPARKED (log: its next append)               parked, a window   → not parked
 * - RANGE_LOADED (read path: a raw chunk or a Tier 1 frame loaded) a run → one more range (its ends in the boundary index while RAW)
 * - RANGE_EXTENDED (read path: frames a read-only refresh checked, appended to the run of the range
 *   ending where they start)                      RAW, that range, not a window → its end moves
 *                                                 forward; a boundary at the new end
 * - BOUNDARIES_LEARNED (read path: a chunk load's walk) -         → pairs in the boundary index while RAW
 * - FOOTER_CHECKED (read path: the first load checked the file) -  → footer no longer unchecked
 * - TAIL_EXTENDED (read-only manager: more of the writer's file checked) not sealed, RAW, no
 *                                                 table entry, no window, not shrinking → count,
 *                                                 dataBytes, a boundary at the new end
 * - HANDLE_RELEASED (Tier 1: SEALED in the table) sealed, a handle   → handle -1
 * - KEYED (Tier 2 knows the segment)              no key, or the same → key
 * - SLOT_RELEASED (arena: evicted or released)    a range's run, the slot, or none → that range gone / slot -1
 * - LOAD_STARTED (read path: load or index)       no load, no slot   → hydration
 * - LOAD_SETTLED                                  a load             → hydration null
 * - INDEX_LOADED (read path)                      not RAW            → frame index
 * - FAILED / ERROR_CLEARED (read path, reader)    -                  → error / null
 * - RECACHE_STARTED / RECACHE_ENDED (Tier 2)      not / recaching    → recaching
 *
 * Not in the table, on purpose:
 * - COMPRESSION_STARTED and COMPRESSION_FAILED change no in-memory state (a failed segment stays
 *   RAW, readable); DELETED only happens in recovery's plan, before a Segment exists.
 * - EXPIRED does not block later tier events: an eviction, a recache or a drop of a damaged copy
 *   already past its checks when retention expires the segment still finishes (its files are going).
 * - Appends: while a segment is active, its record count and data size live in the log that
 *   writes it (`LogCore.endIdOf`, `dataBytesOf`), and SEALING fixes both here. The append hot path
 *   writes no Segment at all: with 1,000 streams appended round-robin, a write to the stream's
 *   Segment was one more cache line on one more heap page per append (the 1,000 active Segments
 *   lie on some 160 pages), 10-20 % of that benchmark (issue 11, docs/performance.md).
 * - A parked segment is still the active one (not sealed): its window is being retired (written,
 *   then CLEAN) or gone, its file open in the flush worker. SLOT_RELEASED (eviction) and a read
 *   path load (LOAD_STARTED, RANGE_LOADED) apply to it as to a sealed raw segment.
 * - The whole-segment slot: only SEALING sets it, when the segment's single window started at
 *   byte 0 (Tier 1 compresses from it). Loads never make one (stage 3): they add ranges.
 * - `frameHydrations` is the read path's set of frame fills in flight (shared by the readers of a
 *   segment), bookkeeping of work rather than state of the segment.
 *
 * Segments found at open are built by {@link Segment.restored} from recovery's plan (or from a
 * Tier 2 object), which checks the same invariants the table keeps. The stream's last segment,
 * when recovery's plan continues it (a clean close left it open), is built by
 * {@link Segment.resumed}: the active segment, parked, without a window, as PARKED followed by
 * the eviction of its window would leave it.
 */
import type { SlotOwner } from '../arena/arena.js';
import { AofError, ErrorCode } from '../errors.js';
import type { FrameIndexEntry } from '../format/tier1.js';
import { BoundaryIndex } from './boundary-index.js';

/** Which copy holds the segment's records. */
export const SegmentTier = {
  /** The raw segment file (`.seg`): active, sealing, or sealed and not yet compressed. */
  RAW: 'raw',
  /** The compressed Tier 1 file (`.t1`); the raw file is gone. */
  TIER1: 'tier1',
  /** Only Tier 2 (the object store) holds the segment: reads fetch frames by byte range. */
  TIER2: 'tier2',
  /** No copy is usable (lost or corrupt, and not in Tier 2); reads fail until it is restored. */
  MISSING: 'missing',
} as const;

export type SegmentTierValue = (typeof SegmentTier)[keyof typeof SegmentTier];

/** The events of the transition table (see the file comment). */
export const SegmentEventType = {
  SEALING: 'SEALING',
  SEALED: 'SEALED',
  WINDOW_OPENED: 'WINDOW_OPENED',
  WINDOW_CLOSED: 'WINDOW_CLOSED',
  WINDOW_REOPENED: 'WINDOW_REOPENED',
  RANGE_LOADED: 'RANGE_LOADED',
  RANGE_EXTENDED: 'RANGE_EXTENDED',
  BOUNDARIES_LEARNED: 'BOUNDARIES_LEARNED',
  FOOTER_CHECKED: 'FOOTER_CHECKED',
  TAIL_EXTENDED: 'TAIL_EXTENDED',
  PARKED: 'PARKED',
  UNPARKED: 'UNPARKED',
  HANDLE_RELEASED: 'HANDLE_RELEASED',
  COMPRESSION_DONE: 'COMPRESSION_DONE',
  UPLOADED: 'UPLOADED',
  EVICTED: 'EVICTED',
  HYDRATED: 'HYDRATED',
  NEEDS_RECOVERY: 'NEEDS_RECOVERY',
  EXPIRED: 'EXPIRED',
  KEYED: 'KEYED',
  SLOT_RELEASED: 'SLOT_RELEASED',
  LOAD_STARTED: 'LOAD_STARTED',
  LOAD_SETTLED: 'LOAD_SETTLED',
  INDEX_LOADED: 'INDEX_LOADED',
  FAILED: 'FAILED',
  ERROR_CLEARED: 'ERROR_CLEARED',
  RECACHE_STARTED: 'RECACHE_STARTED',
  RECACHE_ENDED: 'RECACHE_ENDED',
} as const;

const E = SegmentEventType;

export type SegmentEvent =
  | { type: typeof E.SEALING; count: number; dataBytes: number }
  | { type: typeof E.SEALED; dataCrc: number; maxTimestamp: number }
  | { type: typeof E.WINDOW_OPENED; slot: number; start: number; first: number }
  | { type: typeof E.WINDOW_CLOSED; end: number; endRecord: number }
  | { type: typeof E.WINDOW_REOPENED; slot: number }
  | { type: typeof E.RANGE_LOADED; slot: number; start: number; first: number; end: number; endRecord: number }
  | { type: typeof E.RANGE_EXTENDED; slot: number; end: number; endRecord: number }
  | { type: typeof E.BOUNDARIES_LEARNED; pairs: readonly number[] }
  | { type: typeof E.FOOTER_CHECKED }
  | { type: typeof E.TAIL_EXTENDED; count: number; dataBytes: number }
  | { type: typeof E.PARKED; count: number; dataBytes: number }
  | { type: typeof E.UNPARKED }
  | { type: typeof E.HANDLE_RELEASED }
  | { type: typeof E.COMPRESSION_DONE; frameIndex: FrameIndexEntry[] | null; compressedBytes: number; frameCount: number }
  | { type: typeof E.UPLOADED; recordedIndex?: Uint8Array | null }
  | { type: typeof E.EVICTED }
  | { type: typeof E.HYDRATED }
  | { type: typeof E.NEEDS_RECOVERY; error: AofError | null }
  | { type: typeof E.EXPIRED }
  | { type: typeof E.KEYED; key: string }
  | { type: typeof E.SLOT_RELEASED; slot: number }
  | { type: typeof E.LOAD_STARTED; work: Promise<void> }
  | { type: typeof E.LOAD_SETTLED }
  | { type: typeof E.INDEX_LOADED; frameIndex: FrameIndexEntry[] }
  | { type: typeof E.FAILED; error: AofError }
  | { type: typeof E.ERROR_CLEARED }
  | { type: typeof E.RECACHE_STARTED }
  | { type: typeof E.RECACHE_ENDED };

/**
 * Bytes of a segment held by one arena run other than its whole-segment slot: a write window
 * (live, or retired and still resident; stage 2), a chunk of the raw file, or a decompressed
 * Tier 1 frame (stage 3). Run byte
 * i is segment data byte `start + i`; the range holds records [first, endRecord) in bytes
 * [start, end). `end` and `endRecord` are -1 while the range is the live write window (then the
 * log's write offset and the segment's count bound it).
 */
export interface ResidentRange {
  readonly slot: number;
  readonly start: number;
  readonly first: number;
  end: number;
  endRecord: number;
}

/** Everything a segment found at open starts with (recovery's plan, or a verified Tier 2 object). */
export interface RestoredSegment {
  count: number;
  dataBytes: number;
  tier: SegmentTierValue;
  dataCrc: number;
  maxTimestamp: number;
  compressedBytes: number;
  frameCount: number;
  frameIndex: FrameIndexEntry[] | null;
  /**
   * The frame index the manifest recorded for the uploaded Tier 1 file, compact and unchecked
   * (src/format/recorded-index.ts); the read path expands and checks it at the first read from
   * Tier 2. Absent or null: none recorded.
   */
  recordedIndex?: Uint8Array | null;
  uploaded: boolean;
  /** Tier 2 object key when already known ('' otherwise: Tier 2 keys it when adopting it). */
  key?: string;
  /** A raw segment trusted from the catalog without its file being read (see {@link Segment.footerUnchecked}). */
  footerUnchecked?: boolean;
}

export class Segment implements SlotOwner {
  readonly baseId: number;
  /** Raw segment file path. */
  readonly path: string;
  /** Tier 1 file path (exists once tier is TIER1). */
  readonly t1Path: string;
  /** Tier 1 frames being decompressed into runs of their own: the read path's fills in flight, shared by every reader. */
  readonly frameHydrations = new Set<number>();
  #count: number;
  #dataBytes: number;
  #sealed: boolean;
  #dataCrc = 0;
  #maxTimestamp = 0;
  #compressedBytes = 0;
  #frameCount = 0;
  #uploaded = false;
  #key = '';
  #recaching = false;
  #expired = false;
  #tier: SegmentTierValue = SegmentTier.RAW;
  #footerUnchecked = false;
  #slot = -1;
  #handle: number;
  #parked = false;
  /** Resident ranges (windows, loaded prefixes), in the order they were made. */
  readonly #ranges: ResidentRange[] = [];
  #window: ResidentRange | null = null;
  /**
   * Known (offset, record) boundaries of the raw data: window boundaries, the end, and what chunk
   * loads learned (src/tier0/boundary-index.ts). Chunk loads start at one. Cleared once the raw
   * file is gone (COMPRESSION_DONE): Tier 1 frames carry their own index.
   */
  readonly #index = new BoundaryIndex();
  #frameIndex: FrameIndexEntry[] | null = null;
  #recordedIndex: Uint8Array | null = null;
  #hydration: Promise<void> | null = null;
  #error: AofError | null = null;

  /**
   * @param handle the segment's entry in the shared segment table (src/arena/segment-table.ts)
   *   while the flush worker has its file open: a segment the log opens has one; -1 for segments
   *   found at open, whose files are closed
   */
  constructor(baseId: number, path: string, t1Path: string, count: number, dataBytes: number, sealed: boolean, handle = -1) {
    this.baseId = baseId;
    this.path = path;
    this.t1Path = t1Path;
    this.#count = count;
    this.#dataBytes = dataBytes;
    this.#sealed = sealed;
    this.#handle = handle;
  }

  /**
   * A sealed segment found at open, in the tier recovery decided (or Tier 2 alone holds it).
   * @throws AOF_ERR_INTERNAL when the state breaks an invariant of the transition table (a bug in the caller)
   */
  static restored(baseId: number, path: string, t1Path: string, s: RestoredSegment): Segment {
    const seg = new Segment(baseId, path, t1Path, s.count, s.dataBytes, true);
    // What the table guarantees for live segments holds for restored ones too: only a compressed
    // segment can be in Tier 2 or carry a frame index, and Tier 2 alone means it was uploaded.
    if (s.tier === SegmentTier.RAW && (s.uploaded || s.frameIndex !== null || (s.recordedIndex ?? null) !== null)) {
      seg.#invalid('RESTORED', 'a raw segment is neither uploaded nor indexed');
    }
    if (s.tier === SegmentTier.TIER2 && !s.uploaded) seg.#invalid('RESTORED', 'a segment only Tier 2 holds was uploaded');
    if (s.footerUnchecked === true && s.tier !== SegmentTier.RAW) seg.#invalid('RESTORED', 'only a raw segment has a file footer to check');
    seg.#tier = s.tier;
    seg.#dataCrc = s.dataCrc;
    seg.#maxTimestamp = s.maxTimestamp;
    seg.#compressedBytes = s.compressedBytes;
    seg.#frameCount = s.frameCount;
    seg.#frameIndex = s.frameIndex;
    seg.#recordedIndex = s.recordedIndex ?? null;
    seg.#uploaded = s.uploaded;
    seg.#key = s.key ?? '';
    seg.#footerUnchecked = s.footerUnchecked === true;
    if (s.tier === SegmentTier.RAW) seg.#index.add(s.dataBytes, s.count);
    return seg;
  }

  /**
   * The stream's last segment, continued after a clean close (recovery's plan says `resume`): not
   * sealed, RAW, parked with no window (its next append takes one at `dataBytes`, attached by
   * command), its count and size exact (no append reached it yet), `handle` its segment table
   * entry (src/arena/segment-table.ts `allocResumed`).
   */
  static resumed(baseId: number, path: string, t1Path: string, count: number, dataBytes: number, handle: number): Segment {
    const seg = new Segment(baseId, path, t1Path, count, dataBytes, false, handle);
    if (count <= 0 || handle < 0) seg.#invalid('RESUMED', 'a segment holding records, with a table entry');
    seg.#parked = true;
    seg.#index.add(dataBytes, count);
    return seg;
  }

  /** Records in the segment once sealed (the active segment's live count is the log's: `LogCore.endIdOf`). */
  get count(): number {
    return this.#count;
  }

  /** Id one past the last record, once sealed (see {@link count}). */
  get endId(): number {
    return this.baseId + this.#count;
  }

  /** Bytes of frames in the data region (live for the active segment only through the log). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /** True once the segment will never grow again (sealing or sealed). */
  get sealed(): boolean {
    return this.#sealed;
  }

  /** zlib.crc32 of the data region once sealed (0 until known). */
  get dataCrc(): number {
    return this.#dataCrc;
  }

  /** Newest record's timestamp (ms since epoch) once sealed; 0 when unknown. Age retention uses it. */
  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }

  /** Size of the Tier 1 file (and of its Tier 2 object); 0 until compressed. */
  get compressedBytes(): number {
    return this.#compressedBytes;
  }

  /** Frames in the Tier 1 file; with compressedBytes, locates the frame index inside a Tier 2 object. */
  get frameCount(): number {
    return this.#frameCount;
  }

  /** True once the Tier 1 file is confirmed in Tier 2 (the local copy may then be evicted). */
  get uploaded(): boolean {
    return this.#uploaded;
  }

  /** Tier 2 object key (set once Tier 2 knows the segment). */
  get key(): string {
    return this.#key;
  }

  /** A copy of the Tier 2 object back into the local Tier 1 cache is running. */
  get recaching(): boolean {
    return this.#recaching;
  }

  /** Retention expired the segment: its files and object are going; readers get OUT_OF_RANGE. */
  get expired(): boolean {
    return this.#expired;
  }

  /** Which copy holds the records. */
  get tier(): SegmentTierValue {
    return this.#tier;
  }

  /**
   * A sealed raw segment recovery trusted from the manifest catalog without opening its file (flat
   * recovery): its count, data size and CRC are the catalog's, and the first load checks the file
   * against them (length, header, footer: src/format/sealed-check.ts) before any record is served.
   * False for every other segment (the log wrote it, recovery read its footer, or it is compressed).
   */
  get footerUnchecked(): boolean {
    return this.#footerUnchecked;
  }

  /**
   * Entry in the shared segment table while the flush worker has the file open (written and
   * durable lengths, SEALED), else -1: the file is closed and its footer durable.
   */
  get handle(): number {
    return this.#handle;
  }

  /**
   * The active segment gave its arena slot up under pressure (the slot is retiring or CLEAN, or was
   * evicted); it is not sealed, and its stream's next append takes a slot again.
   */
  get parked(): boolean {
    return this.#parked;
  }

  /** Resident ranges other than the slot (write windows, loaded prefixes). Do not mutate. */
  get ranges(): readonly ResidentRange[] {
    return this.#ranges;
  }

  /** The live write window, or null (parked, sealed, or not yet written). */
  get window(): ResidentRange | null {
    return this.#window;
  }

  /** Known [offset, record] pairs of the raw data, flat and sorted by offset. Do not mutate. */
  get boundaries(): readonly number[] {
    return this.#index.pairs;
  }

  /** The boundary index itself (read-only use: floor, atOrBelowOffset). */
  get boundaryIndex(): Pick<BoundaryIndex, 'floor' | 'atOrBelowOffset'> {
    return this.#index;
  }

  /** The range holding record `index` (0-based in the segment), or null. */
  rangeFor(index: number): ResidentRange | null {
    const ranges = this.#ranges;
    for (let i = ranges.length - 1; i >= 0; i--) {
      const r = ranges[i]!;
      // The live window (endRecord -1) holds every record from `first` on: readers ask only for
      // records that exist (below the log's nextId).
      if (index >= r.first && (r.endRecord < 0 || index < r.endRecord)) return r;
    }
    return null;
  }

  /**
   * Arena run holding the whole data region (a sealed segment written through one window from
   * byte 0), or -1: then only ranges, if any, are resident.
   */
  get slot(): number {
    return this.#slot;
  }

  /** Tier 1 frame index (null until compressed, or until loaded from the .t1 file or object). */
  get frameIndex(): FrameIndexEntry[] | null {
    return this.#frameIndex;
  }

  /**
   * The frame index the manifest recorded for this segment's uploaded file, compact and not checked
   * yet (src/format/recorded-index.ts), or null. Segments found at open carry the catalog's, and
   * an upload leaves its own on a segment whose index is not in memory; a segment compressed in
   * this process has its index from the compressor.
   */
  get recordedIndex(): Uint8Array | null {
    return this.#recordedIndex;
  }

  /** A running load: the raw file into a slot, or the Tier 1 metadata. Shared by every reader. */
  get hydration(): Promise<void> | null {
    return this.#hydration;
  }

  /** Last hydration failure; readers report it (corruption is permanent, I/O errors retried). */
  get error(): AofError | null {
    return this.#error;
  }

  /** The arena took `slot` away (evicted for another segment, or released after a failed load). */
  slotReleased(slot: number): void {
    this.apply({ type: E.SLOT_RELEASED, slot });
  }

  /**
   * Applies one transition of the table (file comment). Checks first, then changes: a refused
   * event leaves the segment as it was.
   * @throws AOF_ERR_INTERNAL when the event is not allowed in the current state (a bug)
   */
  apply(event: SegmentEvent): void {
    switch (event.type) {
      case E.SEALING: {
        if (this.#sealed || this.#tier !== SegmentTier.RAW) this.#invalid(event.type, 'an active raw segment');
        this.#sealed = true;
        this.#parked = false;
        this.#count = event.count;
        this.#dataBytes = event.dataBytes;
        const window = this.#window;
        if (window !== null) {
          window.end = event.dataBytes;
          window.endRecord = event.count;
          this.#window = null;
        }
        this.#index.add(event.dataBytes, event.count);
        // One range holds the whole segment (its only window, from byte 0): it becomes the slot,
        // which Tier 1 compresses from and readers of sealed segments use.
        if (this.#slot < 0) {
          const whole = this.#ranges.findIndex((r) => r.start === 0 && r.end === event.dataBytes);
          if (whole >= 0) {
            this.#slot = this.#ranges[whole]!.slot;
            this.#ranges.splice(whole, 1);
          }
        }
        return;
      }
      case E.WINDOW_OPENED:
        if (this.#sealed || this.#tier !== SegmentTier.RAW || this.#window !== null || event.slot < 0) this.#invalid(event.type, 'an active segment without a write window');
        this.#window = { slot: event.slot, start: event.start, first: event.first, end: -1, endRecord: -1 };
        this.#ranges.push(this.#window);
        this.#index.add(event.start, event.first);
        return;
      case E.WINDOW_CLOSED:
        if (this.#window === null) this.#invalid(event.type, 'a segment with a write window');
        this.#window.end = event.end;
        this.#window.endRecord = event.endRecord;
        this.#window = null;
        this.#index.add(event.end, event.endRecord);
        return;
      case E.WINDOW_REOPENED: {
        const range = this.#ranges.find((r) => r.slot === event.slot);
        if (!this.#parked || this.#window !== null || range === undefined) this.#invalid(event.type, 'a parked segment whose last window is resident');
        range.end = -1;
        range.endRecord = -1;
        this.#window = range;
        return;
      }
      case E.RANGE_LOADED:
        if (event.slot < 0 || event.end <= event.start || event.endRecord <= event.first) this.#invalid(event.type, 'a run holding at least one record');
        // In front: rangeFor looks from the back, so the live window (pushed last) wins a tie.
        this.#ranges.unshift({ slot: event.slot, start: event.start, first: event.first, end: event.end, endRecord: event.endRecord });
        if (this.#tier === SegmentTier.RAW) {
          this.#index.add(event.start, event.first);
          this.#index.add(event.end, event.endRecord);
        }
        return;
      case E.RANGE_EXTENDED: {
        // Only forward, only a loaded range (a live window ends where its log says), only while
        // the raw file is where records start. A reader pinning the range reads on into the new
        // records: the bytes are in the run before the end moves (one thread: the main thread).
        const range = this.#tier === SegmentTier.RAW ? this.#ranges.find((r) => r.slot === event.slot) : undefined;
        if (range === undefined || range === this.#window || range.end < 0 || event.end < range.end || event.endRecord < range.endRecord) {
          this.#invalid(event.type, `a raw segment's loaded range in slot ${event.slot}, growing`);
        }
        range.end = event.end;
        range.endRecord = event.endRecord;
        this.#index.add(event.end, event.endRecord);
        return;
      }
      case E.FOOTER_CHECKED:
        // From any state: compression (which checks the footer itself) may have finished while the load ran.
        this.#footerUnchecked = false;
        return;
      case E.TAIL_EXTENDED:
        // A segment another process writes, as a read-only manager sees it grow: only what it has
        // checked frame by frame (whole frames, each CRC valid) counts, and it never shrinks.
        if (this.#sealed || this.#tier !== SegmentTier.RAW || this.#handle >= 0 || this.#window !== null || event.count < this.#count || event.dataBytes < this.#dataBytes) {
          this.#invalid(event.type, `a followed raw segment, not sealed, growing (has ${this.#count} records in ${this.#dataBytes} bytes, told ${event.count} in ${event.dataBytes})`);
        }
        this.#count = event.count;
        this.#dataBytes = event.dataBytes;
        this.#index.add(event.dataBytes, event.count);
        return;
      case E.BOUNDARIES_LEARNED:
        if (this.#tier !== SegmentTier.RAW) return; // the raw file is gone: nothing starts there any more
        for (let i = 0; i + 1 < event.pairs.length; i += 2) this.#index.add(event.pairs[i]!, event.pairs[i + 1]!);
        return;
      case E.PARKED:
        if (this.#sealed || this.#parked || this.#window === null) this.#invalid(event.type, 'an active segment with a write window');
        this.#parked = true;
        this.#window.end = event.dataBytes;
        this.#window.endRecord = event.count;
        this.#window = null;
        this.#index.add(event.dataBytes, event.count);
        // No append reaches a parked segment, so its size is exact until UNPARKED.
        this.#count = event.count;
        this.#dataBytes = event.dataBytes;
        return;
      case E.UNPARKED:
        if (!this.#parked || this.#window === null) this.#invalid(event.type, 'a parked segment with a write window again');
        this.#parked = false;
        return;
      case E.HANDLE_RELEASED:
        if (!this.#sealed || this.#handle < 0) this.#invalid(event.type, 'a sealed segment with a table entry');
        this.#handle = -1;
        return;
      case E.SEALED:
        if (!this.#sealed || this.#tier !== SegmentTier.RAW) this.#invalid(event.type, 'a sealed raw segment');
        this.#dataCrc = event.dataCrc;
        this.#maxTimestamp = event.maxTimestamp;
        return;
      case E.COMPRESSION_DONE:
        if (!this.#sealed || this.#tier !== SegmentTier.RAW) this.#invalid(event.type, 'a sealed raw segment');
        this.#tier = SegmentTier.TIER1;
        this.#footerUnchecked = false;
        this.#index.clear();
        this.#frameIndex = event.frameIndex;
        this.#compressedBytes = event.compressedBytes;
        this.#frameCount = event.frameCount;
        return;
      case E.UPLOADED:
        // Nothing moves a segment out of TIER1 while its upload runs: eviction and dropping a
        // damaged copy both need the upload first, and a damaged upload ends in NEEDS_RECOVERY.
        if (this.#tier !== SegmentTier.TIER1 || this.#uploaded) this.#invalid(event.type, 'a Tier 1 segment not uploaded yet');
        this.#uploaded = true;
        // The index just recorded with UPLOADED: kept only while none is in memory (a segment
        // compressed by an earlier process, not read yet), for its first read after an eviction.
        if (this.#frameIndex === null && (event.recordedIndex ?? null) !== null) this.#recordedIndex = event.recordedIndex!;
        return;
      case E.EVICTED:
        // From TIER2 too: a reader dropped the damaged local copy (NEEDS_RECOVERY) while the
        // eviction of that copy was recording EVICTED. Either way reads go to Tier 2.
        if (!this.#uploaded || (this.#tier !== SegmentTier.TIER1 && this.#tier !== SegmentTier.TIER2)) this.#invalid(event.type, 'an uploaded Tier 1 segment');
        this.#tier = SegmentTier.TIER2;
        return;
      case E.HYDRATED:
        if (!this.#uploaded || this.#tier !== SegmentTier.TIER2) this.#invalid(event.type, 'an uploaded segment only Tier 2 holds');
        this.#tier = SegmentTier.TIER1;
        return;
      case E.NEEDS_RECOVERY:
        // Catalog.apply keeps the uploaded flag through NEEDS_RECOVERY; recovery then reads from
        // Tier 2 when it is set and reports the segment MISSING when not: the same split here.
        if (this.#tier !== SegmentTier.TIER1) this.#invalid(event.type, 'a Tier 1 segment');
        this.#tier = this.#uploaded ? SegmentTier.TIER2 : SegmentTier.MISSING;
        if (event.error !== null) this.#error = event.error;
        return;
      case E.EXPIRED:
        if (this.#expired) this.#invalid(event.type, 'a segment not expired yet');
        this.#expired = true;
        return;
      case E.KEYED:
        if (this.#key !== '' && this.#key !== event.key) this.#invalid(event.type, `a segment without another key (has ${this.#key})`);
        this.#key = event.key;
        return;
      case E.SLOT_RELEASED: {
        const range = this.#ranges.findIndex((r) => r.slot === event.slot);
        if (range >= 0) {
          if (this.#ranges[range] === this.#window) this.#window = null;
          this.#ranges.splice(range, 1);
          return;
        }
        // -1: the slot of a load that failed was never published to the segment.
        if (this.#slot !== event.slot && this.#slot !== -1) this.#invalid(event.type, `the segment's own slot (holds ${this.#slot}, released ${event.slot})`);
        this.#slot = -1;
        return;
      }
      case E.LOAD_STARTED:
        if (this.#hydration !== null || this.#slot >= 0) this.#invalid(event.type, 'a segment without a slot or a load');
        this.#hydration = event.work;
        return;
      case E.LOAD_SETTLED:
        if (this.#hydration === null) this.#invalid(event.type, 'a running load');
        this.#hydration = null;
        return;
      case E.INDEX_LOADED:
        // Any compressed tier: the segment may have been evicted, recached or found damaged
        // while its index was on the way (reads then go by the new tier).
        if (this.#tier === SegmentTier.RAW) this.#invalid(event.type, 'a compressed segment');
        this.#frameIndex = event.frameIndex;
        return;
      case E.FAILED:
        this.#error = event.error;
        return;
      case E.ERROR_CLEARED:
        this.#error = null;
        return;
      case E.RECACHE_STARTED:
        if (this.#recaching) this.#invalid(event.type, 'a segment not recaching');
        this.#recaching = true;
        return;
      case E.RECACHE_ENDED:
        if (!this.#recaching) this.#invalid(event.type, 'a recaching segment');
        this.#recaching = false;
        return;
    }
  }

  #invalid(event: string, expected: string): never {
    throw new AofError(
      ErrorCode.INTERNAL,
      `segment ${this.baseId}: ${event} applies to ${expected}, not to this one (tier ${this.#tier}, sealed ${this.#sealed}, parked ${this.#parked}, uploaded ${this.#uploaded}, slot ${this.#slot}, handle ${this.#handle})`,
      {
        details: { baseId: this.baseId, event, tier: this.#tier, sealed: this.#sealed, parked: this.#parked, uploaded: this.#uploaded, slot: this.#slot, handle: this.#handle, expired: this.#expired },
      },
    );
  }
}
