/**
 * Node streams over one log: `log.createReadStream()` (an object-mode Readable of records) and
 * `log.createWriteStream()` (an object-mode Writable, one chunk per record). Both are thin loops
 * over the public sync API with the async twin as the fallback, exactly as `next()` and `append()`
 * are loops over `nextSync()` and `appendSync()`: no second read or write path.
 *
 * Read side. Records are pulled with `reader.nextSync()` while the stream's buffer has room (no
 * promise per record); a WouldBlock (hydration) falls back to `await reader.next()`. Each chunk is
 * a `LogRecord` whose payload is a **copy**: a Readable holds up to `highWaterMark` chunks before
 * the consumer sees them, and an arena view is valid only until the reader's next call, so a view
 * would be stale by the time it is consumed. At the tail a `follow` stream awaits
 * `reader.next({ wait: true })`, the mechanism `log.follow()` uses: woken by the next append
 * itself (once per synchronous run of appends), never by a timer or a poll.
 *
 * Write side. `_write` calls `appendSync` and calls back at once; on WouldBlock it hands the same
 * record to `append()`, which waits for arena room in call order, and calls back when that
 * resolves. So the Writable's buffer fills exactly while the arena pushes back, `write()` returns
 * false, and a pipeline pauses its source: the back-pressure is the arena's. Under `fsync:
 * 'always'` a callback means durable, as `append()` does; `_writev` appends everything the stream
 * buffered meanwhile and waits for one fsync (a group commit). `_final` flushes, so a finished
 * stream (pipeline resolved) means every record it took is durable, whatever the fsync policy.
 *
 * Depends on narrow ports, not on the log class: the log imports this module.
 */
import { Readable, Writable } from 'node:stream';
import { checkOptions, signalOf } from './call-options.js';
import { AofError, ErrorCode, WouldBlockError } from './errors.js';
import type { AofReader, LogRecord, ReaderOptions } from './reader.js';

/** Options of `log.createReadStream()`. */
export interface ReadStreamOptions {
  /** First id to read (default: the first stored id). Must be within [firstId, nextId]. */
  from?: number;
  /**
   * false (default): the stream ends after the last record appended before the call (the tail at
   * call time, as `log.read()`). true: it never ends by itself; at the tail it waits for new
   * records, and it ends (cleanly) when the manager closes, or on `destroy()` / `signal`.
   */
  follow?: boolean;
  /** Records the stream buffers ahead of its consumer (default 16, Node's object-mode default). */
  highWaterMark?: number;
  /** Aborting it destroys the stream with an `AbortError` (Node's stream option). */
  signal?: AbortSignal;
}

/** Options of `log.createWriteStream()`. */
export interface WriteStreamOptions {
  /** Records the stream buffers while the arena pushes back, before `write()` returns false (default 16). */
  highWaterMark?: number;
  /** Aborting it destroys the stream with an `AbortError` (Node's stream option). */
  signal?: AbortSignal;
}

/**
 * The Readable `log.createReadStream()` returns: every chunk is a {@link LogRecord} whose payload
 * is a copy the consumer owns; typed so that `for await (const record of stream)` is a LogRecord.
 */
export interface LogReadStream extends Readable {
  /** `for await (const record of stream)`: the records, as {@link LogRecord}s. */
  [Symbol.asyncIterator](): NodeJS.AsyncIterator<LogRecord>;
}

/** What a read stream needs of its log (the log's engine core provides it). */
export interface ReadStreamSource {
  /** Id the next append will get: a bounded stream ends there. */
  readonly nextId: number;
  /** @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_CLOSED */
  openReader(options: ReaderOptions): AofReader;
}

/** What a write stream needs of its log. */
export interface WriteStreamTarget {
  /** True under `fsync: 'always'`: `append()` resolves once durable, and so does a write callback. */
  readonly fsyncAlways: boolean;
  appendSync(payload: Uint8Array): number;
  append(payload: Uint8Array): Promise<number>;
  flush(): Promise<void>;
  /** @throws AOF_ERR_CLOSED once the manager closed the log */
  checkOpen(): void;
}

const READ_OPTIONS = ['from', 'follow', 'highWaterMark', 'signal'];
const WRITE_OPTIONS = ['highWaterMark', 'signal'];

/**
 * A Readable of the log's records from `options.from` (see {@link ReadStreamOptions}). The reader
 * is opened now, so a bad `from` or a closed manager throws here, not on the first read.
 * @throws AOF_ERR_OUT_OF_RANGE, AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED
 */
export function createReadStream(source: ReadStreamSource, options: ReadStreamOptions = {}): LogReadStream {
  checkOptions(options, READ_OPTIONS, 'createReadStream');
  const follow = options.follow ?? false;
  if (typeof follow !== 'boolean') throw AofError.invalidArgument(`createReadStream option follow must be a boolean, got ${typeof follow}`, { option: 'follow' });
  const highWaterMark = highWaterMarkOf(options.highWaterMark, 'createReadStream');
  const signal = signalOf(options.signal, 'createReadStream');
  const end = follow ? Number.POSITIVE_INFINITY : source.nextId;
  const reader = source.openReader({ ...(options.from !== undefined && { from: options.from }), copy: true });
  return new RecordReadStream(reader, end, highWaterMark, signal);
}

/**
 * A Writable appending each chunk (a Uint8Array or Buffer) as one record (see the module header).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_CLOSED
 */
export function createWriteStream(target: WriteStreamTarget, options: WriteStreamOptions = {}): Writable {
  checkOptions(options, WRITE_OPTIONS, 'createWriteStream');
  const highWaterMark = highWaterMarkOf(options.highWaterMark, 'createWriteStream');
  const signal = signalOf(options.signal, 'createWriteStream');
  target.checkOpen();
  return new RecordWriteStream(target, highWaterMark, signal);
}

/** What a follow stream asks of its reader at the tail: wait for the next append. */
const WAIT_AT_TAIL = { wait: true } as const;

class RecordReadStream extends Readable implements LogReadStream {
  readonly #reader: AofReader;
  /** Id at which the stream ends: the tail at creation, or Infinity when following. */
  readonly #end: number;
  /** A pump is running: Node may call _read again after a push while the pump still goes on. */
  #pumping = false;

  constructor(reader: AofReader, end: number, highWaterMark: number, signal: AbortSignal | undefined) {
    super({ objectMode: true, highWaterMark, ...(signal !== undefined && { signal }) });
    this.#reader = reader;
    this.#end = end;
  }

  override _read(): void {
    if (this.#pumping) return; // the running pump keeps pushing until the buffer is full
    this.#pumping = true;
    void this.#pump().finally(() => {
      this.#pumping = false;
    });
  }

  /** Pushes records until the buffer is full, the end is reached, or the stream is destroyed. */
  async #pump(): Promise<void> {
    const reader = this.#reader;
    try {
      for (;;) {
        if (reader.position >= this.#end) {
          this.push(null);
          return;
        }
        let record: LogRecord | null;
        try {
          record = reader.nextSync();
        } catch (err) {
          if (!(err instanceof WouldBlockError)) throw err;
          record = await reader.next(); // the load it started; nothing was consumed
          if (this.destroyed) return;
        }
        if (record === null) {
          // At the tail (only a follow stream gets here: a bounded one ends at #end first): wait
          // for the next append. destroy() and the manager's close close the reader, which ends
          // the wait with AOF_ERR_CLOSED (handled below).
          record = await reader.next(WAIT_AT_TAIL);
          if (this.destroyed) return;
        }
        if (!this.push(record)) return;
      }
    } catch (err) {
      if (this.destroyed) return; // destroy() closed the reader under a wait: not an error
      // The manager closed (it closes every reader): the natural end of a live tail, but an
      // early end for a bounded stream, which had promised records up to #end.
      if (err instanceof AofError && err.code === ErrorCode.CLOSED && this.#end === Number.POSITIVE_INFINITY) this.push(null);
      else this.destroy(err as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#reader.close();
    callback(error);
  }
}

class RecordWriteStream extends Writable {
  readonly #target: WriteStreamTarget;

  constructor(target: WriteStreamTarget, highWaterMark: number, signal: AbortSignal | undefined) {
    super({ objectMode: true, highWaterMark, ...(signal !== undefined && { signal }) });
    this.#target = target;
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let waiting: Promise<unknown> | null;
    try {
      waiting = this.#appendOne(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    // Appended now: done, unless a callback must mean durable ('always'); waited: done when admitted.
    if (waiting === null && this.#target.fsyncAlways) waiting = this.#target.flush();
    if (waiting === null) callback();
    else waiting.then(() => callback(), callback);
  }

  /** Everything buffered while an earlier write waited: appended in order, then one fsync under 'always'. */
  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.#appendAll(chunks).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#target.flush().then(() => callback(), callback);
  }

  async #appendAll(chunks: ReadonlyArray<{ chunk: unknown }>): Promise<void> {
    for (const { chunk } of chunks) {
      // Awaited one at a time: a record that fails stops the batch, none after it is appended.
      const waiting = this.#appendOne(chunk);
      if (waiting !== null) await waiting;
    }
    if (this.#target.fsyncAlways) await this.#target.flush();
  }

  /**
   * Appends now (null), or, when the arena pushes back, the same record through `append()`, which
   * waits in call order with every other async append of the log (a promise).
   * @throws the appendSync codes other than WouldBlock (a chunk that is not a Uint8Array, too large, closed)
   */
  #appendOne(chunk: unknown): Promise<number> | null {
    const payload = chunk as Uint8Array; // appendSync checks it is one (AOF_ERR_INVALID_ARGUMENT otherwise)
    try {
      this.#target.appendSync(payload);
      return null;
    } catch (err) {
      if (err instanceof WouldBlockError) return this.#target.append(payload);
      throw err;
    }
  }
}

/** Node's object-mode default, 16 chunks: records, whatever their size. */
const DEFAULT_HIGH_WATER_MARK = 16;

function highWaterMarkOf(value: unknown, call: string): number {
  if (value === undefined) return DEFAULT_HIGH_WATER_MARK;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw AofError.invalidArgument(`${call} option highWaterMark must be a positive integer (records), got ${String(value)}`, { option: 'highWaterMark' });
  }
  return value;
}
