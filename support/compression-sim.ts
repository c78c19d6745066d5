/**
 * A simulated compression pool for the unit tests of Tier 1's width and level controllers
 * (test/unit/tier1/width-controller.test.ts, compression-controller.test.ts): an event-driven
 * model of Tier 1's #pump, no clock, no threads.
 *
 * A writer produces segments at `writerMBs` and waits while the raw backlog (queued + running) is
 * at the budget. Up to `width` tasks run at once; a task of one segment takes
 * segmentMB / speedMBs(level) seconds on its thread. Each task start is one controller step, with
 * the sealed segments waiting for a thread (the running ones and the task's own excluded) over the
 * budget, as Tier 1 computes it,
 * and the idle cores the machine has: the cores neither the writer (`writerCores`) nor the pool
 * keeps busy. A pool with a backlog is busy at its full width, which is when the width matters;
 * the reading is the steady one over a window, not the instant between two tasks.
 */

export interface SimulatedMachine {
  /** The writer's rate while it does not wait, MB/s. */
  readonly writerMBs: number;
  /** One thread's compression speed at a zstd level, MB/s. */
  readonly speedMBs: (level: number) => number;
  /** Cores of the machine, and how many the writer and the rest of the process keep busy. */
  readonly cores: number;
  readonly writerCores: number;
  /** The raw backlog budget, in segments. */
  readonly budgetSegments: number;
  readonly segmentMB: number;
}

/** What the controller under test decides at a step. */
export interface SimDecision {
  readonly width: number;
  readonly level: number;
}

/** Per step (task start): the controller's decision, and what it was shown. */
export interface SimTrace {
  widths: number[];
  levels: number[];
  /** Backlog fraction the step saw. */
  backlog: number[];
  idleCores: number[];
}

/** What a step observes, as Tier 1 computes it (fractions of the budget). */
export interface SimSample {
  /** Sealed segments waiting for a thread, the task's own excluded. */
  readonly backlog: number;
  /** Segments being compressed, the task's own included. */
  readonly running: number;
  readonly idleCores: number;
}

/**
 * Runs `steps` task starts against `step`, the controller under test (called once per task start;
 * it keeps its own state).
 */
export function simulatePool(machine: SimulatedMachine, steps: number, step: (sample: SimSample) => SimDecision): SimTrace {
  const { writerMBs, speedMBs, cores, writerCores, budgetSegments, segmentMB } = machine;
  const trace: SimTrace = { widths: [], levels: [], backlog: [], idleCores: [] };
  let t = 0;
  /** Segments sealed and waiting to start (fractional: the writer is part way through the next). */
  let queued = 1;
  /** End times of the running tasks. */
  let ends: number[] = [];
  let width = 1;
  while (trace.widths.length < steps) {
    while (ends.length < width && queued >= 1 - 1e-9 && trace.widths.length < steps) {
      // Sealed segments waiting for a thread, this task's own excluded (the fraction is the
      // writer's unsealed segment).
      const backlog = (Math.floor(queued + 1e-9) - 1) / budgetSegments;
      const idleCores = Math.max(0, cores - writerCores - width);
      const decision = step({ backlog, running: (ends.length + 1) / budgetSegments, idleCores });
      width = decision.width;
      trace.widths.push(decision.width);
      trace.levels.push(decision.level);
      trace.backlog.push(backlog);
      trace.idleCores.push(idleCores);
      queued -= 1;
      ends.push(t + segmentMB / speedMBs(decision.level));
    }
    // The next event: a task ends, or (with a thread free) the writer completes a segment.
    const nextEnd = ends.length > 0 ? Math.min(...ends) : Number.POSITIVE_INFINITY;
    const nextSegment = ends.length < width && queued < 1 - 1e-9 ? t + ((1 - queued) * segmentMB) / writerMBs : Number.POSITIVE_INFINITY;
    const next = Math.min(nextEnd, nextSegment);
    queued = Math.min(budgetSegments - ends.length, queued + (writerMBs * (next - t)) / segmentMB);
    t = next;
    ends = ends.filter((end) => end > t);
  }
  return trace;
}

/** Indexes (into `values`) where the value changed, `initial` counting as the value before index 0. */
export function moves(values: readonly number[], initial: number): number[] {
  const at: number[] = [];
  values.forEach((value, i) => {
    if (value !== (i === 0 ? initial : values[i - 1])) at.push(i);
  });
  return at;
}
