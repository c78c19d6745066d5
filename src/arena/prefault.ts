/**
 * Faulting the arena's pages in ahead of the writer.
 *
 * A fresh SharedArrayBuffer is reserved, not backed: the first write to each 4 KiB page takes a
 * page fault, and on these VMs a fault costs 2.5-12 µs (the host backs the page too). A writer
 * that meets fresh pages copies 1 KiB records at a fifth of the speed it reaches on pages already
 * touched. So other threads touch them first: one byte per page, zero, lowest page first, a page
 * at a time (src/arena/arena.ts hands out runs of pages from a buddy allocator):
 *
 * - the main thread, inside `AofManager.open()`, while it waits for the flush worker to start;
 * - the flush worker, from then on, between its passes, until every chunk has been claimed.
 *
 * Both claim chunks from one cursor (`G_PREFAULT_NEXT`, `Atomics.add`), so they never do the same
 * chunk twice and can run at once. A page is only written while it belongs to no run (its
 * PAGE_USED word is 0), under the page's PREFAULT claim (race note in src/arena/layout.ts); a page
 * in use was or is being faulted in by its own writer, so it is skipped. Zero is the right value to
 * write: a free page's bytes mean nothing (a new segment or a load overwrites them, frame padding included),
 * and a never-used page is zero already.
 *
 * Trade-off: the arena's memory is committed (RSS) soon after open rather than as the writer first
 * reaches it. `tier0.prefault: 'off'` keeps the old behaviour (docs/decisions.md).
 */
import { G_PREFAULT_DONE, G_PREFAULT_NEXT, S_PAGE_USED, S_PREFAULT, slotDataOffset, slotWord } from './layout.js';

/** The OS page: one write per page is enough to fault it in. */
export const OS_PAGE_BYTES = 4096;

/** What a faulter needs to know of the arena (the flush worker has no Arena object). */
export interface PrefaultGeometry {
  /** Arena pages (the flush worker's `slotCount`: a run is named by its first page). */
  pages: number;
  pageBytes: number;
}

/**
 * Claims the next page and faults it in if it belongs to no run. Returns false once every page has
 * been claimed (by this thread or another): the caller is done for good. A page (8 KiB, two OS
 * pages) keeps the main thread's wait in {@link waitForPrefault} to two stores.
 *
 * Race note: claim (Atomics.add on S_PREFAULT) → load S_PAGE_USED → plain writes only if 0 →
 * release (Atomics.sub) → notify, against the main thread's store S_PAGE_USED → load S_PREFAULT
 * in {@link waitForPrefault}. Nothing between the claim and its release can throw or block.
 */
export function prefaultNext(ctrl: Int32Array, u8: Uint8Array, g: PrefaultGeometry): boolean {
  // Load first: once done, repeated calls do not keep bumping the cursor.
  if (Atomics.load(ctrl, G_PREFAULT_NEXT) >= g.pages) return false;
  const page = Atomics.add(ctrl, G_PREFAULT_NEXT, 1);
  if (page >= g.pages) return false;
  const claim = slotWord(page, S_PREFAULT);
  Atomics.add(ctrl, claim, 1);
  if (Atomics.load(ctrl, slotWord(page, S_PAGE_USED)) === 0) {
    const base = slotDataOffset(g.pages, g.pageBytes, page);
    for (let off = base; off < base + g.pageBytes; off += OS_PAGE_BYTES) u8[off] = 0;
  }
  Atomics.sub(ctrl, claim, 1);
  Atomics.notify(ctrl, claim);
  Atomics.add(ctrl, G_PREFAULT_DONE, 1);
  return true;
}

/** Bytes of page data the faulters have passed over (faulted in, or skipped: in use), and the total. */
export function prefaultProgress(ctrl: Int32Array, g: PrefaultGeometry): { doneBytes: number; totalBytes: number } {
  const done = Math.min(Atomics.load(ctrl, G_PREFAULT_DONE), g.pages);
  return { doneBytes: done * g.pageBytes, totalBytes: g.pages * g.pageBytes };
}

/** True once every page has been claimed and finished. */
export function prefaultDone(ctrl: Int32Array, g: PrefaultGeometry): boolean {
  return Atomics.load(ctrl, G_PREFAULT_DONE) >= g.pages;
}

/**
 * Main thread, right after it stored PAGE_USED = 1 for `page` (a page of a run it took): waits until
 * no faulter is writing into the page (at most two stores), so no zero lands on a byte it writes.
 */
export function waitForPrefault(ctrl: Int32Array, page: number): void {
  const claim = slotWord(page, S_PREFAULT);
  for (let held = Atomics.load(ctrl, claim); held !== 0; held = Atomics.load(ctrl, claim)) {
    // A claim covers two plain stores; the timeout only guards against a missed notify.
    Atomics.wait(ctrl, claim, held, 1);
  }
}
