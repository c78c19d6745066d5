/**
 * The compression pool's width (how many compressions may run at once, one piscina thread each),
 * from the raw backlog and the machine's idle cores: a pure state machine (no clock, no I/O),
 * stepped once per compression task by Tier 1, beside the level controller
 * (src/tier1/compression-controller.ts steps both), with the same backlog figure: the raw backlog
 * waiting for a thread (the segments being compressed, that task's own included, left out) over
 * the budget. The idle cores are measured by the caller (src/tier1/idle-cores.ts) and passed in,
 * so tests inject them.
 *
 * Why: a compressor slower than the writers fills the raw backlog budget until the writers wait.
 * When a core is idle, a second compression costs nobody anything and compresses as well as the
 * first; a lower zstd level costs compression ratio for good. So the width widens first, and only
 * when it cannot (no idle core, or at its maximum) does the level go down. On the way back the
 * level returns to its ceiling first, then the width narrows: a lowered level says the compressor
 * is not comfortably fast at this width, so a thread is not given back yet.
 *
 * Rules (backlog as a fraction of the budget, the level controller's waters):
 * - at or above `highWater`, with at least `minIdleCores` idle cores, below `maxWidth`, the last
 *   widen settled, and the backlog not smaller than its mark (a widen that is draining the backlog
 *   is left to work): one thread wider. A widen to w settles for 2 x (w + 1) steps: steps come
 *   once per task start, w per task time while the pool is busy, so after w + 1 the new thread's
 *   first task has ended, and as many again let the backlog move by more than the one segment a
 *   step's reading jitters by. The mark is the whole raw backlog (waiting and running) as the
 *   widen's settling ends (taken again at every settling step: tasks started before the widen
 *   still grow the backlog meanwhile; not their largest, which a backlog jittering at the budget
 *   would never reach again); it lasts until the backlog is calm, so a backlog that dips under
 *   high water and comes back is not taken as drained. (The waters are about the backlog waiting for a thread, so a
 *   wide pool that keeps up is calm; the mark about the whole, since a widen only moves a segment
 *   from waiting to running.)
 *   (The caller also restarts its idle-core measurement after a widen, so one idle core is not
 *   spent twice on a stale reading.)
 * - at or above `highWater` otherwise: hold;
 * - between the waters: hold (the hysteresis band);
 * - at or below `lowWater` with the level at its ceiling, for `narrowAfter` steps in a row, and no
 *   larger than at the first of them: one thread narrower (a probe: is one fewer enough?), never
 *   below 1. With the level below its ceiling a step is not calm for the width.
 *
 * Bounds on speed: at most one move per step, by one thread. A widen to w waits 2 x (w + 1) steps
 * for the next (about two task times), so a sustained overload with idle cores goes from 1 to
 * `maxWidth` within (maxWidth + 4) x (maxWidth - 2) steps after the first step at high water (0
 * for 2 cores: the first step widens). A narrow needs `narrowAfter` calm steps (at least
 * `policy.narrowAfter`), so back from `maxWidth` to 1 within (maxWidth - 1) x narrowAfter calm
 * steps. Never past `maxWidth` (os.availableParallelism() in production), never below 1, never
 * wider on a reading of fewer than `minIdleCores` idle cores.
 *
 * No flapping: a widen needs the backlog at or above high water and a narrow needs `narrowAfter`
 * calm steps at or below low water, so opposite moves are separated by the backlog crossing the
 * whole band ((1/4 - 1/16) x the budget: 24 segments of a 128-segment budget) and by at least
 * `narrowAfter` steps. When w + 1 threads keep up with the writers, w threads grow the backlog by
 * less than a segment per step (and w + 1 drain it by less than one), so opposite moves are at
 * least 24 steps apart with the default budget. When no width matches the writers (w too slow,
 * w + 1 fast enough) the width dithers between w and w + 1, slowly: a widen right after a narrow
 * is a failed probe and doubles the calm steps the next narrow waits for (up to
 * `maxNarrowAfter`); the wait returns to `narrowAfter` once a width of 1 has held for
 * `maxNarrowAfter` calm steps without the backlog growing.
 * test/unit/tier1/width-controller.test.ts feeds it slow, fast and in-between compressors and
 * checks these bounds; test/unit/tier1/compression-controller.test.ts checks the order of the two
 * loops.
 */
import { BACKLOG_HIGH_WATER, BACKLOG_LOW_WATER } from './level-controller.js';

/** The controller's parameters (constants in production but `maxWidth`: {@link widthPolicy}). */
export interface WidthPolicy {
  /** The widest the pool gets: the machine's cores (os.availableParallelism()), at least 1. */
  readonly maxWidth: number;
  /** Backlog fraction at or above which the width may grow. */
  readonly highWater: number;
  /** Backlog fraction at or below which a step counts as calm. */
  readonly lowWater: number;
  /** Idle cores (a core's worth of idle time, summed over the machine) a widen needs. */
  readonly minIdleCores: number;
  /** Calm steps in a row before one thread narrower (the wait of a first probe). */
  readonly narrowAfter: number;
  /** Ceiling of that wait, which doubles after every failed probe. */
  readonly maxNarrowAfter: number;
}

/** What the controller observes at a step. */
export interface WidthSample {
  /**
   * Raw backlog waiting for a thread over the budget (above 1 after a recovery queued more than
   * the budget): the figure the waters are about.
   */
  readonly backlog: number;
  /**
   * Raw bytes being compressed (this task's included) over the budget. With `backlog`, the whole
   * raw backlog: the figure a widen's mark is about, since a widen moves a segment from waiting to
   * running without draining anything (at the budget, the waiting figure alone would drop at every
   * widen and look drained for good).
   */
  readonly running: number;
  /** Idle cores now, as the caller measured them (0 to the machine's cores). */
  readonly idleCores: number;
  /** The level controller's level is its ceiling (the configured level): only then may the width narrow. */
  readonly levelAtCeiling: boolean;
}

/** Where the controller is: the width the pool may use now, and what the next move waits for. */
export interface WidthState {
  readonly width: number;
  /** Calm steps in a row (backlog at or below low water, level at its ceiling) since the last move or busy step. */
  readonly calm: number;
  /** Backlog fraction at the first of those calm steps: a narrow needs the backlog no larger. */
  readonly calmFrom: number;
  /** Calm steps the next narrow needs: `narrowAfter`, doubled by each failed probe up to `maxNarrowAfter`. */
  readonly narrowAfter: number;
  /** Steps since the last widen (Infinity before the first). */
  readonly sinceWiden: number;
  /**
   * The mark: the whole raw backlog (waiting + running) as the last widen's settling ended, until
   * the backlog is calm; else 0.
   */
  readonly widenAt: number;
  /** The last move: a narrow followed by a widen is a failed probe. */
  readonly lastMove: 'widen' | 'narrow' | 'none';
}

/** A widen needs a whole core's worth of idle time: less is noise, or the writers' own slack. */
const MIN_IDLE_CORES = 1;
/**
 * Calm tasks before a narrow: 8, twice the level controller's first probe wait, so the level's
 * probes back to its ceiling (4 calm tasks each) are settled before a thread goes. A thread that
 * waits costs no CPU (piscina ends it after 30 s idle), so there is no hurry. The ceiling after
 * failed probes, 128 tasks (the default budget's worth of 4 MiB segments), keeps a width that keeps
 * failing from being probed more than about once per budget.
 */
const NARROW_AFTER = 8;
const MAX_NARROW_AFTER = 128;

/**
 * Steps a widen to `width` settles for: width + 1 for the new thread's first task to end (steps
 * come once per task start, `width` per task time while the pool is busy), as many again for the
 * backlog to move by more than the one segment a step's reading jitters by.
 */
function settleSteps(width: number): number {
  return 2 * (width + 1);
}

/**
 * The production policy for a machine with `maxWidth` usable cores.
 * @throws RangeError if maxWidth is not a positive integer (a programming error: callers pass
 *   Math.max(1, os.availableParallelism()))
 */
export function widthPolicy(maxWidth: number): WidthPolicy {
  if (!Number.isInteger(maxWidth) || maxWidth < 1) throw new RangeError(`maxWidth must be a positive integer, got ${maxWidth}`);
  return {
    maxWidth,
    highWater: BACKLOG_HIGH_WATER,
    lowWater: BACKLOG_LOW_WATER,
    minIdleCores: MIN_IDLE_CORES,
    narrowAfter: NARROW_AFTER,
    maxNarrowAfter: MAX_NARROW_AFTER,
  };
}

/** The controller before any task: one thread. */
export function initialWidthState(policy: WidthPolicy): WidthState {
  return { width: 1, calm: 0, calmFrom: 0, narrowAfter: policy.narrowAfter, sinceWiden: Number.POSITIVE_INFINITY, widenAt: 0, lastMove: 'none' };
}

/** One step: the state after observing `sample`. The new state's `width` is how many compressions may run now. */
export function stepWidth(state: WidthState, { backlog, running, idleCores, levelAtCeiling }: WidthSample, policy: WidthPolicy): WidthState {
  const sinceWiden = state.sinceWiden + 1;
  if (backlog >= policy.highWater) {
    const whole = backlog + running;
    // Settling: the last widen has not shown in the backlog yet, which tasks started before it
    // still grow: the backlog as the settling ends is the mark a working widen drains below.
    if (sinceWiden <= settleSteps(state.width)) return { ...state, calm: 0, sinceWiden, widenAt: whole };
    // Under the mark: the threads in use drain the backlog; let them.
    if (whole < state.widenAt || state.width >= policy.maxWidth || idleCores < policy.minIdleCores) return { ...state, calm: 0, sinceWiden };
    const failedProbe = state.lastMove === 'narrow';
    const narrowAfter = failedProbe ? Math.min(policy.maxNarrowAfter, state.narrowAfter * 2) : state.narrowAfter;
    return { width: state.width + 1, calm: 0, calmFrom: 0, narrowAfter, sinceWiden: 0, widenAt: whole, lastMove: 'widen' };
  }
  // Between the waters the mark stays: a backlog that dips under high water and comes back has
  // not been drained by the last widen.
  if (backlog > policy.lowWater) return { ...state, calm: 0, sinceWiden };
  if (!levelAtCeiling) return { ...state, calm: 0, sinceWiden, widenAt: 0 };
  const calm = state.calm + 1;
  const calmFrom = state.calm === 0 ? backlog : state.calmFrom;
  if (state.width > 1) {
    if (calm < state.narrowAfter || backlog > calmFrom) return { ...state, calm, calmFrom, sinceWiden, widenAt: 0 };
    return { width: state.width - 1, calm: 0, calmFrom: 0, narrowAfter: state.narrowAfter, sinceWiden, widenAt: 0, lastMove: 'narrow' };
  }
  // One thread: once it has held long enough without the backlog growing, earlier failed probes
  // are forgotten.
  if (calm >= policy.maxNarrowAfter && backlog <= calmFrom) {
    return { width: 1, calm: 0, calmFrom: 0, narrowAfter: policy.narrowAfter, sinceWiden, widenAt: 0, lastMove: 'none' };
  }
  return { ...state, calm, calmFrom, sinceWiden, widenAt: 0 };
}

/**
 * True when the level must hold at this step because the width is dealing with the backlog: at or
 * above high water, and `state` (the width after the step) has just widened, is settling after a
 * widen, or is draining the backlog below the widen's mark. Widening comes before a lower level.
 */
export function widthHoldsLevel(state: WidthState, { backlog, running }: Pick<WidthSample, 'backlog' | 'running'>, policy: WidthPolicy): boolean {
  return backlog >= policy.highWater && (state.sinceWiden <= settleSteps(state.width) || backlog + running < state.widenAt);
}
