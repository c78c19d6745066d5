/**
 * The arena's eviction order: a doubly linked list of runs (by first page) over two Int32Arrays,
 * least recently used at the head. O(1) to append, remove and test, and a walk from the head
 * meets only runs in the list.
 *
 * Why not a `Map` in insertion order (what the arena used first): V8's ordered hash table leaves a
 * hole for every deleted entry until it next rehashes, and an iteration from the start walks the
 * holes. An LRU deletes at its head and appends at its tail, so the head fills with holes: with
 * 10,000 streams round-robin (a window rollover, hence an eviction, every ~37 appends) each
 * eviction walked thousands of them, ~35 µs (docs/performance.md, issue 12).
 */

const NONE = -1;

export class RunLru {
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  /** 1 while the page heads a run in the list. */
  readonly #member: Uint8Array;
  #head = NONE;
  #tail = NONE;
  #size = 0;

  /** @param pages pages in the arena (a run is named by its first page) */
  constructor(pages: number) {
    this.#next = new Int32Array(pages).fill(NONE);
    this.#prev = new Int32Array(pages).fill(NONE);
    this.#member = new Uint8Array(pages);
  }

  get size(): number {
    return this.#size;
  }

  /** Least recently used run, or -1 when the list is empty. */
  get head(): number {
    return this.#head;
  }

  /** The run after `slot` (towards the most recently used), or -1. `slot` must be in the list. */
  next(slot: number): number {
    return this.#next[slot]!;
  }

  has(slot: number): boolean {
    return this.#member[slot] === 1;
  }

  /** Appends `slot` as the most recently used; no-op if it is in the list already. */
  add(slot: number): void {
    if (this.#member[slot] === 1) return;
    this.#member[slot] = 1;
    this.#prev[slot] = this.#tail;
    this.#next[slot] = NONE;
    if (this.#tail !== NONE) this.#next[this.#tail] = slot;
    else this.#head = slot;
    this.#tail = slot;
    this.#size++;
  }

  /** Removes `slot`; returns false if it was not in the list. */
  delete(slot: number): boolean {
    if (this.#member[slot] !== 1) return false;
    const next = this.#next[slot]!;
    const prev = this.#prev[slot]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else this.#tail = prev;
    this.#member[slot] = 0;
    this.#size--;
    return true;
  }

  /** Moves `slot` to the most recently used end if it is in the list; returns whether it was. */
  touch(slot: number): boolean {
    if (!this.delete(slot)) return false;
    this.add(slot);
    return true;
  }
}
