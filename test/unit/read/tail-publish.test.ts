/**
 * src/read/tail-publish.ts on a real Arena and Segment, in this thread: frames a read-only refresh
 * checked become a read range (RANGE_LOADED, CLEAN) holding exactly their bytes; the next frames,
 * which start where those end, are appended to the same run while it has room (RANGE_EXTENDED),
 * else go into a run of their own; the range is evictable like any other, and after an eviction
 * the next frames take a new run. Frames the segment does not show yet are refused (0).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena } from '../../../src/arena/arena.js';
import { SlotState } from '../../../src/arena/layout.js';
import { encodeFrame, frameLength } from '../../../src/format/record.js';
import { publishCheckedFrames, type CheckedFrames } from '../../../src/read/tail-publish.js';
import { Segment, SegmentEventType as E } from '../../../src/tier0/segment.js';

const SEGMENT = 64 * 1024;
const PAGE = 8192;
const PAYLOAD = 100;
const FRAME = frameLength(PAYLOAD);

/** Frames of records [first, end) of a segment as its file holds them (payload byte 0: the record's index). */
function frames(first: number, end: number): CheckedFrames {
  const bytes = new Uint8Array((end - first) * FRAME);
  for (let i = first, off = 0; i < end; i++) off = encodeFrame(bytes, off, new Uint8Array(PAYLOAD).fill(i & 0xff), 1000 + i);
  return { start: first * FRAME, first, end, bytes };
}

/** A followed segment (no table entry, not sealed) showing `count` records, as TAIL_EXTENDED leaves it. */
function followed(count: number): Segment {
  const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false);
  seg.apply({ type: E.TAIL_EXTENDED, count, dataBytes: count * FRAME });
  return seg;
}

function grow(seg: Segment, count: number): void {
  seg.apply({ type: E.TAIL_EXTENDED, count, dataBytes: count * FRAME });
}

/** The bytes of segment data [start, end) as the arena holds them for `seg`'s range of `record`. */
function resident(arena: Arena, seg: Segment, record: number, start: number, end: number): Uint8Array {
  const range = seg.rangeFor(record)!;
  const base = arena.base(range.slot) - range.start;
  return arena.u8.slice(base + start, base + end);
}

test('checked frames become a CLEAN read range holding exactly their bytes', () => {
  const arena = new Arena(4, SEGMENT, 0);
  const seg = followed(5);
  const checked = frames(0, 5);
  assert.equal(publishCheckedFrames(arena, seg, checked, 16 * 1024), checked.bytes.length);
  const range = seg.rangeFor(0)!;
  assert.deepEqual([range.start, range.first, range.end, range.endRecord], [0, 0, 5 * FRAME, 5]);
  assert.equal(arena.state(range.slot), SlotState.CLEAN, 'a cache like any loaded range: evictable once unpinned');
  assert.deepEqual(resident(arena, seg, 0, 0, 5 * FRAME), checked.bytes);
  assert.ok(arena.runBytes(range.slot) > checked.bytes.length, 'room left for the next refresh');
});

test('the next frames are appended to the same run while it has room, then take a run of their own', () => {
  const arena = new Arena(4, SEGMENT, 0);
  const seg = followed(3);
  publishCheckedFrames(arena, seg, frames(0, 3), 16 * 1024);
  const range = seg.rangeFor(0)!;
  const room = arena.runBytes(range.slot);
  grow(seg, 8);
  assert.equal(publishCheckedFrames(arena, seg, frames(3, 8), 16 * 1024), 5 * FRAME);
  assert.equal(seg.rangeFor(7), range, 'extended in place: one range');
  assert.deepEqual([range.end, range.endRecord, seg.ranges.length], [8 * FRAME, 8, 1]);
  assert.deepEqual(resident(arena, seg, 0, 0, 8 * FRAME), frames(0, 8).bytes);
  // More than the run has room for: a run of their own, the first range unchanged.
  const past = Math.floor(room / FRAME) + 4;
  grow(seg, past);
  assert.equal(publishCheckedFrames(arena, seg, frames(8, past), 16 * 1024), (past - 8) * FRAME);
  const second = seg.rangeFor(past - 1)!;
  assert.notEqual(second, range);
  assert.deepEqual([second.start, second.first, second.end, second.endRecord], [8 * FRAME, 8, past * FRAME, past]);
  assert.deepEqual([range.end, range.endRecord], [8 * FRAME, 8]);
  assert.deepEqual(resident(arena, seg, 8, 8 * FRAME, past * FRAME), frames(8, past).bytes);
});

test('frames the segment does not show, or that do not continue the last range, are handled without harm', () => {
  const arena = new Arena(4, SEGMENT, 0);
  const seg = followed(3);
  assert.equal(publishCheckedFrames(arena, seg, frames(0, 4), 16 * 1024), 0, 'record 3 is not shown (no TAIL_EXTENDED yet)');
  assert.equal(seg.ranges.length, 0);
  assert.equal(arena.occupancy().free, arena.pages, 'no run taken');
  grow(seg, 10);
  publishCheckedFrames(arena, seg, frames(0, 3), 16 * 1024);
  // A gap (frames 3..5 went another way, say a load): not appended to a range they do not continue.
  publishCheckedFrames(arena, seg, frames(5, 10), 16 * 1024);
  assert.equal(seg.ranges.length, 2);
  assert.deepEqual(resident(arena, seg, 5, 5 * FRAME, 10 * FRAME), frames(5, 10).bytes);
  assert.equal(seg.rangeFor(4), null);
});

test('a published range is evicted like any other; the next frames then take a new run', () => {
  // Two pages: the published run takes one, a segment-sized claim evicts it.
  const arena = new Arena(1, 2 * PAGE, 0);
  const seg = followed(3);
  publishCheckedFrames(arena, seg, frames(0, 3), PAGE);
  const other = { slotReleased: (): void => undefined };
  const taken = arena.acquire(other, SlotState.HYDRATING, 2 * PAGE);
  assert.ok(taken >= 0, 'the CLEAN, unpinned run was evicted for it');
  assert.equal(seg.rangeFor(0), null, 'the segment was told (SLOT_RELEASED)');
  arena.release(taken);
  grow(seg, 6);
  assert.equal(publishCheckedFrames(arena, seg, frames(3, 6), PAGE), 3 * FRAME);
  const range = seg.rangeFor(3)!;
  assert.deepEqual([range.start, range.first, range.endRecord], [3 * FRAME, 3, 6], 'a new range, not an append to the evicted run');
  assert.deepEqual(resident(arena, seg, 3, 3 * FRAME, 6 * FRAME), frames(3, 6).bytes);
});

test('a pinned range is not evicted, and no run at all means nothing published (the reader loads instead)', () => {
  const arena = new Arena(1, PAGE, 0);
  const seg = followed(3);
  publishCheckedFrames(arena, seg, frames(0, 3), PAGE);
  arena.pin(seg.rangeFor(0)!.slot);
  const seg2 = followed(2);
  assert.equal(publishCheckedFrames(arena, seg2, frames(0, 2), PAGE), 0, 'the only page is pinned');
  assert.equal(seg2.ranges.length, 0);
  assert.deepEqual(resident(arena, seg, 0, 0, 3 * FRAME), frames(0, 3).bytes, 'the pinned range is intact');
});
