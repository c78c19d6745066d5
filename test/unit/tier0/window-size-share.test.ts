/**
 * The write-window size rule's share of the window budget (src/tier0/window-size.ts,
 * `windowShareBytes`; issue 11, many-streams): a stream whose windows span pauses grows to what
 * its share allows, a genuinely low-rate stream does not grow, and the budget still bounds 10,000
 * streams. The rate rule alone (no share) is window-size.test.ts. Simulated streams: a timeline
 * gives the time at which the stream's n-th byte is appended, and a window of `size` bytes from
 * byte b takes `time(b + size) - time(b)` to fill.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  WINDOW_GROW_MS,
  WINDOW_QUIET_MS,
  WINDOW_SHRINK_MS,
  nextWindowBytes,
  settleWindows,
  windowShareBytes,
  windowSizeBounds,
  type WindowSizeBounds,
} from '../../../src/tier0/window-size.js';
import { seededRandom } from '../../../src/seeded-random.js';
import { reversals, settledAt } from './window-sequence.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const PAGE = 8 * KIB;

/** The default arena: 128 MiB, 4 MiB segments, an eighth kept for readers (112 MiB of windows). */
const DEFAULT_BOUNDS = windowSizeBounds(PAGE, 4 * MIB, 128 * MIB);
const DEFAULT_BUDGET = 112 * MIB;
/** many-streams' `1000 streams vs 1, 1 KiB`: 1,064 slots of 256 KiB, windows up to a segment. */
const SUITE_ARENA = 1064 * 256 * KIB;
const SUITE_BOUNDS = windowSizeBounds(PAGE, 256 * KIB, SUITE_ARENA);
const SUITE_BUDGET = SUITE_ARENA - SUITE_ARENA / 8;
/** Its 1,000 streams and the 1 stream, each with a segment being written. */
const SUITE_SHARE = windowShareBytes(SUITE_BUDGET, 1001);

/** Milliseconds at which a stream has appended `bytes` bytes. */
type Timeline = (bytes: number) => number;

/** A steady `rate` bytes per ms. */
const steady =
  (rate: number): Timeline =>
  (bytes) =>
    bytes / rate;

/** Bursts of `burstBytes` appended in `burstMs`, each followed by a pause of `pauseMs` (the suite's rounds and settles). */
const bursts =
  (burstBytes: number, burstMs: number, pauseMs: number): Timeline =>
  (bytes) => {
    const round = Math.floor(bytes / burstBytes);
    return round * (burstMs + pauseMs) + ((bytes - round * burstBytes) / burstBytes) * burstMs;
  };

/** Sizes asked for after each of `windows` full windows, from `start`, the stream's share being `share(i)` at window i. */
function run(start: number, windows: number, timeline: Timeline, share: (i: number) => number, bounds: WindowSizeBounds): number[] {
  const sizes: number[] = [];
  let size = start;
  let at = 0;
  for (let i = 0; i < windows; i++) {
    const elapsed = timeline(at + size) - timeline(at);
    at += size;
    size = nextWindowBytes(size, size, elapsed, share(i), bounds);
    sizes.push(size);
  }
  return sizes;
}

/** The largest page count doubled from a page that is at most `bytes` (a page at least), capped at the bounds. */
function largestWithin(bytes: number, bounds: WindowSizeBounds): number {
  let size = bounds.pageBytes;
  while (size * 2 <= bytes && size * 2 <= bounds.maxBytes) size *= 2;
  return size;
}

const always =
  (value: number): ((i: number) => number) =>
  () =>
    value;

describe('window size rule: the share of the budget', () => {
  test('the share is half the budget over the writing streams; the thresholds keep their gaps', () => {
    assert.equal(windowShareBytes(112 * MIB, 10_000), (112 * MIB) / 20_000);
    assert.equal(windowShareBytes(112 * MIB, 0), 56 * MIB, 'no stream writing yet counts as one');
    assert.ok(SUITE_SHARE > 64 * KIB && SUITE_SHARE < 128 * KIB, `the suite's share is ${SUITE_SHARE} bytes`);
    assert.ok(WINDOW_QUIET_MS >= 2 * WINDOW_SHRINK_MS);
    assert.throws(() => windowSizeBounds(PAGE, 4 * MIB, 128 * MIB, 50, 2000, 3999), { code: 'AOF_ERR_INVALID_ARGUMENT' });
    assert.equal(windowSizeBounds(PAGE, 4 * MIB, 128 * MIB, 50, 2000, 4000).quietMs, 4000);
  });

  test("growth across settle pauses: the suite's streams reach their share within K windows and stay; the rate rule alone swings", () => {
    const K = settleWindows(SUITE_BOUNDS);
    const target = largestWithin(SUITE_SHARE, SUITE_BOUNDS); // 64 KiB
    assert.equal(target, 64 * KIB);
    // 40 records of 1 KiB per round in 40 ms, then the settles and the other side's round: from
    // 0.1 s (a quiet machine) to 4.5 s (measured on a loaded one: two settles of ~2 s).
    for (const pauseMs of [100, 300, 1000, 2000, 4500]) {
      const timeline = bursts(40 * KIB, 40, pauseMs);
      const sizes = run(PAGE, 500, timeline, always(SUITE_SHARE), SUITE_BOUNDS);
      const at = sizes.indexOf(target) + 1;
      assert.ok(at > 0 && at <= K, `pause ${pauseMs} ms: ${target} bytes after ${at} windows (bound ${K})`);
      assert.ok(
        sizes.slice(at - 1).every((s) => s === target),
        `pause ${pauseMs} ms: held at ${target}`,
      );
      // The rate rule alone (the rule before the share): a window that spans a pause reads as slow,
      // one that does not as busy, so with pauses of a second or more it goes up and down between
      // 8 and 32 KiB (16 and 64 KiB at 1 s) for ever.
      if (pauseMs >= 1000) {
        const rateOnly = run(PAGE, 500, timeline, always(0), SUITE_BOUNDS).slice(100);
        assert.ok(reversals(rateOnly, rateOnly[0]!) > 10, `pause ${pauseMs} ms: the rate rule alone goes up and down`);
        assert.ok(Math.min(...rateOnly) < target, `pause ${pauseMs} ms: the rate rule alone falls below ${target}`);
      }
    }
    // The one stream beside them is busy (1 GB/s, as the suite's 1-stream side): the maximum (a
    // segment), whatever its share.
    const solo = run(PAGE, 100, steady(1_000_000), always(SUITE_SHARE), SUITE_BOUNDS);
    assert.equal(solo.at(-1), SUITE_BOUNDS.maxBytes);
    // A stream writing alone in bursts, with the pauses of a flush between them: the maximum.
    const alone = run(PAGE, 100, bursts(40 * KIB, 40, 4500), always(windowShareBytes(DEFAULT_BUDGET, 1)), DEFAULT_BOUNDS);
    assert.equal(alone.at(-1), DEFAULT_BOUNDS.maxBytes);
  });

  test('no growth for a genuinely low-rate stream, whatever its share; one that slows down comes down to a page', () => {
    const K = settleWindows(DEFAULT_BOUNDS);
    const lone = windowShareBytes(DEFAULT_BUDGET, 1); // 56 MiB: the largest share there is
    // 3 KB/s (a page in 2.7 s), 1 KB/s, 100 B/s, 200 B a minute; steady or in bursts.
    const timelines: Array<[string, Timeline]> = [
      ['3 KB/s', steady(3)],
      ['1 KB/s', steady(1)],
      ['100 B/s', steady(0.1)],
      ['200 B a minute', steady(200 / 60_000)],
      ['1 KiB bursts every 0.4 s', bursts(KIB, 1, 400)],
    ];
    for (const [label, timeline] of timelines) {
      const sizes = run(PAGE, 1000, timeline, always(lone), DEFAULT_BOUNDS);
      assert.ok(
        sizes.every((s) => s === PAGE),
        `${label}: a page throughout`,
      );
    }
    // From the largest window (a busy stream that became quiet): a page within K windows. A
    // stream of 1 KB/s or less is quiet (a page takes over 8 s) whatever its share.
    for (const [label, timeline] of timelines.slice(1, 4)) {
      const sizes = run(DEFAULT_BOUNDS.maxBytes, 200, timeline, always(lone), DEFAULT_BOUNDS);
      const at = sizes.indexOf(PAGE) + 1;
      assert.ok(at > 0 && at <= K, `${label}: a page after ${at} windows`);
      assert.ok(sizes.slice(at - 1).every((s) => s === PAGE));
    }
  });

  test('the budget still bounds 10,000 streams: in the default arena no window grows by its share, and the sizes asked fit', () => {
    const share = windowShareBytes(DEFAULT_BUDGET, 10_000);
    assert.ok(2 * PAGE > share, `a share of ${share} bytes: not two pages`);
    const rand = seededRandom(11);
    let asked = 0;
    for (let s = 0; s < 10_000; s++) {
      // Every stream below busy (a page in more than 50 ms: under 160 KB/s), steady or in bursts
      // with pauses up to 10 s, from 100 B/s up.
      const rate = 0.1 * (PAGE / WINDOW_GROW_MS / 0.1) ** rand();
      const timeline = rand() < 0.5 ? steady(rate) : bursts(Math.ceil(rate * 100), 100, 10_000 * rand());
      const sizes = run(PAGE, 60, timeline, always(share), DEFAULT_BOUNDS);
      assert.ok(
        sizes.every((size) => size === PAGE),
        `stream ${s} (rate ${rate} B/ms): a page throughout`,
      );
      asked += sizes.at(-1)!;
    }
    assert.equal(asked, 10_000 * PAGE);
    assert.ok(asked <= DEFAULT_BUDGET, `${asked / MIB} MiB asked of a ${DEFAULT_BUDGET / MIB} MiB budget`);
  });

  test('any number of streams not busy, in bursts or steady: what they ask for is at most a page each or half the budget in all', () => {
    const rand = seededRandom(5);
    for (const streams of [1, 3, 10, 100, 448, 1000, 3000]) {
      const share = windowShareBytes(DEFAULT_BUDGET, streams);
      let asked = 0;
      for (let s = 0; s < streams; s++) {
        const rate = 0.1 * (PAGE / WINDOW_GROW_MS / 0.1) ** rand();
        const timeline = rand() < 0.5 ? steady(rate) : bursts(Math.ceil(rate * 100), 100, 10_000 * rand());
        const sizes = run(PAGE, 3 * settleWindows(DEFAULT_BOUNDS), timeline, always(share), DEFAULT_BOUNDS);
        const final = sizes.at(-1)!;
        assert.ok(final <= Math.max(PAGE, share), `${streams} streams, stream ${s}: ${final} bytes over a share of ${share}`);
        asked += final;
      }
      assert.ok(asked <= Math.max(streams * PAGE, DEFAULT_BUDGET / 2), `${streams} streams ask for ${asked / MIB} MiB`);
    }
  });

  test('any steady rate and share, from any size: one direction, settled within K windows', () => {
    const K = settleWindows(DEFAULT_BOUNDS);
    const starts = Array.from({ length: K + 1 }, (_, k) => Math.min(DEFAULT_BOUNDS.maxBytes, PAGE * 2 ** k));
    const shares = [0, PAGE, 3 * PAGE, 64 * KIB, 100 * KIB, MIB, 56 * MIB];
    // Rates from 1 byte a minute to 10 GB/s, 6 per decade.
    for (let e = -4.8; e <= 7; e += 1 / 6) {
      const rate = 10 ** e;
      for (const share of shares) {
        for (const start of starts) {
          const sizes = run(start, 3 * K, steady(rate), always(share), DEFAULT_BOUNDS);
          assert.ok(settledAt(sizes, start) <= K, `rate ${rate}, share ${share}, from ${start}: settled after ${settledAt(sizes, start)} windows`);
          assert.equal(reversals(sizes, start), 0, `rate ${rate}, share ${share}, from ${start}: one direction`);
        }
      }
    }
  });

  test('a share jittering by less than a factor of 2, or a rate by less than 4 around a page per 2 s or 8 s, never reverses the size', () => {
    const rand = seededRandom(9);
    const K = settleWindows(DEFAULT_BOUNDS);
    // Shares around each power-of-two size, within a factor sqrt(2) either side; rates that are
    // neither busy nor quiet (a page in 0.1-2 s), where the share decides.
    for (let size = PAGE; size <= DEFAULT_BOUNDS.maxBytes; size *= 2) {
      const share = (): number => size * 2 ** (0.499 * (2 * rand() - 1));
      const sizes = run(size, 2000, steady(PAGE / 500), share, DEFAULT_BOUNDS);
      assert.equal(reversals(sizes, size), 0, `share jittering around ${size}`);
    }
    // Rates jittering around a page per 2 s (share growth stops) and per 8 s (quiet), within a
    // factor of 2 either side, with a share that allows growth.
    for (const pageMs of [WINDOW_SHRINK_MS, WINDOW_QUIET_MS]) {
      for (const start of [PAGE, 64 * KIB, DEFAULT_BOUNDS.maxBytes]) {
        let size = start;
        const sizes: number[] = [];
        for (let i = 0; i < 2000; i++) {
          const rate = (PAGE / pageMs) * 2 ** (0.999 * (2 * rand() - 1));
          size = nextWindowBytes(size, size, size / rate, windowShareBytes(DEFAULT_BUDGET, 10), DEFAULT_BOUNDS);
          sizes.push(size);
        }
        assert.equal(reversals(sizes, start), 0, `rate around a page per ${pageMs} ms from ${start}`);
        const moves = sizes.filter((s, i) => s !== (i === 0 ? start : sizes[i - 1])).length;
        assert.ok(moves <= K, `rate around a page per ${pageMs} ms from ${start}: ${moves} moves in 2,000 windows`);
      }
    }
  });
});
