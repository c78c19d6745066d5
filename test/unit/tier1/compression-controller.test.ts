/**
 * The two loops together (src/tier1/compression-controller.ts): the pool's width and the zstd
 * level, against simulated pools (support/compression-sim.ts) whose threads compress at the level's
 * speed, and against backlog series. Stated bounds, checked below:
 * - no idle core: one thread, and the level moves exactly as the level controller alone would;
 * - slow compressor with idle cores: the width reaches its maximum before the level leaves its
 *   ceiling; the level then reaches 1 within (max + 4) x (max - 2) + 2 x (max + 1) +
 *   ceil(log2(level)) x (2 x max - 1) steps of high water (the width's ramp, its last settling,
 *   then a down-move per 2 x max - 1 steps);
 * - after an overload: the level back at its ceiling within (level - 1) x upAfter calm steps, and
 *   only then the width, back to 1 within (max - 1) x narrowAfter more;
 * - in between, where a wider pool keeps up at the configured level: the level never moves (no
 *   ratio lost), the width settles on a pair; where even the widest pool needs a lower level: the
 *   width at its maximum, the level on a pair, moves at least 50 tasks apart;
 * - for any series: the level never goes down at a step where the width widened or a widen
 *   settles, never twice within 2 x (width - 1) steps, and the width never narrows while the
 *   level is below its ceiling.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compressionPolicy, initialCompressionState, stepCompression, type CompressionState } from '../../../src/tier1/compression-controller.js';
import { initialLevelState, levelPolicy, stepLevel } from '../../../src/tier1/level-controller.js';
import { widthHoldsLevel, widthPolicy } from '../../../src/tier1/width-controller.js';
import { seededRandom } from '../../../src/seeded-random.js';
import { moves, simulatePool, type SimTrace } from '../../../support/compression-sim.js';

/** zstd speed by level (MB/s on one thread, index = level), as in level-controller.test.ts. */
const SPEED = [0, 400, 320, 260, 230, 150, 120, 100, 85, 75, 60, 50, 40, 30, 20, 15, 10, 7, 5, 3];
const BUDGET_SEGMENTS = 128;

/** Closed loop on a machine with a core for the writer and one per thread of the widest pool. */
function simulate(writerMBs: number, maxWidth: number, maxLevel: number, steps: number): SimTrace {
  const policy = compressionPolicy(maxLevel, maxWidth);
  let state = initialCompressionState(policy);
  return simulatePool(
    { writerMBs, speedMBs: (level) => SPEED[level]!, cores: maxWidth + 1, writerCores: 1, budgetSegments: BUDGET_SEGMENTS, segmentMB: 4 },
    steps,
    (sample) => {
      state = stepCompression(state, sample, policy);
      return { width: state.width.width, level: state.level.level };
    },
  );
}

/** A random walk of the backlog with jumps, clamped to [0, 1.2]. */
function walk(rand: () => number, n: number): number[] {
  let b = rand();
  return Array.from({ length: n }, () => {
    b = Math.min(1.2, Math.max(0, b + (rand() < 0.05 ? rand() - 0.5 : (rand() - 0.5) * 0.05)));
    return b;
  });
}

describe('compression controller (width and level)', () => {
  test('the production policy: the level policy of the configured level and the width policy of the machine; the configured level, one thread', () => {
    const policy = compressionPolicy(5, 4);
    assert.deepEqual(policy, { level: levelPolicy(5), width: widthPolicy(4) });
    const state = initialCompressionState(policy);
    assert.equal(state.level.level, 5);
    assert.equal(state.width.width, 1);
  });

  test('no idle core: one thread, and the level moves exactly as the level controller alone', () => {
    const rand = seededRandom(3);
    for (const maxLevel of [1, 3, 9, 19]) {
      const policy = compressionPolicy(maxLevel, 8);
      let both: CompressionState = initialCompressionState(policy);
      let alone = initialLevelState(policy.level);
      for (const backlog of walk(rand, 5000)) {
        both = stepCompression(both, { backlog, running: rand() * 0.01, idleCores: rand() * 0.999 }, policy);
        alone = stepLevel(alone, backlog, policy.level);
        assert.equal(both.width.width, 1);
        assert.deepEqual(both.level, alone);
      }
    }
  });

  test('slow compressor with idle cores: the width reaches its maximum before the level leaves its ceiling, then the level goes to 1 within the stated steps', () => {
    for (const [writer, max, level] of [
      [3000, 2, 19],
      [3000, 4, 3],
      [3000, 4, 19],
      [10_000, 8, 19],
    ] as const) {
      const { widths, levels, backlog } = simulate(writer, max, level, 3000);
      const high = backlog.findIndex((b) => b >= 0.25);
      const atMax = widths.indexOf(max);
      const firstDown = moves(levels, level)[0]!;
      assert.ok(atMax >= 0 && atMax < firstDown, `writer ${writer}, max ${max}: widest at step ${atMax}, the level first moved at ${firstDown}`);
      const bound = Math.max(0, (max + 4) * (max - 2)) + 2 * (max + 1) + Math.ceil(Math.log2(level)) * (2 * max - 1);
      const atFloor = levels.indexOf(1);
      assert.ok(atFloor >= 0 && atFloor <= high + bound, `writer ${writer}, max ${max}, level ${level}: level 1 at step ${atFloor}, high water at ${high}, bound ${bound}`);
      assert.deepEqual([widths.at(-1), levels.at(-1)], [max, 1]);
    }
  });

  test('after an overload: the level returns to its ceiling first, then the width narrows to 1', () => {
    for (const [max, level] of [
      [2, 3],
      [4, 9],
      [8, 19],
    ] as const) {
      const policy = compressionPolicy(level, max);
      let state = initialCompressionState(policy);
      const overload = 200;
      const widths: number[] = [];
      const levels: number[] = [];
      for (let i = 0; i < overload + 1000; i++) {
        const calm = i >= overload;
        state = stepCompression(state, { backlog: calm ? 0.01 : 1, running: calm ? 0 : max / BUDGET_SEGMENTS, idleCores: max }, policy);
        widths.push(state.width.width);
        levels.push(state.level.level);
      }
      assert.deepEqual([widths[overload - 1], levels[overload - 1]], [max, 1], `max ${max}, level ${level}: widest, level 1 during the overload`);
      const levelBack = levels.indexOf(level, overload);
      assert.ok(levelBack - overload + 1 <= (level - 1) * policy.level.upAfter, `level back after ${levelBack - overload + 1} calm steps`);
      const firstNarrow = moves(widths, max).find((i) => i >= overload)!;
      assert.ok(firstNarrow > levelBack, `max ${max}: narrowed at ${firstNarrow}, the level was back at ${levelBack}`);
      const one = widths.indexOf(1, overload);
      assert.ok(one >= 0 && one - levelBack <= (max - 1) * policy.width.narrowAfter, `max ${max}: one thread ${one - levelBack} steps after the level was back`);
    }
  });

  test('in between, a wider pool keeps up at the configured level: the level never moves, the width settles on a pair', () => {
    // Writer rate, widest pool, configured level, the widths to settle on (SPEED[level] per thread).
    const cases: [number, number, number, [number, number]][] = [
      [300, 2, 3, [1, 2]],
      [450, 2, 3, [1, 2]],
      [600, 4, 3, [2, 3]],
      [100, 4, 9, [1, 2]],
    ];
    for (const [writer, max, level, pair] of cases) {
      const { widths, levels } = simulate(writer, max, level, 20_000);
      assert.deepEqual(moves(levels, level), [], `writer ${writer}, max ${max}: the level stays ${level}`);
      const settled = widths.slice(1000);
      assert.ok(settled.every((w) => pair.includes(w)), `writer ${writer}, max ${max}: widths ${[...new Set(settled)].join(',')} after settling`);
    }
  });

  test('in between, the widest pool needs a lower level: the width at its maximum, the level on a pair, moves at least 50 tasks apart', () => {
    const cases: [number, number, number, [number, number]][] = [
      [250, 2, 9, [5, 6]],
      [500, 4, 9, [5, 6]],
      [700, 4, 9, [4, 5]],
    ];
    for (const [writer, max, level, pair] of cases) {
      const { widths, levels } = simulate(writer, max, level, 20_000);
      assert.ok(widths.slice(1000).every((w) => w === max), `writer ${writer}: the widest pool`);
      const settled = levels.slice(1000);
      assert.ok(settled.every((l) => pair.includes(l)), `writer ${writer}, max ${max}: levels ${[...new Set(settled)].join(',')} after settling`);
      const at = moves(levels, level).filter((i) => i >= 1000);
      for (let k = 1; k < at.length; k++) assert.ok(at[k]! - at[k - 1]! >= 50, `writer ${writer}: level moves at ${at[k - 1]} and ${at[k]}`);
    }
  });

  test('for any series: no lower level while the width widens or settles, no two down-moves within 2 x (width - 1) steps, no narrowing below the ceiling level', () => {
    const rand = seededRandom(99);
    const seen = { down: 0, widen: 0, narrow: 0 };
    for (let round = 0; round < 50; round++) {
      const max = 1 + Math.floor(rand() * 8);
      const level = 1 + Math.floor(rand() * 19);
      const policy = compressionPolicy(level, max);
      let state = initialCompressionState(policy);
      let lastDown = -Infinity;
      walk(rand, 2000).forEach((backlog, i) => {
        const sample = { backlog, running: (rand() * max) / BUDGET_SEGMENTS, idleCores: rand() * (max + 1) };
        const next = stepCompression(state, sample, policy);
        if (next.level.level < state.level.level) {
          assert.ok(next.width.width <= state.width.width, `step ${i}: the level went down as the width widened`);
          assert.ok(!widthHoldsLevel(next.width, sample, policy.width), `step ${i}: the level went down while a widen settled or drained`);
          assert.ok(i - lastDown > 2 * (next.width.width - 1), `step ${i}: down ${i - lastDown} steps after the last, at width ${next.width.width}`);
          lastDown = i;
          seen.down++;
        }
        if (next.width.width > state.width.width) seen.widen++;
        if (next.width.width < state.width.width) {
          assert.equal(state.level.level, level, `step ${i}: narrowed with the level at ${state.level.level}`);
          seen.narrow++;
        }
        state = next;
      });
    }
    assert.ok(seen.down > 0 && seen.widen > 0 && seen.narrow > 0, `the series moved both loops both ways: ${JSON.stringify(seen)}`);
  });
});
