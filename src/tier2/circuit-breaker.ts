/**
 * Circuit breaker for Tier 2: stops hammering an object store that keeps failing, and finds out
 * with one request at a time when it is back.
 *
 * ```
 *            failureThreshold consecutive failures            cool-down elapsed: admit ONE probe
 *   closed ─────────────────────────────────────────► open ──────────────────────────────────► half-open
 *     ▲                                                 ▲                                          │
 *     │                 probe succeeded                 │  probe failed: cool-down doubles,        │
 *     └─────────────────────────────────────────────────┼──────────────────── capped at maxOpenMs ─┤
 *                                                       └──────────────────────────────────────────┘
 * ```
 *
 * Design and trade-offs:
 * - A plain synchronous state machine with no timer of its own: the caller asks
 *   {@link CircuitBreaker.canAttempt} before each attempt and reports the outcome, and
 *   {@link CircuitBreaker.msUntilProbe} tells it exactly how long to sleep, so an outage costs no
 *   polling and a closed breaker costs one branch per attempt.
 * - The transition open → half-open happens inside `canAttempt()` (lazily, when the cool-down has
 *   passed and someone asks), and that same call is the one probe: nobody else is admitted until
 *   the probe reports `onSuccess()` or `onFailure()`. So a recovering store sees one request, not a
 *   thundering herd from every queued upload.
 * - The cool-down doubles after each failed probe up to `maxOpenMs` (a long outage costs a probe
 *   every 30 s by default, not every second) and resets to `openMs` once the breaker closes.
 * - Outcomes carry no ticket, so the breaker cannot tell a probe's report from a straggler's (an
 *   attempt admitted while it was still closed and finishing late). The rules keep that harmless:
 *   while open every report is ignored (the stragglers already counted, or arrived too late to
 *   say anything about now); in half-open the first report decides. A late failure can thus end a
 *   half-open period early, which only delays closing by one cool-down: never an extra request.
 * - The clock is injectable (`now`) and monotonic by default (`performance.now()`), so a wall
 *   clock step never opens or closes anything.
 */
import { AofError } from '../errors.js';

/** Gauge values of the states (`aof_tier2_breaker_state`): index with `breaker.state`. */
export const BreakerState = {
  closed: 0,
  open: 1,
  'half-open': 2,
} as const;

export type BreakerStateName = keyof typeof BreakerState;

export interface CircuitBreakerOptions {
  /** Consecutive failures (while closed) that open the breaker. Integer >= 1; default 5. */
  failureThreshold?: number;
  /** First cool-down in ms before a probe is admitted. > 0; default 1000. */
  openMs?: number;
  /** Ceiling of the cool-down, which doubles after each failed probe. >= openMs; default 30000. */
  maxOpenMs?: number;
  /** Clock in ms (monotonic); default `performance.now()`. For tests. */
  now?: () => number;
  /**
   * Called synchronously after every transition (for metrics and structured events). It runs
   * inside `canAttempt`/`onSuccess`/`onFailure`, so it must not throw.
   */
  onChange?: (from: BreakerStateName, to: BreakerStateName) => void;
}

export const BREAKER_DEFAULTS = {
  failureThreshold: 5,
  openMs: 1000,
  maxOpenMs: 30_000,
} as const;

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly #now: () => number;
  readonly #onChange: ((from: BreakerStateName, to: BreakerStateName) => void) | undefined;

  #state: BreakerStateName = 'closed';
  #failures = 0;
  /** Cool-down of the current (or next) open period. */
  #coolDownMs: number;
  /** When the current open period ends (ms on the injected clock); meaningful while open. */
  #probeAt = 0;
  #opened = 0;
  #closed = 0;

  /** @throws AOF_ERR_INVALID_ARGUMENT on an out-of-range option */
  constructor(options: CircuitBreakerOptions = {}) {
    const failureThreshold = options.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold;
    const openMs = options.openMs ?? BREAKER_DEFAULTS.openMs;
    const maxOpenMs = options.maxOpenMs ?? Math.max(BREAKER_DEFAULTS.maxOpenMs, openMs);
    if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
      throw AofError.invalidArgument(`circuit breaker: failureThreshold must be an integer >= 1, got ${failureThreshold}`, { field: 'failureThreshold', value: failureThreshold });
    }
    if (!Number.isFinite(openMs) || openMs <= 0) {
      throw AofError.invalidArgument(`circuit breaker: openMs must be a finite number > 0, got ${openMs}`, { field: 'openMs', value: openMs });
    }
    if (!Number.isFinite(maxOpenMs) || maxOpenMs < openMs) {
      throw AofError.invalidArgument(`circuit breaker: maxOpenMs must be a finite number >= openMs (${openMs}), got ${maxOpenMs}`, { field: 'maxOpenMs', value: maxOpenMs });
    }
    this.failureThreshold = failureThreshold;
    this.openMs = openMs;
    this.maxOpenMs = maxOpenMs;
    this.#coolDownMs = openMs;
    this.#now = options.now ?? (() => performance.now());
    this.#onChange = options.onChange;
  }

  get state(): BreakerStateName {
    return this.#state;
  }

  /** Transitions into `open` so far (first opening and every failed probe). */
  get openedCount(): number {
    return this.#opened;
  }

  /** Transitions into `closed` so far (successful probes). */
  get closedCount(): number {
    return this.#closed;
  }

  /** Failures in a row while closed (reset by a success and by opening). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** The cool-down of the current open period, or of the next one if closed or half-open. */
  get coolDownMs(): number {
    return this.#coolDownMs;
  }

  /**
   * May an attempt start now? Closed: always. Open: no until the cool-down has passed; then the
   * breaker turns half-open and this call admits the one probe (true). Half-open: no while the
   * probe is out. The caller that got `true` must report the outcome with onSuccess/onFailure.
   */
  canAttempt(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'half-open') return false;
    if (this.#now() < this.#probeAt) return false;
    this.#move('half-open');
    return true;
  }

  /**
   * Milliseconds until {@link canAttempt} can return true: 0 when an attempt is allowed now (closed,
   * or open with the cool-down over); the rest of the cool-down while open; `Infinity` in
   * half-open, where no amount of time helps: the probe's outcome decides (observe it through
   * `onChange`). Clamp before passing it to `setTimeout`.
   */
  msUntilProbe(): number {
    if (this.#state === 'closed') return 0;
    if (this.#state === 'half-open') return Number.POSITIVE_INFINITY;
    return Math.max(0, this.#probeAt - this.#now());
  }

  /** Reports a successful attempt: resets the failure count; a half-open breaker closes. */
  onSuccess(): void {
    if (this.#state === 'closed') {
      this.#failures = 0;
    } else if (this.#state === 'half-open') {
      this.#coolDownMs = this.openMs;
      this.#closed++;
      this.#move('closed');
    }
    // Open: a straggler's success says nothing about now (see the module comment).
  }

  /** Reports a failed attempt: may open the breaker; a failed probe re-opens it for twice as long. */
  onFailure(): void {
    if (this.#state === 'closed') {
      if (++this.#failures >= this.failureThreshold) this.#open();
    } else if (this.#state === 'half-open') {
      this.#coolDownMs = Math.min(this.#coolDownMs * 2, this.maxOpenMs);
      this.#open();
    }
    // Open: already open; a straggler's failure neither extends nor resets the cool-down.
  }

  #open(): void {
    this.#failures = 0;
    this.#probeAt = this.#now() + this.#coolDownMs;
    this.#opened++;
    this.#move('open');
  }

  #move(to: BreakerStateName): void {
    const from = this.#state;
    this.#state = to;
    this.#onChange?.(from, to);
  }
}
