/**
 * The compression pool's width controller (src/tier1/width-controller.ts), a pure function, alone
 * (the level at its ceiling throughout; the order with the level is compression-controller.test.ts):
 * fed backlog series directly (open loop) and through a simulated pool (support/compression-sim.ts:
 * each step is one task start, the writer adds segments up to the budget while tasks run, the idle
 * cores are the machine's cores minus the writer's and the pool's width). Stated bounds, checked
 * below:
 * - slow compressor (every width slower than the writer) with idle cores: from 1 to maxWidth within
 *   (maxWidth + 4) x (maxWidth - 2) steps of the backlog reaching high water, then no move;
 * - no idle core (a reading under 1): never wider than 1, whatever the backlog;
 * - fast compressor (one thread keeps up): never wider than 1; after an overload, back to 1 within
 *   (maxWidth - 1) x narrowAfter calm steps, never wider on the way; never narrower while the level
 *   is below its ceiling;
 * - in between (w threads too slow, w + 1 fast enough, by 5 % or more): only w and w + 1 once
 *   settled, opposite moves at least 24 steps apart (the band of 24 segments of a 128-segment
 *   budget, crossed at less than a segment per step);
 * - for any series: one move per step, by one thread; wider only at or above high water, with an
 *   idle core, 2 x (w + 1) steps after a widen to w; narrower only when calm with the level at its
 *   ceiling, narrowAfter calm steps after the last move.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initialWidthState, stepWidth, widthHoldsLevel, widthPolicy, type WidthPolicy, type WidthState } from '../../../src/tier1/width-controller.js';
import { seededRandom } from '../../../src/seeded-random.js';
import { moves, simulatePool, type SimTrace } from '../../../support/compression-sim.js';

/** Widths after each step of `series` (backlog, idle cores), the level at its ceiling unless said. */
function run(series: readonly (readonly [number, number])[], policy: WidthPolicy, levelAtCeiling = true, start: WidthState = initialWidthState(policy)): number[] {
  const widths: number[] = [];
  let state = start;
  for (const [backlog, idleCores] of series) {
    state = stepWidth(state, { backlog, running: 0, idleCores, levelAtCeiling }, policy);
    widths.push(state.width);
  }
  return widths;
}

/** `n` steps of the same backlog and idle reading. */
function steady(n: number, backlog: number, idleCores: number): [number, number][] {
  return Array.from({ length: n }, () => [backlog, idleCores]);
}

const SEGMENT_MB = 4;
/** The default budget in default segments: 512 MiB / 4 MiB. */
const BUDGET_SEGMENTS = 128;

/**
 * Closed loop: a writer at `writerMBs` against a pool of threads compressing `threadMBs` each, on a
 * machine of `cores` of which the writer keeps one busy.
 */
function simulate(writerMBs: number, threadMBs: number, maxWidth: number, cores: number, steps: number): SimTrace {
  const policy = widthPolicy(maxWidth);
  let state = initialWidthState(policy);
  return simulatePool(
    { writerMBs, speedMBs: () => threadMBs, cores, writerCores: 1, budgetSegments: BUDGET_SEGMENTS, segmentMB: SEGMENT_MB },
    steps,
    (sample) => {
      state = stepWidth(state, { ...sample, levelAtCeiling: true }, policy);
      return { width: state.width, level: 3 };
    },
  );
}

/** The bound of the header: steps from the first widen (at high water) to maxWidth. */
function rampSteps(maxWidth: number): number {
  return Math.max(0, (maxWidth + 4) * (maxWidth - 2));
}

describe('width controller', () => {
  test('the production policy: the waters of the level controller, a whole idle core to widen, narrow after 8 calm tasks (at most 128)', () => {
    assert.deepEqual(widthPolicy(4), { maxWidth: 4, highWater: 0.25, lowWater: 1 / 16, minIdleCores: 1, narrowAfter: 8, maxNarrowAfter: 128 });
    assert.equal(initialWidthState(widthPolicy(8)).width, 1, 'starts with one thread');
    assert.throws(() => widthPolicy(0), RangeError);
    assert.throws(() => widthPolicy(1.5), RangeError);
  });

  test('slow compressor with idle cores: a backlog held at the budget widens to maxWidth within (max + 4) x (max - 2) steps, then no move', () => {
    for (const max of [1, 2, 3, 4, 8, 16, 64]) {
      const policy = widthPolicy(max);
      const widths = run(steady(rampSteps(max) + 500, 1 - 1 / BUDGET_SEGMENTS, max), policy);
      const bound = rampSteps(max);
      assert.equal(widths[bound], max, `max ${max}: at ${max} after ${bound + 1} steps (${widths.slice(0, 12).join(' ')})`);
      assert.ok(moves(widths, 1).every((i) => i <= bound), `max ${max}: no move after reaching the maximum`);
    }
    // Closed loop: a writer ten times faster than a thread, on a machine with a core per thread.
    for (const max of [2, 4, 8]) {
      const { widths, backlog } = simulate(1000, 100, max, max + 1, 3000);
      const high = backlog.findIndex((b) => b >= widthPolicy(max).highWater);
      const at = moves(widths, 1);
      assert.ok(high >= 0 && at[0]! >= high, `max ${max}: the first widen at ${at[0]}, high water at ${high}`);
      assert.ok(at.at(-1)! <= high + rampSteps(max), `max ${max}: moves at ${at.join(',')}, high water at ${high}`);
      assert.equal(widths.at(-1), max);
      assert.equal(at.length, max - 1, `max ${max}: only widens`);
    }
  });

  test('no idle core: never wider than 1, whatever the backlog', () => {
    const rand = seededRandom(7);
    const policy = widthPolicy(8);
    const series = Array.from({ length: 10_000 }, (): [number, number] => [rand() * 1.2, rand() * 0.999]);
    assert.deepEqual(moves(run(series, policy), 1), []);
    // Closed loop: the writer's core and one more; the one thread compressing keeps it busy.
    const { widths } = simulate(1000, 100, 8, 2, 3000);
    assert.deepEqual(moves(widths, 1), []);
  });

  test('fast compressor: a backlog under low water never widens; after an overload, back to 1 within (max - 1) x narrowAfter calm steps, never wider on the way', () => {
    const rand = seededRandom(11);
    for (const max of [1, 2, 8]) {
      const policy = widthPolicy(max);
      const calm = Array.from({ length: 10_000 }, (): [number, number] => [rand() * policy.lowWater, max]);
      assert.deepEqual(moves(run(calm, policy), 1), [], `max ${max}`);
    }
    assert.deepEqual(moves(simulate(80, 100, 4, 5, 10_000).widths, 1), [], 'one thread keeps up: it stays one');
    for (const max of [2, 4, 8]) {
      const policy = widthPolicy(max);
      const overload = rampSteps(max) + 20;
      const widths = run([...steady(overload, 1, max), ...steady(500, 0.01, max)], policy);
      assert.equal(widths[overload - 1], max, `max ${max}: at the maximum during the overload`);
      const back = widths.indexOf(1, overload);
      assert.ok(back >= 0 && back - overload + 1 <= (max - 1) * policy.narrowAfter, `max ${max}: back to 1 after ${back - overload + 1} calm steps`);
      for (let i = overload; i < widths.length; i++) assert.ok(widths[i]! <= widths[i - 1]!, `max ${max}: wider at step ${i} while calm`);
    }
  });

  test('a level below its ceiling keeps the width: calm steps do not count until it is back', () => {
    const policy = widthPolicy(4);
    let state = initialWidthState(policy);
    for (const [backlog, idleCores] of steady(rampSteps(4) + 1, 1, 4)) state = stepWidth(state, { backlog, running: 0, idleCores, levelAtCeiling: true }, policy);
    assert.equal(state.width, 4);
    assert.deepEqual(moves(run(steady(1000, 0, 4), policy, false, state), 4), [], 'the level is lowered: no narrowing');
    const widths = run(steady(100, 0, 4), policy, true, state);
    assert.equal(moves(widths, 4)[0], policy.narrowAfter - 1, 'the level is back: the first narrow after narrowAfter calm steps');
  });

  test('hysteresis: a backlog hovering inside the band never moves the width; one jumping across it every step only ever widens', () => {
    const policy = widthPolicy(4);
    const rand = seededRandom(5);
    const hovering = Array.from({ length: 10_000 }, (): [number, number] => [policy.lowWater + 1e-9 + rand() * (policy.highWater - policy.lowWater - 2e-9), 4]);
    assert.deepEqual(moves(run(hovering, policy), 1), []);
    const wide: WidthState = { ...initialWidthState(policy), width: 3 };
    assert.deepEqual(moves(run(hovering, policy, true, wide), 3), [], 'from 3 threads too');
    // High, calm, high, calm...: calm never lasts narrowAfter steps, so there is no narrow to undo.
    const jumping = Array.from({ length: 1000 }, (_, i): [number, number] => [i % 2 === 0 ? 0.9 : 0, 4]);
    const widths = run(jumping, policy);
    for (let i = 1; i < widths.length; i++) assert.ok(widths[i]! >= widths[i - 1]!, `narrower at step ${i}`);
    assert.equal(widths.at(-1), 4);
  });

  test('a widen that drains the backlog is left to work: no second widen, and the level holds, while the backlog stays under its mark', () => {
    const policy = widthPolicy(8);
    let state = initialWidthState(policy);
    const holds: boolean[] = [];
    const widths: number[] = [];
    // A widen at 0.5; the backlog still grows while it settles (6 steps for a width of 2), and is
    // 0.48 as the settling ends: the mark. Then it shrinks, dips under high water and comes back,
    // never to the mark.
    for (const backlog of [0.5, 0.51, 0.52, 0.52, 0.51, 0.5, 0.48, 0.45, 0.4, 0.3, 0.24, 0.26, 0.3, 0.4, 0.47]) {
      state = stepWidth(state, { backlog, running: 0, idleCores: 8, levelAtCeiling: true }, policy);
      widths.push(state.width);
      holds.push(widthHoldsLevel(state, { backlog, running: 0 }, policy));
    }
    assert.deepEqual(widths, new Array<number>(widths.length).fill(2));
    assert.deepEqual(holds, [true, true, true, true, true, true, true, true, true, true, false, true, true, true, true]);
    // Back at the mark: the widen did not drain it; wider again.
    state = stepWidth(state, { backlog: 0.48, running: 0, idleCores: 8, levelAtCeiling: true }, policy);
    assert.equal(state.width, 3);
  });

  test('in between (w threads too slow, w + 1 fast enough): settles on w and w + 1, opposite moves at least 24 steps apart', () => {
    // Writer rates between two multiples of the thread's 100 MB/s; the pair the width must settle on.
    const cases: [number, number, [number, number]][] = [
      [150, 2, [1, 2]],
      [190, 2, [1, 2]],
      [160, 4, [1, 2]],
      [240, 4, [2, 3]],
      [350, 4, [3, 4]],
      [250, 8, [2, 3]],
      [330, 8, [3, 4]],
      [450, 8, [4, 5]],
    ];
    for (const [writer, max, pair] of cases) {
      const { widths } = simulate(writer, 100, max, max + 1, 20_000);
      const settled = widths.slice(1000);
      assert.ok(settled.every((w) => pair.includes(w)), `writer ${writer}, max ${max}: widths ${[...new Set(settled)].join(',')} after settling`);
      const at = moves(widths, 1).filter((i) => i >= 1000);
      assert.ok(at.length > 0, `writer ${writer}: it probes`);
      for (let k = 1; k < at.length; k++) {
        assert.ok(at[k]! - at[k - 1]! >= 24, `writer ${writer}, max ${max}: moves at ${at[k - 1]} and ${at[k]}`);
      }
    }
  });

  test('bounds on speed hold for any series: one move per step by one thread, wider only at high water with an idle core and after settling, narrower only calm', () => {
    const rand = seededRandom(2024);
    const seen = { widen: 0, narrow: 0 };
    for (let round = 0; round < 50; round++) {
      const max = 1 + Math.floor(rand() * 16);
      const policy = widthPolicy(max);
      // A random walk with jumps, clamped to [0, 1.2]; idle cores from none to all; the level
      // below its ceiling now and then.
      let b = rand();
      let state = initialWidthState(policy);
      let lastWiden = -Infinity;
      let lastMove = -Infinity;
      for (let i = 0; i < 2000; i++) {
        b = Math.min(1.2, Math.max(0, b + (rand() < 0.05 ? rand() - 0.5 : (rand() - 0.5) * 0.05)));
        const idleCores = rand() * (max + 1);
        const levelAtCeiling = rand() < 0.9;
        const next = stepWidth(state, { backlog: b, running: (rand() * max) / 128, idleCores, levelAtCeiling }, policy);
        assert.ok(next.width >= 1 && next.width <= max, `width ${next.width} out of range`);
        assert.ok(Math.abs(next.width - state.width) <= 1, 'one thread at a time');
        if (next.width > state.width) {
          assert.ok(b >= policy.highWater, 'wider only at or above high water');
          assert.ok(idleCores >= policy.minIdleCores, 'wider only with an idle core');
          assert.ok(i - lastWiden > 2 * (state.width + 1), `wider at ${i}, ${i - lastWiden} steps after a widen to ${state.width}`);
          lastWiden = i;
          seen.widen++;
        }
        if (next.width < state.width) {
          assert.ok(b <= policy.lowWater && levelAtCeiling, 'narrower only when calm, the level at its ceiling');
          assert.ok(i - lastMove >= policy.narrowAfter, `narrower at ${i}, ${i - lastMove} steps after the previous move`);
          seen.narrow++;
        }
        if (next.width !== state.width) lastMove = i;
        state = next;
      }
    }
    assert.ok(seen.widen > 0 && seen.narrow > 0, `the series moved the width both ways: ${JSON.stringify(seen)}`);
  });

  test('each failed probe doubles the calm steps the next narrow waits for, up to maxNarrowAfter', () => {
    const policy = widthPolicy(2);
    let state = stepWidth(initialWidthState(policy), { backlog: 1, running: 0, idleCores: 2, levelAtCeiling: true }, policy); // overload: 2 threads
    assert.equal(state.width, 2);
    const waits: number[] = [];
    for (let probe = 0; probe < 7; probe++) {
      let calm = 0;
      while (state.width === 2) {
        state = stepWidth(state, { backlog: 0, running: 0, idleCores: 2, levelAtCeiling: true }, policy);
        calm++;
      }
      waits.push(calm);
      state = stepWidth(state, { backlog: 1, running: 0, idleCores: 2, levelAtCeiling: true }, policy); // the probe fails at once
      assert.equal(state.width, 2, 'a failed probe widens back');
    }
    assert.deepEqual(waits, [8, 16, 32, 64, 128, 128, 128]);
  });
});
