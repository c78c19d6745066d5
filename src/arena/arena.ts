/**
 * The Tier 0 arena: one SharedArrayBuffer cut into pages, handed out as runs of 2^order pages by a
 * buddy allocator (docs/tier0-windows.md, stage 2), plus the main thread's bookkeeping of which
 * segment owns which run, and the segment table (segment-table.ts) in the same buffer. A run is
 * named by its first page (its "slot": its control words are that page's). Run byte i is segment
 * data byte START + i: a run is a write window of an active segment, or a read range (a raw chunk
 * or a decompressed Tier 1 frame, stage 3). CLEAN runs (every byte written to their file) are a cache, evicted least
 * recently used when another run needs room, unless a reader pins them. Write windows are taken
 * through {@link Arena.acquireWindow}, within the window budget (window-budget.ts: the pages
 * writers may hold, the arena less the reader reserve).
 */
import { endianness } from 'node:os';
import { AofError, ErrorCode } from '../errors.js';
import { BuddyAllocator } from './buddy-allocator.js';
import { RunLru } from './run-lru.js';
import { SegmentTable } from './segment-table.js';
import { DEFAULT_READER_RESERVE_FRACTION, WindowBudget, type WindowBudgetFigures } from './window-budget.js';
import {
  S_FLUSHED_LEN,
  S_NEXT,
  S_PAGE_USED,
  S_PINS,
  S_START,
  S_STATE,
  S_WRITE_LEN,
  SlotState,
  controlBytes,
  pageBytesFor,
  slotDataOffset,
  slotWord,
} from './layout.js';
import { waitForPrefault } from './prefault.js';

/**
 * What occupies a run: a segment (src/tier0/segment.ts), told when the arena takes the run away
 * so that its own transition table records it. An interface, so the arena knows nothing above it.
 */
export interface SlotOwner {
  /** The arena took `slot` from this owner (evicted for another owner, or released). */
  slotReleased(slot: number): void;
}

/** The words {@link Arena.acquire} zeroes in a run it hands out (a constant: acquire runs at every window rollover). */
const ZEROED_WORDS = [S_WRITE_LEN, S_FLUSHED_LEN, S_START, S_NEXT, S_PINS] as const;

/**
 * The arena's runs by slot state (`stats().arena`): `free` counts free pages, the other states
 * count runs (a write window or a reader's load). `pinned` (runs a reader pins) and `held` (runs
 * kept for the compressor, evicted last) overlap the states.
 */
export type ArenaOccupancy = Record<'free' | 'active' | 'retiring' | 'sealing' | 'clean' | 'hydrating' | 'failed' | 'pinned' | 'held', number>;

export class Arena {
  readonly sab: SharedArrayBuffer;
  readonly ctrl: Int32Array;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** Segments of segmentBytes the arena holds (arenaBytes / segmentBytes): the unit of the budgets. */
  readonly slotCount: number;
  readonly segmentBytes: number;
  readonly pageBytes: number;
  /** Pages in the arena; every page has its slot words (used by the run that starts there). */
  readonly pages: number;
  /** The segment table: the flusher's per-segment words, whether or not the segment has a run. */
  readonly segments: SegmentTable;
  readonly #buddy: BuddyAllocator;
  /** Owner of each run, by first page (null when disowned or free). Main thread only. */
  readonly #owners: (SlotOwner | null)[];
  /** Runs handed out (first pages). */
  readonly #allocated = new Set<number>();
  /** Owned runs that are not ACTIVE, least recently used first (run-lru.ts: not a Map, whose deleted entries slow a walk from the head). */
  readonly #lru: RunLru;
  /** Disowned runs (retired windows nobody reads): evicted before any cached run. */
  readonly #garbage = new Set<number>();
  /** Runs held for the compressor, with the hold-clock tick of the hold. Main thread only. */
  readonly #held = new Map<number, number>();
  #holdClock = 0;
  /** Pages held by write windows against their cap (the arena less the reader reserve). */
  readonly #budget: WindowBudget;
  /** Pages of a run, by first page (0 when none starts there): the budget's unit. */
  readonly #runPages = (slot: number): number => {
    const order = this.#buddy.orderOf(slot);
    return order < 0 ? 0 : 1 << order;
  };

  /**
   * @param readerReserveBytes bytes writers may not take (`tier0.readerReserveBytes`; default an
   *   eighth of the arena), rounded down to whole pages (an arena of a few pages keeps them all for
   *   windows); at most the arena less one segment-sized run
   */
  constructor(slotCount: number, segmentBytes: number, readerReserveBytes: number = Math.floor(slotCount * segmentBytes * DEFAULT_READER_RESERVE_FRACTION)) {
    // Typed-array views use the platform byte order; every format is little-endian.
    if (endianness() !== 'LE') {
      throw new AofError(ErrorCode.UNSUPPORTED_PLATFORM, 'aof2 needs a little-endian CPU');
    }
    this.slotCount = slotCount;
    this.segmentBytes = segmentBytes;
    this.pageBytes = pageBytesFor(segmentBytes);
    this.pages = Math.floor((slotCount * segmentBytes) / this.pageBytes);
    this.sab = new SharedArrayBuffer(controlBytes(this.pages) + this.pages * this.pageBytes);
    this.ctrl = new Int32Array(this.sab);
    this.u8 = new Uint8Array(this.sab);
    this.u32 = new Uint32Array(this.sab);
    this.f64 = new Float64Array(this.sab);
    this.segments = new SegmentTable(this.ctrl);
    let maxOrder = 0;
    while (this.pageBytes << maxOrder < segmentBytes) maxOrder++;
    this.#buddy = new BuddyAllocator(this.pages, maxOrder);
    this.#owners = new Array<SlotOwner | null>(this.pages).fill(null);
    this.#lru = new RunLru(this.pages);
    this.#budget = new WindowBudget(this.ctrl, this.pages, Math.floor(readerReserveBytes / this.pageBytes), 1 << maxOrder);
  }

  /** Byte offset of a run's data in the SAB. */
  base(slot: number): number {
    return slotDataOffset(this.pages, this.pageBytes, slot);
  }

  /** Bytes of the run starting at `slot` (0 when none starts there). */
  runBytes(slot: number): number {
    const order = this.#buddy.orderOf(slot);
    return order < 0 ? 0 : this.pageBytes << order;
  }

  /** The most bytes write windows may hold at once: the window budget (the arena less the reader reserve). */
  get windowBudgetBytes(): number {
    return this.#budget.windowPagesBudget * this.pageBytes;
  }

  /** Pages not in any run. */
  get freePages(): number {
    return this.#buddy.freePages;
  }

  state(slot: number): number {
    return Atomics.load(this.ctrl, slotWord(slot, S_STATE));
  }

  setState(slot: number, state: number): void {
    Atomics.store(this.ctrl, slotWord(slot, S_STATE), state);
    this.#track(slot, state);
  }

  /**
   * Moves `slot` from `expected` to `next` unless another thread moved it first (RETIRING, which
   * the flusher leaves on its own: layout.ts race notes). Returns the state found: `expected`
   * when the exchange happened.
   */
  exchangeState(slot: number, expected: number, next: number): number {
    const found = Atomics.compareExchange(this.ctrl, slotWord(slot, S_STATE), expected, next);
    if (found === expected) this.#track(slot, next);
    return found;
  }

  /**
   * ACTIVE runs are never evicted: they leave the LRU; any other state of an owned run joins it.
   * The window budget counts the pages of ACTIVE, RETIRING and SEALING runs.
   */
  #track(slot: number, state: number): void {
    if (state === SlotState.ACTIVE || state === SlotState.FREE) this.#lru.delete(slot);
    else if (this.#owners[slot] != null) this.#lru.add(slot);
    this.#budget.noteState(slot, state, this.#runPages(slot));
  }

  /** Sets a word of a run the flusher is not attached to (a run coming back as ACTIVE). */
  setWord(slot: number, word: number, value: number): void {
    Atomics.store(this.ctrl, slotWord(slot, word), value);
  }

  word(slot: number, word: number): number {
    return Atomics.load(this.ctrl, slotWord(slot, word));
  }

  pin(slot: number): void {
    this.ctrl[slotWord(slot, S_PINS)]!++;
    this.touch(slot);
  }

  unpin(slot: number): void {
    this.ctrl[slotWord(slot, S_PINS)]!--;
  }

  /** Marks the run most recently used (an owned, non-ACTIVE run moves to the LRU's end). */
  touch(slot: number): void {
    this.#lru.touch(slot);
  }

  /**
   * Keeps `owner`'s segment in `slot` for the compressor, at no one's expense: unlike a pin, a
   * hold never makes anyone wait. A held CLEAN run is evicted only when no other run is free or
   * evictable, and then the newest hold first (the compressor works oldest first, so it reaches
   * that one last; the segment it is about to read stays). Evicted, the segment is compressed
   * from its raw file, which was written moments ago and is normally in the page cache. The hold
   * ends with {@link unhold} or when the run changes owner. No-op if `owner` is not in `slot`.
   */
  hold(slot: number, owner: SlotOwner): void {
    if (this.#owners[slot] === owner) this.#held.set(slot, ++this.#holdClock);
  }

  /**
   * Bytes of the run {@link Arena.acquire} hands out for `bytes`: whole pages, a power of two of
   * them (a frame a record over 256 KiB takes a 512 KiB run); 0 when more than a segment.
   */
  runBytesFor(bytes: number): number {
    const order = this.#orderFor(bytes);
    return order < 0 ? 0 : this.pageBytes << order;
  }

  /** The buddy order of a run of at least `bytes` (one page at least), or -1 when larger than a segment. */
  #orderFor(bytes: number): number {
    return this.#buddy.orderFor(Math.max(1, Math.ceil(bytes / this.pageBytes)));
  }

  /** Ends `owner`'s hold on `slot` (no-op if the run has changed owner since: that ended it). */
  unhold(slot: number, owner: SlotOwner): void {
    if (this.#owners[slot] === owner) this.#held.delete(slot);
  }

  /**
   * Claims a run of at least `bytes` (default: a segment) for `owner`, in `state`, its lengths,
   * START, NEXT and PINS zeroed: a free block if one is large enough, else after
   * evicting disowned runs, then least recently used CLEAN unpinned ones (their data stays in
   * their files), then, for a run of several pages, every evictable run of one aligned block.
   * Returns -1 when that is not enough (active windows and pinned runs are in the way).
   */
  acquire(owner: SlotOwner, state: number, bytes: number = this.segmentBytes): number {
    const order = this.#orderFor(bytes);
    if (order < 0) return -1;
    if (!this.#buddy.canAlloc(order) && !this.#makeRoom(order)) return -1;
    const slot = this.#buddy.alloc(order);
    this.#allocated.add(slot);
    this.#owners[slot] = owner;
    for (const word of ZEROED_WORDS) Atomics.store(this.ctrl, slotWord(slot, word), 0);
    this.setState(slot, state);
    // Faulters skip pages of a run (PAGE_USED); one may be writing zeros into a page it saw unused
    // just before: let it finish that page first (race note in layout.ts).
    const pages = 1 << order;
    for (let page = slot; page < slot + pages; page++) Atomics.store(this.ctrl, slotWord(page, S_PAGE_USED), 1);
    for (let page = slot; page < slot + pages; page++) waitForPrefault(this.ctrl, page);
    return slot;
  }

  /**
   * Claims a write window (ACTIVE) of `bytes` for `owner` within the window budget, or a smaller
   * one down to `minBytes` (the record that asked for it): the largest run the budget has room
   * for, and, if no free or evictable block of that size exists, the next smaller ones. Returns
   * -1 when not even a run of `minBytes` can be had (the budget is spent, or active windows and
   * pinned runs are in the way): the caller takes the pressure path. The slow path, once per window.
   */
  acquireWindow(owner: SlotOwner, bytes: number, minBytes: number): number {
    const buddy = this.#buddy;
    const budget = this.#budget;
    const min = buddy.orderFor(Math.max(1, Math.ceil(minBytes / this.pageBytes)));
    if (min < 0) return -1;
    const want = Math.max(min, buddy.orderFor(Math.max(1, Math.ceil(bytes / this.pageBytes))));
    if (1 << want > budget.room) budget.settle(1 << want, this.#runPages);
    if (1 << min > budget.room) {
      budget.windowRefusals++;
      return -1;
    }
    let order = want;
    while (1 << order > budget.room) order--;
    for (; order >= min; order--) {
      const slot = this.acquire(owner, SlotState.ACTIVE, this.pageBytes << order);
      if (slot >= 0) {
        if (order < want) budget.windowsCut++;
        return slot;
      }
    }
    return -1;
  }

  /**
   * True when the budget has room for `slot`'s pages as a window again: a parked stream's CLEAN
   * window that it would take back (counted again once ACTIVE). Settles the count if needed.
   */
  windowFits(slot: number): boolean {
    const pages = this.#runPages(slot);
    if (pages > this.#budget.room) this.#budget.settle(pages, this.#runPages);
    return pages <= this.#budget.room;
  }

  /** The window budget and reader reserve with their current values, in pages (settled: exact now). */
  budgets(): WindowBudgetFigures & { pageBytes: number } {
    return { pageBytes: this.pageBytes, ...this.#budget.figures(this.#runPages) };
  }

  /** Evicts until a free block of `order` exists. */
  #makeRoom(order: number): boolean {
    const buddy = this.#buddy;
    for (const slot of this.#garbage) {
      if (this.#evictable(slot)) {
        this.#evict(slot);
        if (buddy.canAlloc(order)) return true;
      }
    }
    // A run that cannot go yet (RETIRING: the flusher has not written it; or pinned) moves to the
    // LRU's end, so the next eviction does not walk past it again: retired windows join the LRU in
    // retirement order, but the flusher writes them in its own order, and with 10,000 streams an
    // eviction happens at every window rollover. Moving one to the end only marks it recently
    // used, which it was. At most the LRU's size is visited (a moved run is met again at the end).
    const lru = this.#lru;
    for (let visits = lru.size, slot = lru.head; visits > 0 && slot >= 0; visits--) {
      const next = lru.next(slot);
      if (!this.#held.has(slot)) {
        if (this.#evictable(slot)) {
          this.#evict(slot);
          if (buddy.canAlloc(order)) return true;
        } else {
          lru.touch(slot);
        }
      }
      slot = next;
    }
    // Held runs last, newest hold first.
    if (this.#held.size > 0) {
      const held = [...this.#held].sort((a, b) => b[1] - a[1]);
      for (const [slot] of held) {
        if (this.#evictable(slot)) {
          this.#evict(slot);
          if (buddy.canAlloc(order)) return true;
        }
      }
    }
    if (order === 0) return false;
    // LRU eviction freed pages but not a whole aligned block: find a block whose runs can all go.
    // A scan of the arena, taken only for multi-page runs when the arena is full.
    const size = 1 << order;
    for (let block = 0; block + size <= this.pages; block += size) {
      let ok = true;
      const runs: number[] = [];
      for (let page = block; page < block + size && ok; ) {
        const runOrder = buddy.orderOf(page);
        if (runOrder < 0) {
          page++; // a free page (or inside a free block): free blocks of a smaller order are aligned inside this one
          continue;
        }
        if (!this.#evictable(page)) ok = false;
        runs.push(page);
        page += 1 << runOrder;
      }
      if (!ok) continue;
      for (const slot of runs) this.#evict(slot);
      if (buddy.canAlloc(order)) return true;
    }
    return false;
  }

  #evictable(slot: number): boolean {
    return this.state(slot) === SlotState.CLEAN && this.ctrl[slotWord(slot, S_PINS)] === 0;
  }

  #evict(slot: number): void {
    const owner = this.#owners[slot];
    this.#owners[slot] = null;
    if (owner != null) owner.slotReleased(slot);
    this.#free(slot);
  }

  #free(slot: number): void {
    this.#lru.delete(slot);
    this.#held.delete(slot);
    this.#garbage.delete(slot);
    this.#allocated.delete(slot);
    Atomics.store(this.ctrl, slotWord(slot, S_STATE), SlotState.FREE);
    const pages = 1 << this.#buddy.orderOf(slot);
    this.#budget.noteFreed(slot, pages);
    for (let page = slot; page < slot + pages; page++) Atomics.store(this.ctrl, slotWord(page, S_PAGE_USED), 0);
    this.#buddy.free(slot);
  }

  /** Returns a run to the allocator (a failed load, a failed segment). */
  release(slot: number): void {
    if (!this.#allocated.has(slot)) return;
    const owner = this.#owners[slot];
    this.#owners[slot] = null;
    if (owner != null) owner.slotReleased(slot);
    this.#free(slot);
  }

  /**
   * The owner lets the run go without freeing it (a retired write window: the flusher still writes
   * it out). It is evicted first, once CLEAN and unpinned.
   */
  disown(slot: number): void {
    this.#owners[slot] = null;
    this.#held.delete(slot);
    this.#lru.delete(slot);
    this.#garbage.add(slot);
  }

  /** Calls `fn` with the first page of every run handed out. */
  forEachRun(fn: (slot: number) => void): void {
    for (const slot of this.#allocated) fn(slot);
  }

  /** Counts of runs per state (free: free pages), plus the pinned and the held ones (which overlap the states), for stats and tests. */
  occupancy(): ArenaOccupancy {
    const out = { free: this.#buddy.freePages, active: 0, retiring: 0, sealing: 0, clean: 0, hydrating: 0, failed: 0, pinned: 0, held: this.#held.size };
    for (const slot of this.#allocated) {
      const s = this.state(slot);
      if (s === SlotState.ACTIVE) out.active++;
      else if (s === SlotState.RETIRING) out.retiring++;
      else if (s === SlotState.SEALING) out.sealing++;
      else if (s === SlotState.CLEAN) out.clean++;
      else if (s === SlotState.HYDRATING) out.hydrating++;
      else out.failed++;
      if (this.ctrl[slotWord(slot, S_PINS)]! > 0) out.pinned++;
    }
    return out;
  }
}
