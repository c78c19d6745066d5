/**
 * The size of a stream's next write window, from how fast it filled the last one and from its share
 * of the window budget: a pure function (no clock, no arena), stepped by the log once per window
 * rollover (`LogCore.#adaptWindow`) with the bytes the closing window took, the time they took, and
 * the budget's bytes per writing stream. docs/tier0-windows.md, "Write windows".
 *
 * Why adapt: a busy stream wants large windows (few rollovers, each a slow-path step, and large
 * `pwrite`s), while 10,000 quiet streams must fit in the arena at a page each.
 *
 * Why a share as well as a rate (issue 11, many-streams): a stream written in bursts with pauses
 * between them (a caller that appends to 1,000 streams in turn, then flushes them all) fills a
 * window of a few records within a burst, but any larger window spans a pause, so its wall-clock
 * rate reads as moderate or slow however fast the bursts are, while a window that falls within a
 * burst reads as busy: a rate rule alone kept such streams at 8-64 KiB, going up and down (a
 * rollover every 9-23 records of 1 KiB where a few per segment do), with most of the budget
 * unused. Whether a window of that size is affordable is a question of memory, not of time: the
 * budget divided among the streams that write says how much each may hold.
 *
 * Rule. `current` is the size the stream asks for. The closing window's rate is projected onto
 * `current` (`projectedMs = elapsedMs x current / filledBytes`, the time a window of `current`
 * bytes takes at that rate) and onto a page (`pageMs`, the same for `pageBytes`). (Projected, not
 * the raw elapsed time: a window may have been smaller than asked, cut by the window budget or by
 * the segment's end, or larger, holding one big record; its own fill time would misjudge the
 * rate.) `shareBytes` is the stream's share of the window budget ({@link windowShareBytes}: half
 * the budget over the streams writing). In this order:
 * - busy, `projectedMs < growMs` (50 ms): twice as large, up to `maxBytes` (budget or not: the
 *   arena cuts a window it has no room for);
 * - within its share, `2 x current <= shareBytes` and `pageMs <= shrinkMs` (a page fills within
 *   2 s: not a quiet stream): twice as large, up to `maxBytes`, however long the window took;
 * - slow, `projectedMs > shrinkMs` (2 s), and either over its share (`current > 2 x shareBytes`)
 *   or quiet (`pageMs > quietMs`, 8 s: slower than a page per 8 s): half as large, down to
 *   `pageBytes`;
 * - otherwise unchanged. So is a window that took no bytes (an unparked window that was full
 *   already): nothing was measured.
 * With no share (0) this is the rate rule alone (x2 below 50 ms, /2 above 2 s), as it was before
 * the share; with 10,000 streams in the default arena (a share of 5.6 KiB) no window grows by it.
 *
 * What bounds memory: a window grows by its share only up to `shareBytes`, so the windows grown
 * that way take at most half the budget in all (N writing streams x budget / 2N), and as much
 * again for the windows they replaced while those are written out (if more streams start writing
 * later, the grown windows keep their size up to twice the new share until they roll over slow:
 * the whole budget at worst, and the arena cuts new windows meanwhile); busy streams may ask for
 * more, as before, and the arena cuts what does not fit. A stream slower than a page per 2 s never
 * grows by its share; one slower than a page per 8 s comes down to a page like any slow window. A
 * stream that stops appending keeps its window until relief parks it (as before).
 *
 * Bounds (with `shrinkMs >= 2 x growMs` and `quietMs >= 2 x shrinkMs`, checked by
 * {@link windowSizeBounds}; the defaults have factors of 40 and 4). Let K =
 * ceil(log2(maxBytes / pageBytes)) (9 for 4 MiB windows of 8 KiB pages):
 * - at a steady rate and share the size moves in one direction only and stops within K windows.
 *   After a busy doubling the projection is below `2 x growMs <= shrinkMs`: it cannot shrink next.
 *   After a doubling within its share the size is at most the share and the stream is not quiet
 *   (a page within `shrinkMs < quietMs`): it cannot shrink next. After a halving for being slow the
 *   projection is above `shrinkMs / 2 >= growMs` (not busy), and either the size before, twice the
 *   new one, was over twice the share (no doubling within the share) or the stream is quiet (no
 *   doubling within the share either): it cannot grow next;
 * - a busy stream (a page fills within `growMs`) reaches `maxBytes` within K windows; a quiet one
 *   (a page takes longer than `quietMs`) comes down to a page within K windows; a stream filling a
 *   page within 2 s whose share allows it reaches the largest power-of-two pages within its share
 *   (or `maxBytes`) within K windows, whatever pauses its windows span;
 * - after a step change of rate or share the size settles within K windows, then stays;
 * - a reversal needs the rate to change by a factor of more than `shrinkMs / (2 x growMs)` (20)
 *   or `quietMs / shrinkMs` (4), or the share to change by more than a factor of 2, between the
 *   two moves: a rate or a share that jitters by less never makes the size oscillate. These gaps
 *   are the hysteresis; test/unit/tier0/window-size.test.ts (no share) and
 *   window-size-share.test.ts check each bound on simulated streams.
 */
import { AofError } from '../errors.js';

/** A window whose rate would fill the asked size faster than this is followed by one twice as large. */
export const WINDOW_GROW_MS = 50;
/**
 * A window whose rate would fill the asked size slower than this is followed by one half as large
 * if it is over its share or quiet; a stream must fill a page within this to grow by its share.
 */
export const WINDOW_SHRINK_MS = 2000;
/** A stream whose rate would fill a page slower than this is quiet: its windows come down to a page whatever its share. */
export const WINDOW_QUIET_MS = 8000;

/** The rule's parameters (from the arena and the config in production: {@link windowSizeBounds}). */
export interface WindowSizeBounds {
  /** The smallest window: one arena page. */
  readonly pageBytes: number;
  /** The largest window. */
  readonly maxBytes: number;
  readonly growMs: number;
  readonly shrinkMs: number;
  readonly quietMs: number;
}

/**
 * The bounds for an arena of `arenaBytes` in pages of `pageBytes` holding segments of
 * `segmentBytes`: a window is at most a segment and at most an eighth of the arena (one stream
 * must not hold the writers' whole share: with the reader reserve of an eighth, seven windows of
 * that size fill the window budget), and at least a page.
 * @throws AOF_ERR_INVALID_ARGUMENT when the thresholds leave no hysteresis (shrinkMs < 2 x growMs,
 *   or quietMs < 2 x shrinkMs)
 */
export function windowSizeBounds(
  pageBytes: number,
  segmentBytes: number,
  arenaBytes: number,
  growMs: number = WINDOW_GROW_MS,
  shrinkMs: number = WINDOW_SHRINK_MS,
  quietMs: number = WINDOW_QUIET_MS,
): WindowSizeBounds {
  if (!(growMs > 0) || !(shrinkMs >= 2 * growMs) || !(quietMs >= 2 * shrinkMs)) {
    throw AofError.invalidArgument(
      `window size thresholds need quietMs >= 2 x shrinkMs >= 4 x growMs > 0 (else a steady rate can flip the size every window), got growMs ${growMs}, shrinkMs ${shrinkMs}, quietMs ${quietMs}`,
    );
  }
  // Not rounded to a power of two: a segment-sized window (a 3 MiB segment, say) lets a busy
  // stream write a whole segment through one window, which Tier 1 then compresses from the arena.
  const maxBytes = Math.max(pageBytes, Math.min(segmentBytes, Math.floor(arenaBytes / 8)));
  return { pageBytes, maxBytes, growMs, shrinkMs, quietMs };
}

/**
 * A writing stream's share of the window budget: half of `budgetBytes` over the `writingStreams`
 * (at least 1). Half, so that every stream's window and the one it just replaced, still counted in
 * the budget while the flush worker writes it out, fit together: share-grown windows alone never
 * make a rollover wait for room, even when 1,000 streams written in turn all roll over at once.
 */
export function windowShareBytes(budgetBytes: number, writingStreams: number): number {
  return budgetBytes / (2 * Math.max(1, writingStreams));
}

/** K: the most windows any settling takes (ceil(log2(maxBytes / pageBytes))). */
export function settleWindows(bounds: WindowSizeBounds): number {
  return Math.ceil(Math.log2(bounds.maxBytes / bounds.pageBytes));
}

/**
 * The size to ask for next, after a window took `filledBytes` in `elapsedMs` while the stream
 * asked for `current` (within the bounds: a page, doubled or halved by earlier steps), the stream's
 * share of the window budget being `shareBytes` (0: no share, the rate rule alone).
 */
export function nextWindowBytes(current: number, filledBytes: number, elapsedMs: number, shareBytes: number, bounds: WindowSizeBounds): number {
  if (!(filledBytes > 0)) return current;
  const elapsed = Math.max(0, elapsedMs);
  const projectedMs = (elapsed * current) / filledBytes;
  const pageMs = (elapsed * bounds.pageBytes) / filledBytes;
  if (projectedMs < bounds.growMs) return Math.min(bounds.maxBytes, current * 2);
  if (current * 2 <= shareBytes && pageMs <= bounds.shrinkMs) return Math.min(bounds.maxBytes, current * 2);
  if (projectedMs > bounds.shrinkMs && (current > 2 * shareBytes || pageMs > bounds.quietMs)) return Math.max(bounds.pageBytes, current / 2);
  return current;
}
