/**
 * `log.follow()`: a live tail as an async iterator, a loop over `reader.next({ wait: true })`
 * (src/reader.ts), so it waits exactly as the cursor does: at the tail for the next append (the
 * log resolves its tail waiters' promise, once per synchronous run of appends), for durability on
 * the flush worker's progress, for hydration on the coordinator.
 *
 * Hand-written rather than an `async function*`: a generator's `return()` waits behind a pending
 * `next()`, so a consumer that gives up on a follow waiting at a quiet tail could not release it.
 * Here `return()` closes the reader at once, which wakes the pending wait (it then completes).
 *
 * The signal gets one listener for the follow's lifetime, not one per step: its abort closes the
 * reader (waking a pending step, which then rejects with the AbortError) and the listener is
 * removed whenever the follow ends, however it ends.
 */
import { abortError } from './abort.js';
import { booleanOf, checkOptions, signalOf } from './call-options.js';
import { AofError, ErrorCode } from './errors.js';
import { BLOCKED, readerEngine, type AofReader, type LogRecord, type ReaderEngine, type ReaderNextOptions, type ReaderOptions } from './reader.js';

/** Options of `log.follow(options)`. */
export interface FollowOptions {
  /** First id to yield (default: the first stored id, as `openReader`). Must be within [firstId, nextId]. */
  from?: number;
  /**
   * true: yield a record only once it is durable (at or below `log.durableId`), waiting for the
   * flush worker's progress in between. Default false: a record is yielded as soon as it is appended.
   */
  durable?: boolean;
  /**
   * Aborting it ends the follow: the pending step (or the next one) rejects with an `AbortError`
   * (`cause`: the signal's reason), its reader is closed and its listener removed.
   */
  signal?: AbortSignal;
  /**
   * true (default): payloads are copies the caller owns. false: views into the arena, valid until
   * the iterator's next step (the next `next()`, or the next turn of `for await`); faster, and
   * enough for a consumer that handles each record before asking for the next.
   */
  copy?: boolean;
}

/** What a follow needs of its log (the log's engine core). */
export interface FollowSource {
  /** @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_CLOSED */
  openReader(options: ReaderOptions): AofReader;
}

const FOLLOW_OPTIONS = ['from', 'durable', 'signal', 'copy'];

/**
 * A follow of `source` (see {@link FollowOptions}): options checked and the reader opened now.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_OUT_OF_RANGE, AOF_ERR_CLOSED,
 *   AbortError (an already aborted signal: nothing is opened)
 */
export function openFollow(source: FollowSource, options: FollowOptions): AsyncIterableIterator<LogRecord> {
  checkOptions(options, FOLLOW_OPTIONS, 'follow');
  const durable = booleanOf(options.durable, 'durable', 'follow', false);
  const copy = booleanOf(options.copy, 'copy', 'follow', true);
  const signal = signalOf(options.signal, 'follow');
  if (signal?.aborted === true) throw abortError(signal);
  const reader = source.openReader({ ...(options.from !== undefined && { from: options.from }), copy });
  return new LogFollow(reader, durable, signal ?? null);
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * `open`; `aborted`: the signal aborted, the next step (or the pending one) rejects with the
 * AbortError, then `done`; `done`: every step resolves done.
 */
type State = 'open' | 'aborted' | 'done';

class LogFollow implements AsyncIterableIterator<LogRecord> {
  readonly #core: ReaderEngine;
  readonly #durable: boolean;
  readonly #signal: AbortSignal | null;
  readonly #step: ReaderNextOptions;
  #state: State = 'open';
  readonly #onAbort = (): void => {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    this.#core.close(); // wakes a pending step: it sees 'aborted' and rejects
  };

  constructor(reader: AofReader, durable: boolean, signal: AbortSignal | null) {
    this.#core = readerEngine(reader);
    this.#durable = durable;
    this.#signal = signal;
    this.#step = durable ? { wait: true, durable: true } : { wait: true };
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  next(): Promise<IteratorResult<LogRecord>> {
    // A record at hand is returned without the waiting step (an async function and the checks of
    // reader.next's options per record: most of a live tail's cost at a million records a second).
    if (this.#state === 'open' && !this.#durable) {
      try {
        const record = this.#core.poll();
        if (record !== null && record !== BLOCKED) return Promise.resolve({ done: false, value: record });
      } catch {
        // The waiting step meets the same failure and ends the follow as it should.
      }
    }
    return this.#waitingStep();
  }

  /** The next record, waiting at the tail (and for durability, with `durable`). */
  async #waitingStep(): Promise<IteratorResult<LogRecord>> {
    if (this.#state !== 'open') return this.#ended();
    try {
      // With `wait`, next() never resolves null: a record, or it rejects.
      return { done: false, value: (await this.#core.next(this.#step))! };
    } catch (err) {
      if (this.#state !== 'open') return this.#ended();
      this.#release();
      // The manager closed (it closes every reader): the natural end of a live tail.
      if (err instanceof AofError && err.code === ErrorCode.CLOSED) return DONE;
      throw err;
    }
  }

  /** `break` out of `for await`, or an explicit return(): releases the reader, also during a wait. */
  return(): Promise<IteratorResult<LogRecord>> {
    this.#release();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LogRecord> {
    return this;
  }

  /** A step after the end: the abort's one rejection, then done. */
  #ended(): IteratorResult<LogRecord> {
    if (this.#state === 'aborted') {
      this.#state = 'done';
      throw abortError(this.#signal!);
    }
    return DONE;
  }

  #release(): void {
    this.#state = 'done';
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#core.close();
  }
}
