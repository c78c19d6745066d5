/**
 * src/arena/prefault.ts in this thread: the schedule (page by page, lowest page first), and that a
 * faulter writes only into pages that belong to no run (PAGE_USED 0), interior pages of a run
 * included, and only zeros, one per 4 KiB OS page. The claim protocol with a real second thread is
 * in test/integration/prefault-race.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, type SlotOwner } from '../../../src/arena/arena.js';
import { G_PREFAULT_DONE, G_PREFAULT_NEXT, S_PAGE_USED, S_PREFAULT, SlotState, slotWord } from '../../../src/arena/layout.js';
import { OS_PAGE_BYTES, prefaultDone, prefaultNext, prefaultProgress, waitForPrefault } from '../../../src/arena/prefault.js';

const KiB = 1024;
const owner = (): SlotOwner => ({ slotReleased: () => undefined });

/** The first byte of each OS page of arena page `page`: what a faulter writes. */
function osPageBytes(arena: Arena, page: number): number[] {
  const out: number[] = [];
  for (let off = 0; off < arena.pageBytes; off += OS_PAGE_BYTES) out.push(arena.u8[arena.base(page) + off]!);
  return out;
}

describe('prefault schedule', () => {
  test('pages in order, lowest first; a zero per OS page of unused pages only; never again once done', () => {
    const arena = new Arena(4, 64 * KiB); // 8 KiB pages: 32 pages, 8 per segment-sized run
    assert.equal(arena.pageBytes, 8 * KiB);
    arena.u8.fill(0xab, arena.base(0), arena.base(arena.pages - 1) + arena.pageBytes);
    const run = arena.acquire(owner(), SlotState.ACTIVE); // pages 0..7 (the first run handed out)
    assert.equal(run, 0);
    for (let page = 0; page < 8; page++) assert.equal(arena.ctrl[slotWord(page, S_PAGE_USED)], 1, `page ${page} of the run is marked`);
    assert.equal(prefaultNext(arena.ctrl, arena.u8, arena), true);
    assert.deepEqual(prefaultProgress(arena.ctrl, arena), { doneBytes: 8 * KiB, totalBytes: 32 * 8 * KiB });
    let claims = 1;
    while (prefaultNext(arena.ctrl, arena.u8, arena)) claims++;
    assert.equal(claims, arena.pages);
    assert.ok(prefaultDone(arena.ctrl, arena));
    for (let page = 0; page < 8; page++) assert.ok(osPageBytes(arena, page).every((b) => b === 0xab), `page ${page} of the run untouched (interior too)`);
    for (let page = 8; page < arena.pages; page++) assert.ok(osPageBytes(arena, page).every((b) => b === 0), `unused page ${page} faulted in`);
    // Only an OS page's first byte is written.
    assert.equal(arena.u8[arena.base(8) + 1], 0xab);
    for (let page = 0; page < arena.pages; page++) assert.equal(arena.ctrl[slotWord(page, S_PREFAULT)], 0, `page ${page} claim released`);
    const next = Atomics.load(arena.ctrl, G_PREFAULT_NEXT);
    assert.equal(prefaultNext(arena.ctrl, arena.u8, arena), false);
    assert.equal(Atomics.load(arena.ctrl, G_PREFAULT_NEXT), next, 'a finished cursor is not bumped again');
    assert.equal(Atomics.load(arena.ctrl, G_PREFAULT_DONE), arena.pages);
  });

  test('a run given back unmarks its pages', () => {
    const arena = new Arena(2, 64 * KiB);
    const run = arena.acquire(owner(), SlotState.ACTIVE);
    arena.release(run);
    for (let page = 0; page < arena.pages; page++) assert.equal(arena.ctrl[slotWord(page, S_PAGE_USED)], 0);
  });

  test('waitForPrefault returns at once when no faulter holds the page', () => {
    const arena = new Arena(2, 64 * KiB);
    waitForPrefault(arena.ctrl, 1);
    assert.equal(Atomics.load(arena.ctrl, slotWord(1, S_PREFAULT)), 0);
  });
});
