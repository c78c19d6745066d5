/**
 * What every chaos scenario reports, and the small tools they share: a time budget, bounded awaits
 * that count hangs instead of waiting forever, and a tally of failures.
 *
 * A scenario passes when it ran, found no failure, lost nothing and hung nothing. Whether it
 * reached its minimum (rounds, injected faults, cases) is reported separately as `targetMet`, so a
 * run shortened with `--minutes` still tells the truth about what it covered.
 */

export type ScenarioStatus = 'passed' | 'failed' | 'skipped';

export interface ScenarioReport {
  name: string;
  status: ScenarioStatus;
  /** Why it was skipped, or the first failure. */
  reason: string | null;
  rounds: number;
  /** Faults injected: kills, worker crashes, store pauses and slow windows, ENOSPC hits, mutated cases. */
  injected: number;
  /** Records compared byte for byte against what was written. */
  verified: number;
  /** Acknowledged records that did not come back intact (must be 0). */
  lost: number;
  /** Operations that did not settle within their bound (must be 0). */
  hung: number;
  durationMs: number;
  /** The minimum this mode asks for (e.g. 100 rounds), and whether it was reached. */
  target: string;
  targetMet: boolean;
  /** Scenario-specific figures. */
  figures: Record<string, number | string>;
  /** Every failure seen (the first few), with enough context to reproduce. */
  failures: string[];
}

export interface ScenarioContext {
  quick: boolean;
  /** Epoch ms at which this scenario must stop starting new rounds. */
  deadline: number;
  /** Base seed; every random choice of the scenario derives from it. */
  seed: number;
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  description: string;
  /** Relative share of the total time budget in full mode. */
  share: number;
  run(ctx: ScenarioContext): Promise<ScenarioReport>;
}

/** Raised by {@link Tally.bounded} when an operation did not settle in time. */
export class HungError extends Error {
  constructor(what: string, ms: number) {
    super(`hung: ${what} did not settle within ${ms} ms`);
    this.name = 'HungError';
  }
}

const MAX_KEPT_FAILURES = 20;

/** Accumulates one scenario's figures while it runs; `report()` turns them into the verdict. */
export class Tally {
  rounds = 0;
  injected = 0;
  verified = 0;
  lost = 0;
  hung = 0;
  readonly figures: Record<string, number | string> = {};
  readonly failures: string[] = [];
  #failureCount = 0;
  readonly #started = Date.now();

  constructor(readonly name: string) {}

  fail(message: string): void {
    this.#failureCount++;
    if (this.failures.length < MAX_KEPT_FAILURES) this.failures.push(message);
  }

  get failureCount(): number {
    return this.#failureCount;
  }

  add(key: string, n: number): void {
    this.figures[key] = ((this.figures[key] as number | undefined) ?? 0) + n;
  }

  /**
   * Awaits `promise` for at most `ms`: past that it counts one hung operation and throws
   * {@link HungError} (the promise is left behind; the scenario treats the round as failed).
   */
  async bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.hung++;
        reject(new HungError(what, ms));
      }, ms);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  report(target: string, targetMet: boolean): ScenarioReport {
    const ok = this.#failureCount === 0 && this.lost === 0 && this.hung === 0;
    if (this.#failureCount > this.failures.length) this.failures.push(`... and ${this.#failureCount - this.failures.length} more failures`);
    return {
      name: this.name,
      status: ok ? 'passed' : 'failed',
      reason: ok ? null : (this.failures[0] ?? `lost ${this.lost}, hung ${this.hung}`),
      rounds: this.rounds,
      injected: this.injected,
      verified: this.verified,
      lost: this.lost,
      hung: this.hung,
      durationMs: Date.now() - this.#started,
      target,
      targetMet,
      figures: this.figures,
      failures: this.failures,
    };
  }
}

/** A report for a scenario that did no rounds: skipped here, or failed before its first round. */
function emptyReport(name: string, status: 'skipped' | 'failed', reason: string, target: string, failures: string[]): ScenarioReport {
  return {
    name,
    status,
    reason,
    rounds: 0,
    injected: 0,
    verified: 0,
    lost: 0,
    hung: 0,
    durationMs: 0,
    target,
    targetMet: false,
    figures: {},
    failures,
  };
}

/** A report for a scenario that could not run here (never counted as passed). */
export function skipped(name: string, reason: string, target: string): ScenarioReport {
  return emptyReport(name, 'skipped', reason, target, []);
}

/** A report for a scenario that threw instead of reporting. */
export function threw(name: string, err: unknown): ScenarioReport {
  return emptyReport(name, 'failed', `the scenario threw: ${describeError(err)}`, '', [err instanceof Error ? (err.stack ?? err.message) : String(err)]);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${code === undefined ? err.name : String(code)}: ${err.message}`;
  }
  return String(err);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Yields to the event loop once (lets I/O callbacks and timers run between tight loops). */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
