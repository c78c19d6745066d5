/**
 * A sparse index of record boundaries of one segment: (offset, record) pairs, "record `record`
 * (0-based in the segment) starts at data offset `offset`". Stage 3 of the Tier 0 redesign
 * (docs/tier0-windows.md, "Read ranges") loads raw segments in chunks, and a chunk must start on a
 * record boundary whose record id is known; the index is where those come from:
 *
 * - (0, 0), always;
 * - window boundaries (the log opens a window at a record boundary and closes it at one), and the
 *   sealed or parked segment's end (dataBytes, count);
 * - every chunk a worker loaded and checked: its start and end, and what it learned on the way
 *   (the worker walks frame lengths from the nearest known boundary to the chunk holding the
 *   record asked for, and reports each chunk-sized step it took, CRC-checked).
 *
 * So the first cold read of a segment walks frames from the nearest boundary below it (in a
 * worker, never on the main thread), and later reads start at most one chunk below their record.
 *
 * Memory: at most MAX_PAIRS pairs; past that, every second pair is dropped (the coverage stays
 * even, the walk from a boundary gets at most twice as long). Pairs are kept sorted by offset
 * (records grow with offsets), in one flat number array.
 *
 * Bookkeeping of the main thread only; nothing here is shared memory or on disk. An index is
 * rebuilt from nothing after a restart: a segment found at open starts with (0, 0) and its end.
 */

/** Pairs kept per segment: 4,096 pairs is 64 KiB, one per 16 KiB of a 64 MiB segment. */
export const MAX_PAIRS = 4096;

export class BoundaryIndex {
  /** offset0, record0, offset1, record1, ... sorted by offset. */
  readonly #pairs: number[] = [0, 0];

  /** The pairs, flat and sorted: [offset, record, offset, record, ...]. Do not mutate. */
  get pairs(): readonly number[] {
    return this.#pairs;
  }

  /** Records that record `record` starts at `offset`. Duplicates are ignored. */
  add(offset: number, record: number): void {
    const p = this.#pairs;
    // Binary search for the first pair with a larger offset.
    let lo = 0;
    let hi = p.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid * 2]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && p[(lo - 1) * 2] === offset) return;
    p.splice(lo * 2, 0, offset, record);
    if (p.length > MAX_PAIRS * 2) this.#thin();
  }

  /**
   * The known boundary at or below record `record` with the largest offset, as [offset, record]
   * (at least [0, 0]).
   */
  floor(record: number): [number, number] {
    const p = this.#pairs;
    let lo = 0;
    let hi = p.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid * 2 + 1]! <= record) lo = mid + 1;
      else hi = mid;
    }
    const i = Math.max(0, lo - 1) * 2;
    return [p[i]!, p[i + 1]!];
  }

  /** The largest known boundary at or below `offset` bytes, as [offset, record]. */
  atOrBelowOffset(offset: number): [number, number] {
    const p = this.#pairs;
    let best = 0;
    for (let i = 0; i < p.length && p[i]! <= offset; i += 2) best = i;
    return [p[best]!, p[best + 1]!];
  }

  /** Forgets everything but (0, 0) (the raw file is gone: Tier 1 frames carry their own index). */
  clear(): void {
    this.#pairs.length = 2;
  }

  /** Drops every second pair (keeping the first and the last). */
  #thin(): void {
    const p = this.#pairs;
    const kept: number[] = [];
    const last = p.length - 2;
    for (let i = 0; i < p.length; i += 2) {
      if (i % 4 === 0 || i === last) kept.push(p[i]!, p[i + 1]!);
    }
    p.length = 0;
    p.push(...kept);
  }
}
