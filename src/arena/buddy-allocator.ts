/**
 * Buddy allocator over the arena's pages (docs/tier0-windows.md, stage 2): a run is 2^order
 * contiguous pages starting at a multiple of 2^order. Pure bookkeeping on the main thread, no
 * shared memory, so it is unit-tested alone (test/unit/arena/buddy-allocator.test.ts).
 *
 * - Free blocks sit in one doubly linked list per order (Int32Array next/prev indexed by page), so
 *   taking a block and unlinking a buddy are O(1); a split or a merge walks at most maxOrder orders.
 * - A page count that is not a power of two is seeded with the largest aligned blocks that fit
 *   (an arena of 3 segments of 4 MiB is one block of 8 MiB and one of 4 MiB). A block never merges
 *   past the end of the arena or past maxOrder.
 * - Splits hand out the lower half and keep the upper half free, and `alloc` takes the smallest
 *   order that can serve: small windows then pack into blocks that are already split, which keeps
 *   large blocks whole for segment-sized loads.
 */
import { AofError, ErrorCode } from '../errors.js';

const NONE = -1;

export class BuddyAllocator {
  readonly pages: number;
  readonly maxOrder: number;
  /** Head page of the free list of each order, or NONE. */
  readonly #head: Int32Array;
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  /** order + 1 at the first page of a free block, 0 elsewhere. */
  readonly #freeOrder: Uint8Array;
  /** order + 1 at the first page of an allocated run, 0 elsewhere. */
  readonly #usedOrder: Uint8Array;
  #freePages = 0;

  /**
   * @param pages pages in the arena (any positive count)
   * @param maxOrder largest run, as log2 of its pages
   */
  constructor(pages: number, maxOrder: number) {
    if (!Number.isInteger(pages) || pages < 1 || !Number.isInteger(maxOrder) || maxOrder < 0 || maxOrder > 30) {
      throw AofError.invalidArgument(`buddy allocator needs a positive page count and an order in [0, 30], got ${pages} pages, order ${maxOrder}`);
    }
    this.pages = pages;
    this.maxOrder = maxOrder;
    this.#head = new Int32Array(maxOrder + 1).fill(NONE);
    this.#next = new Int32Array(pages).fill(NONE);
    this.#prev = new Int32Array(pages).fill(NONE);
    this.#freeOrder = new Uint8Array(pages);
    this.#usedOrder = new Uint8Array(pages);
    const blocks: number[] = [];
    let page = 0;
    while (page < pages) {
      let order = maxOrder;
      while (order > 0 && (page % (1 << order) !== 0 || page + (1 << order) > pages)) order--;
      blocks.push(page, order);
      page += 1 << order;
    }
    // Pushed last first, so each free list hands out the lowest block first.
    for (let i = blocks.length - 2; i >= 0; i -= 2) this.#push(blocks[i]!, blocks[i + 1]!);
  }

  /** Pages in free blocks. */
  get freePages(): number {
    return this.#freePages;
  }

  /** Smallest order whose run holds `pages` pages (-1 when it is larger than maxOrder allows). */
  orderFor(pages: number): number {
    let order = 0;
    while (1 << order < pages) order++;
    return order <= this.maxOrder ? order : -1;
  }

  /** Order of the allocated run starting at `page`, or -1 when none starts there. */
  orderOf(page: number): number {
    return (this.#usedOrder[page] ?? 0) - 1;
  }

  /** True when a free block of `order` or larger exists (alloc(order) would succeed). */
  canAlloc(order: number): boolean {
    for (let k = order; k <= this.maxOrder; k++) if (this.#head[k] !== NONE) return true;
    return false;
  }

  /** First page of a fresh run of 2^order pages, or -1 when no free block is large enough. */
  alloc(order: number): number {
    if (order < 0 || order > this.maxOrder) return -1;
    let k = order;
    while (k <= this.maxOrder && this.#head[k] === NONE) k++;
    if (k > this.maxOrder) return -1;
    const page = this.#head[k]!;
    this.#unlink(page, k);
    // Split down: keep the lower half, free the upper one.
    while (k > order) {
      k--;
      this.#push(page + (1 << k), k);
    }
    this.#usedOrder[page] = order + 1;
    return page;
  }

  /**
   * Gives the run starting at `page` back, merging it with its free buddies.
   * @throws AOF_ERR_INTERNAL when no run starts at `page` (a double free: nothing changes)
   */
  free(page: number): void {
    const used = Number.isInteger(page) && page >= 0 && page < this.pages ? this.#usedOrder[page]! : 0;
    if (used === 0) throw new AofError(ErrorCode.INTERNAL, `buddy allocator: no run starts at page ${page}`, { details: { page } });
    this.#usedOrder[page] = 0;
    let order = used - 1;
    let start = page;
    while (order < this.maxOrder) {
      const buddy = start ^ (1 << order);
      if (buddy + (1 << order) > this.pages || this.#freeOrder[buddy] !== order + 1) break;
      this.#unlink(buddy, order);
      start = Math.min(start, buddy);
      order++;
    }
    this.#push(start, order);
  }

  #push(page: number, order: number): void {
    const head = this.#head[order]!;
    this.#next[page] = head;
    this.#prev[page] = NONE;
    if (head !== NONE) this.#prev[head] = page;
    this.#head[order] = page;
    this.#freeOrder[page] = order + 1;
    this.#freePages += 1 << order;
  }

  #unlink(page: number, order: number): void {
    const next = this.#next[page]!;
    const prev = this.#prev[page]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head[order] = next;
    if (next !== NONE) this.#prev[next] = prev;
    this.#freeOrder[page] = 0;
    this.#freePages -= 1 << order;
  }
}
