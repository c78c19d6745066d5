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
  const slot = arena.acquire(seg, SlotState.HYDRATING);
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
  const work = load(task).then(
    () => {
      // The slot is published to the segment only together with CLEAN: code that finds
      // `seg.slot >= 0` may rely on the slot's state (Tier 1's sealing watcher, durableId).
      seg.apply({ type: SegmentEventType.SLOT_ASSIGNED, slot, partial: false });
      arena.setState(slot, SlotState.CLEAN);
      seg.apply({ type: SegmentEventType.LOAD_SETTLED });
      onDone();
    },
    (err: unknown) => {
      arena.release(slot);
      // The segment moved on while it loaded: compressed meanwhile, its raw file removed (the
      // worker opens the file long after this call, so ENOENT is a real outcome). Not a failure:
      // the reader's retry takes the new tier's path. Only a load of a still-raw segment failed.
      if (seg.tier === SegmentTier.RAW) seg.apply({ type: SegmentEventType.FAILED, error: err instanceof AofError ? err : AofError.io('hydrate segment', seg.path, err) });
      seg.apply({ type: SegmentEventType.LOAD_SETTLED });
      onDone();
    },
  );
  seg.apply({ type: SegmentEventType.LOAD_STARTED, work });
  return true;
}
