/**
 * CircuitBreaker with an injected clock: opening after consecutive failures, exactly one probe in
 * half-open, closing on a successful probe, re-opening with a doubled (capped) cool-down on a
 * failed one, msUntilProbe values, transition counts and the onChange events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../../src/errors.js';
import { BreakerState, CircuitBreaker, type BreakerStateName, type CircuitBreakerOptions } from '../../../src/tier2/circuit-breaker.js';

/** A breaker on a manual clock, recording every transition. */
function make(options: CircuitBreakerOptions = {}): { b: CircuitBreaker; clock: { t: number }; events: string[] } {
  const clock = { t: 1000 };
  const events: string[] = [];
  const b = new CircuitBreaker({
    now: () => clock.t,
    onChange: (from: BreakerStateName, to: BreakerStateName) => events.push(`${from}->${to}`),
    ...options,
  });
  return { b, clock, events };
}

function fail(b: CircuitBreaker, n: number): void {
  for (let i = 0; i < n; i++) {
    assert.ok(b.canAttempt(), `attempt ${i} admitted while closed`);
    b.onFailure();
  }
}

describe('CircuitBreaker', () => {
  test('gauge values: closed 0, open 1, half-open 2', () => {
    assert.deepEqual(BreakerState, { closed: 0, open: 1, 'half-open': 2 });
    const { b } = make();
    assert.equal(BreakerState[b.state], 0);
  });

  test('defaults: opens after 5 consecutive failures, first cool-down 1 s', () => {
    const { b, clock } = make();
    assert.deepEqual([b.failureThreshold, b.openMs, b.maxOpenMs], [5, 1000, 30_000]);
    fail(b, 4);
    assert.equal(b.state, 'closed');
    assert.equal(b.consecutiveFailures, 4);
    fail(b, 1);
    assert.equal(b.state, 'open');
    assert.equal(b.msUntilProbe(), 1000);
    clock.t += 999;
    assert.equal(b.canAttempt(), false);
    clock.t += 1;
    assert.equal(b.canAttempt(), true);
  });

  test('a success in between resets the count: only consecutive failures open it', () => {
    const { b, events } = make({ failureThreshold: 3 });
    for (let round = 0; round < 10; round++) {
      fail(b, 2);
      assert.ok(b.canAttempt());
      b.onSuccess();
      assert.equal(b.consecutiveFailures, 0);
    }
    assert.equal(b.state, 'closed');
    assert.deepEqual(events, []);
    fail(b, 3);
    assert.equal(b.state, 'open');
    assert.deepEqual(events, ['closed->open']);
    assert.equal(b.openedCount, 1);
  });

  test('half-open admits exactly one probe; a successful probe closes and resets everything', () => {
    const { b, clock, events } = make({ failureThreshold: 2, openMs: 100 });
    fail(b, 2);
    assert.equal(b.canAttempt(), false);
    clock.t += 100;
    assert.equal(b.msUntilProbe(), 0, 'the cool-down is over: an attempt is allowed now');
    assert.equal(b.state, 'open', 'the move to half-open happens when someone asks');
    assert.equal(b.canAttempt(), true, 'the probe');
    assert.equal(b.state, 'half-open');
    for (let i = 0; i < 5; i++) assert.equal(b.canAttempt(), false, 'no second attempt while the probe is out');
    assert.equal(b.msUntilProbe(), Number.POSITIVE_INFINITY, 'only the probe outcome can change anything');
    clock.t += 1_000_000;
    assert.equal(b.canAttempt(), false, 'time alone does not admit another');
    b.onSuccess();
    assert.equal(b.state, 'closed');
    assert.equal(b.msUntilProbe(), 0);
    assert.ok(b.canAttempt() && b.canAttempt(), 'closed admits everyone');
    assert.deepEqual(events, ['closed->open', 'open->half-open', 'half-open->closed']);
    assert.deepEqual([b.openedCount, b.closedCount], [1, 1]);
  });

  test('a failed probe re-opens with the cool-down doubled, capped at maxOpenMs; closing resets it', () => {
    const { b, clock } = make({ failureThreshold: 1, openMs: 100, maxOpenMs: 700 });
    fail(b, 1);
    const coolDowns: number[] = [];
    for (let i = 0; i < 6; i++) {
      const wait = b.msUntilProbe();
      coolDowns.push(wait);
      clock.t += wait - 1;
      assert.equal(b.canAttempt(), false, `1 ms early in period ${i}`);
      assert.equal(b.msUntilProbe(), 1);
      clock.t += 1;
      assert.equal(b.canAttempt(), true);
      b.onFailure();
      assert.equal(b.state, 'open');
    }
    assert.deepEqual(coolDowns, [100, 200, 400, 700, 700, 700]);
    assert.equal(b.openedCount, 7);
    clock.t += 700;
    assert.ok(b.canAttempt());
    b.onSuccess();
    // The next outage starts again from openMs.
    fail(b, 1);
    assert.equal(b.msUntilProbe(), 100);
    assert.deepEqual([b.openedCount, b.closedCount], [8, 1]);
  });

  test('msUntilProbe counts down to 0 while open and never goes negative', () => {
    const { b, clock } = make({ failureThreshold: 1, openMs: 250 });
    assert.equal(b.msUntilProbe(), 0);
    fail(b, 1);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(b.msUntilProbe());
      clock.t += 60;
    }
    assert.deepEqual(seen, [250, 190, 130, 70, 10, 0]);
  });

  test("stragglers' reports while open change nothing; in half-open the first report decides", () => {
    const { b, clock, events } = make({ failureThreshold: 2, openMs: 100 });
    // Three attempts admitted while closed; two fail and open the breaker; the third reports late.
    assert.ok(b.canAttempt() && b.canAttempt() && b.canAttempt());
    b.onFailure();
    b.onFailure();
    assert.equal(b.state, 'open');
    clock.t += 50;
    b.onSuccess();
    b.onFailure();
    assert.equal(b.state, 'open');
    assert.equal(b.msUntilProbe(), 50, 'a late failure does not extend the cool-down');
    assert.equal(b.openedCount, 1);
    clock.t += 50;
    assert.ok(b.canAttempt());
    b.onFailure();
    assert.equal(b.msUntilProbe(), 200);
    assert.deepEqual(events, ['closed->open', 'open->half-open', 'half-open->open']);
  });

  test('the default clock is performance.now() (monotonic), read at every call', (t) => {
    // No sleep: the global monotonic clock is stood in for, so the test is instant and exact.
    let now = 1_000;
    t.mock.method(performance, 'now', () => now);
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 20 });
    b.onFailure();
    assert.equal(b.canAttempt(), false);
    assert.equal(b.msUntilProbe(), 20);
    now += 19;
    assert.equal(b.msUntilProbe(), 1);
    assert.equal(b.canAttempt(), false);
    now += 1;
    assert.equal(b.canAttempt(), true);
    b.onSuccess();
    assert.equal(b.state, 'closed');
  });

  test('bad options are AOF_ERR_INVALID_ARGUMENT', () => {
    for (const bad of [{ failureThreshold: 0 }, { failureThreshold: 1.5 }, { openMs: 0 }, { openMs: Number.NaN }, { openMs: 100, maxOpenMs: 50 }, { maxOpenMs: Number.POSITIVE_INFINITY }]) {
      assert.throws(() => new CircuitBreaker(bad), { code: ErrorCode.INVALID_ARGUMENT }, JSON.stringify(bad));
    }
    // A long first cool-down without a ceiling given: the ceiling follows it rather than failing.
    assert.equal(new CircuitBreaker({ openMs: 60_000 }).maxOpenMs, 60_000);
  });
});
