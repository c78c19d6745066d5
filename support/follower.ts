/**
 * A reader that follows a log while it is written (the chaos tests' tail and cold readers), and the
 * bounded wait a writer uses to stay near it. Real engine only.
 *
 * A follower publishes its position and, when it ends, why (`ended`): a writer that paces itself on
 * a follower must stop waiting the moment the follower is gone, not poll a frozen position for
 * ever (issue 10: the cold reader died with AOF_ERR_CLOSED and the writer spun at
 * `while (id - cold.position > COLD_LAG) await sleep(1)`).
 */
import assert from 'node:assert/strict';
import { WouldBlockError, type AofLog, type AofReader } from '../src/index.js';
import { Deadline, sleep, waitFor } from './engine.js';
import { withTimeout } from './tier1-engine.js';
import { sameBytes } from './tmp.js';

/** Codes a follower retries: the engine reports a failed load once, then tries again. */
const RETRYABLE = new Set(['AOF_ERR_WORKER_FAILED', 'AOF_ERR_INJECTED', 'AOF_ERR_IO']);

/** How a {@link Follower} reads: sync or async, when to stop, how long one step may take. */
export interface FollowOptions {
  /** Sync: nextSync, sleeping 1 ms on WouldBlock (spinning would take a core from the workers). Async: bounded next(). */
  sync: boolean;
  /** True once the writer appended its last record: the follower then stops at the end of `payloads`. */
  writerDone: () => boolean;
  /** Ends the follower (a sibling task failed). */
  signal?: AbortSignal;
  /** Fail when the position has not moved for this long (default 60 s): no progress, not slowness, is the bug. */
  stallMs?: number;
  /** Bound on one `next()` (default 30 s). */
  stepTimeoutMs?: number;
}

/**
 * A reader that follows a stream while a writer appends, checking every record's id and bytes
 * against `payloads`; retries the retryable codes and counts them. Used by the read-while-write
 * and chaos tests.
 */
export class Follower {
  readonly name: string;
  readonly reader: AofReader;
  /** Id of the next record it will read. */
  position: number;
  /** Reads that rejected with a retryable code and were retried. */
  retried = 0;
  /** Why it ended: 'done' after the last record, else the error that ended it; null while running. */
  ended: 'done' | Error | null = null;
  /** Settles when it ends; never rejects (the error is in `ended`, and rethrown by `result()`). */
  readonly finished: Promise<void>;

  constructor(name: string, log: AofLog, payloads: readonly Uint8Array[], opts: FollowOptions) {
    this.name = name;
    this.reader = log.openReader({ from: 0 });
    this.position = this.reader.position;
    this.finished = this.#run(payloads, opts).then(
      () => {
        this.ended = 'done';
      },
      (err: unknown) => {
        this.ended = err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  /** Resolves with the retry count once it read everything; rejects with what ended it otherwise. */
  async result(): Promise<number> {
    await this.finished;
    if (this.ended instanceof Error) throw this.ended;
    return this.retried;
  }

  /** Null while it runs or after it read everything; otherwise why it can make no more progress. */
  deadReason(): string | null {
    return this.ended instanceof Error ? `${this.name} ended with ${(this.ended as { code?: string }).code ?? this.ended.name}: ${this.ended.message}` : null;
  }

  /**
   * Waits until this follower is at most `lag` records behind `id`; fails at once when it has died
   * (or `signal` aborts), and after `timeoutMs` with its position.
   */
  async within(id: number, lag: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const wait = { timeoutMs: opts.timeoutMs, intervalMs: 1, failIf: () => this.deadReason(), progress: () => `${this.name} at ${this.position}` };
    await waitFor(() => id - this.position <= lag || this.ended === 'done', `${this.name} to come within ${lag} records of id ${id}`, opts.signal === undefined ? wait : { ...wait, signal: opts.signal });
  }

  async #run(payloads: readonly Uint8Array[], opts: FollowOptions): Promise<void> {
    const reader = this.reader;
    const stallMs = opts.stallMs ?? 60_000;
    let stall = new Deadline(`${this.name} to make progress`, stallMs, opts.signal === undefined ? {} : { signal: opts.signal });
    let seen = reader.position;
    try {
      while (!opts.writerDone() || reader.position < payloads.length) {
        if (reader.position !== seen) {
          seen = reader.position;
          stall = new Deadline(`${this.name} to make progress past ${seen}`, stallMs, opts.signal === undefined ? {} : { signal: opts.signal });
        }
        stall.check();
        let rec;
        try {
          rec = opts.sync ? reader.nextSync() : await withTimeout(reader.next(), opts.stepTimeoutMs ?? 30_000, `${this.name} next() at ${reader.position}`);
        } catch (err) {
          if (err instanceof WouldBlockError) {
            assert.ok(opts.sync, 'an async reader never sees WouldBlock');
            assert.equal(err.kind, 'hydration');
            await sleep(1);
            continue;
          }
          if (err instanceof Error && 'code' in err && RETRYABLE.has(String(err.code))) {
            this.retried++;
            await sleep(1); // a failure that repeats must not turn this into a busy loop
            continue;
          }
          throw err;
        }
        if (rec === null) {
          await sleep(1);
          continue;
        }
        if (!sameBytes(rec.payload, payloads[rec.id]!)) assert.fail(`${this.name}: record ${rec.id} differs`);
        this.position = reader.position;
      }
    } finally {
      reader.close();
    }
  }
}
