/**
 * src/arena/arena.ts on its own SharedArrayBuffer, in this thread: run acquisition (buddy
 * allocator over 8 KiB pages; a run is named by its first page) and LRU eviction, pins, release,
 * the occupancy snapshot (runs per state, free pages) and frame residency bits. The slot lifecycle
 * FREE → ACTIVE → SEALING → CLEAN is driven here by hand (in the engine the log and the flusher
 * move it), to check what the arena does in each state.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, type SlotOwner } from '../../../src/arena/arena.js';
import { S_FLUSHED_LEN, S_PINS, S_STATE, S_WRITE_LEN, SlotState, controlBytes, slotWord } from '../../../src/arena/layout.js';

const SEGMENT = 64 * 1024;
const PAGE = 8192;
/** First page of the k-th segment-sized run (runs are named by their first page). */
const S = (k: number): number => (k * SEGMENT) / PAGE;

/** A stand-in segment: the arena only tells an owner that its slot was taken away. */
interface Owner extends SlotOwner {
  slot: number;
}

function owner(): Owner {
  return {
    slot: -1,
    slotReleased(slot: number): void {
      if (this.slot === slot) this.slot = -1;
    },
  };
}

/** Acquires a slot for a fresh owner and records it there, as the engine does. */
function take(arena: Arena, state: number = SlotState.ACTIVE): { slot: number; seg: Owner } {
  const seg = owner();
  const slot = arena.acquire(seg, state);
  seg.slot = slot;
  return { slot, seg };
}

describe('Arena', () => {
  test('one SharedArrayBuffer: control region, then the slots; every slot starts FREE', () => {
    const arena = new Arena(3, SEGMENT);
    assert.equal(arena.pages, S(3));
    assert.equal(arena.sab.byteLength, controlBytes(S(3)) + 3 * SEGMENT);
    for (let slot = 0; slot < 3; slot++) {
      assert.equal(arena.base(S(slot)), controlBytes(S(3)) + slot * SEGMENT);
      assert.equal(arena.base(S(slot)) % 8, 0, 'run data is 8-aligned (Float64 views)');
      assert.equal(arena.state(S(slot)), SlotState.FREE);
    }
    assert.deepEqual(arena.occupancy(), { free: S(3), active: 0, retiring: 0, sealing: 0, clean: 0, hydrating: 0, failed: 0, pinned: 0, held: 0 });
  });

  test('acquire takes FREE slots first, in order, and zeroes the lengths', () => {
    const arena = new Arena(2, SEGMENT);
    // Leftovers of an earlier tenant.
    for (const w of [S_WRITE_LEN, S_FLUSHED_LEN]) arena.ctrl[slotWord(0, w)] = 1234;
    const a = take(arena);
    assert.equal(a.slot, 0);
    assert.equal(arena.state(0), SlotState.ACTIVE);
    for (const w of [S_WRITE_LEN, S_FLUSHED_LEN]) assert.equal(arena.word(0, w), 0, `word ${w}`);
    assert.equal(take(arena, SlotState.HYDRATING).slot, S(1));
    assert.equal(arena.state(S(1)), SlotState.HYDRATING);
  });

  test('a slot that is ACTIVE, RETIRING, SEALING, HYDRATING or FAILED is never taken: -1 when no slot is FREE or CLEAN', () => {
    const arena = new Arena(5, SEGMENT);
    for (const state of [SlotState.ACTIVE, SlotState.RETIRING, SlotState.SEALING, SlotState.HYDRATING, SlotState.FAILED]) {
      const { slot } = take(arena);
      arena.setState(slot, state);
    }
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), -1);
    assert.deepEqual(arena.occupancy(), { free: 0, active: 1, retiring: 1, sealing: 1, clean: 0, hydrating: 1, failed: 1, pinned: 0, held: 0 });
  });

  test('exchangeState moves a RETIRING slot only from RETIRING: the loser of the race sees the winner\'s state', () => {
    const arena = new Arena(1, SEGMENT);
    take(arena);
    arena.setState(0, SlotState.RETIRING);
    // The flusher detached it first (RETIRING → CLEAN): the main thread's take-back finds CLEAN.
    assert.equal(arena.exchangeState(0, SlotState.RETIRING, SlotState.CLEAN), SlotState.RETIRING);
    assert.equal(arena.exchangeState(0, SlotState.RETIRING, SlotState.ACTIVE), SlotState.CLEAN);
    assert.equal(arena.state(0), SlotState.CLEAN);
    // The main thread took it back first: the flusher's detach finds ACTIVE and changes nothing.
    arena.setState(0, SlotState.RETIRING);
    assert.equal(arena.exchangeState(0, SlotState.RETIRING, SlotState.ACTIVE), SlotState.RETIRING);
    assert.equal(arena.exchangeState(0, SlotState.RETIRING, SlotState.CLEAN), SlotState.ACTIVE);
    assert.equal(arena.state(0), SlotState.ACTIVE);
  });

  test('lifecycle: FREE → ACTIVE → SEALING → CLEAN, then the CLEAN slot is reused and its old segment evicted', () => {
    const arena = new Arena(1, SEGMENT);
    const first = take(arena);
    assert.equal(first.slot, 0);
    arena.setState(0, SlotState.SEALING);
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), -1, 'SEALING is not evictable');
    arena.setState(0, SlotState.CLEAN); // the flusher, after footer and fsync
    const second = take(arena);
    assert.equal(second.slot, 0);
    assert.equal(first.seg.slot, -1, 'the evicted segment no longer points at the slot');
    assert.equal(arena.state(0), SlotState.ACTIVE);
  });

  test('eviction picks the least recently used CLEAN slot; touch and pin count as use', () => {
    const arena = new Arena(3, SEGMENT);
    const segs = [take(arena), take(arena), take(arena)];
    for (let slot = 0; slot < 3; slot++) arena.setState(S(slot), SlotState.CLEAN);
    // LRU order now 0, 1, 2 (the order they became CLEAN). Touch 0: LRU becomes 1.
    arena.touch(S(0));
    const next = take(arena);
    assert.equal(next.slot, S(1));
    assert.equal(segs[1]!.seg.slot, -1);
    assert.equal(segs[0]!.seg.slot, S(0));
    // Run 1 is ACTIVE now; among CLEAN 0 and 2, 2 is older. Pin 2 (a use): 0 is the LRU.
    arena.pin(S(2));
    arena.unpin(S(2));
    assert.equal(take(arena).slot, S(0));
  });

  test('a run that cannot be evicted yet moves to the end of the LRU: the CLEAN runs behind it go first, and it goes last once CLEAN', () => {
    const arena = new Arena(4, SEGMENT);
    const segs = [take(arena), take(arena), take(arena), take(arena)];
    // Retired in the order 0, 1, 2, 3; the flusher wrote 1 and 2 first (its own order), 0 and 3 not yet.
    for (let k = 0; k < 4; k++) arena.setState(S(k), SlotState.RETIRING);
    arena.ctrl[slotWord(S(1), S_STATE)] = SlotState.CLEAN; // the flusher's store: no #track on this thread
    arena.ctrl[slotWord(S(2), S_STATE)] = SlotState.CLEAN;
    assert.equal(take(arena).slot, S(1), 'past RETIRING 0 to the oldest CLEAN run');
    assert.equal(segs[0]!.seg.slot, S(0), 'the RETIRING run stays');
    // 0 was moved behind 2 and 3: the LRU is now 2, 3, 0.
    arena.ctrl[slotWord(S(0), S_STATE)] = SlotState.CLEAN;
    arena.ctrl[slotWord(S(3), S_STATE)] = SlotState.CLEAN;
    assert.equal(take(arena).slot, S(2));
    assert.equal(take(arena).slot, S(3));
    assert.equal(take(arena).slot, S(0));
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), -1, 'everything ACTIVE');
  });

  test('a pinned CLEAN slot is never evicted; unpinned, it is', () => {
    const arena = new Arena(1, SEGMENT);
    take(arena);
    arena.setState(0, SlotState.CLEAN);
    arena.pin(0);
    arena.pin(0);
    assert.equal(arena.word(0, S_PINS), 2);
    assert.equal(arena.occupancy().pinned, 1);
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), -1);
    arena.unpin(0);
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), -1, 'one pin is left');
    arena.unpin(0);
    assert.equal(arena.occupancy().pinned, 0);
    assert.equal(take(arena).slot, 0);
  });

  test('a held CLEAN slot is evicted last, the newest hold first; a hold never blocks an acquire', () => {
    const arena = new Arena(4, SEGMENT);
    const segs = [take(arena), take(arena), take(arena), take(arena)];
    for (let slot = 0; slot < 4; slot++) arena.setState(S(slot), SlotState.CLEAN);
    // Slots 0, 1 and 2 held for the compressor in that order (0 is the next it will read); 3 is not.
    for (let slot = 0; slot < 3; slot++) arena.hold(S(slot), segs[slot]!.seg);
    assert.equal(arena.occupancy().held, 3);
    assert.equal(take(arena).slot, S(3), 'the unheld CLEAN slot goes first, although it is the most recently used');
    assert.equal(take(arena).slot, S(2), 'then the newest hold: the compressor reaches it last');
    assert.equal(segs[2]!.seg.slot, -1);
    assert.equal(arena.occupancy().held, 2, 'the hold ended with the eviction');
    arena.pin(S(0)); // a pin still wins: the slot the compressor is reading is never taken
    assert.equal(take(arena).slot, S(1));
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE), -1);
    arena.unpin(S(0));
    assert.equal(take(arena).slot, S(0));
    assert.equal(arena.occupancy().held, 0);
  });

  test('hold and unhold only act for the slot\'s owner: a late unhold never ends a newer tenant\'s hold', () => {
    const arena = new Arena(1, SEGMENT);
    const first = take(arena);
    arena.setState(0, SlotState.CLEAN);
    arena.hold(0, first.seg);
    const second = take(arena); // evicts the first segment (no other slot): its hold ends
    arena.setState(0, SlotState.CLEAN);
    arena.hold(0, second.seg);
    arena.unhold(0, first.seg); // the first segment's compression ends late
    assert.equal(arena.occupancy().held, 1, 'still held for the second segment');
    arena.hold(0, first.seg);
    assert.equal(arena.occupancy().held, 1);
    arena.unhold(0, second.seg);
    assert.equal(arena.occupancy().held, 0);
  });

  test('release returns a slot to FREE and detaches its owner, whatever its state', () => {
    const arena = new Arena(2, SEGMENT);
    const a = take(arena, SlotState.HYDRATING);
    const b = take(arena);
    arena.setState(b.slot, SlotState.FAILED);
    arena.release(a.slot);
    arena.release(b.slot);
    assert.equal(a.seg.slot, -1);
    assert.equal(b.seg.slot, -1);
    assert.deepEqual(arena.occupancy(), { free: S(2), active: 0, retiring: 0, sealing: 0, clean: 0, hydrating: 0, failed: 0, pinned: 0, held: 0 });
    assert.equal(arena.state(S(1)), SlotState.FREE);
    assert.ok([S(0), S(1)].includes(take(arena).slot), 'released runs are free again, taken before any CLEAN one');
  });

  test('runs of a page or a few: windows pack into the arena; a segment-sized run needs a whole aligned block, made by evicting the CLEAN runs in one', () => {
    const arena = new Arena(2, SEGMENT); // 16 pages
    const small = Array.from({ length: 16 }, () => {
      const seg = owner();
      seg.slot = arena.acquire(seg, SlotState.ACTIVE, 100);
      return seg;
    });
    assert.deepEqual(small.map((s) => s.slot).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i));
    assert.equal(arena.runBytes(small[0]!.slot), PAGE);
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE, 100), -1, 'every page is an ACTIVE window');
    // The windows of the second half retire and are written out: CLEAN. One stays pinned.
    for (const seg of small) if (seg.slot >= 8) arena.setState(seg.slot, SlotState.CLEAN);
    arena.pin(15);
    assert.equal(arena.acquire(owner(), SlotState.ACTIVE, SEGMENT), -1, 'page 15 is pinned: no aligned block of 8 pages');
    arena.unpin(15);
    const big = take(arena);
    assert.equal(big.slot, 8);
    assert.equal(arena.runBytes(8), SEGMENT);
    for (const seg of small) assert.ok(seg.slot < 8, 'the CLEAN windows were evicted, their owners told');
    assert.equal(arena.occupancy().active, 9);
  });

  test('runBytesFor says what acquire hands out: whole pages, a power of two of them; 0 past a segment', () => {
    const arena = new Arena(2, SEGMENT);
    assert.deepEqual(
      [0, 1, PAGE, PAGE + 1, 3 * PAGE, 4 * PAGE + 8, SEGMENT, SEGMENT + 1].map((bytes) => arena.runBytesFor(bytes)),
      [PAGE, PAGE, PAGE, 2 * PAGE, 4 * PAGE, SEGMENT, SEGMENT, 0],
    );
    const seg = owner();
    const slot = arena.acquire(seg, SlotState.HYDRATING, 4 * PAGE + 8);
    assert.equal(arena.runBytes(slot), arena.runBytesFor(4 * PAGE + 8), 'a frame a record over four pages takes eight');
  });
});
