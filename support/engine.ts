/**
 * Helpers for behavioural tests of the engine: bounded polling, WouldBlock
 * assertions and read-back verification. Real engine only; nothing here replaces a component.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { AofError, WouldBlockError, type AofLog, type LogRecord, type WouldBlockKindValue } from '../src/index.js';
import { parseSegmentFileName, segmentPath, streamDir } from '../src/format/root-layout.js';
import { sameBytes } from './tmp.js';

/**
 * Resolves after `ms` ms of real time. Integration tests only (test/unit never sleeps): to pace a
 * workload or to let a background task run, never to wait for a condition (use {@link waitFor}).
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How a bounded wait is told that waiting has become pointless: `signal` (a sibling task failed,
 * see {@link TaskGroup}) or `failIf`, which names a reason the condition can no longer change (the
 * reader that should make progress is dead). Either ends the wait at once, with a message.
 */
export interface WaitOptions {
  /** Fail after this long (default 5,000 ms). */
  timeoutMs?: number;
  /** Poll period (default 2 ms). */
  intervalMs?: number;
  /** Ends the wait when aborted, with the abort reason. */
  signal?: AbortSignal;
  /** Returns why the condition can never become true now (fails at once), or null to keep waiting. */
  failIf?: () => string | null;
  /** State to show in the timeout message (a position, a counter). */
  progress?: () => string;
}

/**
 * The one way tests poll: waits until `predicate` holds (it may be asynchronous: a question to a
 * child process), failing with a message that says what it waited for after `timeoutMs`, or at
 * once when `failIf` gives a reason or `signal` aborts. A
 * polling loop without a deadline hangs the suite the day its condition stops changing (issue 10:
 * a writer waited forever for a reader that had died).
 */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, options: number | WaitOptions = {}, intervalMs = 2): Promise<void> {
  const opts: WaitOptions = typeof options === 'number' ? { timeoutMs: options, intervalMs } : options;
  const d = new Deadline(what, opts.timeoutMs ?? 5000, opts);
  while (!(await predicate())) {
    d.check();
    await sleep(opts.intervalMs ?? 2);
  }
}

/**
 * A deadline for a loop that does its own work between polls (a sync retry loop, a follower):
 * call `check()` every turn. It throws (an assertion failure naming `what`) once `timeoutMs` has
 * passed, or at once when `failIf` gives a reason or `signal` aborted.
 */
export class Deadline {
  readonly #what: string;
  readonly #timeoutMs: number;
  readonly #at: number;
  readonly #opts: WaitOptions;

  constructor(what: string, timeoutMs: number, opts: Omit<WaitOptions, 'timeoutMs' | 'intervalMs'> = {}) {
    this.#what = what;
    this.#timeoutMs = timeoutMs;
    this.#at = Date.now() + timeoutMs;
    this.#opts = opts;
  }

  /** @throws AssertionError when the deadline passed or waiting became pointless; the abort reason when aborted */
  check(): void {
    const { signal, failIf, progress } = this.#opts;
    if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new Error(`${this.#what}: aborted (${String(signal.reason)})`);
    const hopeless = failIf?.() ?? null;
    if (hopeless !== null) assert.fail(`gave up waiting for ${this.#what}: ${hopeless}`);
    if (Date.now() > this.#at) assert.fail(`timed out after ${this.#timeoutMs} ms waiting for ${this.#what}${progress === undefined ? '' : ` (${progress()})`}`);
  }
}

/**
 * Concurrent tasks of one test, run as one: the first failure aborts the others (their loops watch
 * `signal`), every task settles before `join()` returns, and `join()` throws that first failure.
 * Why: with `Promise.all`, a failing task rejects the test while its siblings keep running; the
 * test's `finally` then closed the manager under a live reader (AOF_ERR_CLOSED "reader is closed",
 * an unhandled rejection that hid the first error) and a writer polled that dead reader forever.
 */
export class TaskGroup {
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | null = null;

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The first failure, or null. */
  get failure(): unknown {
    return this.#failure?.error ?? null;
  }

  /** Starts `run`; its result is returned, its failure recorded (never unhandled) and the others aborted. */
  spawn<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const result = run(this.#abort.signal).then(
      (value) => value,
      (err: unknown) => {
        if (this.#failure === null) {
          this.#failure = { error: err };
          this.#abort.abort(new Error(`aborted: ${what} failed first (${err instanceof Error ? err.message : String(err)})`));
        }
        return undefined;
      },
    );
    const settled = result.then(() => undefined);
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return result;
  }

  /**
   * Waits until every task (including ones spawned meanwhile) settled, then throws the first
   * failure. A task that ignores the abort fails the wait after `timeoutMs`; with `progress` (a
   * count the tasks advance, such as records written or verified), after `timeoutMs` without a
   * change of it: a loaded machine slows a round down, only a stall is a hang.
   */
  async join(timeoutMs: number, progress?: () => number): Promise<void> {
    const deadline = (): Deadline => new Deadline('every task of the group to settle', timeoutMs, { progress: () => `${this.#running.size} still running` });
    let d = deadline();
    let seen = progress?.();
    while (this.#running.size > 0) {
      const now = progress?.();
      if (now !== seen) {
        seen = now;
        d = deadline();
      }
      d.check();
      await Promise.race([...this.#running, sleep(100)]);
    }
    if (this.#failure !== null) throw this.#failure.error;
  }
}

/** Runs `fn`, which must throw a WouldBlockError of one of `kinds`; returns the error. */
export function expectWouldBlock(fn: () => unknown, kinds: readonly WouldBlockKindValue[]): WouldBlockError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WouldBlockError, `expected WouldBlockError, got ${String(err)}`);
    assert.equal(err.code, 'AOF_ERR_WOULD_BLOCK');
    assert.ok(kinds.includes(err.kind), `WouldBlock kind ${err.kind}, expected one of ${kinds.join(', ')}`);
    return err;
  }
  return assert.fail(`expected WouldBlockError (${kinds.join(', ')}), but the call succeeded`);
}

/** Error code of a rejection, for `assert.rejects`-style checks that keep the error typed. */
export async function rejectionOf(promise: Promise<unknown>): Promise<AofError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AofError, `expected AofError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected the promise to reject');
}

/**
 * Reads `log` from `from` with `log.read()` and checks every record against `expected(id)`: ids
 * dense, bytes identical, count exactly `end - from`.
 */
export async function verifyLog(log: AofLog, expected: (id: number) => Uint8Array, end: number, from = 0): Promise<void> {
  let id = from;
  for await (const rec of log.read({ from })) {
    assert.equal(rec.id, id, `stream ${log.name}: ids must be dense`);
    if (!sameBytes(rec.payload, expected(id))) assert.fail(`stream ${log.name}: record ${id} differs`);
    id++;
  }
  assert.equal(id, end, `stream ${log.name}: read back ${id - from} records, expected ${end - from}`);
}

/** Checks one record returned by a reader against the expected bytes. */
export function checkRecord(rec: LogRecord | null, id: number, expected: Uint8Array): LogRecord {
  assert.ok(rec !== null, `record ${id}: reader returned null (caught up) too early`);
  assert.equal(rec.id, id);
  if (!sameBytes(rec.payload, expected)) assert.fail(`record ${id}: payload differs`);
  return rec;
}

/** Base ids of a stream's segment files, ascending (the segment boundaries on disk). */
export function segmentBaseIds(root: string, stream: string): number[] {
  return readdirSync(streamDir(root, stream))
    .map(parseSegmentFileName)
    .filter((id): id is number => id !== null)
    .sort((a, b) => a - b);
}

/** Path of the segment file with base id `baseId`. */
export function segmentFile(root: string, stream: string, baseId: number): string {
  return segmentPath(streamDir(root, stream), baseId);
}
