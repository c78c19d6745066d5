/**
 * Which segment files the flush worker keeps open under its fd budget (`tier0.maxOpenFiles`), and
 * which one it closes to open another.
 *
 * Least recently used first, as any fd cache, except when the files used since the current pass
 * began already fill the budget. A pass visits every attached segment in the same order each time,
 * so with more segments written per pass than the budget (10,000 streams round-robin against the
 * 5,000 fds a 20,000 soft limit gives) LRU closes every file just before its next use: every write
 * reopened its file (~100,000 reopens in 4 s here, issue 12). Then the most recently used file is
 * closed instead, which keeps the rest open for the next pass: about budget / files-per-pass of the
 * uses find their file open. A workload whose pass fits in the budget never meets that case and
 * keeps plain LRU (a few busy streams stay open among many quiet ones).
 *
 * Pure bookkeeping: the caller opens and closes the fds.
 */

/** What the set needs of an entry: the pass in which it was last used (the set stamps it). */
export interface OpenFileEntry {
  lastUsePass: number;
}

export class OpenFileSet<T extends OpenFileEntry> {
  readonly #budget: number;
  /** Open entries, least recently used first (a Set keeps insertion order; a use moves it to the end). */
  readonly #lru = new Set<T>();
  /** The entry used last, while it is open. */
  #mostRecent: T | null = null;
  #pass = 0;

  constructor(budget: number) {
    if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`open-file budget must be a positive integer, got ${budget}`);
    this.#budget = budget;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** A new pass begins: uses from here on count as this pass's. */
  beginPass(): void {
    this.#pass++;
  }

  /** `entry` is open and used now (after an open, or on a use of an open one). */
  use(entry: T): void {
    this.#lru.delete(entry);
    this.#lru.add(entry);
    entry.lastUsePass = this.#pass;
    this.#mostRecent = entry;
  }

  has(entry: T): boolean {
    return this.#lru.has(entry);
  }

  /** `entry` was closed. */
  delete(entry: T): void {
    this.#lru.delete(entry);
    if (this.#mostRecent === entry) this.#mostRecent = null;
  }

  /** The entry to close before one more file opens, or null while the budget has room. */
  victim(): T | null {
    if (this.#lru.size < this.#budget) return null;
    const oldest = this.#lru.values().next().value as T;
    // The oldest was used in this pass too: this pass's files exceed the budget (see above).
    if (oldest.lastUsePass === this.#pass && this.#mostRecent !== null) return this.#mostRecent;
    return oldest;
  }

  /** Every open entry, least recently used first (a copy: the caller may close them as it goes). */
  entries(): T[] {
    return [...this.#lru];
  }
}
