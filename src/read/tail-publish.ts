/**
 * Frames already checked on the main thread, made a read range without a second read: what a
 * read-only manager's refresh does with the new bytes of the writer's active segment
 * (src/read-only/stream-tail.ts reads and CRC-checks them; src/read-only/read-only-log.ts hands
 * them here when a reader follows the tail). Before, a reader at the tail then loaded the same
 * bytes again through a chunk load: a round trip to a hydrate thread, which read them from the
 * page cache and checked their CRCs a second time (docs/decisions.md, "A read-only follower reads
 * the tail from its refresh").
 *
 * The bytes are copied into a run of the arena taken as a load takes one (HYDRATING, then
 * published: RANGE_LOADED, CLEAN), so the range is a cache like any other: evicted least recently
 * used when unpinned, never held against a reader. A run has room beyond the frames (up to eight
 * times their size, at most `tier0.readChunkBytes`), and the next refresh's frames, which start
 * where these end, are appended to it (RANGE_EXTENDED) while it is still the segment's and has
 * room: a follower of a writer that writes a few records at a time makes one range per run, not
 * one per refresh.
 *
 * Race note: everything here runs on the main thread, as do readers of a read-only manager's
 * arena (it has no attached views), so the bytes are in the run before the range's end moves.
 */
import type { Arena } from '../arena/arena.js';
import { SlotState } from '../arena/layout.js';
import { SegmentEventType, SegmentTier, type ResidentRange, type Segment } from '../tier0/segment.js';
import { publishRange } from './segment-load.js';

/**
 * Frames checked on the main thread: data offsets [start, start + bytes.length) of a raw segment,
 * records [first, end).
 */
export interface CheckedFrames {
  start: number;
  first: number;
  end: number;
  /** Whole, CRC-valid frames (read, not kept: they are copied into the arena). */
  bytes: Uint8Array;
}

/** A new run is this many times the frames it first holds (within [a page, readChunkBytes]): room for the next refreshes. */
const ROOM_FACTOR = 8;

/** The range each segment's last published frames went into: the next ones are appended to it. */
const tailRanges = new WeakMap<Segment, ResidentRange>();

/**
 * Puts `frames` of `seg` into the arena as a read range (see the file comment). Returns the bytes
 * published: 0 when nothing was (no run free, or the frames are not within the segment as it
 * stands: they must be shown already, TAIL_EXTENDED), and the reader then loads them as before.
 */
export function publishCheckedFrames(arena: Arena, seg: Segment, frames: CheckedFrames, chunkBytes: number): number {
  const bytes = frames.bytes.length;
  const end = frames.start + bytes;
  if (bytes === 0 || seg.tier !== SegmentTier.RAW || seg.slot >= 0 || frames.end > seg.count || end > seg.dataBytes) return 0;
  const last = tailRanges.get(seg);
  if (last !== undefined && last.end === frames.start && last.endRecord === frames.first && arena.runBytes(last.slot) >= end - last.start && seg.ranges.includes(last)) {
    arena.u8.set(frames.bytes, arena.base(last.slot) + (frames.start - last.start));
    seg.apply({ type: SegmentEventType.RANGE_EXTENDED, slot: last.slot, end, endRecord: frames.end });
    arena.touch(last.slot);
    return bytes;
  }
  let want = Math.min(Math.max(chunkBytes, bytes), Math.max(arena.pageBytes, bytes * ROOM_FACTOR));
  let slot = arena.acquire(seg, SlotState.HYDRATING, want);
  // A fragmented arena may have no block that large: a run of the frames alone still serves.
  while (slot < 0 && want > bytes) {
    want = Math.max(bytes, Math.floor(want / 2));
    slot = arena.acquire(seg, SlotState.HYDRATING, want);
  }
  if (slot < 0) return 0;
  arena.u8.set(frames.bytes, arena.base(slot));
  publishRange(arena, seg, slot, { start: frames.start, first: frames.first, end, endRecord: frames.end });
  const range = seg.ranges.find((r) => r.slot === slot);
  if (range !== undefined) tailRanges.set(seg, range);
  return bytes;
}
