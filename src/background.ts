/**
 * Background work on the main thread: the one place that tracks, drains and retries it.
 *
 * Tier 1 (compression), Tier 2 (uploads, eviction, recache), the read path (loads, index fetches,
 * frame fills) and the manager (retention runs) start promises nobody awaits at once, and must
 * wait for all of them at close; some of them retry failed attempts with backoff. Each used to
 * carry its own `Set` of promises, its own `sleep` and its own `backoff(attempt)` with
 * `Math.random()`; they were the same code four times and none could be tested without sleeping.
 *
 * - {@link BackgroundWork} tracks promises and drains them. Draining loops until the set is empty,
 *   because work that settles may start more work (a compression hands its segment to the upload
 *   queue; a finished upload evicts), and close must wait for that too.
 * - {@link retry} runs attempts of one task. The caller's `classify` sees every failure and decides:
 *   back off and try again, try again at once, or stop. The time source (`clock`) and the jitter
 *   (`random`) are injected, so a unit test drives a whole retry schedule with a fake clock and a
 *   seeded generator, without waiting.
 *
 * What is deliberately not here: the circuit breaker (src/tier2/circuit-breaker.ts, which takes
 * the same clock's `now`) and the policies themselves (attempt limits, which errors are final):
 * those stay with the tier that knows what its errors mean.
 */

/** A source of time: `now` in ms (monotonic) and a timer. Injected so tests need not wait. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  now(): number;
  /** Resolves after `ms` milliseconds (at the earliest). */
  sleep(ms: number): Promise<void>;
}

/** A source of numbers in [0, 1), like `Math.random` (or `seededRandom(seed)` in tests). */
export type Random = () => number;

/** Real time: `performance.now()` (monotonic, unlike `Date.now()`) and `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Exponential backoff with full jitter: the delay before the retry that follows failed attempt
 * `attempt` (1-based) is uniform in [0, min(maxMs, baseMs * 2^attempt)). Full jitter rather than a
 * fixed schedule: many segments failing together (a store outage, a pool crash) spread their
 * retries instead of hitting the recovering store in step.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** The delay after failed attempt `attempt` (see {@link Backoff}); `random()` gives the jitter. */
export function backoffDelay(backoff: Backoff, attempt: number, random: Random): number {
  return random() * Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt);
}

/**
 * Tracks background promises so they can be drained (awaited, whatever their outcome) at close.
 * A tracked promise is forgotten as soon as it settles; its rejection is the caller's to handle
 * (`track` returns the same promise), draining never throws.
 */
export class BackgroundWork {
  readonly #work = new Set<Promise<unknown>>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Promises tracked and not settled yet. */
  get inFlight(): number {
    return this.#work.size;
  }

  /** Tracks `work` until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#work.add(work);
    const forget = (): void => void this.#work.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Resolves once nothing is tracked, including work started by work that settled meanwhile. */
  async drain(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  /**
   * Resolves when everything tracked now has settled, or after `ms`, whichever comes first: one
   * step of a loop that waits on a condition the work may change (Tier 2's close waits for its
   * queue while the store answers) and must look again even if a task hangs.
   */
  async settleWithin(ms: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.#work]), this.#clock.sleep(ms)]);
  }
}

/**
 * What `classify` decides about a failed attempt:
 * - 'backoff': try again after {@link backoffDelay}, unless that was the last attempt;
 * - 'now': try again at once, whatever the attempt count (the failure was dealt with, e.g. a
 *   damaged local copy was dropped and the next attempt reads another source);
 * - 'stop': the failure is final.
 */
export type RetryVerdict = 'backoff' | 'now' | 'stop';

export interface RetryOptions<E> {
  /** Attempts before giving up on 'backoff' failures (the first one included); `Infinity` never gives up. */
  attempts: number;
  backoff: Backoff;
  /** Turns what an attempt threw into the error the hooks see (e.g. `fromWorkerRejection`). */
  toError: (thrown: unknown) => E;
  /**
   * Sees every failure, the last one included, and decides (see {@link RetryVerdict}). May return
   * a promise (the next attempt waits for it); default 'backoff'.
   */
  classify?: (err: E, attempt: number) => RetryVerdict | Promise<RetryVerdict>;
  /** A 'backoff' failure will be retried: count it, report it. Called before the backoff. */
  onRetry?: (err: E, attempt: number) => void;
  /** Checked after `onRetry`, before the backoff: true ends the retries ('stopped'), e.g. when closing. */
  stopped?: () => boolean;
  clock?: Clock;
  random?: Random;
}

/**
 * How {@link retry} ended. `attempt` is the number of the last attempt (1-based). A failure's
 * `reason`: 'exhausted' (a 'backoff' failure on the last attempt), 'final' (`classify` said
 * 'stop'), 'stopped' (`stopped()` turned true before a backoff).
 */
export type RetryOutcome<T, E> =
  | { ok: true; value: T; attempt: number }
  | { ok: false; error: E; attempt: number; reason: 'exhausted' | 'final' | 'stopped' };

/**
 * Runs `fn(attempt)` for attempt 1, 2, ... until it resolves or a failure is final. Never rejects:
 * the outcome says how it ended, with the attempt number the caller reports and records. The hooks
 * run synchronously after the failure (except an asynchronous `classify`), so what they read of
 * the caller's state is what the failure saw.
 */
export async function retry<T, E>(fn: (attempt: number) => Promise<T>, options: RetryOptions<E>): Promise<RetryOutcome<T, E>> {
  const { attempts, backoff, toError, classify, onRetry, stopped, clock = systemClock, random = Math.random } = options;
  for (let attempt = 1; ; attempt++) {
    let error: E;
    try {
      return { ok: true, value: await fn(attempt), attempt };
    } catch (thrown) {
      error = toError(thrown);
    }
    const decided = classify === undefined ? 'backoff' : classify(error, attempt);
    const verdict = typeof decided === 'string' ? decided : await decided;
    if (verdict === 'now') continue;
    if (verdict === 'stop') return { ok: false, error, attempt, reason: 'final' };
    if (attempt >= attempts) return { ok: false, error, attempt, reason: 'exhausted' };
    onRetry?.(error, attempt);
    if (stopped?.() === true) return { ok: false, error, attempt, reason: 'stopped' };
    await clock.sleep(backoffDelay(backoff, attempt, random));
  }
}
