/**
 * The zstd level of each compression task, from the raw backlog: a pure state machine (no clock,
 * no I/O), stepped once per task by Tier 1 (through src/tier1/compression-controller.ts, which
 * orders it with the pool's width) with the raw backlog waiting for a thread (the segments being
 * compressed, that task's own included, left out) over the budget.
 *
 * Why: a level costs CPU per byte (on this project's machines zstd 1 compresses JSON log lines
 * 1.5-3x faster than 3 for about 1 % less ratio, and 19 is a hundred times slower than 3), and a
 * compressor slower than the writers fills the raw backlog budget until the writers wait.
 * Lowering the level trades compression ratio for compressor speed exactly while that matters,
 * and only then.
 *
 * Rules (backlog as a fraction of the budget):
 * - at or above `highWater`, and not smaller than at the last down-move (the level in use is not
 *   draining it): down. Normally the level halves (never below `minLevel`): from 19,
 *   19 → 9 → 4 → 2 → 1, so a sustained overload reaches the floor within ceil(log2(maxLevel))
 *   steps. Right after an up-move, the probe failed: one level back, to the level that held;
 * - at or above `highWater` but smaller than at the last down-move: hold (the level in use is
 *   catching up: lowering it more would overshoot);
 * - between the waters: hold (the hysteresis band: a backlog that hovers never moves the level);
 * - at or below `lowWater` for `upAfter` steps in a row, and no larger than at the first of them
 *   (a level that is slightly too slow grows the backlog slowly, still under low water): one
 *   level up (a probe), never past `maxLevel`.
 *
 * Bounds on speed: at most one move per step; down at most to half the level; up at most one
 * level per `upAfter` calm steps (at least `policy.upAfter`).
 *
 * No flapping: a down-move needs the backlog at or above high water and an up-move needs
 * `upAfter` calm steps at or below low water, so opposite moves are separated by the backlog
 * crossing the whole band ((1/4 - 1/16) x the budget of net growth or drain: 96 MiB for the
 * defaults) and by at least `upAfter` steps. When no level matches the writers (level n too slow,
 * n - 1 fast enough) the level dithers between n - 1 and n, slowly: each probe of n waits for the
 * backlog to drain back under low water, plus calm steps that double with every failed probe (up
 * to `maxUpAfter`); against simulated compressors the moves stay at least 95 tasks apart. The
 * wait returns to `upAfter` once the configured level has held for `maxUpAfter` calm steps
 * without the backlog growing.
 * test/unit/tier1/level-controller.test.ts feeds it slow, fast and in-between compressors and
 * checks these bounds.
 */

/** The controller's parameters (constants in production: {@link levelPolicy}). */
export interface LevelPolicy {
  /** The configured level (`tier1.compressionLevel`): the ceiling, and where the controller starts. */
  readonly maxLevel: number;
  /** The floor: zstd's fastest standard level, 1. */
  readonly minLevel: number;
  /** Backlog fraction at or above which the level goes down. */
  readonly highWater: number;
  /** Backlog fraction at or below which a step counts as calm. */
  readonly lowWater: number;
  /** Calm steps in a row before one level up (the wait of a first probe). */
  readonly upAfter: number;
  /** Ceiling of that wait, which doubles after every failed probe. */
  readonly maxUpAfter: number;
}

/** Where the controller is: the level the next task uses, and what the next move waits for. */
export interface LevelState {
  readonly level: number;
  /** Calm steps in a row (backlog at or below low water) since the last move or busy step. */
  readonly calm: number;
  /** Backlog fraction at the first of those calm steps: an up-move needs the backlog no larger. */
  readonly calmFrom: number;
  /** Calm steps the next up-move needs: `upAfter`, doubled by each failed probe up to `maxUpAfter`. */
  readonly upAfter: number;
  /** Backlog fraction at the last down-move while it stays at or above high water, else 0. */
  readonly downAt: number;
  /** The last move: an up-move followed by a down-move is a failed probe. */
  readonly lastMove: 'up' | 'down' | 'none';
}

/**
 * Backlog fractions. High water, a quarter of the budget: with the default budget of 4 arenas
 * that is one arena's worth of segments waiting, past which the compressor's input no longer
 * fits in the arena and comes back from files; three quarters are still left to absorb the lag
 * between a level change and the backlog. Low water, a sixteenth (8 default segments): the
 * compressor has caught up. The band between them is wide, so a backlog that hovers never moves
 * the level. The width controller (src/tier1/width-controller.ts) uses the same two waters: both
 * loops agree on when compression is behind and when it has caught up.
 */
export const BACKLOG_HIGH_WATER = 0.25;
export const BACKLOG_LOW_WATER = 1 / 16;
/**
 * Calm tasks before an up-move: 4 segments (16 MiB at the default size) of evidence that the
 * compressor keeps up. The ceiling after failed probes, 64 tasks (256 MiB of segments), keeps a
 * level that keeps failing from being probed more than about once per half the default budget.
 */
const UP_AFTER = 4;
const MAX_UP_AFTER = 64;

/** The production policy for a configured level. */
export function levelPolicy(configuredLevel: number): LevelPolicy {
  return { maxLevel: configuredLevel, minLevel: 1, highWater: BACKLOG_HIGH_WATER, lowWater: BACKLOG_LOW_WATER, upAfter: UP_AFTER, maxUpAfter: MAX_UP_AFTER };
}

/** The controller before any task: the configured level. */
export function initialLevelState(policy: LevelPolicy): LevelState {
  return { level: policy.maxLevel, calm: 0, calmFrom: 0, upAfter: policy.upAfter, downAt: 0, lastMove: 'none' };
}

/**
 * One step: the state after observing `backlog` (raw backlog / budget; it may exceed 1 after a
 * recovery queued more than the budget). The new state's `level` is the one to compress with.
 */
export function stepLevel(state: LevelState, backlog: number, policy: LevelPolicy): LevelState {
  if (backlog >= policy.highWater) {
    // Smaller than at the last down-move: the level in use drains the backlog; let it.
    if (backlog < state.downAt) return { ...state, calm: 0 };
    const failedProbe = state.lastMove === 'up';
    const level = Math.max(policy.minLevel, failedProbe ? state.level - 1 : Math.floor(state.level / 2));
    if (level === state.level) return { ...state, calm: 0, downAt: backlog };
    const upAfter = failedProbe ? Math.min(policy.maxUpAfter, state.upAfter * 2) : state.upAfter;
    return { level, calm: 0, calmFrom: 0, upAfter, downAt: backlog, lastMove: 'down' };
  }
  if (backlog > policy.lowWater) return { ...state, calm: 0, downAt: 0 };
  const calm = state.calm + 1;
  const calmFrom = state.calm === 0 ? backlog : state.calmFrom;
  if (state.level < policy.maxLevel) {
    if (calm < state.upAfter || backlog > calmFrom) return { ...state, calm, calmFrom, downAt: 0 };
    return { level: state.level + 1, calm: 0, calmFrom: 0, upAfter: state.upAfter, downAt: 0, lastMove: 'up' };
  }
  // At the configured level: once it has held long enough without the backlog growing, earlier
  // failed probes are forgotten.
  if (calm >= policy.maxUpAfter && backlog <= calmFrom) return { level: state.level, calm: 0, calmFrom: 0, upAfter: policy.upAfter, downAt: 0, lastMove: 'none' };
  return { ...state, calm, calmFrom, downAt: 0 };
}

/**
 * A step the level skips (src/tier1/compression-controller.ts decides which: a widen of the pool,
 * one still settling or draining the backlog, or a down-move of the level still settling while
 * several threads run), with the mark its next down-move is to compare against. The step was above
 * high water, so it interrupts calm steps as one the level saw would.
 */
export function holdLevel(state: LevelState, downAt: number): LevelState {
  return { ...state, calm: 0, downAt };
}
