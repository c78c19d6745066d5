/**
 * The size of a stream's next write window, from how fast it filled the last one: a pure function
 * (no clock, no arena), stepped by the log once per window rollover (`LogCore.#nextWindow`) with
 * the bytes the closing window took and the time they took. docs/tier0-windows.md, "Write windows".
 *
 * Why adapt: a busy stream wants large windows (few rollovers, each a slow-path step, and large
 * `pwrite`s), while 10,000 quiet streams must fit in the arena at a page each.
 *
 * Rule. `current` is the size the stream asks for. The closing window's rate is projected onto
 * `current`: `projectedMs = elapsedMs x current / filledBytes`, the time a window of `current`
 * bytes takes at that rate. (Projected, not the raw elapsed time: a window may have been smaller
 * than asked, cut by the window budget or by the segment's end, or larger, holding one big record;
 * its own fill time would misjudge the rate. A full window of `current` bytes projects to its
 * own fill time.)
 * - `projectedMs < growMs` (50 ms): twice as large, up to `maxBytes`;
 * - `projectedMs > shrinkMs` (2 s): half as large, down to `pageBytes`;
 * - otherwise (the band [growMs, shrinkMs]): unchanged. So is a window that took no bytes (an
 *   unparked window that was full already): nothing was measured.
 *
 * Bounds (with `shrinkMs >= 2 x growMs`, checked by {@link windowSizeBounds}; the defaults have a
 * factor of 40). Let K = ceil(log2(maxBytes / pageBytes)) (9 for 4 MiB windows of 8 KiB pages):
 * - at a steady rate the size moves in one direction only and stops within K windows: a doubling
 *   leaves a projection below `growMs` below `2 x growMs <= shrinkMs`, so it cannot shrink next,
 *   and a halving leaves one above `shrinkMs / 2 >= growMs`, so it cannot grow next. The fixed
 *   point is the first size whose projection enters the band (or a bound: a page, `maxBytes`);
 * - a busy stream (a page fills within `growMs`) reaches `maxBytes` within K windows; a quiet one
 *   (a page takes longer than `shrinkMs`) comes down to a page within K windows;
 * - after a step change of rate the size settles within K windows, then stays;
 * - a reversal (a grow, later a shrink, or the reverse) needs the rate to change by a factor of
 *   more than `shrinkMs / (2 x growMs)` (20 by default) between them: a rate that jitters near a
 *   threshold by less than that never makes the size oscillate. This gap between the thresholds is
 *   the hysteresis; test/unit/tier0/window-size.test.ts checks each bound on simulated rates.
 */
import { AofError } from '../errors.js';

/** A window whose rate would fill the asked size faster than this is followed by one twice as large. */
export const WINDOW_GROW_MS = 50;
/** A window whose rate would fill the asked size slower than this is followed by one half as large. */
export const WINDOW_SHRINK_MS = 2000;

/** The rule's parameters (from the arena and the config in production: {@link windowSizeBounds}). */
export interface WindowSizeBounds {
  /** The smallest window: one arena page. */
  readonly pageBytes: number;
  /** The largest window. */
  readonly maxBytes: number;
  readonly growMs: number;
  readonly shrinkMs: number;
}

/**
 * The bounds for an arena of `arenaBytes` in pages of `pageBytes` holding segments of
 * `segmentBytes`: a window is at most a segment and at most an eighth of the arena (one stream
 * must not hold the writers' whole share: with the reader reserve of an eighth, seven windows of
 * that size fill the window budget), and at least a page.
 * @throws AOF_ERR_INVALID_ARGUMENT when the thresholds leave no hysteresis (shrinkMs < 2 x growMs)
 */
export function windowSizeBounds(
  pageBytes: number,
  segmentBytes: number,
  arenaBytes: number,
  growMs: number = WINDOW_GROW_MS,
  shrinkMs: number = WINDOW_SHRINK_MS,
): WindowSizeBounds {
  if (!(growMs > 0) || !(shrinkMs >= 2 * growMs)) {
    throw AofError.invalidArgument(`window size thresholds need shrinkMs >= 2 x growMs > 0 (else a steady rate can flip the size every window), got growMs ${growMs}, shrinkMs ${shrinkMs}`);
  }
  // Not rounded to a power of two: a segment-sized window (a 3 MiB segment, say) lets a busy
  // stream write a whole segment through one window, which Tier 1 then compresses from the arena.
  const maxBytes = Math.max(pageBytes, Math.min(segmentBytes, Math.floor(arenaBytes / 8)));
  return { pageBytes, maxBytes, growMs, shrinkMs };
}

/** K: the most windows any settling takes (ceil(log2(maxBytes / pageBytes))). */
export function settleWindows(bounds: WindowSizeBounds): number {
  return Math.ceil(Math.log2(bounds.maxBytes / bounds.pageBytes));
}

/**
 * The size to ask for next, after a window took `filledBytes` in `elapsedMs` while the stream
 * asked for `current` (within the bounds: a page, doubled or halved by earlier steps).
 */
export function nextWindowBytes(current: number, filledBytes: number, elapsedMs: number, bounds: WindowSizeBounds): number {
  if (!(filledBytes > 0)) return current;
  const projectedMs = (Math.max(0, elapsedMs) * current) / filledBytes;
  if (projectedMs < bounds.growMs) return Math.min(bounds.maxBytes, current * 2);
  if (projectedMs > bounds.shrinkMs) return Math.max(bounds.pageBytes, current / 2);
  return current;
}
