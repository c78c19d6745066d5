/**
 * Loading a chunk of a raw segment file into an arena run ("load", the first of the three things
 * the engine used to call hydration; see docs/read-path.md). Stage 3 of the Tier 0 redesign
 * (docs/tier0-windows.md): a load never mirrors a segment from byte 0; it brings back the chunk of
 * about `tier0.readChunkBytes` that holds the record a reader needs, as one more resident range
 * of the segment (run byte i = segment data byte `start + i`), for sealed segments and for the
 * written part of open ones (active, parked, sealing) alike.
 *
 * Where a chunk starts: a worker (workers/hydrate.ts `loadChunk`) walks frame lengths from the
 * nearest known record boundary below the record (the segment's BoundaryIndex: (0, 0), window
 * boundaries, the ends of chunks loaded before) in steps of the run's size, each ending on a frame
 * boundary, CRC-checking every frame, and keeps the step holding the record. The steps it walked
 * are learned, so the next load starts at most one chunk below its record, and consecutive chunks
 * tile the segment: a sequential reader asks for the chunk that starts where the last one ended.
 *
 * The read lands in the run's shared memory and is checked off the main thread, before any
 * reader sees the bytes; the main thread publishes the range (RANGE_LOADED) and CLEAN only then.
 *
 * Lazy footers (flat recovery): a sealed segment recovery trusted from the manifest catalog has
 * never had its file opened. Its loads carry what the catalog recorded (`sealed`) until one
 * succeeds: the worker checks the file's length, header and footer against it before reading a
 * frame (src/format/sealed-check.ts). A file that disagrees fails the load with AOF_ERR_CORRUPT,
 * which stays the segment's error (corruption is permanent for readers); the caller counts it.
 */
import type { Arena } from '../arena/arena.js';
import { SegState, SlotState } from '../arena/layout.js';
import { AofError, ErrorCode } from '../errors.js';
import { SegmentEventType, SegmentTier, type Segment } from '../tier0/segment.js';
import type { ChunkLoadResult, ChunkLoadTask } from '../../workers/tier1-protocol.js';

/**
 * Runs one load task: a piscina `run` in the engine, the worker function itself in tests.
 * Rejects with whatever the task threw (rebuilt into an AofError by the caller's `run`).
 */
export type ChunkLoader = (task: ChunkLoadTask) => Promise<ChunkLoadResult>;

/** What a settled load reports to its caller (events, counters). */
export interface ChunkLoaded {
  /** Bytes put into the arena (0 when the load failed or had to be retried with a larger run). */
  bytes: number;
  /** Data offset of the chunk in the segment (-1 when none was published). */
  start: number;
  /**
   * The load checked the file of a segment recovery trusted from the catalog (lazy footers):
   * 'checked' it agreed, 'bad' it did not (the segment's error is then that AOF_ERR_CORRUPT);
   * null when the load carried no check, or it failed for another reason (I/O: retried).
   */
  footer: 'checked' | 'bad' | null;
}

/**
 * Bytes of the largest frame seen per segment that did not fit a chunk run: later loads of the
 * segment take runs that large, so a segment of records larger than `readChunkBytes` costs one
 * failed attempt, not one per read.
 */
const wideFrames = new WeakMap<Segment, number>();

/**
 * Starts loading the chunk of `seg` holding record `index` (0-based), unless a load of the
 * segment is already running (then the caller waits for it and asks again: one raw load per
 * segment at a time, shared by its readers). Returns:
 * - true: a load runs (or ran, and the caller's next look finds the range);
 * - 'wait': the flush worker has not written the record yet (it is in a retired window being
 *   written); the caller retries after the worker's progress;
 * - false: no run is free; the caller asks for pressure relief and retries.
 * `onDone` runs when the load settles; a failure is left in `seg.error` (an AofError:
 * AOF_ERR_CORRUPT with details.path and details.offset, AOF_ERR_IO, AOF_ERR_WORKER_FAILED).
 */
/** A loaded run's place in its segment: data offsets [start, end) holding records [first, endRecord). */
export interface LoadedRange {
  start: number;
  first: number;
  end: number;
  endRecord: number;
}

/**
 * Publishes a loaded run (a raw chunk or a Tier 1 frame) to its segment, then marks it CLEAN: in
 * this order, so a reader that finds the range may rely on every byte, and the run becomes
 * evictable only once the segment knows it.
 */
export function publishRange(arena: Arena, seg: Segment, slot: number, range: LoadedRange): void {
  seg.apply({ type: SegmentEventType.RANGE_LOADED, slot, start: range.start, first: range.first, end: range.end, endRecord: range.endRecord });
  arena.setState(slot, SlotState.CLEAN);
}

export function startChunkLoad(
  arena: Arena,
  seg: Segment,
  index: number,
  chunkBytes: number,
  load: ChunkLoader,
  onDone: (loaded: ChunkLoaded) => void,
): boolean | 'wait' {
  if (seg.hydration !== null) return true;
  const open = seg.handle >= 0 && arena.segments.state(seg.handle) === SegState.OPEN;
  // Readable bytes: a sealed segment's data, or the whole frames the flush worker has written.
  const limit = open ? arena.segments.flushedLen(seg.handle) : seg.dataBytes;
  if (open) {
    // The record must lie below a boundary the worker has written past: its window was closed
    // (the log recorded the end) and written (a window is evicted only once CLEAN). Otherwise the
    // worker is still writing it.
    const written = seg.boundaryIndex.atOrBelowOffset(limit);
    if (index >= written[1]) return 'wait';
  }
  const [from, fromRecord] = seg.boundaryIndex.floor(index);
  const wide = wideFrames.get(seg) ?? 0;
  let bytes = Math.max(1, Math.min(Math.max(chunkBytes, wide), limit - from));
  let slot = arena.acquire(seg, SlotState.HYDRATING, bytes);
  // An arena fragmented by one-page windows may have no aligned block of a chunk's size: a
  // smaller chunk (down to a page, or the largest frame seen) still serves the reader.
  const smallest = Math.max(arena.pageBytes, wide);
  while (slot < 0 && bytes > smallest) {
    bytes = Math.max(smallest, Math.floor(bytes / 2));
    slot = arena.acquire(seg, SlotState.HYDRATING, bytes);
  }
  if (slot < 0) return false;
  seg.apply({ type: SegmentEventType.ERROR_CLEARED });
  // Lazy footers: until a load succeeds, a segment recovery trusted from the catalog has its file
  // checked against the catalog first (in the worker, so the main thread never waits on it).
  const sealed = seg.footerUnchecked ? { baseId: seg.baseId, recordCount: seg.count, dataBytes: seg.dataBytes, dataCrc: seg.dataCrc } : null;
  // Built synchronously, while the run is known to be ours.
  const task: ChunkLoadTask = {
    path: seg.path,
    from,
    fromRecord,
    record: index,
    limit,
    capacity: Math.min(arena.runBytes(slot), Math.max(limit - from, 1)),
    sab: arena.sab,
    targetOffset: arena.base(slot),
    sealed,
  };
  const footer: ChunkLoaded['footer'] = sealed === null ? null : 'checked';
  const work = load(task).then(
    (r) => {
      if (sealed !== null) seg.apply({ type: SegmentEventType.FOOTER_CHECKED });
      seg.apply({ type: SegmentEventType.BOUNDARIES_LEARNED, pairs: r.learned });
      if (r.needBytes > 0) {
        // The frame at r.start is larger than the run: nothing to publish; the next try takes a
        // run that holds it, from that frame (now a known boundary).
        wideFrames.set(seg, Math.max(r.needBytes, wideFrames.get(seg) ?? 0));
        seg.apply({ type: SegmentEventType.BOUNDARIES_LEARNED, pairs: [r.start, r.first] });
        arena.release(slot);
        seg.apply({ type: SegmentEventType.LOAD_SETTLED });
        onDone({ bytes: 0, start: -1, footer });
        return;
      }
      publishRange(arena, seg, slot, r);
      seg.apply({ type: SegmentEventType.LOAD_SETTLED });
      onDone({ bytes: r.end - r.start, start: r.start, footer });
    },
    (err: unknown) => {
      arena.release(slot);
      const error = err instanceof AofError ? err : AofError.io('hydrate segment', seg.path, err);
      // A segment that moved on while it loaded (compressed, its raw file removed) has not failed:
      // the reader's retry takes the new tier's path.
      const failed = seg.tier === SegmentTier.RAW;
      if (failed) seg.apply({ type: SegmentEventType.FAILED, error });
      seg.apply({ type: SegmentEventType.LOAD_SETTLED });
      const bad = failed && sealed !== null && error.code === ErrorCode.CORRUPT && error.details?.['footerCheck'] !== undefined;
      onDone({ bytes: 0, start: -1, footer: bad ? 'bad' : null });
    },
  );
  seg.apply({ type: SegmentEventType.LOAD_STARTED, work });
  return true;
}
