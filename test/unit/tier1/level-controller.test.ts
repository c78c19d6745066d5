/**
 * The zstd level controller (src/tier1/level-controller.ts), a pure function: fed backlog series
 * directly (open loop) and through a simulated compressor whose speed depends on the level
 * (closed loop: each step is one task of one segment; while it runs the writer adds segments, up
 * to the budget, where it would wait). Stated bounds, checked below:
 * - slow compressor (every level slower than the writer): the floor within ceil(log2(maxLevel))
 *   steps of the backlog reaching high water, then no move at all;
 * - fast compressor (the configured level keeps up): no move at all;
 * - after an overload: back to the configured level within (maxLevel - 1) x upAfter calm steps,
 *   never going down on the way;
 * - in between (level n too slow, n - 1 fast enough): only n - 1 and n once settled, moves at
 *   least 50 tasks (200 MiB of 4 MiB segments) apart;
 * - for any series: at most one move per step, down at most to half the level, up one level per
 *   upAfter calm steps at most.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initialLevelState, levelPolicy, stepLevel, type LevelPolicy, type LevelState } from '../../../src/tier1/level-controller.js';
import { seededRandom } from '../../../src/seeded-random.js';

/** Levels after each step of `series`. */
function run(series: readonly number[], policy: LevelPolicy, start: LevelState = initialLevelState(policy)): number[] {
  const levels: number[] = [];
  let state = start;
  for (const backlog of series) {
    state = stepLevel(state, backlog, policy);
    levels.push(state.level);
  }
  return levels;
}

/** Indexes (into `levels`) where the level changed, the initial level counting as before index 0. */
function moves(levels: readonly number[], initial: number): number[] {
  const at: number[] = [];
  levels.forEach((level, i) => {
    if (level !== (i === 0 ? initial : levels[i - 1])) at.push(i);
  });
  return at;
}

/**
 * zstd compression speed by level (MB/s on one core, index = level), shaped like zstd's own table
 * on JSON-like logs and scaled to a loaded 2-core machine. Only the shape matters here.
 */
const SPEED = [0, 400, 320, 260, 230, 150, 120, 100, 85, 75, 60, 50, 40, 30, 20, 15, 10, 7, 5, 3];
const SEGMENT_MB = 4;
/** The default budget in default segments: 512 MiB / 4 MiB. */
const BUDGET_SEGMENTS = 128;

/**
 * Closed loop: a writer at `writerMBs` against one compression thread. Returns the level and the
 * backlog (segments, this task included) at each task start; the controller sees what waits
 * behind the task, as in Tier 1.
 */
function simulate(writerMBs: number, maxLevel: number, steps: number): { levels: number[]; backlog: number[] } {
  const policy = levelPolicy(maxLevel);
  let state = initialLevelState(policy);
  let backlog = 1;
  const levels: number[] = [];
  const seen: number[] = [];
  for (let i = 0; i < steps; i++) {
    state = stepLevel(state, (backlog - 1) / BUDGET_SEGMENTS, policy);
    levels.push(state.level);
    seen.push(backlog);
    const taskSeconds = SEGMENT_MB / SPEED[state.level]!;
    // The writer waits at the budget; an idle compressor starts again with the next segment.
    backlog = Math.max(1, Math.min(BUDGET_SEGMENTS, backlog + (writerMBs * taskSeconds) / SEGMENT_MB) - 1);
  }
  return { levels, backlog: seen };
}

describe('level controller', () => {
  test('the production policy: halve at a quarter of the budget, calm under a sixteenth, probe after 4 calm tasks (at most 64)', () => {
    assert.deepEqual(levelPolicy(3), { maxLevel: 3, minLevel: 1, highWater: 0.25, lowWater: 1 / 16, upAfter: 4, maxUpAfter: 64 });
    assert.equal(initialLevelState(levelPolicy(7)).level, 7, 'starts at the configured level');
  });

  test('slow compressor: a backlog held at the budget takes every configured level to 1 within ceil(log2(level)) steps, then no move', () => {
    for (let max = 1; max <= 19; max++) {
      const policy = levelPolicy(max);
      // The writer waits at the budget: the backlog sits just under it, step after step.
      const levels = run(new Array<number>(1000).fill(1 - 1 / BUDGET_SEGMENTS), policy);
      const bound = Math.ceil(Math.log2(max));
      assert.equal(levels[Math.max(0, bound - 1)], 1, `level ${max}: at 1 after ${bound} steps (${levels.slice(0, 6).join(' ')})`);
      assert.ok(moves(levels, max).every((i) => i < bound), `level ${max}: no move after settling`);
    }
    // Closed loop: a writer faster than zstd at any level.
    const { levels, backlog } = simulate(600, 19, 5000);
    const high = backlog.findIndex((b) => (b - 1) / BUDGET_SEGMENTS >= levelPolicy(19).highWater);
    const at = moves(levels, 19);
    assert.ok(at.length > 0 && at.at(-1)! <= high + Math.ceil(Math.log2(19)) - 1, `moves at ${at.join(',')}, high water at ${high}`);
    assert.equal(levels.at(-1), 1);
  });

  test('fast compressor: a backlog under low water never moves the configured level', () => {
    const rand = seededRandom(11);
    for (const max of [1, 3, 9, 19]) {
      const policy = levelPolicy(max);
      const series = Array.from({ length: 10_000 }, () => rand() * policy.lowWater);
      assert.deepEqual(moves(run(series, policy), max), [], `level ${max}`);
    }
    const { levels } = simulate(100, 3, 10_000); // level 3 compresses at 260 MB/s, the writer writes 100
    assert.deepEqual(moves(levels, 3), []);
  });

  test('after an overload: back to the configured level within (level - 1) x upAfter calm steps, never down on the way', () => {
    for (const max of [3, 9, 19]) {
      const policy = levelPolicy(max);
      const overload = 20;
      const levels = run([...new Array<number>(overload).fill(1), ...new Array<number>(500).fill(0.01)], policy);
      assert.equal(levels[overload - 1], 1, `level ${max}: at the floor during the overload`);
      const recovered = levels.indexOf(max, overload);
      assert.ok(recovered >= 0 && recovered - overload + 1 <= (max - 1) * policy.upAfter, `level ${max}: back after ${recovered - overload + 1} calm steps`);
      for (let i = overload; i < levels.length; i++) assert.ok(levels[i]! >= levels[i - 1]!, `level ${max}: down at step ${i} while calm`);
    }
  });

  test('hysteresis: a backlog hovering inside the band never moves the level; one jumping across it every step only ever goes down', () => {
    const policy = levelPolicy(9);
    const rand = seededRandom(5);
    const hovering = Array.from({ length: 10_000 }, () => policy.lowWater + 1e-9 + rand() * (policy.highWater - policy.lowWater - 2e-9));
    assert.deepEqual(moves(run(hovering, policy), 9), []);
    // High, calm, high, calm...: calm never lasts upAfter steps, so there is no up-move to undo.
    const jumping = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 0.9 : 0));
    const levels = run(jumping, policy);
    for (let i = 1; i < levels.length; i++) assert.ok(levels[i]! <= levels[i - 1]!, `up at step ${i}`);
    assert.equal(levels.at(-1), 1);
  });

  test('a level that drains the backlog is kept while the backlog is still above high water (no overshoot)', () => {
    const policy = levelPolicy(19);
    // Overload, the first halving, then a backlog that shrinks while still above high water.
    const levels = run([0.9, 0.89, 0.88, 0.8, 0.6, 0.4, 0.26], policy);
    assert.deepEqual(levels, [9, 9, 9, 9, 9, 9, 9]);
  });

  test('in between (level n too slow, n - 1 fast enough): settles on n - 1 and n, opposite moves at least 50 tasks apart', () => {
    // Writer rates between two adjacent levels of SPEED; the pair the level must settle on.
    const cases: [number, number, [number, number]][] = [
      [300, 3, [2, 3]],
      [250, 9, [3, 4]],
      [390, 19, [1, 2]],
      [180, 5, [4, 5]],
    ];
    for (const [writer, max, pair] of cases) {
      const { levels } = simulate(writer, max, 20_000);
      const settled = levels.slice(1000);
      assert.ok(settled.every((l) => pair.includes(l)), `writer ${writer}, level ${max}: levels ${[...new Set(settled)].join(',')} after settling`);
      const at = moves(levels, max).filter((i) => i >= 1000);
      for (let k = 1; k < at.length; k++) {
        assert.ok(at[k]! - at[k - 1]! >= 50, `writer ${writer}, level ${max}: moves at ${at[k - 1]} and ${at[k]}`);
      }
    }
  });

  test('bounds on speed hold for any backlog series: one move per step, down at most to half, up one level per upAfter calm steps', () => {
    const rand = seededRandom(2024);
    for (let round = 0; round < 50; round++) {
      const max = 1 + Math.floor(rand() * 19);
      const policy = levelPolicy(max);
      // A random walk with jumps, clamped to [0, 1.2] (above 1: a recovery over budget).
      let b = rand();
      const series = Array.from({ length: 2000 }, () => {
        b = Math.min(1.2, Math.max(0, b + (rand() < 0.05 ? rand() - 0.5 : (rand() - 0.5) * 0.05)));
        return b;
      });
      let state = initialLevelState(policy);
      let lastMove = -Infinity;
      series.forEach((backlog, i) => {
        const next = stepLevel(state, backlog, policy);
        assert.ok(next.level >= policy.minLevel && next.level <= policy.maxLevel, `level ${next.level} out of range`);
        if (next.level > state.level) {
          assert.equal(next.level, state.level + 1, 'up one level at a time');
          assert.ok(backlog <= policy.lowWater, 'up only when calm');
          assert.ok(i - lastMove >= policy.upAfter, `up at ${i}, ${i - lastMove} steps after the previous move`);
        }
        if (next.level < state.level) {
          assert.ok(next.level >= Math.max(policy.minLevel, Math.floor(state.level / 2)), `down from ${state.level} to ${next.level}`);
          assert.ok(backlog >= policy.highWater, 'down only above high water');
        }
        if (next.level !== state.level) lastMove = i;
        state = next;
      });
    }
  });

  test('each failed probe doubles the calm steps the next one waits for, up to maxUpAfter', () => {
    const policy = levelPolicy(2);
    let state = stepLevel(initialLevelState(policy), 1, policy); // overload: down to 1
    assert.equal(state.level, 1);
    const waits: number[] = [];
    for (let probe = 0; probe < 6; probe++) {
      let calm = 0;
      while (state.level === 1) {
        state = stepLevel(state, 0, policy);
        calm++;
      }
      waits.push(calm);
      state = stepLevel(state, 1, policy); // the probe fails at once
      assert.equal(state.level, 1, 'a failed probe goes back one level');
    }
    assert.deepEqual(waits, [4, 8, 16, 32, 64, 64]);
  });
});
