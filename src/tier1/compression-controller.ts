/**
 * The two loops that keep compression up with the writers, stepped together once per compression
 * task: the pool's width (src/tier1/width-controller.ts) and the zstd level
 * (src/tier1/level-controller.ts). Pure (no clock, no I/O): Tier 1 passes the backlog figure and
 * the idle cores it measured.
 *
 * The order between them, and why:
 * - Widen before lowering the level. An idle core compresses a second segment at full ratio; a
 *   lower level loses ratio on every segment it compresses. So while the width widens, or a widen
 *   is still settling (its new thread's first task has not ended) or draining the backlog, the
 *   level holds (`holdLevel`). Only when the width cannot help (no idle core, or the pool at its
 *   maximum) and the backlog still grows does the level go down, by its own rules. A widen clears
 *   the level's mark (the backlog at its last down-move): the figure both loops read is the
 *   backlog waiting for a thread, which a widen lowers by a segment without draining anything, so
 *   an older mark would read as drained for good.
 * - A lower level settles for 2 x (width - 1) steps. With w compressions at once, the w - 1 tasks
 *   that started before a down-move still run at the old level, and the backlog the next steps see
 *   is what it was (the level controller's "not smaller than at the last down-move" then reads as
 *   "not draining" and halves again: against simulated compressors, level 5 fell to 2 on the step
 *   after a failed probe). So above high water the level holds until those tasks have ended, and
 *   as many steps again for the backlog to move past a step's jitter of one segment; the level's
 *   mark is taken again at every settling step, as a widen's is. With one thread nothing changes.
 * - Restore the level before narrowing. The width counts a step as calm only with the level at its
 *   ceiling, so it narrows `narrowAfter` calm steps after the level is back, never while the level
 *   is still probing upwards (a failed probe would otherwise not say which loop caused it).
 *
 * With no idle core at all the width stays 1 and the level moves exactly as it did alone.
 * Bounds: each loop's own (stated in its file), except that a sustained overload takes the level
 * to 1 within ceil(log2(level)) x (2 x width - 1) steps after the width's own ramp (a step per
 * down-move, 2 x (width - 1) of settling). In addition the level never goes down at a step where
 * the width widened or a widen settles, and the width never narrows while the level is below its
 * ceiling. test/unit/tier1/compression-controller.test.ts checks these against simulated
 * compressors.
 */
import { holdLevel, initialLevelState, levelPolicy, stepLevel, type LevelPolicy, type LevelState } from './level-controller.js';
import { initialWidthState, stepWidth, widthHoldsLevel, widthPolicy, type WidthPolicy, type WidthState } from './width-controller.js';

/** Both loops' parameters. */
export interface CompressionPolicy {
  readonly level: LevelPolicy;
  readonly width: WidthPolicy;
}

/** Both loops' states: `level.level` is the level of the task, `width.width` how many tasks may run at once. */
export interface CompressionState {
  readonly level: LevelState;
  readonly width: WidthState;
  /** Steps since the level last went down (Infinity before): it settles for 2 x (width - 1) steps. */
  readonly sinceLevelDown: number;
}

/**
 * The production policy: the configured level (`tier1.compressionLevel`) and the widest pool.
 * @throws RangeError if maxWidth is not a positive integer
 */
export function compressionPolicy(configuredLevel: number, maxWidth: number): CompressionPolicy {
  return { level: levelPolicy(configuredLevel), width: widthPolicy(maxWidth) };
}

/** Before any task: the configured level, one thread. */
export function initialCompressionState(policy: CompressionPolicy): CompressionState {
  return { level: initialLevelState(policy.level), width: initialWidthState(policy.width), sinceLevelDown: Number.POSITIVE_INFINITY };
}

/** What Tier 1 observes for a task about to start. */
export interface CompressionSample {
  /** Raw backlog waiting for a thread over the budget (the running segments and this task's left out). */
  readonly backlog: number;
  /** Raw bytes being compressed, this task's included, over the budget. */
  readonly running: number;
  /** The machine's idle cores, as measured now. */
  readonly idleCores: number;
}

/** One step of both loops for a task about to start. */
export function stepCompression(state: CompressionState, sample: CompressionSample, policy: CompressionPolicy): CompressionState {
  const { backlog } = sample;
  const width = stepWidth(state.width, { ...sample, levelAtCeiling: state.level.level === policy.level.maxLevel }, policy.width);
  const sinceLevelDown = state.sinceLevelDown + 1;
  let level: LevelState;
  if (width.width > state.width.width) {
    // A new width: the backlog the level's mark was taken at no longer compares (a widen moves
    // a segment from waiting to running).
    level = holdLevel(state.level, 0);
  } else if (backlog >= policy.level.highWater && sinceLevelDown <= 2 * (width.width - 1)) {
    // The level's last down-move settles; the tasks it did not reach still grow the backlog.
    level = holdLevel(state.level, backlog);
  } else if (widthHoldsLevel(width, sample, policy.width)) {
    level = holdLevel(state.level, state.level.downAt);
  } else {
    level = stepLevel(state.level, backlog, policy.level);
  }
  return { level, width, sinceLevelDown: level.level < state.level.level ? 0 : sinceLevelDown };
}
