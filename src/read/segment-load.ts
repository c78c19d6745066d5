/**
 * Loading a raw segment whose slot was evicted back into the arena ("load", the first of the
 * three things the engine used to call hydration; see docs/read-path.md). The read lands directly
 * in the slot's shared memory and is checked off the main thread, by the worker that reads it
 * (workers/hydrate.ts `loadSegment`), before any reader sees the bytes:
 *
 * - a sealed segment whose footer is durable: its data region, against the footer's CRC;
 * - a segment the flush worker still has open (a parked active segment, or one whose seal is
 *   under way): the prefix the worker has written (T_FLUSHED_LEN in the segment table), every
 *   frame's own CRC checked, since there is no footer yet. Parked segments are written out before
 *   their slot can be evicted, so that prefix holds every record appended to them.
 */
import type { Arena } from '../arena/arena.js';
import { SegState, SlotState } from '../arena/layout.js';
import { AofError } from '../errors.js';
import { SegmentEventType, SegmentTier, type Segment } from '../tier0/segment.js';
import type { SegmentLoadTask } from '../../workers/tier1-protocol.js';

/**
 * Runs one load task: a piscina `run` in the engine, the worker function itself in unit tests.
 * Rejects with whatever the task threw (rebuilt into an AofError by the caller's `run`).
 */
export type SegmentLoader = (task: SegmentLoadTask) => Promise<void>;

/**
 * Starts loading `seg` if it is not resident and not already loading. Returns false when no slot
 * is free right now (the caller waits for a change and retries). `onDone` runs when the load
 * settles, successful or not; a failure is left in `seg.error` (an AofError: AOF_ERR_CORRUPT with
 * details, AOF_ERR_IO, AOF_ERR_WORKER_FAILED).
 */
export function startSegmentLoad(arena: Arena, seg: Segment, load: SegmentLoader, onDone: () => void): boolean {
  if (seg.slot >= 0 || seg.hydration !== null) return true;
  const slot = arena.acquire(seg, SlotState.HYDRATING, seg.dataBytes);
  if (slot < 0) return false;
  seg.apply({ type: SegmentEventType.ERROR_CLEARED });
  // Called synchronously, so the task object is built while the slot is known to be ours.
  const open = seg.handle >= 0 && arena.segments.state(seg.handle) === SegState.OPEN;
  const task: SegmentLoadTask = {
    path: seg.path,
    dataBytes: open ? arena.segments.flushedLen(seg.handle) : seg.dataBytes,
    check: open ? 'frames' : 'footer',
    recordCount: seg.count,
    sab: arena.sab,
    targetOffset: arena.base(slot),
  };
  // The slot is published to the segment only together with CLEAN: code that finds
  // `seg.slot >= 0` may rely on the slot's state (Tier 1's sealing watcher, durableId).
  trackLoad(arena, seg, slot, load(task), () => seg.apply({ type: SegmentEventType.SLOT_ASSIGNED, slot, partial: false }), onDone);
  return true;
}

/**
 * Loads the written prefix of a segment the flush worker still has open (active, parked, or
 * sealing) into a run of its own, as one more resident range (stage 2: the windows hold the tail,
 * the prefix comes from the file). The prefix ends at a window boundary (or the end of a closed
 * window) at or below what the worker has written (T_FLUSHED_LEN), so its record count is known
 * and the worker checks exactly that many frames. Returns 'wait' when that prefix would not hold
 * record `index` yet (the flusher is still writing the retired window that has it: the reader
 * retries after its progress), false when no run is free, true when loading or resident.
 */
export function startPrefixLoad(arena: Arena, seg: Segment, index: number, load: SegmentLoader, onDone: () => void): boolean | 'wait' {
  if (seg.hydration !== null) return true;
  const written = arena.segments.flushedLen(seg.handle);
  let end = 0;
  let endRecord = 0;
  const b = seg.boundaries;
  for (let i = 0; i < b.length; i += 2) {
    if (b[i]! <= written && b[i]! >= end) {
      end = b[i]!;
      endRecord = b[i + 1]!;
    }
  }
  if (index >= endRecord) return 'wait';
  const slot = arena.acquire(seg, SlotState.HYDRATING, end);
  if (slot < 0) return false;
  seg.apply({ type: SegmentEventType.ERROR_CLEARED });
  const task: SegmentLoadTask = {
    path: seg.path,
    dataBytes: end,
    check: 'frames',
    recordCount: endRecord,
    sab: arena.sab,
    targetOffset: arena.base(slot),
  };
  trackLoad(arena, seg, slot, load(task), () => seg.apply({ type: SegmentEventType.RANGE_LOADED, slot, end, endRecord }), onDone);
  return true;
}

/**
 * Settles a load into `slot`, for both kinds of load: on success `publish` (the segment's event
 * naming the slot), then CLEAN; on failure the slot goes back, and a still-raw segment records the
 * failure (one that moved on while it loaded, e.g. compressed and its raw file removed, has not
 * failed: the reader's retry takes the new tier's path). LOAD_SETTLED and `onDone` either way.
 */
function trackLoad(arena: Arena, seg: Segment, slot: number, loading: Promise<unknown>, publish: () => void, onDone: () => void): void {
  const work = loading.then(
    () => {
      publish();
      arena.setState(slot, SlotState.CLEAN);
      seg.apply({ type: SegmentEventType.LOAD_SETTLED });
      onDone();
    },
    (err: unknown) => {
      arena.release(slot);
      if (seg.tier === SegmentTier.RAW) seg.apply({ type: SegmentEventType.FAILED, error: err instanceof AofError ? err : AofError.io('hydrate segment', seg.path, err) });
      seg.apply({ type: SegmentEventType.LOAD_SETTLED });
      onDone();
    },
  );
  seg.apply({ type: SegmentEventType.LOAD_STARTED, work });
}
