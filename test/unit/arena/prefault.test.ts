/**
 * src/arena/prefault.ts in this thread: the chunk schedule (slot by slot, lowest slot first, as the
 * arena hands slots out), and that a faulter writes only into FREE slots and only zeros, one per
 * 4 KiB page. The claim protocol with a real second thread is in
 * test/integration/prefault-race.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, type SlotOwner } from '../../../src/arena/arena.js';
import { G_PREFAULT_DONE, G_PREFAULT_NEXT, S_PREFAULT, SlotState, slotWord } from '../../../src/arena/layout.js';
import {
  OS_PAGE_BYTES,
  PREFAULT_CHUNK_BYTES,
  chunkRange,
  chunksPerSlot,
  prefaultChunks,
  prefaultDone,
  prefaultNext,
  prefaultProgress,
  waitForPrefault,
} from '../../../src/arena/prefault.js';

const KiB = 1024;
const FRAME = 4096;
const owner = (): SlotOwner => ({ slotReleased: () => undefined });

/** Fills every slot's data with `byte` (a stand-in for "bytes a writer put there"). */
function fillSlots(arena: Arena, byte: number): void {
  arena.u8.fill(byte, arena.base(0), arena.base(arena.slotCount - 1) + arena.segmentBytes);
}

/** The first byte of each OS page of `slot`: what a faulter writes. */
function pageBytes(arena: Arena, slot: number): number[] {
  const out: number[] = [];
  for (let off = 0; off < arena.segmentBytes; off += OS_PAGE_BYTES) out.push(arena.u8[arena.base(slot) + off]!);
  return out;
}

describe('prefault schedule', () => {
  test('chunks run slot by slot, lowest slot first; a slot ends with a short chunk when it is not a multiple', () => {
    assert.equal(PREFAULT_CHUNK_BYTES % OS_PAGE_BYTES, 0);
    assert.equal(chunksPerSlot(4 * 1024 * KiB), 128);
    assert.equal(chunksPerSlot(PREFAULT_CHUNK_BYTES + 8), 2);
    assert.equal(prefaultChunks({ slotCount: 3, segmentBytes: 100 * KiB, frameWords: 1 }), 12);
    assert.deepEqual(chunkRange(100 * KiB, 0), { slot: 0, start: 0, end: 32 * KiB });
    assert.deepEqual(chunkRange(100 * KiB, 3), { slot: 0, start: 96 * KiB, end: 100 * KiB });
    assert.deepEqual(chunkRange(100 * KiB, 4), { slot: 1, start: 0, end: 32 * KiB });
    assert.deepEqual(chunkRange(100 * KiB, 11), { slot: 2, start: 96 * KiB, end: 100 * KiB });
  });

  test('writes a zero to one byte per page of FREE slots only, in order, and never again once done', () => {
    const arena = new Arena(5, 64 * KiB, FRAME); // 2 chunks per slot
    fillSlots(arena, 0xab);
    arena.setState(1, SlotState.ACTIVE);
    arena.setState(2, SlotState.CLEAN);
    arena.setState(3, SlotState.HYDRATING);
    // Two claims: both chunks of slot 0, nothing else yet.
    assert.equal(prefaultNext(arena.ctrl, arena.u8, arena), true);
    assert.equal(prefaultNext(arena.ctrl, arena.u8, arena), true);
    assert.ok(pageBytes(arena, 0).every((b) => b === 0));
    assert.ok(pageBytes(arena, 4).every((b) => b === 0xab), 'slot 4 comes later');
    assert.deepEqual(prefaultProgress(arena.ctrl, arena), { doneBytes: 64 * KiB, totalBytes: 5 * 64 * KiB });
    let claims = 2;
    while (prefaultNext(arena.ctrl, arena.u8, arena)) claims++;
    assert.equal(claims, 10);
    assert.ok(prefaultDone(arena.ctrl, arena));
    assert.deepEqual(prefaultProgress(arena.ctrl, arena), { doneBytes: 5 * 64 * KiB, totalBytes: 5 * 64 * KiB });
    for (const slot of [0, 4]) assert.ok(pageBytes(arena, slot).every((b) => b === 0), `FREE slot ${slot} faulted in`);
    for (const slot of [1, 2, 3]) {
      const all = arena.u8.subarray(arena.base(slot), arena.base(slot) + arena.segmentBytes);
      assert.ok(all.every((b) => b === 0xab), `slot ${slot} (not FREE) untouched`);
    }
    // Only the page's first byte is written: the rest of a FREE slot is left as it was.
    assert.equal(arena.u8[arena.base(0) + 1], 0xab);
    for (let slot = 0; slot < 5; slot++) assert.equal(arena.ctrl[slotWord(slot, S_PREFAULT)], 0, `slot ${slot} claim released`);
    const next = Atomics.load(arena.ctrl, G_PREFAULT_NEXT);
    assert.equal(prefaultNext(arena.ctrl, arena.u8, arena), false);
    assert.equal(Atomics.load(arena.ctrl, G_PREFAULT_NEXT), next, 'a finished cursor is not bumped again');
    assert.equal(Atomics.load(arena.ctrl, G_PREFAULT_DONE), 10);
  });

  test('a slot taken between two of its chunks keeps what its writer wrote', () => {
    const arena = new Arena(2, 64 * KiB, FRAME);
    assert.equal(prefaultNext(arena.ctrl, arena.u8, arena), true); // first half of slot 0
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), 0);
    fillSlots(arena, 0xcd); // the writer's bytes, in slot 0 (and in FREE slot 1)
    while (prefaultNext(arena.ctrl, arena.u8, arena));
    const slot0 = arena.u8.subarray(arena.base(0), arena.base(0) + arena.segmentBytes);
    assert.ok(slot0.every((b) => b === 0xcd), 'no zero in the taken slot');
    assert.ok(pageBytes(arena, 1).every((b) => b === 0), 'the FREE slot was faulted in');
  });

  test('waitForPrefault returns at once when no faulter holds the slot', () => {
    const arena = new Arena(2, 64 * KiB, FRAME);
    waitForPrefault(arena.ctrl, 1);
    assert.equal(Atomics.load(arena.ctrl, slotWord(1, S_PREFAULT)), 0);
  });
});
