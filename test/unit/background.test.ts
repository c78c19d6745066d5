/**
 * src/background.ts on a fake clock: the retry schedule (attempt counts, verdicts, hooks, backoff
 * bounds with injected jitter) and the tracker (in-flight count, drain of work started by work,
 * the bounded wait). Nothing here waits for real time: the fake clock's timer resolves at once
 * (and records the delay asked for) or when the test says so.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BackgroundWork, backoffDelay, retry, type Backoff, type Clock, type RetryOptions } from '../../src/background.js';
import { seededRandom } from '../../src/seeded-random.js';

/** A clock whose timers fire at once, advancing its time by the delay; `delays` lists them. */
function instantClock(): Clock & { delays: number[]; t: number } {
  const clock = {
    t: 0,
    delays: [] as number[],
    now: () => clock.t,
    sleep: (ms: number) => {
      clock.delays.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

/** A clock whose timers fire only when `fire()` is called. */
function manualClock(): Clock & { fire: () => void; pending: () => number } {
  const timers: (() => void)[] = [];
  return {
    now: () => 0,
    sleep: () => new Promise<void>((resolve) => timers.push(resolve)),
    fire: () => {
      for (const resolve of timers.splice(0)) resolve();
    },
    pending: () => timers.length,
  };
}

const BACKOFF: Backoff = { baseMs: 10, maxMs: 1000 };

class Failure extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** A task that throws `failures[i]` on attempt i + 1, then resolves with the attempt number. */
function flaky(failures: string[]): { fn: (attempt: number) => Promise<number>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    fn: (attempt) => {
      calls.push(attempt);
      const code = failures[attempt - 1];
      return code === undefined ? Promise.resolve(attempt) : Promise.reject(new Failure(code));
    },
  };
}

function options(clock: Clock, extra: Partial<RetryOptions<Failure>> = {}): RetryOptions<Failure> {
  return { attempts: 5, backoff: BACKOFF, toError: (thrown) => thrown as Failure, clock, random: () => 0.5, ...extra };
}

describe('backoffDelay', () => {
  test('full jitter under an exponential cap: random * min(max, base * 2^attempt)', () => {
    assert.deepEqual(
      [1, 2, 3, 6, 7, 20].map((attempt) => backoffDelay(BACKOFF, attempt, () => 0.5)),
      [10, 20, 40, 320, 500, 500],
    );
    assert.equal(backoffDelay(BACKOFF, 3, () => 0), 0);
  });

  test('every delay lies in [0, cap) for a seeded random source', () => {
    const random = seededRandom(7);
    for (let attempt = 1; attempt <= 40; attempt++) {
      const cap = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(BACKOFF, attempt, random);
        assert.ok(d >= 0 && d < cap, `attempt ${attempt}: ${d} not in [0, ${cap})`);
      }
    }
  });
});

describe('retry', () => {
  test('a first success: one call, no backoff, attempt 1', async () => {
    const clock = instantClock();
    const task = flaky([]);
    assert.deepEqual(await retry(task.fn, options(clock)), { ok: true, value: 1, attempt: 1 });
    assert.deepEqual(clock.delays, []);
  });

  test("'backoff' failures are retried after a jittered backoff, reported to onRetry first", async () => {
    const clock = instantClock();
    const task = flaky(['E', 'E', 'E']);
    const seen: string[] = [];
    const outcome = await retry(task.fn, options(clock, { onRetry: (err, attempt) => seen.push(`${err.code}@${attempt}`) }));
    assert.deepEqual(outcome, { ok: true, value: 4, attempt: 4 });
    assert.deepEqual(task.calls, [1, 2, 3, 4]);
    assert.deepEqual(seen, ['E@1', 'E@2', 'E@3']);
    assert.deepEqual(clock.delays, [10, 20, 40]); // 0.5 * 10 * 2^attempt
    assert.equal(clock.t, 70);
  });

  test('gives up after `attempts` attempts: classify sees every failure, onRetry all but the last', async () => {
    const clock = instantClock();
    const task = flaky(Array<string>(10).fill('E'));
    const classified: number[] = [];
    const retried: number[] = [];
    const outcome = await retry(
      task.fn,
      options(clock, {
        classify: (_err, attempt) => {
          classified.push(attempt);
          return 'backoff';
        },
        onRetry: (_err, attempt) => retried.push(attempt),
      }),
    );
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok);
    assert.deepEqual([outcome.reason, outcome.attempt, outcome.error.code], ['exhausted', 5, 'E']);
    assert.deepEqual(classified, [1, 2, 3, 4, 5]);
    assert.deepEqual(retried, [1, 2, 3, 4]);
    assert.equal(clock.delays.length, 4);
  });

  test("'stop' is final at once: no onRetry, no backoff", async () => {
    const clock = instantClock();
    const task = flaky(['E', 'FATAL']);
    const retried: number[] = [];
    const outcome = await retry(
      task.fn,
      options(clock, { classify: (err) => (err.code === 'FATAL' ? 'stop' : 'backoff'), onRetry: (_e, a) => retried.push(a) }),
    );
    assert.deepEqual(outcome, { ok: false, error: new Failure('FATAL'), attempt: 2, reason: 'final' });
    assert.deepEqual(retried, [1]);
    assert.deepEqual(clock.delays, [10]);
  });

  test("'now' retries without backoff or onRetry, and past the attempt limit", async () => {
    const clock = instantClock();
    // attempts 2: the 'now' failures at 1 and 2 do not count against it; the 'E' at 3 is the last.
    const task = flaky(['AGAIN', 'AGAIN', 'E']);
    const retried: number[] = [];
    const outcome = await retry(
      task.fn,
      options(clock, { attempts: 2, classify: (err) => (err.code === 'AGAIN' ? 'now' : 'backoff'), onRetry: (_e, a) => retried.push(a) }),
    );
    assert.ok(!outcome.ok);
    assert.deepEqual([outcome.reason, outcome.attempt], ['exhausted', 3]);
    assert.deepEqual(retried, []);
    assert.deepEqual(clock.delays, []);
  });

  test('an asynchronous classify is awaited before the next attempt', async () => {
    const clock = instantClock();
    const task = flaky(['E']);
    const order: string[] = [];
    const outcome = await retry(
      (attempt) => {
        order.push(`attempt ${attempt}`);
        return task.fn(attempt);
      },
      options(clock, {
        classify: async (): Promise<'now'> => {
          await Promise.resolve();
          order.push('classified');
          return 'now';
        },
      }),
    );
    assert.deepEqual(outcome, { ok: true, value: 2, attempt: 2 });
    assert.deepEqual(order, ['attempt 1', 'classified', 'attempt 2']);
  });

  test("`stopped` is checked after onRetry and before the backoff: 'stopped', no backoff", async () => {
    const clock = instantClock();
    const task = flaky(['E', 'E', 'E']);
    let closing = false;
    const retried: number[] = [];
    const outcome = await retry(
      task.fn,
      options(clock, {
        attempts: Infinity,
        onRetry: (_e, attempt) => {
          retried.push(attempt);
          if (attempt === 2) closing = true;
        },
        stopped: () => closing,
      }),
    );
    assert.ok(!outcome.ok);
    assert.deepEqual([outcome.reason, outcome.attempt], ['stopped', 2]);
    assert.deepEqual(retried, [1, 2]); // the failure that met the close is still counted
    assert.deepEqual(clock.delays, [10]);
  });

  test('attempts Infinity never gives up; the delays stay under the cap', async () => {
    const clock = instantClock();
    const task = flaky(Array<string>(60).fill('E'));
    const outcome = await retry(task.fn, options(clock, { attempts: Infinity, backoff: { baseMs: 20, maxMs: 2000 }, random: seededRandom(3) }));
    assert.deepEqual(outcome, { ok: true, value: 61, attempt: 61 });
    assert.equal(clock.delays.length, 60);
    assert.ok(clock.delays.every((d) => d >= 0 && d < 2000));
  });

  test('toError converts what an attempt threw before any hook sees it', async () => {
    const clock = instantClock();
    const outcome = await retry(() => Promise.reject(new Error('raw')), {
      attempts: 1,
      backoff: BACKOFF,
      toError: (thrown) => `converted: ${(thrown as Error).message}`,
      clock,
    });
    assert.deepEqual(outcome, { ok: false, error: 'converted: raw', attempt: 1, reason: 'exhausted' });
  });

  test('a synchronous throw inside an attempt is a failure like a rejection', async () => {
    const clock = instantClock();
    let calls = 0;
    const outcome = await retry(
      async () => {
        calls++;
        if (calls === 1) throw new Failure('E');
        return 'ok';
      },
      options(clock),
    );
    assert.deepEqual(outcome, { ok: true, value: 'ok', attempt: 2 });
  });

  test('the backoff waits on the injected clock', async () => {
    const clock = manualClock();
    const task = flaky(['E']);
    const running = retry(task.fn, options(clock));
    // Let the first attempt fail and the retry reach its backoff.
    for (let i = 0; i < 10 && clock.pending() === 0; i++) await Promise.resolve();
    assert.equal(clock.pending(), 1);
    assert.deepEqual(task.calls, [1]);
    clock.fire();
    assert.deepEqual(await running, { ok: true, value: 2, attempt: 2 });
  });
});

describe('BackgroundWork', () => {
  test('tracks promises until they settle; track returns the same promise', async () => {
    const work = new BackgroundWork(instantClock());
    let finish!: () => void;
    const p = new Promise<void>((resolve) => (finish = resolve));
    assert.equal(work.track(p), p);
    const failing = work.track(Promise.reject(new Error('x')));
    assert.equal(work.inFlight, 2);
    await assert.rejects(failing);
    await Promise.resolve();
    assert.equal(work.inFlight, 1);
    finish();
    await work.drain();
    assert.equal(work.inFlight, 0);
  });

  test('drain waits for work that settled work started, and never throws', async () => {
    const work = new BackgroundWork(instantClock());
    const done: string[] = [];
    work.track(
      Promise.resolve().then(() => {
        done.push('first');
        // A compression handing over to an upload: started after drain began.
        work.track(
          Promise.resolve().then(() => {
            done.push('second');
            throw new Error('second failed');
          }),
        ).catch(() => undefined);
      }),
    );
    await work.drain();
    assert.deepEqual(done, ['first', 'second']);
    assert.equal(work.inFlight, 0);
  });

  test('drain of nothing resolves at once', async () => {
    await new BackgroundWork(instantClock()).drain();
  });

  test('settleWithin: resolves when the tracked work settles, or when the clock fires', async () => {
    const clock = manualClock();
    const work = new BackgroundWork(clock);
    work.track(new Promise<void>(() => undefined)); // hangs forever
    let woke = false;
    const waiting = work.settleWithin(100).then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    clock.fire();
    await waiting;
    assert.equal(woke, true);

    const quick = new BackgroundWork(manualClock());
    quick.track(Promise.resolve());
    await quick.settleWithin(100); // the work settles; the timer never fires
  });
});
