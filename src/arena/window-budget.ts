/**
 * The arena's split between writers and readers (docs/tier0-windows.md, "Budgets"; issue 12 item
 * 2): pages held by write windows are capped, so that a **reader reserve** of pages is always left
 * to readers' loads (raw chunks, Tier 1 frames), however many streams write.
 *
 * - **Window pages**: pages of runs that writers hold and nobody else can take: ACTIVE (being
 *   appended to), RETIRING (retired or parked, being written out) and SEALING. A CLEAN retired
 *   window is a cache like any other CLEAN run (anyone may evict it) and no longer counts.
 * - **Window budget** = pages - reader reserve. `Arena.acquireWindow` never lets window pages
 *   pass it: it hands out a smaller window that fits, or nothing (the writer then takes the
 *   pressure path: parking, WouldBlock `admission`/`rollover`). So at least `readerReserve` pages
 *   are always free, CLEAN (evictable), loading, or retiring towards CLEAN under the flush
 *   worker, which needs no reader or writer to make progress: a reader's load waits at most for
 *   the flush worker's pass, never for a writer. Readers' loads are not capped: they may use any
 *   page, the reserve included.
 * - **Read-range pages**: pages of runs acquired for loads (HYDRATING, then CLEAN ranges), until
 *   freed. Reported, not budgeted.
 *
 * Who sees what. Every transition into ACTIVE, RETIRING or SEALING is made by the main thread
 * (through the arena), so the count only grows where the arena can check it. Two transitions out
 * are the flush worker's (RETIRING → CLEAN, SEALING → CLEAN, or FAILED), in shared memory: the
 * count is therefore an upper bound, made exact by {@link WindowBudget.settle}, which walks the
 * retiring runs (in retirement order, a run still retiring moving to the end) and drops the ones
 * the worker has finished. Settling runs only when a check would fail, and for stats: never per
 * append. An ACTIVE run the worker marks FAILED stays counted until it is freed: after a flush
 * failure nothing is admitted anyway.
 */
import { S_STATE, SlotState, slotWord } from './layout.js';
import { RunLru } from './run-lru.js';

/** What a run's pages count as (by first page). */
const KIND_NONE = 0;
const KIND_WINDOW = 1;
const KIND_READ = 2;

/**
 * Default reader reserve (`tier0.readerReserveBytes`), as a fraction of the arena: an eighth (16 MiB
 * of the default 128 MiB) holds 64 default raw chunks or Tier 1 frames of 256 KiB for readers, and
 * leaves writers seven eighths: 10,000 quiet streams at a page each take 80 MiB of the 112 MiB
 * (docs/decisions.md, "A reader reserve of an eighth of the arena").
 */
export const DEFAULT_READER_RESERVE_FRACTION = 1 / 8;

/** The budgets and their current values, in pages (`stats().tier0`, docs/metrics.md). */
export interface WindowBudgetFigures {
  /** Pages held by write windows: ACTIVE, RETIRING or SEALING runs. */
  windowPages: number;
  /** The cap on windowPages: the arena's pages less the reader reserve. */
  windowPagesBudget: number;
  /** Pages writers may not take (`tier0.readerReserveBytes` in pages). */
  readerReservePages: number;
  /** Pages of runs loaded for readers (raw chunks, Tier 1 frames), loading or loaded. */
  readRangePages: number;
  /** Windows handed out smaller than asked: no room in the budget, or no free or evictable block, for the size asked. */
  windowsCut: number;
  /** Window requests refused because not even the record's own run fitted the budget. */
  windowRefusals: number;
}

export class WindowBudget {
  readonly pages: number;
  readonly readerReservePages: number;
  readonly windowPagesBudget: number;
  readonly #ctrl: Int32Array;
  /** KIND_* per run (first page). */
  readonly #kind: Uint8Array;
  /** Window runs last seen RETIRING or SEALING, oldest retirement first. */
  readonly #retiring: RunLru;
  #windowPages = 0;
  #readPages = 0;
  windowsCut = 0;
  windowRefusals = 0;

  /**
   * @param pages the arena's pages
   * @param readerReservePages pages writers may not take (clamped so that the writers keep at least
   *   `minWindowPages`: one record can need a segment-sized run)
   */
  constructor(ctrl: Int32Array, pages: number, readerReservePages: number, minWindowPages: number) {
    this.#ctrl = ctrl;
    this.pages = pages;
    this.readerReservePages = Math.max(0, Math.min(readerReservePages, pages - minWindowPages));
    this.windowPagesBudget = pages - this.readerReservePages;
    this.#kind = new Uint8Array(pages);
    this.#retiring = new RunLru(pages);
  }

  /** Pages held by windows as last counted (an upper bound until {@link settle}). */
  get windowPages(): number {
    return this.#windowPages;
  }

  /** Window pages that can still be handed out, as last counted (settle first for the exact figure). */
  get room(): number {
    return this.windowPagesBudget - this.#windowPages;
  }

  /** The run `slot` of `runPages` pages moved to `state` (the main thread's stores and exchanges). */
  noteState(slot: number, state: number, runPages: number): void {
    const writing = state === SlotState.ACTIVE || state === SlotState.RETIRING || state === SlotState.SEALING;
    const kind = this.#kind[slot]!;
    if (writing) {
      if (kind !== KIND_WINDOW) {
        if (kind === KIND_READ) this.#readPages -= runPages;
        this.#kind[slot] = KIND_WINDOW;
        this.#windowPages += runPages;
      }
      if (state === SlotState.ACTIVE) this.#retiring.delete(slot);
      else this.#retiring.add(slot);
      return;
    }
    if (kind === KIND_WINDOW) this.#uncountWindow(slot, runPages);
    if (state === SlotState.HYDRATING && this.#kind[slot] !== KIND_READ) {
      this.#kind[slot] = KIND_READ;
      this.#readPages += runPages;
    }
  }

  /** The run went back to the allocator (evicted or released). */
  noteFreed(slot: number, runPages: number): void {
    const kind = this.#kind[slot]!;
    if (kind === KIND_WINDOW) this.#uncountWindow(slot, runPages);
    else if (kind === KIND_READ) this.#readPages -= runPages;
    this.#kind[slot] = KIND_NONE;
  }

  #uncountWindow(slot: number, runPages: number): void {
    this.#kind[slot] = KIND_NONE;
    this.#windowPages -= runPages;
    this.#retiring.delete(slot);
  }

  /**
   * Drops the retiring runs the flush worker has finished (CLEAN or FAILED in shared memory) until
   * `room` reaches `wanted` pages (Infinity: all of them, for stats). `runPages(slot)` gives a
   * run's size. Visits each retiring run at most once.
   */
  settle(wanted: number, runPages: (slot: number) => number): void {
    const list = this.#retiring;
    for (let visits = list.size, slot = list.head; visits > 0 && slot >= 0 && this.room < wanted; visits--) {
      const next = list.next(slot);
      const state = Atomics.load(this.#ctrl, slotWord(slot, S_STATE));
      if (state === SlotState.RETIRING || state === SlotState.SEALING) list.touch(slot);
      else this.#uncountWindow(slot, runPages(slot));
      slot = next;
    }
  }

  /** The figures, settled first. */
  figures(runPages: (slot: number) => number): WindowBudgetFigures {
    this.settle(Number.POSITIVE_INFINITY, runPages);
    return {
      windowPages: this.#windowPages,
      windowPagesBudget: this.windowPagesBudget,
      readerReservePages: this.readerReservePages,
      readRangePages: this.#readPages,
      windowsCut: this.windowsCut,
      windowRefusals: this.windowRefusals,
    };
  }
}
