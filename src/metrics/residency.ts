/**
 * Residency figures computed at scrape time (and by `manager.stats()`): segments per tier and
 * state, the flush backlog and how much of the arena is unavailable. Walks the open streams'
 * segments and the arena's control words: O(segments + slots), never on the append path.
 */
import type { Arena } from '../arena/arena.js';
import { S_FLUSHED_LEN, S_PINS, S_WRITE_LEN, SlotState } from '../arena/layout.js';
import type { Segment } from '../tier0/segment.js';

// The names are spelled out, not derived from SegmentTier, so that the public type (and docs/api)
// reads as what it holds; a tier SegmentTier gains is a type error in segmentCounts (out[seg.tier]).
/**
 * Segments of the open streams (`stats().segments`, the `aof_segments` gauge) by tier (`raw`,
 * `tier1`, `tier2`, `missing`: which copy holds the records) and state (`active`: being written,
 * `resident`: sealed with a slot or a range in the arena, `cold`: sealed with nothing there);
 * every pair is present.
 */
export type SegmentCounts = Record<'raw' | 'tier1' | 'tier2' | 'missing', Record<'active' | 'resident' | 'cold', number>>;

/** Segments of `logs` by tier (raw, tier1, tier2, missing) and state (active, resident, cold); every pair present. */
export function segmentCounts(logs: Iterable<{ readonly segments: readonly Segment[] }>): SegmentCounts {
  const out: SegmentCounts = { raw: noSegments(), tier1: noSegments(), tier2: noSegments(), missing: noSegments() };
  for (const log of logs) {
    for (const seg of log.segments) {
      const state = !seg.sealed ? 'active' : seg.slot >= 0 || seg.ranges.length > 0 ? 'resident' : 'cold';
      out[seg.tier][state]++;
    }
  }
  return out;
}

function noSegments(): Record<'active' | 'resident' | 'cold', number> {
  return { active: 0, resident: 0, cold: 0 };
}

/**
 * Slots the flush worker has work on: published bytes not written yet, or a seal or a retirement
 * (a parked segment's slot) to finish (`aof_queue_depth{queue="flush"}`).
 */
export function flushBacklog(arena: Arena): number {
  let n = 0;
  arena.forEachRun((slot) => {
    const state = arena.state(slot);
    if (state === SlotState.SEALING || state === SlotState.RETIRING || (state === SlotState.ACTIVE && arena.word(slot, S_WRITE_LEN) > arena.word(slot, S_FLUSHED_LEN))) n++;
  });
  return n;
}

/**
 * Fraction of the arena's pages that cannot take a new run now: everything but free pages and
 * CLEAN unpinned runs (a cache, evicted on demand). 1 means the next admission waits (WouldBlock).
 */
export function arenaUtilisation(arena: Arena): number {
  let reusable = arena.freePages;
  arena.forEachRun((slot) => {
    if (arena.state(slot) === SlotState.CLEAN && arena.word(slot, S_PINS) === 0) reusable += arena.runBytes(slot) / arena.pageBytes;
  });
  return (arena.pages - reusable) / arena.pages;
}
