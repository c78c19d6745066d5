/**
 * The arena's window budget and reader reserve (src/arena/window-budget.ts through
 * `Arena.acquireWindow`), on one thread: the flush worker's transitions (RETIRING → CLEAN,
 * SEALING → CLEAN) are made here with plain Atomics stores on the run's STATE word, as the worker
 * makes them, unseen by the arena until it settles.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, type SlotOwner } from '../../../src/arena/arena.js';
import { S_STATE, SlotState, slotWord } from '../../../src/arena/layout.js';

const SEGMENT = 64 * 1024;
const PAGE = 8192;

function owner(): SlotOwner {
  return { slotReleased(): void {} };
}

/** What the flush worker does when it has written a retired or sealing run out. */
function workerCleans(arena: Arena, slot: number): void {
  Atomics.store(arena.ctrl, slotWord(slot, S_STATE), SlotState.CLEAN);
}

describe('window budget', () => {
  test('default: an eighth of the arena reserved; windows up to the rest, then refused; readers still get pages', () => {
    const arena = new Arena(4, SEGMENT); // 32 pages of 8 KiB
    const b = arena.budgets();
    assert.deepEqual(b, { pageBytes: PAGE, windowPages: 0, windowPagesBudget: 28, readerReservePages: 4, readRangePages: 0, windowsCut: 0, windowRefusals: 0 });
    const windows: number[] = [];
    for (let i = 0; i < 28; i++) {
      const slot = arena.acquireWindow(owner(), PAGE, 100);
      assert.ok(slot >= 0, `window ${i}`);
      windows.push(slot);
    }
    assert.equal(arena.budgets().windowPages, 28);
    assert.equal(arena.acquireWindow(owner(), PAGE, 100), -1, 'the 29th window goes past the budget');
    assert.equal(arena.budgets().windowRefusals, 1);
    assert.equal(arena.freePages, 4, 'the reserve is free');
    // Readers are not capped: their loads take the reserve.
    const reads = [arena.acquire(owner(), SlotState.HYDRATING, 2 * PAGE), arena.acquire(owner(), SlotState.HYDRATING, 2 * PAGE)];
    assert.ok(reads.every((slot) => slot >= 0));
    assert.equal(arena.budgets().readRangePages, 4);
    arena.setState(reads[0]!, SlotState.CLEAN); // published: still a read range
    assert.equal(arena.budgets().readRangePages, 4);
    arena.release(reads[1]!);
    assert.equal(arena.budgets().readRangePages, 2);
    assert.equal(arena.budgets().windowPages, 28, 'reads never count as windows');
  });

  test('a window asked larger than the room left is cut to the largest run that fits, never below the record', () => {
    const arena = new Arena(4, SEGMENT);
    // 24 of 28 budget pages in three 8-page windows: 4 left.
    for (let i = 0; i < 3; i++) assert.ok(arena.acquireWindow(owner(), SEGMENT, 100) >= 0);
    const cut = arena.acquireWindow(owner(), SEGMENT, 100);
    assert.ok(cut >= 0);
    assert.equal(arena.runBytes(cut), 4 * PAGE, 'cut to the 4 pages left');
    assert.deepEqual([arena.budgets().windowPages, arena.budgets().windowsCut], [28, 1]);
    assert.equal(arena.acquireWindow(owner(), SEGMENT, 3 * PAGE), -1, 'a record of 3 pages does not fit: refused, not cut below it');
  });

  test('retired and sealing windows count until the flush worker has written them; the arena settles when it needs to', () => {
    const arena = new Arena(4, SEGMENT);
    const windows: number[] = [];
    for (let i = 0; i < 28; i++) windows.push(arena.acquireWindow(owner(), PAGE, 100));
    arena.setState(windows[0]!, SlotState.RETIRING);
    arena.setState(windows[1]!, SlotState.SEALING);
    assert.equal(arena.budgets().windowPages, 28, 'retiring and sealing runs are writers\' pages');
    assert.equal(arena.acquireWindow(owner(), PAGE, 100), -1);
    workerCleans(arena, windows[0]!);
    workerCleans(arena, windows[1]!);
    // The count is an upper bound until settled; acquireWindow settles when the check fails.
    const slot = arena.acquireWindow(owner(), PAGE, 100);
    assert.ok(slot >= 0, 'a written-out window left the budget');
    assert.equal(arena.budgets().windowPages, 27);
    // The retired run stays allocated, a CLEAN cache entry: not a window, not a read range.
    assert.equal(arena.state(windows[0]!), SlotState.CLEAN);
    assert.equal(arena.budgets().readRangePages, 0);
  });

  test('a run still RETIRING is taken back as a window at no cost; a CLEAN one only if it fits', () => {
    const arena = new Arena(4, SEGMENT);
    const windows: number[] = [];
    for (let i = 0; i < 28; i++) windows.push(arena.acquireWindow(owner(), PAGE, 100));
    const parked = windows[5]!;
    arena.setState(parked, SlotState.RETIRING);
    assert.equal(arena.exchangeState(parked, SlotState.RETIRING, SlotState.ACTIVE), SlotState.RETIRING);
    assert.equal(arena.budgets().windowPages, 28, 'no change: it never left');
    arena.setState(parked, SlotState.RETIRING);
    workerCleans(arena, parked);
    assert.equal(arena.budgets().windowPages, 27);
    assert.ok(arena.windowFits(parked), 'its own page is free in the budget');
    // Another writer takes that page first: the CLEAN run no longer fits.
    assert.ok(arena.acquireWindow(owner(), PAGE, 100) >= 0);
    assert.equal(arena.windowFits(parked), false);
  });

  test('eviction and release give a window\'s pages back; a reserve of 0 lets windows take the whole arena', () => {
    const arena = new Arena(4, SEGMENT, 0);
    assert.equal(arena.budgets().windowPagesBudget, 32);
    const windows: number[] = [];
    for (let i = 0; i < 4; i++) windows.push(arena.acquireWindow(owner(), SEGMENT, 100));
    assert.equal(arena.freePages, 0);
    arena.release(windows[0]!);
    assert.equal(arena.budgets().windowPages, 24);
    arena.setState(windows[1]!, SlotState.SEALING);
    workerCleans(arena, windows[1]!);
    // The CLEAN run is evicted for the next window (LRU), which settles the budget on the way.
    assert.ok(arena.acquireWindow(owner(), SEGMENT, 100) >= 0);
    assert.ok(arena.acquireWindow(owner(), SEGMENT, 100) >= 0);
    assert.equal(arena.budgets().windowPages, 32);
  });

  test('the reserve is rounded down to pages and clamped so that writers keep a segment-sized run', () => {
    assert.equal(new Arena(4, SEGMENT, PAGE - 1).budgets().readerReservePages, 0);
    assert.equal(new Arena(4, SEGMENT, 2 * PAGE - 1).budgets().readerReservePages, 1);
    // The smallest arena (2 segments of 4 KiB, 4 KiB pages): an eighth is less than a page, so
    // both pages are the writers'.
    assert.equal(new Arena(2, 4096).budgets().windowPagesBudget, 2);
    const clamped = new Arena(4, SEGMENT, 4 * SEGMENT).budgets();
    assert.deepEqual([clamped.readerReservePages, clamped.windowPagesBudget], [24, 8]);
  });
});
