/**
 * The write-window size rule (src/tier0/window-size.ts), a pure function, fed simulated append
 * rates with no share of the window budget (the rate rule alone; the share, and streams whose
 * windows span pauses, are window-size-share.test.ts): each step is one window, which takes
 * `size / rate` ms to fill at `rate` bytes per ms.
 * Stated bounds, checked below (K = ceil(log2(maxBytes / pageBytes)), 9 for 4 MiB windows of
 * 8 KiB pages):
 * - busy stream: the maximum within K windows; quiet stream: a page within K windows;
 * - any steady rate, from any size: moves in one direction only, settled within K windows, then
 *   never moves again;
 * - a rate right at a threshold holds; a rate jittering around a threshold by less than a factor
 *   shrinkMs / (2 x growMs) = 20 never reverses the size (so never oscillates), while thresholds
 *   without that gap flip the size at every window;
 * - a step change of rate: settled within K windows of the step;
 * - a window smaller than asked (cut by the budget or the segment's end) measures the rate, not
 *   its own fill time: a moderate stream is not mistaken for a busy one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  WINDOW_GROW_MS,
  WINDOW_SHRINK_MS,
  nextWindowBytes,
  settleWindows,
  windowSizeBounds,
  type WindowSizeBounds,
} from '../../../src/tier0/window-size.js';
import { seededRandom } from '../../../src/seeded-random.js';
import { reversals, settledAt } from './window-sequence.js';

const PAGE = 8192;
const SEGMENT = 4 * 1024 * 1024;
/** The defaults: 8 KiB pages, 4 MiB segments, a 128 MiB arena (windows up to 4 MiB). */
const BOUNDS = windowSizeBounds(PAGE, SEGMENT, 128 * 1024 * 1024);
const K = settleWindows(BOUNDS);
/** No share of the budget: the rate rule alone. */
const NO_SHARE = 0;

/** Sizes asked for after each window, from `start`, at `rate(i)` bytes per ms for window i. */
function run(start: number, windows: number, rate: (i: number) => number, bounds: WindowSizeBounds = BOUNDS): number[] {
  const sizes: number[] = [];
  let size = start;
  for (let i = 0; i < windows; i++) {
    size = nextWindowBytes(size, size, size / rate(i), NO_SHARE, bounds);
    sizes.push(size);
  }
  return sizes;
}

/** Windows after which the size changed. */
function moves(sizes: readonly number[], start: number): number {
  return sizes.filter((size, i) => size !== (i === 0 ? start : sizes[i - 1])).length;
}

/** Every size the rule can ask for: a page doubled, up to the maximum. */
const SIZES = Array.from({ length: K + 1 }, (_, k) => Math.min(BOUNDS.maxBytes, PAGE * 2 ** k));

describe('window size rule', () => {
  test('bounds: a page to min(segment, arena / 8); K = 9 by default; thresholds without hysteresis are refused', () => {
    assert.equal(BOUNDS.pageBytes, PAGE);
    assert.equal(BOUNDS.maxBytes, SEGMENT);
    assert.equal(K, 9);
    assert.equal(windowSizeBounds(PAGE, SEGMENT, 16 * 1024 * 1024).maxBytes, 2 * 1024 * 1024, 'an eighth of a 16 MiB arena');
    assert.equal(windowSizeBounds(PAGE, 3 * 1024 * 1024, 1024 * 1024 * 1024).maxBytes, 3 * 1024 * 1024, 'a segment that is not a power of two');
    assert.equal(windowSizeBounds(PAGE, 64 * 1024, 32 * 1024).maxBytes, PAGE, 'never below a page');
    assert.equal(settleWindows(windowSizeBounds(PAGE, 3 * 1024 * 1024, 1024 * 1024 * 1024)), 9, 'ceil(log2(384))');
    assert.ok(WINDOW_SHRINK_MS >= 2 * WINDOW_GROW_MS);
    assert.throws(() => windowSizeBounds(PAGE, SEGMENT, 128 * 1024 * 1024, 50, 99), { code: 'AOF_ERR_INVALID_ARGUMENT' });
    assert.throws(() => windowSizeBounds(PAGE, SEGMENT, 128 * 1024 * 1024, 0, 100), { code: 'AOF_ERR_INVALID_ARGUMENT' });
  });

  test('busy stream (100 MB/s): the maximum within K windows, then stays', () => {
    const sizes = run(PAGE, 200, () => 100_000);
    const at = sizes.indexOf(BOUNDS.maxBytes) + 1;
    assert.ok(at > 0 && at <= K, `reached ${BOUNDS.maxBytes} after ${at} windows (bound ${K})`);
    assert.ok(sizes.slice(at - 1).every((s) => s === BOUNDS.maxBytes));
    // The slowest busy stream: a page fills just under the grow threshold.
    const slowBusy = run(PAGE, 200, () => PAGE / (WINDOW_GROW_MS * 0.99));
    assert.ok(settledAt(slowBusy, PAGE) <= K && slowBusy.at(-1)! > PAGE);
  });

  test('quiet stream (1 KB/s, 100 B/s, a record a minute): a page within K windows, then stays', () => {
    for (const rate of [1, 0.1, 200 / 60_000]) {
      const sizes = run(BOUNDS.maxBytes, 200, () => rate);
      const at = sizes.indexOf(PAGE) + 1;
      assert.ok(at > 0 && at <= K, `rate ${rate} B/ms: a page after ${at} windows`);
      assert.ok(sizes.slice(at - 1).every((s) => s === PAGE));
    }
  });

  test('any steady rate, from any size: one direction, settled within K windows, in the band or at a bound', () => {
    // Rates from 1 byte a minute to 10 GB/s, 12 per decade.
    for (let e = -4.8; e <= 7; e += 1 / 12) {
      const rate = 10 ** e;
      for (const start of SIZES) {
        const sizes = run(start, 3 * K, () => rate);
        const at = settledAt(sizes, start);
        assert.ok(at <= K, `rate ${rate} from ${start}: settled after ${at} windows`);
        assert.equal(reversals(sizes, start), 0, `rate ${rate} from ${start}: one direction`);
        const final = sizes.at(-1)!;
        const projected = final / rate;
        assert.ok(
          (projected >= WINDOW_GROW_MS || final === BOUNDS.maxBytes) && (projected <= WINDOW_SHRINK_MS || final === PAGE),
          `rate ${rate}: ${final} bytes fill in ${projected} ms`,
        );
      }
    }
  });

  test('a rate exactly at a threshold holds the size', () => {
    for (const size of SIZES) {
      assert.equal(nextWindowBytes(size, size, WINDOW_GROW_MS, NO_SHARE, BOUNDS), size, `${size} filled in exactly growMs`);
      assert.equal(nextWindowBytes(size, size, WINDOW_SHRINK_MS, NO_SHARE, BOUNDS), size, `${size} filled in exactly shrinkMs`);
    }
  });

  test('a rate jittering around a threshold by less than shrinkMs / (2 x growMs) never reverses the size', () => {
    const rand = seededRandom(7);
    const spread = WINDOW_SHRINK_MS / (2 * WINDOW_GROW_MS); // 20
    // Rates drawn log-uniformly within a factor of sqrt(spread) either side (ratio < spread).
    const jitter = (center: number) => (): number => center * spread ** (0.499 * (2 * rand() - 1));
    for (const size of SIZES) {
      for (const center of [size / WINDOW_GROW_MS, size / WINDOW_SHRINK_MS]) {
        for (const start of [PAGE, size, BOUNDS.maxBytes]) {
          const sizes = run(start, 2000, jitter(center));
          assert.equal(reversals(sizes, start), 0, `centre ${center} B/ms from ${start}`);
          // One direction between a page and the maximum: at most K moves in 2,000 windows.
          assert.ok(moves(sizes, start) <= K, `centre ${center} B/ms from ${start}: ${moves(sizes, start)} moves`);
        }
      }
    }
  });

  test('the gap between the thresholds is what prevents oscillation: without it the size flips at every window', () => {
    // growMs = shrinkMs: no band (windowSizeBounds refuses this; built by hand to show why).
    const noGap: WindowSizeBounds = { ...BOUNDS, growMs: WINDOW_GROW_MS, shrinkMs: WINDOW_GROW_MS };
    const rate = (3 * PAGE) / (2 * WINDOW_GROW_MS); // a page fills in 33 ms, two pages in 67 ms
    const flipping = run(PAGE, 100, () => rate, noGap);
    assert.equal(reversals(flipping, PAGE), 99, 'a reversal at every window');
    const steady = run(PAGE, 100, () => rate);
    assert.equal(reversals(steady, PAGE), 0);
    assert.equal(settledAt(steady, PAGE), 1, 'one doubling, then held');
  });

  test('a step change of rate: settled within K windows of the step', () => {
    const rates = [0.01, 1, 50, 1000, 100_000];
    for (const before of rates) {
      for (const after of rates) {
        const sizes = run(PAGE, 100, (i) => (i < 50 ? before : after));
        const settled = settledAt(sizes.slice(50), sizes[49]!);
        assert.ok(settled <= K, `${before} → ${after} B/ms: settled ${settled} windows after the step`);
        assert.equal(reversals(sizes.slice(50), sizes[49]!), 0);
      }
    }
  });

  test('windows cut smaller than asked measure the rate, not their own fill time', () => {
    // 64 KiB asked, 1 MB/s: 64 KiB fill in ~66 ms (the band: hold). The budget hands out a page:
    // it fills in 8 ms, which alone would read as a busy stream.
    const rate = 1000;
    const asked = 64 * 1024;
    let size = asked;
    for (let i = 0; i < 50; i++) size = nextWindowBytes(size, PAGE, PAGE / rate, NO_SHARE, BOUNDS);
    assert.equal(size, asked, 'held');
    // A window larger than asked (one big record): same.
    assert.equal(nextWindowBytes(asked, 4 * asked, (4 * asked) / rate, NO_SHARE, BOUNDS), asked);
    // A window that took no bytes (unparked full) measures nothing.
    assert.equal(nextWindowBytes(asked, 0, 1, NO_SHARE, BOUNDS), asked);
    assert.equal(nextWindowBytes(asked, 0, 1e9, NO_SHARE, BOUNDS), asked);
  });
});
